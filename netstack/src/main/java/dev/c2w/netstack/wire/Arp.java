package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * Static accessors over an ARP packet for IPv4 over Ethernet (RFC 826) at offset {@code off} of a buffer:
 * hardware type 1, protocol type 0x0800, address lengths 6 and 4, the operation, then sender MAC and IP and
 * target MAC and IP, {@link #LENGTH} bytes in all. {@link #isEthernetIpv4} is the validation: call it
 * (after checking that {@link #LENGTH} bytes are there) before any other accessor. Indices never move.
 */
public final class Arp {
    public static final int LENGTH = 28;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;
    private static final int HTYPE_ETHERNET = 1;

    private Arp() {}

    /** Whether the fixed fields say Ethernet and IPv4 with their address lengths. */
    public static boolean isEthernetIpv4(ByteBuf f, int off) {
        return f.getUnsignedShort(off) == HTYPE_ETHERNET
                && f.getUnsignedShort(off + 2) == Ethernet.TYPE_IPV4
                && f.getUnsignedByte(off + 4) == 6
                && f.getUnsignedByte(off + 5) == 4;
    }

    public static int op(ByteBuf f, int off) {
        return f.getUnsignedShort(off + 6);
    }

    public static long senderMac(ByteBuf f, int off) {
        return MacAddress.read(f, off + 8);
    }

    public static int senderIp(ByteBuf f, int off) {
        return f.getInt(off + 14);
    }

    public static int targetIp(ByteBuf f, int off) {
        return f.getInt(off + 24);
    }

    /** Writes a whole packet at {@code off} (room for {@link #LENGTH} bytes must be there). */
    public static void write(ByteBuf f, int off, int op, long senderMac, int senderIp, long targetMac, int targetIp) {
        f.setShort(off, HTYPE_ETHERNET);
        f.setShort(off + 2, Ethernet.TYPE_IPV4);
        f.setByte(off + 4, 6);
        f.setByte(off + 5, 4);
        f.setShort(off + 6, op);
        MacAddress.write(f, off + 8, senderMac);
        f.setInt(off + 14, senderIp);
        MacAddress.write(f, off + 18, targetMac);
        f.setInt(off + 24, targetIp);
    }
}
