package dev.c2w.netstack.addr;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A host and a port as written on a command line ({@code --listen-ws}, {@code --dns-upstream}, {@code -p},
 * {@code -wasi-addr}, the QEMU addresses), read by one set of rules. What differs between flags is stated by
 * the caller in a {@link Syntax}: its name for messages, its default port (if the port may be left out),
 * whether a port alone is accepted ({@link BarePort}) and whether port 0 is.
 *
 * <p>The forms:
 * <ul>
 *   <li>{@code HOST:PORT}: a host name or IPv4 literal, one colon, the port.</li>
 *   <li>{@code [IPV6]:PORT}: an IPv6 literal (it may carry a {@code %zone}) in brackets, then the port. What
 *       is in the brackets is taken as the host as it is, so {@code [localhost]:80} is accepted too, as Go's
 *       net.SplitHostPort does.</li>
 *   <li>{@code HOST} and {@code [IPV6]}: only where the caller has a default port, which they then get.</li>
 *   <li>{@code IPV6}, a bare IPv6 literal such as {@code ::1} or {@code 2001:db8::53}: only where the caller
 *       has a default port. Text with two or more colons and no brackets is always read this way and must
 *       be an IPv6 literal; where the port cannot be left out it is refused with a hint to write
 *       {@code [IPV6]:PORT}, since {@code ::1:80} could mean either.</li>
 *   <li>{@code :PORT}: no host ({@link #host()} is null), where the caller allows it
 *       ({@link BarePort#COLON_PORT} or {@link BarePort#PORT}); the caller says what no host means
 *       (every interface when listening, this machine when connecting).</li>
 *   <li>{@code PORT}, digits only: no host, where the caller allows it ({@link BarePort#PORT}). Elsewhere a
 *       host of digits only is refused: it is a port that lost its host, not a name.</li>
 * </ul>
 * A port is decimal digits only (no sign), 1 to 65535; 0 (let the system pick) only where the caller allows
 * it. A host is never empty and has no whitespace, and brackets only as the bracket form. Host names are not
 * looked up while parsing; {@link #toInetSocketAddress()} does that. {@code tcp://} and {@code unix://PATH}
 * addresses are {@link StreamAddress}'s.
 *
 * <p>A malformed address is a {@link ParseException} (an IllegalArgumentException) whose message says what
 * was expected, what was given and what is wrong, e.g.
 * {@code --listen-ws: expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got 'x:y' (port 'y' is not a number)}.
 */
public record HostPort(String host, int port) {
    /** The default port of a {@link Syntax} in which the port cannot be left out. */
    public static final int NO_DEFAULT_PORT = -1;

    /** {@code host} is null for an address written without one; it is never empty. */
    public HostPort {
        if (host != null && host.isEmpty()) {
            throw new IllegalArgumentException("empty host: use null for none");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range 0-65535: " + port);
        }
    }

    /** Whether a port written without a host is accepted; such an address has no host (null). */
    public enum BarePort {
        /** Neither {@code :PORT} nor {@code PORT}: the host is always written. */
        HOST_REQUIRED,
        /** {@code :PORT}; a word without a colon is a host. */
        COLON_PORT,
        /** {@code :PORT} and {@code PORT}. */
        PORT
    }

    /**
     * The rules of one flag: {@code what} names it in messages (e.g. {@code --listen-ws}); {@code defaultPort}
     * is {@link #NO_DEFAULT_PORT} or the port of an address written without one; {@code barePort} says
     * whether a port alone is accepted; {@code portZero} whether port 0 is. Start from {@link HostPort#syntax}.
     */
    public record Syntax(String what, int defaultPort, BarePort barePort, boolean portZero) {
        public Syntax {
            Objects.requireNonNull(what, "what");
            Objects.requireNonNull(barePort, "barePort");
            if (defaultPort != NO_DEFAULT_PORT && (defaultPort < 1 || defaultPort > 65535)) {
                throw new IllegalArgumentException("default port out of range 1-65535: " + defaultPort);
            }
        }

        public Syntax withDefaultPort(int port) {
            return new Syntax(what, port, barePort, portZero);
        }

        public Syntax withBarePort(BarePort bare) {
            return new Syntax(what, defaultPort, bare, portZero);
        }

        /** The same rules with port 0 accepted (a listening socket on a port the system picks). */
        public Syntax withPortZero() {
            return new Syntax(what, defaultPort, barePort, true);
        }

        public boolean hasDefaultPort() {
            return defaultPort != NO_DEFAULT_PORT;
        }

        /** The accepted forms, for messages: HOST:PORT, [IPV6]:PORT and what else these rules allow. */
        public List<String> forms() {
            List<String> f = new ArrayList<>();
            if (hasDefaultPort()) {
                f.add("HOST");
                f.add("HOST:PORT");
                f.add("IPV6");
                f.add("[IPV6]");
                f.add("[IPV6]:PORT");
            } else {
                f.add("HOST:PORT");
                f.add("[IPV6]:PORT");
            }
            if (barePort != BarePort.HOST_REQUIRED) {
                f.add(":PORT");
            }
            if (barePort == BarePort.PORT) {
                f.add("PORT");
            }
            return f;
        }

        /** The message of a malformed {@code text}: what was expected, what was given, what is wrong. */
        public String message(String text, String detail) {
            return HostPort.message(what, list(forms()), text, detail);
        }
    }

    /** A malformed address; {@link #detail()} is what is wrong with it, without the expected forms. */
    public static final class ParseException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        private final String detail;

        ParseException(String message, String detail) {
            super(message);
            this.detail = detail;
        }

        public String detail() {
            return detail;
        }
    }

    /** Rules named {@code what}: no default port, no bare port, no port 0. */
    public static Syntax syntax(String what) {
        return new Syntax(what, NO_DEFAULT_PORT, BarePort.HOST_REQUIRED, false);
    }

    /**
     * The one format of address errors: {@code WHAT: expected EXPECTED, got 'TEXT' (DETAIL)}, for callers
     * whose flag wraps an address in more syntax (such as {@code -p}) and say themselves what they expect.
     */
    public static String message(String what, String expected, String text, String detail) {
        return what + ": expected " + expected + ", got '" + text + "'" + (detail == null ? "" : " (" + detail + ")");
    }

    /** "a", "a or b", "a, b or c". */
    static String list(List<String> forms) {
        int n = forms.size();
        if (n == 1) {
            return forms.get(0);
        }
        return String.join(", ", forms.subList(0, n - 1)) + " or " + forms.get(n - 1);
    }

    /** Parses {@code text} by the rules of {@code syntax}; see the class comment. */
    public static HostPort parse(String text, Syntax syntax) {
        Objects.requireNonNull(text, syntax.what());
        if (text.isEmpty()) {
            throw fail(text, syntax, "empty");
        }
        if (text.charAt(0) == '[') {
            return parseBracketed(text, syntax);
        }
        if (text.indexOf('[') >= 0 || text.indexOf(']') >= 0) {
            throw fail(text, syntax, "brackets go around the whole host, as in [::1]:80");
        }
        int colon = text.indexOf(':');
        if (colon < 0) {
            if (allDigits(text)) {
                if (syntax.barePort() == BarePort.PORT) {
                    return new HostPort(null, parsePort(text, text, syntax));
                }
                throw fail(
                        text,
                        syntax,
                        "'" + text + "' is a port without a host; write HOST:" + text
                                + (syntax.barePort() == BarePort.COLON_PORT ? " or :" + text : ""));
            }
            if (!syntax.hasDefaultPort()) {
                throw fail(text, syntax, "missing port");
            }
            return new HostPort(checkHost(text, text, syntax), syntax.defaultPort());
        }
        if (colon == text.lastIndexOf(':')) {
            String h = text.substring(0, colon);
            int p = parsePort(text.substring(colon + 1), text, syntax);
            if (h.isEmpty()) {
                if (syntax.barePort() == BarePort.HOST_REQUIRED) {
                    throw fail(text, syntax, "missing host");
                }
                return new HostPort(null, p);
            }
            return new HostPort(checkHost(h, text, syntax), p);
        }
        // two or more colons and no brackets: a bare IPv6 literal, which cannot carry a port
        if (!syntax.hasDefaultPort()) {
            throw fail(text, syntax, "write an IPv6 address in brackets, as in [::1]:80");
        }
        if (IpLiteral.parse(text) == null) {
            throw fail(text, syntax, "not an IPv6 address; with a port, write [IPV6]:PORT");
        }
        return new HostPort(text, syntax.defaultPort());
    }

    /** Parses a port alone: digits, 1-65535 (or 0 where {@code syntax} allows it). */
    public static int parsePort(String text, Syntax syntax) {
        return parsePort(text, text, syntax);
    }

    private static HostPort parseBracketed(String text, Syntax syntax) {
        int close = text.indexOf(']');
        if (close < 0) {
            throw fail(text, syntax, "missing ]");
        }
        String h = text.substring(1, close);
        if (h.isEmpty()) {
            throw fail(text, syntax, "empty host in []");
        }
        if (h.indexOf('[') >= 0) {
            throw fail(text, syntax, "[ inside []");
        }
        if (hasSpace(h)) {
            throw fail(text, syntax, "space in the host");
        }
        String rest = text.substring(close + 1);
        if (rest.isEmpty()) {
            if (!syntax.hasDefaultPort()) {
                throw fail(text, syntax, "missing port after ]");
            }
            return new HostPort(h, syntax.defaultPort());
        }
        if (rest.charAt(0) != ':') {
            throw fail(text, syntax, "'" + rest + "' after ], where :PORT or nothing may follow");
        }
        return new HostPort(h, parsePort(rest.substring(1), text, syntax));
    }

    private static String checkHost(String h, String text, Syntax syntax) {
        if (hasSpace(h)) {
            throw fail(text, syntax, "space in the host");
        }
        if (allDigits(h)) {
            throw fail(text, syntax, "host '" + h + "' is a number, not an address");
        }
        return h;
    }

    private static int parsePort(String p, String text, Syntax syntax) {
        if (p.isEmpty()) {
            throw fail(text, syntax, "missing port");
        }
        if (!allDigits(p)) {
            throw fail(text, syntax, "port '" + p + "' is not a number");
        }
        int v = p.length() > 5 ? Integer.MAX_VALUE : Integer.parseInt(p);
        int min = syntax.portZero() ? 0 : 1;
        if (v < min || v > 65535) {
            throw fail(text, syntax, "port " + p + " is out of range " + min + "-65535");
        }
        return v;
    }

    private static boolean allDigits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean hasSpace(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) <= ' ' || Character.isWhitespace(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    private static ParseException fail(String text, Syntax syntax, String detail) {
        return new ParseException(syntax.message(text, detail), detail);
    }

    /** True when an address was written with a host. */
    public boolean hasHost() {
        return host != null;
    }

    /** This address, or the same port on {@code fallback} when it was written without a host. */
    public HostPort orHost(String fallback) {
        return host != null ? this : new HostPort(fallback, port);
    }

    /**
     * The socket address: a literal as it is, a name looked up now (left unresolved when that fails, as
     * {@code new InetSocketAddress(host, port)} does); no host is the wildcard address.
     */
    public InetSocketAddress toInetSocketAddress() {
        return host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }

    /** {@code HOST:PORT}, {@code [IPV6]:PORT} or {@code :PORT}: text that {@link #parse} reads back. */
    @Override
    public String toString() {
        if (host == null) {
            return ":" + port;
        }
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
