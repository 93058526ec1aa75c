package dev.c2w.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline of one guest connection to the proxy.
 *
 * <p>Installs the proxy on a freshly accepted guest connection. Works on any Channel: an in-process guest TCP
 * channel from VirtualNetwork.listenTcp in production, an ordinary host socket in tests and standalone use.
 *
 * <pre>
 * Port 80 (plain): IdleStateHandler -> HttpServerCodec -> HttpProxyHandler.
 * Port 443 (TLS):  SslHandler (leaf for the proxy's own address) -> IdleStateHandler -> HttpServerCodec
 *                  -> HttpProxyHandler.
 * The idle handler lets HttpProxyHandler close keep-alive connections that sit unused between requests.
 * Handlers are per connection; the initializer itself is stateless and @Sharable.
 * </pre>
 */
@ChannelHandler.Sharable
public final class ProxyInitializer extends ChannelInitializer<Channel> {
    private final ProxyServer px;
    private final boolean tls;

    ProxyInitializer(ProxyServer px, boolean tls) {
        this.px = px;
        this.tls = tls;
    }

    /** Whether this is the TLS (port 443) flavour. */
    public boolean isTls() {
        return tls;
    }

    @Override
    protected void initChannel(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        if (tls) {
            p.addLast("tls", px.proxyAddressContext().newHandler(ch.alloc()));
        }
        p.addLast("idle", new IdleStateHandler(0, 0, px.config().guestIdleSeconds(), TimeUnit.SECONDS));
        p.addLast("http", px.newServerCodec());
        p.addLast("proxy", new HttpProxyHandler(px, null));
    }
}
