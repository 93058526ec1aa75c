package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Our RISC-V guest (guest/: the emulator compiled to WASI, our kernel, our init) in a browser tab with
 * networking: headless Chromium opens web/page/run.html (through web/page/chromium-run.py, which
 * serves the page with cross-origin isolation on loopback), the emulator runs in a Worker on the
 * browser WASI host, and the page bridges the emulator's listening socket to a WebSocket to
 * {@code c2w-net --listen-ws} (a child JVM). The guest gets its lease, downloads from a host server
 * through 192.168.127.254 and its exit status comes back through the page.
 * Needs what guest/test.sh leaves in guest/build/test/boot and Chromium; skipped with a message otherwise.
 */
@Tag("guest")
class EmulatorInChromiumTest {
    static Path boot;
    static Path runner;

    @BeforeAll
    static void locate() {
        GuestArtifacts a = GuestArtifacts.require();
        boot = a.boot;
        runner = a.root.resolve("web/page/chromium-run.py");
        String chromium = System.getenv().getOrDefault("C2W_CHROMIUM", "/usr/bin/chromium");
        Assertions.assertThat(Path.of(chromium))
                .as("Chromium (./run-tests installs it: apt-get install chromium)")
                .isExecutable();
    }

    @Test
    void getsALeaseOverAWebSocketDownloadsFromTheHostAndReportsTheExitStatus() throws Exception {
        GuestArtifacts.BlobServer http = new GuestArtifacts.BlobServer(11);
        Path logs = Path.of("target/guest-logs/emulator-chromium");
        Files.createDirectories(logs);
        int wsPort = LoopbackPorts.freePort();
        // DNS goes to a port where nothing answers: this guest needs none, and nothing may reach the system resolver
        C2wNetStack net = new C2wNetStack(logs.resolve("c2w-net.log"));
        Process page = null;
        try {
            net.startWith(List.of("--listen-ws", "127.0.0.1:" + wsPort, "--dns-upstream", "127.0.0.1:9"));
            LoopbackPorts.awaitListening(wsPort, Duration.ofSeconds(60), net::isAlive, "c2w-net --listen-ws");
            String cmd =
                    "console=hvc0 quiet -- /bin/sh -c \"wget -q -O - " + http.guestUrl() + " | sha256sum; exit 7\"";
            Path log = logs.resolve("page.log");
            page = new ProcessBuilder(
                            "python3",
                            runner.toString(),
                            "--boot",
                            boot.toString(),
                            "--initrd",
                            "bb.cpio",
                            "--ws",
                            "ws://127.0.0.1:" + wsPort + "/",
                            "--append",
                            cmd,
                            "--timeout",
                            "240")
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            boolean done = page.waitFor(300, TimeUnit.SECONDS);
            String out = Files.readString(log, StandardCharsets.UTF_8);
            String where = "page output:\n" + out + net.describe();
            assertThat(done).as("page finished within 300 s; " + where).isTrue();
            assertThat(out).as(where).contains("eth0 192.168.127.3 (DHCP)");
            assertThat(out).as(where).contains(http.sha256);
            assertThat(page.exitValue())
                    .as("the guest's exit status through the page; " + where)
                    .isEqualTo(7);
            assertThat(net.describe()).contains("WebSocket guest connected");
        } finally {
            if (page != null) {
                page.destroyForcibly();
            }
            net.close();
            http.close();
        }
    }
}
