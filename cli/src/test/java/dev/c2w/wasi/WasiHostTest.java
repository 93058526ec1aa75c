package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.Parser;
import dev.c2w.cli.invoke.InProcessLink;
import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayInputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The host functions {@link WasiHost#hostFunctions()} hands to Chicory, called the way a guest calls them
 * (raw i32/i64 arguments, pointers into a one-page memory), without a guest module: the import list, stdin,
 * iovec edge cases, poll_oneoff, the clocks, and the socket calls on a real {@link VirtualNetwork}.
 */
class WasiHostTest {
    // WASI preview 1 numbers, spelled out here so the test does not lean on the code under test
    static final int SUCCESS = 0;
    static final int EAGAIN = 6;
    static final int EBADF = 8;
    static final int EFAULT = 21;
    static final int EINVAL = 28;
    static final int ENOTCONN = 53;
    static final int ENOTDIR = 54;
    static final int ENOTSOCK = 57;
    static final int ENOTSUP = 58;
    static final int EPIPE = 64;
    static final int ESPIPE = 70;
    static final int NONBLOCK = 4;
    static final int PAGE = Memory.PAGE_SIZE;
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    static final byte[] GUEST_MAC = {0x02, 0, 0, 0, 0, 0x31};
    static final byte[] OTHER_MAC = {0x02, 0, 0, 0, 0, 0x32};

    final List<AutoCloseable> toClose = new ArrayList<>();
    WasiHost host;
    Instance inst;
    Memory m;
    List<HostFunction> fns;

    /** A module with one page of memory and nothing else: what the host functions need of an instance. */
    static Instance onePageInstance() {
        byte[] wasm = {
            0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // magic, version 1
            5, 3, 1, 0, 1
        }; // memory section: one memory, min 1 page, no max
        return Instance.builder(Parser.parse(wasm))
                .withMemoryFactory(FlatMemory::new)
                .withStart(false)
                .build();
    }

    void start(WasiHost.Config cfg) {
        host = new WasiHost(cfg);
        toClose.add(host);
        inst = onePageInstance();
        m = inst.memory();
        fns = host.hostFunctions();
    }

    VirtualNetwork network() {
        HostTransport transport = HostTransport.create(1, true);
        VirtualNetwork net = VirtualNetwork.create(NetworkConfig.builder().build(), transport, null);
        toClose.add(transport);
        toClose.add(net);
        return net;
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    long[] call(String name, long... args) {
        for (HostFunction f : fns) {
            if (f.name().equals(name)) {
                return f.handle().apply(inst, args);
            }
        }
        throw new AssertionError("no import " + name);
    }

    int errno(String name, long... args) {
        long[] r = call(name, args);
        assertThat(r).hasSize(1);
        return (int) r[0];
    }

    /** Writes iovecs {base, len} pairs at {@code at}. */
    void iovecs(int at, int... baseLen) {
        for (int i = 0; i < baseLen.length; i++) {
            m.writeI32(at + 4 * i, baseLen[i]);
        }
    }

    String string(int at, int len) {
        return new String(m.readBytes(at, len), StandardCharsets.ISO_8859_1);
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void theImportListIsChicorysFunctionsWithTheirSignaturesInChicorysOrder() {
        start(new WasiHost.Config());
        List<String> ours = new ArrayList<>();
        for (HostFunction f : fns) {
            ours.add(f.module() + " " + f.name() + " " + f.functionType());
        }
        List<String> chicory = new ArrayList<>();
        try (WasiPreview1 w = WasiPreview1.builder()
                .withOptions(WasiOptions.builder().build())
                .build()) {
            for (HostFunction f : w.toHostFunctions()) {
                chicory.add(f.module() + " " + f.name() + " " + f.functionType());
            }
        }
        assertThat(ours)
                .isEqualTo(chicory)
                .contains(
                        "wasi_snapshot_preview1 sock_recv (I32,I32,I32,I32,I32,I32) -> (I32)",
                        "wasi_snapshot_preview1 clock_time_get (I32,I64,I32) -> (I32)");
    }

    @Test
    void stdinIsScatteredOverTheIovecsInOrderThenEndOfInputReadsZeroBytes() {
        start(new WasiHost.Config().stdin(new ByteArrayInputStream("hello world".getBytes()), false));
        iovecs(16, 100, 3, 200, 20);
        assertThat(errno("fd_read", 0, 16, 2, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(11);
        assertThat(string(100, 3)).isEqualTo("hel");
        assertThat(string(200, 8)).isEqualTo("lo world");
        m.writeI32(8, 99);
        assertThat(errno("fd_read", 0, 16, 2, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isZero();
    }

    @Test
    void iovecCountsOutOfRangeOrTotalsOverTwoGibAreEinvalAndAnArrayPastTheEndTraps() {
        start(new WasiHost.Config().stdin(new ByteArrayInputStream("x".getBytes()), false));
        assertThat(errno("fd_read", 0, 16, 1025, 8)).as("more than IOV_MAX").isEqualTo(EINVAL);
        assertThat(errno("fd_read", 0, 16, -1, 8)).as("a count over 2^31").isEqualTo(EINVAL);
        iovecs(16, 100, 0x7fffffff, 200, 1);
        assertThat(errno("fd_read", 0, 16, 2, 8)).as("total over 2^31-1").isEqualTo(EINVAL);
        iovecs(16, 100, 0x80000000);
        assertThat(errno("fd_read", 0, 16, 1, 8)).as("one length over 2^31").isEqualTo(EINVAL);
        assertThatThrownBy(() -> call("fd_read", 0, PAGE - 12, 2, 8))
                .as("second iovec past the end")
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("out of bounds memory access");
        assertThatThrownBy(() -> call("fd_read", 0, -8, 1, 8))
                .as("array at an address over 2 GiB")
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("out of bounds memory access");
        assertThat(errno("fd_read", 0, PAGE + 100, 0, 8))
                .as("no iovecs: the address is not looked at")
                .isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isZero();
        iovecs(PAGE - 8, 300, 4);
        assertThat(errno("fd_read", 0, PAGE - 8, 1, 8))
                .as("an array in the last 8 bytes of memory")
                .isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(1);
        assertThat(string(300, 1)).isEqualTo("x");
    }

    @Test
    void aReadIntoABufferPastTheEndTrapsButOnlyWhenBytesReachIt() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        start(new WasiHost.Config().stdin(new PipedInputStream(feed), false));
        toClose.add(feed);
        feed.write("abcdef".getBytes());
        feed.flush();
        iovecs(16, 100, 2, PAGE - 2, 10);
        assertThatThrownBy(() -> call("fd_read", 0, 16, 2, 8))
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("out of bounds memory access");
        feed.write("xy".getBytes());
        feed.flush();
        iovecs(16, 100, 10, PAGE + 1000, 10);
        m.writeI32(8, 99);
        assertThat(errno("fd_read", 0, 16, 2, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(2);
        assertThat(string(100, 2)).isEqualTo("xy");
    }

    @Test
    void nonBlockingStdinAnswersEagainAndSaysSoInItsFdstat() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        start(new WasiHost.Config().stdin(new PipedInputStream(feed), false));
        toClose.add(feed);
        assertThat(errno("fd_fdstat_get", 0, 64)).isEqualTo(SUCCESS);
        assertThat(m.readShort(66) & NONBLOCK).isZero();
        assertThat(errno("fd_fdstat_set_flags", 0, NONBLOCK)).isEqualTo(SUCCESS);
        assertThat(errno("fd_fdstat_get", 0, 64)).isEqualTo(SUCCESS);
        assertThat(m.readShort(66) & NONBLOCK).isEqualTo(NONBLOCK);
        iovecs(16, 100, 10);
        assertThat(errno("fd_read", 0, 16, 1, 8)).isEqualTo(EAGAIN);
        feed.write("hi".getBytes());
        feed.flush();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int e;
        while ((e = errno("fd_read", 0, 16, 1, 8)) == EAGAIN && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        assertThat(e).isEqualTo(SUCCESS);
        assertThat(string(100, m.readInt(8))).isEqualTo("hi");
        assertThat(errno("fd_fdstat_set_flags", 0, 0)).isEqualTo(SUCCESS);
        assertThat(errno("fd_fdstat_get", 0, 64)).isEqualTo(SUCCESS);
        assertThat(m.readShort(66) & NONBLOCK).isZero();
    }

    @Test
    void aBlockingReadStopsWithGuestInterruptedWhenTheGuestThreadIsInterrupted() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        start(new WasiHost.Config().stdin(new PipedInputStream(feed), false));
        toClose.add(feed);
        iovecs(16, 100, 10);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread guest = new Thread(() -> {
            try {
                call("fd_read", 0, 16, 1, 8);
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        guest.start();
        Thread.sleep(50);
        guest.interrupt();
        guest.join(10_000);
        assertThat(guest.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOf(WasiHost.GuestInterrupted.class);
    }

    // ---------------------------------------------------------------------------------------------
    // poll_oneoff

    /** Writes subscription i of an array at {@code in}: a clock. */
    void clockSub(int in, int i, long userdata, int id, long timeout, boolean absolute) {
        int p = in + 48 * i;
        m.fill((byte) 0, p, p + 48);
        m.writeLong(p, userdata);
        m.writeByte(p + 8, (byte) 0);
        m.writeI32(p + 16, id);
        m.writeLong(p + 24, timeout);
        m.writeShort(p + 40, (short) (absolute ? 1 : 0));
    }

    /** Writes subscription i: fd_read (type 1) or fd_write (type 2) on fd. */
    void fdSub(int in, int i, long userdata, int type, int fd) {
        int p = in + 48 * i;
        m.fill((byte) 0, p, p + 48);
        m.writeLong(p, userdata);
        m.writeByte(p + 8, (byte) type);
        m.writeI32(p + 16, fd);
    }

    record Event(long userdata, int errno, int type, long nbytes, int flags) {}

    Event event(int out, int i) {
        int e = out + 32 * i;
        return new Event(m.readLong(e), m.readShort(e + 8), m.read(e + 10), m.readLong(e + 16), m.readShort(e + 24));
    }

    @Test
    void pollRefusesBadCountsTypesAndClocksBeforeWaiting() {
        start(new WasiHost.Config());
        assertThat(errno("poll_oneoff", 1024, 4096, 0, 8)).isEqualTo(EINVAL);
        assertThat(errno("poll_oneoff", 1024, 4096, -1, 8)).isEqualTo(EINVAL);
        assertThat(errno("poll_oneoff", 1024, 4096, 0x7fffffff, 8))
                .as("a count no memory holds")
                .isEqualTo(EFAULT);
        assertThat(errno("poll_oneoff", PAGE - 40, 4096, 1, 8))
                .as("subscription past the end")
                .isEqualTo(EFAULT);
        assertThat(errno("poll_oneoff", 1024, PAGE - 16, 1, 8))
                .as("event past the end")
                .isEqualTo(EFAULT);
        fdSub(1024, 0, 1, 3, 1);
        assertThat(errno("poll_oneoff", 1024, 4096, 1, 8)).as("event type 3").isEqualTo(EINVAL);
        clockSub(1024, 0, 1, 0, 0, false);
        clockSub(1024, 1, 2, 4, 0, false);
        assertThat(errno("poll_oneoff", 1024, 4096, 2, 8)).as("clock id 4").isEqualTo(EINVAL);
    }

    @Test
    void pollReportsExpiredClocksReadyFdsAndUnknownFds() {
        start(new WasiHost.Config());
        clockSub(1024, 0, 11, 1, 0, false); // relative 0: fires now
        clockSub(1024, 1, 12, 1, TimeUnit.SECONDS.toNanos(30), false);
        clockSub(1024, 2, 13, 0, 1, true); // realtime 1 ns after 1970
        clockSub(1024, 3, 14, 1, -1, false); // never
        assertThat(errno("poll_oneoff", 1024, 4096, 4, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(2);
        assertThat(event(4096, 0)).isEqualTo(new Event(11, SUCCESS, 0, 0, 0));
        assertThat(event(4096, 1)).isEqualTo(new Event(13, SUCCESS, 0, 0, 0));

        fdSub(1024, 0, 21, 2, 1); // stdout: always writable
        fdSub(1024, 1, 22, 1, 77); // not open
        clockSub(1024, 2, 23, 1, TimeUnit.SECONDS.toNanos(30), false);
        m.fill((byte) 0x55, 4096, 4096 + 96);
        assertThat(errno("poll_oneoff", 1024, 4096, 3, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(2);
        assertThat(event(4096, 0)).isEqualTo(new Event(21, SUCCESS, 2, 0, 0));
        assertThat(event(4096, 1)).isEqualTo(new Event(22, EBADF, 1, 0, 0));
        assertThat(m.readLong(4096 + 32 + 24))
                .as("the rest of an event is zeroed")
                .isZero();
        assertThat(m.read(4096 + 64)).as("past the last event: untouched").isEqualTo((byte) 0x55);
    }

    @Test
    void pollWaitsForARelativeTimeoutAndForStdin() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        start(new WasiHost.Config().stdin(new PipedInputStream(feed), false));
        toClose.add(feed);
        clockSub(1024, 0, 1, 1, TimeUnit.MILLISECONDS.toNanos(30), false);
        fdSub(1024, 1, 2, 1, 0);
        long t0 = System.nanoTime();
        assertThat(errno("poll_oneoff", 1024, 4096, 2, 8)).isEqualTo(SUCCESS);
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(29));
        assertThat(m.readInt(8)).isEqualTo(1);
        assertThat(event(4096, 0).userdata()).isEqualTo(1);

        clockSub(1024, 0, 1, 1, TimeUnit.SECONDS.toNanos(30), false);
        CompletableFuture<Void> later = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(30);
                feed.write("abc".getBytes());
                feed.flush();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(errno("poll_oneoff", 1024, 4096, 2, 8)).isEqualTo(SUCCESS);
        later.get(10, TimeUnit.SECONDS);
        assertThat(m.readInt(8)).isEqualTo(1);
        assertThat(event(4096, 0)).isEqualTo(new Event(2, SUCCESS, 1, 3, 0));
    }

    // ---------------------------------------------------------------------------------------------
    // clocks

    @Test
    void clocksAnswerForTheFourIdsAndRefuseOthers() {
        start(new WasiHost.Config());
        long before = System.currentTimeMillis() * 1_000_000L;
        assertThat(errno("clock_time_get", 0, 1, 64)).isEqualTo(SUCCESS);
        assertThat(m.readLong(64)).isBetween(before - 1_000_000_000L, before + 60_000_000_000L);
        long mono = System.nanoTime();
        assertThat(errno("clock_time_get", 1, 1, 64)).isEqualTo(SUCCESS);
        assertThat(m.readLong(64)).isGreaterThanOrEqualTo(mono);
        for (int id = 2; id <= 3; id++) {
            assertThat(errno("clock_time_get", id, 1, 64)).isEqualTo(SUCCESS);
            assertThat(m.readLong(64)).isBetween(0L, TimeUnit.MINUTES.toNanos(5));
        }
        assertThat(errno("clock_time_get", 4, 1, 64)).isEqualTo(EINVAL);
        assertThat(errno("clock_time_get", -1, 1, 64)).isEqualTo(EINVAL);
        assertThat(errno("clock_res_get", 0, 64)).isEqualTo(SUCCESS);
        assertThat(m.readLong(64)).isEqualTo(1000);
        for (int id = 1; id <= 3; id++) {
            assertThat(errno("clock_res_get", id, 64)).isEqualTo(SUCCESS);
            assertThat(m.readLong(64)).isEqualTo(1);
        }
        assertThat(errno("clock_res_get", 4, 64)).isEqualTo(EINVAL);
    }

    // ---------------------------------------------------------------------------------------------
    // sockets

    @Test
    void theListeningSocketLooksLikeASocketAndEveryOtherFdCallRefusesIt() {
        start(new WasiHost.Config().sockets(InProcessLink.backend(network())));
        int l = host.listenFd();
        assertThat(l).isEqualTo(3);
        assertThat(errno("fd_fdstat_get", l, 64)).isEqualTo(SUCCESS);
        assertThat(m.read(64)).isEqualTo((byte) 6);
        assertThat(m.readShort(66)).isZero();
        assertThat(m.readLong(72)).isEqualTo((1L << 30) - 1);
        assertThat(m.readLong(80)).isEqualTo((1L << 30) - 1);
        assertThat(errno("fd_prestat_get", l, 64)).isEqualTo(SUCCESS);
        assertThat(m.readInt(64)).as("tag 1: not a directory").isEqualTo(1);
        m.fill((byte) 0x55, 128, 192);
        assertThat(errno("fd_filestat_get", l, 128)).isEqualTo(SUCCESS);
        assertThat(m.read(128 + 16)).isEqualTo((byte) 6);
        assertThat(m.readLong(128 + 24)).isEqualTo(1);
        assertThat(m.readLong(128 + 56)).isZero();

        assertThat(errno("fd_seek", l, 0, 0, 64)).isEqualTo(ESPIPE);
        assertThat(errno("fd_tell", l, 64)).isEqualTo(ESPIPE);
        assertThat(errno("fd_prestat_dir_name", l, 64, 8)).isEqualTo(EBADF);
        assertThat(errno("fd_sync", l)).isEqualTo(ENOTSUP);
        assertThat(errno("fd_pread", l, 16, 1, 0, 8)).isEqualTo(ENOTSUP);
        assertThat(errno("fd_readdir", l, 256, 64, 0, 8)).isEqualTo(ENOTSUP);
        assertThat(errno("fd_renumber", 1, l)).as("the second fd too").isEqualTo(ENOTSUP);
        assertThat(errno("path_open", l, 0, 256, 1, 0, 0, 0, 0, 8)).isEqualTo(ENOTDIR);
        assertThat(errno("path_symlink", 256, 1, l, 256, 1))
                .as("its fd is the third argument")
                .isEqualTo(ENOTDIR);
        assertThat(errno("path_link", 77, 0, 256, 1, l, 256, 1))
                .as("the new fd, fifth")
                .isEqualTo(ENOTDIR);
        assertThat(errno("path_rename", l, 256, 1, 77, 256, 1)).isEqualTo(ENOTDIR);
        assertThat(errno("path_rename", 77, 256, 1, l, 256, 1)).isEqualTo(ENOTDIR);

        assertThat(errno("sock_recv", l, 16, 1, 0, 8, 12)).isEqualTo(ENOTCONN);
        assertThat(errno("sock_send", l, 16, 1, 0, 8)).isEqualTo(ENOTCONN);
        assertThat(errno("sock_shutdown", l, 3)).isEqualTo(ENOTCONN);
        assertThat(errno("fd_read", l, 16, 1, 8)).isEqualTo(ENOTCONN);
        assertThat(errno("fd_write", l, 16, 1, 8)).isEqualTo(ENOTCONN);
        assertThat(errno("sock_accept", 1, NONBLOCK, 8)).isEqualTo(ENOTSOCK);
        assertThat(errno("sock_accept", 50, NONBLOCK, 8)).isEqualTo(EBADF);
        assertThat(errno("sock_recv", 2, 16, 1, 0, 8, 12)).isEqualTo(ENOTSOCK);
        assertThat(errno("sock_send", 60, 16, 1, 0, 8)).isEqualTo(EBADF);
        assertThat(errno("sock_shutdown", 1, 3)).isEqualTo(ENOTSOCK);
    }

    @Test
    void aConnectionCarriesFramesBothWaysThroughTheIovecsAndItsFdIsReusedAfterClose() throws Exception {
        VirtualNetwork net = network();
        List<byte[]> atOther = new CopyOnWriteArrayList<>();
        GuestPort other = net.eventLoop()
                .submit(() -> net.attach(new FrameSink() {
                    @Override
                    public void sendFrame(ByteBuf frame) {
                        atOther.add(ByteBufUtil.getBytes(frame));
                        frame.release();
                    }
                }))
                .syncUninterruptibly()
                .getNow();
        start(new WasiHost.Config().sockets(InProcessLink.backend(net)));
        int l = host.listenFd();

        fdSub(1024, 0, 5, 1, l);
        clockSub(1024, 1, 6, 1, 0, false);
        assertThat(errno("poll_oneoff", 1024, 4096, 2, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(2);
        assertThat(event(4096, 0)).as("accept would succeed").isEqualTo(new Event(5, SUCCESS, 1, 1, 0));

        assertThat(host.currentLink()).isNull();
        assertThat(errno("sock_accept", l, NONBLOCK, 8)).isEqualTo(SUCCESS);
        int c = m.readInt(8);
        assertThat(c).isEqualTo(4);
        assertThat(host.currentLink()).isNotNull();
        assertThat(errno("sock_accept", l, NONBLOCK, 8))
                .as("one connection at a time")
                .isEqualTo(EAGAIN);
        assertThat(errno("sock_accept", c, NONBLOCK, 8))
                .as("not a listening socket")
                .isEqualTo(EINVAL);
        assertThat(errno("poll_oneoff", 1024, 4096, 2, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).as("only the clock: no second accept").isEqualTo(1);
        assertThat(event(4096, 0).userdata()).isEqualTo(6);
        assertThat(errno("fd_fdstat_get", c, 64)).isEqualTo(SUCCESS);
        assertThat(m.readShort(66)).isEqualTo((short) NONBLOCK);

        iovecs(16, 1000, 1500);
        assertThat(errno("sock_recv", c, 16, 1, 0, 8, 12)).isEqualTo(EAGAIN);
        assertThat(errno("fd_read", c, 16, 1, 8)).isEqualTo(EAGAIN);

        // guest to switch: one QEMU-framed frame gathered from three iovecs
        ByteBuffer f = ByteBuffer.allocate(4 + 60);
        f.putInt(60).put(BROADCAST).put(GUEST_MAC).putShort((short) 0x88b5);
        for (int i = 0; i < 46; i++) {
            f.put((byte) i);
        }
        byte[] framed = f.array();
        m.write(2000, framed, 0, 10);
        m.write(3000, framed, 10, 1);
        m.write(4000, framed, 11, framed.length - 11);
        iovecs(16, 2000, 10, 3000, 1, 5000, 0, 4000, framed.length - 11);
        m.writeI32(8, 0);
        assertThat(errno("sock_send", c, 16, 4, 0, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(framed.length);
        waitFor(() -> atOther.size() == 1);
        assertThat(ByteBuffer.wrap(atOther.get(0))).isEqualTo(ByteBuffer.wrap(framed, 4, 60));

        // switch to guest: the frame with its length prefix, scattered over two iovecs
        byte[] reply = new byte[70];
        System.arraycopy(GUEST_MAC, 0, reply, 0, 6);
        System.arraycopy(OTHER_MAC, 0, reply, 6, 6);
        reply[12] = (byte) 0x88;
        reply[13] = (byte) 0xb5;
        reply[69] = 42;
        net.eventLoop().execute(() -> other.receiveFrame(Unpooled.wrappedBuffer(reply)));
        fdSub(1024, 0, 7, 1, c);
        fdSub(1024, 1, 8, 2, c);
        waitFor(() -> {
            assertThat(errno("poll_oneoff", 1024, 4096, 2, 8)).isEqualTo(SUCCESS);
            return m.readInt(8) == 2;
        });
        assertThat(event(4096, 0)).isEqualTo(new Event(7, SUCCESS, 1, 74, 0));
        assertThat(event(4096, 1)).isEqualTo(new Event(8, SUCCESS, 2, 0, 0));
        iovecs(16, 6000, 3, 7000, 200);
        m.writeShort(12, (short) 0x7777);
        assertThat(errno("sock_recv", c, 16, 2, 0, 8, 12)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(74);
        assertThat(m.readShort(12)).isZero();
        byte[] got = new byte[74];
        System.arraycopy(m.readBytes(6000, 3), 0, got, 0, 3);
        System.arraycopy(m.readBytes(7000, 71), 0, got, 3, 71);
        assertThat(ByteBuffer.wrap(got).getInt()).isEqualTo(70);
        assertThat(ByteBuffer.wrap(got, 4, 70)).isEqualTo(ByteBuffer.wrap(reply));

        iovecs(16, 2000, 0);
        assertThat(errno("sock_send", c, 16, 1, 0, 8)).as("nothing to send").isEqualTo(SUCCESS);
        assertThat(errno("sock_shutdown", c, 2)).isEqualTo(SUCCESS);
        assertThat(errno("sock_send", c, 16, 1, 0, 8)).as("after SHUT_WR").isEqualTo(EPIPE);
        assertThat(errno("fd_write", c, 16, 1, 8)).isEqualTo(EPIPE);
        assertThat(errno("fd_close", c)).isEqualTo(SUCCESS);
        assertThat(host.currentLink()).isNull();
        assertThat(errno("fd_close", c)).as("Chicory's answer once it is gone").isEqualTo(EBADF);
        assertThat(errno("sock_accept", l, 0, 8)).isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isEqualTo(c);
        assertThat(errno("fd_fdstat_get", c, 64)).isEqualTo(SUCCESS);
        assertThat(m.readShort(66)).as("accepted without NONBLOCK").isZero();
        assertThat(errno("fd_fdstat_set_flags", c, NONBLOCK)).isEqualTo(SUCCESS);
        assertThat(errno("fd_fdstat_get", c, 64)).isEqualTo(SUCCESS);
        assertThat(m.readShort(66)).isEqualTo((short) NONBLOCK);
        assertThat(errno("sock_shutdown", c, 3)).isEqualTo(SUCCESS);
        iovecs(16, 1000, 100);
        assertThat(errno("sock_recv", c, 16, 1, 0, 8, 12))
                .as("both ways shut: end of stream")
                .isEqualTo(SUCCESS);
        assertThat(m.readInt(8)).isZero();
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    static void waitFor(Condition c) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.holds()) {
            assertThat(System.nanoTime()).as("condition not reached in 10 s").isLessThan(end);
            Thread.sleep(2);
        }
    }
}
