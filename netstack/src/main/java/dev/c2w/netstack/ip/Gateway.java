package dev.c2w.netstack.ip;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.lan.RouterPort;
import dev.c2w.netstack.lan.Switch;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.Frames;
import dev.c2w.netstack.wire.Arp;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.Icmp;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The IP layer of the gateway, the one host on the LAN that is not a guest. It owns 192.168.127.1 and the
 * virtual IPs (192.168.127.253 for the proxy, 192.168.127.254 for the host's loopback), sits on the
 * switch's router port, and hands transport payloads to the handler registered for their protocol.
 *
 * <p>Input (frames to the gateway MAC, or broadcast):
 * <ul>
 *   <li>ARP: requests for addresses the gateway owns are answered; every sender's IP-to-MAC mapping is
 *       learned.</li>
 *   <li>IPv4: validated (version, lengths from the header not the frame, header checksum); fragments are
 *       dropped and counted (guests use path MTU 1500 and DF, so this never happens in practice); the
 *       sender's MAC is learned; then ICMP is answered here (echo requests to gateway addresses; nothing is
 *       forged for other hosts) and TCP, UDP and whatever else was {@link #register registered} go to their
 *       {@link L4Handler}. A protocol nobody registered is dropped.</li>
 * </ul>
 *
 * <p>Output ({@link IpOutput}): frames carry {@link Frames#HEADROOM}; the Ethernet and IPv4 headers are
 * written in place; a guest whose MAC is not known yet is asked by ARP while up to 16 packets wait for a
 * second. The ARP table covers the /24 subnet as a plain array indexed by the last octet, so lookups
 * allocate nothing. Event-loop confined.
 */
public final class Gateway implements IpOutput {
    /** A transport protocol's input. */
    @FunctionalInterface
    public interface L4Handler {
        /**
         * The IPv4 packet at {@code ipOff} of frame {@code f} (ownership passes) carries {@code len} bytes of
         * this protocol at {@code off}, from {@code src} (behind {@code srcMac}) to {@code dst}.
         */
        void receive(ByteBuf f, int ipOff, int off, int len, int src, int dst, long srcMac);
    }

    private static final int ARP_QUEUE = 16;
    private static final long ARP_WAIT_SECONDS = 1;

    private final NetworkConfig config;
    private final EventLoop loop;
    private final NetStats stats;
    private final ByteBufAllocator alloc;
    private final RouterPort lan;
    private final L4Handler[] handlers = new L4Handler[256];
    private final long[] arp = new long[256];
    /** Packets waiting for an ARP answer, per last octet. */
    @SuppressWarnings("unchecked")
    private final ArrayDeque<ByteBuf>[] arpPending = (ArrayDeque<ByteBuf>[]) new ArrayDeque<?>[256];

    private int ipId;
    private boolean closed;

    /** The gateway on {@code lan}'s router port. */
    public Gateway(NetworkConfig config, EventLoop loop, NetStats stats, ByteBufAllocator alloc, Switch lan) {
        this.config = config;
        this.loop = loop;
        this.stats = stats;
        this.alloc = alloc;
        Arrays.fill(arp, MacAddress.NONE);
        this.lan = lan.attachRouter(
                new FrameSink() {
                    @Override
                    public void sendFrame(ByteBuf frame) {
                        receive(frame);
                    }
                },
                config.gatewayMac());
        lan.addListener(new Switch.Listener() {
            @Override
            public void macLeft(long mac) {
                forgetMac(mac);
            }
        });
    }

    /** Hands IPv4 packets of {@code protocol} to {@code handler}. */
    public void register(int protocol, L4Handler handler) {
        handlers[protocol] = handler;
    }

    // ------------------------------------------------------------------------------------ input

    /** A frame from the LAN addressed to the gateway MAC, or broadcast/multicast. Takes ownership. */
    void receive(ByteBuf frame) {
        try {
            if (closed) {
                return;
            }
            long srcMac = Ethernet.src(frame);
            switch (Ethernet.type(frame)) {
                case Ethernet.TYPE_ARP -> receiveArp(frame);
                case Ethernet.TYPE_IPV4 -> {
                    receiveIpv4(frame, srcMac);
                    frame = null; // ownership passed
                }
                default -> {} // IPv6 and others: not routed
            }
        } finally {
            if (frame != null) {
                frame.release();
            }
        }
    }

    private void receiveArp(ByteBuf f) {
        int off = f.readerIndex() + Ethernet.HEADER;
        if (f.writerIndex() - off < Arp.LENGTH || !Arp.isEthernetIpv4(f, off)) {
            stats.droppedMalformed++;
            return;
        }
        long senderMac = Arp.senderMac(f, off);
        int senderIp = Arp.senderIp(f, off);
        int targetIp = Arp.targetIp(f, off);
        if (senderIp != 0) {
            learn(senderIp, senderMac);
        }
        if (Arp.op(f, off) != Arp.OP_REQUEST || !config.isGatewayAddress(targetIp)) {
            return;
        }
        // the reply's sender is the address asked for, its target the asker
        sendArp(Arp.OP_REPLY, senderMac, /* senderIp= */ targetIp, senderMac, /* targetIp= */ senderIp);
    }

    private void sendArp(int op, long dstMac, int senderIp, long targetMac, int targetIp) {
        ByteBuf r = Frames.allocate(alloc, Ethernet.HEADER + Arp.LENGTH);
        Ethernet.writeHeader(r, dstMac, config.gatewayMac(), Ethernet.TYPE_ARP);
        int o = r.writerIndex();
        r.ensureWritable(Arp.LENGTH);
        Arp.write(r, o, op, config.gatewayMac(), senderIp, targetMac, targetIp);
        r.writerIndex(o + Arp.LENGTH);
        lan.receiveFrame(r);
    }

    private void learn(int ip, long mac) {
        if (config.inSubnet(ip) && !MacAddress.isMulticast(mac)) {
            int i = ip & 0xff;
            arp[i] = mac;
            ArrayDeque<ByteBuf> q = arpPending[i];
            if (q != null) {
                arpPending[i] = null;
                ByteBuf b;
                while ((b = q.poll()) != null) {
                    MacAddress.write(b, b.readerIndex(), mac);
                    lan.receiveFrame(b);
                }
            }
        }
    }

    private void holdForArp(int dst, ByteBuf b) {
        int i = dst & 0xff;
        ArrayDeque<ByteBuf> q = arpPending[i];
        if (q == null) {
            q = new ArrayDeque<>();
            arpPending[i] = q;
            ArrayDeque<ByteBuf> mine = q;
            loop.schedule(
                    () -> {
                        if (arpPending[i] == mine) {
                            arpPending[i] = null;
                            ByteBuf x;
                            while ((x = mine.poll()) != null) {
                                stats.droppedNoRoute++;
                                x.release();
                            }
                        }
                    },
                    ARP_WAIT_SECONDS,
                    TimeUnit.SECONDS);
            sendArp(Arp.OP_REQUEST, MacAddress.BROADCAST, config.gatewayIp(), 0, dst);
        }
        if (q.size() >= ARP_QUEUE) {
            stats.droppedNoRoute++;
            b.release();
        } else {
            q.add(b);
        }
    }

    @Override
    public boolean linkWritable(int ip, long mac) {
        long m = mac != MacAddress.NONE ? mac : macOf(ip);
        return m == MacAddress.NONE || lan.isWritable(m);
    }

    @Override
    public long macOf(int ip) {
        return config.inSubnet(ip) ? arp[ip & 0xff] : MacAddress.NONE;
    }

    /** A port left the LAN: forget the addresses learned for its MAC. */
    private void forgetMac(long mac) {
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
        int protocol = Ipv4.protocol(f, off);
        if (protocol == Ipv4.PROTO_ICMP) {
            try {
                receiveIcmp(f, off + ihl, total - ihl, src, dst, srcMac);
            } finally {
                f.release();
            }
            return;
        }
        L4Handler h = handlers[protocol];
        if (h == null) {
            f.release();
            return;
        }
        h.receive(f, off, off + ihl, total - ihl, src, dst, srcMac);
    }

    private void receiveIcmp(ByteBuf f, int off, int len, int src, int dst, long srcMac) {
        if (len < Icmp.HEADER) {
            stats.droppedMalformed++;
            return;
        }
        if (!Icmp.valid(f, off, len)) {
            stats.droppedChecksum++;
            return;
        }
        if (Icmp.type(f, off) != Icmp.ECHO_REQUEST || !config.isGatewayAddress(dst)) {
            return; // only echo requests to our own addresses; no forged replies for other hosts
        }
        ByteBuf r = newIpPacket(len);
        r.ensureWritable(len);
        Icmp.writeEchoReply(r, r.writerIndex(), f, off, len);
        sendIp(r, Ipv4.PROTO_ICMP, /* src= */ dst, /* dst= */ src, srcMac); // the reply goes back
    }

    // ----------------------------------------------------------------------------------- output

    @Override
    public ByteBuf newIpPacket(int payloadLength) {
        ByteBuf b = Frames.allocate(alloc, Ethernet.HEADER + Ipv4.MIN_HEADER + payloadLength);
        b.writerIndex(b.readerIndex() + Ethernet.HEADER + Ipv4.MIN_HEADER);
        return b;
    }

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
        lan.receiveFrame(b);
    }

    @Override
    public void sendIcmpUnreachable(ByteBuf orig, int ipOff, int code, long dstMac) {
        int src = Ipv4.src(orig, ipOff);
        int dst = Ipv4.dst(orig, ipOff);
        int len = Icmp.unreachableLength(orig, ipOff);
        ByteBuf b = newIpPacket(len);
        b.ensureWritable(len);
        Icmp.writeUnreachable(b, b.writerIndex(), code, orig, ipOff);
        // from the address the guest tried to reach when it is ours, else from the gateway
        sendIp(b, Ipv4.PROTO_ICMP, config.isGatewayAddress(dst) ? dst : config.gatewayIp(), src, dstMac);
    }

    /** Drops what waits for ARP; nothing is received after this. */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = 0; i < arpPending.length; i++) {
            ArrayDeque<ByteBuf> q = arpPending[i];
            arpPending[i] = null;
            if (q != null) {
                q.forEach(ByteBuf::release);
            }
        }
    }
}
