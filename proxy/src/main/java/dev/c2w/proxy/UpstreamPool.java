package dev.c2w.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.Deque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;

/**
 * Pooled upstream HTTP/1.1 connections.
 *
 * <p>Connections to origin servers, pooled per (TLS?, host, port, SNI name).
 *
 * <p>acquire() hands out an idle connection when one is alive, else opens one: resolve (through the configured
 * resolver, never on the loop), TCP connect with a timeout, then for TLS a client SslHandler with SNI and
 * endpoint identification, and the future completes only after the handshake. Failures are typed
 * (UpstreamException.Kind) so the proxy can tell the guest what went wrong.
 *
 * <p>Pipeline of an upstream channel: [SslHandler] -> HttpClientCodec -> IdleStateHandler -> UpstreamHandler.
 * UpstreamHandler forwards everything to the exchange that currently owns the channel; while the channel
 * sits in the pool nobody owns it, and anything it reads (or its idle timeout) closes it. A closed channel
 * removes itself from the pool.
 *
 * <p>New channels are registered on the caller's event loop when that loop belongs to the configured group, so
 * in production a guest flow and its upstream connection share one thread; otherwise group.next() is used
 * and the exchange hops threads with execute(). The pool itself is thread-safe (concurrent deques).
 */
final class UpstreamPool {
    /** Where a connection goes; sni is the name for SNI and certificate checks (null for plain HTTP). */
    record Key(boolean tls, String host, int port, String sni) {
        @Override
        public String toString() {
            return (tls ? "https://" : "http://") + host + ":" + port
                    + (tls && !host.equals(sni) ? " (SNI " + sni + ")" : "");
        }
    }

    /** A typed upstream failure; the message is what the guest reads in the 502 body. */
    static final class UpstreamException extends Exception {
        private static final long serialVersionUID = 1L;

        enum Kind {
            RESOLVE,
            CONNECT,
            TLS
        }

        final Kind kind;

        UpstreamException(Kind kind, String message, Throwable cause) {
            super(message, cause);
            this.kind = kind;
        }
    }

    /** Receives what an upstream channel reads and how it changes. Called on the upstream channel's loop. */
    interface Listener {
        void upstreamRead(Object msg);

        void upstreamInactive();

        void upstreamWritabilityChanged(boolean writable);

        void upstreamException(Throwable cause);
    }

    private final ProxyConfig config;
    private final TlsContexts tls;
    private final ProxyStats stats;
    private final AddressResolverGroup<?> resolver;
    private final ConcurrentHashMap<Key, Deque<Channel>> idle = new ConcurrentHashMap<>();

    UpstreamPool(ProxyConfig config, TlsContexts tls, ProxyStats stats, AddressResolverGroup<?> resolver) {
        this.config = config;
        this.tls = tls;
        this.stats = stats;
        this.resolver = resolver;
    }

    /** The upstream handler of a channel this pool made. */
    static UpstreamHandler handler(Channel ch) {
        return ch.pipeline().get(UpstreamHandler.class);
    }

    /**
     * A connected (and for TLS, handshaken) channel for {@code key}, owned by {@code listener} until released.
     * The future's listeners run on {@code caller}.
     */
    Future<Channel> acquire(Key key, EventLoop caller, Listener listener, boolean allowPooled) {
        Promise<Channel> p = caller.newPromise();
        if (allowPooled) {
            Deque<Channel> d = idle.get(key);
            Channel ch;
            while (d != null && (ch = d.pollFirst()) != null) {
                UpstreamHandler h = handler(ch);
                if (ch.isActive() && h != null && h.claim(listener)) {
                    stats.upstreamReuses.incrementAndGet();
                    p.setSuccess(ch);
                    return p;
                }
            }
        }
        connect(key, caller, listener, p);
        return p;
    }

    EventLoop loopFor(EventLoop caller) {
        for (EventExecutor e : config.group()) {
            if (e == caller) {
                return caller;
            }
        }
        return config.group().next();
    }

    private void connect(Key key, EventLoop caller, Listener listener, Promise<Channel> p) {
        stats.upstreamConnects.incrementAndGet();
        UpstreamHandler handler = new UpstreamHandler(this, key);
        handler.claim(listener);
        Bootstrap b = new Bootstrap()
                .group(loopFor(caller))
                .channel(config.channelClass())
                .resolver(resolver)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, config.connectTimeoutMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline pl = ch.pipeline();
                        if (key.tls()) {
                            SslHandler ssl = tls.client().newHandler(ch.alloc(), key.sni(), key.port());
                            SSLParameters params = ssl.engine().getSSLParameters();
                            params.setEndpointIdentificationAlgorithm("HTTPS");
                            ssl.engine().setSSLParameters(params);
                            pl.addLast("ssl", ssl);
                        }
                        pl.addLast(
                                "http",
                                new HttpClientCodec(
                                        new HttpDecoderConfig()
                                                .setMaxInitialLineLength(config.maxInitialLineLength())
                                                .setMaxHeaderSize(config.maxHeaderSize())
                                                .setMaxChunkSize(config.maxChunkSize()),
                                        false,
                                        false));
                        pl.addLast("idle", new IdleStateHandler(0, 0, config.idleSeconds(), TimeUnit.SECONDS));
                        pl.addLast("upstream", handler);
                    }
                });
        ChannelFuture cf = b.connect(key.host(), key.port());
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                p.tryFailure(connectFailure(key, f.cause()));
                return;
            }
            Channel ch = cf.channel();
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                p.trySuccess(ch);
                return;
            }
            ssl.handshakeFuture().addListener(hf -> {
                if (hf.isSuccess()) {
                    p.trySuccess(ch);
                } else {
                    ch.close();
                    p.tryFailure(tlsFailure(key, hf.cause()));
                }
            });
        });
    }

    private static UpstreamException connectFailure(Key key, Throwable cause) {
        Throwable c = cause;
        while (c.getCause() != null && !(c instanceof UnknownHostException)) {
            c = c.getCause();
        }
        if (c instanceof UnknownHostException) {
            return new UpstreamException(
                    UpstreamException.Kind.RESOLVE, "cannot resolve " + key.host() + ": " + c.getMessage(), cause);
        }
        String why = cause instanceof ConnectException ? cause.getMessage() : String.valueOf(cause);
        return new UpstreamException(
                UpstreamException.Kind.CONNECT,
                "cannot connect to " + key.host() + ":" + key.port() + ": " + why,
                cause);
    }

    private static UpstreamException tlsFailure(Key key, Throwable cause) {
        StringBuilder why = new StringBuilder();
        for (Throwable c = cause; c != null; c = c.getCause()) {
            if (c.getMessage() != null && (why.length() == 0 || !why.toString().contains(c.getMessage()))) {
                if (why.length() > 0) {
                    why.append(": ");
                }
                why.append(c.getMessage());
            }
            if (c.getCause() == c) {
                break;
            }
        }
        String kind = cause instanceof SSLHandshakeException ? "TLS verification of " : "TLS handshake with ";
        return new UpstreamException(UpstreamException.Kind.TLS, kind + key + " failed: " + why, cause);
    }

    /** Returns a channel whose exchange completed cleanly; closes it when it cannot be kept. */
    void release(Key key, Channel ch) {
        UpstreamHandler h = handler(ch);
        if (h == null || !ch.isActive() || config.maxIdlePerHost() == 0) {
            ch.close();
            return;
        }
        h.unclaim();
        Deque<Channel> d = idle.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>());
        if (d.size() >= config.maxIdlePerHost()) {
            ch.close();
            return;
        }
        ch.config().setAutoRead(true);
        d.addFirst(ch);
        if (!ch.isActive()) { // closed while we were adding it
            d.remove(ch);
        }
    }

    void removeIdle(Key key, Channel ch) {
        Deque<Channel> d = idle.get(key);
        if (d != null) {
            d.remove(ch);
            if (d.isEmpty()) {
                // forget hosts with nothing pooled (a racing release() may lose its channel to the idle timeout)
                idle.remove(key, d);
            }
        }
    }

    /** Closes every idle connection. */
    void close() {
        for (Deque<Channel> d : idle.values()) {
            Channel ch;
            while ((ch = d.pollFirst()) != null) {
                ch.close();
            }
        }
    }

    /** Idle connections held now (for tests). */
    int idleCount() {
        return idle.values().stream().mapToInt(Deque::size).sum();
    }

    /** Last handler of an upstream pipeline: forwards to the owning exchange, or guards the idle channel. */
    static final class UpstreamHandler extends ChannelInboundHandlerAdapter {
        private final UpstreamPool pool;
        private final Key key;
        private volatile Listener listener;
        private int uses;

        UpstreamHandler(UpstreamPool pool, Key key) {
            this.pool = pool;
            this.key = key;
        }

        synchronized boolean claim(Listener l) {
            if (listener != null) {
                return false;
            }
            listener = l;
            uses++;
            return true;
        }

        /** How many exchanges have owned this connection (1 = fresh). */
        synchronized int uses() {
            return uses;
        }

        synchronized void unclaim() {
            listener = null;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Listener l = listener;
            if (l == null) {
                // an idle connection must stay silent; anything else means it is no longer usable
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            l.upstreamRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            pool.removeIdle(key, ctx.channel());
            Listener l = listener;
            if (l != null) {
                l.upstreamInactive();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            Listener l = listener;
            if (l != null) {
                l.upstreamWritabilityChanged(ctx.channel().isWritable());
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent && listener == null) {
                ctx.close();
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Listener l = listener;
            if (l != null) {
                l.upstreamException(cause);
            }
            ctx.close();
        }
    }
}
