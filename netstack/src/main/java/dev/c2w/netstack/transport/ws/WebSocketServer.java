package dev.c2w.netstack.transport.ws;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.link.QemuFrameDecoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The HTTP/WebSocket server for browser guests.
 *
 * <p>c2w-net --listen-ws: browser guests over WebSocket.
 *
 * <p>In the browser the emulator cannot open sockets, so the page (upstream's ws-delegate.js, or
 * emscripten's SOCKFS for QEMU-wasm) opens new WebSocket(url, 'binary') to us and forwards the
 * emulator's QEMU stream over it: guest->host messages are arbitrary slices of the stream
 * (4-byte big-endian length + Ethernet frame, split anywhere); host->guest is one binary message per
 * frame, prefix included. This class serves that on one TCP port with Netty's HTTP and WebSocket codecs,
 * on the HostTransport's event loops.
 *
 * <pre>
 * Pipeline of a connection, before and after the handshake:
 *   idle(30 s) | HttpServerCodec | HttpObjectAggregator(16 KiB) | HttpEntryHandler
 *   wsdecoder | wsencoder | WsFrameHandler | QemuFrameDecoder(maxFrameSize) | WsGuestLink
 * HttpEntryHandler also answers GET /healthz and GET /proxy.crt (options.caPem) and enforces the Origin
 * policy and the connection limit; see its comment.
 * </pre>
 *
 * <p>Networks. By default every WebSocket connection gets its own VirtualNetwork built from the same
 * NetworkConfig with firstGuestGetsGuestIp=true: its own switch, DHCP leases and NAT flows, so two tabs
 * cannot see each other, and each browser guest (which gets a random MAC at every page load, so never
 * matches --mac) still gets 192.168.127.3. Closing the connection closes that network and frees
 * everything it held. With sharedNetwork (--shared-network) all connections are ports on one network
 * made at start(), as upstream does; that network also hands .3 to the first guest.
 *
 * <p>Port forwards (-p) target "the most recently connected guest": currentNetwork() is the newest live
 * per-connection network (the shared one in shared mode), and falls back to the previous live one when
 * the newest closes; addNetworkListener() reports every change (with null when none is left).
 */
public final class WebSocketServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WebSocketServer.class.getName());
    static final String IDLE_HANDLER = "idle";
    static final int HTTP_IDLE_SECONDS = 30;
    static final int MAX_HANDSHAKE_BYTES = 16 * 1024;

    /** Counters, readable from any thread. */
    public static final class Stats {
        public final AtomicLong httpRequests = new AtomicLong();
        public final AtomicLong accepted = new AtomicLong();
        public final AtomicLong refusedOrigin = new AtomicLong();
        public final AtomicLong refusedFull = new AtomicLong();
        public final AtomicLong refusedBadRequest = new AtomicLong();
        public final AtomicLong closedSlow = new AtomicLong();

        @Override
        public String toString() {
            return "ws http=" + httpRequests + " accepted=" + accepted + " refused origin=" + refusedOrigin + " full="
                    + refusedFull + " bad=" + refusedBadRequest + " closedSlow=" + closedSlow;
        }
    }

    private final WebSocketServerOptions options;
    private final OriginPolicy originPolicy;
    private final NetworkConfig networkConfig;
    private final Stats stats = new Stats();
    private final AtomicInteger slots = new AtomicInteger();
    private final Set<WsGuestLink> links = ConcurrentHashMap.newKeySet();
    private final List<Consumer<VirtualNetwork>> listeners = new CopyOnWriteArrayList<>();
    private final List<VirtualNetwork> live = new ArrayList<>(); // guarded by this; oldest first
    private VirtualNetwork current; // guarded by this
    private VirtualNetwork shared;
    private Channel serverChannel;
    private volatile boolean closed;

    public WebSocketServer(WebSocketServerOptions options) {
        this.options = options;
        this.originPolicy = new OriginPolicy(options.allowedOrigins());
        this.networkConfig =
                options.config().toBuilder().firstGuestGetsGuestIp(true).build();
    }

    /** Binds the port; throws IOException (with the address in the message) when it cannot. */
    public synchronized WebSocketServer start() throws IOException {
        if (serverChannel != null || closed) {
            throw new IllegalStateException("WebSocketServer already started or closed");
        }
        if (options.sharedNetwork()) {
            shared = VirtualNetwork.create(networkConfig, options.host(), options.pcap());
        }
        int bound = options.writeBufferBound();
        ServerBootstrap b = new ServerBootstrap()
                .group(options.host().group())
                .channel(options.host().serverSocketChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(bound / 2, bound))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline()
                                .addLast(IDLE_HANDLER, new ReadTimeoutHandler(HTTP_IDLE_SECONDS, TimeUnit.SECONDS))
                                .addLast("http", new HttpServerCodec())
                                .addLast("aggregator", new HttpObjectAggregator(MAX_HANDSHAKE_BYTES))
                                .addLast("entry", new HttpEntryHandler(WebSocketServer.this));
                    }
                });
        ChannelFuture f = b.bind(options.bindAddress()).awaitUninterruptibly();
        if (!f.isSuccess()) {
            if (shared != null) {
                shared.close();
                shared = null;
            }
            throw new IOException(
                    "cannot listen for WebSocket guests on " + options.bindAddress() + ": "
                            + f.cause().getMessage(),
                    f.cause());
        }
        serverChannel = f.channel();
        LOG.log(
                System.Logger.Level.INFO,
                "listening for WebSocket guests on ws://" + format(boundAddress()) + "/ ("
                        + (options.sharedNetwork() ? "one shared network" : "one network per connection") + ")");
        if (shared != null) {
            setCurrent(shared);
        }
        return this;
    }

    /** The address actually bound (useful with port 0). */
    public InetSocketAddress boundAddress() {
        Channel c = serverChannel;
        if (c == null) {
            throw new IllegalStateException("not started");
        }
        return (InetSocketAddress) c.localAddress();
    }

    public WebSocketServerOptions options() {
        return options;
    }

    public Stats stats() {
        return stats;
    }

    /** WebSocket connections open now (handshakes in progress included). */
    public int connectionCount() {
        return slots.get();
    }

    /**
     * The network port forwards should reach: the most recently connected guest's network that is still
     * open (the shared network in shared mode), or null when no guest is connected.
     */
    public synchronized VirtualNetwork currentNetwork() {
        return current;
    }

    /** Open per-connection networks, oldest first (in shared mode: the shared network). */
    public synchronized List<VirtualNetwork> liveNetworks() {
        if (shared != null) {
            return List.of(shared);
        }
        return List.copyOf(live);
    }

    /**
     * Calls {@code listener} with the new {@link #currentNetwork()} (null when none) every time it changes,
     * in the order of the changes, on the thread that made them (an event loop) while holding this
     * server's lock: do not block, and do not call {@link #close()} from it.
     */
    public void addNetworkListener(Consumer<VirtualNetwork> listener) {
        listeners.add(listener);
    }

    public void removeNetworkListener(Consumer<VirtualNetwork> listener) {
        listeners.remove(listener);
    }

    /** Closes the port, every connection and every network it made. */
    @Override
    public void close() {
        Channel sc;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            sc = serverChannel;
        }
        if (sc != null) {
            sc.close().awaitUninterruptibly();
        }
        // Connections being handed over right now see `closed` in openGuestLink and close themselves.
        for (WsGuestLink l : List.copyOf(links)) {
            l.channel().close().awaitUninterruptibly();
        }
        VirtualNetwork s;
        synchronized (this) {
            s = shared;
        }
        if (s != null) {
            s.close();
        }
        setCurrent(null);
    }

    // ---- used by HttpEntryHandler ----

    OriginPolicy originPolicy() {
        return originPolicy;
    }

    byte[] caPem() {
        return options.caPem() == null ? null : options.caPem().get();
    }

    boolean tryReserveSlot() {
        while (true) {
            int n = slots.get();
            if (n >= options.maxConnections() || closed) {
                return false;
            }
            if (slots.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    void releaseSlot() {
        slots.decrementAndGet();
    }

    /**
     * Called on the channel's loop right after the 101 response was written: replaces the HTTP handler
     * with the WebSocket one and attaches the connection to its network. The reserved slot is released,
     * and the network closed, when the channel closes.
     */
    void openGuestLink(ChannelHandlerContext entryCtx, WebSocketServerHandshaker hs, String origin) {
        Channel ch = entryCtx.channel();
        VirtualNetwork net = options.sharedNetwork()
                ? shared
                : VirtualNetwork.create(networkConfig, options.host(), ch.eventLoop(), options.pcap());
        WsGuestLink link = new WsGuestLink(this, ch, net);
        ChannelPipeline p = ch.pipeline();
        p.replace(entryCtx.name(), "ws-frames", new WsFrameHandler(hs));
        p.addLast("qemu-stream", new QemuFrameDecoder(networkConfig.maxFrameSize()));
        p.addLast("guest", link);
        link.attach();
        links.add(link);
        stats.accepted.incrementAndGet();
        if (!options.sharedNetwork()) {
            synchronized (this) {
                live.add(net);
                setCurrent(net);
            }
        }
        LOG.log(
                System.Logger.Level.INFO,
                "WebSocket guest connected from " + ch.remoteAddress()
                        + (origin == null ? "" : " (page " + HttpEntryHandler.printable(origin) + ")")
                        + (options.sharedNetwork() ? " to the shared network" : " on its own network")
                        + "; " + slots.get() + " open");
        ch.closeFuture().addListener(f -> linkClosed(link));
        if (closed) {
            ch.close();
        }
    }

    private void linkClosed(WsGuestLink link) {
        if (!links.remove(link)) {
            return;
        }
        boolean own = !options.sharedNetwork();
        link.detach(own);
        releaseSlot();
        if (own) {
            synchronized (this) {
                live.remove(link.network());
                setCurrent(live.isEmpty() ? null : live.get(live.size() - 1));
            }
        }
        LOG.log(
                System.Logger.Level.INFO,
                "WebSocket guest " + link.channel().remoteAddress() + " disconnected; " + slots.get() + " open");
    }

    /** Listeners run under the lock, so they see changes in the order they happened. */
    private synchronized void setCurrent(VirtualNetwork net) {
        if (current == net) {
            return;
        }
        current = net;
        for (Consumer<VirtualNetwork> l : listeners) {
            try {
                l.accept(net);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "network listener failed: " + e);
            }
        }
    }

    private static String format(InetSocketAddress a) {
        String h = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }
}
