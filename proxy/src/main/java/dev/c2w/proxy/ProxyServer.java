package dev.c2w.proxy;

import dev.c2w.netstack.host.HostTransport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.resolver.AddressResolverGroup;
import java.net.SocketAddress;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The guest's HTTP/HTTPS proxy: shared state plus pipeline initializers. Thread-safe.
 *
 * <p>The proxy as a whole: owns the shared parts (TLS contexts, upstream pool, resolver, blocking executor,
 * counters) and hands out ProxyInitializers for guest connections.
 *
 * <pre>
 *   ProxyServer proxy = new ProxyServer(config);
 *   network.listenTcp(proxyIp, 80,  proxy.httpInitializer());   // plain HTTP proxy + CONNECT
 *   network.listenTcp(proxyIp, 443, proxy.tlsInitializer());    // the same, behind TLS
 * </pre>
 *
 * <p>listen() binds the same initializers to host sockets (tests, standalone use). The leaf for the proxy's
 * own address is minted in the constructor, so the constructor may block briefly; everything after that is
 * non-blocking on event loops (minting and DNS run on the blocking executor). close() drops pooled
 * connections and stops the executor if the proxy created it; it does not close guest connections.
 */
public final class ProxyServer implements AutoCloseable {
    private final ProxyConfig config;
    private final ProxyStats stats = new ProxyStats();
    private final ExecutorService ownExecutor;
    private final boolean ownResolver;
    private final Executor blocking;
    private final AddressResolverGroup<? extends SocketAddress> resolver;
    private final TlsContexts tls;
    private final UpstreamPool pool;
    private final SslContext proxyAddressContext;
    private final ProxyInitializer http;
    private final ProxyInitializer https;

    public ProxyServer(ProxyConfig config) {
        this.config = config;
        if (config.blockingExecutor() != null) {
            this.ownExecutor = null;
            this.blocking = config.blockingExecutor();
        } else {
            AtomicInteger n = new AtomicInteger();
            ThreadPoolExecutor e =
                    new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                        Thread t = new Thread(r, "c2w-proxy-blocking-" + n.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
            e.allowCoreThreadTimeOut(true);
            this.ownExecutor = e;
            this.blocking = e;
        }
        this.ownResolver = config.resolver() == null;
        this.resolver = ownResolver ? OffloadedResolverGroup.system(blocking) : config.resolver();
        this.tls = new TlsContexts(config, blocking);
        this.pool = new UpstreamPool(config, tls, stats, resolver);
        this.proxyAddressContext = tls.forHostBlocking(config.proxyAddress());
        this.http = new ProxyInitializer(this, false);
        this.https = new ProxyInitializer(this, true);
    }

    /** For port 80: plain HTTP proxy (absolute URIs, CONNECT, GET /proxy.crt). */
    public ProxyInitializer httpInitializer() {
        return http;
    }

    /** For port 443: TLS with a leaf for the proxy address, then the same proxy. */
    public ProxyInitializer tlsInitializer() {
        return https;
    }

    public ProxyConfig config() {
        return config;
    }

    public ProxyStats stats() {
        return stats;
    }

    /** The CA certificate in PEM form (what the guest must trust; also served as GET /proxy.crt). */
    public String caCertificatePem() {
        return config.leaves().ca().certificatePem();
    }

    /** How many leaves have been minted so far. */
    public long mintedLeaves() {
        return config.leaves().mintedCount();
    }

    /** Idle upstream connections in the pool now. */
    public int idleUpstreamConnections() {
        return pool.idleCount();
    }

    /**
     * Binds a host server socket that serves the proxy (tls: the port-443 flavour). The future completes
     * when bound; its channel's localAddress() tells the port when 0 was asked.
     */
    public ChannelFuture listen(HostTransport transport, SocketAddress address, boolean tls) {
        return new ServerBootstrap()
                .group(transport.group())
                .channel(transport.serverSocketChannel())
                .childHandler(tls ? https : http)
                .bind(address);
    }

    @Override
    public void close() {
        pool.close();
        if (ownResolver) {
            resolver.close();
        }
        if (ownExecutor != null) {
            ownExecutor.shutdownNow();
        }
    }

    // ----- package-private parts for the handlers

    HttpServerCodec newServerCodec() {
        return new HttpServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(config.maxInitialLineLength())
                .setMaxHeaderSize(config.maxHeaderSize())
                .setMaxChunkSize(config.maxChunkSize()));
    }

    SslContext proxyAddressContext() {
        return proxyAddressContext;
    }

    TlsContexts tls() {
        return tls;
    }

    UpstreamPool pool() {
        return pool;
    }

    AddressResolverGroup<? extends SocketAddress> resolver() {
        return resolver;
    }
}
