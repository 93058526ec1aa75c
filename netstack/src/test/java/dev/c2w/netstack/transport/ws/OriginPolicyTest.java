package dev.c2w.netstack.transport.ws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class OriginPolicyTest {

    @Test
    void loopbackPagesAndMissingOriginAreAcceptedByDefault() {
        OriginPolicy p = new OriginPolicy(List.of());
        assertThat(p.allows(null)).isTrue();
        assertThat(p.allows("http://localhost:8080")).isTrue();
        assertThat(p.allows("http://localhost")).isTrue();
        assertThat(p.allows("http://LOCALHOST:8080")).isTrue();
        assertThat(p.allows("http://127.0.0.1:1")).isTrue();
        assertThat(p.allows("https://127.0.0.1:8443")).isTrue();
        assertThat(p.allows("http://[::1]:8080")).isTrue();
    }

    @Test
    void foreignLookalikeAndOpaqueOriginsAreRefusedByDefault() {
        OriginPolicy p = new OriginPolicy(List.of());
        assertThat(p.allows("https://evil.example")).isFalse();
        assertThat(p.allows("null")).isFalse();
        assertThat(p.allows("")).isFalse();
        assertThat(p.allows("http://localhost.evil.example")).isFalse();
        assertThat(p.allows("http://localhost.evil.example:8080")).isFalse();
        assertThat(p.allows("http://127.0.0.1.nip.io:8080")).isFalse();
        assertThat(p.allows("http://localhost:80x")).isFalse();
        assertThat(p.allows("http://localhost:8080/path")).isFalse();
        assertThat(p.allows("http://localhost@evil.example")).isFalse();
        assertThat(p.allows("file://localhost")).isFalse();
        assertThat(p.allows("http://[::1]evil")).isFalse();
        assertThat(p.allows("http://127.0.0.2:8080")).isFalse();
    }

    @Test
    void patternsWidenThePolicyWithWildcards() {
        OriginPolicy p = new OriginPolicy(List.of("https://*.example.org", "http://192.168.1.20:*", "null"));
        assertThat(p.allows("https://app.example.org")).isTrue();
        assertThat(p.allows("HTTPS://APP.EXAMPLE.ORG")).isTrue();
        assertThat(p.allows("https://example.org")).isFalse();
        assertThat(p.allows("http://app.example.org")).isFalse();
        assertThat(p.allows("http://192.168.1.20:3000")).isTrue();
        assertThat(p.allows("http://192.168.1.21:3000")).isFalse();
        assertThat(p.allows("null")).isTrue();
        assertThat(p.allows("http://localhost:1")).isTrue();
    }

    @Test
    void starAllowsEveryOriginAndTrailingSlashIsIgnored() {
        assertThat(new OriginPolicy(List.of("*")).allows("https://anything.example:444"))
                .isTrue();
        assertThat(new OriginPolicy(List.of("https://app.example/")).allows("https://app.example"))
                .isTrue();
    }

    @Test
    void patternsWithSpacesAreRejectedUpFront() {
        assertThatThrownBy(() -> new OriginPolicy(List.of("https://a.example b")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--ws-allow-origin");
        assertThatThrownBy(() -> new OriginPolicy(List.of(" "))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void listenAddressesParseLikeUpstream() {
        assertThat(WebSocketServerOptions.parseListenAddress("127.0.0.1:8888").getPort())
                .isEqualTo(8888);
        assertThat(WebSocketServerOptions.parseListenAddress("127.0.0.1:8888")
                        .getAddress()
                        .isLoopbackAddress())
                .isTrue();
        assertThat(WebSocketServerOptions.parseListenAddress(":9000")
                        .getAddress()
                        .isAnyLocalAddress())
                .isTrue();
        assertThat(WebSocketServerOptions.parseListenAddress("[::1]:8888")
                        .getAddress()
                        .getHostAddress())
                .contains(":");
        assertThat(WebSocketServerOptions.parseListenAddress("8888")
                        .getAddress()
                        .isLoopbackAddress())
                .isTrue();
        assertThatThrownBy(() -> WebSocketServerOptions.parseListenAddress("127.0.0.1:http"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a number");
        assertThatThrownBy(() -> WebSocketServerOptions.parseListenAddress("::1:8888"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WebSocketServerOptions.parseListenAddress("127.0.0.1:70000"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
