package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import java.io.InputStream;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * poll_oneoff's layouts without a module: subscriptions decoded by {@link WasiPoll.Subscriptions}, events
 * written by {@link WasiPoll#writeEvent}, and {@link WasiPoll#oneoff} on more subscriptions than it keeps
 * arrays for.
 */
class WasiPollTest {
    static final long T0 = 1_000_000_000_000L; // the fixed realtime clock: 1000 s after 1970
    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    final FlatMemory m = new FlatMemory(new MemoryLimits(1, 1));
    final WasiClocks clocks = new WasiClocks(Clock.fixed(Instant.ofEpochSecond(1000), ZoneOffset.UTC));
    WasiPreview1 wasi;

    @AfterEach
    void tearDown() {
        if (wasi != null) {
            wasi.close();
        }
    }

    void clockSub(int in, int i, long userdata, int id, long timeout, int flags) {
        int p = in + WasiPoll.SUBSCRIPTION_SIZE * i;
        m.fill((byte) 0x77, p, p + WasiPoll.SUBSCRIPTION_SIZE); // padding is ignored
        m.writeLong(p, userdata);
        m.writeByte(p + 8, (byte) 0);
        m.writeI32(p + 16, id);
        m.writeLong(p + 24, timeout);
        m.writeLong(p + 32, 0);
        m.writeShort(p + 40, (short) flags);
    }

    void fdSub(int in, int i, long userdata, int type, int fd) {
        int p = in + WasiPoll.SUBSCRIPTION_SIZE * i;
        m.fill((byte) 0x77, p, p + WasiPoll.SUBSCRIPTION_SIZE);
        m.writeLong(p, userdata);
        m.writeByte(p + 8, (byte) type);
        m.writeI32(p + 16, fd);
    }

    @Test
    void clockSubscriptionsBecomeDeadlinesOnTheMonotonicClock() {
        long now = 5_000 * MS;
        clockSub(0, 0, 10, 1, 7 * MS, 0); // relative
        clockSub(0, 1, 11, 0, T0 + 3 * MS, 1); // absolute realtime, 3 ms ahead
        clockSub(0, 2, 12, 0, T0 - 3 * MS, 1); // absolute realtime, past: fires now
        clockSub(0, 3, 13, 1, 0, 0); // relative 0
        clockSub(0, 4, 14, 1, WasiPoll.NEVER, 0); // 100 years: never
        clockSub(0, 5, 15, 1, -1, 0); // 2^64-1 ns: never
        clockSub(0, 6, 16, 3, 2 * MS, 0); // CPU-time clock, relative
        fdSub(0, 7, 17, 1, 5);
        fdSub(0, 8, 18, 2, 6);
        WasiPoll.Subscriptions s = new WasiPoll.Subscriptions(9);
        assertThat(s.decode(m, 0, 9, now, clocks)).isZero();
        assertThat(s.count).isEqualTo(9);
        assertThat(s.userdata).containsExactly(10, 11, 12, 13, 14, 15, 16, 17, 18);
        assertThat(s.type).containsExactly(0, 0, 0, 0, 0, 0, 0, 1, 2);
        assertThat(s.deadline[0]).isEqualTo(now + 7 * MS);
        assertThat(s.deadline[1]).isEqualTo(now + 3 * MS);
        assertThat(s.deadline[2]).isEqualTo(now);
        assertThat(s.deadline[3]).isEqualTo(now);
        assertThat(s.deadline[4]).isEqualTo(Long.MAX_VALUE);
        assertThat(s.deadline[5]).isEqualTo(Long.MAX_VALUE);
        assertThat(s.deadline[6]).isEqualTo(now + 2 * MS);
        assertThat(s.fd[7]).isEqualTo(5);
        assertThat(s.fd[8]).isEqualTo(6);

        assertThat(s.fired(2, now)).isTrue();
        assertThat(s.fired(0, now)).isFalse();
        assertThat(s.fired(0, now + 7 * MS)).isTrue();
        assertThat(s.fired(4, Long.MAX_VALUE)).as("never").isFalse();
        assertThat(s.fired(7, now)).as("not a clock").isFalse();
        assertThat(s.nanosToNextDeadline(now))
                .as("an expired deadline still waits 1 ns")
                .isEqualTo(1);
        assertThat(s.nanosToNextDeadline(now - MS)).isEqualTo(MS);
    }

    @Test
    void anAbsoluteMonotonicDeadlineCountsFromTheMonotonicClock() {
        long now = System.nanoTime();
        clockSub(0, 0, 1, 1, System.nanoTime() + 50 * MS, 1);
        WasiPoll.Subscriptions s = new WasiPoll.Subscriptions(1);
        assertThat(s.decode(m, 0, 1, now, clocks)).isZero();
        assertThat(s.deadline[0] - now).isBetween(0L, 50 * MS);
    }

    @Test
    void withoutClocksNothingBoundsTheWait() {
        fdSub(0, 0, 1, 1, 5);
        clockSub(0, 1, 2, 1, -1, 0);
        WasiPoll.Subscriptions s = new WasiPoll.Subscriptions(2);
        assertThat(s.decode(m, 0, 2, 0, clocks)).isZero();
        assertThat(s.nanosToNextDeadline(0)).isEqualTo(-1);
    }

    @Test
    void anUnknownEventTypeOrClockIdIsEinvalAndLeavesNoSubscriptions() {
        WasiPoll.Subscriptions s = new WasiPoll.Subscriptions(4);
        fdSub(0, 0, 1, 1, 5);
        fdSub(0, 1, 2, 3, 5);
        assertThat(s.decode(m, 0, 2, 0, clocks)).isEqualTo(WasiAbi.EINVAL);
        assertThat(s.count).isZero();
        clockSub(0, 1, 2, 4, 0, 0);
        assertThat(s.decode(m, 0, 2, 0, clocks)).isEqualTo(WasiAbi.EINVAL);
        clockSub(0, 1, 2, -1, 0, 0);
        assertThat(s.decode(m, 0, 2, 0, clocks)).isEqualTo(WasiAbi.EINVAL);
        fdSub(0, 1, 2, 2, 5);
        assertThat(s.decode(m, 0, 2, 0, clocks)).isZero();
        assertThat(s.count).isEqualTo(2);
    }

    @Test
    void anEventIsThirtyTwoBytesWithItsPaddingZeroed() {
        m.fill((byte) 0x55, 0, 96);
        WasiPoll.writeEvent(m, 32, 0x1122334455667788L, WasiAbi.EBADF, 2, 0x0102030405L, 1);
        assertThat(m.readLong(32)).isEqualTo(0x1122334455667788L);
        assertThat(m.readShort(40)).isEqualTo((short) WasiAbi.EBADF);
        assertThat(m.read(42)).isEqualTo((byte) 2);
        assertThat(m.read(43)).isZero();
        assertThat(m.readInt(44)).isZero();
        assertThat(m.readLong(48)).isEqualTo(0x0102030405L);
        assertThat(m.readShort(56)).isEqualTo((short) 1);
        assertThat(m.readShort(58)).isZero();
        assertThat(m.readInt(60)).isZero();
        assertThat(m.read(31)).as("before").isEqualTo((byte) 0x55);
        assertThat(m.read(64)).as("after").isEqualTo((byte) 0x55);
    }

    @Test
    void manySubscriptionsAreDecodedIntoArraysOfTheirOwnAndFewIntoTheKeptOnes() {
        wasi = WasiPreview1.builder().withOptions(WasiOptions.builder().build()).build();
        ChicoryFdTable table = new ChicoryFdTable(wasi);
        Waker waker = new Waker();
        Iovecs iovecs = new Iovecs();
        WasiStdin stdin = new WasiStdin(InputStream.nullInputStream(), waker, iovecs);
        WasiPoll poll = new WasiPoll(new WasiSockets(table, null, waker, iovecs), stdin, table, clocks, waker);
        int n = WasiPoll.REUSED + 4;
        for (int i = 0; i < n; i++) {
            fdSub(0, i, 100 + i, 2, i % 3); // fd_write on stdio: always ready
        }
        int out = 2 * WasiPoll.SUBSCRIPTION_SIZE * n;
        assertThat(poll.oneoff(m, 0, out, n, 8)).isZero();
        assertThat(m.readInt(8)).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            assertThat(m.readLong(out + WasiPoll.EVENT_SIZE * i)).isEqualTo(100 + i);
        }
        fdSub(0, 0, 7, 1, 99); // not open: EBADF
        clockSub(0, 1, 8, 1, 0, 0);
        assertThat(poll.oneoff(m, 0, out, 2, 8)).isZero();
        assertThat(m.readInt(8)).isEqualTo(2);
        assertThat(m.readLong(out)).isEqualTo(7);
        assertThat(m.readShort(out + 8)).isEqualTo((short) WasiAbi.EBADF);
        assertThat(m.readLong(out + WasiPoll.EVENT_SIZE)).isEqualTo(8);
        assertThat(m.readShort(out + WasiPoll.EVENT_SIZE + 8)).isZero();
    }

    @Test
    void theLastSubscriptionMayEndAtTheEndOfMemory() {
        wasi = WasiPreview1.builder().withOptions(WasiOptions.builder().build()).build();
        ChicoryFdTable table = new ChicoryFdTable(wasi);
        Waker waker = new Waker();
        Iovecs iovecs = new Iovecs();
        WasiStdin stdin = new WasiStdin(InputStream.nullInputStream(), waker, iovecs);
        WasiPoll poll = new WasiPoll(new WasiSockets(table, null, waker, iovecs), stdin, table, clocks, waker);
        int in = Memory.PAGE_SIZE - WasiPoll.SUBSCRIPTION_SIZE;
        clockSub(in, 0, 9, 1, 0, 0);
        assertThat(poll.oneoff(m, in, Memory.PAGE_SIZE - WasiPoll.EVENT_SIZE, 1, 8))
                .isZero();
        assertThat(m.readLong(Memory.PAGE_SIZE - WasiPoll.EVENT_SIZE)).isEqualTo(9);
        assertThat(poll.oneoff(m, in + 1, 4096, 1, 8)).isEqualTo(WasiAbi.EFAULT);
        assertThat(poll.oneoff(m, -48, 4096, 1, 8)).as("an address over 2 GiB").isEqualTo(WasiAbi.EFAULT);
    }
}
