package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * TCP header accessors and flag bits.
 *
 * <p>TCP header view (RFC 9293) at an absolute offset. The header length comes from the data-offset field
 * and is checked against the segment length before options are parsed; options are walked with every
 * length byte checked, and unknown ones skipped.
 */
public final class Tcp {
    public static final int MIN_HEADER = 20;
    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;

    private Tcp() {}

    public static int srcPort(ByteBuf f, int off) {
        return f.getUnsignedShort(off);
    }

    public static int dstPort(ByteBuf f, int off) {
        return f.getUnsignedShort(off + 2);
    }

    public static int seq(ByteBuf f, int off) {
        return f.getInt(off + 4);
    }

    public static int ack(ByteBuf f, int off) {
        return f.getInt(off + 8);
    }

    public static int headerLength(ByteBuf f, int off) {
        return (f.getUnsignedByte(off + 12) >>> 4) * 4;
    }

    public static int flags(ByteBuf f, int off) {
        return f.getUnsignedByte(off + 13);
    }

    public static int window(ByteBuf f, int off) {
        return f.getUnsignedShort(off + 14);
    }

    /**
     * Writes a TCP header at {@code off} (options, if any, already in place after the first 20 bytes) and the
     * checksum over header and {@code payload} bytes that follow it; sets the writer index after the payload.
     */
    public static void writeHeader(
            ByteBuf b,
            int off,
            int srcIp,
            int dstIp,
            int srcPort,
            int dstPort,
            int seq,
            int ack,
            int headerLength,
            int flags,
            int window,
            int payload) {
        b.setShort(off, srcPort);
        b.setShort(off + 2, dstPort);
        b.setInt(off + 4, seq);
        b.setInt(off + 8, ack);
        b.setShort(off + 12, ((headerLength / 4) << 12) | flags);
        b.setShort(off + 14, window);
        b.setInt(off + 16, 0);
        int len = headerLength + payload;
        long sum = Checksum.pseudoHeader(srcIp, dstIp, Ipv4.PROTO_TCP, len);
        b.setShort(off + 16, Checksum.finish(Checksum.add(sum, b, off, len)));
        b.writerIndex(off + len);
    }

    /** Options of a SYN: MSS (0 if absent) and window scale (-1 if absent), packed as mss | (ws+1) << 16. */
    public static int parseSynOptions(ByteBuf f, int off, int headerLength) {
        int mss = 0;
        int ws = -1;
        int i = off + MIN_HEADER;
        int end = off + headerLength;
        while (i < end) {
            int kind = f.getUnsignedByte(i);
            if (kind == 0) {
                break;
            }
            if (kind == 1) {
                i++;
                continue;
            }
            if (i + 1 >= end) {
                break;
            }
            int len = f.getUnsignedByte(i + 1);
            if (len < 2 || i + len > end) {
                break;
            }
            if (kind == 2 && len == 4) {
                mss = f.getUnsignedShort(i + 2);
            } else if (kind == 3 && len == 3) {
                ws = Math.min(14, f.getUnsignedByte(i + 2));
            }
            i += len;
        }
        return mss | ((ws + 1) << 16);
    }
}
