package dev.c2w.netstack.addr;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** IP literals without a resolver: what is one, and that names never are. */
class IpLiteralTest {
    @Test
    void ipv4AndIpv6Literals() throws Exception {
        assertThat(IpLiteral.parse("127.0.0.1")).isEqualTo(InetAddress.getByName("127.0.0.1"));
        assertThat(IpLiteral.parse("010.0.0.1")).isEqualTo(InetAddress.getByName("10.0.0.1"));
        assertThat(IpLiteral.parse("::1")).isEqualTo(InetAddress.getByName("::1"));
        assertThat(IpLiteral.parse("2001:DB8::53")).isEqualTo(InetAddress.getByName("2001:db8::53"));
        assertThat(IpLiteral.parse("::ffff:10.0.0.1")).isEqualTo(InetAddress.getByName("10.0.0.1"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "localhost",
                "dns.example.com",
                "1.2.3",
                "1.2.3.4.5",
                "300.1.1.1",
                "+1.2.3.4",
                " 1.2.3.4",
                "1.2.3.4 ",
                ".1:2",
                "fe80::1%",
                "[::1]",
                "::1:x",
                "g::1",
                "1:2:3:4:5:6:7:8:9",
                "127.0.0.1:80"
            })
    void notLiterals(String text) {
        assertThat(IpLiteral.parse(text)).isNull();
    }

    @Test
    void nullIsNotALiteral() {
        assertThat(IpLiteral.parse(null)).isNull();
    }
}
