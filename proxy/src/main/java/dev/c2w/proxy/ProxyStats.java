package dev.c2w.proxy;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Thread-safe counters of what the proxy did and refused.
 *
 * <p>Counters for the proxy, readable from any thread (for logs, tests and a future metrics endpoint).
 * Every refused or broken input increments one of them, so bad input is visible without being fatal.
 */
public final class ProxyStats {
    final AtomicLong requests = new AtomicLong();
    final AtomicLong connects = new AtomicLong();
    final AtomicLong intercepted = new AtomicLong();
    final AtomicLong rawTunnels = new AtomicLong();
    final AtomicLong upgrades = new AtomicLong();
    final AtomicLong badRequests = new AtomicLong();
    final AtomicLong refused = new AtomicLong();
    final AtomicLong badGateway = new AtomicLong();
    final AtomicLong brokenHandshakes = new AtomicLong();
    final AtomicLong upstreamConnects = new AtomicLong();
    final AtomicLong upstreamReuses = new AtomicLong();

    /** HTTP requests forwarded upstream (absolute-URI and inside intercepted tunnels). */
    public long requests() {
        return requests.get();
    }
    /** CONNECT requests accepted. */
    public long connects() {
        return connects.get();
    }
    /** CONNECT tunnels whose TLS was terminated by the proxy. */
    public long intercepted() {
        return intercepted.get();
    }
    /** CONNECT tunnels relayed as raw bytes. */
    public long rawTunnels() {
        return rawTunnels.get();
    }
    /** Protocol upgrades (WebSocket) relayed. */
    public long upgrades() {
        return upgrades.get();
    }
    /** Malformed requests answered with 400. */
    public long badRequests() {
        return badRequests.get();
    }
    /** Requests refused by policy (403). */
    public long refused() {
        return refused.get();
    }
    /** Requests answered with 502 (upstream unreachable, TLS failure, upstream closed). */
    public long badGateway() {
        return badGateway.get();
    }
    /** Guest TLS handshakes that failed (broken ClientHello, bad SNI...). */
    public long brokenHandshakes() {
        return brokenHandshakes.get();
    }
    /** New upstream connections opened. */
    public long upstreamConnects() {
        return upstreamConnects.get();
    }
    /** Requests sent on a pooled upstream connection. */
    public long upstreamReuses() {
        return upstreamReuses.get();
    }

    @Override
    public String toString() {
        return "requests=" + requests + " connects=" + connects + " intercepted=" + intercepted + " rawTunnels="
                + rawTunnels + " upgrades=" + upgrades + " badRequests=" + badRequests + " refused=" + refused
                + " badGateway=" + badGateway + " brokenHandshakes=" + brokenHandshakes + " upstreamConnects="
                + upstreamConnects + " upstreamReuses=" + upstreamReuses;
    }
}
