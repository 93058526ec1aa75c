package dev.c2w.wasi;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Non-blocking stdin for the guest: a daemon thread reads the host's stdin into a bounded queue and
 * signals the {@link Waker}; the guest's fd_read and poll_oneoff look at the queue and never block on the
 * host stream itself. Started on the guest's first use of fd 0, so a guest that never reads stdin does not
 * consume it.
 */
final class StdinPump {
    private static final int CAPACITY = 1 << 20;

    private final InputStream in;
    private final Waker waker;
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private int headOffset;
    private int queued;
    private boolean eof;
    private boolean started;

    StdinPump(InputStream in, Waker waker) {
        this.in = in;
        this.waker = waker;
    }

    private synchronized void startIfNeeded() {
        if (started) {
            return;
        }
        started = true;
        Thread t = new Thread(this::pump, "wasi-stdin");
        t.setDaemon(true);
        t.start();
    }

    private void pump() {
        byte[] buf = new byte[8192];
        try {
            while (true) {
                synchronized (this) {
                    while (queued >= CAPACITY) {
                        wait();
                    }
                }
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    continue;
                }
                byte[] c = Arrays.copyOf(buf, n);
                synchronized (this) {
                    chunks.addLast(c);
                    queued += n;
                }
                waker.signal();
            }
        } catch (IOException | InterruptedException e) {
            // treat as end of input
        }
        synchronized (this) {
            eof = true;
        }
        waker.signal();
    }

    /** Bytes copied, 0 when nothing is queued yet, -1 at end of input. */
    synchronized int read(byte[] dst, int off, int len) {
        startIfNeeded();
        if (queued == 0) {
            return eof ? -1 : 0;
        }
        int done = 0;
        while (done < len && !chunks.isEmpty()) {
            byte[] head = chunks.peekFirst();
            int n = Math.min(len - done, head.length - headOffset);
            System.arraycopy(head, headOffset, dst, off + done, n);
            done += n;
            headOffset += n;
            if (headOffset == head.length) {
                chunks.pollFirst();
                headOffset = 0;
            }
        }
        queued -= done;
        notifyAll();
        return done;
    }

    /** True when a read would return bytes or end of input. */
    synchronized boolean readable() {
        startIfNeeded();
        return queued > 0 || eof;
    }

    synchronized int queued() {
        return queued;
    }
}
