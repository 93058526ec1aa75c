package dev.c2w.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** RequestTarget on strings alone: the three request-target forms and the host:port split. */
class RequestTargetTest {
    @Test
    void absoluteFormWithoutPortTakesTheSchemesDefault() throws Exception {
        RequestTarget t = RequestTarget.parseAbsoluteForm("http://example.com/index.html");
        assertThat(t).isEqualTo(new RequestTarget(false, "example.com", 80, "/index.html", "example.com"));
        assertThat(t.scheme()).isEqualTo("http");

        RequestTarget s = RequestTarget.parseAbsoluteForm("https://example.com/x?y=1");
        assertThat(s).isEqualTo(new RequestTarget(true, "example.com", 443, "/x?y=1", "example.com"));
        assertThat(s.scheme()).isEqualTo("https");
    }

    @Test
    void absoluteFormWithPortKeepsItInHostHeaderValue() throws Exception {
        assertThat(RequestTarget.parseAbsoluteForm("http://example.com:8080/a"))
                .isEqualTo(new RequestTarget(false, "example.com", 8080, "/a", "example.com:8080"));
        assertThat(RequestTarget.parseAbsoluteForm("HTTPS://Example.com:8443"))
                .isEqualTo(new RequestTarget(true, "example.com", 8443, "/", "Example.com:8443"));
    }

    @Test
    void absoluteFormPathEdgeCases() throws Exception {
        assertThat(RequestTarget.parseAbsoluteForm("http://h.test").pathAndQuery())
                .isEqualTo("/");
        assertThat(RequestTarget.parseAbsoluteForm("http://h.test?q").pathAndQuery())
                .isEqualTo("/?q");
        assertThat(RequestTarget.parseAbsoluteForm("http://h.test#top").pathAndQuery())
                .isEqualTo("/");
        assertThat(RequestTarget.parseAbsoluteForm("http://h.test/p?q=1#f").pathAndQuery())
                .isEqualTo("/p?q=1");
        // an empty port (RFC 3986 allows "host:") means the scheme's default
        assertThat(RequestTarget.parseAbsoluteForm("http://h.test:/").port()).isEqualTo(80);
        assertThat(RequestTarget.parseAbsoluteForm("https://[::1]:/").port()).isEqualTo(443);
        // user information is not sent on as part of the Host header
        assertThat(RequestTarget.parseAbsoluteForm("http://u:p@h.test:81/").authority())
                .isEqualTo("h.test:81");
        // a trailing dot is canonicalised away in host, kept as written in authority
        assertThat(RequestTarget.parseAbsoluteForm("http://H.Test./"))
                .extracting("host", "authority")
                .containsExactly("h.test", "H.Test.");
    }

    @Test
    void ipv6LiteralsAreBracketedInTheAuthorityOnly() throws Exception {
        assertThat(RequestTarget.parseAbsoluteForm("http://[::1]/"))
                .isEqualTo(new RequestTarget(false, "::1", 80, "/", "[::1]"));
        assertThat(RequestTarget.parseAbsoluteForm("https://[2001:db8::1]:8443/v"))
                .isEqualTo(new RequestTarget(true, "2001:db8::1", 8443, "/v", "[2001:db8::1]:8443"));
        assertThat(RequestTarget.parseHostPort("[fe80::2]:22", RequestTarget.PORT_REQUIRED))
                .isEqualTo(new RequestTarget.HostPort("fe80::2", 22));
        assertThat(new RequestTarget.HostPort("::1", 443)).hasToString("[::1]:443");
        assertThat(new RequestTarget.HostPort("example.com", 443)).hasToString("example.com:443");
        assertThat(RequestTarget.bracket("10.0.0.1")).isEqualTo("10.0.0.1");
        assertThat(RequestTarget.bracket("::1")).isEqualTo("[::1]");
    }

    @Test
    void badAbsoluteTargetsAreRefusedWith400() {
        String[] bad = {
            "ftp://x/",
            "ws://x/",
            "://x/",
            "x",
            "*",
            "",
            "http://",
            "http:///p",
            "http://:80/",
            "http://x:0/",
            "http://x:65536/",
            "http://x:-1/",
            "http://x:8o/",
            "http://[::1/",
            "http://[::1]x/",
            "http://[::1]]/",
            "http://a..b/",
            "http://-a.test/",
            "http://x y/",
        };
        for (String uri : bad) {
            assertThatThrownBy(() -> RequestTarget.parseAbsoluteForm(uri))
                    .as(uri)
                    .isInstanceOfSatisfying(
                            Refusal.class, r -> assertThat(r.status.code()).isEqualTo(400));
        }
    }

    @Test
    void refusalsQuoteOnlyPrintableText() {
        assertThatThrownBy(() -> RequestTarget.parseAbsoluteForm("http://x:1\u00e9\u0001/"))
                .isInstanceOf(Refusal.class)
                .hasMessage("bad port in 'x:1??'");
        String longPort = "9".repeat(500);
        assertThatThrownBy(() -> RequestTarget.parseHostPort("x:" + longPort, 80))
                .isInstanceOf(Refusal.class)
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(230));
    }

    @Test
    void authorityFormOfConnectNeedsAPort() throws Exception {
        assertThat(RequestTarget.parseAuthorityForm("Example.com:443"))
                .isEqualTo(new RequestTarget.HostPort("example.com", 443));
        assertThat(RequestTarget.parseAuthorityForm("[::1]:8443")).isEqualTo(new RequestTarget.HostPort("::1", 8443));
        for (String bad :
                new String[] {"example.com", "example.com:", "[::1]", "[::1]:", "x:0", "x:99999", "/path", ""}) {
            assertThatThrownBy(() -> RequestTarget.parseAuthorityForm(bad))
                    .as(bad)
                    .isInstanceOfSatisfying(
                            Refusal.class, r -> assertThat(r.status.code()).isEqualTo(400));
        }
        assertThatThrownBy(() -> RequestTarget.parseAuthorityForm("example.com"))
                .hasMessage("CONNECT needs host:port, got 'example.com'");
    }

    @Test
    void insideATunnelTheTunnelNamesTheDestination() throws Exception {
        assertThat(RequestTarget.parseInTunnel("/a?b#c", "example.com", 443))
                .isEqualTo(new RequestTarget(true, "example.com", 443, "/a?b#c", "example.com"));
        assertThat(RequestTarget.parseInTunnel("/", "example.com", 8443).authority())
                .isEqualTo("example.com:8443");
        assertThat(RequestTarget.parseInTunnel("/", "::1", 443).authority()).isEqualTo("[::1]");
        assertThat(RequestTarget.parseInTunnel("/", "::1", 8443).authority()).isEqualTo("[::1]:8443");
        // an absolute URI inside a tunnel gives its path; the destination stays the tunnel's
        assertThat(RequestTarget.parseInTunnel("https://elsewhere.test:1/p?q", "example.com", 443))
                .isEqualTo(new RequestTarget(true, "example.com", 443, "/p?q", "example.com"));
        assertThatThrownBy(() -> RequestTarget.parseInTunnel("*", "example.com", 443))
                .isInstanceOfSatisfying(
                        Refusal.class, r -> assertThat(r.status.code()).isEqualTo(400));
    }
}
