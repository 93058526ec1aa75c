package dev.c2w.netstack.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.TestGuest;
import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        Channel server = QemuTransport.listen(net, new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        try (Socket good = new Socket("127.0.0.1", port);
                Socket bad = new Socket("127.0.0.1", port)) {
            good.setSoTimeout(5000);
            bad.setSoTimeout(5000);
            DataOutputStream badOut = new DataOutputStream(bad.getOutputStream());
            badOut.writeInt(0x7fffffff); // claims a 2 GiB frame
            badOut.flush();
            assertThat(bad.getInputStream().read())
                    .as("bad peer is disconnected")
                    .isEqualTo(-1);
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
        Channel server = QemuTransport.listen(net, QemuTransport.parseAddress("unix://" + sock))
                .sync()
                .channel();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            byte[] arp = arpWhoHasGateway(MacAddress.parse("02:00:00:00:00:01"));
            ByteBuffer b = ByteBuffer.allocate(4 + arp.length)
                    .putInt(arp.length)
                    .put(arp)
                    .flip();
            while (b.hasRemaining()) {
                ch.write(b);
            }
            InputStream in = Channels.newInputStream(ch);
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
            Process p = new ProcessBuilder(tshark.toString(), "-r", pcapFile.toString())
                    .redirectErrorStream(true)
                    .start();
            String text = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(text).contains("Who has 192.168.127.1").contains("192.168.127.1 is at 5a:94:ef:e4:0c:dd");
        }
    }

    static byte[] echoRequest(int seq, byte[] data) {
        ByteBuf b = Unpooled.buffer(8 + data.length);
        b.writeShort(0x0800).writeShort(0).writeShort(0x1234).writeShort(seq).writeBytes(data);
        b.setShort(2, Checksum.compute(b, 0, b.readableBytes()));
        int src = Ipv4Address.parse("192.168.127.3");
        int gw = Ipv4Address.parse("192.168.127.1");
        return TestGuest.ether(
                MacAddress.parse("5a:94:ef:e4:0c:dd"),
                MacAddress.parse("02:00:00:00:00:01"),
                Ethernet.TYPE_IPV4,
                TestGuest.ipv4(Ipv4.PROTO_ICMP, src, gw, TestGuest.bytes(b)));
    }

    @Test
    void largeFramesCutAnywhereByTheStreamArriveWhole() throws Exception {
        // MTU 65520: frames longer than a read, cut after the prefix, inside the prefix, and packed together;
        // the stack answers each echo request, so every frame must have arrived whole and unchanged
        net = VirtualNetwork.create(NetworkConfig.builder().mtu(65520).build(), host, null);
        Channel server = QemuTransport.listen(net, new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        Random r = new Random(3);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[][] data = new byte[7][];
            byte[][] frames = new byte[7][];
            for (int i = 0; i < frames.length; i++) {
                data[i] = new byte[i == 6 ? 101 : 65_000 - 999 * i];
                r.nextBytes(data[i]);
                frames[i] = echoRequest(i, data[i]);
            }
            writeFrame(out, frames[0]); // whole
            ByteBuffer f1 = ByteBuffer.allocate(4 + frames[1].length)
                    .putInt(frames[1].length)
                    .put(frames[1]);
            out.write(f1.array(), 0, 4 + 101); // cut after the prefix: the rest is read into the frame's buffer
            out.flush();
            Thread.sleep(50);
            out.write(f1.array(), 105, f1.capacity() - 105);
            ByteBuffer f2 = ByteBuffer.allocate(4 + frames[2].length)
                    .putInt(frames[2].length)
                    .put(frames[2]);
            out.write(f2.array(), 0, 3); // cut inside the prefix
            out.flush();
            Thread.sleep(50);
            out.write(f2.array(), 3, f2.capacity() - 3);
            ByteBuffer rest = ByteBuffer.allocate(
                    4 * 4 + frames[3].length + frames[4].length + frames[5].length + frames[6].length);
            for (int i = 3; i < 7; i++) {
                rest.putInt(frames[i].length).put(frames[i]);
            }
            for (int off = 0; off < rest.capacity(); off += 7777) { // odd-sized writes
                out.write(rest.array(), off, Math.min(7777, rest.capacity() - off));
            }
            out.flush();
            for (int i = 0; i < frames.length; i++) {
                byte[] reply = readFrame(in);
                ByteBuf b = Unpooled.wrappedBuffer(reply);
                assertThat(b.getUnsignedByte(34)).as("echo reply %d", i).isZero();
                assertThat(b.getUnsignedShort(34 + 6)).isEqualTo(i);
                byte[] got = new byte[reply.length - 42];
                b.getBytes(42, got);
                assertThat(got).as("payload of reply %d", i).isEqualTo(data[i]);
            }
        } finally {
            server.close();
        }
        assertThat(net.stats().droppedMalformed + net.stats().droppedChecksum).isZero();
    }
}
