package dev.c2w.converter.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * The converter's test images, built by {@code src/test/fixtures/build-images.sh} once per JVM
 * into {@code ${C2W_CACHE:-~/.cache/c2w-java}/test-images/<hash of the scripts>} (or the
 * directory in system property {@code c2w.testImages}); the script itself skips work already
 * done, so later JVMs only pay for a stamp check. Layout methods return OCI layout directories
 * whose image is tagged "1"; archive methods return docker-archive tarballs.
 */
public final class TestImages {
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(10);
    private static TestImages instance;

    private final Path script;
    private final Path dir;
    private boolean largeBuilt;

    private TestImages(Path script, Path dir) {
        this.script = script;
        this.dir = dir;
    }

    /** Builds the images (except the large one) on first use in this JVM; throws with the script's output if that fails. */
    public static synchronized TestImages get() {
        if (instance == null) {
            Path script = findScript();
            Path dir = outputDir(script);
            TestImages t = new TestImages(script, dir);
            t.build(false);
            instance = t;
        }
        return instance;
    }

    /** Where the images live. */
    public Path dir() {
        return dir;
    }

    /** One layer: busybox with applet links, /etc/passwd and /etc/group, default Cmd {@code echo default-cmd-ran}. */
    public Path busybox() {
        return dir.resolve("busybox");
    }

    /** Four layers: busybox, then files and a hard link, whiteout and opaque dir, symlink and setuid file; User app. */
    public Path layered() {
        return dir.resolve("layered");
    }

    /** busybox plus ~280 MiB of incompressible data under /large with /large/SHA256SUMS; built on first call. */
    public synchronized Path large() {
        if (!largeBuilt) {
            build(true);
            largeBuilt = true;
        }
        return dir.resolve("large");
    }

    /** {@link #busybox()} as a docker-archive tarball (c2w/busybox:1). */
    public Path busyboxArchive() {
        return dir.resolve("busybox.tar");
    }

    /** {@link #layered()} as a docker-archive tarball (c2w/layered:1). */
    public Path layeredArchive() {
        return dir.resolve("layered.tar");
    }

    /** An image index: busybox for linux/riscv64 and a tiny linux/amd64 image. */
    public Path multiPlatform() {
        return dir.resolve("multi-platform");
    }

    /** An image index with linux/amd64 and linux/arm64/v8 images only (no riscv64). */
    public Path amd64Only() {
        return dir.resolve("amd64-only");
    }

    private void build(boolean large) {
        List<String> cmd = large
                ? List.of("bash", script.toString(), dir.toString(), "--large")
                : List.of("bash", script.toString(), dir.toString());
        Proc.Result r;
        try {
            r = Proc.run(BUILD_TIMEOUT, cmd);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building test images", e);
        }
        if (r.exit() != 0) {
            throw new IllegalStateException("building test images failed (exit " + r.exit() + "): "
                    + String.join(" ", cmd) + "\n" + r.output());
        }
    }

    private static Path findScript() {
        Path rel = Paths.get("src", "test", "fixtures", "build-images.sh");
        // Surefire runs in the module directory; an IDE may run from the repository root.
        for (Path base = Paths.get("").toAbsolutePath(); base != null; base = base.getParent()) {
            for (Path p : List.of(base.resolve(rel), base.resolve("converter").resolve(rel))) {
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        }
        throw new IllegalStateException(
                "cannot find converter/" + rel + " above " + Paths.get("").toAbsolutePath());
    }

    private static Path outputDir(Path script) {
        String prop = System.getProperty("c2w.testImages");
        if (prop != null && !prop.isBlank()) {
            return Paths.get(prop).toAbsolutePath();
        }
        String cache = System.getenv("C2W_CACHE");
        Path root = cache != null && !cache.isBlank()
                ? Paths.get(cache)
                : Paths.get(System.getProperty("user.home"), ".cache", "c2w-java");
        // One directory per script version, so worktrees with different fixtures do not rebuild each other's.
        return root.resolve("test-images").resolve(hash(script, script.resolveSibling("mkoci.py")));
    }

    private static String hash(Path... files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                try (InputStream in = Files.newInputStream(f)) {
                    md.update(in.readAllBytes());
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
