package dev.c2w.converter.pack;

import java.io.ByteArrayOutputStream;

/** LEB128 integers as the WebAssembly binary format uses them. */
final class Leb128 {
    private Leb128() {}

    /** Reads an unsigned LEB128 of at most 32 bits at {@code pos[0]}, advancing it. */
    static long readU32(byte[] b, int[] pos) {
        long result = 0;
        int shift = 0;
        while (true) {
            if (pos[0] >= b.length) throw new IllegalArgumentException("truncated LEB128 at " + pos[0]);
            int x = b[pos[0]++] & 0xff;
            result |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) break;
            shift += 7;
            if (shift > 28) {
                if (shift > 35) throw new IllegalArgumentException("LEB128 too long at " + pos[0]);
            }
        }
        if (result > 0xffffffffL) throw new IllegalArgumentException("LEB128 exceeds 32 bits");
        return result;
    }

    /** Reads a signed LEB128 of at most 32 bits. */
    static int readS32(byte[] b, int[] pos) {
        long result = 0;
        int shift = 0;
        int x;
        do {
            if (pos[0] >= b.length) throw new IllegalArgumentException("truncated LEB128 at " + pos[0]);
            x = b[pos[0]++] & 0xff;
            result |= (long) (x & 0x7f) << shift;
            shift += 7;
            if (shift > 35) throw new IllegalArgumentException("LEB128 too long");
        } while ((x & 0x80) != 0);
        if (shift < 64 && (x & 0x40) != 0) result |= -1L << shift;
        return (int) result;
    }

    static void writeU32(ByteArrayOutputStream out, long v) {
        do {
            int x = (int) (v & 0x7f);
            v >>>= 7;
            out.write(v != 0 ? x | 0x80 : x);
        } while (v != 0);
    }

    static void writeS32(ByteArrayOutputStream out, int v) {
        long value = v;
        while (true) {
            int x = (int) (value & 0x7f);
            value >>= 7;
            boolean done = (value == 0 && (x & 0x40) == 0) || (value == -1 && (x & 0x40) != 0);
            out.write(done ? x : x | 0x80);
            if (done) return;
        }
    }

    static byte[] u32(long v) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(5);
        writeU32(o, v);
        return o.toByteArray();
    }
}
