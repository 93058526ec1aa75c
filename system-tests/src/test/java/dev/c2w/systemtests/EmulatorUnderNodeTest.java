package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Our RISC-V guest (guest/: the emulator compiled to WASI, our kernel, our init) under Node 20, the way
 * upstream users run a converted container with wasmtime: {@code node run-node.mjs --tcplisten
 * 127.0.0.1:PORT module.wasm --net=socket ...} gives the module a listening socket (web/node/: the
 * module runs in a worker thread, the main thread owns the TCP socket, bytes cross in shared-memory
 * rings) and the c2w-net CLI dials it ({@code c2w-net 127.0.0.1:PORT}, a child JVM).
 * Needs what guest/test.sh leaves in guest/build/test/boot and {@code node} on the PATH; skipped with a
 * message otherwise, like {@link EmulatorUnderRunnerTest}.
 */
@Tag("guest")
class EmulatorUnderNodeTest {
    static Path wasm;
    static Path boot;
    static Path runNode;

    @BeforeAll
    static void locate() throws Exception {
        GuestArtifacts a = GuestArtifacts.require();
        wasm = a.wasm;
        boot = a.boot;
        runNode = a.root.resolve("guest/emulator/tools/run-node.mjs");
        Assertions.assertThat(nodeVersion())
                .as("node 20 or later on the PATH (./run-tests installs nodejs)")
                .isGreaterThanOrEqualTo(20);
    }

    private static int nodeVersion() {
        try {
            Process p = new ProcessBuilder("node", "--version")
                    .redirectErrorStream(true)
                    .start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || !v.matches("v\\d+\\..*")) {
                return -1;
            }
            return Integer.parseInt(v.substring(1, v.indexOf('.')));
        } catch (IOException | InterruptedException e) {
            return -1;
        }
    }

    /** The emulator under Node with a listening socket on 127.0.0.1:port; output (stdout + stderr) to log. */
    private static Process startNode(int port, List<String> emulatorArgs, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                "node",
                "--no-warnings",
                runNode.toString(),
                "--tcplisten",
                "127.0.0.1:" + port,
                "--preopen",
                boot + "::/boot",
                wasm.toString()));
        cmd.addAll(emulatorArgs);
        Files.createDirectories(log.toAbsolutePath().getParent());
        return new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
    }

    /** Waits until the log contains text (or the process ends: then the caller's assertions report it). */
    private static void awaitOutput(Process p, Path log, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (System.nanoTime() < deadline && p.isAlive()) {
            if (Files.readString(log, StandardCharsets.UTF_8).contains(text)) {
                return;
            }
            Thread.sleep(100);
        }
        assertThat(Files.readString(log, StandardCharsets.UTF_8))
                .as("waiting for %s", text)
                .contains(text);
    }

    private static C2wNetStack dial(int port, Path log) throws Exception {
        C2wNetStack net = new C2wNetStack(log);
        net.startWith(List.of("127.0.0.1:" + port));
        return net;
    }

    @Test
    void bootsToEchoHelloWithNoPeerOnItsSocket() throws Exception {
        Path log = Path.of("target/guest-logs/emulator-node/echo.log");
        int port = LoopbackPorts.freePort();
        Process p = startNode(
                port,
                List.of(
                        "--net=socket",
                        "--initrd",
                        "/boot/initrd.cpio",
                        "--append",
                        "console=hvc0 quiet -- /bin/echo hello from c2w",
                        "/boot/Image"),
                log);
        String out = GuestArtifacts.awaitGuest(p, log);
        assertThat(p.exitValue()).as("exit status; output:\n%s", out).isZero();
        assertThat(out.lines().map(String::strip)).contains("hello from c2w");
        // one pre-open (/boot at fd 3): the socket is fd 4 and --net=socket was pointed at it
        assertThat(out).contains("listening on 127.0.0.1:" + port + " (guest fd 4)");
    }

    @Test
    void getsALeaseDownloadsFromTheHostAndReportsTheExitStatus() throws Exception {
        GuestArtifacts.BlobServer http = new GuestArtifacts.BlobServer(3);
        Path log = Path.of("target/guest-logs/emulator-node/download.log");
        int port = LoopbackPorts.freePort();
        Process p = null;
        C2wNetStack net = null;
        try {
            String cmd = "console=hvc0 quiet C2W_NET=dhcp -- /bin/sh -c \"wget -q -O - " + http.guestUrl()
                    + " | sha256sum; exit 7\"";
            p = startNode(
                    port, List.of("--net=socket", "--initrd", "/boot/bb.cpio", "--append", cmd, "/boot/Image"), log);
            Process node = p;
            LoopbackPorts.awaitListening(port, Duration.ofSeconds(60), node::isAlive, "node run-node.mjs");
            net = dial(port, Path.of("target/guest-logs/emulator-node/download-c2w-net.log"));
            String out = GuestArtifacts.awaitGuest(p, log);
            String where = "output:\n" + out + net.describe();
            assertThat(out).as(where).contains("eth0 192.168.127.3 (DHCP)");
            assertThat(out).as(where).contains(http.sha256);
            assertThat(p.exitValue()).as("the guest's exit status; " + where).isEqualTo(7);
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            if (net != null) {
                net.close();
            }
            http.close();
        }
    }

    @Test
    void acceptsTheNextPeerAfterTheFirstOneLeaves() throws Exception {
        AtomicBoolean serving = new AtomicBoolean(false);
        GuestArtifacts.BlobServer http = new GuestArtifacts.BlobServer(5, serving);
        Path log = Path.of("target/guest-logs/emulator-node/reconnect.log");
        int port = LoopbackPorts.freePort();
        Process p = null;
        C2wNetStack first = null;
        C2wNetStack second = null;
        try {
            // the guest retries until the download works, which it does only through the second peer
            String cmd =
                    "console=hvc0 quiet C2W_NET=dhcp -- /bin/sh -c \"echo leased-$((1+1)); until wget -q -T 3 -O /tmp/b "
                            + http.guestUrl() + "; do sleep 1; done; sha256sum /tmp/b\"";
            p = startNode(
                    port, List.of("--net=socket", "--initrd", "/boot/bb.cpio", "--append", cmd, "/boot/Image"), log);
            Process node = p;
            LoopbackPorts.awaitListening(port, Duration.ofSeconds(60), node::isAlive, "node run-node.mjs");
            first = dial(port, Path.of("target/guest-logs/emulator-node/reconnect-c2w-net-1.log"));
            awaitOutput(p, log, "leased-2"); // computed by the guest: never in an echoed command line
            assertThat(Files.readString(log, StandardCharsets.UTF_8))
                    .as("lease through the first peer" + first.describe())
                    .contains("eth0 192.168.127.3 (DHCP)");
            first.close(); // the emulator sees end of stream and accepts again
            second = dial(port, Path.of("target/guest-logs/emulator-node/reconnect-c2w-net-2.log"));
            serving.set(true);
            String out = GuestArtifacts.awaitGuest(p, log);
            String where = "output:\n" + out + first.describe() + second.describe();
            assertThat(out).as(where).contains("eth0 192.168.127.3 (DHCP)");
            assertThat(out).as(where).contains(http.sha256);
            assertThat(p.exitValue()).as("exit status; " + where).isZero();
            assertThat(second.describe()).contains("connected to guest");
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            for (C2wNetStack n : new C2wNetStack[] {first, second}) {
                if (n != null) {
                    n.close();
                }
            }
            http.close();
        }
    }
}
