package dev.c2w.netstack.addr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.netstack.addr.HostPort.BarePort;
import dev.c2w.netstack.addr.HostPort.ParseException;
import dev.c2w.netstack.addr.HostPort.Syntax;
import dev.c2w.netstack.transport.QemuTransport;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** unix:// and tcp:// addresses, and how QemuTransport turns them into socket addresses. */
class StreamAddressTest {
    static final Syntax QEMU = HostPort.syntax("--listen-qemu").withBarePort(BarePort.COLON_PORT);

    @Test
    void unixPaths() {
        assertThat(StreamAddress.parse("unix:///tmp/c2w.sock", QEMU))
                .isEqualTo(new StreamAddress.Unix("/tmp/c2w.sock"));
        assertThat(StreamAddress.parse("unix://c2w.sock", QEMU)).isEqualTo(new StreamAddress.Unix("c2w.sock"));
        assertThat(StreamAddress.parse("unix:///tmp/a:b", QEMU)).isEqualTo(new StreamAddress.Unix("/tmp/a:b"));
        assertThat(StreamAddress.parse("unix:///tmp/c2w.sock", QEMU).toString()).isEqualTo("unix:///tmp/c2w.sock");
        assertThatThrownBy(() -> StreamAddress.parse("unix://", QEMU))
                .isInstanceOf(ParseException.class)
                .hasMessageContaining("unix:// needs a path");
    }

    @Test
    void tcpWithOrWithoutScheme() {
        StreamAddress.Tcp want = new StreamAddress.Tcp(new HostPort("127.0.0.1", 1234));
        assertThat(StreamAddress.parse("tcp://127.0.0.1:1234", QEMU)).isEqualTo(want);
        assertThat(StreamAddress.parse("127.0.0.1:1234", QEMU)).isEqualTo(want);
        assertThat(StreamAddress.parse("tcp://[::1]:1234", QEMU))
                .isEqualTo(new StreamAddress.Tcp(new HostPort("::1", 1234)));
        assertThat(StreamAddress.parse("tcp://:1234", QEMU)).isEqualTo(new StreamAddress.Tcp(new HostPort(null, 1234)));
        assertThat(want.toString()).isEqualTo("tcp://127.0.0.1:1234");
    }

    @Test
    void otherSchemesAndBadTcpAreRefusedWithTheForms() {
        assertThatThrownBy(() -> StreamAddress.parse("http://127.0.0.1:1234", QEMU))
                .isInstanceOf(ParseException.class)
                .hasMessageContaining("unsupported scheme http://");
        assertThatThrownBy(() -> StreamAddress.parse("tcp://unix:///x", QEMU))
                .hasMessageContaining("unsupported scheme unix://");
        assertThatThrownBy(() -> StreamAddress.parse("tcp://127.0.0.1", QEMU))
                .hasMessage("--listen-qemu: expected tcp://HOST:PORT, tcp://[IPV6]:PORT, tcp://:PORT or unix://PATH"
                        + " (tcp:// may be left out), got 'tcp://127.0.0.1' (missing port)");
        assertThatThrownBy(() -> StreamAddress.parse("1234", QEMU))
                .hasMessageContaining("'1234' is a port without a host");
        assertThatThrownBy(() -> StreamAddress.parse("::1:1234", QEMU)).hasMessageContaining("in brackets");
        assertThatThrownBy(() -> StreamAddress.parse("tcp://h:0", QEMU)).hasMessageContaining("out of range 1-65535");
    }

    @Test
    void qemuTransportAddresses() throws Exception {
        assertThat(QemuTransport.parseAddress("unix:///tmp/c2w.sock"))
                .isInstanceOfSatisfying(
                        DomainSocketAddress.class, d -> assertThat(d.path()).isEqualTo("/tmp/c2w.sock"));
        assertThat(QemuTransport.parseAddress("tcp://127.0.0.1:1234"))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 1234));
        assertThat(QemuTransport.parseAddress("127.0.0.1:1234"))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 1234));
        assertThat(QemuTransport.parseAddress("[::1]:1234"))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 1234));
        assertThat(QemuTransport.parseAddress(":1234"))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 1234));
        assertThat(QemuTransport.parseAddress("localhost:1234"))
                .isInstanceOfSatisfying(
                        InetSocketAddress.class,
                        a -> assertThat(a.getHostString()).isEqualTo("localhost"));
        assertThatThrownBy(() -> QemuTransport.parseAddress("x", "--listen-qemu"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--listen-qemu: expected tcp://HOST:PORT");
    }
}
