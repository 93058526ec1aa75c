package dev.c2w.proxy;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A request the proxy will not forward, thrown by the parsing and policy code and turned into an HTTP error
 * by HttpProxyHandler. The status and the message are what the guest receives (see ErrorResponses). It has
 * no stack trace: it reports bad input, not a fault in the proxy.
 */
final class Refusal extends Exception {
    private static final long serialVersionUID = 1L;

    final HttpResponseStatus status;

    Refusal(HttpResponseStatus status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    /** A 400: the request (its target, usually) cannot be understood. */
    static Refusal badRequest(String message) {
        return new Refusal(HttpResponseStatus.BAD_REQUEST, message);
    }
}
