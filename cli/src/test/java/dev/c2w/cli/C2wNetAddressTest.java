package dev.c2w.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.netstack.config.NetworkConfig.PortForward;
import dev.c2w.wasi.UsageException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The address flags of c2w-net: {@code -p} and {@code --dns-upstream}. */
class C2wNetAddressTest {
    @Test
    void publishForms() {
        assertThat(C2wNet.parseForward("8080:80")).isEqualTo(new PortForward(false, "0.0.0.0", 8080, 80));
        assertThat(C2wNet.parseForward("127.0.0.1:8080:80")).isEqualTo(new PortForward(false, "127.0.0.1", 8080, 80));
        assertThat(C2wNet.parseForward("localhost:8000:80")).isEqualTo(new PortForward(false, "localhost", 8000, 80));
        assertThat(C2wNet.parseForward("[::1]:8080:80")).isEqualTo(new PortForward(false, "::1", 8080, 80));
        assertThat(C2wNet.parseForward("udp:5353:53")).isEqualTo(new PortForward(true, "0.0.0.0", 5353, 53));
        assertThat(C2wNet.parseForward("udp:127.0.0.1:5353:53"))
                .isEqualTo(new PortForward(true, "127.0.0.1", 5353, 53));
        assertThat(C2wNet.parseForward("tcp:8080:80")).isEqualTo(new PortForward(false, "0.0.0.0", 8080, 80));
        // an empty IP is no IP: every interface, as the help says IP defaults to 0.0.0.0
        assertThat(C2wNet.parseForward(":8080:80")).isEqualTo(new PortForward(false, "0.0.0.0", 8080, 80));
    }

    @Test
    void publishErrors() {
        assertThatThrownBy(() -> C2wNet.parseForward("8080"))
                .isInstanceOf(UsageException.class)
                .hasMessage(
                        "-p: expected [udp:|tcp:][IP:]HOSTPORT:GUESTPORT with IPv6 in brackets, e.g. 127.0.0.1:8080:80,"
                                + " got '8080' (missing GUESTPORT)");
        assertThatThrownBy(() -> C2wNet.parseForward("8080:http"))
                .hasMessageContaining("got '8080:http' (port 'http' is not a number)");
        assertThatThrownBy(() -> C2wNet.parseForward("8080:0")).hasMessageContaining("out of range 1-65535");
        assertThatThrownBy(() -> C2wNet.parseForward("70000:80")).hasMessageContaining("port 70000 is out of range");
        assertThatThrownBy(() -> C2wNet.parseForward("::1:8080:80")).hasMessageContaining("in brackets");
        assertThatThrownBy(() -> C2wNet.parseForward("[::1:8080:80")).hasMessageContaining("missing ]");
        assertThatThrownBy(() -> C2wNet.parseForward("[::1]:80")).hasMessageContaining("missing port after ]");
        assertThatThrownBy(() -> C2wNet.parseForward("a:b:8080:80")).hasMessageContaining("in brackets");
    }

    @Test
    void dnsUpstreamForms() throws Exception {
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        assertThat(C2wNet.parseDnsUpstream("127.0.0.1:5353")).isEqualTo(new InetSocketAddress(lo, 5353));
        assertThat(C2wNet.parseDnsUpstream("127.0.0.1")).isEqualTo(new InetSocketAddress(lo, 53));
        assertThat(C2wNet.parseDnsUpstream("::1")).isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 53));
        assertThat(C2wNet.parseDnsUpstream("[::1]")).isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 53));
        assertThat(C2wNet.parseDnsUpstream("[::1]:5353"))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 5353));
        assertThat(C2wNet.parseDnsUpstream(":5353"))
                .isEqualTo(new InetSocketAddress(InetAddress.getLoopbackAddress(), 5353));
    }

    @Test
    void dnsUpstreamErrors() {
        assertThatThrownBy(() -> C2wNet.parseDnsUpstream("127.0.0.1:x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--dns-upstream: expected HOST, HOST:PORT, IPV6, [IPV6], [IPV6]:PORT or :PORT,"
                        + " got '127.0.0.1:x' (port 'x' is not a number)");
        assertThatThrownBy(() -> C2wNet.parseDnsUpstream("[::1")).hasMessageContaining("missing ]");
        assertThatThrownBy(() -> C2wNet.parseDnsUpstream("[::1]x")).hasMessageContaining("'x' after ]");
        assertThatThrownBy(() -> C2wNet.parseDnsUpstream("5353")).hasMessageContaining("write HOST:5353 or :5353");
    }
}
