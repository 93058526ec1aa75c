package dev.c2w.netstack.wire;

import io.netty.buffer.ByteBuf;

/**
 * Describes frames for logs.
 *
 * <p>One-line, tcpdump-like summaries of frames for --debug logs. Every length is checked before it is
 * read, so a malformed frame is described as such instead of throwing.
 */
public final class FrameDescriber {
    private FrameDescriber() {}

    public static String describe(ByteBuf f) {
        int base = f.readerIndex();
        int n = f.readableBytes();
        if (n < Ethernet.HEADER) {
            return "runt frame (" + n + " bytes)";
        }
        StringBuilder sb = new StringBuilder(96);
        sb.append(MacAddress.format(Ethernet.src(f)))
                .append(" > ")
                .append(MacAddress.format(Ethernet.dst(f)))
                .append(' ');
        int type = Ethernet.type(f);
        int off = base + Ethernet.HEADER;
        int avail = n - Ethernet.HEADER;
        switch (type) {
            case Ethernet.TYPE_ARP -> {
                if (avail < 28) {
                    return sb.append("ARP truncated").toString();
                }
                int op = f.getUnsignedShort(off + 6);
                String spa = Ipv4Address.format(f.getInt(off + 14));
                String tpa = Ipv4Address.format(f.getInt(off + 24));
                if (op == 1) {
                    sb.append("ARP who-has ").append(tpa).append(" tell ").append(spa);
                } else if (op == 2) {
                    sb.append("ARP reply ")
                            .append(spa)
                            .append(" is-at ")
                            .append(MacAddress.format(MacAddress.read(f, off + 8)));
                } else {
                    sb.append("ARP op ").append(op);
                }
            }
            case Ethernet.TYPE_IPV4 -> describeIpv4(sb, f, off, avail);
            case Ethernet.TYPE_IPV6 ->
                sb.append("IPv6 (not routed), ").append(n).append(" bytes");
            default ->
                sb.append("ethertype 0x")
                        .append(Integer.toHexString(type))
                        .append(", ")
                        .append(n)
                        .append(" bytes");
        }
        return sb.toString();
    }

    private static void describeIpv4(StringBuilder sb, ByteBuf f, int off, int avail) {
        if (Ipv4.validate(f, off, avail) == Ipv4.MALFORMED) {
            sb.append("IPv4 malformed");
            return;
        }
        int ihl = Ipv4.headerLength(f, off);
        int total = Ipv4.totalLength(f, off);
        int src = Ipv4.src(f, off);
        int dst = Ipv4.dst(f, off);
        int l4 = off + ihl;
        int len = total - ihl;
        String s = Ipv4Address.format(src);
        String d = Ipv4Address.format(dst);
        if (Ipv4.isFragment(f, off)) {
            sb.append("IPv4 fragment ").append(s).append(" > ").append(d);
            return;
        }
        switch (Ipv4.protocol(f, off)) {
            case Ipv4.PROTO_TCP -> {
                if (len < Tcp.MIN_HEADER || Tcp.headerLength(f, l4) < Tcp.MIN_HEADER || Tcp.headerLength(f, l4) > len) {
                    sb.append("TCP truncated ").append(s).append(" > ").append(d);
                    return;
                }
                int flags = Tcp.flags(f, l4);
                sb.append("TCP ")
                        .append(s)
                        .append(':')
                        .append(Tcp.srcPort(f, l4))
                        .append(" > ")
                        .append(d)
                        .append(':')
                        .append(Tcp.dstPort(f, l4))
                        .append(" [");
                if ((flags & Tcp.SYN) != 0) sb.append('S');
                if ((flags & Tcp.FIN) != 0) sb.append('F');
                if ((flags & Tcp.RST) != 0) sb.append('R');
                if ((flags & Tcp.PSH) != 0) sb.append('P');
                if ((flags & Tcp.ACK) != 0) sb.append('.');
                sb.append("] seq ").append(Integer.toUnsignedString(Tcp.seq(f, l4)));
                if ((flags & Tcp.ACK) != 0) {
                    sb.append(" ack ").append(Integer.toUnsignedString(Tcp.ack(f, l4)));
                }
                sb.append(" win ").append(Tcp.window(f, l4)).append(" len ").append(len - Tcp.headerLength(f, l4));
            }
            case Ipv4.PROTO_UDP -> {
                if (len < 8) {
                    sb.append("UDP truncated ").append(s).append(" > ").append(d);
                    return;
                }
                sb.append("UDP ")
                        .append(s)
                        .append(':')
                        .append(f.getUnsignedShort(l4))
                        .append(" > ")
                        .append(d)
                        .append(':')
                        .append(f.getUnsignedShort(l4 + 2))
                        .append(" len ")
                        .append(len - 8);
            }
            case Ipv4.PROTO_ICMP -> {
                if (len < 4) {
                    sb.append("ICMP truncated");
                    return;
                }
                sb.append("ICMP ")
                        .append(s)
                        .append(" > ")
                        .append(d)
                        .append(" type ")
                        .append(f.getUnsignedByte(l4))
                        .append(" code ")
                        .append(f.getUnsignedByte(l4 + 1));
            }
            default ->
                sb.append("IPv4 proto ")
                        .append(Ipv4.protocol(f, off))
                        .append(' ')
                        .append(s)
                        .append(" > ")
                        .append(d);
        }
    }
}
