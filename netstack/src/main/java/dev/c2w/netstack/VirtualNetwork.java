package dev.c2w.netstack;

import dev.c2w.netstack.gateway.Gateway;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.lan.Switch;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.netstack.services.dhcp.DhcpServer;
import dev.c2w.netstack.services.dns.DnsForwarder;
import dev.c2w.netstack.services.dns.DnsTcpHandler;
import dev.c2w.netstack.services.dns.DnsUdpEndpoint;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

/**
 * One virtual network built from a {@link NetworkConfig}: a switch that guests attach to, and a gateway
 * (ARP, ICMP, DHCP, DNS, TCP/UDP NAT to the host, in-process TCP services on virtual IPs).
 * The DHCP server and the DNS forwarder (UDP and TCP) are installed when the network is built.
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

    private VirtualNetwork(NetworkConfig config, HostTransport host, EventLoop loop, PcapWriter pcap) {
        this.config = config;
        this.host = host;
        this.loop = loop;
        this.lanSwitch = new Switch(config, loop, stats, pcap);
        this.gateway = new Gateway(config, host, loop, stats, lanSwitch);
        lanSwitch.setGateway(gateway);
        // the gateway's standard services: DHCP on :67 (any gateway address or broadcast), DNS on gateway:53
        this.dhcp = new DhcpServer(config);
        gateway.bindUdp(0, DhcpServer.SERVER_PORT, dhcp);
        DnsForwarder dns = new DnsForwarder(config, loop, host, stats, gateway.alloc());
        gateway.bindUdp(config.gatewayIp(), DnsUdpEndpoint.PORT, new DnsUdpEndpoint(dns));
        gateway.tcp().listen(config.gatewayIp(), DnsUdpEndpoint.PORT, DnsTcpHandler.initializer(dns));
        for (NetworkConfig.TcpService svc : config.tcpServices()) {
            gateway.tcp().listen(svc.ip(), svc.port(), svc.handler());
        }
    }

    private final DhcpServer dhcp;

    /** The DHCP server (its lease table is for logs and tests; use it on the loop). */
    public DhcpServer dhcp() { return dhcp; }

    /** A network on the next event loop of {@code host}; {@code pcap} may be null. Does not open host ports. */
    public static VirtualNetwork create(NetworkConfig config, HostTransport host, PcapWriter pcap) {
        return new VirtualNetwork(config, host, host.group().next(), pcap);
    }

    /** A network on {@code loop} (one of {@code host}'s loops), e.g. the loop of the connection it serves. */
    public static VirtualNetwork create(NetworkConfig config, HostTransport host, EventLoop loop, PcapWriter pcap) {
        return new VirtualNetwork(config, host, loop, pcap);
    }

    public NetworkConfig config() { return config; }

    public EventLoop eventLoop() { return loop; }

    public HostTransport host() { return host; }

    public NetStats stats() { return stats; }

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
        run(() -> gateway.tcp().listen(ip, port, childHandler));
    }

    /**
     * Opens a TCP connection from the gateway into the guest at {@code guestIp:port} (port forwards).
     * The future completes with the connected channel, whose pipeline gets {@code handler}, or fails
     * when the guest refuses or does not answer.
     */
    public Future<Channel> connectToGuest(int guestIp, int port, ChannelHandler handler) {
        io.netty.util.concurrent.Promise<Channel> p = loop.newPromise();
        run(() -> gateway.tcp().connectToGuest(guestIp, port, handler, p));
        return p;
    }

    private volatile boolean closed;

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Frees every flow, lease, buffer and port this network holds. */
    @Override
    public void close() {
        closed = true;
        run(() -> {
            gateway.close();
            lanSwitch.close();
        });
    }

    private void run(Runnable r) {
        if (loop.inEventLoop()) {
            r.run();
        } else {
            loop.execute(r);
        }
    }

    /** For tests and tools: the gateway (must be used on the loop). */
    public Gateway gateway() { return gateway; }
}
