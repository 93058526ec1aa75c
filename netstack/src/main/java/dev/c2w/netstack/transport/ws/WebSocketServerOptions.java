package dev.c2w.netstack.transport.ws;

import dev.c2w.netstack.addr.HostPort;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.netstack.wire.Ipv4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Settings of a {@link WebSocketServer}. Build with {@link #builder}.
 *
 * <p>Everything a WebSocketServer needs, in one immutable value (the CLI fills it from
 * --listen-ws ADDR, --ws-allow-origin, --shared-network, --max-ws-connections).
 *
 * <pre>
 *  bindAddress       where the HTTP/WebSocket server listens.
 *  allowedOrigins    extra Origin patterns on top of the built-in loopback ones (see OriginPolicy);
 *                    "*" allows every origin.
 *  sharedNetwork     false (default): every connection gets its own VirtualNetwork;
 *                    true: all connections are ports on one network (upstream c2w-net behaviour).
 *  maxConnections    WebSocket connections open at once; the next handshake gets 503.
 *  writeBufferBound  bytes that may wait to be sent to one client; a client that stops reading
 *                    and lets more than this pile up is disconnected (the process carries on).
 *  maxMessageSize    largest WebSocket frame payload accepted from a client (a message may be
 *                    fragmented into several frames; each is bounded, and the QEMU frame cap in
 *                    NetworkConfig.maxFrameSize bounds what is ever buffered per connection).
 *  config            the recipe of each network (per connection it is copied with
 *                    firstGuestGetsGuestIp=true, so the browser guest gets 192.168.127.3).
 *  host              event loops and channel classes; the server runs on host.group().
 *  pcap              optional pcap sink shared by every network, or null.
 *  caPem             optional source of the proxy CA certificate (PEM) served at GET /proxy.crt;
 *                    null, or a supplier that returns null, means 404.
 * </pre>
 */
public record WebSocketServerOptions(
        InetSocketAddress bindAddress,
        List<String> allowedOrigins,
        boolean sharedNetwork,
        int maxConnections,
        int writeBufferBound,
        int maxMessageSize,
        NetworkConfig config,
        HostTransport host,
        PcapWriter pcap,
        Supplier<byte[]> caPem) {
    private static final InetAddress LOOPBACK = Ipv4Address.toInet(Ipv4Address.of(127, 0, 0, 1));

    public static final int DEFAULT_PORT = 8888;
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    public static final int DEFAULT_WRITE_BUFFER_BOUND = 8 * 1024 * 1024;
    public static final int DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

    private static final HostPort.Syntax LISTEN_SYNTAX =
            HostPort.syntax("--listen-ws").withBarePort(HostPort.BarePort.PORT).withPortZero();

    public WebSocketServerOptions {
        Objects.requireNonNull(bindAddress, "bindAddress");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(host, "host");
        allowedOrigins = List.copyOf(allowedOrigins == null ? List.of() : allowedOrigins);
        for (String p : allowedOrigins) {
            OriginPolicy.checkPattern(p);
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("max WebSocket connections must be at least 1, got " + maxConnections);
        }
        if (writeBufferBound < 4096) {
            throw new IllegalArgumentException(
                    "WebSocket write buffer bound must be at least 4096 bytes, got " + writeBufferBound);
        }
        if (maxMessageSize < 1024) {
            throw new IllegalArgumentException(
                    "WebSocket max message size must be at least 1024 bytes, got " + maxMessageSize);
        }
    }

    public static Builder builder(NetworkConfig config, HostTransport host) {
        return new Builder(config, host);
    }

    /**
     * Parses a listen address the way upstream's {@code c2w-net --listen-ws ADDR} takes it, by
     * {@link HostPort}'s rules: {@code HOST:PORT}, {@code [V6]:PORT}, {@code :PORT} (every interface) or a
     * bare {@code PORT} (loopback); port 0 lets the system pick one (the server logs it). A host name is
     * resolved (use a literal to avoid the resolver).
     */
    public static InetSocketAddress parseListenAddress(String s) {
        Objects.requireNonNull(s, "listen address");
        HostPort hp = HostPort.parse(s, LISTEN_SYNTAX);
        if (hp.hasHost()) {
            return hp.toInetSocketAddress();
        }
        return s.startsWith(":") ? new InetSocketAddress(hp.port()) : new InetSocketAddress(LOOPBACK, hp.port());
    }

    /** Mutable builder with the defaults listed on the record. */
    public static final class Builder {
        private InetSocketAddress bindAddress = new InetSocketAddress(LOOPBACK, DEFAULT_PORT);
        private final List<String> allowedOrigins = new ArrayList<>();
        private boolean sharedNetwork;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private int writeBufferBound = DEFAULT_WRITE_BUFFER_BOUND;
        private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
        private NetworkConfig config;
        private HostTransport host;
        private PcapWriter pcap;
        private Supplier<byte[]> caPem;

        private Builder(NetworkConfig config, HostTransport host) {
            this.config = Objects.requireNonNull(config);
            this.host = Objects.requireNonNull(host);
        }

        public Builder bindAddress(InetSocketAddress a) {
            this.bindAddress = Objects.requireNonNull(a);
            return this;
        }

        public Builder allowOrigin(String pattern) {
            this.allowedOrigins.add(pattern);
            return this;
        }

        public Builder allowOrigins(List<String> patterns) {
            this.allowedOrigins.addAll(patterns);
            return this;
        }

        public Builder sharedNetwork(boolean v) {
            this.sharedNetwork = v;
            return this;
        }

        public Builder maxConnections(int n) {
            this.maxConnections = n;
            return this;
        }

        public Builder writeBufferBound(int bytes) {
            this.writeBufferBound = bytes;
            return this;
        }

        public Builder maxMessageSize(int bytes) {
            this.maxMessageSize = bytes;
            return this;
        }

        public Builder config(NetworkConfig c) {
            this.config = Objects.requireNonNull(c);
            return this;
        }

        public Builder host(HostTransport h) {
            this.host = Objects.requireNonNull(h);
            return this;
        }

        public Builder pcap(PcapWriter p) {
            this.pcap = p;
            return this;
        }

        public Builder caPem(Supplier<byte[]> s) {
            this.caPem = s;
            return this;
        }

        public WebSocketServerOptions build() {
            return new WebSocketServerOptions(
                    bindAddress,
                    allowedOrigins,
                    sharedNetwork,
                    maxConnections,
                    writeBufferBound,
                    maxMessageSize,
                    config,
                    host,
                    pcap,
                    caPem);
        }
    }
}
