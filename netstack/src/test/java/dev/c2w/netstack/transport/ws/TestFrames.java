package dev.c2w.netstack.transport.ws;

import dev.c2w.testkit.StreamPieces;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Ethernet frames and QEMU-stream helpers for the WebSocket tests. */
final class TestFrames {
    static final int ETHERTYPE_TEST = 0x88b5; // IEEE 802 "local experimental"

    private TestFrames() {}

    /** A broadcast frame from {@code srcMac} with a payload derived from {@code tag} ({@code length} bytes in all). */
    static byte[] broadcast(long srcMac, int tag, int length) {
        return frame(0xffff_ffff_ffffL, srcMac, tag, length);
    }

    static byte[] frame(long dstMac, long srcMac, int tag, int length) {
        if (length < 18) {
            throw new IllegalArgumentException("frame too short");
        }
        byte[] f = new byte[length];
        putMac(f, 0, dstMac);
        putMac(f, 6, srcMac);
        f[12] = (byte) (ETHERTYPE_TEST >> 8);
        f[13] = (byte) ETHERTYPE_TEST;
        f[14] = (byte) (tag >> 24);
        f[15] = (byte) (tag >> 16);
        f[16] = (byte) (tag >> 8);
        f[17] = (byte) tag;
        for (int i = 18; i < length; i++) {
            f[i] = (byte) (tag * 31 + i * 7);
        }
        return f;
    }

    static void putMac(byte[] f, int off, long mac) {
        for (int i = 0; i < 6; i++) {
            f[off + i] = (byte) (mac >>> (8 * (5 - i)));
        }
    }

    /** The frame with its 4-byte big-endian length in front. */
    static byte[] prefixed(byte[] frame) {
        return ByteBuffer.allocate(4 + frame.length)
                .putInt(frame.length)
                .put(frame)
                .array();
    }

    /** All frames as one QEMU stream. */
    static byte[] stream(List<byte[]> frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] f : frames) {
            out.writeBytes(prefixed(f));
        }
        return out.toByteArray();
    }

    /**
     * Cuts {@code data} into pieces at random points: many pieces of 1-3 bytes (so cuts fall inside
     * length prefixes), others up to {@code maxPiece}, some spanning several frames.
     */
    static List<byte[]> split(byte[] data, Random rnd, int maxPiece) {
        List<byte[]> out = new ArrayList<>();
        int i = 0;
        while (i < data.length) {
            int n = StreamPieces.nextSize(rnd, maxPiece);
            n = Math.min(n, data.length - i);
            byte[] p = new byte[n];
            System.arraycopy(data, i, p, 0, n);
            out.add(p);
            i += n;
        }
        return out;
    }

    static List<byte[]> randomFrames(Random rnd, long srcMac, int count, int firstTag) {
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            frames.add(broadcast(srcMac, firstTag + i, 60 + rnd.nextInt(1455)));
        }
        return frames;
    }
}
