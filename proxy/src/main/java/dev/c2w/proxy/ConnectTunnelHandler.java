package dev.c2w.proxy;

import dev.c2w.netstack.loop.Loops;
import dev.c2w.netstack.relay.Relay;
import dev.c2w.tls.LeafCertificates;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsyncMapping;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLException;

/**
 * CONNECT: connect upstream, then intercept TLS or relay raw bytes.
 *
 * <p>What a CONNECT becomes, installed in place of the HTTP codec and HttpProxyHandler.
 *
 * <pre>
 * 1. CONNECTING: opens a TCP connection to host:port first (so "connection refused" is an honest 502 to the
 *    CONNECT, and protocols where the server speaks first work). Guest bytes that arrive meanwhile are kept.
 * 2. SNIFFING: answers "200 Connection established" and looks at the guest's first bytes. A TLS handshake
 *    record (0x16 0x03 0x00..0x04) means interception: the raw upstream connection is closed and the pipeline
 *    becomes SniHandler -> SslHandler (leaf minted for the SNI name, or the CONNECT host without SNI) ->
 *    HttpServerCodec -> HttpProxyHandler in tunnel mode, which forwards each request over pooled TLS
 *    connections. Anything else, or bytes from the server before the guest sent any, means a plain tunnel:
 *    both sides get a Relay and the bytes seen so far are passed on in order.
 * </pre>
 *
 * <p>A broken ClientHello fails in SniHandler/SslHandler and closes this connection only (counted).
 * Buffer ownership: bytes held while connecting/sniffing live in one composite buffer owned by this handler
 * until they are fired into the new pipeline or written to the upstream; released if the connection dies.
 * Threading: runs on the guest loop; the raw upstream's events are re-posted to it when its loop differs.
 */
final class ConnectTunnelHandler extends ChannelInboundHandlerAdapter {
    private static final int MAX_CLIENT_HELLO = 16 * 1024;
    private static final long HANDSHAKE_TIMEOUT_MS = 10_000;

    private enum State {
        CONNECTING,
        SNIFFING,
        DONE
    }

    private final ProxyServer px;
    private final String host;
    private final int port;
    private ChannelHandlerContext ctx;
    private CompositeByteBuf guestBytes;
    private CompositeByteBuf serverBytes;
    private Channel raw;
    private State state = State.CONNECTING;

    ConnectTunnelHandler(ProxyServer px, String host, int port) {
        this.px = px;
        this.host = host;
        this.port = port;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        guestBytes = ctx.alloc().compositeBuffer(64);
        serverBytes = ctx.alloc().compositeBuffer(64);
        ctx.channel().config().setAutoRead(false);
        EventLoop guestLoop = ctx.channel().eventLoop();
        Bootstrap b = new Bootstrap()
                .group(px.pool().loopFor(guestLoop))
                .channel(px.config().channelClass())
                .resolver(px.resolver())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, px.config().connectTimeoutMillis())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new RawUpstream(guestLoop));
        ChannelFuture cf = b.connect(host, port);
        px.stats().upstreamConnects.incrementAndGet();
        cf.addListener(f -> onGuestLoop(guestLoop, () -> connected(cf)));
    }

    private static void onGuestLoop(EventLoop loop, Runnable r) {
        Loops.run(loop, r);
    }

    private void connected(ChannelFuture cf) {
        if (state == State.DONE || ctx.isRemoved() || !ctx.channel().isActive()) {
            cf.channel().close();
            return;
        }
        if (!cf.isSuccess()) {
            px.stats().badGateway.incrementAndGet();
            String why = ErrorResponses.cannotConnect(new RequestTarget.HostPort(host, port), cf.cause());
            writeRawResponse(HttpResponseStatus.BAD_GATEWAY, why, true);
            done();
            return;
        }
        raw = cf.channel();
        state = State.SNIFFING;
        writeRawResponse(HttpResponseStatus.OK, null, false);
        raw.config().setAutoRead(true);
        ctx.channel().config().setAutoRead(true);
        sniff();
    }

    private void writeRawResponse(HttpResponseStatus status, String message, boolean close) {
        String head;
        byte[] body = new byte[0];
        if (message == null) {
            head = "HTTP/1.1 200 Connection established\r\n\r\n";
        } else {
            body = ErrorResponses.bodyText(message).getBytes(StandardCharsets.UTF_8);
            head = "HTTP/1.1 " + status.code() + " " + status.reasonPhrase() + "\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\n"
                    + "Content-Length: " + body.length + "\r\n"
                    + (close ? "Connection: close\r\n" : "") + "\r\n";
        }
        ByteBuf out = Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body);
        ChannelFuture f = ctx.writeAndFlush(out);
        if (close) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf b) || state == State.DONE) {
            ReferenceCountUtil.release(msg); // the end of the CONNECT request from the removed decoder
            return;
        }
        if (!b.isReadable()) {
            b.release();
            return;
        }
        guestBytes.addComponent(true, b);
        if (state == State.SNIFFING) {
            sniff();
        }
    }

    private void sniff() {
        if (state != State.SNIFFING) {
            return;
        }
        int n = guestBytes.readableBytes();
        if (n == 0) {
            if (serverBytes.isReadable()) {
                relay(); // the server spoke first: not TLS from the guest
            }
            return;
        }
        int i = guestBytes.readerIndex();
        boolean maybeTls = guestBytes.getUnsignedByte(i) == 0x16;
        if (maybeTls && n < 3) {
            return; // wait for the record version
        }
        if (maybeTls && guestBytes.getUnsignedByte(i + 1) == 0x03 && guestBytes.getUnsignedByte(i + 2) <= 0x04) {
            intercept();
        } else {
            relay();
        }
    }

    private void intercept() {
        state = State.DONE;
        px.stats().intercepted.incrementAndGet();
        raw.close();
        serverBytes.release();
        serverBytes = null;
        HttpProxyHandler.Tunnel tunnel = new HttpProxyHandler.Tunnel(host, port);
        EventExecutor loop = ctx.executor();
        AsyncMapping<String, SslContext> mapping = (sniName, promise) -> lookup(tunnel, sniName, loop, promise);
        ctx.pipeline()
                .addAfter(ctx.name(), "tunnel-sni", new SniHandler(mapping, MAX_CLIENT_HELLO, HANDSHAKE_TIMEOUT_MS));
        ctx.pipeline().addAfter("tunnel-sni", "tunnel-http", px.newServerCodec());
        ctx.pipeline().addAfter("tunnel-http", "tunnel-proxy", new HttpProxyHandler(px, tunnel));
        ByteBuf first = guestBytes;
        guestBytes = null;
        ctx.fireChannelRead(first);
        ctx.fireChannelReadComplete();
        if (!ctx.isRemoved()) {
            ctx.pipeline().remove(this);
        }
    }

    private Future<SslContext> lookup(
            HttpProxyHandler.Tunnel tunnel, String sniName, EventExecutor loop, Promise<SslContext> promise) {
        String name;
        try {
            name = LeafCertificates.normalise(sniName != null ? sniName : host);
        } catch (IllegalArgumentException e) {
            return promise.setFailure(new SSLException("bad SNI name: " + e.getMessage()));
        }
        if (!px.config().policy().allows(name)) {
            px.stats().refused.incrementAndGet();
            return promise.setFailure(new SSLException("SNI " + name + " is not allowed by the proxy policy"));
        }
        tunnel.sni = name;
        px.tls().forHost(name, loop).addListener(f -> {
            if (f.isSuccess()) {
                promise.trySuccess((SslContext) f.getNow());
            } else {
                promise.tryFailure(f.cause());
            }
        });
        return promise;
    }

    private void relay() {
        state = State.DONE;
        px.stats().rawTunnels.incrementAndGet();
        Channel guest = ctx.channel();
        Channel up = raw;
        ByteBuf fromGuest = guestBytes;
        ByteBuf fromServer = serverBytes;
        guestBytes = null;
        serverBytes = null;
        if (fromServer.isReadable()) {
            guest.writeAndFlush(fromServer);
        } else {
            fromServer.release();
        }
        if (fromGuest.isReadable()) {
            up.writeAndFlush(fromGuest);
        } else {
            fromGuest.release();
        }
        // A plain tunnel carries TCP half-closes through (when the guest channel supports them).
        guest.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ctx.pipeline().replace(this, "relay", Relay.forTunnel(up));
        Runnable upSide = () -> {
            RawUpstream r = up.pipeline().get(RawUpstream.class);
            if (r != null) {
                up.pipeline().replace(r, "relay", Relay.forTunnel(guest));
            }
            if (!up.isActive()) {
                Relay.closeOnFlush(guest);
            }
        };
        Loops.run(up.eventLoop(), upSide);
    }

    private void done() {
        state = State.DONE;
        release();
    }

    private void release() {
        if (guestBytes != null) {
            guestBytes.release();
            guestBytes = null;
        }
        if (serverBytes != null) {
            serverBytes.release();
            serverBytes = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (raw != null && state != State.DONE) {
            raw.close();
        }
        done();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (state != State.DONE) {
            state = State.DONE;
            if (raw != null) {
                raw.close();
            }
        }
        release();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (raw != null) {
            raw.close();
        }
        done();
        ctx.close();
    }

    /** The raw upstream channel's handler until the tunnel is decided: hands bytes and closes to the guest loop. */
    private final class RawUpstream extends ChannelInboundHandlerAdapter {
        private final EventLoop guestLoop;

        RawUpstream(EventLoop guestLoop) {
            this.guestLoop = guestLoop;
        }

        @Override
        public void channelRead(ChannelHandlerContext uctx, Object msg) {
            onGuestLoop(guestLoop, () -> {
                if (msg instanceof ByteBuf b && serverBytes != null && state == State.SNIFFING) {
                    serverBytes.addComponent(true, b);
                    sniff();
                } else if (msg instanceof ByteBuf
                        && state == State.DONE
                        && ctx.channel().isActive()
                        && ctx.pipeline().get(Relay.class) != null) {
                    ctx.channel().writeAndFlush(msg); // raced with the switch to relay: pass it on in order
                } else {
                    ReferenceCountUtil.release(msg);
                }
            });
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext uctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                uctx.close(); // the server hung up while undecided: treat as a close
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext uctx) {
            onGuestLoop(guestLoop, () -> {
                if (state == State.SNIFFING) {
                    // the server hung up before anything was decided: pass on what it said, then close
                    state = State.DONE;
                    if (serverBytes != null && serverBytes.isReadable()) {
                        ctx.writeAndFlush(serverBytes.retain());
                    }
                    release();
                    Relay.closeOnFlush(ctx.channel());
                }
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext uctx, Throwable cause) {
            uctx.close();
        }
    }
}
