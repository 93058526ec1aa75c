package dev.c2w.netstack.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.NetworkTestBase;
import dev.c2w.netstack.TestGuest;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Tcp;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A guest whose NIC loses segments (as an emulated e1000 does under load): the host-to-guest transfer
 * must still complete intact, recovered by retransmission rather than stalled on ever longer timeouts.
 */
class TcpLossTest extends NetworkTestBase {
    @Test
    void transferSurvivesLostSegments() throws Exception {
        byte[] payload = new byte[2 * 1024 * 1024];
        new Random(11).nextBytes(payload);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread sender = new Thread(() -> {
                try (Socket s = server.accept();
                        OutputStream out = s.getOutputStream()) {
                    out.write(payload);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            sender.start();
            int port = server.getLocalPort();
            int gport = 45000;
            int isn = 1000;
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_TCP,
                    HOSTLO,
                    TestGuest.tcp(GUEST, HOSTLO, gport, port, isn, 0, Tcp.SYN, 65535, TcpTest.SYN_OPTS, new byte[0])));
            TcpTest.Seg synAck = TcpTest.Seg.parse(guest.nextIp(Ipv4.PROTO_TCP, 5000));
            assertThat(synAck.has(Tcp.SYN)).isTrue();
            int expected = synAck.seq() + 1;
            ack(port, gport, isn + 1, expected);

            ByteArrayOutputStream got = new ByteArrayOutputStream();
            final int base = expected;
            TreeMap<Integer, byte[]> ooo = new TreeMap<>();
            Set<Integer> droppedOnce = new HashSet<>();
            Random loss = new Random(5);
            long deadline = System.currentTimeMillis() + 20_000;
            boolean fin = false;
            long burstUntil = System.nanoTime();
            while (!fin && System.currentTimeMillis() < deadline) {
                byte[] f = guest.nextIp(Ipv4.PROTO_TCP, 5000);
                if (f == null) {
                    continue;
                }
                TcpTest.Seg s = TcpTest.Seg.parse(f);
                if (s.data().length > 0 && !droppedOnce.contains(s.seq())) {
                    long now = System.nanoTime();
                    if (now - burstUntil > 0 && loss.nextInt(300) == 0) {
                        // everything arriving in the next 3 ms is lost, as when a NIC's receive ring overflows;
                        // a loss at the tail of a window needs the timeout path to recover
                        burstUntil = now + 3_000_000L;
                    }
                    if (now - burstUntil < 0 || loss.nextInt(40) == 0) {
                        droppedOnce.add(s.seq()); // lost on the way in, first time only
                        continue;
                    }
                }
                if (s.data().length > 0 && s.seq() - expected >= 0) {
                    ooo.putIfAbsent(s.seq() - base, s.data()); // a receiver keeps out-of-order data, as Linux does
                }
                byte[] next;
                while ((next = ooo.remove(expected - base)) != null) {
                    got.write(next);
                    expected += next.length;
                }
                if (s.has(Tcp.FIN) && s.seq() + s.data().length == expected) {
                    expected++;
                    fin = true;
                }
                ack(port, gport, isn + 1, expected); // cumulative; a duplicate when something is missing
            }
            assertThat(fin)
                    .as(
                            "transfer finished; got %d bytes, %d drops, %d retransmits",
                            got.size(), droppedOnce.size(), net.stats().tcpRetransmits)
                    .isTrue();
            assertThat(droppedOnce).isNotEmpty();
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            assertThat(md.digest(got.toByteArray()))
                    .isEqualTo(MessageDigest.getInstance("SHA-256").digest(payload));
            assertThat(net.stats().tcpRetransmits).isGreaterThanOrEqualTo(droppedOnce.size());
            sender.join(5000);
        }
    }

    private void ack(int port, int gport, int seq, int ack) throws Exception {
        guest.send(guest.ipFrame(
                TestGuest.gwMac(),
                Ipv4.PROTO_TCP,
                HOSTLO,
                TestGuest.tcp(GUEST, HOSTLO, gport, port, seq, ack, Tcp.ACK, 65535, new byte[0], new byte[0])));
    }
}
