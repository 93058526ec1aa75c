package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * MAC addresses as the low 48 bits of a {@code long}, so that the frame path never allocates one.
 * This class only holds helpers to convert, read and write them.
 */
public final class MacAddress {
    public static final long BROADCAST = 0xffff_ffff_ffffL;
    public static final long NONE = -1L;

    private MacAddress() {}

    /** Parses {@code aa:bb:cc:dd:ee:ff} (or with {@code -}); throws IllegalArgumentException with the text on error. */
    public static long parse(String text) {
        String[] parts = text.trim().split("[:-]", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException(
                    "not a MAC address (want six hex bytes like 02:00:00:00:00:01): " + text);
        }
        long mac = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 2) {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            int b;
            try {
                b = Integer.parseInt(p, 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            mac = (mac << 8) | b;
        }
        return mac;
    }

    public static String format(long mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            int b = (int) (mac >>> (8 * i)) & 0xff;
            sb.append(Character.forDigit(b >> 4, 16)).append(Character.forDigit(b & 15, 16));
            if (i > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }

    public static boolean isMulticast(long mac) {
        return ((mac >>> 40) & 1) != 0;
    }

    /** Reads six bytes at {@code index} of {@code buf} without moving its indices. */
    public static long read(ByteBuf buf, int index) {
        return ((long) buf.getUnsignedShort(index) << 32) | buf.getUnsignedInt(index + 2);
    }

    /** Writes six bytes at {@code index} of {@code buf} without moving its indices. */
    public static void write(ByteBuf buf, int index, long mac) {
        buf.setShort(index, (int) (mac >>> 32));
        buf.setInt(index + 2, (int) mac);
    }

    public static byte[] toBytes(long mac) {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (mac >>> (8 * (5 - i)));
        }
        return b;
    }

    public static long fromBytes(byte[] b, int off) {
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = (mac << 8) | (b[off + i] & 0xff);
        }
        return mac;
    }
}
