package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** InvokeOptions mounted the way the c2w-net CLI mounts it: options, then the module, then guest args untouched. */
class InvokeOptionsTest {
    @Command(name = "c2w-net")
    static final class Cli {
        @Option(names = "--invoke")
        boolean invoke;

        @Option(names = "-p")
        List<String> ports = new ArrayList<>();

        @Mixin
        InvokeOptions wasi = new InvokeOptions();

        @Parameters
        List<String> positionals = new ArrayList<>();
    }

    static Cli parse(String... args) {
        Cli c = new Cli();
        new CommandLine(c)
                .setStopAtPositional(true)
                .setUnmatchedOptionsArePositionalParams(true)
                .parseArgs(args);
        c.wasi.positionals(c.positionals);
        return c;
    }

    @Test
    void upstreamStyleCommandLine() {
        Cli c = parse(
                "--invoke",
                "-p",
                "localhost:8000:80",
                "--dir",
                "/tmp/x::/data",
                "-mapdir",
                "/m::/tmp/m",
                "-wasi-addr",
                "127.0.0.1:9999",
                "-wasmtime-cli-13",
                "--runtime",
                "wasmtime",
                "/tmp/out.wasm",
                "--net=socket",
                "sh",
                "-c",
                "--dir");
        assertThat(c.invoke).isTrue();
        assertThat(c.ports).containsExactly("localhost:8000:80");
        assertThat(c.wasi.module()).isEqualTo(Path.of("/tmp/out.wasm"));
        assertThat(c.wasi.args()).containsExactly("--net=socket", "sh", "-c", "--dir");
        assertThat(c.wasi.dirs()).containsExactly("/tmp/x::/data");
        assertThat(c.wasi.mapdirs()).containsExactly("/m::/tmp/m");
        assertThat(c.wasi.wasiAddr()).isEqualTo("127.0.0.1:9999");
        assertThat(c.wasi.wasmtimeCli13()).isTrue();
        assertThat(c.wasi.runtime()).isEqualTo(InvokeOptions.Engine.wasmtime);
    }

    @Test
    void defaults() {
        Cli c = parse("--invoke", "out.wasm");
        assertThat(c.wasi.runtime()).isEqualTo(InvokeOptions.Engine.embedded);
        assertThat(c.wasi.interpret()).isFalse();
        assertThat(c.wasi.wasiAddr()).isEqualTo("127.0.0.1:1234");
        assertThat(c.wasi.wasmtime()).isEqualTo("wasmtime");
        assertThat(c.wasi.args()).isEmpty();
    }

    @Test
    void noModuleIsAUsageError() {
        assertThatThrownBy(() -> parse("--invoke")).hasMessageContaining("needs the module");
    }

    @Test
    void unknownRuntimeIsRefused() {
        assertThatThrownBy(() -> parse("--runtime", "wazero", "x.wasm"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("wazero");
    }
}
