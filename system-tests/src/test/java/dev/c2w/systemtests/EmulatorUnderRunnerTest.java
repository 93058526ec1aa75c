package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Our RISC-V guest (guest/: the emulator compiled to WASI, our kernel, our init) under our own runner:
 * {@code c2w-net --invoke} boots it in the JVM, with the network stack in the same process.
 * Needs what guest/test.sh leaves in guest/build/test/boot (it builds the emulator and, when the kernel
 * is cached, the boot images); skipped with a message otherwise.
 */
@Tag("guest")
class EmulatorUnderRunnerTest {
    static Path wasm;
    static Path boot;

    @BeforeAll
    static void locate() {
        GuestArtifacts a = GuestArtifacts.require();
        wasm = a.wasm;
        boot = a.boot;
    }

    private static String run(List<String> c2wNetArgs, Path log) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:-DontCompileHugeMethods");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.c2w.cli.C2wNet");
        cmd.addAll(c2wNetArgs);
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        String out = GuestArtifacts.awaitGuest(p, log);
        assertThat(p.exitValue()).as("exit status; output:\n%s", out).isZero();
        return out;
    }

    @Test
    void bootsToEchoHello() throws Exception {
        String out = run(
                List.of(
                        "--invoke",
                        "--dir",
                        boot + "::/boot",
                        wasm.toString(),
                        "--stats",
                        "--initrd",
                        "/boot/initrd.cpio",
                        "--append",
                        "console=hvc0 quiet -- /bin/echo hello from c2w",
                        "/boot/Image"),
                Path.of("target/guest-logs/emulator/echo.log"));
        assertThat(out.lines().map(String::strip)).contains("hello from c2w");
        // the runner recognises our emulator and picks the dispatch loop that suits the JVM
        assertThat(out).contains("dispatch calls");
    }

    @Test
    void theEmulatorsTuningVariableStaysOutOfTheContainerEnvironment() throws Exception {
        String out = run(
                List.of(
                        "--invoke",
                        "--dir",
                        boot + "::/boot",
                        "--env",
                        "GREETING=hi",
                        wasm.toString(),
                        "--initrd",
                        "/boot/bb.cpio",
                        "--append",
                        "console=hvc0 quiet",
                        "/boot/Image",
                        "--",
                        "/bin/sh",
                        "-c",
                        "env | sort"),
                Path.of("target/guest-logs/emulator/env.log"));
        assertThat(out.lines().map(String::strip)).contains("GREETING=hi");
        assertThat(out).doesNotContain("C2W_EMU_");
    }

    @Test
    void getsALeaseAndDownloadsFromTheHost() throws Exception {
        try (GuestArtifacts.BlobServer http = new GuestArtifacts.BlobServer(3)) {
            String cmd = "console=hvc0 quiet C2W_NET=dhcp -- /bin/sh -c \"wget -q -O - " + http.guestUrl()
                    + " | sha256sum\"";
            String out = run(
                    List.of(
                            "--invoke",
                            "--dir",
                            boot + "::/boot",
                            wasm.toString(),
                            "--net=socket",
                            "--initrd",
                            "/boot/bb.cpio",
                            "--append",
                            cmd,
                            "/boot/Image"),
                    Path.of("target/guest-logs/emulator/download.log"));
            assertThat(out).contains("eth0 192.168.127.3 (DHCP)");
            assertThat(out).contains(http.sha256);
        }
    }
}
