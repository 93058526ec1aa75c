package dev.c2w.wasi;

/**
 * What a guest blocked in {@code poll_oneoff} (or a blocking read) waits on. Anything that may make a guest
 * fd ready (a frame for the guest, room in the send queue, bytes on stdin, a closed link) calls {@link #signal()}.
 *
 * <p>The guest reads {@link #epoch()}, checks its fds, and only then waits for the epoch to move, so a signal
 * between the check and the wait is never lost.
 */
public final class Waker {
    private long epoch;

    public synchronized long epoch() {
        return epoch;
    }

    public synchronized void signal() {
        epoch++;
        notifyAll();
    }

    /**
     * Waits until the epoch differs from {@code seen} or {@code nanos} pass (negative: forever).
     * Returns false on timeout.
     */
    public synchronized boolean await(long seen, long nanos) throws InterruptedException {
        if (nanos < 0) {
            while (epoch == seen) {
                wait();
            }
            return true;
        }
        long deadline = System.nanoTime() + nanos;
        while (epoch == seen) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            long ms = left / 1_000_000;
            int ns = (int) (left % 1_000_000);
            wait(ms, ns);
        }
        return true;
    }

    /**
     * {@link #await} for a host function blocking on the guest thread: returns when the epoch moved or the
     * time passed; an interrupt (the runner stopping the guest) ends the call with
     * {@link WasiHost.GuestInterrupted}, the thread's interrupt flag set again.
     */
    void awaitOnGuest(long seen, long nanos) {
        try {
            await(seen, nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WasiHost.GuestInterrupted();
        }
    }
}
