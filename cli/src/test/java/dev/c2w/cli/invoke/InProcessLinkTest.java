package dev.c2w.cli.invoke;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.wasi.Waker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The bridge mechanics: framing split across sends, both directions through a real switch, backpressure, wakeups. */
class InProcessLinkTest {
    static final byte[] GUEST_MAC = {0x02, 0, 0, 0, 0, 0x01};
    static final byte[] OTHER_MAC = {0x02, 0, 0, 0, 0, 0x42};
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

    HostTransport host;
    VirtualNetwork net;
    Waker waker;
    /** A second port on the switch that records what it gets. */
    final List<byte[]> atOther = new CopyOnWriteArrayList<>();

    GuestPort other;

    @BeforeEach
    void setUp() {
        host = HostTransport.create(1, true);
        net = VirtualNetwork.create(NetworkConfig.builder().build(), host, null);
        waker = new Waker();
        other = net.eventLoop()
                .submit(() -> net.attach(new FrameSink() {
                    @Override
                    public void sendFrame(ByteBuf frame) {
                        atOther.add(ByteBufUtil.getBytes(frame));
                        frame.release();
                    }
                }))
                .syncUninterruptibly()
                .getNow();
    }

    @AfterEach
    void tearDown() {
        if (host != null) {
            net.close();
            host.close();
        }
    }

    static byte[] frame(byte[] dst, byte[] src, int payloadLen, int seed) {
        ByteBuffer b = ByteBuffer.allocate(14 + payloadLen);
        b.put(dst).put(src).putShort((short) 0x88b5);
        for (int i = 0; i < payloadLen; i++) {
            b.put((byte) (seed + i));
        }
        return b.array();
    }

    static byte[] framed(byte[]... frames) {
        int n = 0;
        for (byte[] f : frames) {
            n += 4 + f.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] f : frames) {
            b.putInt(f.length).put(f);
        }
        return b.array();
    }

    void waitFor(BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not reached in 10 s").isLessThan(end);
            Thread.sleep(2);
        }
    }

    @Test
    void framesSplitAnywhereAcrossSendsReachTheSwitchWhole() throws Exception {
        InProcessLink link = InProcessLink.open(net, waker);
        byte[] f1 = frame(BROADCAST, GUEST_MAC, 60, 1);
        byte[] f2 = frame(BROADCAST, GUEST_MAC, 1, 7);
        byte[] f3 = frame(BROADCAST, GUEST_MAC, 1400, 3);
        byte[] stream = framed(f1, f2, f3);
        // cut points inside the first prefix, between frames, inside the third frame
        int[] cuts = {2, 3, 10, 78, 80, 100, 101, stream.length};
        int from = 0;
        for (int cut : cuts) {
            assertThat(link.send(stream, from, cut - from)).isEqualTo(cut - from);
            from = cut;
        }
        waitFor(() -> atOther.size() == 3);
        assertThat(atOther.get(0)).isEqualTo(f1);
        assertThat(atOther.get(1)).isEqualTo(f2);
        assertThat(atOther.get(2)).isEqualTo(f3);
        assertThat(link.framesToStack()).isEqualTo(3);
        link.close();
    }

    @Test
    void framesFromTheSwitchArriveLengthPrefixedAndWakeAWaitingGuest() throws Exception {
        InProcessLink link = InProcessLink.open(net, waker);
        // teach the switch the guest's MAC
        byte[] hello = frame(BROADCAST, GUEST_MAC, 20, 0);
        link.send(framed(hello), 0, 4 + hello.length);
        waitFor(() -> atOther.size() == 1);
        assertThat(link.readable()).isFalse();

        long seen = waker.epoch();
        CountDownLatch woke = new CountDownLatch(1);
        AtomicBoolean sawData = new AtomicBoolean();
        Thread guest = new Thread(() -> {
            try {
                waker.await(seen, -1);
                sawData.set(link.readable());
                woke.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        guest.start();
        byte[] reply = frame(GUEST_MAC, OTHER_MAC, 100, 9);
        net.eventLoop().execute(() -> other.receiveFrame(Unpooled.wrappedBuffer(reply)));
        assertThat(woke.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(sawData).isTrue();

        byte[] got = new byte[4 + reply.length];
        // read in two pieces: a stream reader may stop anywhere
        int n1 = link.recv(got, 0, 3);
        int n2 = link.recv(got, 3, got.length - 3);
        assertThat(n1 + n2).isEqualTo(got.length);
        assertThat(got).isEqualTo(framed(reply));
        assertThat(link.recv(got, 0, got.length)).isZero();
        assertThat(link.framesToGuest()).isEqualTo(1);
        link.close();
    }

    @Test
    void aFullGuestQueueDropsFramesAndCountsThem() throws Exception {
        InProcessLink link = InProcessLink.open(net, waker, 250, InProcessLink.DEFAULT_TX_CAPACITY);
        byte[] hello = frame(BROADCAST, GUEST_MAC, 20, 0);
        link.send(framed(hello), 0, 4 + hello.length);
        waitFor(() -> atOther.size() == 1);
        byte[] f = frame(GUEST_MAC, OTHER_MAC, 100, 1); // 118 bytes with its prefix
        net.eventLoop().execute(() -> {
            for (int i = 0; i < 3; i++) {
                other.receiveFrame(Unpooled.wrappedBuffer(f.clone()));
            }
        });
        waitFor(() -> link.framesToGuest() + link.framesDropped() == 3);
        assertThat(link.framesToGuest()).isEqualTo(2);
        assertThat(link.framesDropped()).isEqualTo(1);
        assertThat(link.queuedForGuest()).isEqualTo(2 * (4 + f.length));
        link.close();
    }

    @Test
    void sendTakesNothingWhileTheLoopHasNotDrainedTheCapAndSignalsWhenItHas() throws Exception {
        InProcessLink link = InProcessLink.open(net, waker, InProcessLink.DEFAULT_RX_CAPACITY, 200);
        CountDownLatch hold = new CountDownLatch(1);
        net.eventLoop().execute(() -> {
            try {
                hold.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        byte[] f = frame(BROADCAST, GUEST_MAC, 250, 5);
        byte[] s = framed(f, f);
        assertThat(link.send(s, 0, s.length)).as("takes up to the cap").isEqualTo(200);
        assertThat(link.send(s, 200, s.length - 200))
                .as("first frame complete: in flight")
                .isEqualTo(200);
        assertThat(link.writable()).isFalse();
        assertThat(link.send(s, 400, s.length - 400)).isZero();
        long seen = waker.epoch();
        hold.countDown();
        assertThat(waker.await(seen, TimeUnit.SECONDS.toNanos(10))).isTrue();
        assertThat(link.writable()).isTrue();
        int rest = s.length - 400;
        assertThat(link.send(s, 400, rest)).isEqualTo(rest);
        waitFor(() -> atOther.size() == 2);
        assertThat(atOther.get(1)).isEqualTo(f);
        link.close();
    }

    @Test
    void badFramingBreaksTheLinkWithAReasonInsteadOfThrowing() {
        InProcessLink link = InProcessLink.open(net, waker);
        byte[] junk = "GET / HTTP/1.1\r\n".getBytes();
        assertThat(link.send(junk, 0, junk.length)).isEqualTo(-1);
        assertThat(link.brokenReason()).contains("exceeds the cap");
        assertThat(link.readable()).isTrue();
        assertThat(link.recv(new byte[10], 0, 10)).isEqualTo(-1);
        assertThat(link.send(junk, 0, junk.length)).isEqualTo(-1);
    }

    @Test
    void closingTheNetworkEndsTheGuestStreamAfterQueuedBytes() throws Exception {
        InProcessLink link = InProcessLink.open(net, waker);
        byte[] hello = frame(BROADCAST, GUEST_MAC, 20, 0);
        link.send(framed(hello), 0, 4 + hello.length);
        waitFor(() -> atOther.size() == 1);
        byte[] f = frame(GUEST_MAC, OTHER_MAC, 30, 1);
        net.eventLoop().execute(() -> other.receiveFrame(Unpooled.wrappedBuffer(f)));
        waitFor(link::readable);
        net.close();
        waitFor(link::isClosed);
        byte[] got = new byte[100];
        assertThat(link.recv(got, 0, 100)).isEqualTo(4 + f.length);
        assertThat(Arrays.copyOf(got, 4 + f.length)).isEqualTo(framed(f));
        assertThat(link.recv(got, 0, 100)).isEqualTo(-1);
    }

    @Test
    void aStoppedEventLoopEndsTheLinkInsteadOfThrowing() throws Exception {
        InProcessLink link = InProcessLink.open(net, waker);
        net.close();
        host.close(); // the loop is gone
        host = null;
        byte[] f = framed(frame(BROADCAST, GUEST_MAC, 20, 0));
        int first = link.send(f, 0, f.length);
        assertThat(first).isIn(-1, f.length);
        assertThat(link.send(f, 0, f.length)).isEqualTo(-1);
        assertThat(link.isClosed()).isTrue();
        link.close();
    }
}
