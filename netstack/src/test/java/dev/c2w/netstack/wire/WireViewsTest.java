package dev.c2w.netstack.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The ARP, UDP and ICMP views: what a writer writes, the accessors read back, and validation refuses damage. */
class WireViewsTest {
    static final int A = Ipv4Address.parse("192.168.127.3");
    static final int B = Ipv4Address.parse("192.168.127.1");
    static final long MAC_A = MacAddress.parse("02:00:00:00:00:01");

    @Test
    void arpRoundTrip() {
        ByteBuf b = Unpooled.buffer(Arp.LENGTH).writerIndex(Arp.LENGTH);
        Arp.write(b, 0, Arp.OP_REQUEST, MAC_A, A, 0, B);
        assertThat(Arp.isEthernetIpv4(b, 0)).isTrue();
        assertThat(Arp.op(b, 0)).isEqualTo(Arp.OP_REQUEST);
        assertThat(Arp.senderMac(b, 0)).isEqualTo(MAC_A);
        assertThat(Arp.senderIp(b, 0)).isEqualTo(A);
        assertThat(Arp.targetIp(b, 0)).isEqualTo(B);
        b.setByte(4, 8); // hardware address length
        assertThat(Arp.isEthernetIpv4(b, 0)).isFalse();
    }

    @Test
    void udpHeaderValidatesAndDamageIsCaught() {
        byte[] data = "hello".getBytes();
        ByteBuf b = Unpooled.buffer(Udp.HEADER + data.length);
        b.setBytes(Udp.HEADER, data);
        Udp.writeHeader(b, 0, A, B, 1234, 53, data.length);
        assertThat(b.writerIndex()).isEqualTo(13);
        assertThat(Udp.validate(b, 0, 13, A, B)).isEqualTo(Udp.OK);
        assertThat(Udp.srcPort(b, 0)).isEqualTo(1234);
        assertThat(Udp.dstPort(b, 0)).isEqualTo(53);
        assertThat(Udp.length(b, 0)).isEqualTo(13);
        assertThat(Udp.validate(b, 0, 12, A, B)).as("length past the packet").isEqualTo(Udp.MALFORMED);
        assertThat(Udp.validate(b, 0, 7, A, B)).as("shorter than a header").isEqualTo(Udp.MALFORMED);
        assertThat(Udp.validate(b, 0, 13, A, A)).as("wrong pseudo-header").isEqualTo(Udp.BAD_CHECKSUM);
        b.setShort(6, 0);
        assertThat(Udp.validate(b, 0, 13, A, A)).as("no checksum").isEqualTo(Udp.OK);
    }

    @Test
    void echoReplyMirrorsTheRequest() {
        ByteBuf req = Unpooled.buffer(12).writerIndex(12);
        req.setLong(0, ((long) Icmp.ECHO_REQUEST << 56) | 0x1234_0007L);
        req.setInt(8, 0xcafebabe);
        req.setShort(2, Checksum.compute(req, 0, 12));
        assertThat(Icmp.valid(req, 0, 12)).isTrue();
        ByteBuf reply = Unpooled.buffer(12);
        Icmp.writeEchoReply(reply, 0, req, 0, 12);
        assertThat(Icmp.type(reply, 0)).isEqualTo(Icmp.ECHO_REPLY);
        assertThat(Icmp.valid(reply, 0, 12)).isTrue();
        assertThat(reply.getInt(4)).isEqualTo(0x1234_0007);
        assertThat(reply.getInt(8)).isEqualTo(0xcafebabe);
        assertThat(Icmp.valid(req, 0, 7)).isFalse();
    }

    @Test
    void unreachableQuotesTheHeaderAndEightBytes() {
        ByteBuf orig = Unpooled.buffer(40).writerIndex(40);
        Ipv4.writeHeader(orig, 0, 40, 1, Ipv4.PROTO_UDP, A, B);
        int len = Icmp.unreachableLength(orig, 0);
        assertThat(len).isEqualTo(Icmp.HEADER + 28);
        ByteBuf b = Unpooled.buffer(len);
        Icmp.writeUnreachable(b, 0, Icmp.CODE_PORT_UNREACHABLE, orig, 0);
        assertThat(b.writerIndex()).isEqualTo(len);
        assertThat(Icmp.type(b, 0)).isEqualTo(Icmp.DESTINATION_UNREACHABLE);
        assertThat((int) b.getUnsignedByte(1)).isEqualTo(Icmp.CODE_PORT_UNREACHABLE);
        assertThat(Icmp.valid(b, 0, len)).isTrue();
        assertThat(Ipv4.src(b, Icmp.HEADER)).isEqualTo(A);
    }
}
