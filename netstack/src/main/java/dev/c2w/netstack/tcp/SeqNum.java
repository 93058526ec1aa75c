package dev.c2w.netstack.tcp;

/**
 * Comparisons in TCP's 32-bit sequence space (RFC 9293 3.4): {@code a} is before {@code b} when the
 * distance from {@code b} to {@code a}, taken modulo 2^32, is negative as a signed int.
 */
final class SeqNum {
    private SeqNum() {}

    static boolean lt(int a, int b) {
        return a - b < 0;
    }

    static boolean gt(int a, int b) {
        return a - b > 0;
    }

    static boolean ge(int a, int b) {
        return a - b >= 0;
    }

    /** The unsigned distance from {@code from} to {@code to}, for a flight of bytes. */
    static long distance(int from, int to) {
        return (to - from) & 0xffffffffL;
    }
}
