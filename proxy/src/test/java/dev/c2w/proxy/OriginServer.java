package dev.c2w.proxy;

import dev.c2w.netstack.host.HostTransport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** A small origin server for the tests: deterministic downloads, body hashing, cookies, chunked, WebSocket echo. */
final class OriginServer implements AutoCloseable {
    final Channel server;
    /** The last request URI of every connection that closed. */
    final BlockingQueue<String> closedAfter = new LinkedBlockingQueue<>();

    OriginServer(HostTransport t, File cert, File key) throws Exception {
        SslContext ssl =
                cert == null ? null : SslContextBuilder.forServer(cert, key).build();
        server = new ServerBootstrap()
                .group(t.group())
                .channel(t.serverSocketChannel())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast("http", new HttpServerCodec());
                        ch.pipeline().addLast("app", new App());
                        ch.closeFuture().addListener(f -> {
                            App app = ch.pipeline().get(App.class);
                            closedAfter.add(app != null && app.req != null ? app.req.uri() : "?");
                        });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
    }

    /** The deterministic content of /blob?size=n. */
    static byte[] blob(int n) {
        byte[] b = new byte[n];
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static final class App extends SimpleChannelInboundHandler<HttpObject> {
        private MessageDigest digest;
        private long length;
        private HttpRequest req;
        private int requests;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) throws Exception {
            if (msg instanceof HttpRequest) {
                req = (HttpRequest) msg;
                requests++;
                QueryStringDecoder q = new QueryStringDecoder(req.uri());
                if (q.path().equals("/once") && requests > 1) {
                    ctx.close(); // a keep-alive connection that turns out to be dead when reused
                    return;
                }
                if (q.path().equals("/sha256")) {
                    digest = MessageDigest.getInstance("SHA-256");
                    length = 0;
                    if (HttpUtil.is100ContinueExpected(req)) {
                        ctx.writeAndFlush(
                                new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
                    }
                } else if (q.path().equals("/ws")) {
                    WebSocketServerHandshaker hs =
                            new WebSocketServerHandshakerFactory("ws://origin/ws", null, false).newHandshaker(req);
                    DefaultFullHttpRequest full = new DefaultFullHttpRequest(
                            req.protocolVersion(),
                            req.method(),
                            req.uri(),
                            Unpooled.EMPTY_BUFFER,
                            req.headers(),
                            EmptyHttpHeaders.INSTANCE);
                    ctx.pipeline().addLast(new SimpleChannelInboundHandler<WebSocketFrame>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext c, WebSocketFrame f) {
                            if (f instanceof TextWebSocketFrame) {
                                c.writeAndFlush(new TextWebSocketFrame("echo: " + ((TextWebSocketFrame) f).text()));
                            }
                        }
                    });
                    hs.handshake(ctx.channel(), full);
                    ctx.pipeline().remove(this);
                    return;
                }
            }
            if (msg instanceof HttpContent && digest != null) {
                ByteBuf c = ((HttpContent) msg).content();
                length += c.readableBytes();
                digest.update(c.nioBuffer());
            }
            if (msg instanceof LastHttpContent) {
                respond(ctx);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // e.g. a client that does not trust this origin's certificate
        }

        private void respond(ChannelHandlerContext ctx) throws Exception {
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            Map<String, List<String>> p = q.parameters();
            boolean keep = HttpUtil.isKeepAlive(req);
            switch (q.path()) {
                case "/sha256": {
                    String body = "len=" + length + " sha256=" + HexFormat.of().formatHex(digest.digest()) + "\n";
                    digest = null;
                    text(ctx, HttpResponseStatus.OK, body, keep, Map.of());
                    return;
                }
                case "/close-delimited": {
                    HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_0, HttpResponseStatus.OK);
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
                    ctx.write(r);
                    ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(blob(123_457))));
                    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
                    return;
                }
                case "/once":
                    text(ctx, HttpResponseStatus.OK, "once\n", keep, Map.of());
                    return;
                case "/cookies": {
                    FullHttpResponse r = full(HttpResponseStatus.OK, "cookies\n");
                    r.headers().add(HttpHeaderNames.SET_COOKIE, "a=1; Path=/");
                    r.headers().add(HttpHeaderNames.SET_COOKIE, "b=2; Path=/; HttpOnly");
                    r.headers().add(HttpHeaderNames.SET_COOKIE, "c=3, with comma; Path=/");
                    r.headers().add("X-Multi", "one");
                    r.headers().add("X-Multi", "two");
                    send(ctx, r, keep);
                    return;
                }
                case "/headers": {
                    StringBuilder b = new StringBuilder();
                    b.append("uri=").append(req.uri()).append('\n');
                    req.headers()
                            .forEach(e -> b.append(e.getKey().toLowerCase())
                                    .append(": ")
                                    .append(e.getValue())
                                    .append('\n'));
                    text(ctx, HttpResponseStatus.OK, b.toString(), keep, Map.of());
                    return;
                }
                case "/blob": {
                    int size = Integer.parseInt(p.get("size").get(0));
                    boolean chunked = p.containsKey("chunked");
                    byte[] data = blob(size);
                    HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
                    if (chunked) {
                        HttpUtil.setTransferEncodingChunked(r, true);
                    } else {
                        HttpUtil.setContentLength(r, size);
                    }
                    HttpUtil.setKeepAlive(r, keep);
                    ctx.write(r);
                    for (int off = 0; off < size; off += 65536) {
                        int n = Math.min(65536, size - off);
                        ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(data, off, n)));
                    }
                    finish(ctx, ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), keep);
                    return;
                }
                default:
                    text(ctx, HttpResponseStatus.NOT_FOUND, "no such path " + q.path() + "\n", keep, Map.of());
            }
        }

        private static FullHttpResponse full(HttpResponseStatus s, String body) {
            FullHttpResponse r = new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, s, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            HttpUtil.setContentLength(r, r.content().readableBytes());
            return r;
        }

        private static void text(
                ChannelHandlerContext ctx, HttpResponseStatus s, String body, boolean keep, Map<String, String> h) {
            FullHttpResponse r = full(s, body);
            h.forEach((k, v) -> r.headers().set(k, v));
            send(ctx, r, keep);
        }

        private static void send(ChannelHandlerContext ctx, FullHttpResponse r, boolean keep) {
            HttpUtil.setKeepAlive(r, keep);
            finish(ctx, ctx.writeAndFlush(r), keep);
        }

        private static void finish(ChannelHandlerContext ctx, ChannelFuture f, boolean keep) {
            if (!keep) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
