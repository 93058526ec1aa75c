package dev.c2w.netstack.wire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.TestGuest;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameDescriberTest {
    @Test
    void describesTcpSyn() {
        int a = Ipv4Address.parse("192.168.127.3");
        int b = Ipv4Address.parse("192.168.127.254");
        byte[] f = TestGuest.ether(
                TestGuest.gwMac(),
                2,
                0x0800,
                TestGuest.ipv4(
                        Ipv4.PROTO_TCP,
                        a,
                        b,
                        TestGuest.tcp(a, b, 1234, 80, 1, 0, Tcp.SYN, 100, new byte[0], new byte[0])));
        assertThat(FrameDescriber.describe(Unpooled.wrappedBuffer(f)))
                .contains("TCP 192.168.127.3:1234 > 192.168.127.254:80 [S]");
    }

    @Test
    void neverThrowsOnTruncatedOrRandomFrames() {
        int a = Ipv4Address.parse("192.168.127.3");
        byte[] f = TestGuest.ether(
                TestGuest.gwMac(),
                2,
                0x0800,
                TestGuest.ipv4(Ipv4.PROTO_UDP, a, a, TestGuest.udp(a, a, 1, 2, new byte[10])));
        for (int n = 0; n <= f.length; n++) {
            assertThat(FrameDescriber.describe(Unpooled.wrappedBuffer(Arrays.copyOf(f, n))))
                    .isNotEmpty();
        }
        Random r = new Random(3);
        for (int i = 0; i < 5000; i++) {
            byte[] x = new byte[r.nextInt(80)];
            r.nextBytes(x);
            if (x.length > 13 && r.nextBoolean()) {
                x[12] = 8;
                x[13] = (byte) (r.nextBoolean() ? 0 : 6);
            }
            assertThat(FrameDescriber.describe(Unpooled.wrappedBuffer(x))).isNotNull();
        }
    }
}
