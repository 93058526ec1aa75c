package dev.c2w.proxy;

import dev.c2w.tls.LeafCertificates;
import java.util.Locale;

/**
 * Where a forwarded request goes, parsed from its request target (RFC 9112 section 3.2) without touching any
 * channel, so it can be tested on strings alone.
 *
 * <p>Three forms reach the proxy:
 * <ul>
 *   <li>absolute-form ({@code http://host[:port]/path?query}), the normal form for a request to a proxy:
 *       {@link #parseAbsoluteForm};</li>
 *   <li>origin-form ({@code /path?query}) inside an intercepted CONNECT tunnel, where the tunnel names the
 *       host and port and the scheme is always https: {@link #parseInTunnel};</li>
 *   <li>authority-form ({@code host:port}) of a CONNECT: {@link #parseAuthorityForm}.</li>
 * </ul>
 * Every host:port split goes through {@link #parseHostPort}. IPv6 literals are written in brackets
 * ({@code [::1]:8080}); {@link #host} holds the canonical name without them.
 *
 * <p>Anything malformed is a {@link Refusal} with status 400 whose message quotes the offending text with
 * control and non-ASCII characters replaced, so it is safe to send back and to log.
 *
 * @param tls          whether the upstream connection uses TLS (scheme https)
 * @param host         canonical host: lower case, no trailing dot, no IPv6 brackets
 * @param port         upstream port, the scheme's default when the target names none
 * @param pathAndQuery what goes on the upstream request line: path and query, never empty, no fragment
 * @param authority    the value for the upstream Host header: host[:port] as the guest wrote it (without
 *                     user information), or as built from the tunnel's destination
 */
record RequestTarget(boolean tls, String host, int port, String pathAndQuery, String authority) {
    /** For {@link #parseHostPort}: the authority must name a port (CONNECT). */
    static final int PORT_REQUIRED = -1;

    /** How much of a bad target a refusal quotes. */
    private static final int MAX_QUOTED = 200;

    /** A host and port from an authority; host is canonical (see {@link RequestTarget#host}). */
    record HostPort(String host, int port) {
        @Override
        public String toString() {
            return bracket(host) + ":" + port;
        }
    }

    /** "https" or "http". */
    String scheme() {
        return tls ? "https" : "http";
    }

    /**
     * Parses an absolute-form target: http or https, user information dropped, fragment dropped, an empty path
     * becomes "/".
     *
     * @throws Refusal (400) for another scheme, a missing "://", or a bad authority
     */
    static RequestTarget parseAbsoluteForm(String uri) throws Refusal {
        int sep = uri.indexOf("://");
        if (sep <= 0) {
            throw Refusal.badRequest("request target is neither an absolute URI nor a path");
        }
        String scheme = uri.substring(0, sep).toLowerCase(Locale.ROOT);
        boolean tls;
        if (scheme.equals("http")) {
            tls = false;
        } else if (scheme.equals("https")) {
            tls = true;
        } else {
            throw Refusal.badRequest("unsupported scheme '" + scheme + "' (http and https only)");
        }
        String rest = uri.substring(sep + 3);
        int end = authorityEnd(rest);
        String authority = rest.substring(0, end);
        String path = rest.substring(end);
        int hash = path.indexOf('#');
        if (hash >= 0) {
            path = path.substring(0, hash);
        }
        if (path.isEmpty()) {
            path = "/";
        } else if (path.startsWith("?")) {
            path = "/" + path;
        }
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            authority = authority.substring(at + 1);
        }
        HostPort hp = parseHostPort(authority, tls ? 443 : 80);
        return new RequestTarget(tls, hp.host(), hp.port(), path, authority);
    }

    /**
     * The target of a request inside an intercepted tunnel to host:port: always TLS to that destination. An
     * origin-form target is used as it is; an absolute-form one (some clients send it anyway) contributes only
     * its path and query.
     *
     * @throws Refusal (400) when the target is neither a path nor a valid absolute URI
     */
    static RequestTarget parseInTunnel(String uri, String host, int port) throws Refusal {
        String path = uri.startsWith("/") ? uri : parseAbsoluteForm(uri).pathAndQuery();
        String authority = port == 443 ? bracket(host) : bracket(host) + ":" + port;
        return new RequestTarget(true, host, port, path, authority);
    }

    /**
     * Parses the authority-form target of a CONNECT, which must name a port.
     *
     * @throws Refusal (400) when the port is missing or the authority is malformed
     */
    static HostPort parseAuthorityForm(String uri) throws Refusal {
        return parseHostPort(uri, PORT_REQUIRED);
    }

    /**
     * Splits {@code host[:port]} or {@code [v6][:port]} and canonicalises the host (through
     * LeafCertificates.normalise, which also refuses names that are neither DNS names nor IP literals).
     *
     * <p>This is the only place in the proxy that parses host:port out of an authority; keep it that way, so
     * it can later be routed through a shared address parser in one change.
     *
     * @param a           the authority, without user information
     * @param defaultPort the port when none is given, or {@link #PORT_REQUIRED}
     * @throws Refusal (400) for unbalanced brackets, text after "]" that is not a port, a port outside
     *                 1..65535, a missing port when one is required, or an invalid host
     */
    static HostPort parseHostPort(String a, int defaultPort) throws Refusal {
        String host;
        String port = null;
        if (a.startsWith("[")) {
            int close = a.indexOf(']');
            if (close < 0) {
                throw Refusal.badRequest("bad authority '" + printable(a) + "'");
            }
            host = a.substring(1, close);
            String tail = a.substring(close + 1);
            if (tail.startsWith(":")) {
                port = tail.substring(1);
            } else if (!tail.isEmpty()) {
                throw Refusal.badRequest("bad authority '" + printable(a) + "'");
            }
        } else {
            int colon = a.lastIndexOf(':');
            if (colon >= 0) {
                host = a.substring(0, colon);
                port = a.substring(colon + 1);
            } else {
                host = a;
            }
        }
        int p;
        if (port == null || port.isEmpty()) {
            if (defaultPort < 0) {
                throw Refusal.badRequest("CONNECT needs host:port, got '" + printable(a) + "'");
            }
            p = defaultPort;
        } else {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535) {
                throw Refusal.badRequest("bad port in '" + printable(a) + "'");
            }
        }
        try {
            host = LeafCertificates.normalise(host);
        } catch (IllegalArgumentException e) {
            throw Refusal.badRequest(e.getMessage());
        }
        return new HostPort(host, p);
    }

    /** The host as it appears in an authority: IPv6 literals (anything with a colon) in brackets. */
    static String bracket(String host) {
        return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    }

    /** Where the authority of "host...rest" ends: at the first '/', '?' or '#', or the end. */
    private static int authorityEnd(String rest) {
        int end = rest.length();
        for (char c : new char[] {'/', '?', '#'}) {
            int i = rest.indexOf(c);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        return end;
    }

    /** Text from the guest made safe to quote: printable ASCII only, at most MAX_QUOTED characters. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < MAX_QUOTED; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
