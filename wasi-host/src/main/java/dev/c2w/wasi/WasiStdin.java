package dev.c2w.wasi;

import static dev.c2w.wasi.WasiAbi.EAGAIN;
import static dev.c2w.wasi.WasiAbi.EINVAL;
import static dev.c2w.wasi.WasiAbi.FDFLAGS_NONBLOCK;
import static dev.c2w.wasi.WasiAbi.SUCCESS;

import com.dylibso.chicory.runtime.Memory;
import java.io.InputStream;

/**
 * The guest's fd 0. Reads come from the {@link StdinPump}'s queue, so the guest never blocks on the host's
 * stdin stream itself (Chicory's stdin read would), and honour the NONBLOCK flag the guest sets with
 * fd_fdstat_set_flags, which Chicory's stdin does not keep. poll_oneoff asks {@link #readable()}. The rest of
 * fd 0 (its fdstat, its rights) is Chicory's, with NONBLOCK added to the flags when it is set.
 */
final class WasiStdin {
    static final int FD = 0;

    private final StdinPump pump;
    private final Waker waker;
    private final Iovecs iovecs;
    private boolean nonblock;

    WasiStdin(InputStream in, Waker waker, Iovecs iovecs) {
        this.pump = new StdinPump(in, waker);
        this.waker = waker;
        this.iovecs = iovecs;
    }

    /** fd_read(0, iovs, iovs_len, nread_out): what is queued, up to the iovecs' total; 0 bytes at end of input. */
    int read(Memory m, int iovs, int iovsLen, int nreadOut) {
        int total = iovecs.load(m, iovs, iovsLen);
        if (total < 0) {
            return EINVAL;
        }
        while (true) {
            long seen = waker.epoch();
            byte[] buf = iovecs.scratch(Math.min(total, Math.max(1, pump.queued())));
            int n = pump.read(buf, 0, Math.min(total, buf.length));
            if (n != 0 || total == 0) {
                n = Math.max(n, 0); // -1: end of input, 0 bytes
                iovecs.scatter(m, buf, n);
                m.writeI32(nreadOut, n);
                return SUCCESS;
            }
            if (nonblock) {
                return EAGAIN;
            }
            waker.awaitOnGuest(seen, -1);
        }
    }

    /** fd_fdstat_set_flags(0, flags): only NONBLOCK means anything on fd 0. */
    int setFlags(int flags) {
        nonblock = (flags & FDFLAGS_NONBLOCK) != 0;
        return SUCCESS;
    }

    /** After Chicory's fd_fdstat_get(0, fdstat) succeeded: adds NONBLOCK to the flags it wrote, when set. */
    int addNonblockFlag(Memory m, int fdstat) {
        if (nonblock) {
            m.writeShort(fdstat + 2, (short) (m.readShort(fdstat + 2) | FDFLAGS_NONBLOCK));
        }
        return SUCCESS;
    }

    /** True when a read would return bytes or end of input (starts the pump). */
    boolean readable() {
        return pump.readable();
    }

    /** Bytes queued for the guest. */
    int queued() {
        return pump.queued();
    }
}
