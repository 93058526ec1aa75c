package dev.c2w.netstack.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * Bytes written towards the guest and not yet acknowledged, with the sequence number of the first.
 *
 * <p>Written buffers are added as components of one composite (no copy); a segment is cut by copying its
 * range straight into the outgoing frame, and acknowledged bytes are skipped, their components freed in
 * batches. Retransmissions read the same bytes again.
 */
final class SendQueue {
    private static final int DISCARD_COMPONENTS = 64;

    private final CompositeByteBuf buf;
    private int startSeq;

    SendQueue(ByteBufAllocator alloc) {
        this.buf = alloc.compositeDirectBuffer(4096);
    }

    /** The queue's first byte will carry sequence number {@code seq} (set once the handshake completes). */
    void startAt(int seq) {
        startSeq = seq;
    }

    /** Sequence number of the first queued byte. */
    int startSeq() {
        return startSeq;
    }

    /** Sequence number after the last queued byte. */
    int endSeq() {
        return startSeq + buf.readableBytes();
    }

    int size() {
        return buf.readableBytes();
    }

    /** Takes ownership of {@code data} (not empty). */
    void append(ByteBuf data) {
        buf.addComponent(true, data);
    }

    /** Frees the first {@code n} bytes, which the guest acknowledged. {@code n} is at most {@link #size}. */
    void acknowledge(int n) {
        if (n <= 0) {
            return;
        }
        buf.skipBytes(n);
        startSeq += n;
        if (buf.numComponents() > DISCARD_COMPONENTS || buf.readableBytes() == 0) {
            buf.discardReadComponents();
        }
    }

    /**
     * Copies {@code len} bytes from sequence number {@code seq} into {@code dst} at {@code dstIndex}.
     * The composite copies component by component; setting bytes from a composite would first merge it
     * into one heap buffer (Netty's nioBuffer of a composite).
     */
    void copy(int seq, int len, ByteBuf dst, int dstIndex) {
        buf.getBytes(buf.readerIndex() + (seq - startSeq), dst, dstIndex, len);
    }

    void release() {
        if (buf.refCnt() > 0) {
            buf.release();
        }
    }
}
