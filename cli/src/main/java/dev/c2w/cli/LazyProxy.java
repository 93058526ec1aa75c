package dev.c2w.cli;

import dev.c2w.proxy.ProxyConfig;
import dev.c2w.proxy.ProxyServer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.CompletableFuture;

/**
 * The HTTP(S) proxy, built on first use.
 *
 * <p>The proxy is built on its first connection, not at start: building it mints a leaf certificate and
 * sets up TLS contexts, which costs about 35 MB of resident memory that an idle c2w-net (or one whose
 * guests never use the proxy) should not pay. The CA itself is loaded and checked at start (by the
 * ProxyConfig the caller builds), so a broken CA directory is still reported at once.
 *
 * <p>A guest connection that arrives first is held (reading off, so its data waits in the guest's TCP
 * window) while a background thread builds the proxy; then this placeholder replaces itself with the
 * proxy's own initializer and reading resumes. Later connections get the proxy's initializer directly.
 */
final class LazyProxy {
    private static final System.Logger LOG = System.getLogger(LazyProxy.class.getName());
    private final ProxyConfig config;
    private volatile ProxyServer proxy;
    private CompletableFuture<ProxyServer> building;

    LazyProxy(ProxyConfig config) {
        this.config = config;
    }

    /** The CA certificate (PEM) that guests must trust; available without building the proxy. */
    String caCertificatePem() {
        return config.leaves().ca().certificatePem();
    }

    /** Handler for 192.168.127.253:80 (plain HTTP and CONNECT). */
    ChannelHandler httpHandler() {
        return new Placeholder(false);
    }

    /** Handler for 192.168.127.253:443 (the same behind TLS). */
    ChannelHandler tlsHandler() {
        return new Placeholder(true);
    }

    private synchronized CompletableFuture<ProxyServer> build() {
        if (building == null) {
            building = CompletableFuture.supplyAsync(
                    () -> {
                        ProxyServer p = new ProxyServer(config);
                        proxy = p;
                        LOG.log(System.Logger.Level.INFO, "HTTP(S) proxy ready on 192.168.127.253:80 and :443");
                        return p;
                    },
                    r -> {
                        Thread t = new Thread(r, "c2w-net-proxy-init");
                        t.setDaemon(true);
                        t.start();
                    });
        }
        return building;
    }

    @ChannelHandler.Sharable
    private final class Placeholder extends ChannelInboundHandlerAdapter {
        private final boolean tls;

        Placeholder(boolean tls) {
            this.tls = tls;
        }

        private ChannelHandler real(ProxyServer p) {
            return tls ? p.tlsInitializer() : p.httpInitializer();
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ProxyServer p = proxy;
            if (p != null) {
                ctx.pipeline().replace(this, null, real(p));
                return;
            }
            Channel ch = ctx.channel();
            ch.config().setAutoRead(false);
            build().whenComplete((px, err) -> ch.eventLoop().execute(() -> {
                if (err != null) {
                    LOG.log(System.Logger.Level.ERROR, "the HTTP(S) proxy could not start: " + err.getMessage());
                    ch.close();
                    return;
                }
                if (!ch.isOpen() || ctx.isRemoved()) {
                    return;
                }
                ctx.pipeline().replace(this, null, real(px));
                ch.config().setAutoRead(true);
            }));
        }
    }
}
