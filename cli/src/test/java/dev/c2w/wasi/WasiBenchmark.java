package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.cli.invoke.WasiMain;
import dev.c2w.testkit.WasmGuests;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A benchmark, not a test: the CPU-bound src/test/c/bench.c natively, on Node, on the runner (compiled,
 * first with an empty compile cache, then cached) and on the interpreter. Prints ns per step (measured by
 * the guest, startup excluded), wall time of each run, and ratios to native. Asserts only that every run
 * computed the same checksum. Run with:
 * {@code mvn -pl runner -am test -Dtest=WasiBenchmark -Dc2w.bench=true -Dsurefire.failIfNoSpecifiedTests=false}
 */
@EnabledIfSystemProperty(named = "c2w.bench", matches = "true")
class WasiBenchmark {
    static final long STEPS = 100_000_000L;
    static final long INTERPRETER_STEPS = 1_000_000L;
    static final Pattern RESULT = Pattern.compile("checksum (\\w+)\\nsteps (\\d+) ns (\\d+) ns_per_step ([\\d.]+)");

    record Sample(String name, String checksum, double nsPerStep, long wallMs) {}

    static Sample run(String name, List<String> cmd) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.MINUTES)).isTrue();
        long wall = (System.nanoTime() - t0) / 1_000_000;
        Matcher m = RESULT.matcher(out);
        assertThat(m.find()).as(name + " printed: " + out).isTrue();
        return new Sample(name, m.group(1), Double.parseDouble(m.group(4)), wall);
    }

    static List<String> runner(Path wasm, Path cache, boolean interpret, long steps) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-DontCompileHugeMethods",
                "-cp",
                System.getProperty("java.class.path"),
                WasiMain.class.getName(),
                "--no-net",
                "--compile-cache",
                cache.toString()));
        if (interpret) {
            cmd.add("--interpret");
        }
        cmd.add(wasm.toString());
        cmd.add(Long.toString(steps));
        return cmd;
    }

    @Test
    void benchmark(@TempDir Path tmp) throws Exception {
        Path wasm = WasmGuests.wasm("bench");
        Path nat = WasmGuests.nativeBinary("bench");
        List<Sample> s = new ArrayList<>();
        s.add(run("native (clang-16 -O2)", List.of(nat.toString(), Long.toString(STEPS))));
        if (WasmGuests.onPath("node")) {
            s.add(run(
                    "node 20 (node:wasi)",
                    List.of(
                            "node",
                            "--no-warnings",
                            "../wasi-host/src/test/resources/node-wasi.mjs",
                            wasm.toString(),
                            "--",
                            "bench",
                            Long.toString(STEPS))));
        }
        Path cache = tmp.resolve("cache");
        s.add(run("runner, compiled, empty cache", runner(wasm, cache, false, STEPS)));
        s.add(run("runner, compiled, cached", runner(wasm, cache, false, STEPS)));
        s.add(run("runner, interpreter (1M steps)", runner(wasm, cache, true, INTERPRETER_STEPS)));
        double base = s.get(0).nsPerStep();
        StringBuilder t = new StringBuilder("\n| run | ns/step | × native | wall ms |\n|---|---|---|---|\n");
        for (Sample x : s) {
            t.append(String.format(
                    "| %s | %.2f | %.1f | %d |%n", x.name(), x.nsPerStep(), x.nsPerStep() / base, x.wallMs()));
        }
        System.out.println(t);
        // checksums depend on the step count: compare the full-length runs
        for (Sample x : s.subList(0, s.size() - 1)) {
            assertThat(x.checksum()).as(x.name()).isEqualTo(s.get(0).checksum());
        }
    }
}
