package dev.c2w.netstack.services.dns;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Static helpers over DNS messages in ByteBufs.
 *
 * <p>The little of the DNS wire format (RFC 1035 §4.1) the forwarder needs: it relays messages raw, so it
 * only reads the 12-byte header and walks the question section.
 *
 * <p>Header: ID(2), flags(2) = QR(1) OPCODE(4) AA TC RD RA Z AD CD RCODE(4), then QDCOUNT, ANCOUNT, NSCOUNT,
 * ARCOUNT (2 each). A question is QNAME (labels of 1..63 bytes ending with the root label, at most 255
 * bytes in all) then QTYPE(2) and QCLASS(2).
 *
 * <p>A query from the guest is accepted when it has a full header, QR = 0, exactly one question (what every
 * resolver sends and every server expects) that is well formed and fits, and no compression pointer in the
 * question (there is nothing before it to point to). Whatever follows the question (an EDNS OPT record,
 * say) is the upstream's business and is forwarded untouched; so are all opcodes, types and classes.
 *
 * <p>A response from an upstream must have a full header, QR = 1, and either no question (some servers answer
 * FORMERR/REFUSED like that) or the same question as the query, compared with ASCII case folded (RFC 4343),
 * which protects against answers meant for an older query that used the same ID.
 *
 * <p>Everything reads at absolute indices and never moves the buffer's indices.
 */
final class DnsWire {
    static final int HEADER = 12;
    static final int FLAG_QR = 0x8000;
    static final int FLAG_TC = 0x0200;
    static final int FLAG_RD = 0x0100;
    static final int FLAG_RA = 0x0080;
    static final int OPCODE_MASK = 0x7800;
    static final int RCODE_SERVFAIL = 2;
    static final int RCODE_REFUSED = 5;

    private DnsWire() {}

    static int id(ByteBuf m) {
        return m.getUnsignedShort(m.readerIndex());
    }

    static void setId(ByteBuf m, int id) {
        m.setShort(m.readerIndex(), id);
    }

    static int flags(ByteBuf m) {
        return m.getUnsignedShort(m.readerIndex() + 2);
    }

    static int rcode(ByteBuf m) {
        return flags(m) & 0xf;
    }

    static int qdcount(ByteBuf m) {
        return m.getUnsignedShort(m.readerIndex() + 4);
    }

    /**
     * The length from the message start to the end of its first question, or -1 if the question is
     * malformed or does not fit. Compression pointers are refused.
     */
    static int questionEnd(ByteBuf m) {
        int base = m.readerIndex();
        int end = m.writerIndex();
        int i = base + HEADER;
        int nameLen = 0;
        while (true) {
            if (i >= end) {
                return -1;
            }
            int l = m.getUnsignedByte(i);
            if (l == 0) {
                i++;
                break;
            }
            if ((l & 0xc0) != 0) {
                return -1;
            }
            nameLen += l + 1;
            if (nameLen > 254) {
                return -1;
            }
            i += l + 1;
        }
        i += 4;
        return i > end ? -1 : i - base;
    }

    /** Why {@code m} is not an acceptable query, or null if it is. */
    static String checkQuery(ByteBuf m) {
        int len = m.readableBytes();
        if (len < HEADER) {
            return "shorter than a DNS header (" + len + " bytes)";
        }
        if ((flags(m) & FLAG_QR) != 0) {
            return "a response, not a query";
        }
        if (qdcount(m) != 1) {
            return "QDCOUNT " + qdcount(m) + ", want 1";
        }
        if (questionEnd(m) < 0) {
            return "malformed or truncated question";
        }
        return null;
    }

    /** Whether {@code resp} is a response whose question (if any) is the question of {@code query}. */
    static boolean answers(ByteBuf resp, ByteBuf query, int queryQuestionEnd) {
        if (resp.readableBytes() < HEADER || (flags(resp) & FLAG_QR) == 0) {
            return false;
        }
        int qd = qdcount(resp);
        if (qd == 0) {
            return true;
        }
        if (qd != 1) {
            return false;
        }
        int n = questionEnd(resp);
        if (n != queryQuestionEnd) {
            return false;
        }
        int rb = resp.readerIndex();
        int qb = query.readerIndex();
        for (int i = HEADER; i < n; i++) {
            int a = resp.getUnsignedByte(rb + i);
            int b = query.getUnsignedByte(qb + i);
            if (a != b && lower(a) != lower(b)) {
                return false;
            }
        }
        return true;
    }

    private static int lower(int c) {
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    }

    /**
     * A response made from {@code query}'s header and question only: same ID, opcode and RD, QR and RA set,
     * the given rcode, and TC if asked (a stand-in for an answer too big for UDP).
     */
    static ByteBuf headerOnlyReply(ByteBufAllocator alloc, ByteBuf query, int queryQuestionEnd, int rcode, boolean tc) {
        ByteBuf out = alloc.buffer(queryQuestionEnd);
        int qf = flags(query);
        int f = FLAG_QR | (qf & (OPCODE_MASK | FLAG_RD)) | FLAG_RA | (tc ? FLAG_TC : 0) | (rcode & 0xf);
        out.writeShort(id(query));
        out.writeShort(f);
        out.writeShort(1);
        out.writeShort(0);
        out.writeShort(0);
        out.writeShort(0);
        out.writeBytes(query, query.readerIndex() + HEADER, queryQuestionEnd - HEADER);
        return out;
    }
}
