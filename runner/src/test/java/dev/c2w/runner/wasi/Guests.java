package dev.c2w.runner.wasi;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds the C test guests in src/test/c with Debian's clang-16 and wasi-libc (once per build, into
 * target/wasm-guests). Tests that need them are skipped, with a message, when clang-16 is missing.
 */
final class Guests {
    static final Path SRC = Path.of("src/test/c");
    static final Path OUT = Path.of("target/wasm-guests");
    static final String CLANG = "clang-16";

    private Guests() {}

    static boolean clangAvailable() {
        return onPath(CLANG) && Files.isDirectory(Path.of("/usr/lib/wasm32-wasi"));
    }

    static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }

    /** The module built from src/test/c/NAME.c (skips the test when clang-16 or wasi-libc is missing). */
    static synchronized Path wasm(String name) throws IOException, InterruptedException {
        Assumptions.assumeTrue(clangAvailable(),
            "clang-16 or wasi-libc missing (apt-get install clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32): "
                + "C guest tests skipped");
        Path src = SRC.resolve(name + ".c");
        Path out = OUT.resolve(name + ".wasm");
        if (Files.exists(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(src)) >= 0) {
            return out;
        }
        Files.createDirectories(OUT);
        List<String> cmd = new ArrayList<>(List.of(CLANG, "--target=wasm32-wasi", "-O2", "-Wall", "-o", out.toString(),
            src.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("building " + src + " failed:\n" + log);
        }
        return out;
    }

    /** Native build of a C program (for the benchmark). */
    static Path nativeBinary(String name) throws IOException, InterruptedException {
        Assumptions.assumeTrue(onPath(CLANG), "clang-16 missing");
        Path src = SRC.resolve(name + ".c");
        Path out = OUT.resolve(name + ".native");
        Files.createDirectories(OUT);
        Process p = new ProcessBuilder(CLANG, "-O2", "-o", out.toString(), src.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("building " + src + " natively failed:\n" + log);
        }
        return out;
    }
}
