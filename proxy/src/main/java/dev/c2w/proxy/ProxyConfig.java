package dev.c2w.proxy;

import dev.c2w.netstack.host.HostTransport;
import dev.c2w.tls.LeafCertificates;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.resolver.AddressResolverGroup;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Immutable proxy settings; see {@link #builder()}.
 *
 * <p>Everything the proxy needs, gathered once: the CA (through LeafCertificates), the address it answers on
 * inside the guest network (for the port-443 leaf), which upstream CAs to trust besides the JDK's, the host
 * policy, where upstream channels run (event loop group + channel class, normally HostTransport's), how
 * names are resolved, and the limits. Built with ProxyConfig.builder(); immutable afterwards.
 */
public final class ProxyConfig {
    /** The proxy's address in the guest network (upstream container2wasm uses the same). */
    public static final String DEFAULT_PROXY_ADDRESS = "192.168.127.253";

    private final LeafCertificates leaves;
    private final String proxyAddress;
    private final List<X509Certificate> upstreamCas;
    private final boolean trustJdkCas;
    private final HostPolicy policy;
    private final EventLoopGroup group;
    private final Class<? extends Channel> channelClass;
    private final AddressResolverGroup<? extends SocketAddress> resolver;
    private final Executor blockingExecutor;
    private final int connectTimeoutMillis;
    private final int maxIdlePerHost;
    private final int idleSeconds;
    private final int guestIdleSeconds;
    private final int maxInitialLineLength;
    private final int maxHeaderSize;
    private final int maxChunkSize;

    private ProxyConfig(Builder b) {
        this.leaves = Objects.requireNonNull(b.leaves, "leaves (the CA) is required");
        this.proxyAddress = b.proxyAddress;
        this.upstreamCas = List.copyOf(b.upstreamCas);
        this.trustJdkCas = b.trustJdkCas;
        this.policy = b.policy;
        this.group = Objects.requireNonNull(b.group, "an event loop group is required");
        this.channelClass = Objects.requireNonNull(b.channelClass, "a socket channel class is required");
        this.resolver = b.resolver;
        this.blockingExecutor = b.blockingExecutor;
        this.connectTimeoutMillis = b.connectTimeoutMillis;
        this.maxIdlePerHost = b.maxIdlePerHost;
        this.idleSeconds = b.idleSeconds;
        this.guestIdleSeconds = b.guestIdleSeconds;
        this.maxInitialLineLength = b.maxInitialLineLength;
        this.maxHeaderSize = b.maxHeaderSize;
        this.maxChunkSize = b.maxChunkSize;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads the certificates of a PEM (or DER) file, for --upstream-ca.
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no certificate
     */
    public static List<X509Certificate> readCertificates(Path file) {
        return TlsContexts.readCertificates(file);
    }

    public LeafCertificates leaves() {
        return leaves;
    }

    public String proxyAddress() {
        return proxyAddress;
    }

    public List<X509Certificate> upstreamCas() {
        return upstreamCas;
    }

    public boolean trustJdkCas() {
        return trustJdkCas;
    }

    public HostPolicy policy() {
        return policy;
    }

    public EventLoopGroup group() {
        return group;
    }

    public Class<? extends Channel> channelClass() {
        return channelClass;
    }
    /** Null means: the JDK resolver on the blocking executor. */
    public AddressResolverGroup<? extends SocketAddress> resolver() {
        return resolver;
    }
    /** Null means: the proxy makes its own small daemon pool. */
    public Executor blockingExecutor() {
        return blockingExecutor;
    }

    public int connectTimeoutMillis() {
        return connectTimeoutMillis;
    }

    public int maxIdlePerHost() {
        return maxIdlePerHost;
    }

    public int idleSeconds() {
        return idleSeconds;
    }

    public int guestIdleSeconds() {
        return guestIdleSeconds;
    }

    public int maxInitialLineLength() {
        return maxInitialLineLength;
    }

    public int maxHeaderSize() {
        return maxHeaderSize;
    }

    public int maxChunkSize() {
        return maxChunkSize;
    }

    /** Builder with defaults: proxy address 192.168.127.253, JDK CAs trusted, allow all, 10 s connect timeout. */
    public static final class Builder {
        private LeafCertificates leaves;
        private String proxyAddress = DEFAULT_PROXY_ADDRESS;
        private final List<X509Certificate> upstreamCas = new ArrayList<>();
        private boolean trustJdkCas = true;
        private HostPolicy policy = HostPolicy.allowAll();
        private EventLoopGroup group;
        private Class<? extends Channel> channelClass;
        private AddressResolverGroup<? extends SocketAddress> resolver;
        private Executor blockingExecutor;
        private int connectTimeoutMillis = 10_000;
        private int maxIdlePerHost = 8;
        private int idleSeconds = 60;
        private int guestIdleSeconds = 300;
        private int maxInitialLineLength = 8192;
        private int maxHeaderSize = 32 * 1024;
        private int maxChunkSize = 64 * 1024;

        private Builder() {}

        /** The leaf minter (and through it the CA). Required. */
        public Builder leaves(LeafCertificates l) {
            this.leaves = l;
            return this;
        }

        /** The IP (or name) the guest reaches the proxy at; the port-443 leaf is minted for it. */
        public Builder proxyAddress(String a) {
            this.proxyAddress = a;
            return this;
        }

        /** An extra CA to trust for upstream TLS (repeatable, like --upstream-ca). */
        public Builder addUpstreamCa(X509Certificate c) {
            this.upstreamCas.add(c);
            return this;
        }

        public Builder addUpstreamCas(List<X509Certificate> cs) {
            this.upstreamCas.addAll(cs);
            return this;
        }

        /** Whether the JDK's default trust store is trusted too (default true). */
        public Builder trustJdkCas(boolean b) {
            this.trustJdkCas = b;
            return this;
        }

        public Builder policy(HostPolicy p) {
            this.policy = Objects.requireNonNull(p);
            return this;
        }

        /** Where upstream channels run and their class (must fit the group: epoll with epoll, NIO with NIO). */
        public Builder upstream(EventLoopGroup g, Class<? extends Channel> c) {
            this.group = g;
            this.channelClass = c;
            return this;
        }

        /** Upstream channels on the host transport (the usual choice). */
        public Builder transport(HostTransport t) {
            return upstream(t.group(), t.socketChannel());
        }

        /** How upstream host names are resolved; default: the JDK resolver, off the event loop. */
        public Builder resolver(AddressResolverGroup<? extends SocketAddress> r) {
            this.resolver = r;
            return this;
        }

        /** Where blocking work (minting, DNS) runs; default: a small daemon pool owned by the proxy. */
        public Builder blockingExecutor(Executor e) {
            this.blockingExecutor = e;
            return this;
        }

        public Builder connectTimeoutMillis(int ms) {
            this.connectTimeoutMillis = positive(ms, "connect timeout");
            return this;
        }

        /** Idle upstream connections kept per (scheme, host, port, SNI); 0 disables pooling. */
        public Builder maxIdlePerHost(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("maxIdlePerHost must be >= 0");
            }
            this.maxIdlePerHost = n;
            return this;
        }

        /** Seconds an upstream connection may sit idle in the pool. */
        public Builder idleSeconds(int s) {
            this.idleSeconds = positive(s, "idle seconds");
            return this;
        }

        /** Seconds a guest connection may sit between requests before the proxy closes it. */
        public Builder guestIdleSeconds(int s) {
            this.guestIdleSeconds = positive(s, "guest idle seconds");
            return this;
        }

        public Builder maxInitialLineLength(int n) {
            this.maxInitialLineLength = positive(n, "max initial line");
            return this;
        }

        public Builder maxHeaderSize(int n) {
            this.maxHeaderSize = positive(n, "max header size");
            return this;
        }

        public Builder maxChunkSize(int n) {
            this.maxChunkSize = positive(n, "max chunk size");
            return this;
        }

        private static int positive(int v, String what) {
            if (v <= 0) {
                throw new IllegalArgumentException(what + " must be positive: " + v);
            }
            return v;
        }

        public ProxyConfig build() {
            return new ProxyConfig(this);
        }
    }
}
