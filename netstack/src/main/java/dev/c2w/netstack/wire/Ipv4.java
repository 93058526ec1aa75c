package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * IPv4 header accessors.
 *
 * <p>IPv4 header view (RFC 791) at an absolute offset in a frame buffer. validate() checks, in order,
 * every length before anything that depends on it is read: version, header length, total length
 * against the bytes actually present (a frame may be padded to 60 bytes by the NIC, so the packet's
 * length always comes from the total-length field, never from the frame), and the header checksum.
 */
public final class Ipv4 {
    public static final int MIN_HEADER = 20;
    public static final int PROTO_ICMP = 1;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;

    /** validate() results. */
    public static final int OK = 0;

    public static final int MALFORMED = 1;
    public static final int BAD_CHECKSUM = 2;

    private Ipv4() {}

    /** Checks the header at {@code off} against {@code available} bytes that follow it. */
    public static int validate(ByteBuf f, int off, int available) {
        if (available < MIN_HEADER) {
            return MALFORMED;
        }
        int vihl = f.getUnsignedByte(off);
        if ((vihl >>> 4) != 4) {
            return MALFORMED;
        }
        int ihl = (vihl & 0xf) * 4;
        if (ihl < MIN_HEADER || ihl > available) {
            return MALFORMED;
        }
        int total = f.getUnsignedShort(off + 2);
        if (total < ihl || total > available) {
            return MALFORMED;
        }
        if (Checksum.compute(f, off, ihl) != 0) {
            return BAD_CHECKSUM;
        }
        return OK;
    }

    public static int headerLength(ByteBuf f, int off) {
        return (f.getUnsignedByte(off) & 0xf) * 4;
    }

    public static int totalLength(ByteBuf f, int off) {
        return f.getUnsignedShort(off + 2);
    }

    /** True when this packet is a fragment (more-fragments set or a non-zero offset). */
    public static boolean isFragment(ByteBuf f, int off) {
        return (f.getUnsignedShort(off + 6) & 0x3fff) != 0;
    }

    public static int ttl(ByteBuf f, int off) {
        return f.getUnsignedByte(off + 8);
    }

    public static int protocol(ByteBuf f, int off) {
        return f.getUnsignedByte(off + 9);
    }

    public static int src(ByteBuf f, int off) {
        return f.getInt(off + 12);
    }

    public static int dst(ByteBuf f, int off) {
        return f.getInt(off + 16);
    }

    /** Writes a 20-byte header (DF set, TTL 64) at {@code off} with its checksum. */
    public static void writeHeader(ByteBuf f, int off, int totalLength, int id, int protocol, int src, int dst) {
        f.setLong(off, (0x45L << 56) | ((long) totalLength << 32) | ((long) (id & 0xffff) << 16) | 0x4000L);
        f.setByte(off + 8, 64);
        f.setByte(off + 9, protocol);
        f.setShort(off + 10, 0);
        f.setInt(off + 12, src);
        f.setInt(off + 16, dst);
        f.setShort(off + 10, Checksum.compute(f, off, MIN_HEADER));
    }
}
