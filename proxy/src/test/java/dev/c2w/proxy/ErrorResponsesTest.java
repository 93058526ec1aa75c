package dev.c2w.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The error responses and their wording, without a channel. */
class ErrorResponsesTest {
    @Test
    void anErrorIsAShortTextBodyWithItsLength() {
        FullHttpResponse r = ErrorResponses.response(HttpResponseStatus.BAD_GATEWAY, "cannot reach höst", false);
        try {
            assertThat(r.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
            assertThat(r.status().code()).isEqualTo(502);
            String body = r.content().toString(StandardCharsets.UTF_8);
            assertThat(body).isEqualTo("c2w-net proxy: cannot reach höst\n");
            assertThat(r.headers().get("Content-Type")).isEqualTo("text/plain; charset=utf-8");
            assertThat(r.headers().getInt("Content-Length")).isEqualTo(body.getBytes(StandardCharsets.UTF_8).length);
            assertThat(r.headers().contains("Connection")).isFalse();
        } finally {
            r.release();
        }
    }

    @Test
    void closingErrorsSaySo() {
        FullHttpResponse r = ErrorResponses.response(HttpResponseStatus.BAD_REQUEST, "no", true);
        try {
            assertThat(r.status().code()).isEqualTo(400);
            assertThat(r.headers().get("Connection")).isEqualTo("close");
        } finally {
            r.release();
        }
    }

    @Test
    void refusalsCarryTheirStatus() {
        Refusal forbidden = ErrorResponses.forbidden("example.com");
        assertThat(forbidden.status.code()).isEqualTo(403);
        assertThat(forbidden).hasMessage("access to example.com is not allowed by the proxy policy");
        assertThat(ErrorResponses.connectInTunnel().status.code()).isEqualTo(405);
        assertThat(ErrorResponses.notAProxyRequest().status.code()).isEqualTo(400);
        assertThat(ErrorResponses.notAProxyRequest().getMessage())
                .contains("absolute URI", "CONNECT host:port", "/proxy.crt");
        assertThat(Refusal.badRequest("x").status.code()).isEqualTo(400);
        assertThat(forbidden.getStackTrace()).isEmpty();
    }

    @Test
    void gatewayMessagesNameTheUpstream() {
        UpstreamPool.Key key = new UpstreamPool.Key(true, "origin.test", 8443, "origin.test");
        assertThat(ErrorResponses.closedWithoutResponse(key))
                .isEqualTo("upstream https://origin.test:8443 closed the connection without a response");
        assertThat(ErrorResponses.cannotReach(key, new ConnectException("refused")))
                .isEqualTo("cannot reach https://origin.test:8443: java.net.ConnectException: refused");
        UpstreamPool.UpstreamException typed = new UpstreamPool.UpstreamException(
                UpstreamPool.UpstreamException.Kind.CONNECT, "cannot connect to origin.test:8443: refused", null);
        assertThat(ErrorResponses.cannotReach(key, typed)).isEqualTo("cannot connect to origin.test:8443: refused");
        assertThat(ErrorResponses.cannotConnect(new RequestTarget.HostPort("::1", 22), new ConnectException("refused")))
                .isEqualTo("cannot connect to [::1]:22: refused");
        assertThat(ErrorResponses.cannotConnect(new RequestTarget.HostPort("h.test", 22), null))
                .isEqualTo("cannot connect to h.test:22: ?");
        assertThat(ErrorResponses.malformedRequest(null)).isEqualTo("malformed request: ?");
        assertThat(ErrorResponses.malformedRequest(new IllegalArgumentException("header too long")))
                .isEqualTo("malformed request: header too long");
    }
}
