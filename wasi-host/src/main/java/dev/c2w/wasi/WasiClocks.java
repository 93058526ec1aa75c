package dev.c2w.wasi;

import static dev.c2w.wasi.WasiAbi.CLOCK_MONOTONIC;
import static dev.c2w.wasi.WasiAbi.CLOCK_PROCESS_CPUTIME_ID;
import static dev.c2w.wasi.WasiAbi.CLOCK_REALTIME;
import static dev.c2w.wasi.WasiAbi.CLOCK_THREAD_CPUTIME_ID;
import static dev.c2w.wasi.WasiAbi.EINVAL;
import static dev.c2w.wasi.WasiAbi.SUCCESS;

import com.dylibso.chicory.runtime.Memory;
import java.time.Clock;
import java.time.Instant;

/**
 * clock_time_get and clock_res_get for the four preview 1 clocks, and the readings poll_oneoff turns
 * absolute deadlines into. Chicory's own functions throw on the CPU-time clocks; here those read the time
 * elapsed since the host was made. Realtime comes from the {@link Clock} Chicory is given too, so both
 * agree; monotonic is {@link System#nanoTime()}.
 */
final class WasiClocks {
    private final Clock clock;
    private final long startNanos = System.nanoTime();

    WasiClocks(Clock clock) {
        this.clock = clock;
    }

    /** True for the clock ids preview 1 defines (0..3). */
    static boolean isClock(int id) {
        return id >= CLOCK_REALTIME && id <= CLOCK_THREAD_CPUTIME_ID;
    }

    long realtimeNanos() {
        Instant t = clock.instant();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    long monotonicNanos() {
        return System.nanoTime();
    }

    /** clock_time_get(id, precision, time_out); the precision is not used. */
    int timeGet(Memory m, int id, long precision, int out) {
        long v;
        switch (id) {
            case CLOCK_REALTIME -> v = realtimeNanos();
            case CLOCK_MONOTONIC -> v = monotonicNanos();
            case CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID -> v = System.nanoTime() - startNanos;
            default -> {
                return EINVAL;
            }
        }
        m.writeLong(out, v);
        return SUCCESS;
    }

    /** clock_res_get(id, resolution_out): 1000 ns for realtime, 1 ns for the others. */
    int resGet(Memory m, int id, int out) {
        if (!isClock(id)) {
            return EINVAL;
        }
        m.writeLong(out, id == CLOCK_REALTIME ? 1000L : 1L);
        return SUCCESS;
    }
}
