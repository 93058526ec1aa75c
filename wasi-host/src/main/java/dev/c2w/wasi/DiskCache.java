package dev.c2w.wasi;

import com.dylibso.chicory.compiler.Cache;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Chicory's compiled classes on disk, one file per module (Chicory's key is the module's digest; the file
 * name is a SHA-256 of that key and the Chicory version, so another Chicory never loads stale classes).
 * Writes go to a temporary file and are moved into place, so concurrent runners never see half a file.
 */
final class DiskCache implements Cache {
    static final String CHICORY_VERSION = "1.7.5";

    private final Path dir;
    private final AtomicInteger hits = new AtomicInteger();
    private final AtomicInteger misses = new AtomicInteger();

    DiskCache(Path dir) {
        this.dir = dir;
    }

    static Path defaultDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("c2w-java").resolve("chicory-" + CHICORY_VERSION);
    }

    Path fileFor(String key) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(("chicory-" + CHICORY_VERSION + "\n" + key).getBytes(StandardCharsets.UTF_8));
            return dir.resolve(HexFormat.of().formatHex(d.digest()) + ".classes");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public byte[] get(String key) throws IOException {
        try {
            byte[] b = Files.readAllBytes(fileFor(key));
            hits.incrementAndGet();
            return b;
        } catch (NoSuchFileException e) {
            misses.incrementAndGet();
            return null;
        }
    }

    @Override
    public void putIfAbsent(String key, byte[] data) throws IOException {
        Path f = fileFor(key);
        if (Files.exists(f)) {
            return;
        }
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "tmp-", ".part");
        try {
            Files.write(tmp, data);
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    int hits() {
        return hits.get();
    }

    int misses() {
        return misses.get();
    }
}
