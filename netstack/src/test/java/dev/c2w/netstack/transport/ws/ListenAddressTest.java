package dev.c2w.netstack.transport.ws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** {@code --listen-ws ADDR}: every form upstream takes, and the errors. */
class ListenAddressTest {
    static InetSocketAddress parse(String s) {
        return WebSocketServerOptions.parseListenAddress(s);
    }

    @Test
    void forms() throws Exception {
        assertThat(parse("127.0.0.1:8888")).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8888));
        assertThat(parse("localhost:8888").getHostString()).isEqualTo("localhost");
        assertThat(parse("[::1]:8888")).isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 8888));
        assertThat(parse(":8888")).isEqualTo(new InetSocketAddress(8888));
        assertThat(parse(":8888").getAddress().isAnyLocalAddress()).isTrue();
        assertThat(parse("8888")).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8888));
        assertThat(parse("127.0.0.1:0").getPort()).isZero();
        assertThat(parse("0").getPort()).isZero();
    }

    @Test
    void errorsSayWhatIsExpected() {
        assertThatThrownBy(() -> parse("localhost"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "--listen-ws: expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got 'localhost' (missing port)");
        assertThatThrownBy(() -> parse("[::1]")).hasMessageContaining("missing port");
        assertThatThrownBy(() -> parse("::1:8888")).hasMessageContaining("in brackets");
        assertThatThrownBy(() -> parse("h:65536")).hasMessageContaining("out of range 0-65535");
        assertThatThrownBy(() -> parse("h:x")).hasMessageContaining("port 'x' is not a number");
        assertThatThrownBy(() -> parse("[]:8888")).hasMessageContaining("empty host");
    }
}
