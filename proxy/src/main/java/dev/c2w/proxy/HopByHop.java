package dev.c2w.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * The proxy's rules for hop-by-hop headers (RFC 9110 section 7.6.1): headers that describe one connection
 * and must not be passed on to the next. They are removed from requests going upstream and from responses
 * coming back.
 *
 * <p>Removed: Connection and every header it names, plus Keep-Alive, Proxy-Connection, Proxy-Authenticate,
 * Proxy-Authorization, TE and Upgrade. Not removed:
 * <ul>
 *   <li>Transfer-Encoding and Content-Length, even when Connection names them: Netty's codecs frame the
 *       message by them on both sides, and the handler re-frames a body itself where needed (HTTP/1.0
 *       guests, close-delimited origin bodies);</li>
 *   <li>Trailer: the trailer fields it announces pass through with the last chunk.</li>
 * </ul>
 * A protocol switch (WebSocket) is the one case where Upgrade goes on: {@link #stripKeepingUpgrade}.
 *
 * <p>Pure functions on header maps, no channel.
 */
final class HopByHop {
    /** Always removed (lower case; Netty's header names are case-insensitive). */
    private static final String[] FIXED = {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "upgrade",
    };

    private HopByHop() {}

    /** Removes the hop-by-hop headers: those the Connection header names, then the fixed list. */
    static void strip(HttpHeaders h) {
        for (String v : h.getAll(HttpHeaderNames.CONNECTION)) {
            for (String name : v.split(",", -1)) {
                String n = name.trim();
                if (!n.isEmpty() && !n.equalsIgnoreCase("transfer-encoding") && !n.equalsIgnoreCase("content-length")) {
                    h.remove(n);
                }
            }
        }
        for (String n : FIXED) {
            h.remove(n);
        }
    }

    /**
     * Like {@link #strip}, then puts back "Connection: upgrade" and the Upgrade header the message had (its
     * first value), for a protocol switch the proxy passes on.
     */
    static void stripKeepingUpgrade(HttpHeaders h) {
        String upgrade = h.get(HttpHeaderNames.UPGRADE);
        strip(h);
        h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        if (upgrade != null) {
            h.set(HttpHeaderNames.UPGRADE, upgrade);
        }
    }

    /** Whether request headers ask to switch to WebSocket (Connection names upgrade, Upgrade is websocket). */
    static boolean isWebSocketUpgrade(HttpHeaders h) {
        return h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && h.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }
}
