package dev.c2w.systemtests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;

/**
 * The peer stack used to validate the harness: gvproxy from gvisor-tap-vsock 0.8.1
 * (Debian package in shared/peers beside the repository, or -Dc2w.gvproxy.deb).
 * It only listens for QEMU; for {@link Mode#DIAL} a {@link StreamRelay} dials QEMU and
 * gvproxy's listener and joins them. It hands out 192.168.127.2 to 5a:94:ef:e4:0c:ee,
 * forwards DNS to the host's resolver (so the DNS step is skipped: tests never use the
 * system resolver), needs its HTTP API for port forwards (skipped too), and closes both
 * directions of a forwarded connection when the guest half-closes (so the upload does
 * not half-close).
 */
final class GvproxyStack extends ChildProcessStack {
    static final String DEB_NAME = "gvproxy_0.8.1-3_amd64.deb";
    static final GuestProfile PROFILE =
            new GuestProfile("5a:94:ef:e4:0c:ee", "192.168.127.2", EnumSet.allOf(Mode.class), false, false, false);

    private final Path binary;
    private StreamRelay relay;

    GvproxyStack(Path binary, Path log) {
        super(log);
        this.binary = binary;
    }

    /** Finds the gvproxy .deb, or returns null. */
    static Path findDeb() {
        String configured = System.getProperty("c2w.gvproxy.deb");
        if (configured != null && !configured.isBlank()) {
            Path p = Path.of(configured);
            return Files.isRegularFile(p) ? p : null;
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("peers").resolve(DEB_NAME);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** Unpacks the .deb (once, into the guest cache) and returns the gvproxy binary. */
    static Path unpack(Path deb) throws IOException, InterruptedException {
        Path dir = GuestImage.cacheRoot().resolve("peers").resolve(DEB_NAME.replace(".deb", ""));
        Path bin = dir.resolve("usr/bin/gvproxy");
        if (!Files.isExecutable(bin)) {
            Files.createDirectories(dir);
            GuestImage.run(dir, 120, "dpkg", "-x", deb.toAbsolutePath().toString(), dir.toString());
        }
        return bin;
    }

    @Override
    public GuestProfile profile() {
        return PROFILE;
    }

    @Override
    public void start(Mode mode, int qemuPort, int dnsPort, List<String> forwards) throws IOException {
        if (mode == Mode.LISTEN) {
            launch(List.of(binary.toString(), "-listen-qemu", "tcp://127.0.0.1:" + qemuPort, "-ssh-port", "-1"));
            return;
        }
        int gvproxyPort = LoopbackPorts.freePort();
        launch(List.of(binary.toString(), "-listen-qemu", "tcp://127.0.0.1:" + gvproxyPort, "-ssh-port", "-1"));
        try {
            LoopbackPorts.awaitListening(gvproxyPort, Duration.ofSeconds(30), this::isAlive, "gvproxy");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        relay = new StreamRelay(qemuPort, gvproxyPort);
    }

    @Override
    public void close() {
        if (relay != null) {
            relay.close();
        }
        super.close();
    }
}
