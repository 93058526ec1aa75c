package dev.c2w.netstack.tcp;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Arrays;

/**
 * Guest segments that arrived after a gap, held until the retransmission fills it.
 *
 * <p>The guest's link does not reorder, so a gap means a frame was lost before us (a TAP that drops under
 * load); the queue is usually empty and short when not. Segments are kept sorted by sequence number as heap
 * copies ({@link TcpSocket#heldCopy}), at most {@code limit} bytes in all, and each must fit in the window
 * offered. Overlaps are trimmed when a segment is taken out, not when it is put in.
 */
final class ReassemblyQueue {
    private final int limit;
    private final ArrayList<ByteBuf> segments = new ArrayList<>();
    private int[] seqs = new int[0];
    private int bytes;

    ReassemblyQueue(int limit) {
        this.limit = limit;
    }

    boolean isEmpty() {
        return segments.isEmpty();
    }

    /** Bytes held. */
    int bytes() {
        return bytes;
    }

    /**
     * Holds a copy of {@code len} bytes of {@code from} at {@code index}, which carry sequence numbers from
     * {@code seq} on, {@code offset} bytes past the next expected one, in a window of {@code window} bytes.
     * Segments already held, out of the window or over the limit are not kept.
     */
    void hold(int seq, int offset, int window, ByteBuf from, int index, int len) {
        if (offset + len > window || bytes + len > limit) {
            return;
        }
        int n = segments.size();
        int at = n;
        for (int i = 0; i < n; i++) {
            int s = seqs[i];
            if (s == seq) {
                return;
            }
            if (SeqNum.lt(seq, s)) {
                at = i;
                break;
            }
        }
        if (seqs.length <= n) {
            seqs = Arrays.copyOf(seqs, Math.max(8, n * 2));
        }
        System.arraycopy(seqs, at, seqs, at + 1, n - at);
        seqs[at] = seq;
        segments.add(at, TcpSocket.heldCopy(from, index, len));
        bytes += len;
    }

    /**
     * The next held bytes that continue at {@code rcvNxt} (trimmed of what is already received), or null.
     * Segments wholly before {@code rcvNxt} are freed on the way. Ownership of the result passes.
     */
    ByteBuf pollInOrder(int rcvNxt) {
        while (!segments.isEmpty() && SeqNum.ge(rcvNxt, seqs[0])) {
            ByteBuf b = segments.remove(0);
            int seq = seqs[0];
            System.arraycopy(seqs, 1, seqs, 0, segments.size());
            bytes -= b.readableBytes();
            int skip = rcvNxt - seq;
            if (skip >= b.readableBytes()) {
                b.release();
                continue;
            }
            return b.skipBytes(skip);
        }
        return null;
    }

    void release() {
        for (ByteBuf b : segments) {
            b.release();
        }
        segments.clear();
        bytes = 0;
    }
}
