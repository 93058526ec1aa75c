package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * Static accessors over an Ethernet frame in a {@link ByteBuf}.
 *
 * <p>Ethernet II header view: destination MAC (6), source MAC (6), EtherType (2). No FCS: QEMU's stream
 * carries frames without it. NICs may pad short frames to 60 bytes, so the payload length of an
 * Ethernet frame says nothing about the packet inside; upper layers take lengths from their own headers.
 * All accessors read at absolute offsets from the frame's reader index and never move indices.
 */
public final class Ethernet {
    public static final int HEADER = 14;
    public static final int TYPE_IPV4 = 0x0800;
    public static final int TYPE_ARP = 0x0806;
    public static final int TYPE_IPV6 = 0x86dd;

    private Ethernet() {}

    public static long dst(ByteBuf f) {
        return MacAddress.read(f, f.readerIndex());
    }

    public static long src(ByteBuf f) {
        return MacAddress.read(f, f.readerIndex() + 6);
    }

    public static int type(ByteBuf f) {
        return f.getUnsignedShort(f.readerIndex() + 12);
    }

    /** Writes a header at the writer index and advances it. */
    public static void writeHeader(ByteBuf f, long dst, long src, int type) {
        int i = f.writerIndex();
        f.ensureWritable(HEADER);
        MacAddress.write(f, i, dst);
        MacAddress.write(f, i + 6, src);
        f.setShort(i + 12, type);
        f.writerIndex(i + HEADER);
    }
}
