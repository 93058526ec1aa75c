package dev.c2w.netstack.addr;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A stream socket address as written on a command line (the QEMU-stream addresses of {@code --listen-qemu}
 * and dial mode): a TCP address or a UNIX socket.
 *
 * <p>Rules: {@code unix://PATH} is a UNIX socket; the path is everything after {@code unix://}, taken as it
 * is and never empty ({@code unix:///tmp/c2w.sock} is /tmp/c2w.sock, {@code unix://c2w.sock} is relative to
 * the working directory). {@code tcp://} in front of a TCP address may be left out; what follows is read
 * by {@link HostPort}'s rules with the caller's {@link HostPort.Syntax}. Any other {@code SCHEME://} is
 * refused. Messages list the caller's TCP forms with {@code tcp://} and add {@code unix://PATH}, e.g.
 * {@code --listen-qemu: expected tcp://HOST:PORT, tcp://[IPV6]:PORT, tcp://:PORT or unix://PATH (tcp:// may
 * be left out), got 'x' (missing port)}.
 */
public sealed interface StreamAddress permits StreamAddress.Tcp, StreamAddress.Unix {
    String UNIX = "unix://";
    String TCP = "tcp://";

    /** A TCP address. */
    record Tcp(HostPort hostPort) implements StreamAddress {
        public Tcp {
            Objects.requireNonNull(hostPort, "hostPort");
        }

        @Override
        public String toString() {
            return TCP + hostPort;
        }
    }

    /** A UNIX stream socket at {@code path}. */
    record Unix(String path) implements StreamAddress {
        public Unix {
            if (path == null || path.isEmpty()) {
                throw new IllegalArgumentException("empty UNIX socket path");
            }
        }

        @Override
        public String toString() {
            return UNIX + path;
        }
    }

    /** Parses {@code text}; see the interface comment. Errors are {@link HostPort.ParseException}s. */
    static StreamAddress parse(String text, HostPort.Syntax syntax) {
        Objects.requireNonNull(text, syntax.what());
        if (text.startsWith(UNIX)) {
            String path = text.substring(UNIX.length());
            if (path.isEmpty()) {
                throw fail(text, syntax, "unix:// needs a path, e.g. unix:///tmp/c2w.sock");
            }
            return new Unix(path);
        }
        String rest = text.startsWith(TCP) ? text.substring(TCP.length()) : text;
        int scheme = rest.indexOf("://");
        if (scheme >= 0) {
            throw fail(text, syntax, "unsupported scheme " + rest.substring(0, scheme + 3));
        }
        try {
            return new Tcp(HostPort.parse(rest, syntax));
        } catch (HostPort.ParseException e) {
            throw fail(text, syntax, e.detail());
        }
    }

    /** The accepted forms under {@code syntax}, for messages. */
    static String forms(HostPort.Syntax syntax) {
        List<String> f = new ArrayList<>();
        for (String form : syntax.forms()) {
            f.add(TCP + form);
        }
        f.add(UNIX + "PATH");
        return HostPort.list(f) + " (tcp:// may be left out)";
    }

    private static HostPort.ParseException fail(String text, HostPort.Syntax syntax, String detail) {
        return new HostPort.ParseException(HostPort.message(syntax.what(), forms(syntax), text, detail), detail);
    }
}
