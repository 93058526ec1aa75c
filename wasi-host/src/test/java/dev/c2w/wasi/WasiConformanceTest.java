package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.testkit.WasmGuests;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The same module on the runner and on Node's node:wasi: same stdout, same exit status. */
class WasiConformanceTest {
    static Path cache;
    static Path module;

    record Result(int code, String out, String err) {}

    @BeforeAll
    static void build(@TempDir Path tmp) throws Exception {
        module = WasmGuests.wasm("wasi_conf");
        cache = tmp.resolve("cache");
    }

    static Result runner(InvokeOptions o) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), out, err).run(o, null);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Result node(List<String> flags, List<String> args) throws IOException, InterruptedException {
        Assumptions.assumeTrue(WasmGuests.onPath("node"), "node missing: comparison with node:wasi skipped");
        List<String> cmd = new ArrayList<>(
                List.of("node", "--no-warnings", "src/test/resources/node-wasi.mjs", module.toString()));
        cmd.addAll(flags);
        cmd.add("--");
        cmd.add(module.getFileName().toString());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(
                p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    InvokeOptions opts(String... args) {
        return new InvokeOptions().module(module, List.of(args)).cacheDir(cache);
    }

    @ParameterizedTest
    @ValueSource(strings = {"args", "clock", "poll", "preopens"})
    void sameAsNode(String mode) throws Exception {
        List<String> args = List.of(mode, "one", "two words", "", "ünïcödé");
        Result ours = runner(opts(args.toArray(String[]::new)));
        Result theirs = node(List.of(), args);
        assertThat(ours.out()).isEqualTo(theirs.out()).isNotEmpty();
        assertThat(ours.code()).isEqualTo(theirs.code()).isZero();
    }

    @Test
    void environmentIsExactlyWhatWasGiven() throws Exception {
        Result ours = runner(opts("env").env("GREETING=hi there").env("EMPTY="));
        Result theirs = node(List.of("--env", "GREETING=hi there", "--env", "EMPTY="), List.of("env"));
        assertThat(ours.out()).isEqualTo(theirs.out()).contains("envc=2", "GREETING=hi there");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 255})
    void exitStatusIsTheModules(int status) throws Exception {
        Result ours = runner(opts("exit", Integer.toString(status)));
        Result theirs = node(List.of(), List.of("exit", Integer.toString(status)));
        assertThat(ours.code()).isEqualTo(theirs.code()).isEqualTo(status);
        assertThat(ours.out()).isEqualTo(theirs.out());
    }

    @Test
    void filesInAPreopenedDirectory(@TempDir Path tmp) throws Exception {
        Path a = Files.createDirectories(tmp.resolve("ours"));
        Path b = Files.createDirectories(tmp.resolve("node"));
        Files.writeString(a.resolve("input.txt"), "hello\nworld\n");
        Files.writeString(b.resolve("input.txt"), "hello\nworld\n");
        Result ours = runner(opts("files", "/data").dir(a + "::/data"));
        Result theirs = node(List.of("--dir", "/data=" + b), List.of("files", "/data"));
        assertThat(ours.out())
                .isEqualTo(theirs.out())
                .contains("input: world", "entry: sub", "outside the pre-open: refused");
        assertThat(ours.code()).isEqualTo(theirs.code()).isZero();
        assertThat(tree(a)).isEqualTo(tree(b)).contains("sub/moved.txt");
        assertThat(Files.readString(a.resolve("sub/moved.txt"))).isEqualTo("written by the guest\n");
    }

    @Test
    void upstreamMapdirSyntaxWorksToo(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("input.txt"), "mapped\n");
        Result ours = runner(opts("files", "/m").mapdir("/m::" + tmp));
        assertThat(ours.out()).contains("input: mapped");
        assertThat(ours.code()).isZero();
    }

    @Test
    void pollCasesNodeDoesNotHandle() {
        Result ours = runner(opts("poll-more"));
        assertThat(ours.out())
                .isEqualTo("poll past abstime: errno=0 n=1 userdata=333\n"
                        + "poll stdout writable: errno=0 n=1 userdata=444 type=2\n");
    }

    @Test
    void interpreterGivesTheSameAnswers() throws Exception {
        Result ours = runner(opts("args", "x", "y z").interpret(true));
        Result theirs = node(List.of(), List.of("args", "x", "y z"));
        assertThat(ours.out()).isEqualTo(theirs.out());
    }

    @Test
    void aTrapPrintsTheTrapAndAWasmStack() {
        Result ours = runner(opts("trap"));
        assertThat(ours.out()).isEqualTo("about to trap\n");
        assertThat(ours.code()).isEqualTo(WasiRunner.EXIT_TRAP);
        assertThat(ours.err()).contains("wasm trap:").contains("unreachable").contains("at func[");
    }

    @Test
    void theSecondStartLoadsTheCompiledModuleFromTheCache(@TempDir Path tmp) {
        WasiRunner r = new WasiRunner(
                new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), new ByteArrayOutputStream());
        InvokeOptions o = new InvokeOptions().module(module, List.of("args")).cacheDir(tmp);
        assertThat(r.run(o, null)).isZero();
        assertThat(r.lastCacheHits()).isZero();
        assertThat(tmp.toFile().list()).hasSize(1);
        assertThat(r.run(o, null)).isZero();
        assertThat(r.lastCacheHits()).isEqualTo(1);
        // read ahead on its own thread (what the CLI does while it sets up the network): the same run
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        WasiRunner ahead = new WasiRunner(new ByteArrayInputStream(new byte[0]), out, new ByteArrayOutputStream());
        assertThat(ahead.run(o, null, WasiRunner.preload(o))).isZero();
        assertThat(ahead.lastCacheHits()).isEqualTo(1);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(runner(o).out());
    }

    @Test
    void aMissingModuleOrDirectoryIsAClearError(@TempDir Path tmp) {
        Result r1 = runner(new InvokeOptions().module(tmp.resolve("nope.wasm"), List.of()));
        assertThat(r1.code()).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(r1.err()).contains("module not found");
        Result r2 = runner(opts("args").dir(tmp.resolve("missing").toString()));
        assertThat(r2.err()).contains("is not a directory");
    }

    @Test
    void garbageIsRefusedWithAMessage(@TempDir Path tmp) throws Exception {
        Path junk = Files.write(tmp.resolve("junk.wasm"), "not wasm at all".getBytes());
        Result r = runner(new InvokeOptions().module(junk, List.of()));
        assertThat(r.code()).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(r.err()).contains("cannot load");
        // the same when it was read ahead on its own thread
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        InvokeOptions o = new InvokeOptions().module(junk, List.of());
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err)
                .run(o, null, WasiRunner.preload(o));
        assertThat(code).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("cannot load").contains("junk.wasm");
    }

    static String tree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile)
                    .map(p -> root.relativize(p).toString())
                    .sorted()
                    .collect(Collectors.joining("\n"));
        }
    }
}
