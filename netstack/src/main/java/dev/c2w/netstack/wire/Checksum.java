package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/*
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
 * Because 2^16 is 1 modulo 0xffff, a plain 64-bit sum of big-endian 32-bit words (read eight bytes at a
 * time) folds to the same value as a sum of 16-bit words, as long as every word starts at an even offset
 * from the start of the summed range. So the loop reads longs, adds their two halves, and folds once at
 * the end: no per-byte work and no carries to track.
 */

/** Internet checksum over {@link ByteBuf} ranges; see the comment above. */
public final class Checksum {
    private Checksum() {}

    /** Adds the bytes {@code [index, index+length)} to a running sum (not folded). */
    public static long add(long sum, ByteBuf buf, int index, int length) {
        int i = index;
        int end = index + length;
        while (end - i >= 8) {
            long v = buf.getLong(i);
            sum += (v >>> 32) + (v & 0xffffffffL);
            i += 8;
        }
        if (end - i >= 4) {
            sum += buf.getUnsignedInt(i);
            i += 4;
        }
        if (end - i >= 2) {
            sum += buf.getUnsignedShort(i);
            i += 2;
        }
        if (i < end) {
            sum += (long) buf.getUnsignedByte(i) << 8;
        }
        return sum;
    }

    /** The running sum of an IPv4 pseudo header for a transport segment. */
    public static long pseudoHeader(int srcIp, int dstIp, int protocol, int length) {
        return (srcIp & 0xffffffffL) + (dstIp & 0xffffffffL) + protocol + length;
    }

    /** Folds a running sum to 16 bits and complements it: the value to store in a header. */
    public static int finish(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** The checksum of a range; a range that includes a correct checksum field gives 0. */
    public static int compute(ByteBuf buf, int index, int length) {
        return finish(add(0, buf, index, length));
    }
}
