package dev.c2w.wasi;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;

/**
 * The iovec arrays of fd_read, fd_write, sock_recv and sock_send ({@code {buf: u32, buf_len: u32}} pairs in
 * guest memory), and the copy buffer reads go through.
 *
 * <p>{@link #load} is the one place an array is checked, in this order: a count over {@link #IOV_MAX} (or
 * over 2^31) is refused, an array that does not lie inside memory traps (the "out of bounds memory access"
 * the guest's own load would raise), and lengths adding up to more than 2^31-1 bytes are refused; the
 * caller answers EINVAL for the refusals. {@link #scatter} and {@link #gather} then work from what
 * {@code load} checked: the lengths it decoded, and the buffer addresses read from the array when a buffer
 * is reached (a read that finds nothing queued, the common case, reads no address at all). The buffers
 * themselves are checked by the memory as they are reached, as before: a read traps only when bytes land
 * past the end of memory, a write when any of its buffers lies outside.
 *
 * <p>One per host, on the guest thread only: what {@code load} decoded holds until the next {@code load}.
 * Nothing here allocates per call except {@link #gather}'s result and the memory's own copies.
 */
final class Iovecs {
    /** Most iovecs one call may pass (Linux's IOV_MAX). */
    static final int IOV_MAX = 1024;
    /** Bytes of one iovec in guest memory. */
    static final int IOVEC_SIZE = 8;
    /** The copy buffer grows for requests up to this size; a larger request gets at least this much. */
    static final int SCRATCH_MAX = 1 << 20;

    private final int[] lengths = new int[IOV_MAX];
    /** The array {@link #load} checked, and how many iovecs it holds. */
    private int iovs;

    private int count;
    private byte[] scratch = new byte[4096];

    /**
     * Checks the array of {@code n} iovecs at {@code iovs}, reads their lengths and returns the total, or -1
     * when {@code n} is over
     * {@link #IOV_MAX} or negative, or the total is over 2^31-1 (EINVAL). No iovecs: the address is not
     * looked at.
     *
     * @throws WasmRuntimeException when the array runs past the end of memory (the trap)
     */
    int load(Memory m, int iovs, int n) {
        count = 0;
        if (n < 0 || n > IOV_MAX) {
            return -1;
        }
        long memBytes = (long) m.pages() * Memory.PAGE_SIZE;
        if (n > 0 && (iovs & 0xffffffffL) + (long) n * IOVEC_SIZE > memBytes) {
            throw new WasmRuntimeException("out of bounds memory access: " + n + " iovecs at "
                    + Integer.toUnsignedString(iovs) + " run past the end of memory (" + memBytes + " bytes)");
        }
        long total = 0;
        for (int i = 0; i < n; i++) {
            lengths[i] = m.readInt(iovs + i * IOVEC_SIZE + 4);
            total += lengths[i] & 0xffffffffL;
        }
        if (total > Integer.MAX_VALUE) {
            return -1;
        }
        this.iovs = iovs;
        count = n;
        return (int) total;
    }

    /** Iovecs loaded by the last {@link #load} (0 when it refused the array). */
    int count() {
        return count;
    }

    /** Copies {@code len} bytes of {@code src} into the loaded buffers, filling each in turn. */
    void scatter(Memory m, byte[] src, int len) {
        int off = 0;
        for (int i = 0; i < count && off < len; i++) {
            int k = Math.min(lengths[i], len - off);
            m.write(base(m, i), src, off, k);
            off += k;
        }
    }

    /** The loaded buffers' bytes, in order, in a new array of {@code total} (what {@link #load} returned) bytes. */
    byte[] gather(Memory m, int total) {
        byte[] out = new byte[total];
        int off = 0;
        for (int i = 0; i < count; i++) {
            byte[] part = m.readBytes(base(m, i), lengths[i]);
            System.arraycopy(part, 0, out, off, part.length);
            off += part.length;
        }
        return out;
    }

    /** The buffer address of loaded iovec {@code i} (inside the checked array). */
    private int base(Memory m, int i) {
        return m.readInt(iovs + i * IOVEC_SIZE);
    }

    /** A reusable copy buffer of at least min(want, {@link #SCRATCH_MAX}) bytes. */
    byte[] scratch(int want) {
        int n = Math.min(want, SCRATCH_MAX);
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, scratch.length * 2)];
        }
        return scratch;
    }
}
