package dev.c2w.netstack.nat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.NetworkTestBase;
import dev.c2w.netstack.PortForwarder;
import dev.c2w.netstack.TestGuest;
import dev.c2w.netstack.config.NetworkConfig.PortForward;
import dev.c2w.netstack.tcp.TcpTest;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.Tcp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class NatTest extends NetworkTestBase {

    @Test
    void udpToHostLoopbackAndBack() throws Exception {
        try (DatagramSocket echo = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            echo.setSoTimeout(5000);
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_UDP,
                    HOSTLO,
                    TestGuest.udp(GUEST, HOSTLO, 33333, echo.getLocalPort(), "marco".getBytes())));
            DatagramPacket p = new DatagramPacket(new byte[100], 100);
            echo.receive(p);
            assertThat(new String(p.getData(), 0, p.getLength())).isEqualTo("marco");
            echo.send(new DatagramPacket("polo".getBytes(), 4, p.getSocketAddress()));
            byte[] f = guest.nextIp(Ipv4.PROTO_UDP, 3000);
            assertThat(f).isNotNull();
            ByteBuf b = Unpooled.wrappedBuffer(f);
            assertThat(Ipv4.src(b, 14)).isEqualTo(HOSTLO);
            assertThat(b.getUnsignedShort(34)).isEqualTo(echo.getLocalPort());
            assertThat(b.getUnsignedShort(36)).isEqualTo(33333);
            assertThat(b.toString(42, 4, StandardCharsets.US_ASCII)).isEqualTo("polo");
            assertThat(net.stats().udpFlowsOpened).isEqualTo(1);
        }
    }

    @Test
    void udpToOtherLanAddressGetsPortUnreachable() throws Exception {
        guest.send(guest.ipFrame(
                TestGuest.gwMac(),
                Ipv4.PROTO_UDP,
                Ipv4Address.parse("192.168.127.9"),
                TestGuest.udp(GUEST, Ipv4Address.parse("192.168.127.9"), 1, 2, new byte[4])));
        byte[] f = guest.nextIp(Ipv4.PROTO_ICMP, 2000);
        assertThat(f).isNotNull();
        assertThat(f[34]).isEqualTo((byte) 3);
    }

    @Test
    void udpToTheHostsOwnLoopbackIsRefusedLikeTcp() throws Exception {
        int direct = Ipv4Address.parse("127.0.0.1"); // the host's loopback is 192.168.127.254, never 127/8 itself
        guest.send(guest.ipFrame(
                TestGuest.gwMac(), Ipv4.PROTO_UDP, direct, TestGuest.udp(GUEST, direct, 1, 53, new byte[4])));
        byte[] f = guest.nextIp(Ipv4.PROTO_ICMP, 2000);
        assertThat(f).as("ICMP port unreachable, as TCP gets RST").isNotNull();
        assertThat(f[34]).isEqualTo((byte) 3);
        assertThat(f[35]).isEqualTo((byte) 3);
        assertThat(net.stats().udpFlowsOpened).isZero();
    }

    @Test
    void tcpPortForwardOpensIntoTheGuest() throws Exception {
        PortForwarder pf = new PortForwarder(host, () -> net, new PortForward(false, "127.0.0.1", 0, 80));
        pf.start().sync();
        int port = ((InetSocketAddress) pfChannelAddress(pf)).getPort();
        try (Socket client = new Socket("127.0.0.1", port)) {
            byte[] synFrame = guest.nextIp(Ipv4.PROTO_TCP, 3000);
            assertThat(synFrame).isNotNull();
            TcpTest.Seg syn = TcpTest.Seg.parse(synFrame);
            assertThat(syn.has(Tcp.SYN)).isTrue();
            assertThat(syn.dstPort()).isEqualTo(80);
            // guest answers SYN-ACK, then sends a page
            int gseq = 9000;
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_TCP,
                    HOSTLO,
                    TestGuest.tcp(
                            GUEST,
                            HOSTLO,
                            80,
                            syn.srcPort(),
                            gseq,
                            syn.seq() + 1,
                            Tcp.SYN | Tcp.ACK,
                            65535,
                            new byte[] {2, 4, 5, (byte) 0xb4},
                            new byte[0])));
            byte[] page = "HTTP/1.0 200 OK\r\n\r\nhi".getBytes();
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_TCP,
                    HOSTLO,
                    TestGuest.tcp(
                            GUEST,
                            HOSTLO,
                            80,
                            syn.srcPort(),
                            gseq + 1,
                            syn.seq() + 1,
                            Tcp.ACK | Tcp.PSH,
                            65535,
                            new byte[0],
                            page)));
            client.setSoTimeout(5000);
            InputStream in = client.getInputStream();
            assertThat(in.readNBytes(page.length)).isEqualTo(page);
        } finally {
            pf.close();
        }
    }

    @Test
    void tcpPortForwardCarriesWhatTheClientSentFirstIntoTheGuest() throws Exception {
        PortForwarder pf = new PortForwarder(host, () -> net, new PortForward(false, "127.0.0.1", 0, 82));
        pf.start().sync();
        int port = ((InetSocketAddress) pfChannelAddress(pf)).getPort();
        try (Socket client = new Socket("127.0.0.1", port)) {
            byte[] request = "GET / HTTP/1.0\r\n\r\n".getBytes();
            client.getOutputStream().write(request); // before the guest has even seen the SYN
            TcpTest.Seg syn = TcpTest.Seg.parse(guest.nextIp(Ipv4.PROTO_TCP, 3000));
            int gseq = 9000;
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_TCP,
                    HOSTLO,
                    TestGuest.tcp(
                            GUEST,
                            HOSTLO,
                            82,
                            syn.srcPort(),
                            gseq,
                            syn.seq() + 1,
                            Tcp.SYN | Tcp.ACK,
                            65535,
                            new byte[] {2, 4, 5, (byte) 0xb4},
                            new byte[0])));
            TcpTest.Seg s = TcpTest.Seg.parse(guest.nextIp(Ipv4.PROTO_TCP, 3000));
            while (s.data().length == 0) {
                s = TcpTest.Seg.parse(guest.nextIp(Ipv4.PROTO_TCP, 3000));
            }
            assertThat(s.data()).isEqualTo(request);
            assertThat(s.seq()).isEqualTo(syn.seq() + 1);
        } finally {
            pf.close();
        }
    }

    private static SocketAddress pfChannelAddress(PortForwarder pf) throws Exception {
        Field f = PortForwarder.class.getDeclaredField("listener");
        f.setAccessible(true);
        return ((Channel) f.get(pf)).localAddress();
    }

    @Test
    void portForwardToClosedGuestPortClosesHostConnection() throws Exception {
        PortForwarder pf = new PortForwarder(host, () -> net, new PortForward(false, "127.0.0.1", 0, 81));
        pf.start().sync();
        int port = ((InetSocketAddress) pfChannelAddress(pf)).getPort();
        try (Socket client = new Socket("127.0.0.1", port)) {
            TcpTest.Seg syn = TcpTest.Seg.parse(guest.nextIp(Ipv4.PROTO_TCP, 3000));
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_TCP,
                    HOSTLO,
                    TestGuest.tcp(
                            GUEST,
                            HOSTLO,
                            81,
                            syn.srcPort(),
                            0,
                            syn.seq() + 1,
                            Tcp.RST | Tcp.ACK,
                            0,
                            new byte[0],
                            new byte[0])));
            client.setSoTimeout(5000);
            assertThat(client.getInputStream().read()).isEqualTo(-1);
        } finally {
            pf.close();
        }
    }

    @Test
    void udpPortForwardReachesTheGuestAndRepliesFindTheClient() throws Exception {
        PortForwarder pf = new PortForwarder(host, () -> net, new PortForward(true, "127.0.0.1", 0, 5353));
        pf.start().sync();
        int port = ((InetSocketAddress) pfChannelAddress(pf)).getPort();
        try (DatagramSocket client = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            client.setSoTimeout(5000);
            client.send(new DatagramPacket("q?".getBytes(), 2, new InetSocketAddress("127.0.0.1", port)));
            byte[] f = guest.nextIp(Ipv4.PROTO_UDP, 3000);
            assertThat(f).isNotNull();
            ByteBuf b = Unpooled.wrappedBuffer(f);
            assertThat(Ipv4.dst(b, 14)).isEqualTo(GUEST);
            assertThat(b.getUnsignedShort(36)).isEqualTo(5353);
            int srcIp = Ipv4.src(b, 14);
            int srcPort = b.getUnsignedShort(34);
            // the guest answers to where the datagram came from
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_UDP,
                    srcIp,
                    TestGuest.udp(GUEST, srcIp, 5353, srcPort, "a!".getBytes())));
            DatagramPacket p = new DatagramPacket(new byte[10], 10);
            client.receive(p);
            assertThat(new String(p.getData(), 0, p.getLength())).isEqualTo("a!");
        } finally {
            pf.close();
        }
    }
}
