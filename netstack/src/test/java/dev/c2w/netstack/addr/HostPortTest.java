package dev.c2w.netstack.addr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.netstack.addr.HostPort.BarePort;
import dev.c2w.netstack.addr.HostPort.ParseException;
import dev.c2w.netstack.addr.HostPort.Syntax;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The host:port rules of every flag: each form, where it is accepted, and what the errors say. */
class HostPortTest {
    /** Like -wasi-addr: host and port always written. */
    static final Syntax STRICT = HostPort.syntax("--strict");
    /** Like --listen-qemu: :PORT has no host. */
    static final Syntax COLON = HostPort.syntax("--colon").withBarePort(BarePort.COLON_PORT);
    /** Like --listen-ws: :PORT and PORT have no host, port 0 allowed. */
    static final Syntax BARE =
            HostPort.syntax("--bare").withBarePort(BarePort.PORT).withPortZero();
    /** Like --dns-upstream: port 53 unless given, :PORT has no host. */
    static final Syntax DEFAULTED =
            HostPort.syntax("--defaulted").withDefaultPort(53).withBarePort(BarePort.COLON_PORT);

    static HostPort hp(String host, int port) {
        return new HostPort(host, port);
    }

    @Test
    void hostAndPort() {
        assertThat(HostPort.parse("127.0.0.1:1234", STRICT)).isEqualTo(hp("127.0.0.1", 1234));
        assertThat(HostPort.parse("localhost:8888", STRICT)).isEqualTo(hp("localhost", 8888));
        assertThat(HostPort.parse("dns.example.org:5353", DEFAULTED)).isEqualTo(hp("dns.example.org", 5353));
        assertThat(HostPort.parse("h:1", STRICT)).isEqualTo(hp("h", 1));
        assertThat(HostPort.parse("h:65535", STRICT)).isEqualTo(hp("h", 65535));
        assertThat(HostPort.parse("h:080", STRICT).port()).isEqualTo(80);
    }

    @Test
    void ipv6InBrackets() {
        assertThat(HostPort.parse("[::1]:80", STRICT)).isEqualTo(hp("::1", 80));
        assertThat(HostPort.parse("[2001:db8::53]:5353", DEFAULTED)).isEqualTo(hp("2001:db8::53", 5353));
        assertThat(HostPort.parse("[fe80::1%eth0]:22", STRICT)).isEqualTo(hp("fe80::1%eth0", 22));
        // what is in the brackets is the host as it is, as Go's SplitHostPort takes it
        assertThat(HostPort.parse("[localhost]:80", STRICT)).isEqualTo(hp("localhost", 80));
    }

    @Test
    void ipv6InBracketsWithoutPortGetsTheDefault() {
        assertThat(HostPort.parse("[::1]", DEFAULTED)).isEqualTo(hp("::1", 53));
        assertThatThrownBy(() -> HostPort.parse("[::1]", STRICT))
                .isInstanceOf(ParseException.class)
                .hasMessageContaining("missing port");
        assertThatThrownBy(() -> HostPort.parse("[::1]", BARE)).hasMessageContaining("missing port");
    }

    @Test
    void bareIpv6LiteralOnlyWhereThePortHasADefault() {
        assertThat(HostPort.parse("::1", DEFAULTED)).isEqualTo(hp("::1", 53));
        assertThat(HostPort.parse("2001:db8::53", DEFAULTED)).isEqualTo(hp("2001:db8::53", 53));
        assertThat(HostPort.parse("::ffff:10.0.0.1", DEFAULTED)).isEqualTo(hp("::ffff:10.0.0.1", 53));
        // two or more colons without brackets is an address, never an address and a port
        assertThat(HostPort.parse("::1:80", DEFAULTED)).isEqualTo(hp("::1:80", 53));
        for (Syntax s : new Syntax[] {STRICT, COLON, BARE}) {
            assertThatThrownBy(() -> HostPort.parse("::1:80", s))
                    .isInstanceOf(ParseException.class)
                    .hasMessageContaining("in brackets, as in [::1]:80");
            assertThatThrownBy(() -> HostPort.parse("2001:db8::1", s)).hasMessageContaining("in brackets");
        }
    }

    @Test
    void bareIpv6MustBeAnIpv6Literal() {
        assertThatThrownBy(() -> HostPort.parse("host:53:x", DEFAULTED))
                .isInstanceOf(ParseException.class)
                .hasMessageContaining("not an IPv6 address");
        assertThatThrownBy(() -> HostPort.parse("1:2:3:4:5:6:7:8:9", DEFAULTED))
                .hasMessageContaining("not an IPv6 address");
        assertThatThrownBy(() -> HostPort.parse(":::", DEFAULTED)).hasMessageContaining("not an IPv6 address");
    }

    @Test
    void hostWithoutPortOnlyWhereThereIsADefault() {
        assertThat(HostPort.parse("1.1.1.1", DEFAULTED)).isEqualTo(hp("1.1.1.1", 53));
        assertThat(HostPort.parse("resolver.lan", DEFAULTED)).isEqualTo(hp("resolver.lan", 53));
        assertThatThrownBy(() -> HostPort.parse("localhost", STRICT))
                .isInstanceOf(ParseException.class)
                .hasMessage("--strict: expected HOST:PORT or [IPV6]:PORT, got 'localhost' (missing port)");
        assertThatThrownBy(() -> HostPort.parse("localhost", BARE)).hasMessageContaining("missing port");
        assertThatThrownBy(() -> HostPort.parse("localhost:", STRICT)).hasMessageContaining("missing port");
        assertThatThrownBy(() -> HostPort.parse("localhost:", DEFAULTED)).hasMessageContaining("missing port");
        assertThatThrownBy(() -> HostPort.parse("[::1]:", DEFAULTED)).hasMessageContaining("missing port");
    }

    @Test
    void colonPortHasNoHostWhereAllowed() {
        assertThat(HostPort.parse(":8080", COLON)).isEqualTo(hp(null, 8080));
        assertThat(HostPort.parse(":8080", BARE)).isEqualTo(hp(null, 8080));
        assertThat(HostPort.parse(":5353", DEFAULTED)).isEqualTo(hp(null, 5353));
        assertThat(HostPort.parse(":8080", COLON).hasHost()).isFalse();
        assertThatThrownBy(() -> HostPort.parse(":8080", STRICT))
                .isInstanceOf(ParseException.class)
                .hasMessageContaining("missing host");
    }

    @Test
    void barePortHasNoHostWhereAllowed() {
        assertThat(HostPort.parse("8080", BARE)).isEqualTo(hp(null, 8080));
        assertThat(HostPort.parse("0", BARE)).isEqualTo(hp(null, 0));
        assertThatThrownBy(() -> HostPort.parse("8080", STRICT))
                .isInstanceOf(ParseException.class)
                .hasMessageContaining("'8080' is a port without a host; write HOST:8080)");
        assertThatThrownBy(() -> HostPort.parse("8080", COLON))
                .hasMessageContaining("'8080' is a port without a host; write HOST:8080 or :8080");
        // where a host alone is accepted, digits alone are still not taken for a host name
        assertThatThrownBy(() -> HostPort.parse("5353", DEFAULTED)).hasMessageContaining("is a port without a host");
    }

    @Test
    void aHostOfDigitsIsRefused() {
        assertThatThrownBy(() -> HostPort.parse("8080:80", BARE))
                .isInstanceOf(ParseException.class)
                .hasMessageContaining("host '8080' is a number");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "h:0",
                "h:65536",
                "h:99999",
                "h:123456",
                "h:-1",
                "h:+80",
                "h:http",
                "h:8o",
                "h:80 ",
                "h: 80",
                "h:0x50",
                "[::1]:0",
                "[::1]:65536",
                "[::1]:x"
            })
    void badPortsAreRefused(String text) {
        assertThatThrownBy(() -> HostPort.parse(text, STRICT))
                .isInstanceOf(ParseException.class)
                .hasMessageStartingWith("--strict: expected HOST:PORT or [IPV6]:PORT, got '" + text + "' (")
                .hasMessageContaining("port");
    }

    @Test
    void portMessagesSayWhatIsWrong() {
        assertThatThrownBy(() -> HostPort.parse("h:65536", STRICT))
                .hasMessageContaining("port 65536 is out of range 1-65535");
        assertThatThrownBy(() -> HostPort.parse("h:0", STRICT)).hasMessageContaining("port 0 is out of range 1-65535");
        assertThatThrownBy(() -> HostPort.parse("h:x", STRICT)).hasMessageContaining("port 'x' is not a number");
        assertThatThrownBy(() -> HostPort.parse(":65536", BARE))
                .hasMessageContaining("port 65536 is out of range 0-65535");
    }

    @Test
    void portZeroOnlyWhereAllowed() {
        assertThat(HostPort.parse("127.0.0.1:0", BARE)).isEqualTo(hp("127.0.0.1", 0));
        assertThat(HostPort.parse(":0", BARE)).isEqualTo(hp(null, 0));
        assertThatThrownBy(() -> HostPort.parse(":0", COLON)).hasMessageContaining("out of range 1-65535");
        assertThatThrownBy(() -> HostPort.parse("[::1]:0", DEFAULTED)).hasMessageContaining("out of range 1-65535");
    }

    @Test
    void parsePortAlone() {
        assertThat(HostPort.parsePort("80", STRICT)).isEqualTo(80);
        assertThat(HostPort.parsePort("0", BARE)).isZero();
        assertThatThrownBy(() -> HostPort.parsePort("0", STRICT)).hasMessageContaining("out of range");
        assertThatThrownBy(() -> HostPort.parsePort("", STRICT)).hasMessageContaining("missing port");
        assertThatThrownBy(() -> HostPort.parsePort("http", STRICT))
                .isInstanceOf(ParseException.class)
                .satisfies(e -> assertThat(((ParseException) e).detail()).isEqualTo("port 'http' is not a number"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "[]",
                "[]:80",
                "[::1",
                "[::1:80",
                "[::1]80",
                "[::1]:80]",
                "[[::1]]:80",
                "::1]:80",
                "a[b]:80",
                "h o:80",
                " h:80",
                "h\t:80",
                "[:: 1]:80"
            })
    void malformedHostsAreRefused(String text) {
        for (Syntax s : new Syntax[] {STRICT, COLON, BARE, DEFAULTED}) {
            assertThatThrownBy(() -> HostPort.parse(text, s))
                    .isInstanceOf(ParseException.class)
                    .hasMessageContaining("got '" + text + "'");
        }
    }

    @Test
    void hostMessagesSayWhatIsWrong() {
        assertThatThrownBy(() -> HostPort.parse("", STRICT)).hasMessageEndingWith("got '' (empty)");
        assertThatThrownBy(() -> HostPort.parse("[]:80", STRICT)).hasMessageContaining("empty host in []");
        assertThatThrownBy(() -> HostPort.parse("[::1", STRICT)).hasMessageContaining("missing ]");
        assertThatThrownBy(() -> HostPort.parse("[::1]80", STRICT)).hasMessageContaining("'80' after ]");
        assertThatThrownBy(() -> HostPort.parse("a[b]:80", STRICT))
                .hasMessageContaining("brackets go around the whole host");
        assertThatThrownBy(() -> HostPort.parse("h o:80", STRICT)).hasMessageContaining("space in the host");
    }

    @Test
    void messagesListTheFormsOfEachSyntax() {
        assertThat(HostPort.list(STRICT.forms())).isEqualTo("HOST:PORT or [IPV6]:PORT");
        assertThat(HostPort.list(COLON.forms())).isEqualTo("HOST:PORT, [IPV6]:PORT or :PORT");
        assertThat(HostPort.list(BARE.forms())).isEqualTo("HOST:PORT, [IPV6]:PORT, :PORT or PORT");
        assertThat(HostPort.list(DEFAULTED.forms())).isEqualTo("HOST, HOST:PORT, IPV6, [IPV6], [IPV6]:PORT or :PORT");
        assertThatThrownBy(() -> HostPort.parse("x:y", BARE))
                .hasMessage(
                        "--bare: expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got 'x:y' (port 'y' is not a number)");
        assertThat(HostPort.message("-p", "IP:HOSTPORT:GUESTPORT", "a:b:c", "port 'c' is not a number"))
                .isEqualTo("-p: expected IP:HOSTPORT:GUESTPORT, got 'a:b:c' (port 'c' is not a number)");
    }

    @Test
    void syntaxRefusesABadDefaultPort() {
        assertThatThrownBy(() -> HostPort.syntax("x").withDefaultPort(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HostPort.syntax("x").withDefaultPort(65536))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(HostPort.syntax("x").hasDefaultPort()).isFalse();
        assertThat(HostPort.syntax("x").withDefaultPort(53).hasDefaultPort()).isTrue();
    }

    @Test
    void recordInvariants() {
        assertThatThrownBy(() -> new HostPort("", 80)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HostPort("h", -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HostPort("h", 65536)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void toStringReadsBack() {
        for (String s : new String[] {"127.0.0.1:80", "[::1]:80", "localhost:8080", ":9"}) {
            assertThat(HostPort.parse(s, COLON).toString()).isEqualTo(s);
        }
        assertThat(HostPort.parse("::1", DEFAULTED).toString()).isEqualTo("[::1]:53");
        assertThat(HostPort.parse("8080", BARE).toString()).isEqualTo(":8080");
    }

    @Test
    void orHostAndSocketAddresses() throws Exception {
        assertThat(HostPort.parse(":8080", COLON).orHost("0.0.0.0")).isEqualTo(hp("0.0.0.0", 8080));
        assertThat(HostPort.parse("h:8080", COLON).orHost("0.0.0.0")).isEqualTo(hp("h", 8080));
        assertThat(HostPort.parse(":8080", COLON).toInetSocketAddress()).isEqualTo(new InetSocketAddress(8080));
        assertThat(HostPort.parse("[::1]:80", STRICT).toInetSocketAddress())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 80));
        assertThat(HostPort.parse("10.1.2.3:80", STRICT).toInetSocketAddress())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 80));
    }
}
