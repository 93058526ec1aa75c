package dev.c2w.netstack.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.NetworkTestBase;
import dev.c2w.netstack.TestGuest;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Tcp;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** TCP sends no new data into a guest link that is full, and resumes when the link drains. */
class LinkBackpressureTest extends NetworkTestBase {
    @Test
    void noNewSegmentsWhileTheLinkIsFull() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5000);
            guest.send(guest.ipFrame(
                    TestGuest.gwMac(),
                    Ipv4.PROTO_TCP,
                    HOSTLO,
                    TestGuest.tcp(
                            GUEST,
                            HOSTLO,
                            46000,
                            server.getLocalPort(),
                            1,
                            0,
                            Tcp.SYN,
                            65535,
                            TcpTest.SYN_OPTS,
                            new byte[0])));
            try (Socket host = server.accept()) {
                TcpTest.Seg synAck = TcpTest.Seg.parse(guest.nextIp(Ipv4.PROTO_TCP, 5000));
                int next = synAck.seq() + 1;
                guest.writable = false; // the link to the guest is full from now on
                guest.send(guest.ipFrame(
                        TestGuest.gwMac(),
                        Ipv4.PROTO_TCP,
                        HOSTLO,
                        TestGuest.tcp(
                                GUEST,
                                HOSTLO,
                                46000,
                                server.getLocalPort(),
                                2,
                                next,
                                Tcp.ACK,
                                65535,
                                new byte[0],
                                new byte[0])));
                OutputStream out = host.getOutputStream();
                out.write(new byte[64 * 1024]);
                out.flush();
                Thread.sleep(300);
                int data = 0;
                byte[] f;
                while ((f = guest.nextIp(Ipv4.PROTO_TCP, 100)) != null) {
                    data += TcpTest.Seg.parse(f).data().length;
                }
                assertThat(data).as("data sent into a full link").isZero();
                guest.drain();
                int got = 0;
                while (got < 64 * 1024 && (f = guest.nextIp(Ipv4.PROTO_TCP, 3000)) != null) {
                    TcpTest.Seg s = TcpTest.Seg.parse(f);
                    if (s.seq() == next && s.data().length > 0) {
                        got += s.data().length;
                        next += s.data().length;
                        guest.send(guest.ipFrame(
                                TestGuest.gwMac(),
                                Ipv4.PROTO_TCP,
                                HOSTLO,
                                TestGuest.tcp(
                                        GUEST,
                                        HOSTLO,
                                        46000,
                                        server.getLocalPort(),
                                        2,
                                        next,
                                        Tcp.ACK,
                                        65535,
                                        new byte[0],
                                        new byte[0])));
                    }
                }
                assertThat(got).isEqualTo(64 * 1024);
            }
        }
    }
}
