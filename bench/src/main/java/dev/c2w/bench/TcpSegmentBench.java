package dev.c2w.bench;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.MacAddress;
import dev.c2w.netstack.wire.Tcp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * TCP segment handling in a whole {@link VirtualNetwork}: a synthetic guest has an established
 * connection to an in-process discard service on the gateway and feeds it in-order data segments
 * (switch → gateway → TCP receive path → pipeline → ACK generation back to the guest port). Each
 * invocation hands {@value #BATCH} segments to the stack in one event-loop task, as one socket read
 * of the QEMU stream would. Score: nanoseconds per segment.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "-XX:+UseSerialGC",
            "-Dio.netty.allocator.numDirectArenas=1",
            "-Dio.netty.allocator.numHeapArenas=1"
        })
public class TcpSegmentBench {
    static final int BATCH = 64;
    static final int GUEST_PORT = 40000;
    static final int SERVICE_PORT = 9;

    @Param({"1460", "65480"})
    int mss;

    HostTransport host;
    VirtualNetwork net;
    GuestPort port;
    final Sink sink = new Sink();
    byte[] template;
    int templateSeq;
    int templateChecksum;
    int tcpOffset;
    int nextSeq;
    long dataSegments;

    /** The guest side: answers ARP, records the highest ACK, releases everything. */
    final class Sink implements FrameSink {
        volatile int lastAck;
        volatile int serverIsn;
        final CountDownLatch synAck = new CountDownLatch(1);
        final int guestIp = NetworkConfig.DEFAULT_GUEST;
        final long guestMac = NetworkConfig.DEFAULT_GUEST_MAC;

        @Override
        public void sendFrame(ByteBuf f) {
            try {
                int type = Ethernet.type(f);
                int base = f.readerIndex();
                if (type == Ethernet.TYPE_ARP
                        && f.getUnsignedShort(base + 14 + 6) == 1
                        && f.getInt(base + 14 + 24) == guestIp) {
                    ByteBuf r = Unpooled.buffer(42);
                    Ethernet.writeHeader(r, MacAddress.read(f, base + 6), guestMac, Ethernet.TYPE_ARP);
                    r.writeShort(1).writeShort(0x0800).writeByte(6).writeByte(4).writeShort(2);
                    r.writeBytes(MacAddress.toBytes(guestMac)).writeInt(guestIp);
                    r.writeBytes(f, base + 14 + 8, 10);
                    net.eventLoop().execute(() -> port.receiveFrame(r));
                    return;
                }
                if (type == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, base + 14) == Ipv4.PROTO_TCP) {
                    int t = base + 14 + Ipv4.headerLength(f, base + 14);
                    int flags = Tcp.flags(f, t);
                    if ((flags & Tcp.SYN) != 0 && (flags & Tcp.ACK) != 0) {
                        serverIsn = Tcp.seq(f, t);
                        synAck.countDown();
                    }
                    if ((flags & Tcp.ACK) != 0) {
                        lastAck = Tcp.ack(f, t);
                    }
                    if ((flags & Tcp.RST) != 0) {
                        throw new IllegalStateException("the stack reset the benchmark connection");
                    }
                }
            } finally {
                ReferenceCountUtil.release(f);
            }
        }
    }

    @ChannelHandler.Sharable
    static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        host = HostTransport.create();
        net = VirtualNetwork.create(NetworkConfig.builder().mtu(mss + 40).build(), host, null);
        net.eventLoop().submit(() -> port = net.attach(sink)).sync();
        int gw = NetworkConfig.DEFAULT_GATEWAY;
        net.listenTcp(gw, SERVICE_PORT, new Discard());
        int isn = 1000;
        // MSS option, NOP, window scale 7
        byte[] synOpts = {2, 4, (byte) (mss >> 8), (byte) mss, 1, 3, 3, 7};
        feed(segment(isn, 0, Tcp.SYN, synOpts, 0));
        if (!sink.synAck.await(5, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no SYN-ACK from the stack");
        }
        int ack = sink.serverIsn + 1;
        nextSeq = isn + 1;
        feed(segment(nextSeq, ack, Tcp.ACK, new byte[0], 0));
        template = bytes(segment(nextSeq, ack, Tcp.ACK, new byte[0], mss));
        templateSeq = nextSeq;
        tcpOffset = 14 + 20;
        templateChecksum = ((template[tcpOffset + 16] & 0xff) << 8) | (template[tcpOffset + 17] & 0xff);
    }

    @TearDown(Level.Iteration)
    public void checkAcked() throws Exception {
        // every segment fed must have been accepted: otherwise the score would count drops
        net.eventLoop().submit(() -> {}).sync();
        Thread.sleep(50);
        int lag = nextSeq - sink.lastAck;
        if (lag > 4 * mss * BATCH) {
            throw new IllegalStateException("the stack fell behind: " + lag + " bytes unacknowledged");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        net.close();
        host.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void inOrderDataSegments() throws Exception {
        int first = nextSeq;
        nextSeq += BATCH * mss;
        net.eventLoop()
                .submit(() -> {
                    ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
                    int seq = first;
                    for (int i = 0; i < BATCH; i++) {
                        ByteBuf f = alloc.directBuffer(template.length);
                        f.writeBytes(template);
                        f.setInt(tcpOffset + 4, seq);
                        f.setShort(tcpOffset + 16, adjustChecksum(templateChecksum, templateSeq, seq));
                        port.receiveFrame(f);
                        seq += mss;
                    }
                })
                .sync();
    }

    /** RFC 1624 incremental update of a checksum when one 32-bit field changes from old to now. */
    static int adjustChecksum(int checksum, int old, int now) {
        long sum = (long) (~checksum & 0xffff)
                + (~(old >>> 16) & 0xffff)
                + (~old & 0xffff)
                + ((now >>> 16) & 0xffff)
                + (now & 0xffff);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        return (int) (~sum & 0xffff);
    }

    private void feed(ByteBuf frame) throws Exception {
        net.eventLoop().submit(() -> port.receiveFrame(frame)).sync();
    }

    private ByteBuf segment(int seq, int ack, int flags, byte[] options, int dataLength) {
        int src = NetworkConfig.DEFAULT_GUEST;
        int dst = NetworkConfig.DEFAULT_GATEWAY;
        int hl = 20 + options.length;
        ByteBuf tcp = Unpooled.buffer(hl + dataLength);
        tcp.writeShort(GUEST_PORT)
                .writeShort(SERVICE_PORT)
                .writeInt(seq)
                .writeInt(ack)
                .writeShort(((hl / 4) << 12) | flags)
                .writeShort(65535)
                .writeShort(0)
                .writeShort(0)
                .writeBytes(options);
        for (int i = 0; i < dataLength; i++) {
            tcp.writeByte(i);
        }
        long sum = Checksum.pseudoHeader(src, dst, Ipv4.PROTO_TCP, hl + dataLength);
        tcp.setShort(16, Checksum.finish(Checksum.add(sum, tcp, 0, hl + dataLength)));
        ByteBuf ip = Unpooled.buffer(20 + tcp.readableBytes());
        ip.writerIndex(20);
        ip.writeBytes(tcp);
        Ipv4.writeHeader(ip, 0, ip.readableBytes(), 1, Ipv4.PROTO_TCP, src, dst);
        ByteBuf f = Unpooled.buffer(14 + ip.readableBytes());
        Ethernet.writeHeader(f, NetworkConfig.DEFAULT_GATEWAY_MAC, NetworkConfig.DEFAULT_GUEST_MAC, Ethernet.TYPE_IPV4);
        f.writeBytes(ip);
        return f;
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] a = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), a);
        b.release();
        return a;
    }
}
