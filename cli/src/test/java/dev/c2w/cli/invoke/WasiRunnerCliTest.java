package dev.c2w.cli.invoke;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.testkit.WasmModules;
import dev.c2w.wasi.InvokeOptions;
import dev.c2w.wasi.WasiRunner;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner through the c2w-net side: its stand-alone main in a child JVM, and the wasmtime launcher. */
class WasiRunnerCliTest {

    @Test
    void aModuleLargerThanTheHeapIsAClearErrorNamingXmx(@TempDir Path tmp) throws Exception {
        Path m = Files.write(tmp.resolve("big.wasm"), WasmModules.withMemory(32767)); // 2 GiB - 64 KiB
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx256m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        WasiMain.class.getName(),
                        "--no-net",
                        "--no-compile-cache",
                        m.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(out).contains("2047 MiB of linear memory").contains("-Xmx");
    }

    @Test
    void wasmtimeCommandLinesAreUpstreams() {
        InvokeOptions o = new InvokeOptions().module(Path.of("out.wasm"), List.of("--net=socket", "sh"));
        assertThat(WasmtimeLauncher.command("wasmtime", o, Map.of(), Map.of(), true))
                .containsExactly(
                        "wasmtime",
                        "run",
                        "-S",
                        "preview2=n",
                        "-S",
                        "tcplisten=127.0.0.1:1234",
                        "--env=LISTEN_FDS=1",
                        "--",
                        "out.wasm",
                        "--net=socket",
                        "sh");
        o.wasmtimeCli13(true).wasiAddr("127.0.0.1:9999");
        assertThat(WasmtimeLauncher.command("wasmtime", o, Map.of(), Map.of(), true))
                .containsExactly(
                        "wasmtime",
                        "run",
                        "--tcplisten=127.0.0.1:9999",
                        "--env=LISTEN_FDS=1",
                        "--",
                        "out.wasm",
                        "--net=socket",
                        "sh");
    }

    @Test
    void aMissingWasmtimeIsAClearError(@TempDir Path tmp) throws Exception {
        Path m = Files.write(tmp.resolve("m.wasm"), WasmModules.withMemory(1));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = NetworkedInvoke.run(
                new WasiRunner(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), err),
                new InvokeOptions()
                        .module(m, List.of())
                        .runtime(InvokeOptions.Engine.wasmtime)
                        .wasmtime(tmp.resolve("no-such-wasmtime").toString()),
                null);
        assertThat(code).isEqualTo(WasiRunner.EXIT_RUNNER);
        assertThat(err.toString())
                .contains("cannot find")
                .contains("no-such-wasmtime")
                .contains("embedded runtime");
    }

    @Test
    void badWasiAddrIsRefused() {
        assertThat(WasmtimeLauncher.parseAddr("127.0.0.1:1234").getPort()).isEqualTo(1234);
        assertThat(WasmtimeLauncher.parseAddr("[::1]:80").getAddress().isLoopbackAddress())
                .isTrue();
        Assertions.assertThatThrownBy(() -> WasmtimeLauncher.parseAddr("example.com:80"))
                .hasMessageContaining("literal IP");
        Assertions.assertThatThrownBy(() -> WasmtimeLauncher.parseAddr("127.0.0.1:99999"))
                .hasMessageContaining("literal IP");
    }
}
