package dev.c2w.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The error answers the proxy gives the guest, and their wording, in one place: 400 for a request it cannot
 * understand, 403 for one the host policy refuses, 405 for CONNECT inside a tunnel, 502 when the upstream
 * cannot be reached, fails TLS verification, or closes or answers nonsense.
 *
 * <p>Every error is a small text/plain body, "c2w-net proxy: " and the reason on one line, so that a person
 * running curl in the guest reads why. The caller writes the response; nothing here touches a channel.
 */
final class ErrorResponses {
    private static final String PREFIX = "c2w-net proxy: ";

    private ErrorResponses() {}

    /**
     * An error response with the reason as its body. With {@code close} it says "Connection: close" (the
     * caller closes the connection once it is written).
     */
    static FullHttpResponse response(HttpResponseStatus status, String message, boolean close) {
        ByteBuf body = Unpooled.copiedBuffer(bodyText(message), StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (close) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return r;
    }

    /** The body of an error response (also written raw by ConnectTunnelHandler, which has no codec). */
    static String bodyText(String message) {
        return PREFIX + message + "\n";
    }

    // ----- 4xx: refusals

    /** 400 text for a request the decoder could not parse. */
    static String malformedRequest(Throwable cause) {
        return "malformed request: " + (cause == null ? "?" : cause.getMessage());
    }

    /** 400 for an origin-form request outside a tunnel (other than GET /proxy.crt). */
    static Refusal notAProxyRequest() {
        return Refusal.badRequest("this is a proxy: send an absolute URI "
                + "(GET http://host/path) or CONNECT host:port; GET /proxy.crt returns the CA certificate");
    }

    /** 403 for a host the policy refuses. */
    static Refusal forbidden(String host) {
        return new Refusal(HttpResponseStatus.FORBIDDEN, "access to " + host + " is not allowed by the proxy policy");
    }

    /** 405 for CONNECT inside an intercepted tunnel. */
    static Refusal connectInTunnel() {
        return new Refusal(HttpResponseStatus.METHOD_NOT_ALLOWED, "CONNECT inside a tunnel is not supported");
    }

    // ----- 502: the upstream side failed

    /** 502 text when no upstream connection could be had; the pool's typed failures carry their own text. */
    static String cannotReach(UpstreamPool.Key key, Throwable cause) {
        return cause instanceof UpstreamPool.UpstreamException
                ? cause.getMessage()
                : "cannot reach " + key + ": " + cause;
    }

    /** 502 text when a CONNECT's upstream connection failed. */
    static String cannotConnect(RequestTarget.HostPort to, Throwable cause) {
        return "cannot connect to " + to + ": " + (cause == null ? "?" : cause.getMessage());
    }

    /** 502 text when the upstream closed before a final response. */
    static String closedWithoutResponse(UpstreamPool.Key key) {
        return "upstream " + key + " closed the connection without a response";
    }

    /** 502 text when the upstream's response could not be decoded. */
    static String invalidResponse(UpstreamPool.Key key, Throwable cause) {
        return "invalid response from upstream " + key + ": " + cause;
    }
}
