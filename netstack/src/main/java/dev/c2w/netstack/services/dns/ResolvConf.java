package dev.c2w.netstack.services.dns;

import dev.c2w.netstack.addr.IpLiteral;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads DNS upstreams from resolv.conf.
 *
 * <p>The default DNS upstreams: the "nameserver" lines of the host's /etc/resolv.conf (resolv.conf(5)).
 *
 * <p>Rules followed, as the C library applies them: one keyword per line, a line starting with '#' or ';' is
 * a comment (and so is the rest of a line after one); "nameserver ADDRESS" with an IPv4 or IPv6 literal
 * (an IPv6 one may carry a %scope); the first three servers are used (MAXNS = 3) in file order; duplicates
 * are skipped. Everything else (search, domain, options, sortlist) is ignored here: the guest gets its own
 * resolver settings from DHCP. A line naming something that is not an address literal is skipped with a
 * warning; it is never looked up (looking up the resolver's own address through DNS would be circular;
 * IpLiteral has the rules of a literal).
 * A file with no usable nameserver means 127.0.0.1, which is the C library's default too (and so is a
 * missing file). The port is always 53.
 */
public final class ResolvConf {
    private static final System.Logger LOG = System.getLogger(ResolvConf.class.getName());

    public static final Path DEFAULT_PATH = Path.of("/etc/resolv.conf");
    public static final int MAX_SERVERS = 3;
    public static final int PORT = 53;

    private ResolvConf() {}

    /** The servers of {@code /etc/resolv.conf}, or 127.0.0.1:53 if it names none or cannot be read. */
    public static List<InetSocketAddress> defaultUpstreams() {
        return load(DEFAULT_PATH);
    }

    /** The servers of the file at {@code path}, or 127.0.0.1:53 if it names none or cannot be read. */
    public static List<InetSocketAddress> load(Path path) {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            text = "";
        } catch (IOException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "cannot read " + path + " (" + e.getMessage() + "): DNS goes to 127.0.0.1");
            text = "";
        }
        List<InetSocketAddress> l = parse(text);
        if (l.isEmpty()) {
            l = List.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), PORT));
        }
        return l;
    }

    /** The nameservers named in {@code text}, possibly none. */
    public static List<InetSocketAddress> parse(String text) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String raw : text.split("\r?\n|\r", -1)) {
            String line = raw;
            int hash = indexOfComment(line);
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            String[] words = line.trim().split("[ \t]+", -1);
            if (words.length < 2 || !words[0].equals("nameserver")) {
                continue;
            }
            InetAddress addr = IpLiteral.parse(words[1]);
            if (addr == null) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "resolv.conf: ignoring nameserver \"" + words[1] + "\": not an IP address");
                continue;
            }
            InetSocketAddress sa = new InetSocketAddress(addr, PORT);
            if (out.size() < MAX_SERVERS && !out.contains(sa)) {
                out.add(sa);
            }
        }
        return out;
    }

    private static int indexOfComment(String line) {
        int a = line.indexOf('#');
        int b = line.indexOf(';');
        if (a < 0) {
            return b;
        }
        return b < 0 ? a : Math.min(a, b);
    }
}
