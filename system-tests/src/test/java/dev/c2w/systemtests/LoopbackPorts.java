package dev.c2w.systemtests;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;

/** Loopback port helpers: ephemeral ports, and waiting for a listener without connecting to it. */
final class LoopbackPorts {
    private LoopbackPorts() {}

    /** A TCP port on 127.0.0.1 that was free a moment ago. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * True when some socket is in LISTEN state on the port (read from /proc/net/tcp{,6}).
     * Probing with a connect would be taken by a QEMU or stack listener as its peer.
     */
    static boolean isListening(int port) {
        String hexPort = String.format(Locale.ROOT, "%04X", port);
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines;
            try {
                lines = Files.readAllLines(Path.of(table));
            } catch (IOException e) {
                continue;
            }
            for (String line : lines) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[1].endsWith(":" + hexPort) && f[3].equals("0A")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Waits until the port listens, failing early when {@code alive} turns false. */
    static void awaitListening(int port, Duration timeout, BooleanSupplier alive, String what)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!isListening(port)) {
            if (!alive.getAsBoolean()) {
                throw new IOException(what + " exited before listening on 127.0.0.1:" + port);
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(
                        what + " not listening on 127.0.0.1:" + port + " after " + timeout.toSeconds() + " s");
            }
            Thread.sleep(100);
        }
    }
}
