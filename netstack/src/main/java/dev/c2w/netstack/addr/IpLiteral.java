package dev.c2w.netstack.addr;

import dev.c2w.netstack.wire.Ipv4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * IP address literals read without ever asking a resolver, for places where a name lookup would be wrong
 * (the resolver's own address in resolv.conf) or is not wanted (wasmtime's {@code -wasi-addr}).
 *
 * <p>Rules: text without a colon must be a dotted quad of four decimal numbers 0-255 (so {@code 1.2.3} and
 * {@code 300.1.1.1} are refused; leading zeros are decimal). Text with a colon must be an IPv6 literal of
 * hex digits, colons and dots (an embedded IPv4 tail), optionally followed by {@code %zone}, where the zone
 * is an interface name or number that exists on this host. No brackets, no port, no whitespace.
 */
public final class IpLiteral {
    private IpLiteral() {}

    /** The address {@code text} is a literal of, or null when it is not one; never looks a name up. */
    public static InetAddress parse(String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        return text.indexOf(':') < 0 ? parseV4(text) : parseV6(text);
    }

    private static InetAddress parseV4(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '.' && (c < '0' || c > '9')) {
                return null;
            }
        }
        try {
            return Ipv4Address.toInet(Ipv4Address.parse(text));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static InetAddress parseV6(String text) {
        int pct = text.indexOf('%');
        String body = pct >= 0 ? text.substring(0, pct) : text;
        if (body.isEmpty() || body.charAt(0) == '.' || (pct >= 0 && pct == text.length() - 1)) {
            return null;
        }
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            boolean ok =
                    c == ':' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            if (!ok) {
                return null;
            }
        }
        if (pct >= 0) {
            for (int i = pct + 1; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c <= ' ' || c == '%' || c == '[' || c == ']') {
                    return null;
                }
            }
        }
        try {
            // The body starts with a hex digit or ':' and holds a ':', and InetAddress parses such text as
            // an IPv6 literal (or refuses it) without a lookup; a zone is matched against the interfaces.
            return InetAddress.getByName(text);
        } catch (UnknownHostException | SecurityException e) {
            return null;
        }
    }
}
