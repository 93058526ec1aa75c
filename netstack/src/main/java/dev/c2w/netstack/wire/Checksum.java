package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;
import java.nio.ByteOrder;

/**
 * Internet checksum over {@link ByteBuf} ranges.
 *
 * <p>The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
 * Because 2^16 is 1 modulo 0xffff, a plain 64-bit sum of big-endian 32-bit words (read eight bytes at a
 * time) folds to the same value as a sum of 16-bit words, as long as every word starts at an even offset
 * from the start of the summed range. So the loop reads longs, adds their two halves, and folds once at
 * the end: no per-byte work and no carries to track.
 *
 * <p>Direct buffers (what the transports read into) are summed straight from memory in the machine's byte
 * order, and the folded 16-bit result is byte-swapped once at the end: RFC 1071 section 2(B) shows the
 * sum is independent of byte order up to that swap. This skips the per-read bounds and reference-count
 * checks of ByteBuf accessors, which dominate the cost otherwise.
 */
public final class Checksum {
    private Checksum() {}

    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /** Adds the bytes {@code [index, index+length)} to a running sum (not folded). */
    public static long add(long sum, ByteBuf buf, int index, int length) {
        if (length >= 16 && buf.hasMemoryAddress() && PlatformDependent.isUnaligned()) {
            if (index < 0 || index > buf.capacity() - length || buf.refCnt() == 0) {
                throw new IndexOutOfBoundsException("checksum range " + index + "+" + length + " outside " + buf);
            }
            return addDirect(sum, buf.memoryAddress() + index, length);
        }
        return addChecked(sum, buf, index, length);
    }

    private static long addDirect(long sum, long addr, int length) {
        long end = addr + length;
        // sums of 32-bit halves in native order; two independent sums over 16 bytes per turn, and an
        // int-counted loop, which C2 unrolls (a loop over a long address does not get unrolled)
        long s0 = 0;
        long s1 = 0;
        int blocks = length >>> 4;
        for (int i = 0; i < blocks; i++) {
            long p = addr + ((long) i << 4);
            long v = PlatformDependent.getLong(p);
            long w = PlatformDependent.getLong(p + 8);
            s0 += (v >>> 32) + (v & 0xffffffffL);
            s1 += (w >>> 32) + (w & 0xffffffffL);
        }
        long native64 = s0 + s1;
        long a = addr + ((long) blocks << 4);
        if (end - a >= 8) {
            long v = PlatformDependent.getLong(a);
            native64 += (v >>> 32) + (v & 0xffffffffL);
            a += 8;
        }
        if (end - a >= 4) {
            native64 += PlatformDependent.getInt(a) & 0xffffffffL;
            a += 4;
        }
        if (end - a >= 2) {
            native64 += PlatformDependent.getShort(a) & 0xffffL;
            a += 2;
        }
        if (a < end) {
            int last = PlatformDependent.getByte(a) & 0xff;
            native64 += LITTLE_ENDIAN ? last : (long) last << 8;
        }
        if (LITTLE_ENDIAN) {
            while ((native64 >>> 16) != 0) {
                native64 = (native64 & 0xffff) + (native64 >>> 16);
            }
            native64 = ((native64 & 0xff) << 8) | (native64 >>> 8); // back to network order
        }
        return sum + native64;
    }

    private static long addChecked(long sum, ByteBuf buf, int index, int length) {
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
