package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * Static accessors over a UDP header (RFC 768) at offset {@code off}: source and destination port, length
 * (header included) and checksum. {@link #validate} checks the length against what the IP packet holds and
 * the checksum when one is present (0 means none over IPv4); only then are the other accessors meaningful.
 * Indices never move.
 */
public final class Udp {
    public static final int HEADER = 8;
    public static final int OK = 0;
    public static final int MALFORMED = 1;
    public static final int BAD_CHECKSUM = 2;

    private Udp() {}

    public static int srcPort(ByteBuf f, int off) {
        return f.getUnsignedShort(off);
    }

    public static int dstPort(ByteBuf f, int off) {
        return f.getUnsignedShort(off + 2);
    }

    /** The length field: header and payload. */
    public static int length(ByteBuf f, int off) {
        return f.getUnsignedShort(off + 4);
    }

    /**
     * {@link #OK}, {@link #MALFORMED} (shorter than a header, or a length field outside [8, {@code available}])
     * or {@link #BAD_CHECKSUM}, for a datagram from {@code src} to {@code dst} with {@code available} bytes of
     * IP payload.
     */
    public static int validate(ByteBuf f, int off, int available, int src, int dst) {
        if (available < HEADER) {
            return MALFORMED;
        }
        int len = length(f, off);
        if (len < HEADER || len > available) {
            return MALFORMED;
        }
        if (f.getUnsignedShort(off + 6) != 0) {
            long sum = Checksum.pseudoHeader(src, dst, Ipv4.PROTO_UDP, len);
            if (Checksum.finish(Checksum.add(sum, f, off, len)) != 0) {
                return BAD_CHECKSUM;
            }
        }
        return OK;
    }

    /**
     * Writes a header for {@code payloadLength} bytes already at {@code off + HEADER}, with the checksum
     * (0 is sent as 0xffff, RFC 768), and moves the writer index past the payload.
     */
    public static void writeHeader(
            ByteBuf b, int off, int srcIp, int dstIp, int srcPort, int dstPort, int payloadLength) {
        int len = HEADER + payloadLength;
        b.setShort(off, srcPort);
        b.setShort(off + 2, dstPort);
        b.setShort(off + 4, len);
        b.setShort(off + 6, 0);
        long sum = Checksum.pseudoHeader(srcIp, dstIp, Ipv4.PROTO_UDP, len);
        int c = Checksum.finish(Checksum.add(sum, b, off, len));
        b.setShort(off + 6, c == 0 ? 0xffff : c);
        b.writerIndex(off + len);
    }
}
