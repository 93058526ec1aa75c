package dev.c2w.netstack;

import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.netstack.link.QemuTransport;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** QEMU-stream transports with real sockets: listen over TCP and UNIX, bad peers, pcap output. */
class TransportTest {
    HostTransport host;
    VirtualNetwork net;

    @BeforeEach
    void setUp() {
        host = HostTransport.create();
    }

    @AfterEach
    void tearDown() {
        if (net != null) {
            net.close();
        }
        host.close();
    }

    static byte[] arpWhoHasGateway(long mac) {
        ByteBuf b = Unpooled.buffer(28);
        b.writeShort(1).writeShort(0x0800).writeByte(6).writeByte(4).writeShort(1);
        b.writeBytes(MacAddress.toBytes(mac)).writeInt(0xc0a87f03).writeZero(6).writeInt(0xc0a87f01);
        return TestGuest.ether(MacAddress.BROADCAST, mac, Ethernet.TYPE_ARP, TestGuest.bytes(b));
    }

    static void writeFrame(DataOutputStream out, byte[] frame) throws Exception {
        out.writeInt(frame.length);
        out.write(frame);
        out.flush();
    }

    static byte[] readFrame(DataInputStream in) throws Exception {
        int len = in.readInt();
        byte[] f = new byte[len];
        in.readFully(f);
        return f;
    }

    @Test
    void hostileLengthClosesOnlyThatConnection() throws Exception {
        net = VirtualNetwork.create(NetworkConfig.builder().build(), host, null);
        Channel server = QemuTransport.listen(net, new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        try (Socket good = new Socket("127.0.0.1", port); Socket bad = new Socket("127.0.0.1", port)) {
            good.setSoTimeout(5000);
            bad.setSoTimeout(5000);
            DataOutputStream badOut = new DataOutputStream(bad.getOutputStream());
            badOut.writeInt(0x7fffffff); // claims a 2 GiB frame
            badOut.flush();
            assertThat(bad.getInputStream().read()).as("bad peer is disconnected").isEqualTo(-1);
            // the other guest still gets ARP answers, with the frame split across writes
            DataOutputStream out = new DataOutputStream(good.getOutputStream());
            byte[] arp = arpWhoHasGateway(MacAddress.parse("02:00:00:00:00:01"));
            out.write(new byte[] {0, 0});
            out.flush();
            Thread.sleep(50);
            out.write(new byte[] {0, (byte) arp.length});
            out.write(arp, 0, 10);
            out.flush();
            Thread.sleep(50);
            out.write(arp, 10, arp.length - 10);
            out.flush();
            byte[] reply = readFrame(new DataInputStream(good.getInputStream()));
            assertThat(Ethernet.type(Unpooled.wrappedBuffer(reply))).isEqualTo(Ethernet.TYPE_ARP);
        } finally {
            server.close();
        }
    }

    @Test
    void listensOnUnixSocketsAndWritesPcapThatTsharkReads(@TempDir Path dir) throws Exception {
        Path pcapFile = dir.resolve("c.pcap");
        PcapWriter pcap = new PcapWriter(pcapFile);
        net = VirtualNetwork.create(NetworkConfig.builder().build(), host, pcap);
        Path sock = dir.resolve("q.sock");
        Channel server = QemuTransport.listen(net, QemuTransport.parseAddress("unix://" + sock)).sync().channel();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            byte[] arp = arpWhoHasGateway(MacAddress.parse("02:00:00:00:00:01"));
            ByteBuffer b = ByteBuffer.allocate(4 + arp.length).putInt(arp.length).put(arp).flip();
            while (b.hasRemaining()) {
                ch.write(b);
            }
            InputStream in = java.nio.channels.Channels.newInputStream(ch);
            byte[] reply = readFrame(new DataInputStream(in));
            assertThat(reply.length).isEqualTo(42);
        } finally {
            server.close();
            net.close();
            net = null;
            pcap.close();
        }
        byte[] file = Files.readAllBytes(pcapFile);
        assertThat(file.length).isEqualTo(24 + 16 + 42 + 16 + 42);
        Path tshark = Path.of("/usr/bin/tshark");
        if (Files.isExecutable(tshark)) {
            Process p = new ProcessBuilder(tshark.toString(), "-r", pcapFile.toString()).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(text).contains("Who has 192.168.127.1").contains("192.168.127.1 is at 5a:94:ef:e4:0c:dd");
        }
    }
}
