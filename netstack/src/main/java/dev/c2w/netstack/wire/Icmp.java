package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * Static accessors and writers for the ICMPv4 messages the gateway handles (RFC 792): echo request and
 * reply, and destination unreachable quoting the offending packet's IP header and first 8 bytes. Every
 * message starts with type, code and a checksum over the whole message. Indices never move, except where a
 * writer says so.
 */
public final class Icmp {
    public static final int HEADER = 8;
    public static final int ECHO_REPLY = 0;
    public static final int DESTINATION_UNREACHABLE = 3;
    public static final int ECHO_REQUEST = 8;
    /** Destination unreachable: port unreachable. */
    public static final int CODE_PORT_UNREACHABLE = 3;

    private Icmp() {}

    public static int type(ByteBuf f, int off) {
        return f.getUnsignedByte(off);
    }

    /** Whether {@code len} bytes at {@code off} are at least a header and checksum to zero. */
    public static boolean valid(ByteBuf f, int off, int len) {
        return len >= HEADER && Checksum.compute(f, off, len) == 0;
    }

    /**
     * Writes at {@code off} the echo reply to the {@code len}-byte echo request at {@code reqOff} of {@code req}
     * (same identifier, sequence and data) and moves the writer index past it.
     */
    public static void writeEchoReply(ByteBuf b, int off, ByteBuf req, int reqOff, int len) {
        b.setBytes(off, req, reqOff, len);
        b.setByte(off, ECHO_REPLY);
        b.setShort(off + 2, 0);
        b.setShort(off + 2, Checksum.compute(b, off, len));
        b.writerIndex(off + len);
    }

    /** The length of a destination-unreachable message quoting the IPv4 packet at {@code ipOff}. */
    public static int unreachableLength(ByteBuf orig, int ipOff) {
        return HEADER + quoteLength(orig, ipOff);
    }

    private static int quoteLength(ByteBuf orig, int ipOff) {
        return Math.min(Ipv4.headerLength(orig, ipOff) + 8, Ipv4.totalLength(orig, ipOff));
    }

    /**
     * Writes at {@code off} a destination unreachable with {@code code} that quotes the packet at {@code ipOff}
     * of {@code orig} ({@link #unreachableLength} bytes) and moves the writer index past it.
     */
    public static void writeUnreachable(ByteBuf b, int off, int code, ByteBuf orig, int ipOff) {
        int quote = quoteLength(orig, ipOff);
        int len = HEADER + quote;
        b.setLong(off, ((long) DESTINATION_UNREACHABLE << 56) | ((long) code << 48));
        b.setBytes(off + HEADER, orig, ipOff, quote);
        b.setShort(off + 2, Checksum.compute(b, off, len));
        b.writerIndex(off + len);
    }
}
