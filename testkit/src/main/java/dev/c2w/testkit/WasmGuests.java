package dev.c2w.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The C test guests of the WASI tests (testkit/src/main/c), built with Debian's clang-16 and wasi-libc once
 * per build into the calling module's target/wasm-guests. A test that needs them is skipped, with a message
 * that says what to install, when clang-16 is missing.
 */
public final class WasmGuests {
    /** Where the C sources are, found from the module directory the tests run in. */
    public static final Path SRC = sources();

    public static final Path OUT = Path.of("target/wasm-guests");
    public static final String CLANG = "clang-16";

    private WasmGuests() {}

    private static Path sources() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path c = d.resolve("testkit/src/main/c");
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        throw new IllegalStateException(
                "testkit/src/main/c not found above " + Path.of("").toAbsolutePath());
    }

    public static boolean clangAvailable() {
        return onPath(CLANG) && Files.isDirectory(Path.of("/usr/lib/wasm32-wasi"));
    }

    public static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":", -1)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }

    /** The module built from NAME.c (skips the test when clang-16 or wasi-libc is missing). */
    public static synchronized Path wasm(String name) throws IOException, InterruptedException {
        Assumptions.assumeTrue(
                clangAvailable(),
                "clang-16 or wasi-libc missing (apt-get install clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32): "
                        + "C guest tests skipped");
        Path src = SRC.resolve(name + ".c");
        Path out = OUT.resolve(name + ".wasm");
        if (Files.exists(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(src)) >= 0) {
            return out;
        }
        Files.createDirectories(OUT);
        List<String> cmd = new ArrayList<>(
                List.of(CLANG, "--target=wasm32-wasi", "-O2", "-Wall", "-o", out.toString(), src.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("building " + src + " failed:\n" + log);
        }
        return out;
    }

    /** Native build of a C program (for the benchmark). */
    public static Path nativeBinary(String name) throws IOException, InterruptedException {
        Assumptions.assumeTrue(onPath(CLANG), "clang-16 missing");
        Path src = SRC.resolve(name + ".c");
        Path out = OUT.resolve(name + ".native");
        Files.createDirectories(OUT);
        Process p = new ProcessBuilder(CLANG, "-O2", "-o", out.toString(), src.toString())
                .redirectErrorStream(true)
                .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("building " + src + " natively failed:\n" + log);
        }
        return out;
    }
}
