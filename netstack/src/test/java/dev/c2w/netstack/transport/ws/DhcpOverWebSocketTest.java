package dev.c2w.netstack.transport.ws;

import static dev.c2w.netstack.transport.ws.WsTestSupport.await;
import static dev.c2w.netstack.transport.ws.WsTestSupport.wsUri;
import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * DHCP through the real gateway over WebSocket: browser guests have random MACs, never --mac, and
 * must still get 192.168.127.3, each on its own network. Needs the gateway's DHCP server.
 */
class DhcpOverWebSocketTest extends WsServerTestBase {

    @Test
    void twoBrowserGuestsAtOnceEachGetTheGuestAddressAndCannotReachEachOther() throws Exception {
        server = new WebSocketServer(WsTestSupport.options(host).build()).start();
        Random rnd = new Random(5);
        long macA = 0x02_5e_00_00_00_00L | (rnd.nextInt() & 0xffffffffL);
        long macB = 0x02_5e_00_00_00_00L | (rnd.nextInt() & 0xffffffffL);
        assertThat(macA).isNotEqualTo(NetworkConfig.DEFAULT_GUEST_MAC);
        try (WsClient a = WsClient.connect(wsUri(server), "http://localhost:8080");
                WsClient b = WsClient.connect(wsUri(server), "http://127.0.0.1:8080")) {
            await(() -> server.liveNetworks().size() == 2, "two networks");
            DhcpTestPackets.Reply ackA = lease(a, macA, 0x1111, rnd);
            DhcpTestPackets.Reply ackB = lease(b, macB, 0x2222, rnd);
            for (DhcpTestPackets.Reply ack : new DhcpTestPackets.Reply[] {ackA, ackB}) {
                assertThat(ack.type()).isEqualTo(DhcpTestPackets.ACK);
                assertThat(Ipv4Address.format(ack.yiaddr())).isEqualTo("192.168.127.3");
                assertThat(Ipv4Address.format(ack.optionIp(3))).isEqualTo("192.168.127.1");
                assertThat(Ipv4Address.format(ack.optionIp(6))).isEqualTo("192.168.127.1");
                assertThat(Ipv4Address.format(ack.optionIp(1))).isEqualTo("255.255.255.0");
            }

            // A sends to B's MAC; the frame must not reach B (different switches).
            // which network is whose: the one whose DHCP server leased to that MAC (connections may be
            // registered in either order when they sit on different event loops)
            VirtualNetwork netA = networkOf(macA);
            VirtualNetwork netB = networkOf(macB);
            assertThat(netA).isNotSameAs(netB);
            RecordingSink recB = RecordingSink.attach(netB);
            a.send(TestFrames.prefixed(TestFrames.frame(macB, macA, 1, 100)));
            a.send(TestFrames.prefixed(TestFrames.broadcast(macA, 2, 100)));
            RecordingSink recA = RecordingSink.attach(netA);
            a.send(TestFrames.prefixed(TestFrames.broadcast(macA, 3, 100)));
            // A's own switch floods its broadcasts to A's other ports; frame 2 may still be in flight when
            // the recorder attaches (send() returns before the server has handled it), so it may come first
            byte[] first = recA.next();
            if (Arrays.equals(first, TestFrames.broadcast(macA, 2, 100))) {
                first = recA.next();
            }
            assertThat(first).isEqualTo(TestFrames.broadcast(macA, 3, 100));
            byte[] marker = TestFrames.broadcast(WebSocketServerTest.RECORDER_MAC, 9, 64);
            recB.inject(marker);
            // Everything B receives up to the marker (gateway broadcasts, say) must not come from A.
            while (true) {
                byte[] m = b.next();
                if (Arrays.equals(m, TestFrames.prefixed(marker))) {
                    break;
                }
                assertThat(Arrays.copyOfRange(m, 10, 16))
                        .as("a frame from guest A reached guest B")
                        .isNotEqualTo(macBytes(macA));
            }
            assertThat(recB.frames).isEmpty();
        }
    }

    private VirtualNetwork networkOf(long mac) throws Exception {
        for (VirtualNetwork n : server.liveNetworks()) {
            boolean has = n.eventLoop()
                    .submit(() -> n.dhcp().leases().stream().anyMatch(l -> l.mac() == mac))
                    .get();
            if (has) {
                return n;
            }
        }
        throw new AssertionError("no network leased to " + MacAddress.format(mac));
    }

    private static byte[] macBytes(long mac) {
        byte[] b = new byte[6];
        TestFrames.putMac(b, 0, mac);
        return b;
    }

    /** DISCOVER, OFFER, REQUEST, ACK; each sent split at random points like the browser page may. */
    static DhcpTestPackets.Reply lease(WsClient c, long mac, int xid, Random rnd) throws InterruptedException {
        sendSplit(c, DhcpTestPackets.frame(mac, xid, DhcpTestPackets.DISCOVER, 0, 0), rnd);
        DhcpTestPackets.Reply offer = awaitReply(c, xid);
        assertThat(offer.type()).isEqualTo(DhcpTestPackets.OFFER);
        sendSplit(c, DhcpTestPackets.frame(mac, xid, DhcpTestPackets.REQUEST, offer.yiaddr(), offer.optionIp(54)), rnd);
        return awaitReply(c, xid);
    }

    private static void sendSplit(WsClient c, byte[] frame, Random rnd) {
        for (byte[] p : TestFrames.split(TestFrames.prefixed(frame), rnd, 200)) {
            c.send(p);
        }
    }

    private static DhcpTestPackets.Reply awaitReply(WsClient c, int xid) throws InterruptedException {
        while (true) {
            byte[] m = c.next();
            assertThat(m.length).isGreaterThanOrEqualTo(4);
            assertThat(ByteBuffer.wrap(m).getInt()).isEqualTo(m.length - 4);
            byte[] frame = Arrays.copyOfRange(m, 4, m.length);
            DhcpTestPackets.Reply r = DhcpTestPackets.parse(frame, xid);
            if (r != null) {
                return r;
            }
        }
    }
}
