package dev.c2w.netstack.udp;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.ip.IpOutput;
import dev.c2w.netstack.services.UdpContext;
import dev.c2w.netstack.services.UdpEndpoint;
import dev.c2w.netstack.wire.Icmp;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.Udp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;
import java.util.function.Function;

/**
 * The UDP endpoint of the gateway: validates guest datagrams and hands each to the service bound to its
 * destination (DHCP on :67 of any gateway address or broadcast, DNS on 192.168.127.1:53, a UDP port
 * forward's return path), or else to the {@link FlowAcceptor} (the NAT). A datagram the NAT refuses, or one
 * to another address of the LAN, is answered with ICMP port unreachable; broadcast and multicast nobody
 * listens to are dropped quietly. It is also the {@link UdpContext} through which services and the NAT send
 * datagrams to guests. Event-loop confined.
 */
public final class UdpStack implements UdpContext {
    /** Takes a datagram nobody inside the network listens for. */
    public interface FlowAcceptor {
        /**
         * A datagram from the guest ({@code payload} borrowed); false when its destination is refused, which
         * the guest learns by ICMP port unreachable.
         */
        boolean datagram(long guestMac, int guestIp, int guestPort, int dstIp, int dstPort, ByteBuf payload);

        default void close() {}
    }

    private final IpOutput ip;
    private final NetworkConfig config;
    private final EventLoop loop;
    private final NetStats stats;
    private final ByteBufAllocator alloc;
    private final HostTransport host;
    private final LongObjectHashMap<UdpEndpoint> endpoints = new LongObjectHashMap<>();
    private final FlowAcceptor acceptor;

    /**
     * A stack sending through {@code ip}; {@code acceptor} builds, from this stack as the context it sends
     * through, what takes datagrams nobody listens for (the NAT).
     */
    public UdpStack(
            IpOutput ip,
            NetworkConfig config,
            EventLoop loop,
            NetStats stats,
            ByteBufAllocator alloc,
            HostTransport host,
            Function<UdpContext, FlowAcceptor> acceptor) {
        this.ip = ip;
        this.config = config;
        this.loop = loop;
        this.stats = stats;
        this.alloc = alloc;
        this.host = host;
        this.acceptor = acceptor.apply(this);
    }

    @Override
    public NetworkConfig config() {
        return config;
    }

    @Override
    public EventLoop eventLoop() {
        return loop;
    }

    @Override
    public ByteBufAllocator alloc() {
        return alloc;
    }

    @Override
    public HostTransport host() {
        return host;
    }

    @Override
    public NetStats stats() {
        return stats;
    }

    private static long key(int ip, int port) {
        return ((ip & 0xffffffffL) << 16) | port;
    }

    /** Binds a service on {@code ip:port}; ip 0 means every address the gateway receives on, broadcast included. */
    public void bind(int ip, int port, UdpEndpoint endpoint) {
        endpoints.put(key(ip, port), endpoint);
    }

    /** A UDP datagram (the IPv4 packet at {@code ipOff} of {@code f}; ownership passes). */
    public void receive(ByteBuf f, int ipOff, int off, int len, int src, int dst, long srcMac) {
        try {
            int v = Udp.validate(f, off, len, src, dst);
            if (v != Udp.OK) {
                if (v == Udp.BAD_CHECKSUM) {
                    stats.droppedChecksum++;
                } else {
                    stats.droppedMalformed++;
                }
                return;
            }
            int srcPort = Udp.srcPort(f, off);
            int dstPort = Udp.dstPort(f, off);
            ByteBuf payload = f.slice(off + Udp.HEADER, Udp.length(f, off) - Udp.HEADER);
            UdpEndpoint ep = endpoints.get(key(dst, dstPort));
            boolean broadcast = dst == Ipv4Address.BROADCAST || dst == config.broadcastIp();
            if (ep == null) {
                ep = endpoints.get(key(0, dstPort));
                if (ep != null && !(broadcast || config.isGatewayAddress(dst))) {
                    ep = null;
                }
            }
            if (ep != null) {
                ep.onDatagram(this, srcMac, src, srcPort, dst, dstPort, payload);
                return;
            }
            if (broadcast || (dst >>> 28) == 0xe) {
                return; // broadcast/multicast nobody listens to
            }
            if (!acceptor.datagram(srcMac, src, srcPort, dst, dstPort, payload)) {
                ip.sendIcmpUnreachable(f, ipOff, Icmp.CODE_PORT_UNREACHABLE, srcMac);
            }
        } finally {
            f.release();
        }
    }

    @Override
    public void sendToGuest(int srcIp, int srcPort, int dstIp, int dstPort, long dstMac, ByteBuf payload) {
        try {
            int n = payload.readableBytes();
            int len = Udp.HEADER + n;
            ByteBuf b = ip.newIpPacket(len);
            int o = b.writerIndex();
            b.ensureWritable(len);
            b.setBytes(o + Udp.HEADER, payload, payload.readerIndex(), n);
            Udp.writeHeader(b, o, srcIp, dstIp, srcPort, dstPort, n);
            ip.sendIp(b, Ipv4.PROTO_UDP, srcIp, dstIp, dstMac);
        } finally {
            payload.release();
        }
    }

    /** Closes the NAT and every bound service. */
    public void close() {
        acceptor.close();
        for (UdpEndpoint ep : endpoints.values()) {
            ep.close();
        }
        endpoints.clear();
    }
}
