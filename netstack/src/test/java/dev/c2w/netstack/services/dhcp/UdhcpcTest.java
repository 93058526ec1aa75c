package dev.c2w.netstack.services.dhcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.services.RecordingUdpContext;
import dev.c2w.netstack.services.RecordingUdpContext.Sent;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real DHCP client of c2w guests, busybox udhcpc, configures itself from our server. udhcpc runs on a
 * TAP interface in a network namespace of its own (unshare -n, so root is needed); a small Python bridge
 * (test resource tap_bridge.py) relays its Ethernet frames over stdin/stdout, and this test plays the
 * gateway: it unwraps IPv4/UDP to port 67, hands the payload to DhcpServer, and wraps the replies.
 * Skipped when not root or when busybox, python3, ip or unshare are missing.
 */
class UdhcpcTest {
    static final long GATEWAY_MAC = NetworkConfig.DEFAULT_GATEWAY_MAC;

    static boolean available(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static void assumeEnvironment() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for a network namespace");
        assumeTrue(available("busybox", "udhcpc", "--help") || available("busybox", "true"), "busybox");
        assumeTrue(available("python3", "-c", "pass"), "python3");
        assumeTrue(available("unshare", "-n", "ip", "link", "show"), "unshare -n and ip");
    }

    Map<String, String> runUdhcpc(DhcpServer server, RecordingUdpContext ctx, String mac, Path dir) throws Exception {
        Path result = dir.resolve("result-" + mac.replace(':', '_'));
        Path script = dir.resolve("script.sh");
        Files.writeString(
                script,
                "#!/bin/sh\n"
                        + "if [ \"$1\" = bound ]; then\n"
                        + "  { echo \"ip=$ip\"; echo \"subnet=$subnet\"; echo \"router=$router\"; echo \"dns=$dns\";"
                        + " echo \"mtu=$mtu\"; echo \"lease=$lease\"; echo \"serverid=$serverid\"; } > " + result + "\n"
                        + "fi\nexit 0\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        Path bridge = Path.of(getClass().getResource("tap_bridge.py").toURI());
        Process p = new ProcessBuilder("unshare", "-n", "python3", bridge.toString(), mac, script.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        Thread relay = new Thread(() -> relay(server, ctx, p), "udhcpc-relay");
        relay.start();
        boolean exited = p.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        relay.join(10_000);
        assertThat(exited).as("udhcpc finished").isTrue();
        assertThat(p.exitValue()).as("udhcpc exit status").isZero();
        Map<String, String> env = new HashMap<>();
        for (String line : Files.readAllLines(result)) {
            int eq = line.indexOf('=');
            env.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return env;
    }

    /** Reads frames from the bridge, serves DHCP, writes replies back, until the bridge closes its output. */
    private static void relay(DhcpServer server, RecordingUdpContext ctx, Process p) {
        try (DataInputStream in = new DataInputStream(p.getInputStream());
                OutputStream out = p.getOutputStream()) {
            while (true) {
                int len;
                try {
                    len = in.readUnsignedShort();
                } catch (EOFException e) {
                    return;
                }
                byte[] frame = new byte[len];
                in.readFully(frame);
                ByteBuffer f = ByteBuffer.wrap(frame);
                if (len < 42 || f.getShort(12) != 0x0800 || frame[23] != 17) {
                    continue;
                }
                int ihl = (frame[14] & 0x0f) * 4;
                int udp = 14 + ihl;
                if ((f.getShort(udp + 2) & 0xffff) != 67) {
                    continue;
                }
                int udpLen = f.getShort(udp + 4) & 0xffff;
                long srcMac = MacAddress.fromBytes(frame, 6);
                ByteBuf payload = Unpooled.wrappedBuffer(frame, udp + 8, udpLen - 8);
                synchronized (server) {
                    server.onDatagram(ctx, srcMac, f.getInt(26), f.getShort(udp) & 0xffff, f.getInt(30), 67, payload);
                }
                Sent s;
                while ((s = ctx.sent.poll()) != null) {
                    byte[] reply = frame(s);
                    out.write(reply.length >> 8);
                    out.write(reply.length);
                    out.write(reply);
                    out.flush();
                }
            }
        } catch (IOException e) {
            // the bridge went away
        }
    }

    /** Wraps a datagram sent by the server into Ethernet, IPv4 and UDP with correct checksums. */
    static byte[] frame(Sent s) {
        byte[] payload = s.payload();
        int udpLen = 8 + payload.length;
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + udpLen);
        b.put(MacAddress.toBytes(s.dstMac()))
                .put(MacAddress.toBytes(GATEWAY_MAC))
                .putShort((short) 0x0800);
        b.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) (20 + udpLen))
                .putShort((short) 0)
                .putShort((short) 0x4000)
                .put((byte) 64)
                .put((byte) 17)
                .putShort((short) 0)
                .putInt(s.srcIp())
                .putInt(s.dstIp());
        b.putShort(24, (short) checksum(b.array(), 14, 20, 0));
        b.putShort((short) s.srcPort())
                .putShort((short) s.dstPort())
                .putShort((short) udpLen)
                .putShort((short) 0);
        b.put(payload);
        long pseudo =
                (s.srcIp() >>> 16) + (s.srcIp() & 0xffff) + (s.dstIp() >>> 16) + (s.dstIp() & 0xffff) + 17 + udpLen;
        int c = checksum(b.array(), 34, udpLen, pseudo);
        b.putShort(40, (short) (c == 0 ? 0xffff : c));
        return b.array();
    }

    static int checksum(byte[] a, int off, int len, long sum) {
        for (int i = 0; i + 1 < len; i += 2) {
            sum += ((a[off + i] & 0xff) << 8) | (a[off + i + 1] & 0xff);
        }
        if ((len & 1) != 0) {
            sum += (a[off + len - 1] & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    @Test
    void busyboxUdhcpcConfiguresItselfFromOurServer(@TempDir Path dir) throws Exception {
        assumeEnvironment();
        NetworkConfig config = NetworkConfig.builder().build();
        RecordingUdpContext ctx = new RecordingUdpContext(config, null, null);
        DhcpServer server = new DhcpServer(config);

        Map<String, String> env = runUdhcpc(server, ctx, "02:00:00:00:00:01", dir);
        assertThat(env)
                .containsEntry("ip", "192.168.127.3")
                .containsEntry("subnet", "255.255.255.0")
                .containsEntry("router", "192.168.127.1")
                .containsEntry("dns", "192.168.127.1")
                .containsEntry("mtu", "1500")
                .containsEntry("lease", "3600")
                .containsEntry("serverid", "192.168.127.1");

        // another MAC gets the first pool address with the same options
        Map<String, String> other = runUdhcpc(server, ctx, "52:54:00:12:34:56", dir);
        assertThat(other)
                .containsEntry("ip", "192.168.127.2")
                .containsEntry("router", "192.168.127.1")
                .containsEntry("dns", "192.168.127.1");
        assertThat(server.leases()).extracting(DhcpLeases.Lease::state).containsOnly(DhcpLeases.State.BOUND);
        assertThat(ctx.stats().dhcpMalformed).isZero();
    }
}
