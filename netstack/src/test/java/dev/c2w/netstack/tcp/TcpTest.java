package dev.c2w.netstack.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.netstack.NetworkTestBase;
import dev.c2w.netstack.TestGuest;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Tcp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

public class TcpTest extends NetworkTestBase {
    static final byte[] SYN_OPTS = {2, 4, 0x05, (byte) 0xb4, 1, 3, 3, 7}; // MSS 1460, NOP, WS 7

    /** A parsed segment sent to the guest. */
    public record Seg(
            int srcPort, int dstPort, int seq, int ack, int flags, int window, byte[] data, int hl, byte[] raw) {
        public static Seg parse(byte[] f) {
            ByteBuf b = Unpooled.wrappedBuffer(f);
            int ip = 14;
            int t = ip + Ipv4.headerLength(b, ip);
            int total = Ipv4.totalLength(b, ip);
            int hl = Tcp.headerLength(b, t);
            byte[] data = new byte[total - (t - ip) - hl];
            b.getBytes(t + hl, data);
            return new Seg(
                    Tcp.srcPort(b, t),
                    Tcp.dstPort(b, t),
                    Tcp.seq(b, t),
                    Tcp.ack(b, t),
                    Tcp.flags(b, t),
                    Tcp.window(b, t),
                    data,
                    hl,
                    f);
        }

        public boolean has(int flag) {
            return (flags & flag) != 0;
        }
    }

    Seg nextSeg(long millis) throws Exception {
        byte[] f = guest.nextIp(Ipv4.PROTO_TCP, millis);
        return f == null ? null : Seg.parse(f);
    }

    void sendSeg(int dst, int srcPort, int dstPort, int seq, int ack, int flags, byte[] opts, byte[] data)
            throws Exception {
        guest.send(guest.ipFrame(
                TestGuest.gwMac(),
                Ipv4.PROTO_TCP,
                dst,
                TestGuest.tcp(GUEST, dst, srcPort, dstPort, seq, ack, flags, 65535, opts, data)));
    }

    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    @Test
    void inProcessListenerHandshakeEchoAndClose() throws Exception {
        net.listenTcp(GW, 7, new Echo());
        sendSeg(GW, 40000, 7, 1000, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg synAck = nextSeg(2000);
        assertThat(synAck).isNotNull();
        assertThat(synAck.has(Tcp.SYN) && synAck.has(Tcp.ACK)).isTrue();
        assertThat(synAck.ack()).isEqualTo(1001);
        assertThat(synAck.hl()).isGreaterThanOrEqualTo(24); // carries MSS (and window scale)
        int ourSeq = synAck.seq() + 1;
        sendSeg(GW, 40000, 7, 1001, ourSeq, Tcp.ACK, new byte[0], new byte[0]);
        byte[] msg = "hello, stack".getBytes(StandardCharsets.US_ASCII);
        sendSeg(GW, 40000, 7, 1001, ourSeq, Tcp.ACK | Tcp.PSH, new byte[0], msg);
        Seg echo = null;
        for (int i = 0; i < 5 && (echo == null || echo.data().length == 0); i++) {
            echo = nextSeg(2000);
        }
        assertThat(echo).isNotNull();
        assertThat(echo.data()).isEqualTo(msg);
        assertThat(echo.ack()).isEqualTo(1001 + msg.length);
        // guest closes; the echo side closes when its input ends (half-closure + close)
        sendSeg(GW, 40000, 7, 1001 + msg.length, ourSeq + msg.length, Tcp.ACK | Tcp.FIN, new byte[0], new byte[0]);
        Seg ack = nextSeg(2000);
        assertThat(ack.ack()).isEqualTo(1001 + msg.length + 1);
    }

    @Test
    void anOutOfOrderSegmentIsHeldAsACopyAndDeliveredOnceTheGapIsFilled() throws Exception {
        net.listenTcp(GW, 7, new Echo());
        sendSeg(GW, 40010, 7, 1000, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg synAck = nextSeg(2000);
        int ourSeq = synAck.seq() + 1;
        sendSeg(GW, 40010, 7, 1001, ourSeq, Tcp.ACK, new byte[0], new byte[0]);
        byte[] hello = "hello, ".getBytes(StandardCharsets.US_ASCII);
        byte[] world = "world".getBytes(StandardCharsets.US_ASCII);
        // the second part first: a gap before it
        ByteBuf later = Unpooled.wrappedBuffer(guest.ipFrame(
                TestGuest.gwMac(),
                Ipv4.PROTO_TCP,
                GW,
                TestGuest.tcp(
                        GUEST,
                        GW,
                        40010,
                        7,
                        1001 + hello.length,
                        ourSeq,
                        Tcp.ACK | Tcp.PSH,
                        65535,
                        new byte[0],
                        world)));
        later.retain(); // ours, to see what the stack keeps
        guest.send(later);
        Seg dupAck = nextSeg(2000);
        assertThat(dupAck.ack()).as("duplicate ACK for the gap").isEqualTo(1001);
        // the held payload is a copy: the frame (in a real link, a slice of a 256 KiB read buffer
        // shared with other frames) is not kept until the gap is filled
        assertThat(later.refCnt()).isEqualTo(1);
        later.release();
        sendSeg(GW, 40010, 7, 1001, ourSeq, Tcp.ACK | Tcp.PSH, new byte[0], hello);
        ByteArrayOutputStream echoed = new ByteArrayOutputStream();
        for (int i = 0; i < 10 && echoed.size() < hello.length + world.length; i++) {
            Seg s = nextSeg(2000);
            assertThat(s).isNotNull();
            echoed.write(s.data());
        }
        assertThat(echoed.toString(StandardCharsets.US_ASCII)).isEqualTo("hello, world");
    }

    @Test
    void payloadQueuedForAConsumerThatIsNotReadingDoesNotKeepTheFrame() throws Exception {
        AtomicReference<Channel> accepted = new AtomicReference<>();
        net.listenTcp(GW, 9, new ChannelInboundHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                ctx.channel().config().setAutoRead(false); // a consumer that does not read yet
                accepted.set(ctx.channel());
            }

            @Override
            public boolean isSharable() {
                return true;
            }
        });
        sendSeg(GW, 40011, 9, 1000, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg synAck = nextSeg(2000);
        int ourSeq = synAck.seq() + 1;
        sendSeg(GW, 40011, 9, 1001, ourSeq, Tcp.ACK, new byte[0], new byte[0]);
        byte[] data = "queued until read".getBytes(StandardCharsets.US_ASCII);
        ByteBuf frame = Unpooled.wrappedBuffer(guest.ipFrame(
                TestGuest.gwMac(),
                Ipv4.PROTO_TCP,
                GW,
                TestGuest.tcp(GUEST, GW, 40011, 9, 1001, ourSeq, Tcp.ACK | Tcp.PSH, 65535, new byte[0], data)));
        frame.retain();
        guest.send(frame);
        assertThat(frame.refCnt()).as("the queued payload is a copy").isEqualTo(1);
        frame.release();
        // and it is still there when the consumer reads
        LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
        Channel ch = accepted.get();
        ch.eventLoop()
                .submit(() -> {
                    ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf b = (ByteBuf) msg;
                            got.add(b.toString(StandardCharsets.US_ASCII));
                            b.release();
                        }
                    });
                    ch.read();
                })
                .sync();
        assertThat(got.poll(2, TimeUnit.SECONDS)).isEqualTo("queued until read");
    }

    @Test
    void closedHostPortGivesRstAtOnce() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        sendSeg(HOSTLO, 40001, port, 5000, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg rst = nextSeg(3000);
        assertThat(rst).isNotNull();
        assertThat(rst.has(Tcp.RST)).isTrue();
        assertThat(rst.ack()).isEqualTo(5001);
        assertThat(net.stats().tcpFlowsRefused).isEqualTo(1);
    }

    @Test
    void natToHostLoopbackCarriesDataBothWays() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5000);
            sendSeg(HOSTLO, 40002, server.getLocalPort(), 7000, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
            try (Socket hostSide = server.accept()) {
                Seg synAck = nextSeg(3000);
                assertThat(synAck.has(Tcp.SYN)).isTrue();
                int ourSeq = synAck.seq() + 1;
                sendSeg(HOSTLO, 40002, server.getLocalPort(), 7001, ourSeq, Tcp.ACK, new byte[0], "up".getBytes());
                InputStream in = hostSide.getInputStream();
                assertThat(in.readNBytes(2)).isEqualTo("up".getBytes());
                OutputStream out = hostSide.getOutputStream();
                out.write("down".getBytes());
                out.flush();
                Seg data = null;
                for (int i = 0; i < 5 && (data == null || data.data().length == 0); i++) {
                    data = nextSeg(2000);
                }
                assertThat(new String(data.data())).isEqualTo("down");
                assertThat(data.seq()).isEqualTo(ourSeq);
                // host closes: the guest sees FIN after the data
                hostSide.shutdownOutput();
                Seg fin = nextSeg(2000);
                while (fin != null && !fin.has(Tcp.FIN)) {
                    fin = nextSeg(2000);
                }
                assertThat(fin).isNotNull();
                assertThat(fin.seq()).isEqualTo(ourSeq + 4);
            }
        }
    }

    @Test
    void segmentForUnknownConnectionGetsRst() throws Exception {
        sendSeg(HOSTLO, 40003, 9, 1, 12345, Tcp.ACK, new byte[0], new byte[0]);
        Seg rst = nextSeg(2000);
        assertThat(rst.has(Tcp.RST)).isTrue();
        assertThat(rst.seq()).isEqualTo(12345);
    }

    @Test
    void badChecksumIsDroppedAndCounted() throws Exception {
        byte[] f = guest.ipFrame(
                TestGuest.gwMac(),
                Ipv4.PROTO_TCP,
                HOSTLO,
                TestGuest.tcp(GUEST, HOSTLO, 40004, 80, 1, 0, Tcp.SYN, 65535, SYN_OPTS, new byte[0]));
        f[14 + 20 + 16] ^= 0x11;
        guest.send(f);
        assertThat(nextSeg(300)).isNull();
        assertThat(net.stats().droppedChecksum).isEqualTo(1);
    }

    @Test
    void flowCapRefusesWithRst() throws Exception {
        useNetwork(NetworkConfig.builder().maxTcpFlows(1).build());
        net.listenTcp(GW, 7, new Echo());
        sendSeg(GW, 41000, 7, 1, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        assertThat(nextSeg(2000).has(Tcp.SYN)).isTrue();
        sendSeg(GW, 41001, 7, 1, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg s = nextSeg(2000);
        assertThat(s.has(Tcp.RST)).isTrue();
        assertThat(net.stats().droppedFlowLimit).isEqualTo(1);
    }

    /** Writes {@code data} on activation in pieces of the given sizes (cycled), then flushes once. */
    static final class PieceWriter extends ChannelInboundHandlerAdapter {
        final byte[] data;
        final int[] pieces;

        PieceWriter(byte[] data, int... pieces) {
            this.data = data;
            this.pieces = pieces;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            int off = 0;
            for (int i = 0; off < data.length; i++) {
                int n = Math.min(pieces[i % pieces.length], data.length - off);
                ByteBuf b = ctx.alloc().directBuffer(n + 3);
                b.writerIndex(3).readerIndex(3); // an odd start address inside the buffer
                b.writeBytes(data, off, n);
                ctx.write(b);
                off += n;
            }
            ctx.flush();
            ctx.fireChannelActive();
        }
    }

    @Test
    void segmentsCutAcrossManySmallWritesCarryTheBytesWithValidChecksums() throws Exception {
        byte[] data = new byte[20_000];
        new Random(5).nextBytes(data);
        // odd piece sizes, so segments start and end inside pieces and at odd offsets within them
        net.listenTcp(GW, 9, new PieceWriter(data, 1, 7, 333, 2, 1459, 4097, 13));
        sendSeg(GW, 40010, 9, 100, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg synAck = nextSeg(2000);
        int ourSeq = synAck.seq() + 1;
        sendSeg(GW, 40010, 9, 101, ourSeq, Tcp.ACK, new byte[0], new byte[0]);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        int segments = 0;
        while (got.size() < data.length) {
            Seg s = nextSeg(3000);
            assertThat(s).as("segment after %d bytes", got.size()).isNotNull();
            if (s.data().length == 0) {
                continue;
            }
            ByteBuf raw = Unpooled.wrappedBuffer(s.raw());
            int tcpLen = Ipv4.totalLength(raw, 14) - 20;
            long sum = Checksum.pseudoHeader(GW, GUEST, Ipv4.PROTO_TCP, tcpLen);
            assertThat(Checksum.finish(Checksum.add(sum, raw, 34, tcpLen)))
                    .as("checksum of segment %d", segments)
                    .isZero();
            assertThat(s.seq()).isEqualTo(ourSeq + got.size());
            assertThat(s.data().length).isLessThanOrEqualTo(1460);
            got.write(s.data());
            segments++;
            sendSeg(GW, 40010, 9, 101, ourSeq + got.size(), Tcp.ACK, new byte[0], new byte[0]);
        }
        assertThat(got.toByteArray()).isEqualTo(data);
        assertThat(segments).isGreaterThanOrEqualTo(14);
    }

    /** On its first read: notes SO_LINGER before and after setting it to 0, writes a reply, and closes. */
    @ChannelHandler.Sharable
    static final class ResetOnRead extends ChannelInboundHandlerAdapter {
        final CompletableFuture<String> linger = new CompletableFuture<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
            Object before = ctx.channel().config().getOption(ChannelOption.SO_LINGER);
            boolean set = ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
            linger.complete(before + " " + set + " " + ctx.channel().config().getOption(ChannelOption.SO_LINGER));
            ctx.write(Unpooled.copiedBuffer("never sent", StandardCharsets.US_ASCII));
            ctx.close();
        }
    }

    @Test
    void closeWithSoLingerZeroSendsRstInsteadOfFin() throws Exception {
        ResetOnRead handler = new ResetOnRead();
        net.listenTcp(GW, 7, handler);
        sendSeg(GW, 40020, 7, 1000, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg synAck = nextSeg(2000);
        int ourSeq = synAck.seq() + 1;
        sendSeg(GW, 40020, 7, 1001, ourSeq, Tcp.ACK | Tcp.PSH, new byte[0], "x".getBytes(StandardCharsets.US_ASCII));
        assertThat(handler.linger.get(2, TimeUnit.SECONDS)).isEqualTo("-1 true 0");
        Seg s = nextSeg(2000);
        while (s != null && !s.has(Tcp.RST)) {
            assertThat(s.has(Tcp.FIN)).as("FIN before the reset").isFalse();
            assertThat(s.data()).as("data written before the reset").isEmpty();
            s = nextSeg(2000);
        }
        assertThat(s).as("RST").isNotNull();
        assertThat(s.seq()).isEqualTo(ourSeq);
        assertThat(s.ack()).isEqualTo(1002);
        // and the connection is gone: its next segment is answered like one of an unknown connection
        sendSeg(GW, 40020, 7, 1002, ourSeq, Tcp.ACK, new byte[0], new byte[0]);
        Seg after = nextSeg(2000);
        assertThat(after.has(Tcp.RST)).isTrue();
        assertThat(after.seq()).isEqualTo(ourSeq);
    }

    /** Opens a NAT flow from guest port {@code guestPort} to {@code server}; returns our first sequence number. */
    private int natHandshake(ServerSocket server, int guestPort, int iss) throws Exception {
        sendSeg(HOSTLO, guestPort, server.getLocalPort(), iss, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
        Seg synAck = nextSeg(3000);
        assertThat(synAck.has(Tcp.SYN)).isTrue();
        return synAck.seq() + 1;
    }

    @Test
    void aHostResetReachesTheGuestAsRst() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5000);
            int ourSeq = natHandshake(server, 40021, 7000);
            try (Socket hostSide = server.accept()) {
                sendSeg(
                        HOSTLO,
                        40021,
                        server.getLocalPort(),
                        7001,
                        ourSeq,
                        Tcp.ACK | Tcp.PSH,
                        new byte[0],
                        "up".getBytes());
                assertThat(hostSide.getInputStream().readNBytes(2)).isEqualTo("up".getBytes());
                hostSide.setSoLinger(true, 0);
            } // closed with SO_LINGER 0: RST
            Seg s = nextSeg(2000);
            while (s != null && !s.has(Tcp.RST)) {
                assertThat(s.has(Tcp.FIN)).as("FIN instead of RST").isFalse();
                s = nextSeg(2000);
            }
            assertThat(s).as("RST").isNotNull();
            assertThat(s.seq()).isEqualTo(ourSeq);
        }
    }

    @Test
    void aGuestRstResetsTheHostSocket() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5000);
            int ourSeq = natHandshake(server, 40022, 7000);
            try (Socket hostSide = server.accept()) {
                hostSide.setSoTimeout(5000);
                sendSeg(
                        HOSTLO,
                        40022,
                        server.getLocalPort(),
                        7001,
                        ourSeq,
                        Tcp.ACK | Tcp.PSH,
                        new byte[0],
                        "up".getBytes());
                InputStream in = hostSide.getInputStream();
                assertThat(in.readNBytes(2)).isEqualTo("up".getBytes());
                sendSeg(
                        HOSTLO,
                        40022,
                        server.getLocalPort(),
                        7003,
                        ourSeq,
                        Tcp.RST | Tcp.ACK,
                        new byte[0],
                        new byte[0]);
                assertThatThrownBy(in::read).as("a reset, not an end of stream").isInstanceOf(SocketException.class);
            }
        }
    }

    @Test
    void whatTheHostSentAndItsCloseDuringTheGuestsHandshakeFollowTheHandshake() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5000);
            int ourSeq = natHandshake(server, 40023, 7000);
            try (Socket hostSide = server.accept()) {
                hostSide.getOutputStream().write("early".getBytes());
            } // closed before the guest completes its handshake
            Thread.sleep(200);
            sendSeg(HOSTLO, 40023, server.getLocalPort(), 7001, ourSeq, Tcp.ACK, new byte[0], new byte[0]);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            Seg s = nextSeg(2000);
            while (s != null && !s.has(Tcp.FIN)) {
                assertThat(s.has(Tcp.RST)).as("RST").isFalse();
                got.write(s.data());
                s = nextSeg(2000);
            }
            assertThat(s).as("FIN").isNotNull();
            got.write(s.data());
            assertThat(got.toString(StandardCharsets.US_ASCII)).isEqualTo("early");
            assertThat(s.seq() + s.data().length).isEqualTo(ourSeq + 5);
        }
    }

    /** The window scale a SYN-ACK offers (0 without the option). */
    private static int windowScale(Seg synAck) {
        byte[] f = synAck.raw();
        int o = 14 + 20 + Tcp.MIN_HEADER;
        int end = 14 + 20 + synAck.hl();
        while (o < end && f[o] != 0) {
            if (f[o] == 1) {
                o++;
            } else if (f[o] == 3) {
                return f[o + 2];
            } else {
                o += f[o + 1];
            }
        }
        return 0;
    }

    @Test
    void aGuestFinBehindABackedUpHostSocketComesAfterAllTheData() throws Exception {
        byte[] payload = new byte[4 * 1024 * 1024];
        new Random(3).nextBytes(payload);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setReceiveBufferSize(8192);
            CompletableFuture<byte[]> received = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try (Socket s = server.accept()) {
                    Thread.sleep(500); // let the NAT's host socket back up
                    received.complete(s.getInputStream().readAllBytes());
                } catch (Exception e) {
                    received.completeExceptionally(e);
                }
            });
            reader.start();
            int port = server.getLocalPort();
            int seq = 20001;
            sendSeg(HOSTLO, 40024, port, seq - 1, 0, Tcp.SYN, SYN_OPTS, new byte[0]);
            Seg synAck = nextSeg(3000);
            int wscale = windowScale(synAck);
            int ourSeq = synAck.seq() + 1;
            int windowEnd = seq + synAck.window();
            int sent = 0;
            boolean finSent = false;
            long deadline = System.currentTimeMillis() + 30_000;
            while (!finSent && System.currentTimeMillis() < deadline) {
                // send what the window allows, then the FIN right behind the data
                while (sent < payload.length && seq + Math.min(1460, payload.length - sent) - windowEnd <= 0) {
                    int n = Math.min(1460, payload.length - sent);
                    byte[] chunk = Arrays.copyOfRange(payload, sent, sent + n);
                    sendSeg(HOSTLO, 40024, port, seq, ourSeq, Tcp.ACK, new byte[0], chunk);
                    seq += n;
                    sent += n;
                }
                if (sent == payload.length && seq + 1 - windowEnd <= 0) {
                    sendSeg(HOSTLO, 40024, port, seq, ourSeq, Tcp.ACK | Tcp.FIN, new byte[0], new byte[0]);
                    finSent = true;
                    break;
                }
                Seg s = nextSeg(2000);
                if (s != null && s.has(Tcp.ACK)) {
                    windowEnd = s.ack() + (s.window() << wscale);
                }
            }
            assertThat(finSent).as("sent %d bytes before the deadline", sent).isTrue();
            byte[] got = received.get(30, TimeUnit.SECONDS);
            assertThat(got.length).isEqualTo(payload.length);
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            assertThat(md.digest(got))
                    .isEqualTo(MessageDigest.getInstance("SHA-256").digest(payload));
        }
    }
}
