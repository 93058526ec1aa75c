package dev.c2w.netstack.gateway;

import dev.c2w.netstack.NetStats;
import dev.c2w.netstack.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.ip.IpOutput;
import dev.c2w.netstack.lan.Switch;
import dev.c2w.netstack.link.Frames;
import dev.c2w.netstack.nat.TcpNat;
import dev.c2w.netstack.nat.UdpNat;
import dev.c2w.netstack.services.UdpContext;
import dev.c2w.netstack.services.UdpEndpoint;
import dev.c2w.netstack.tcp.TcpStack;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;

import java.util.Arrays;

/*
 * The gateway: the one host on the LAN that is not a guest. It owns 192.168.127.1 and the virtual IPs
 * (192.168.127.253 for the proxy, 192.168.127.254 for the host's loopback) and routes everything else.
 *
 * Input path (frames addressed to the gateway MAC, or broadcast):
 *   ARP      answer requests for addresses the gateway owns; learn the sender's IP-to-MAC mapping.
 *   IPv4     validate (version, lengths from the header not the frame, header checksum); fragments are
 *            dropped and counted (guests use path MTU 1500 and DF, so this never happens in practice);
 *            learn the sender's MAC; then by protocol:
 *     ICMP   echo requests to gateway addresses get replies; nothing is forged for other hosts.
 *     UDP    bound services (DHCP :67, DNS 192.168.127.1:53) first, then UDP NAT to the host.
 *     TCP    the TCP endpoint (tcp/), which gives in-process listeners and TCP NAT their connections.
 * Output path: frames built here carry Frames.HEADROOM, an Ethernet and IPv4 header written in place,
 * and go to the switch, which finds the guest port by destination MAC.
 *
 * The ARP table covers the /24 subnet as a plain array indexed by the last octet, so lookups allocate nothing.
 */

/** The gateway; see the comment above. Event-loop confined. */
public final class Gateway implements UdpContext, IpOutput {
    private static final System.Logger LOG = System.getLogger(Gateway.class.getName());

    private final NetworkConfig config;
    private final HostTransport host;
    private final EventLoop loop;
    private final NetStats stats;
    private final Switch lan;
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private final long[] arp = new long[256];
    private final LongObjectHashMap<UdpEndpoint> udpEndpoints = new LongObjectHashMap<>();
    private final TcpStack tcp;
    private final UdpNat udpNat;
    private int ipId;
    private boolean closed;

    public Gateway(NetworkConfig config, HostTransport host, EventLoop loop, NetStats stats, Switch lan) {
        this.config = config;
        this.host = host;
        this.loop = loop;
        this.stats = stats;
        this.lan = lan;
        Arrays.fill(arp, MacAddress.NONE);
        this.tcp = new TcpStack(this, config, loop, stats, alloc, new TcpNat(this), System::nanoTime);
        this.udpNat = new UdpNat(this);
    }

    @Override public NetworkConfig config() { return config; }
    @Override public EventLoop eventLoop() { return loop; }
    @Override public ByteBufAllocator alloc() { return alloc; }
    @Override public HostTransport host() { return host; }
    @Override public NetStats stats() { return stats; }

    public TcpStack tcp() { return tcp; }

    public UdpNat udpNat() { return udpNat; }

    /** Binds a UDP service on {@code ip:port}; ip 0 means every address the gateway receives on, broadcast included. */
    public void bindUdp(int ip, int port, UdpEndpoint endpoint) {
        udpEndpoints.put(udpKey(ip, port), endpoint);
    }

    private static long udpKey(int ip, int port) {
        return ((ip & 0xffffffffL) << 16) | port;
    }

    // ------------------------------------------------------------------------------------------ input

    /** A frame from the LAN addressed to the gateway MAC, or broadcast/multicast. Takes ownership. */
    public void receive(ByteBuf frame, long srcMac) {
        try {
            if (closed) {
                return;
            }
            switch (Ethernet.type(frame)) {
                case Ethernet.TYPE_ARP -> receiveArp(frame, srcMac);
                case Ethernet.TYPE_IPV4 -> {
                    receiveIpv4(frame, srcMac);
                    frame = null; // ownership passed
                }
                default -> { } // IPv6 and others: not routed
            }
        } finally {
            if (frame != null) {
                frame.release();
            }
        }
    }

    private void receiveArp(ByteBuf f, long srcMac) {
        int off = f.readerIndex() + Ethernet.HEADER;
        if (f.writerIndex() - off < 28) {
            stats.droppedMalformed++;
            return;
        }
        // htype 1, ptype IPv4, hlen 6, plen 4
        if (f.getUnsignedShort(off) != 1 || f.getUnsignedShort(off + 2) != Ethernet.TYPE_IPV4
            || f.getUnsignedByte(off + 4) != 6 || f.getUnsignedByte(off + 5) != 4) {
            stats.droppedMalformed++;
            return;
        }
        int op = f.getUnsignedShort(off + 6);
        long senderMac = MacAddress.read(f, off + 8);
        int senderIp = f.getInt(off + 14);
        int targetIp = f.getInt(off + 24);
        if (senderIp != 0) {
            learn(senderIp, senderMac);
        }
        if (op != 1 || !config.isGatewayAddress(targetIp)) {
            return;
        }
        sendArp(2, senderMac, targetIp, senderMac, senderIp);
    }

    /** Sends an ARP packet from the gateway MAC: {@code op} 1 request, 2 reply. */
    private void sendArp(int op, long dstMac, int senderIp, long targetMac, int targetIp) {
        ByteBuf r = Frames.allocate(alloc, Ethernet.HEADER + 28);
        Ethernet.writeHeader(r, dstMac, config.gatewayMac(), Ethernet.TYPE_ARP);
        int o = r.writerIndex();
        r.ensureWritable(28);
        r.setShort(o, 1);
        r.setShort(o + 2, Ethernet.TYPE_IPV4);
        r.setByte(o + 4, 6);
        r.setByte(o + 5, 4);
        r.setShort(o + 6, op);
        MacAddress.write(r, o + 8, config.gatewayMac());
        r.setInt(o + 14, senderIp);
        MacAddress.write(r, o + 18, targetMac);
        r.setInt(o + 24, targetIp);
        r.writerIndex(o + 28);
        lan.sendFromGateway(r);
    }

    private void learn(int ip, long mac) {
        if (config.inSubnet(ip) && !MacAddress.isMulticast(mac)) {
            int i = ip & 0xff;
            arp[i] = mac;
            java.util.ArrayDeque<ByteBuf> q = arpPending[i];
            if (q != null) {
                arpPending[i] = null;
                ByteBuf b;
                while ((b = q.poll()) != null) {
                    MacAddress.write(b, b.readerIndex(), mac);
                    lan.sendFromGateway(b);
                }
            }
        }
    }

    /** Packets waiting for an ARP answer, per last octet; at most ARP_QUEUE each, dropped after a second. */
    @SuppressWarnings("unchecked")
    private final java.util.ArrayDeque<ByteBuf>[] arpPending = new java.util.ArrayDeque[256];
    private static final int ARP_QUEUE = 16;

    private void holdForArp(int dst, ByteBuf b) {
        int i = dst & 0xff;
        java.util.ArrayDeque<ByteBuf> q = arpPending[i];
        if (q == null) {
            q = new java.util.ArrayDeque<>();
            arpPending[i] = q;
            java.util.ArrayDeque<ByteBuf> mine = q;
            loop.schedule(() -> {
                if (arpPending[i] == mine) {
                    arpPending[i] = null;
                    ByteBuf x;
                    while ((x = mine.poll()) != null) {
                        stats.droppedNoRoute++;
                        x.release();
                    }
                }
            }, 1, java.util.concurrent.TimeUnit.SECONDS);
            sendArpRequest(dst);
        }
        if (q.size() >= ARP_QUEUE) {
            stats.droppedNoRoute++;
            b.release();
        } else {
            q.add(b);
        }
    }

    /** Whether the link towards guest {@code ip} takes frames now. */
    @Override
    public boolean linkWritable(int ip, long mac) {
        long m = mac != MacAddress.NONE ? mac : macOf(ip);
        return m == MacAddress.NONE || lan.isWritable(m);
    }

    /** The MAC learned for a guest IP, or {@link MacAddress#NONE}. */
    @Override
    public long macOf(int ip) {
        return config.inSubnet(ip) ? arp[ip & 0xff] : MacAddress.NONE;
    }

    /** A port left the LAN: forget the addresses learned for its MAC. */
    public void forgetMac(long mac) {
        for (int i = 0; i < arp.length; i++) {
            if (arp[i] == mac) {
                arp[i] = MacAddress.NONE;
            }
        }
    }

    private void receiveIpv4(ByteBuf f, long srcMac) {
        int off = f.readerIndex() + Ethernet.HEADER;
        int v = Ipv4.validate(f, off, f.writerIndex() - off);
        if (v != Ipv4.OK) {
            if (v == Ipv4.BAD_CHECKSUM) {
                stats.droppedChecksum++;
            } else {
                stats.droppedMalformed++;
            }
            f.release();
            return;
        }
        if (Ipv4.isFragment(f, off)) {
            stats.droppedFragments++;
            f.release();
            return;
        }
        int ihl = Ipv4.headerLength(f, off);
        int total = Ipv4.totalLength(f, off);
        int src = Ipv4.src(f, off);
        int dst = Ipv4.dst(f, off);
        if (src != 0) {
            learn(src, srcMac);
        }
        int l4 = off + ihl;
        int l4len = total - ihl;
        switch (Ipv4.protocol(f, off)) {
            case Ipv4.PROTO_TCP -> tcp.receive(f, off, l4, l4len, src, dst);
            case Ipv4.PROTO_UDP -> {
                try {
                    receiveUdp(f, off, l4, l4len, src, dst, srcMac);
                } finally {
                    f.release();
                }
            }
            case Ipv4.PROTO_ICMP -> {
                try {
                    receiveIcmp(f, l4, l4len, src, dst, srcMac);
                } finally {
                    f.release();
                }
            }
            default -> f.release();
        }
    }

    private void receiveIcmp(ByteBuf f, int off, int len, int src, int dst, long srcMac) {
        if (len < 8) {
            stats.droppedMalformed++;
            return;
        }
        if (Checksum.compute(f, off, len) != 0) {
            stats.droppedChecksum++;
            return;
        }
        int type = f.getUnsignedByte(off);
        if (type != 8 || !config.isGatewayAddress(dst)) {
            return; // only echo requests to our own addresses; no forged replies for other hosts
        }
        ByteBuf r = newIpPacket(len);
        int o = r.writerIndex();
        r.ensureWritable(len);
        r.setBytes(o, f, off, len);
        r.setByte(o, 0); // echo reply
        r.setShort(o + 2, 0);
        r.setShort(o + 2, Checksum.compute(r, o, len));
        r.writerIndex(o + len);
        sendIp(r, Ipv4.PROTO_ICMP, dst, src, srcMac);
    }

    private void receiveUdp(ByteBuf f, int ipOff, int off, int len, int src, int dst, long srcMac) {
        if (len < 8) {
            stats.droppedMalformed++;
            return;
        }
        int udpLen = f.getUnsignedShort(off + 4);
        if (udpLen < 8 || udpLen > len) {
            stats.droppedMalformed++;
            return;
        }
        int csum = f.getUnsignedShort(off + 6);
        if (csum != 0) {
            long sum = Checksum.pseudoHeader(src, dst, Ipv4.PROTO_UDP, udpLen);
            if (Checksum.finish(Checksum.add(sum, f, off, udpLen)) != 0) {
                stats.droppedChecksum++;
                return;
            }
        }
        int srcPort = f.getUnsignedShort(off);
        int dstPort = f.getUnsignedShort(off + 2);
        UdpEndpoint ep = udpEndpoints.get(udpKey(dst, dstPort));
        if (ep == null) {
            ep = udpEndpoints.get(udpKey(0, dstPort));
            if (ep != null && !(dst == Ipv4Address.BROADCAST || config.isGatewayAddress(dst) || dst == config.broadcastIp())) {
                ep = null;
            }
        }
        ByteBuf payload = f.slice(off + 8, udpLen - 8);
        if (ep != null) {
            ep.onDatagram(this, srcMac, src, srcPort, dst, dstPort, payload);
            return;
        }
        if (dst == Ipv4Address.BROADCAST || dst == config.broadcastIp() || (dst >>> 28) == 0xe) {
            return; // broadcast/multicast nobody listens to
        }
        if (config.netMode() == NetworkConfig.NetMode.FETCH
            || (config.inSubnet(dst) && dst != config.hostLoopbackIp())) {
            sendIcmpUnreachable(f, ipOff, 3, srcMac);
            return;
        }
        udpNat.send(srcMac, src, srcPort, dst, dstPort, payload);
    }

    // ----------------------------------------------------------------------------------------- output

    /** A frame buffer with room for Ethernet and IPv4 headers; its writer index is at the IP payload. */
    @Override
    public ByteBuf newIpPacket(int payloadLength) {
        ByteBuf b = Frames.allocate(alloc, Ethernet.HEADER + Ipv4.MIN_HEADER + payloadLength);
        b.writerIndex(b.readerIndex() + Ethernet.HEADER + Ipv4.MIN_HEADER);
        return b;
    }

    /** Offset of the IP payload in a buffer from {@link #newIpPacket}. */
    public static int payloadOffset(ByteBuf b) {
        return b.readerIndex() + Ethernet.HEADER + Ipv4.MIN_HEADER;
    }

    /**
     * Fills in the Ethernet and IPv4 headers of a packet built with {@link #newIpPacket} and sends it to
     * the guest. {@code dstMac} NONE looks the destination up in the ARP table.
     */
    @Override
    public void sendIp(ByteBuf b, int protocol, int src, int dst, long dstMac) {
        boolean unresolved = false;
        if (dstMac == MacAddress.NONE) {
            dstMac = macOf(dst);
            if (dstMac == MacAddress.NONE) {
                if (dst == Ipv4Address.BROADCAST || dst == config.broadcastIp()) {
                    dstMac = MacAddress.BROADCAST;
                } else if (!config.inSubnet(dst)) {
                    stats.droppedNoRoute++;
                    b.release();
                    return;
                } else {
                    unresolved = true;
                }
            }
        }
        int ri = b.readerIndex();
        MacAddress.write(b, ri, dstMac);
        MacAddress.write(b, ri + 6, config.gatewayMac());
        b.setShort(ri + 12, Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(b, ri + Ethernet.HEADER, b.writerIndex() - ri - Ethernet.HEADER, ipId++, protocol, src, dst);
        if (unresolved) {
            holdForArp(dst, b);
            return;
        }
        lan.sendFromGateway(b);
    }

    private void sendArpRequest(int targetIp) {
        sendArp(1, MacAddress.BROADCAST, config.gatewayIp(), 0, targetIp);
    }

    @Override
    public void sendToGuest(int srcIp, int srcPort, int dstIp, int dstPort, long dstMac, ByteBuf payload) {
        try {
            int len = 8 + payload.readableBytes();
            ByteBuf b = newIpPacket(len);
            int o = b.writerIndex();
            b.ensureWritable(len);
            b.setShort(o, srcPort);
            b.setShort(o + 2, dstPort);
            b.setShort(o + 4, len);
            b.setShort(o + 6, 0);
            b.setBytes(o + 8, payload, payload.readerIndex(), payload.readableBytes());
            long sum = Checksum.pseudoHeader(srcIp, dstIp, Ipv4.PROTO_UDP, len);
            int c = Checksum.finish(Checksum.add(sum, b, o, len));
            b.setShort(o + 6, c == 0 ? 0xffff : c);
            b.writerIndex(o + len);
            sendIp(b, Ipv4.PROTO_UDP, srcIp, dstIp, dstMac);
        } finally {
            payload.release();
        }
    }

    /** ICMP destination unreachable (type 3) with {@code code}, quoting the offending packet's header + 8 bytes. */
    public void sendIcmpUnreachable(ByteBuf orig, int ipOff, int code, long dstMac) {
        int quote = Math.min(Ipv4.headerLength(orig, ipOff) + 8, Ipv4.totalLength(orig, ipOff));
        int src = Ipv4.src(orig, ipOff);
        int dst = Ipv4.dst(orig, ipOff);
        int len = 8 + quote;
        ByteBuf b = newIpPacket(len);
        int o = b.writerIndex();
        b.ensureWritable(len);
        b.setLong(o, (3L << 56) | ((long) code << 48));
        b.setBytes(o + 8, orig, ipOff, quote);
        b.setShort(o + 2, Checksum.compute(b, o, len));
        b.writerIndex(o + len);
        // from the address the guest tried to reach when it is ours, else from the gateway
        sendIp(b, Ipv4.PROTO_ICMP, config.isGatewayAddress(dst) ? dst : config.gatewayIp(), src, dstMac);
    }

    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        tcp.close();
        udpNat.close();
        for (int i = 0; i < arpPending.length; i++) {
            java.util.ArrayDeque<ByteBuf> q = arpPending[i];
            arpPending[i] = null;
            if (q != null) {
                q.forEach(ByteBuf::release);
            }
        }
        for (UdpEndpoint ep : udpEndpoints.values()) {
            ep.close();
        }
        udpEndpoints.clear();
    }
}
