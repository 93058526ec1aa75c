package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.cli.invoke.WasiMain;
import dev.c2w.testkit.WasmGuests;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a real pseudo-terminal (util-linux {@code script}): while a guest runs, the terminal is in raw mode;
 * after Ctrl-C (SIGINT to the runner) the saved mode is back.
 */
class TerminalTest {
    @Test
    void rawWhileRunningAndRestoredAfterCtrlC(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(WasmGuests.onPath("script") && WasmGuests.onPath("stty"), "script/stty missing");
        Path wasm = WasmGuests.wasm("net_guest").toAbsolutePath();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // the guest blocks in poll_oneoff on stdin and its socket (no lease on a bare stub network, or serving)
        String runner = "exec '" + java + "' -cp '" + System.getProperty("java.class.path") + "' "
                + WasiMain.class.getName() + " --compile-cache '" + tmp.resolve("cache") + "' '" + wasm
                + "' serve --net=socket";
        String script = String.join(
                "\n",
                "stty -g > before",
                "sh -c 'before=$(stty -g); (i=0; while [ $i -lt 600 ]; do now=$(stty -g </dev/tty);"
                        + " if [ \"$now\" != \"$before\" ]; then echo \"$now\" > during; kill -INT $$; exit; fi;"
                        + " sleep 0.1; i=$((i+1)); done; kill -TERM $$) & " + runner.replace("'", "'\\''") + "'",
                "echo $? > status",
                "stty -g > after",
                "");
        Files.writeString(tmp.resolve("t.sh"), script);
        Process p = new ProcessBuilder("script", "-qec", "sh t.sh", "/dev/null")
                .directory(tmp.toFile())
                .redirectErrorStream(true)
                .start();
        p.getOutputStream().close();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(log).isTrue();
        assertThat(tmp.resolve("during"))
                .as("terminal never changed mode: " + log)
                .exists();
        String before = Files.readString(tmp.resolve("before")).trim();
        assertThat(Files.readString(tmp.resolve("during")).trim()).isNotEqualTo(before);
        assertThat(Files.readString(tmp.resolve("after")).trim()).as(log).isEqualTo(before);
        assertThat(Files.readString(tmp.resolve("status")).trim()).isEqualTo("130"); // killed by SIGINT
    }
}
