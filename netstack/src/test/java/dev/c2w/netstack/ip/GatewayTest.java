package dev.c2w.netstack.ip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.NetworkTestBase;
import dev.c2w.netstack.TestGuest;
import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class GatewayTest extends NetworkTestBase {

    private static byte[] arpRequest(long senderMac, int senderIp, int targetIp) {
        ByteBuf b = Unpooled.buffer(28);
        b.writeShort(1).writeShort(0x0800).writeByte(6).writeByte(4).writeShort(1);
        b.writeBytes(MacAddress.toBytes(senderMac))
                .writeInt(senderIp)
                .writeZero(6)
                .writeInt(targetIp);
        return TestGuest.ether(MacAddress.BROADCAST, senderMac, Ethernet.TYPE_ARP, TestGuest.bytes(b));
    }

    @Test
    void answersArpForGatewayAndVirtualIpsOnly() throws Exception {
        for (String ip : new String[] {"192.168.127.1", "192.168.127.253", "192.168.127.254"}) {
            guest.send(arpRequest(GUEST_MAC, GUEST, Ipv4Address.parse(ip)));
            byte[] r = guest.next(2000);
            assertThat(r).as("ARP reply for " + ip).isNotNull();
            ByteBuf b = Unpooled.wrappedBuffer(r);
            assertThat(Ethernet.type(b)).isEqualTo(Ethernet.TYPE_ARP);
            assertThat(Ethernet.dst(b)).isEqualTo(GUEST_MAC);
            assertThat(b.getUnsignedShort(14 + 6)).isEqualTo(2);
            assertThat(MacAddress.read(b, 14 + 8)).isEqualTo(NetworkConfig.DEFAULT_GATEWAY_MAC);
            assertThat(b.getInt(14 + 14)).isEqualTo(Ipv4Address.parse(ip));
            assertThat(b.getInt(14 + 24)).isEqualTo(GUEST);
        }
        guest.send(arpRequest(GUEST_MAC, GUEST, Ipv4Address.parse("192.168.127.77")));
        assertThat(guest.next(300)).isNull();
    }

    private static byte[] echoRequest(int id, int seq, byte[] data) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(8).writeByte(0).writeShort(0).writeShort(id).writeShort(seq).writeBytes(data);
        b.setShort(2, Checksum.compute(b, 0, b.readableBytes()));
        return TestGuest.bytes(b);
    }

    @Test
    void echoRepliesForOwnAddressesOnlyAndPaddingIsIgnored() throws Exception {
        byte[] data = "ping-data".getBytes();
        byte[] frame = guest.ipFrame(TestGuest.gwMac(), Ipv4.PROTO_ICMP, GW, echoRequest(7, 1, data));
        byte[] padded = Arrays.copyOf(frame, frame.length + 20); // NIC padding must not become payload
        guest.send(padded);
        byte[] r = guest.nextIp(Ipv4.PROTO_ICMP, 2000);
        assertThat(r).isNotNull();
        ByteBuf b = Unpooled.wrappedBuffer(r);
        int total = Ipv4.totalLength(b, 14);
        assertThat(total).isEqualTo(20 + 8 + data.length);
        assertThat(Ipv4.src(b, 14)).isEqualTo(GW);
        assertThat(Ipv4.dst(b, 14)).isEqualTo(GUEST);
        assertThat(b.getUnsignedByte(34)).isZero(); // echo reply
        assertThat(Checksum.compute(b, 34, total - 20)).isZero();
        assertThat(Checksum.compute(b, 14, 20)).isZero();
        // no forged replies for hosts that are not ours
        guest.send(guest.ipFrame(
                TestGuest.gwMac(), Ipv4.PROTO_ICMP, Ipv4Address.parse("8.8.8.8"), echoRequest(7, 2, data)));
        assertThat(guest.nextIp(Ipv4.PROTO_ICMP, 300)).isNull();
    }

    @Test
    void malformedFramesAreDroppedAndCounted() throws Exception {
        byte[] good = guest.ipFrame(TestGuest.gwMac(), Ipv4.PROTO_ICMP, GW, echoRequest(1, 1, new byte[8]));
        // truncated Ethernet header
        guest.send(Arrays.copyOf(good, 10));
        // IPv4 header cut short
        guest.send(Arrays.copyOf(good, 14 + 12));
        // total length larger than the frame
        byte[] longer = good.clone();
        longer[14 + 2] = (byte) 0x7f;
        guest.send(longer);
        // bad header checksum
        byte[] badSum = good.clone();
        badSum[14 + 10] ^= 0x55;
        guest.send(badSum);
        // a fragment
        byte[] frag = TestGuest.ether(
                TestGuest.gwMac(),
                GUEST_MAC,
                Ethernet.TYPE_IPV4,
                fragment(TestGuest.ipv4(Ipv4.PROTO_ICMP, GUEST, GW, echoRequest(1, 1, new byte[8]))));
        guest.send(frag);
        assertThat(guest.nextIp(Ipv4.PROTO_ICMP, 300)).isNull();
        NetStats s = net.stats();
        assertThat(s.droppedMalformed).isGreaterThanOrEqualTo(3);
        assertThat(s.droppedChecksum).isEqualTo(1);
        assertThat(s.droppedFragments).isEqualTo(1);
        // and the stack still works
        guest.send(good);
        assertThat(guest.nextIp(Ipv4.PROTO_ICMP, 2000)).isNotNull();
    }

    private static byte[] fragment(byte[] ip) {
        ByteBuf b = Unpooled.wrappedBuffer(ip);
        b.setShort(6, 0x2000); // more fragments
        b.setShort(10, 0);
        b.setShort(10, Checksum.compute(b, 0, 20));
        return ip;
    }
}
