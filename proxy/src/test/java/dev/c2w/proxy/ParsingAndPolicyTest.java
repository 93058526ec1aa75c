package dev.c2w.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParsingAndPolicyTest {
    @Test
    void absoluteUris() throws Exception {
        assertThat(RequestTarget.parseAbsoluteForm("http://Example.COM/a/b?c=d#frag"))
                .isEqualTo(new RequestTarget(false, "example.com", 80, "/a/b?c=d", "Example.COM"));
        assertThat(RequestTarget.parseAbsoluteForm("https://example.com"))
                .extracting("tls", "port", "pathAndQuery")
                .containsExactly(true, 443, "/");
        assertThat(RequestTarget.parseAbsoluteForm("http://user:pw@[::1]:8080?x"))
                .extracting("host", "port", "pathAndQuery")
                .containsExactly("::1", 8080, "/?x");
        assertThat(RequestTarget.parseAbsoluteForm("http://10.0.0.1:81/"))
                .extracting("host", "port")
                .containsExactly("10.0.0.1", 81);
    }

    @Test
    void badTargetsAreRefusedWith400() {
        for (String bad : new String[] {
            "ftp://x/",
            "http://x:0/",
            "http://x:99999/",
            "http://x:ab/",
            "http:///",
            "http://[::1/",
            "http://a..b/",
            "nonsense",
            "http://x y/"
        }) {
            assertThatThrownBy(() -> RequestTarget.parseAbsoluteForm(bad))
                    .as(bad)
                    .isInstanceOfSatisfying(
                            Refusal.class, r -> assertThat(r.status.code()).isEqualTo(400));
        }
        assertThatThrownBy(() -> RequestTarget.parseHostPort("example.com", -1))
                .hasMessageContaining("CONNECT needs host:port");
    }

    @Test
    void hopByHopHeadersGo() {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Connection", "keep-alive, X-Secret");
        h.add("X-Secret", "1");
        h.add("Keep-Alive", "timeout=5");
        h.add("Proxy-Authorization", "Basic x");
        h.add("Set-Cookie", "a=1");
        h.add("Set-Cookie", "b=2");
        h.add("Transfer-Encoding", "chunked");
        HopByHop.strip(h);
        assertThat(h.names()).containsExactlyInAnyOrder("Set-Cookie", "Transfer-Encoding");
        assertThat(h.getAll("Set-Cookie")).containsExactly("a=1", "b=2");
    }

    @Test
    void policyPatterns() {
        HostPolicy p = new HostPolicy(List.of("*.example.com", "10.0.0.1"), List.of("bad.example.com"));
        assertThat(p.allows("a.example.com")).isTrue();
        assertThat(p.allows("A.B.Example.Com.")).isTrue();
        assertThat(p.allows("example.com")).isFalse(); // the wildcard names subdomains only
        assertThat(p.allows("bad.example.com")).isFalse();
        assertThat(p.allows("10.0.0.1")).isTrue();
        assertThat(p.allows("evil-example.com")).isFalse();
        assertThat(HostPolicy.allowAll().allows("anything.test")).isTrue();
        HostPolicy denyAll = new HostPolicy(List.of(), List.of("*"));
        assertThat(denyAll.allows("x")).isFalse();
        for (String bad : new String[] {"", "*.", "a*.com", "*.*.com", "http://x/"}) {
            assertThatThrownBy(() -> new HostPolicy(List.of(bad), List.of()))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("*.example.com");
        }
    }
}
