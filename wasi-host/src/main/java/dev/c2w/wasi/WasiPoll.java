package dev.c2w.wasi;

import static dev.c2w.wasi.WasiAbi.CLOCK_REALTIME;
import static dev.c2w.wasi.WasiAbi.EBADF;
import static dev.c2w.wasi.WasiAbi.EFAULT;
import static dev.c2w.wasi.WasiAbi.EINVAL;
import static dev.c2w.wasi.WasiAbi.EVENTTYPE_CLOCK;
import static dev.c2w.wasi.WasiAbi.EVENTTYPE_FD_READ;
import static dev.c2w.wasi.WasiAbi.EVENTTYPE_FD_WRITE;
import static dev.c2w.wasi.WasiAbi.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
import static dev.c2w.wasi.WasiAbi.SUCCESS;

import com.dylibso.chicory.runtime.Memory;

/**
 * poll_oneoff, on every kind of fd the guest has: clock subscriptions (relative or absolute, realtime or
 * monotonic; a timeout beyond 100 years never fires) and fd_read/fd_write on sockets (asked of
 * {@link WasiSockets}), on stdin (bytes queued or end of input) and on any other open fd (always ready, like
 * a file); an fd that is not open gives an event with EBADF. Nothing ready: the guest waits on the
 * {@link Waker} until the earliest deadline, then looks again.
 *
 * <p>Layouts (preview 1, little-endian). A subscription is 48 bytes: userdata u64 at 0, the event type u8 at
 * 8, then for a clock its id u32 at 16, timeout u64 at 24, precision u64 at 32 and flags u16 at 40 (bit 0:
 * absolute), for fd_read/fd_write the fd u32 at 16. An event is 32 bytes: userdata u64 at 0, errno u16 at 8,
 * type u8 at 10, nbytes u64 at 16, flags u16 at 24 (bit 0: hangup), the rest zero.
 *
 * <p>Guest thread only. Up to {@link #REUSED} subscriptions are decoded into arrays kept from call to call.
 */
final class WasiPoll {
    static final int SUBSCRIPTION_SIZE = 48;
    static final int EVENT_SIZE = 32;
    /** Timeouts this long (100 years) never fire. */
    static final long NEVER = 100L * 365 * 24 * 3600 * 1_000_000_000L;
    /** Calls with up to this many subscriptions decode them into {@link #reused}. */
    static final int REUSED = 16;

    private final WasiSockets sockets;
    private final WasiStdin stdin;
    private final ChicoryFdTable table;
    private final WasiClocks clocks;
    private final Waker waker;
    private final Subscriptions reused = new Subscriptions(REUSED);

    WasiPoll(WasiSockets sockets, WasiStdin stdin, ChicoryFdTable table, WasiClocks clocks, Waker waker) {
        this.sockets = sockets;
        this.stdin = stdin;
        this.table = table;
        this.clocks = clocks;
        this.waker = waker;
    }

    /** poll_oneoff(in, out, nsubscriptions, nevents_out). */
    int oneoff(Memory m, int in, int out, int nsubs, int neventsOut) {
        if (nsubs <= 0) {
            return EINVAL;
        }
        long memBytes = (long) m.pages() * Memory.PAGE_SIZE;
        if ((in & 0xffffffffL) + (long) nsubs * SUBSCRIPTION_SIZE > memBytes
                || (out & 0xffffffffL) + (long) nsubs * EVENT_SIZE > memBytes) {
            return EFAULT; // a hostile count must not make us allocate for it
        }
        Subscriptions s = nsubs <= reused.capacity() ? reused : new Subscriptions(nsubs);
        int errno = s.decode(m, in, nsubs, System.nanoTime(), clocks);
        if (errno != SUCCESS) {
            return errno;
        }
        while (true) {
            long seen = waker.epoch();
            int n = 0;
            long now = System.nanoTime();
            for (int i = 0; i < nsubs; i++) {
                int e = out + n * EVENT_SIZE;
                if (s.type[i] == EVENTTYPE_CLOCK) {
                    if (s.fired(i, now)) {
                        writeEvent(m, e, s.userdata[i], SUCCESS, EVENTTYPE_CLOCK, 0, 0);
                        n++;
                    }
                } else if (fdEvent(m, e, s.userdata[i], s.type[i], s.fd[i])) {
                    n++;
                }
            }
            if (n > 0) {
                m.writeI32(neventsOut, n);
                return SUCCESS;
            }
            waker.awaitOnGuest(seen, s.nanosToNextDeadline(now));
        }
    }

    /** Writes an event for an fd subscription that is ready (or in error) and returns true. */
    private boolean fdEvent(Memory m, int e, long userdata, int type, int fd) {
        if (sockets.isSocket(fd)) {
            return sockets.pollEvent(m, e, userdata, type, fd);
        }
        if (fd == WasiStdin.FD && type == EVENTTYPE_FD_READ) {
            if (stdin.readable()) {
                writeEvent(m, e, userdata, SUCCESS, type, stdin.queued(), 0);
                return true;
            }
            return false;
        }
        if (!table.isOpen(fd)) {
            writeEvent(m, e, userdata, EBADF, type, 0, 0);
            return true;
        }
        // stdout, stderr, files and directories are always ready
        writeEvent(m, e, userdata, SUCCESS, type, 0, 0);
        return true;
    }

    /** Writes one event at {@code e}, zeroing the padding. */
    static void writeEvent(Memory m, int e, long userdata, int errno, int type, long nbytes, int flags) {
        m.fill((byte) 0, e, e + EVENT_SIZE);
        m.writeLong(e, userdata);
        m.writeShort(e + 8, (short) errno);
        m.writeByte(e + 10, (byte) type);
        m.writeLong(e + 16, nbytes);
        m.writeShort(e + 24, (short) flags);
    }

    /** Decoded subscriptions: one entry per subscription, in the guest's order. */
    static final class Subscriptions {
        final long[] userdata;
        final int[] type;
        /** The fd of an fd_read/fd_write subscription. */
        final int[] fd;
        /** When a clock subscription fires, in {@link System#nanoTime()} terms; Long.MAX_VALUE: never. */
        final long[] deadline;

        int count;

        Subscriptions(int capacity) {
            userdata = new long[capacity];
            type = new int[capacity];
            fd = new int[capacity];
            deadline = new long[capacity];
        }

        int capacity() {
            return userdata.length;
        }

        /**
         * Reads {@code n} (at most {@link #capacity()}) subscriptions at {@code in}, which the caller has
         * checked lie inside memory; relative timeouts count from {@code now} (nanoTime). Returns SUCCESS,
         * or EINVAL for an unknown event type or clock id ({@link #count} is then 0).
         */
        int decode(Memory m, int in, int n, long now, WasiClocks clocks) {
            count = 0;
            for (int i = 0; i < n; i++) {
                int p = in + i * SUBSCRIPTION_SIZE;
                userdata[i] = m.readLong(p);
                type[i] = m.read(p + 8) & 0xff;
                if (type[i] == EVENTTYPE_CLOCK) {
                    int id = m.readInt(p + 16);
                    long timeout = m.readLong(p + 24);
                    boolean abs = (m.readShort(p + 40) & SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) != 0;
                    if (!WasiClocks.isClock(id)) {
                        return EINVAL;
                    }
                    long rel;
                    if (timeout < 0) {
                        rel = Long.MAX_VALUE; // an unsigned timeout beyond 292 years: never
                    } else if (!abs) {
                        rel = timeout;
                    } else if (id == CLOCK_REALTIME) {
                        rel = timeout - clocks.realtimeNanos();
                    } else {
                        rel = timeout - clocks.monotonicNanos();
                    }
                    if (rel >= NEVER) {
                        deadline[i] = Long.MAX_VALUE;
                    } else {
                        deadline[i] = rel <= 0 ? now : now + rel;
                    }
                } else if (type[i] == EVENTTYPE_FD_READ || type[i] == EVENTTYPE_FD_WRITE) {
                    fd[i] = m.readInt(p + 16);
                } else {
                    return EINVAL;
                }
            }
            count = n;
            return SUCCESS;
        }

        /** True when subscription {@code i} is a clock that has fired by {@code now}. */
        boolean fired(int i, long now) {
            return type[i] == EVENTTYPE_CLOCK && deadline[i] != Long.MAX_VALUE && now - deadline[i] >= 0;
        }

        /** Nanoseconds from {@code now} to the earliest deadline (at least 1), or -1 when no clock can fire. */
        long nanosToNextDeadline(long now) {
            long wait = -1;
            for (int i = 0; i < count; i++) {
                if (type[i] == EVENTTYPE_CLOCK && deadline[i] != Long.MAX_VALUE) {
                    long left = Math.max(1, deadline[i] - now);
                    wait = wait < 0 ? left : Math.min(wait, left);
                }
            }
            return wait;
        }
    }
}
