/*
 * The HTTP side of the proxy, one instance per guest connection, after HttpServerCodec.
 *
 * Two modes. Proxy mode (ports 80 and 443): requests carry absolute URIs (http://host/path, https://...)
 * and CONNECT opens tunnels (handed to ConnectTunnelHandler). Tunnel mode (inside a CONNECT whose TLS the
 * proxy terminated): requests are origin-form and all go to the tunnel's host and port over TLS, with the
 * guest's SNI name for SNI and certificate checks.
 *
 * One request is in flight at a time (an Exchange). Its headers go upstream as soon as a connection is
 * ready; body parts follow as they arrive and response parts go back the same way, so bodies are streamed,
 * never gathered. Pipelined requests that the decoder produces meanwhile are queued and replayed in order.
 *
 * Reading is flow-controlled through autoRead: the guest is read only while there is nowhere else for its
 * bytes to wait (no exchange, or a request body streaming to a writable upstream); the upstream is read
 * only while the guest is writable. So at most one read's worth of data waits in memory per direction.
 *
 * Buffer ownership: every HttpContent read from one side is passed to the other side's write (which owns it
 * from then on) or released here; queued and pending messages are released if the connection dies.
 *
 * Threading: everything here runs on the guest channel's event loop. Upstream events arrive on the upstream
 * channel's loop (usually the same one; see UpstreamPool) and are re-posted here when it differs.
 *
 * Errors become HTTP: malformed request 400, policy refusal 403, upstream unreachable, TLS failure or no
 * response 502 (with the reason in the body). After an error whose request body was not read the connection
 * is closed. Anything thrown by the guest pipeline (a broken ClientHello...) closes this connection only.
 */
package dev.c2w.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import javax.net.ssl.SSLException;

/** Per-connection HTTP proxy logic (absolute-URI forwarding, CONNECT, and requests inside tunnels). */
final class HttpProxyHandler extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger("dev.c2w.proxy");

    /** The destination of an intercepted tunnel; sni is set when the guest's ClientHello has been read. */
    static final class Tunnel {
        final String host;
        final int port;
        volatile String sni;

        Tunnel(String host, int port) {
            this.host = host;
            this.port = port;
            this.sni = host;
        }
    }

    /** A parsed request target. */
    record Target(boolean tls, String host, int port, String pathAndQuery, String authority) {
    }

    /** A request the proxy refuses; status and message go to the guest. */
    static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        final HttpResponseStatus status;

        Refusal(HttpResponseStatus status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private final ProxyServer px;
    private final Tunnel tunnel;
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private Exchange cur;
    private boolean closing;
    private boolean tlsFailureCounted;

    HttpProxyHandler(ProxyServer px, Tunnel tunnel) {
        this.px = px;
        this.tunnel = tunnel;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    // ---------------------------------------------------------------- guest events

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!queued.isEmpty() || (cur != null && cur.requestComplete)) {
            queued.add(msg);
            updateRead();
            return;
        }
        handle(msg);
    }

    private void handle(Object msg) {
        if (cur != null) {
            if (msg instanceof HttpContent) {
                cur.guestContent((HttpContent) msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        if (!(msg instanceof HttpRequest)) {
            // the rest of a request we already answered (its body, or the empty end of a GET)
            ReferenceCountUtil.release(msg);
            return;
        }
        HttpRequest req = (HttpRequest) msg;
        try {
            startRequest(req);
        } finally {
            if (msg instanceof HttpContent && cur == null) {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        updateRead();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        if (cur != null) {
            cur.abort();
        }
        releaseQueued();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseQueued();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (cur == null && queued.isEmpty()) {
                closing = true;
                ctx.close(); // a keep-alive connection nobody uses any more
            }
            return;
        }
        // SslHandler reports a failed handshake before it closes the channel: count it here, in order
        if (evt instanceof SslHandshakeCompletionEvent && !((SslHandshakeCompletionEvent) evt).isSuccess()) {
            countTlsFailure();
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void countTlsFailure() {
        if (!tlsFailureCounted) {
            tlsFailureCounted = true;
            px.stats().brokenHandshakes.incrementAndGet();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (isTlsFailure(cause)) {
            countTlsFailure();
            LOG.log(System.Logger.Level.DEBUG, "guest TLS failure on " + ctx.channel() + ": " + cause);
        } else if (!(cause instanceof IOException)) {
            LOG.log(System.Logger.Level.DEBUG, "closing " + ctx.channel() + " after " + cause, cause);
        }
        closing = true;
        if (cur != null) {
            cur.abort();
        }
        ctx.close();
    }

    static boolean isTlsFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SSLException || c instanceof NotSslRecordException) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return t instanceof DecoderException;
    }

    private void releaseQueued() {
        Object o;
        while ((o = queued.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    /** Reads the guest only when its bytes have somewhere to go; reads the upstream only when the guest can take more. */
    private void updateRead() {
        if (ctx == null || ctx.isRemoved()) {
            return;
        }
        boolean read;
        if (closing) {
            read = false;
        } else if (cur == null) {
            read = queued.isEmpty();
        } else if (cur.done) {
            read = true; // skipping the rest of a request body whose response is complete
        } else {
            read = !cur.requestComplete && cur.up != null && cur.up.isWritable();
        }
        ctx.channel().config().setAutoRead(read);
        if (cur != null && cur.up != null && !cur.upgraded && !cur.done) {
            cur.up.config().setAutoRead(ctx.channel().isWritable());
        }
    }

    private void finished(Exchange e, boolean closeGuest) {
        if (cur == e) {
            cur = null;
        }
        if (closeGuest || closing) {
            closing = true;
            releaseQueued();
            RelayHandler.closeOnFlush(ctx.channel());
            return;
        }
        while (!queued.isEmpty() && !closing && (cur == null || !cur.requestComplete)) {
            handle(queued.poll());
        }
        updateRead();
    }

    // ---------------------------------------------------------------- requests

    private void startRequest(HttpRequest req) {
        if (req.decoderResult().isFailure()) {
            px.stats().badRequests.incrementAndGet();
            Throwable c = req.decoderResult().cause();
            sendError(HttpResponseStatus.BAD_REQUEST, "malformed request: " + (c == null ? "?" : c.getMessage()), true);
            return;
        }
        boolean mayHaveBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
        boolean keepAliveAfterError = HttpUtil.isKeepAlive(req) && !mayHaveBody;
        try {
            if (HttpMethod.CONNECT.equals(req.method())) {
                startConnect(req);
                return;
            }
            Target t = target(req);
            if (t == null) {
                return; // answered locally
            }
            if (!px.config().policy().allows(t.host())) {
                px.stats().refused.incrementAndGet();
                throw new Refusal(HttpResponseStatus.FORBIDDEN, "access to " + t.host() + " is not allowed by the proxy policy");
            }
            px.stats().requests.incrementAndGet();
            cur = new Exchange(req, t);
            cur.start();
        } catch (Refusal r) {
            if (r.status.code() == 400) {
                px.stats().badRequests.incrementAndGet();
            }
            sendError(r.status, r.getMessage(), !keepAliveAfterError);
        }
    }

    private void startConnect(HttpRequest req) throws Refusal {
        if (tunnel != null) {
            throw new Refusal(HttpResponseStatus.METHOD_NOT_ALLOWED, "CONNECT inside a tunnel is not supported");
        }
        String[] hp = splitAuthority(req.uri(), -1);
        String host = hp[0];
        int port = Integer.parseInt(hp[1]);
        if (!px.config().policy().allows(host)) {
            px.stats().refused.incrementAndGet();
            throw new Refusal(HttpResponseStatus.FORBIDDEN, "access to " + host + " is not allowed by the proxy policy");
        }
        px.stats().connects.incrementAndGet();
        // From here on the connection carries tunnel bytes: drop the HTTP codec (its unread bytes flow on
        // into the tunnel handler) and let ConnectTunnelHandler answer the CONNECT itself.
        ctx.channel().config().setAutoRead(false);
        closing = true; // nothing more for this handler
        releaseQueued();
        ctx.pipeline().replace(this, "tunnel", new ConnectTunnelHandler(px, host, port));
        HttpServerCodec codec = ctx.pipeline().get(HttpServerCodec.class);
        if (codec != null) {
            ctx.pipeline().remove(codec);
        }
    }

    /** The target of a request, or null when it was answered locally (GET /proxy.crt). */
    private Target target(HttpRequest req) throws Refusal {
        String uri = req.uri();
        if (tunnel != null) {
            String path = uri.startsWith("/") ? uri : absolute(uri).pathAndQuery();
            String authority = tunnel.port == 443 ? bracket(tunnel.host) : bracket(tunnel.host) + ":" + tunnel.port;
            return new Target(true, tunnel.host, tunnel.port, path, authority);
        }
        if (uri.startsWith("/")) {
            String path = uri.split("\\?", 2)[0];
            if (path.equals("/proxy.crt") && (HttpMethod.GET.equals(req.method()) || HttpMethod.HEAD.equals(req.method()))) {
                serveCa(req);
                return null;
            }
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "this is a proxy: send an absolute URI "
                    + "(GET http://host/path) or CONNECT host:port; GET /proxy.crt returns the CA certificate");
        }
        return absolute(uri);
    }

    static Target absolute(String uri) throws Refusal {
        int sep = uri.indexOf("://");
        if (sep <= 0) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "request target is neither an absolute URI nor a path");
        }
        String scheme = uri.substring(0, sep).toLowerCase(Locale.ROOT);
        boolean tls;
        if (scheme.equals("http")) {
            tls = false;
        } else if (scheme.equals("https")) {
            tls = true;
        } else {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "unsupported scheme '" + scheme + "' (http and https only)");
        }
        String rest = uri.substring(sep + 3);
        int end = rest.length();
        for (char c : new char[] {'/', '?', '#'}) {
            int i = rest.indexOf(c);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        String authority = rest.substring(0, end);
        String path = rest.substring(end);
        int hash = path.indexOf('#');
        if (hash >= 0) {
            path = path.substring(0, hash);
        }
        if (path.isEmpty()) {
            path = "/";
        } else if (path.startsWith("?")) {
            path = "/" + path;
        }
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            authority = authority.substring(at + 1);
        }
        String[] hp = splitAuthority(authority, tls ? 443 : 80);
        return new Target(tls, hp[0], Integer.parseInt(hp[1]), path, authority);
    }

    /** host[:port] or [v6][:port] into {canonical host, port}; defaultPort < 0 means the port is required. */
    static String[] splitAuthority(String a, int defaultPort) throws Refusal {
        String host;
        String port = null;
        if (a.startsWith("[")) {
            int close = a.indexOf(']');
            if (close < 0) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "bad authority '" + printable(a) + "'");
            }
            host = a.substring(1, close);
            String tail = a.substring(close + 1);
            if (tail.startsWith(":")) {
                port = tail.substring(1);
            } else if (!tail.isEmpty()) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "bad authority '" + printable(a) + "'");
            }
        } else {
            int colon = a.lastIndexOf(':');
            if (colon >= 0) {
                host = a.substring(0, colon);
                port = a.substring(colon + 1);
            } else {
                host = a;
            }
        }
        int p;
        if (port == null || port.isEmpty()) {
            if (defaultPort < 0) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "CONNECT needs host:port, got '" + printable(a) + "'");
            }
            p = defaultPort;
        } else {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "bad port in '" + printable(a) + "'");
            }
        }
        try {
            host = dev.c2w.tls.LeafCertificates.normalise(host);
        } catch (IllegalArgumentException e) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        }
        return new String[] {host, Integer.toString(p)};
    }

    static String bracket(String host) {
        return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    }

    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }

    private void serveCa(HttpRequest req) {
        byte[] pem = px.caCertificatePem().getBytes(StandardCharsets.US_ASCII);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                HttpMethod.HEAD.equals(req.method()) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(pem));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-pem-file");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, pem.length);
        boolean keep = HttpUtil.isKeepAlive(req);
        HttpUtil.setKeepAlive(r, keep);
        ctx.writeAndFlush(r);
        if (!keep) {
            closing = true;
            RelayHandler.closeOnFlush(ctx.channel());
        }
    }

    private void sendError(HttpResponseStatus status, String message, boolean close) {
        writeError(ctx.channel(), status, message, close);
        if (close) {
            closing = true;
            releaseQueued();
            ctx.channel().config().setAutoRead(false);
        }
    }

    static void writeError(Channel ch, HttpResponseStatus status, String message, boolean close) {
        ByteBuf body = Unpooled.copiedBuffer("c2w-net proxy: " + message + "\n", StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (close) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ch.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.writeAndFlush(r);
        }
    }

    // ---------------------------------------------------------------- headers

    private static final String[] HOP_BY_HOP = {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "upgrade",
    };

    /** Removes hop-by-hop headers (the fixed list plus those the Connection header names). */
    static void stripHopByHop(HttpHeaders h) {
        for (String v : h.getAll(HttpHeaderNames.CONNECTION)) {
            for (String name : v.split(",")) {
                String n = name.trim();
                if (!n.isEmpty() && !n.equalsIgnoreCase("transfer-encoding") && !n.equalsIgnoreCase("content-length")) {
                    h.remove(n);
                }
            }
        }
        for (String n : HOP_BY_HOP) {
            h.remove(n);
        }
    }

    static boolean isWebSocketUpgrade(HttpRequest req) {
        return req.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && req.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    // ---------------------------------------------------------------- one request/response

    /** One request in flight: its upstream connection, its state, and the upstream callbacks. */
    private final class Exchange implements UpstreamPool.Listener {
        final HttpRequest req;
        final Target target;
        final UpstreamPool.Key key;
        final HttpRequest upReq;
        final boolean upgradeRequest;
        final boolean requestHasBody;
        final List<HttpContent> pending = new ArrayList<>();
        final EventLoop loop;
        Channel up;
        boolean requestComplete;
        boolean responseStarted;
        boolean informational;
        boolean upgraded;
        boolean closeGuestAfter;
        boolean upstreamKeepAlive;
        boolean done;
        boolean retried;
        boolean reused;

        Exchange(HttpRequest req, Target target) {
            this.req = req;
            this.target = target;
            this.loop = ctx.channel().eventLoop();
            String sni = target.tls() ? (tunnel != null ? tunnel.sni : target.host()) : null;
            this.key = new UpstreamPool.Key(target.tls(), target.host(), target.port(), sni);
            this.upgradeRequest = isWebSocketUpgrade(req);
            this.requestHasBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
            HttpHeaders h = new DefaultHttpHeaders();
            h.set(req.headers());
            stripHopByHop(h);
            if (upgradeRequest) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
                h.set(HttpHeaderNames.UPGRADE, req.headers().get(HttpHeaderNames.UPGRADE));
            }
            if (tunnel == null || !h.contains(HttpHeaderNames.HOST)) {
                h.set(HttpHeaderNames.HOST, target.authority());
            }
            this.upReq = new DefaultHttpRequest(HttpVersion.HTTP_1_1, req.method(), target.pathAndQuery(), h);
            if (req instanceof LastHttpContent) {
                requestComplete = true;
            }
        }

        void start() {
            acquire(true);
            updateRead();
        }

        private void acquire(boolean pooled) {
            Future<Channel> f = px.pool().acquire(key, loop, this, pooled);
            f.addListener(x -> connected(f));
        }

        private void connected(Future<Channel> f) {
            if (done) {
                if (f.isSuccess()) {
                    f.getNow().close();
                }
                return;
            }
            if (!f.isSuccess()) {
                Throwable c = f.cause();
                String msg = c instanceof UpstreamPool.UpstreamException ? c.getMessage() : "cannot reach " + key + ": " + c;
                fail(HttpResponseStatus.BAD_GATEWAY, msg);
                return;
            }
            up = f.getNow();
            UpstreamPool.UpstreamHandler h = UpstreamPool.handler(up);
            reused = h != null && h.uses() > 1;
            up.write(upReq);
            if (retried) {
                up.write(LastHttpContent.EMPTY_LAST_CONTENT); // the first attempt consumed the original end marker
            }
            for (HttpContent c : pending) {
                up.write(c);
            }
            pending.clear();
            up.flush();
            updateRead();
        }

        void guestContent(HttpContent c) {
            boolean last = c instanceof LastHttpContent;
            if (done) {
                c.release();
            } else if (up == null) {
                pending.add(c);
            } else {
                up.writeAndFlush(c);
            }
            if (last) {
                requestComplete = true;
            }
            if (done && last) {
                // the response ended before the request body: we kept reading only to skip it
                finished(this, closeGuestAfter);
                return;
            }
            updateRead();
        }

        /** Sends an error to the guest (or closes it if a response already started) and ends the exchange. */
        void fail(HttpResponseStatus status, String message) {
            if (done) {
                return;
            }
            done = true;
            if (status.code() == 502) {
                px.stats().badGateway.incrementAndGet();
            }
            releasePending();
            if (up != null) {
                up.close();
            }
            boolean close = !requestComplete || !HttpUtil.isKeepAlive(req) || responseStarted;
            if (responseStarted) {
                ctx.close();
            } else {
                writeError(ctx.channel(), status, message, close);
            }
            finished(this, close);
        }

        void abort() {
            if (done) {
                return;
            }
            done = true;
            releasePending();
            if (up != null && !upgraded) {
                up.close();
            }
        }

        private void releasePending() {
            for (HttpContent c : pending) {
                c.release();
            }
            pending.clear();
        }

        // ----- upstream callbacks (upstream loop) -> guest loop

        private void onGuestLoop(Runnable r) {
            if (loop.inEventLoop()) {
                r.run();
            } else {
                loop.execute(r);
            }
        }

        @Override
        public void upstreamRead(Object msg) {
            onGuestLoop(() -> response(msg));
        }

        @Override
        public void upstreamInactive() {
            onGuestLoop(this::upstreamClosed);
        }

        @Override
        public void upstreamWritabilityChanged(boolean writable) {
            onGuestLoop(() -> {
                if (cur == this) {
                    updateRead();
                }
            });
        }

        @Override
        public void upstreamException(Throwable cause) {
            LOG.log(System.Logger.Level.DEBUG, "upstream " + key + ": " + cause);
        }

        private void upstreamClosed() {
            if (up == null) {
                return; // a connect or handshake failure: connected() reports it
            }
            if (upgraded) {
                RelayHandler.closeOnFlush(ctx.channel());
                return;
            }
            if (done) {
                return;
            }
            if (!responseStarted && reused && !requestHasBody && !retried && requestComplete) {
                // a pooled connection the origin had closed: try once more on a fresh one
                retried = true;
                up = null;
                acquire(false);
                return;
            }
            if (!responseStarted) {
                fail(HttpResponseStatus.BAD_GATEWAY, "upstream " + key + " closed the connection without a response");
            } else {
                done = true;
                ctx.close();
                finished(this, true);
            }
        }

        private void response(Object msg) {
            if (upgraded) {
                Channel g = ctx.channel();
                ByteBuf data = msg instanceof ByteBuf ? (ByteBuf) msg
                        : msg instanceof HttpContent ? ((HttpContent) msg).content().retain() : null;
                if (!(msg instanceof ByteBuf)) {
                    ReferenceCountUtil.release(msg);
                }
                if (data != null && data.isReadable() && g.isActive()) {
                    g.writeAndFlush(data);
                } else if (data != null) {
                    data.release();
                }
                return;
            }
            if (done || up == null) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpResponse) {
                HttpResponse r = (HttpResponse) msg;
                if (r.decoderResult().isFailure()) {
                    ReferenceCountUtil.release(msg);
                    fail(HttpResponseStatus.BAD_GATEWAY, "invalid response from upstream " + key + ": "
                            + r.decoderResult().cause());
                    return;
                }
                int code = r.status().code();
                if (code == 101 && upgradeRequest) {
                    switchProtocols(r);
                    ReferenceCountUtil.release(msg);
                    return;
                }
                if (code >= 100 && code < 200) {
                    informational = true;
                    stripHopByHop(r.headers());
                    r.setProtocolVersion(HttpVersion.HTTP_1_1);
                    ctx.write(r);
                } else {
                    responseStarted = true;
                    prepareResponse(r);
                    ctx.write(r);
                }
            }
            if (msg instanceof HttpContent) {
                HttpContent c = (HttpContent) msg;
                boolean last = c instanceof LastHttpContent;
                if (informational) {
                    c.release();
                    if (last) {
                        informational = false;
                        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                    }
                    return;
                }
                if (!responseStarted) {
                    c.release();
                    return;
                }
                if (last) {
                    ctx.writeAndFlush(c);
                    responseDone();
                    return;
                }
                ctx.writeAndFlush(c);
            } else {
                ctx.flush();
            }
            updateRead();
        }

        private void prepareResponse(HttpResponse r) {
            upstreamKeepAlive = HttpUtil.isKeepAlive(r);
            int code = r.status().code();
            HttpHeaders h = r.headers();
            stripHopByHop(h);
            boolean guest10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
            boolean empty = HttpMethod.HEAD.equals(req.method()) || code == 204 || code == 304;
            boolean chunked = HttpUtil.isTransferEncodingChunked(r);
            boolean sized = HttpUtil.isContentLengthSet(r);
            if (!empty && !chunked && !sized) {
                // the origin delimits the body by closing: re-frame it for an HTTP/1.1 guest
                if (guest10) {
                    closeGuestAfter = true;
                } else {
                    HttpUtil.setTransferEncodingChunked(r, true);
                }
            } else if (chunked && guest10) {
                h.remove(HttpHeaderNames.TRANSFER_ENCODING);
                closeGuestAfter = true;
            }
            if (!HttpUtil.isKeepAlive(req)) {
                closeGuestAfter = true;
            }
            r.setProtocolVersion(HttpVersion.HTTP_1_1);
            if (closeGuestAfter) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (guest10) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
        }

        private void responseDone() {
            done = true;
            Channel u = up;
            if (requestComplete && upstreamKeepAlive && u.isActive()) {
                px.pool().release(key, u);
            } else {
                u.close();
            }
            if (!requestComplete) {
                // keep reading only to skip the rest of the body, then close
                closeGuestAfter = true;
                updateRead();
                return;
            }
            finished(this, closeGuestAfter);
        }

        private void switchProtocols(HttpResponse r) {
            upgraded = true;
            responseStarted = true;
            done = true;
            px.stats().upgrades.incrementAndGet();
            HttpHeaders h = r.headers();
            String upgrade = h.get(HttpHeaderNames.UPGRADE);
            stripHopByHop(h);
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            if (upgrade != null) {
                h.set(HttpHeaderNames.UPGRADE, upgrade);
            }
            r.setProtocolVersion(HttpVersion.HTTP_1_1);
            Channel g = ctx.channel();
            Channel u = up;
            ctx.write(new io.netty.handler.codec.http.DefaultHttpResponse(HttpVersion.HTTP_1_1, r.status(), h));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            // Guest side: relay replaces this handler, then the codec goes (its unread bytes flow into the relay).
            cur = null;
            closing = true;
            releaseQueued();
            ctx.pipeline().replace(HttpProxyHandler.this, "relay", new RelayHandler(u));
            HttpServerCodec codec = g.pipeline().get(HttpServerCodec.class);
            if (codec != null) {
                g.pipeline().remove(codec);
            }
            Runnable upstreamSide = () -> {
                if (!u.isActive()) {
                    RelayHandler.closeOnFlush(g);
                    return;
                }
                UpstreamPool.UpstreamHandler uh = u.pipeline().get(UpstreamPool.UpstreamHandler.class);
                if (uh != null) {
                    u.pipeline().replace(uh, "relay", new RelayHandler(g));
                }
                if (u.pipeline().get(IdleStateHandler.class) != null) {
                    u.pipeline().remove(IdleStateHandler.class);
                }
                if (u.pipeline().get(HttpClientCodec.class) != null) {
                    u.pipeline().remove(HttpClientCodec.class);
                }
            };
            if (u.eventLoop().inEventLoop()) {
                upstreamSide.run();
            } else {
                u.eventLoop().execute(upstreamSide);
            }
        }
    }
}
