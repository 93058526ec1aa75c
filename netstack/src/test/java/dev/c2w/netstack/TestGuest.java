package dev.c2w.netstack;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A guest simulated at the frame level for tests: builds Ethernet/IPv4/TCP/UDP/ICMP frames, hands them to
 * a switch port on the network's event loop, and collects what the stack sends back (as byte arrays).
 */
public final class TestGuest implements FrameSink, AutoCloseable {
    public final VirtualNetwork net;
    public final long mac;
    public int ip;
    public final LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    public volatile int flushes;
    public volatile boolean writable = true;
    private GuestPort port;

    public TestGuest(VirtualNetwork net, long mac, int ip) throws Exception {
        this.net = net;
        this.mac = mac;
        this.ip = ip;
        net.eventLoop().submit(() -> port = net.attach(this)).sync();
    }

    @Override
    public void sendFrame(ByteBuf frame) {
        byte[] b = new byte[frame.readableBytes()];
        frame.getBytes(frame.readerIndex(), b);
        frame.release();
        ByteBuf v = Unpooled.wrappedBuffer(b);
        if (Ethernet.type(v) == Ethernet.TYPE_ARP && v.getUnsignedShort(14 + 6) == 1 && v.getInt(14 + 24) == ip) {
            // answer ARP like a real guest would
            ByteBuf r = Unpooled.buffer(28);
            r.writeShort(1).writeShort(0x0800).writeByte(6).writeByte(4).writeShort(2);
            r.writeBytes(MacAddress.toBytes(mac)).writeInt(ip);
            r.writeBytes(b, 14 + 8, 10);
            byte[] reply = ether(MacAddress.read(v, 6), mac, Ethernet.TYPE_ARP, bytes(r));
            net.eventLoop().execute(() -> port.receiveFrame(Unpooled.wrappedBuffer(reply)));
            return;
        }
        received.add(b);
    }

    @Override
    public void flush() {
        flushes++;
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    /** Makes the link writable again and tells the switch, as a transport does when it drains. */
    public void drain() throws Exception {
        writable = true;
        net.eventLoop().submit(() -> port.linkWritable()).sync();
    }

    public void send(byte[] frame) throws Exception {
        net.eventLoop()
                .submit(() -> port.receiveFrame(Unpooled.wrappedBuffer(frame)))
                .sync();
    }

    /** Hands {@code frame} itself to the stack (which then owns one reference), for tests of buffer ownership. */
    public void send(ByteBuf frame) throws Exception {
        net.eventLoop().submit(() -> port.receiveFrame(frame)).sync();
    }

    /** Next frame for this guest, or null after the timeout. */
    public byte[] next(long millis) throws InterruptedException {
        return received.poll(millis, TimeUnit.MILLISECONDS);
    }

    /** Next frame matching an IP protocol (skips others, e.g. ARP requests), or null. */
    public byte[] nextIp(int protocol, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (true) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                return null;
            }
            byte[] f = next(left);
            if (f == null) {
                return null;
            }
            ByteBuf b = Unpooled.wrappedBuffer(f);
            if (Ethernet.type(b) == Ethernet.TYPE_IPV4 && Ipv4.protocol(b, 14) == protocol) {
                return f;
            }
        }
    }

    @Override
    public void close() {
        net.eventLoop().submit(() -> port.close()).syncUninterruptibly();
    }

    // ------------------------------------------------------------------------- frame builders

    public static byte[] ether(long dst, long src, int type, byte[] payload) {
        ByteBuf b = Unpooled.buffer();
        Ethernet.writeHeader(b, dst, src, type);
        b.writeBytes(payload);
        return bytes(b);
    }

    public static byte[] ipv4(int proto, int src, int dst, byte[] payload) {
        ByteBuf b = Unpooled.buffer(20 + payload.length);
        b.writerIndex(20);
        b.writeBytes(payload);
        Ipv4.writeHeader(b, 0, 20 + payload.length, 1, proto, src, dst);
        return bytes(b);
    }

    public byte[] ipFrame(long dstMac, int proto, int dst, byte[] l4) {
        return ether(dstMac, mac, Ethernet.TYPE_IPV4, ipv4(proto, ip, dst, l4));
    }

    public static byte[] udp(int src, int dst, int srcPort, int dstPort, byte[] data) {
        ByteBuf b = Unpooled.buffer();
        b.writeShort(srcPort)
                .writeShort(dstPort)
                .writeShort(8 + data.length)
                .writeShort(0)
                .writeBytes(data);
        long sum = Checksum.pseudoHeader(src, dst, Ipv4.PROTO_UDP, 8 + data.length);
        int c = Checksum.finish(Checksum.add(sum, b, 0, 8 + data.length));
        b.setShort(6, c == 0 ? 0xffff : c);
        return bytes(b);
    }

    public static byte[] tcp(
            int src,
            int dst,
            int srcPort,
            int dstPort,
            int seq,
            int ack,
            int flags,
            int window,
            byte[] options,
            byte[] data) {
        int hl = 20 + options.length;
        ByteBuf b = Unpooled.buffer();
        b.writeShort(srcPort)
                .writeShort(dstPort)
                .writeInt(seq)
                .writeInt(ack)
                .writeShort(((hl / 4) << 12) | flags)
                .writeShort(window)
                .writeShort(0)
                .writeShort(0)
                .writeBytes(options)
                .writeBytes(data);
        long sum = Checksum.pseudoHeader(src, dst, Ipv4.PROTO_TCP, hl + data.length);
        b.setShort(16, Checksum.finish(Checksum.add(sum, b, 0, hl + data.length)));
        return bytes(b);
    }

    public static byte[] bytes(ByteBuf b) {
        byte[] a = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), a);
        return a;
    }

    public static long gwMac() {
        return NetworkConfig.DEFAULT_GATEWAY_MAC;
    }

    public static long broadcast() {
        return MacAddress.BROADCAST;
    }
}
