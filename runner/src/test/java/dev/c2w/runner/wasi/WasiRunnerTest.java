package dev.c2w.runner.wasi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import org.assertj.core.api.Assertions;

/** Runner behaviour that needs no C toolchain: argument rewriting, memory limits, wasmtime command lines. */
class WasiRunnerTest {
    /** A module with one memory of {@code pages} pages and an empty _start. */
    static byte[] moduleWithMemory(int pages) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        b.writeBytes(new byte[] {1, 4, 1, 0x60, 0, 0});          // type: () -> ()
        b.writeBytes(new byte[] {3, 2, 1, 0});                    // function 0 has type 0
        byte[] min = leb(pages);
        b.write(5);
        b.write(2 + min.length);
        b.write(1);
        b.write(0);
        b.writeBytes(min);                                        // memory: min pages, no max
        b.writeBytes(new byte[] {7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, 0});
        b.writeBytes(new byte[] {10, 4, 1, 2, 0, 0x0b});          // code: empty body
        return b.toByteArray();
    }

    static byte[] leb(int v) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        do {
            int x = v & 0x7f;
            v >>>= 7;
            b.write(v != 0 ? x | 0x80 : x);
        } while (v != 0);
        return b.toByteArray();
    }

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
        Path m = Files.write(tmp.resolve("m.wasm"), moduleWithMemory(16));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err)
            .run(new InvokeOptions().module(m, List.of()).cacheDir(tmp.resolve("cache")), null);
        assertThat(code).as(err.toString()).isZero();
    }

    @Test
    void aModuleLargerThanTheHeapIsAClearErrorNamingXmx(@TempDir Path tmp) throws Exception {
        Path m = Files.write(tmp.resolve("big.wasm"), moduleWithMemory(32767)); // 2 GiB - 64 KiB
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m", "-cp", System.getProperty("java.class.path"), WasiMain.class.getName(), "--no-net",
            "--no-compile-cache", m.toString())
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(out).contains("2047 MiB of linear memory").contains("-Xmx");
    }

    @Test
    void moreThanTwoGibibytesIsRefused(@TempDir Path tmp) throws Exception {
        Path m = Files.write(tmp.resolve("huge.wasm"), moduleWithMemory(40000));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err)
            .run(new InvokeOptions().module(m, List.of()).noCache(true), null);
        assertThat(code).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(err.toString()).contains("at most 32767");
    }

    @Test
    void wasmtimeCommandLinesAreUpstreams() {
        InvokeOptions o = new InvokeOptions().module(Path.of("out.wasm"), List.of("--net=socket", "sh"));
        assertThat(WasmtimeLauncher.command("wasmtime", o, Map.of(), Map.of(), true)).containsExactly(
            "wasmtime", "run", "-S", "preview2=n", "-S", "tcplisten=127.0.0.1:1234", "--env=LISTEN_FDS=1",
            "--", "out.wasm", "--net=socket", "sh");
        o.wasmtimeCli13(true).wasiAddr("127.0.0.1:9999");
        assertThat(WasmtimeLauncher.command("wasmtime", o, Map.of(), Map.of(), true)).containsExactly(
            "wasmtime", "run", "--tcplisten=127.0.0.1:9999", "--env=LISTEN_FDS=1", "--", "out.wasm",
            "--net=socket", "sh");
    }

    @Test
    void aMissingWasmtimeIsAClearError(@TempDir Path tmp) throws Exception {
        Path m = Files.write(tmp.resolve("m.wasm"), moduleWithMemory(1));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err)
            .run(new InvokeOptions().module(m, List.of()).runtime(InvokeOptions.Engine.wasmtime)
                .wasmtime(tmp.resolve("no-such-wasmtime").toString()), null);
        assertThat(code).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(err.toString()).contains("cannot find").contains("no-such-wasmtime").contains("embedded runtime");
    }

    @Test
    void badWasiAddrIsRefused() {
        assertThat(WasmtimeLauncher.parseAddr("127.0.0.1:1234").getPort()).isEqualTo(1234);
        assertThat(WasmtimeLauncher.parseAddr("[::1]:80").getAddress().isLoopbackAddress()).isTrue();
        Assertions.assertThatThrownBy(() -> WasmtimeLauncher.parseAddr("example.com:80"))
            .hasMessageContaining("literal IP");
        Assertions.assertThatThrownBy(() -> WasmtimeLauncher.parseAddr("127.0.0.1:99999"))
            .hasMessageContaining("literal IP");
    }

    @Test
    void aModuleWithoutStartIsRefusedWithAMessage(@TempDir Path tmp) throws Exception {
        byte[] m = moduleWithMemory(1);
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
