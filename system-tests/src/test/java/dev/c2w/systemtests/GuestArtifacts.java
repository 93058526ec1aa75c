package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the tests of our own guest (the emulator compiled to WASI under the runner, Node or Chromium)
 * share: the build outputs guest/test.sh leaves behind, and a loopback server with a random blob for
 * the guest to download and check by sha256.
 */
final class GuestArtifacts {
    final Path root = Path.of(System.getProperty("user.dir")).getParent();
    final Path wasm = root.resolve("guest/emulator/build/wasm/c2w-emu.wasm");
    final Path boot = root.resolve("guest/build/test/boot");

    /**
     * The artifacts, or the test fails with what to run first. Not a skip: ./run-tests runs guest/test.sh
     * before Maven, and that builds the kernel and the initramfs on a fresh machine too, so a missing
     * artifact means the guest build broke, which must not pass as green.
     */
    static GuestArtifacts require() {
        GuestArtifacts a = new GuestArtifacts();
        assertThat(a.wasm)
                .as("emulator build (guest/test.sh makes it; ./run-tests runs it first)")
                .isRegularFile();
        assertThat(a.boot.resolve("Image"))
                .as("guest kernel in guest/build/test/boot (guest/test.sh)")
                .isRegularFile();
        assertThat(a.boot.resolve("bb.cpio"))
                .as("busybox initramfs in guest/build/test/boot (guest/test.sh)")
                .isRegularFile();
        return a;
    }

    /** Closes the process's stdin, waits for it to end (300 s at most) and returns its output (the log). */
    static String awaitGuest(Process p, Path log) throws IOException, InterruptedException {
        p.getOutputStream().close();
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(done).as("guest finished within 300 s; output:\n%s", out).isTrue();
        return out;
    }

    /** 2 MiB of seeded random bytes served at /blob on 127.0.0.1 (404 while {@code serving} is false). */
    static final class BlobServer implements AutoCloseable {
        final byte[] blob = new byte[2 * 1024 * 1024];
        final String sha256;
        private final HttpServer http;

        BlobServer(int seed, AtomicBoolean serving) throws IOException {
            new Random(seed).nextBytes(blob);
            try {
                sha256 = HexFormat.of()
                        .formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
            } catch (NoSuchAlgorithmException e) {
                throw new AssertionError(e);
            }
            http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
            http.createContext("/blob", ex -> {
                try (ex) {
                    if (!serving.get()) {
                        ex.sendResponseHeaders(404, -1);
                        return;
                    }
                    ex.sendResponseHeaders(200, blob.length);
                    try (OutputStream o = ex.getResponseBody()) {
                        o.write(blob);
                    }
                }
            });
            http.start();
        }

        BlobServer(int seed) throws IOException {
            this(seed, new AtomicBoolean(true));
        }

        /** The blob's URL as the guest reaches it: the host's loopback through 192.168.127.254. */
        String guestUrl() {
            return "http://192.168.127.254:" + http.getAddress().getPort() + "/blob";
        }

        @Override
        public void close() {
            http.stop(0);
        }
    }
}
