package dev.c2w.proxy;

import dev.c2w.tls.LeafCertificates;
import java.util.List;
import java.util.Locale;

/**
 * Allow/deny host patterns (deny wins; default allow all).
 *
 * <p>Which hosts the guest may reach through the proxy. Patterns are exact names ("example.com"), suffix
 * wildcards ("*.example.com": any name under example.com, not example.com itself), IP literals, or "*".
 * A host matching any deny pattern is refused; otherwise, when allow patterns exist, it must match one;
 * with no patterns at all everything is allowed. Names are compared in their canonical form (lower case,
 * no trailing dot, no IPv6 brackets). Immutable and thread-safe.
 */
public final class HostPolicy {
    private final List<String> allow;
    private final List<String> deny;

    public HostPolicy(List<String> allow, List<String> deny) {
        this.allow = allow.stream().map(HostPolicy::checkPattern).toList();
        this.deny = deny.stream().map(HostPolicy::checkPattern).toList();
    }

    public static HostPolicy allowAll() {
        return new HostPolicy(List.of(), List.of());
    }

    /** Validates and canonicalises a pattern; throws IllegalArgumentException with an example when malformed. */
    public static String checkPattern(String p) {
        String s = p.trim().toLowerCase(Locale.ROOT);
        if (s.equals("*")) {
            return s;
        }
        boolean wildcard = s.startsWith("*.");
        String body = wildcard ? s.substring(2) : s;
        try {
            if (body.isEmpty() || body.contains("*")) {
                throw new IllegalArgumentException("empty or misplaced *");
            }
            body = LeafCertificates.normalise(body);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad host pattern '" + p
                    + "': use a name (example.com), a wildcard (*.example.com), an IP address, or *");
        }
        return wildcard ? "*." + body : body;
    }

    static String canonical(String host) {
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h;
    }

    static boolean matches(String pattern, String host) {
        if (pattern.equals("*")) {
            return true;
        }
        if (pattern.startsWith("*.")) {
            String suffix = pattern.substring(1); // ".example.com"
            return host.length() > suffix.length() && host.endsWith(suffix);
        }
        return pattern.equals(host);
    }

    /** Whether the guest may reach {@code host}. */
    public boolean allows(String host) {
        String h = canonical(host);
        for (String p : deny) {
            if (matches(p, h)) {
                return false;
            }
        }
        if (allow.isEmpty()) {
            return true;
        }
        for (String p : allow) {
            if (matches(p, h)) {
                return true;
            }
        }
        return false;
    }

    public List<String> allowPatterns() {
        return allow;
    }

    public List<String> denyPatterns() {
        return deny;
    }
}
