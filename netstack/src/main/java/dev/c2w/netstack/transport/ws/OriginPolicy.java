package dev.c2w.netstack.transport.ws;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Decides whether an Origin header may open a WebSocket. Immutable, thread-safe.
 *
 * <p>Which web pages may open a WebSocket to c2w-net.
 *
 * <p>A browser sends the Origin of the page that opened the socket ("http://localhost:8080"); a WebSocket
 * is not subject to CORS, so without this check any web site the user visits could attach a guest to
 * the user's host network. Upstream's Go server refuses a missing Origin (403) and accepts every other
 * one. We do the opposite on both counts:
 *
 * <pre>
 *  - absent Origin: accepted. Only non-browser clients (test bridges, websocat, QEMU bridges) omit it,
 *    and they could equally connect with plain TCP.
 *  - built in: pages served from loopback, http or https, any port:
 *        localhost, 127.0.0.1, [::1]
 *    which is where the upstream example pages are served from (`...?net=delegate=ws://localhost:8888`).
 *  - --ws-allow-origin PATTERN (repeatable) adds patterns. A pattern is a whole origin as the browser
 *    writes it (scheme://host[:port], no path), compared without regard to case, where '*' stands for
 *    any run of characters: "https://*.example.org", "http://192.168.1.20:*", or "*" for every origin.
 *    "null" (sandboxed iframes, file:// pages) is refused unless a pattern matches the string "null".
 * </pre>
 */
public final class OriginPolicy {
    private final List<String> patternTexts;
    private final List<Pattern> patterns;

    public OriginPolicy(List<String> extraPatterns) {
        this.patternTexts = List.copyOf(extraPatterns);
        List<Pattern> ps = new ArrayList<>();
        for (String p : patternTexts) {
            checkPattern(p);
            ps.add(compile(p));
        }
        this.patterns = List.copyOf(ps);
    }

    /** The extra patterns as given. */
    public List<String> patterns() {
        return patternTexts;
    }

    /** Whether a handshake with this Origin header (null when absent) is accepted. */
    public boolean allows(String origin) {
        if (origin == null) {
            return true;
        }
        String o = origin.trim();
        if (isLoopbackOrigin(o)) {
            return true;
        }
        for (Pattern p : patterns) {
            if (p.matcher(o).matches()) {
                return true;
            }
        }
        return false;
    }

    /** Throws IllegalArgumentException for a pattern that can never be a sensible origin pattern. */
    static void checkPattern(String p) {
        if (p == null || p.isBlank()) {
            throw new IllegalArgumentException("empty --ws-allow-origin pattern");
        }
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                throw new IllegalArgumentException(
                        "--ws-allow-origin pattern '" + p
                                + "' contains a space or a non-ASCII character; write it as the browser sends it, e.g. https://app.example.org");
            }
        }
    }

    private static Pattern compile(String p) {
        String s = p.endsWith("/") && p.length() > 1 ? p.substring(0, p.length() - 1) : p;
        StringBuilder re = new StringBuilder();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '*') {
                if (i > start) {
                    re.append(Pattern.quote(s.substring(start, i)));
                }
                re.append(".*");
                start = i + 1;
            }
        }
        if (start < s.length()) {
            re.append(Pattern.quote(s.substring(start)));
        }
        return Pattern.compile(re.toString(), Pattern.CASE_INSENSITIVE);
    }

    /** http(s)://localhost, 127.0.0.1 or [::1], with an optional numeric port and nothing else. */
    static boolean isLoopbackOrigin(String origin) {
        String o = origin.toLowerCase(Locale.ROOT);
        String rest;
        if (o.startsWith("http://")) {
            rest = o.substring(7);
        } else if (o.startsWith("https://")) {
            rest = o.substring(8);
        } else {
            return false;
        }
        String host;
        String port;
        if (rest.startsWith("[")) {
            int end = rest.indexOf(']');
            if (end < 0) {
                return false;
            }
            host = rest.substring(0, end + 1);
            port = rest.substring(end + 1);
        } else {
            int colon = rest.indexOf(':');
            host = colon < 0 ? rest : rest.substring(0, colon);
            port = colon < 0 ? "" : rest.substring(colon);
        }
        if (!host.equals("localhost") && !host.equals("127.0.0.1") && !host.equals("[::1]")) {
            return false;
        }
        if (port.isEmpty()) {
            return true;
        }
        if (port.charAt(0) != ':' || port.length() < 2 || port.length() > 6) {
            return false;
        }
        for (int i = 1; i < port.length(); i++) {
            if (port.charAt(i) < '0' || port.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }
}
