package dev.c2w.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

/** HopByHop's header rules on plain header maps. */
class HopByHopTest {
    @Test
    void theFixedListGoesAndEndToEndHeadersStay() {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Connection", "keep-alive");
        h.add("Keep-Alive", "timeout=5");
        h.add("Proxy-Connection", "keep-alive");
        h.add("Proxy-Authenticate", "Basic");
        h.add("Proxy-Authorization", "Basic eDp5");
        h.add("TE", "trailers");
        h.add("Upgrade", "h2c");
        h.add("Host", "example.com");
        h.add("Content-Type", "text/plain");
        h.add("Content-Length", "3");
        h.add("Authorization", "Bearer t");
        HopByHop.strip(h);
        assertThat(h.names()).containsExactlyInAnyOrder("Host", "Content-Type", "Content-Length", "Authorization");
    }

    @Test
    void headersNamedByConnectionGoInAnyCaseAndSpacing() {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Connection", "X-One ,  x-two,,");
        h.add("connection", "X-Three");
        h.add("x-one", "1");
        h.add("X-TWO", "2");
        h.add("X-Three", "3");
        h.add("X-Four", "4");
        HopByHop.strip(h);
        assertThat(h.names()).containsExactly("X-Four");
    }

    @Test
    void framingHeadersStayEvenWhenConnectionNamesThem() {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Connection", "Transfer-Encoding, content-length, Trailer");
        h.add("Transfer-Encoding", "chunked");
        h.add("Content-Length", "10");
        h.add("Trailer", "X-Checksum");
        HopByHop.strip(h);
        // Trailer goes only because Connection named it: it is not on the fixed list
        assertThat(h.names()).containsExactlyInAnyOrder("Transfer-Encoding", "Content-Length");

        HttpHeaders t = new DefaultHttpHeaders();
        t.add("Trailer", "X-Checksum");
        t.add("Transfer-Encoding", "chunked");
        HopByHop.strip(t);
        assertThat(t.names()).containsExactlyInAnyOrder("Trailer", "Transfer-Encoding");
    }

    @Test
    void repeatedHeadersKeepTheirValuesAndOrder() {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Set-Cookie", "a=1");
        h.add("Connection", "close");
        h.add("Set-Cookie", "b=2");
        HopByHop.strip(h);
        assertThat(h.getAll("Set-Cookie")).containsExactly("a=1", "b=2");
        assertThat(h.contains("Connection")).isFalse();
    }

    @Test
    void anUpgradeKeepsConnectionUpgradeAndItsUpgradeHeaderOnly() {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Connection", "keep-alive, Upgrade, X-Hop");
        h.add("Upgrade", "websocket");
        h.add("X-Hop", "1");
        h.add("Keep-Alive", "timeout=5");
        h.add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        HopByHop.stripKeepingUpgrade(h);
        assertThat(h.names()).containsExactlyInAnyOrder("connection", "upgrade", "Sec-WebSocket-Key");
        assertThat(h.get("Connection")).isEqualTo("upgrade");
        assertThat(h.get("Upgrade")).isEqualTo("websocket");

        HttpHeaders none = new DefaultHttpHeaders();
        none.add("Connection", "upgrade");
        HopByHop.stripKeepingUpgrade(none);
        assertThat(none.names()).containsExactly("connection");
    }

    @Test
    void webSocketUpgradeNeedsBothHeaders() {
        HttpHeaders ws = new DefaultHttpHeaders();
        ws.add("Connection", "keep-alive, Upgrade");
        ws.add("Upgrade", "WebSocket");
        assertThat(HopByHop.isWebSocketUpgrade(ws)).isTrue();

        HttpHeaders noConnection = new DefaultHttpHeaders();
        noConnection.add("Upgrade", "websocket");
        assertThat(HopByHop.isWebSocketUpgrade(noConnection)).isFalse();

        HttpHeaders otherProtocol = new DefaultHttpHeaders();
        otherProtocol.add("Connection", "Upgrade");
        otherProtocol.add("Upgrade", "h2c");
        assertThat(HopByHop.isWebSocketUpgrade(otherProtocol)).isFalse();
    }
}
