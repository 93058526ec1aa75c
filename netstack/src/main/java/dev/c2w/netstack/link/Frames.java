package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Conventions for frame buffers built by the stack. */
public final class Frames {
    /** Spare bytes the stack leaves before each frame it builds, room for the QEMU length prefix. */
    public static final int HEADROOM = 4;

    private Frames() {}

    /** A buffer for a frame of {@code frameLength} bytes, with {@link #HEADROOM} before its reader index. */
    public static ByteBuf allocate(ByteBufAllocator alloc, int frameLength) {
        ByteBuf b = alloc.directBuffer(HEADROOM + frameLength);
        b.writerIndex(HEADROOM);
        b.readerIndex(HEADROOM);
        return b;
    }

    /**
     * Returns {@code frame} with the 4-byte big-endian length in front: in place when it has headroom
     * (and is not shared), else as a composite of a new prefix and the frame. Takes ownership of {@code frame}.
     */
    public static ByteBuf withLengthPrefix(ByteBufAllocator alloc, ByteBuf frame) {
        int len = frame.readableBytes();
        int ri = frame.readerIndex();
        if (ri >= QemuStreamParser.PREFIX && frame.refCnt() == 1 && !frame.isReadOnly()) {
            frame.setInt(ri - QemuStreamParser.PREFIX, len);
            frame.readerIndex(ri - QemuStreamParser.PREFIX);
            return frame;
        }
        ByteBuf prefix = alloc.directBuffer(QemuStreamParser.PREFIX).writeInt(len);
        return alloc.compositeDirectBuffer(2).addComponents(true, prefix, frame);
    }
}
