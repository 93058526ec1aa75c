package dev.c2w.netstack.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumTest {
    /** The obvious 16-bit-word implementation, to compare against. */
    private static int naive(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    @Test
    void rfc1071Example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d
        ByteBuf b = Unpooled.wrappedBuffer(
                new byte[] {0x00, 0x01, (byte) 0xf2, 0x03, (byte) 0xf4, (byte) 0xf5, (byte) 0xf6, (byte) 0xf7});
        assertThat(Checksum.compute(b, 0, 8)).isEqualTo(0x220d);
    }

    @Test
    void matchesNaiveOnRandomRangesAndOddLengths() {
        Random r = new Random(42);
        for (int i = 0; i < 2000; i++) {
            byte[] data = new byte[1 + r.nextInt(3000)];
            r.nextBytes(data);
            int off = r.nextInt(data.length);
            int len = r.nextInt(data.length - off + 1);
            ByteBuf b = Unpooled.wrappedBuffer(data);
            assertThat(Checksum.compute(b, off, len))
                    .as("off %d len %d", off, len)
                    .isEqualTo(naive(data, off, len));
            ByteBuf d = Unpooled.directBuffer(data.length).writeBytes(data);
            assertThat(d.hasMemoryAddress()).isTrue();
            assertThat(Checksum.compute(d, off, len))
                    .as("direct off %d len %d", off, len)
                    .isEqualTo(naive(data, off, len));
            long seed = r.nextInt() & 0xffffffffL;
            assertThat(Checksum.finish(Checksum.add(seed, d, off, len)))
                    .isEqualTo(Checksum.finish(Checksum.add(seed, b, off, len)));
            d.release();
        }
    }

    @Test
    void rangeIncludingItsChecksumVerifiesToZero() {
        byte[] data = new byte[64];
        new Random(7).nextBytes(data);
        data[10] = 0;
        data[11] = 0;
        ByteBuf b = Unpooled.wrappedBuffer(data);
        int c = Checksum.compute(b, 0, 64);
        b.setShort(10, c);
        assertThat(Checksum.compute(b, 0, 64)).isZero();
    }

    @Test
    void largeDirectRangesAtEveryAlignmentMatchNaive() {
        Random r = new Random(11);
        byte[] data = new byte[65_600];
        r.nextBytes(data);
        ByteBuf d = Unpooled.directBuffer(data.length).writeBytes(data);
        try {
            for (int off = 0; off < 17; off++) {
                for (int len : new int[] {65_535 - off, 65_480, 1480, 1481, 31, 32, 33, 47, 48, 49}) {
                    assertThat(Checksum.compute(d, off, len))
                            .as("off %d len %d", off, len)
                            .isEqualTo(naive(data, off, len));
                }
            }
        } finally {
            d.release();
        }
    }
}
