package dev.c2w.netstack.services.dhcp;

import io.netty.buffer.ByteBuf;

/**
 * A reusable, allocation-free view of one parsed DHCP client message.
 *
 * <p>Parsing of one DHCP client message (RFC 2131 §2, options per RFC 2132), the server's only input.
 *
 * <p>Layout: a fixed 236-byte BOOTP header (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr,
 * siaddr, giaddr, chaddr[16], sname[64], file[128]), the magic cookie 99.130.83.99, then options as
 * code/length/value triples, with PAD (0) and END (255) having no length byte. With option 52
 * (overload) the file and then sname fields carry more options (RFC 2131 §4.1).
 *
 * <p>One instance is reused for every datagram (everything runs on the network's event loop), so parsing
 * allocates nothing. {@link #parse} checks every length before reading: a datagram shorter than the
 * fixed part, op other than BOOTREQUEST, htype other than Ethernet, hlen other than 6, a wrong magic
 * cookie, an option whose length runs past its region, a known option with the wrong length, or a
 * missing or unknown message type (53) make it return false with {@link #error()} saying why; the
 * server then drops the datagram and counts it. A region that ends without END is accepted when its
 * last option ends exactly at the region's end (some clients omit END), which RFC 2131's
 * "be liberal" reading allows and which cannot make us read out of bounds.
 *
 * <p>Repeated options: the parameter request list (55) is concatenated (RFC 3396); for the fixed-size
 * options we read, the last instance wins. Options we do not use are skipped after the bounds check.
 */
final class DhcpMessage {
    static final int OP_BOOTREQUEST = 1;
    static final int OP_BOOTREPLY = 2;
    static final int HTYPE_ETHERNET = 1;
    static final int FIXED_LENGTH = 236;
    static final int MAGIC_COOKIE = 0x63825363;
    static final int OPTIONS_OFFSET = FIXED_LENGTH + 4;
    static final int SNAME_OFFSET = 44;
    static final int FILE_OFFSET = 108;
    static final int CHADDR_OFFSET = 28;

    static final int DISCOVER = 1;
    static final int OFFER = 2;
    static final int REQUEST = 3;
    static final int DECLINE = 4;
    static final int ACK = 5;
    static final int NAK = 6;
    static final int RELEASE = 7;
    static final int INFORM = 8;

    static final int OPT_PAD = 0;
    static final int OPT_SUBNET_MASK = 1;
    static final int OPT_ROUTER = 3;
    static final int OPT_DNS = 6;
    static final int OPT_MTU = 26;
    static final int OPT_BROADCAST = 28;
    static final int OPT_REQUESTED_IP = 50;
    static final int OPT_LEASE_TIME = 51;
    static final int OPT_OVERLOAD = 52;
    static final int OPT_MESSAGE_TYPE = 53;
    static final int OPT_SERVER_ID = 54;
    static final int OPT_PARAM_LIST = 55;
    static final int OPT_MESSAGE = 56;
    static final int OPT_RENEWAL_T1 = 58;
    static final int OPT_REBINDING_T2 = 59;
    static final int OPT_END = 255;

    /** Flags field: the client asks for broadcast replies. */
    static final int FLAG_BROADCAST = 0x8000;

    int xid;
    int flags;
    int ciaddr;
    int giaddr;
    long chaddr;
    int messageType;
    int requestedIp;
    boolean hasRequestedIp;
    int serverId;
    boolean hasServerId;
    final byte[] paramList = new byte[255];
    int paramCount;
    private int overload;
    private String error;

    /** Why the last {@link #parse} failed. */
    String error() {
        return error;
    }

    /** Parses {@code buf} from its reader index to its writer index without moving either. */
    boolean parse(ByteBuf buf) {
        error = null;
        xid = flags = ciaddr = giaddr = 0;
        chaddr = 0;
        messageType = 0;
        requestedIp = serverId = 0;
        hasRequestedIp = hasServerId = false;
        paramCount = 0;
        overload = 0;

        int base = buf.readerIndex();
        int len = buf.readableBytes();
        if (len < OPTIONS_OFFSET) {
            return fail("truncated: " + len + " bytes, a DHCP message has at least " + OPTIONS_OFFSET);
        }
        int op = buf.getUnsignedByte(base);
        if (op != OP_BOOTREQUEST) {
            return fail("op " + op + " is not BOOTREQUEST");
        }
        int htype = buf.getUnsignedByte(base + 1);
        if (htype != HTYPE_ETHERNET) {
            return fail("htype " + htype + " is not Ethernet");
        }
        int hlen = buf.getUnsignedByte(base + 2);
        if (hlen != 6) {
            return fail("hlen " + hlen + " is not 6");
        }
        if (buf.getInt(base + FIXED_LENGTH) != MAGIC_COOKIE) {
            return fail("bad magic cookie 0x" + Integer.toHexString(buf.getInt(base + FIXED_LENGTH)));
        }
        xid = buf.getInt(base + 4);
        flags = buf.getUnsignedShort(base + 10);
        ciaddr = buf.getInt(base + 12);
        giaddr = buf.getInt(base + 24);
        chaddr = ((long) buf.getUnsignedShort(base + CHADDR_OFFSET) << 32)
                | buf.getUnsignedInt(base + CHADDR_OFFSET + 2);

        if (!parseOptions(buf, base + OPTIONS_OFFSET, base + len, true)) {
            return false;
        }
        if ((overload & 1) != 0 && !parseOptions(buf, base + FILE_OFFSET, base + FILE_OFFSET + 128, false)) {
            return false;
        }
        if ((overload & 2) != 0 && !parseOptions(buf, base + SNAME_OFFSET, base + SNAME_OFFSET + 64, false)) {
            return false;
        }
        if (messageType == 0) {
            return fail("no DHCP message type (option 53): plain BOOTP is not served");
        }
        return true;
    }

    private boolean parseOptions(ByteBuf buf, int from, int to, boolean mainArea) {
        int i = from;
        while (i < to) {
            int code = buf.getUnsignedByte(i);
            if (code == OPT_END) {
                return true;
            }
            if (code == OPT_PAD) {
                i++;
                continue;
            }
            if (i + 1 >= to) {
                return fail("option " + code + " has no length byte");
            }
            int olen = buf.getUnsignedByte(i + 1);
            int v = i + 2;
            if (v + olen > to) {
                return fail("option " + code + " (length " + olen + ") runs past the end of the message");
            }
            switch (code) {
                case OPT_MESSAGE_TYPE -> {
                    if (olen != 1) {
                        return fail("option 53 has length " + olen + ", want 1");
                    }
                    int t = buf.getUnsignedByte(v);
                    if (t < DISCOVER || t > INFORM) {
                        return fail("unknown DHCP message type " + t);
                    }
                    messageType = t;
                }
                case OPT_REQUESTED_IP -> {
                    if (olen != 4) {
                        return fail("option 50 has length " + olen + ", want 4");
                    }
                    requestedIp = buf.getInt(v);
                    hasRequestedIp = true;
                }
                case OPT_SERVER_ID -> {
                    if (olen != 4) {
                        return fail("option 54 has length " + olen + ", want 4");
                    }
                    serverId = buf.getInt(v);
                    hasServerId = true;
                }
                case OPT_PARAM_LIST -> {
                    int n = Math.min(olen, paramList.length - paramCount);
                    buf.getBytes(v, paramList, paramCount, n);
                    paramCount += n;
                }
                case OPT_OVERLOAD -> {
                    if (olen != 1) {
                        return fail("option 52 has length " + olen + ", want 1");
                    }
                    int o = buf.getUnsignedByte(v);
                    if (o < 1 || o > 3) {
                        return fail("option 52 has value " + o + ", want 1..3");
                    }
                    if (mainArea) {
                        overload = o;
                    }
                }
                default -> {
                    // not used by the server; bounds already checked
                }
            }
            i = v + olen;
        }
        return true;
    }

    private boolean fail(String why) {
        error = why;
        return false;
    }

    static String typeName(int t) {
        return switch (t) {
            case DISCOVER -> "DISCOVER";
            case OFFER -> "OFFER";
            case REQUEST -> "REQUEST";
            case DECLINE -> "DECLINE";
            case ACK -> "ACK";
            case NAK -> "NAK";
            case RELEASE -> "RELEASE";
            case INFORM -> "INFORM";
            default -> "type " + t;
        };
    }
}
