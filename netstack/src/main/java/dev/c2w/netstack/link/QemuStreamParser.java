package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;

/**
 * Incremental parser of the QEMU stream framing.
 *
 * <p>The QEMU stream framing (QEMU -netdev socket / -netdev stream, and upstream c2w):
 * every Ethernet frame travels as a 4-byte big-endian length followed by that many bytes.
 * A stream may split a frame anywhere, or pack many frames into one read; this parser
 * only ever looks at what it has and waits for the rest. It checks the length before it
 * reads or allocates anything: zero or more than the cap is a broken or hostile peer,
 * and the caller closes that one connection.
 */
public final class QemuStreamParser {
    /** Bytes of the length prefix. */
    public static final int PREFIX = 4;

    /** Thrown for a length prefix that is zero or above the cap. */
    public static final class BadLengthException extends Exception {
        private static final long serialVersionUID = 1L;

        public final long length;

        BadLengthException(long length, int cap) {
            super(
                    length == 0
                            ? "zero-length frame in QEMU stream (peer is not speaking QEMU stream framing?)"
                            : "frame length " + length + " exceeds the cap of " + cap
                                    + " bytes (peer is not speaking QEMU stream framing?)");
            this.length = length;
        }
    }

    private final int maxFrame;

    public QemuStreamParser(int maxFrame) {
        this.maxFrame = maxFrame;
    }

    public int maxFrame() {
        return maxFrame;
    }

    /**
     * Returns the next whole frame in {@code in} as a retained slice (the caller owns it) and advances
     * past it, or null when {@code in} does not yet hold a whole frame (nothing is consumed).
     */
    public ByteBuf next(ByteBuf in) throws BadLengthException {
        if (in.readableBytes() < PREFIX) {
            return null;
        }
        long len = in.getUnsignedInt(in.readerIndex());
        if (len == 0 || len > maxFrame) {
            throw new BadLengthException(len, maxFrame);
        }
        if (in.readableBytes() < PREFIX + len) {
            return null;
        }
        in.skipBytes(PREFIX);
        return in.readRetainedSlice((int) len);
    }
}
