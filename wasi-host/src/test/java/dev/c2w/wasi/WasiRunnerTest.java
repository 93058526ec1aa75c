package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.testkit.WasmModules;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runner behaviour that needs no C toolchain: argument rewriting, memory limits, wasmtime command lines. */
class WasiRunnerTest {

    @Test
    void theEmulatorsNetFlagPointsAtTheListeningSocket() {
        assertThat(WasiRunner.rewriteNetArg(List.of("--net=socket", "sh"), 4))
                .containsExactly("--net=socket=listenfd=4", "sh");
        assertThat(WasiRunner.rewriteNetArg(List.of("--net=socket=listenfd=3"), 5))
                .containsExactly("--net=socket=listenfd=5");
        assertThat(WasiRunner.rewriteNetArg(List.of("-net", "socket", "--", "--net=socket"), 3))
                .containsExactly("-net", "socket=listenfd=3", "--", "--net=socket");
        assertThat(WasiRunner.rewriteNetArg(List.of("sh", "-c", "echo"), 3)).containsExactly("sh", "-c", "echo");
        assertThat(WasiRunner.rewriteNetArg(List.of("--net=socket", "prog", "--net=socket"), 4))
                .containsExactly("--net=socket=listenfd=4", "prog", "--net=socket");
        assertThat(WasiRunner.rewriteNetArg(List.of("--net=socket"), -1)).containsExactly("--net=socket");
    }

    @Test
    void aSmallModuleWithoutImportsRuns(@TempDir Path tmp) throws Exception {
        Path m = Files.write(tmp.resolve("m.wasm"), WasmModules.withMemory(16));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err)
                .run(new InvokeOptions().module(m, List.of()).cacheDir(tmp.resolve("cache")), null);
        assertThat(code).as(err.toString()).isZero();
    }

    @Test
    void moreThanTwoGibibytesIsRefused(@TempDir Path tmp) throws Exception {
        Path m = Files.write(tmp.resolve("huge.wasm"), WasmModules.withMemory(40000));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err)
                .run(new InvokeOptions().module(m, List.of()).noCache(true), null);
        assertThat(code).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(err.toString()).contains("at most 32767");
    }

    @Test
    void aModuleWithoutStartIsRefusedWithAMessage(@TempDir Path tmp) throws Exception {
        byte[] m = WasmModules.withMemory(1);
        // rename the export "_start" to "_stort"
        for (int i = 0; i + 6 <= m.length; i++) {
            if (new String(m, i, 6, StandardCharsets.US_ASCII).equals("_start")) {
                m[i + 3] = 'o';
            }
        }
        Path p = Files.write(tmp.resolve("lib.wasm"), m);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err)
                .run(new InvokeOptions().module(p, List.of()).noCache(true), null);
        assertThat(code).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(err.toString()).contains("no _start export");
    }
}
