package dev.c2w.netstack.wire;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** IPv4 addresses as {@code int}s (network order in the int's bits: 192.168.127.1 is 0xc0a87f01). */
public final class Ipv4Address {
    public static final int ANY = 0;
    public static final int BROADCAST = 0xffffffff;

    private Ipv4Address() {}

    public static int of(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }

    /** Parses a dotted quad; throws IllegalArgumentException naming the text on error. */
    public static int parse(String text) {
        String[] parts = text.trim().split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + text);
        }
        int v = 0;
        for (String p : parts) {
            int n;
            try {
                n = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not an IPv4 address: " + text);
            }
            if (n < 0 || n > 255 || p.isEmpty() || p.length() > 3) {
                throw new IllegalArgumentException("not an IPv4 address: " + text);
            }
            v = (v << 8) | n;
        }
        return v;
    }

    public static String format(int ip) {
        return (ip >>> 24) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }

    public static Inet4Address toInet(int ip) {
        try {
            return (Inet4Address) InetAddress.getByAddress(
                    new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** The address as an int, or throws IllegalArgumentException for an IPv6 address. */
    public static int fromInet(InetAddress addr) {
        byte[] b = addr.getAddress();
        if (b.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + addr.getHostAddress());
        }
        return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    }

    public static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }
}
