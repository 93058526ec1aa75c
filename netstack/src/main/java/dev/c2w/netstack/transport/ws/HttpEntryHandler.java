package dev.c2w.netstack.transport.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.timeout.ReadTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * HTTP request handler in front of the WebSocket upgrade. One per connection.
 *
 * <p>The HTTP side of the WebSocket port. Each TCP connection starts here (after HttpServerCodec and a
 * small HttpObjectAggregator; no request body is ever needed) and stays here until a WebSocket
 * handshake succeeds.
 *
 * <pre>
 *  - A request with "Upgrade: websocket", on any path (the upstream pages use "/", emscripten may use
 *    another), is a guest connecting. In order: the Origin is checked (403 + a log line naming the
 *    Origin and --ws-allow-origin), a connection slot is reserved (503 + log when --max-ws-connections
 *    are open), then Netty's RFC 6455 handshaker answers 101. It echoes the subprotocol "binary" when
 *    the client offers it (browsers do: new WebSocket(url, 'binary')) and rejects a malformed
 *    handshake with 400. From then on the server owns the channel (WebSocketServer.openGuestLink).
 *  - Other requests: GET/HEAD /healthz -> 200 "ok"; GET/HEAD /proxy.crt -> the proxy CA in PEM when the
 *    server was given one, else 404; anything else 404 (405 for methods other than GET/HEAD). Plain
 *    HTTP answers carry Access-Control-Allow-Origin for origins the policy accepts, so an allowed page
 *    can fetch the certificate cross-origin.
 * </pre>
 */
final class HttpEntryHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final System.Logger LOG = System.getLogger(WebSocketServer.class.getName());
    static final String SUBPROTOCOL = "binary";

    private final WebSocketServer server;

    HttpEntryHandler(WebSocketServer server) {
        this.server = server;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        server.stats().httpRequests.incrementAndGet();
        if (!req.decoderResult().isSuccess()) {
            server.stats().refusedBadRequest.incrementAndGet();
            respond(ctx, req, HttpResponseStatus.BAD_REQUEST, "malformed HTTP request\n", true);
            return;
        }
        String upgrade = req.headers().get(HttpHeaderNames.UPGRADE);
        if (upgrade != null && upgrade.trim().equalsIgnoreCase("websocket")) {
            upgrade(ctx, req);
        } else {
            serveHttp(ctx, req);
        }
    }

    private void upgrade(ChannelHandlerContext ctx, FullHttpRequest req) {
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        String shown = printable(origin);
        String peer = String.valueOf(ctx.channel().remoteAddress());
        if (!req.method().equals(HttpMethod.GET)) {
            server.stats().refusedBadRequest.incrementAndGet();
            respond(ctx, req, HttpResponseStatus.BAD_REQUEST, "a WebSocket handshake must be a GET\n", true);
            return;
        }
        if (!server.originPolicy().allows(origin)) {
            server.stats().refusedOrigin.incrementAndGet();
            LOG.log(
                    System.Logger.Level.WARNING,
                    "refused WebSocket from " + peer + ": Origin '" + shown
                            + "' is not allowed (loopback pages are); to allow it, start c2w-net with --ws-allow-origin "
                            + shown);
            respond(
                    ctx,
                    req,
                    HttpResponseStatus.FORBIDDEN,
                    "Origin " + shown + " is not allowed; start c2w-net with --ws-allow-origin " + shown + "\n",
                    true);
            return;
        }
        if (!server.tryReserveSlot()) {
            server.stats().refusedFull.incrementAndGet();
            LOG.log(
                    System.Logger.Level.WARNING,
                    "refused WebSocket from " + peer + ": " + server.options().maxConnections()
                            + " connections already open (--max-ws-connections)");
            respond(
                    ctx,
                    req,
                    HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "too many WebSocket connections (limit " + server.options().maxConnections()
                            + ", see --max-ws-connections)\n",
                    true);
            return;
        }
        // From here on every failure gives the slot back before answering, so that a client which
        // retries at once (on another event loop) finds it free.
        WebSocketDecoderConfig dc = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(server.options().maxMessageSize())
                .allowExtensions(false)
                .allowMaskMismatch(false)
                .closeOnProtocolViolation(true)
                .build();
        String host = req.headers().get(HttpHeaderNames.HOST, "localhost");
        WebSocketServerHandshaker hs =
                new WebSocketServerHandshakerFactory("ws://" + host + req.uri(), SUBPROTOCOL, dc).newHandshaker(req);
        if (hs == null) {
            server.releaseSlot();
            server.stats().refusedBadRequest.incrementAndGet();
            LOG.log(
                    System.Logger.Level.WARNING,
                    "refused WebSocket from " + peer + ": unsupported version "
                            + req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION));
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel())
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ChannelFuture handshake;
        try {
            // Throws for a missing key or Connection header, before it touches the pipeline.
            handshake = hs.handshake(ctx.channel(), req);
        } catch (WebSocketHandshakeException e) {
            server.releaseSlot();
            server.stats().refusedBadRequest.incrementAndGet();
            LOG.log(System.Logger.Level.WARNING, "refused WebSocket from " + peer + ": " + e.getMessage());
            respond(
                    ctx,
                    req,
                    HttpResponseStatus.BAD_REQUEST,
                    "bad WebSocket handshake: " + e.getMessage() + "\n",
                    true);
            return;
        }
        handshake.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                f.channel().close();
            }
        });
        ctx.pipeline().remove(WebSocketServer.IDLE_HANDLER);
        server.openGuestLink(ctx, hs, origin);
    }

    private void serveHttp(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean head = req.method().equals(HttpMethod.HEAD);
        if (!head && !req.method().equals(HttpMethod.GET)) {
            FullHttpResponse r = response(req, HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET and HEAD\n", false);
            r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            write(ctx, req, r);
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        switch (path) {
            case "/healthz" -> respond(ctx, req, HttpResponseStatus.OK, "ok\n", false);
            case "/proxy.crt" -> {
                byte[] pem = server.caPem();
                if (pem == null) {
                    respond(
                            ctx,
                            req,
                            HttpResponseStatus.NOT_FOUND,
                            "no proxy certificate (fetch mode is off)\n",
                            false);
                } else {
                    FullHttpResponse r = new DefaultFullHttpResponse(
                            HttpVersion.HTTP_1_1,
                            HttpResponseStatus.OK,
                            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(pem));
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-pem-file");
                    HttpUtil.setContentLength(r, pem.length);
                    write(ctx, req, r);
                }
            }
            default ->
                respond(
                        ctx,
                        req,
                        HttpResponseStatus.NOT_FOUND,
                        "not found; this port serves WebSocket guests (ws://HOST:PORT/), /healthz and /proxy.crt\n",
                        false);
        }
    }

    private void respond(
            ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String body, boolean close) {
        FullHttpResponse r = response(req, status, body, close);
        write(ctx, req, r);
    }

    private FullHttpResponse response(FullHttpRequest req, HttpResponseStatus status, String body, boolean close) {
        boolean head = req.method().equals(HttpMethod.HEAD);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ByteBuf content = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        HttpUtil.setContentLength(r, bytes.length);
        if (close) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return r;
    }

    private void write(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse r) {
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        if (origin != null && server.originPolicy().allows(origin)) {
            r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            r.headers().set(HttpHeaderNames.VARY, HttpHeaderNames.ORIGIN);
        }
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        boolean keepAlive = HttpUtil.isKeepAlive(req)
                && !HttpHeaderValues.CLOSE.contentEqualsIgnoreCase(r.headers().get(HttpHeaderNames.CONNECTION, ""));
        if (!keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        } else {
            if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            ctx.writeAndFlush(r);
        }
    }

    /** A header value made safe for a log line: control and non-ASCII characters become '?', at most 200 chars. */
    static String printable(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(Math.min(s.length(), 200));
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c >= 0x7f ? '?' : c);
        }
        if (s.length() > 200) {
            b.append("...");
        }
        return b.toString();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof ReadTimeoutException)) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "HTTP connection " + ctx.channel().remoteAddress() + ": " + cause);
        }
        ctx.close();
    }
}
