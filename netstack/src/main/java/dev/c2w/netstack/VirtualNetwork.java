package dev.c2w.netstack;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.ip.Gateway;
import dev.c2w.netstack.lan.Switch;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.netstack.loop.Loops;
import dev.c2w.netstack.nat.EgressPolicy;
import dev.c2w.netstack.nat.TcpNat;
import dev.c2w.netstack.nat.UdpNat;
import dev.c2w.netstack.services.dhcp.DhcpServer;
import dev.c2w.netstack.services.dns.DnsForwarder;
import dev.c2w.netstack.services.dns.DnsTcpHandler;
import dev.c2w.netstack.services.dns.DnsUdpEndpoint;
import dev.c2w.netstack.tcp.TcpStack;
import dev.c2w.netstack.udp.UdpStack;
import dev.c2w.netstack.wire.Ipv4;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * One virtual network built from a {@link NetworkConfig}, and the only place where its layers are wired:
 *
 * <pre>
 *   guest links ──▶ lan.Switch ──router port──▶ ip.Gateway (ARP, IPv4, ICMP)
 *                                                 ├─ TCP ─▶ tcp.TcpStack ─▶ listeners (DNS, proxy) | nat.TcpNat ─▶ host sockets
 *                                                 └─ UDP ─▶ udp.UdpStack ─▶ services (DHCP, DNS)   | nat.UdpNat ─▶ host sockets
 * </pre>
 *
 * Each layer gets the narrow interface of the one below ({@code IpOutput} for the transports, the switch's
 * router port for the gateway) and tells the one above through a handler table or a listener, so
 * dependencies point one way. {@link EgressPolicy} decides for both NATs where a guest may go.
 *
 * <p>Everything inside runs on one event loop, {@link #eventLoop()}; host sockets opened by the NAT use
 * the same loop. Methods may be called from any thread unless they say otherwise.
 */
public final class VirtualNetwork implements AutoCloseable {
    private final NetworkConfig config;
    private final HostTransport host;
    private final EventLoop loop;
    private final NetStats stats = new NetStats();
    private final Switch lanSwitch;
    private final Gateway gateway;
    private final TcpStack tcp;
    private final UdpStack udp;
    private final DhcpServer dhcp;
    private volatile boolean closed;

    private VirtualNetwork(NetworkConfig config, HostTransport host, EventLoop loop, PcapWriter pcap) {
        this.config = config;
        this.host = host;
        this.loop = loop;
        ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        EgressPolicy egress = new EgressPolicy(config);
        this.lanSwitch = new Switch(config, loop, stats, pcap);
        this.gateway = new Gateway(config, loop, stats, alloc, lanSwitch);
        this.tcp = new TcpStack(
                gateway, config, loop, stats, alloc, new TcpNat(config, loop, host, stats, egress), System::nanoTime);
        this.udp = new UdpStack(gateway, config, loop, stats, alloc, host, ctx -> new UdpNat(ctx, egress));
        gateway.register(
                Ipv4.PROTO_TCP, (f, ipOff, off, len, src, dst, srcMac) -> tcp.receive(f, ipOff, off, len, src, dst));
        gateway.register(Ipv4.PROTO_UDP, udp::receive);
        lanSwitch.addListener(new Switch.Listener() {
            @Override
            public void linkWritable() {
                tcp.linkWritable();
            }
        });
        // the gateway's standard services: DHCP on :67 (any gateway address or broadcast), DNS on gateway:53
        this.dhcp = new DhcpServer(config);
        udp.bind(0, DhcpServer.SERVER_PORT, dhcp);
        DnsForwarder dns = new DnsForwarder(config, loop, host, stats, alloc);
        udp.bind(config.gatewayIp(), DnsUdpEndpoint.PORT, new DnsUdpEndpoint(dns));
        tcp.listen(config.gatewayIp(), DnsUdpEndpoint.PORT, DnsTcpHandler.initializer(dns));
        for (NetworkConfig.TcpService svc : config.tcpServices()) {
            tcp.listen(svc.ip(), svc.port(), svc.handler());
        }
    }

    /** The DHCP server (its lease table is for logs and tests; use it on the loop). */
    public DhcpServer dhcp() {
        return dhcp;
    }

    /** A network on the next event loop of {@code host}; {@code pcap} may be null. Does not open host ports. */
    public static VirtualNetwork create(NetworkConfig config, HostTransport host, PcapWriter pcap) {
        return new VirtualNetwork(config, host, host.group().next(), pcap);
    }

    /** A network on {@code loop} (one of {@code host}'s loops), e.g. the loop of the connection it serves. */
    public static VirtualNetwork create(NetworkConfig config, HostTransport host, EventLoop loop, PcapWriter pcap) {
        return new VirtualNetwork(config, host, loop, pcap);
    }

    public NetworkConfig config() {
        return config;
    }

    public EventLoop eventLoop() {
        return loop;
    }

    public HostTransport host() {
        return host;
    }

    public NetStats stats() {
        return stats;
    }

    /**
     * Attaches a guest link. Must be called on {@link #eventLoop()}. Frames for the guest go to {@code sink};
     * frames from the guest are handed to the returned port.
     */
    public GuestPort attach(FrameSink sink) {
        assert loop.inEventLoop();
        return lanSwitch.attach(sink);
    }

    /**
     * Accepts guest TCP connections to {@code ip:port} (an address the gateway owns, such as the proxy's
     * 192.168.127.253 or the gateway's 192.168.127.1) as in-process Netty channels: each accepted connection
     * is a {@link Channel} on this network's loop whose pipeline gets {@code childHandler}.
     */
    public void listenTcp(int ip, int port, ChannelHandler childHandler) {
        Loops.run(loop, () -> tcp.listen(ip, port, childHandler));
    }

    /**
     * Opens a TCP connection from the gateway into the guest at {@code guestIp:port} (port forwards).
     * The future completes with the connected channel, whose pipeline gets {@code handler}, or fails
     * when the guest refuses or does not answer.
     */
    public Future<Channel> connectToGuest(int guestIp, int port, ChannelHandler handler) {
        Promise<Channel> p = loop.newPromise();
        Loops.run(loop, () -> tcp.connectToGuest(guestIp, port, handler, p));
        return p;
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Frees every flow, lease, buffer and port this network holds. */
    @Override
    public void close() {
        closed = true;
        Loops.run(loop, () -> {
            tcp.close();
            udp.close();
            gateway.close();
            lanSwitch.close();
        });
    }

    /** For tests and tools: the UDP endpoint, to bind services and send datagrams (must be used on the loop). */
    public UdpStack udp() {
        return udp;
    }
}
