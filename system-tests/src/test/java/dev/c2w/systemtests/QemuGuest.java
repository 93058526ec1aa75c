package dev.c2w.systemtests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A Linux guest under qemu-system-x86_64 (TCG), with one NIC on a {@code -netdev stream}
 * backend and a command channel on its serial console.
 *
 * <p>The guest's /init (resource guest/init.sh) reads lines
 * {@code @@CMD <id> <seconds> <base64 script>} from the console, runs the script with
 * {@code sh} under {@code timeout -s KILL <seconds>}, and answers
 * {@code @@BEGIN <id>}, the output, {@code @@END <id> <status>}. Everything QEMU prints
 * is also written to the console log file, which failure messages point to.
 */
public final class QemuGuest implements AutoCloseable {
    /** The guest's network card model. */
    public enum Nic {
        VIRTIO("virtio-net-pci"),
        E1000("e1000");

        final String device;

        Nic(String device) {
            this.device = device;
        }
    }

    /** Result of one command run in the guest. */
    public record Result(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    private static final int TAIL_CHARS = 8000;

    private final Process process;
    private final Path consoleLog;
    private final OutputStream consoleFile;
    private final OutputStream stdin;
    private final StringBuilder tail = new StringBuilder();
    private final CompletableFuture<String> ready = new CompletableFuture<>();
    private final Object lock = new Object();
    private final Thread reader;
    private CompletableFuture<Result> pending;
    private int pendingId = -1;
    private List<String> collecting;
    private int nextId = 1;

    private QemuGuest(Process process, Path consoleLog, OutputStream consoleFile) {
        this.process = process;
        this.consoleLog = consoleLog;
        this.consoleFile = consoleFile;
        this.stdin = process.getOutputStream();
        this.reader = new Thread(this::readConsole, "qemu-console");
        this.reader.setDaemon(true);
        this.reader.start();
    }

    /**
     * Starts QEMU. With {@code qemuListens} QEMU waits for the network peer on
     * 127.0.0.1:port (server=on); otherwise it connects to it once at start-up (server=off;
     * QEMU 7.2 does not reconnect), so the peer must already be listening.
     */
    public static QemuGuest start(GuestImage image, Nic nic, String mac, boolean qemuListens, int port, Path consoleLog)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                "qemu-system-x86_64",
                "-machine",
                "pc,accel=tcg",
                "-m",
                "256M",
                "-smp",
                "1",
                "-nodefaults",
                "-no-user-config",
                "-display",
                "none",
                "-monitor",
                "none",
                "-serial",
                "stdio",
                "-no-reboot",
                "-kernel",
                image.kernel().toString(),
                "-initrd",
                image.initramfs().toString(),
                "-append",
                "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init",
                "-nic",
                "none",
                "-netdev",
                "stream,id=n0,server=" + (qemuListens ? "on" : "off") + ",addr.type=inet,addr.host=127.0.0.1,addr.port="
                        + port,
                "-device",
                nic.device + ",netdev=n0,mac=" + mac));
        Files.createDirectories(consoleLog.toAbsolutePath().getParent());
        OutputStream file = Files.newOutputStream(consoleLog);
        file.write(("# " + String.join(" ", cmd) + "\n").getBytes(StandardCharsets.UTF_8));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        return new QemuGuest(p, consoleLog, file);
    }

    public Path consoleLog() {
        return consoleLog;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for /init's ready line; returns the guest's kernel release. */
    public String awaitReady(Duration timeout) throws IOException, InterruptedException {
        try {
            return ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("guest not ready after " + timeout.toSeconds() + " s" + describe());
        } catch (ExecutionException e) {
            throw new IOException("guest failed to boot: " + e.getCause().getMessage() + describe());
        }
    }

    /** Runs a shell script in the guest; the guest kills it after {@code timeout}. */
    public Result run(String script, Duration timeout) throws IOException, InterruptedException {
        long seconds = Math.max(1, timeout.toSeconds());
        CompletableFuture<Result> future = new CompletableFuture<>();
        int id;
        synchronized (lock) {
            if (pending != null) {
                throw new IllegalStateException("one guest command at a time");
            }
            if (!process.isAlive()) {
                throw new IOException("QEMU is not running" + describe());
            }
            id = nextId++;
            pending = future;
            pendingId = id;
            collecting = null;
        }
        String b64 = Base64.getEncoder().encodeToString(script.getBytes(StandardCharsets.UTF_8));
        String line = "@@CMD " + id + " " + seconds + " " + b64 + "\n";
        try {
            synchronized (stdin) {
                stdin.write(line.getBytes(StandardCharsets.US_ASCII));
                stdin.flush();
            }
            // The guest kills the script after `seconds`; allow for a slow console on top.
            return future.get(seconds * 1000 + 30_000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("no answer from the guest to: " + script + describe());
        } catch (ExecutionException e) {
            throw new IOException(
                    "guest command failed: " + script + ": " + e.getCause().getMessage() + describe());
        } finally {
            synchronized (lock) {
                if (pending == future) {
                    pending = null;
                    pendingId = -1;
                    collecting = null;
                }
            }
        }
    }

    /** Like {@link #run} but fails unless the script exits with 0. */
    public String runOk(String script, Duration timeout) throws IOException, InterruptedException {
        Result r = run(script, timeout);
        if (!r.ok()) {
            throw new IOException("guest command exited with " + r.exitCode() + ": " + script + "\n--- output ---\n"
                    + r.output() + describe());
        }
        return r.output();
    }

    /** The last part of the console output, for failure messages. */
    public String consoleTail() {
        synchronized (tail) {
            return tail.toString();
        }
    }

    /** A failure-message suffix: where the console log is and how it ends. */
    public String describe() {
        return "\n--- console log " + consoleLog.toAbsolutePath() + " (tail) ---\n" + consoleTail();
    }

    private void readConsole() {
        StringBuilder line = new StringBuilder();
        byte[] buf = new byte[8192];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                try {
                    consoleFile.write(buf, 0, n);
                    consoleFile.flush();
                } catch (IOException e) {
                    // keep serving the guest even if the log cannot be written
                }
                for (int i = 0; i < n; i++) {
                    char c = (char) (buf[i] & 0xff);
                    if (c == '\n') {
                        onLine(line.toString());
                        line.setLength(0);
                    } else if (c != '\r') {
                        line.append(c);
                    }
                }
                synchronized (tail) {
                    tail.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1).replace("\r", ""));
                    if (tail.length() > TAIL_CHARS) {
                        tail.delete(0, tail.length() - TAIL_CHARS);
                    }
                }
            }
        } catch (IOException e) {
            // QEMU went away
        }
        if (line.length() > 0) {
            onLine(line.toString());
        }
        int exit;
        try {
            exit = process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exit = -1;
        }
        IOException gone = new IOException("QEMU exited with status " + exit);
        ready.completeExceptionally(gone);
        synchronized (lock) {
            if (pending != null) {
                pending.completeExceptionally(gone);
            }
        }
        try {
            consoleFile.close();
        } catch (IOException e) {
            // nothing more to log
        }
    }

    private void onLine(String raw) {
        if (!ready.isDone()) {
            int at = raw.indexOf("@@READY");
            if (at >= 0) {
                ready.complete(raw.substring(at + "@@READY".length()).strip());
            }
            return;
        }
        synchronized (lock) {
            if (pending == null) {
                return;
            }
            if (collecting == null) {
                if (raw.strip().equals("@@BEGIN " + pendingId)) {
                    collecting = new ArrayList<>();
                }
                return;
            }
            String prefix = "@@END " + pendingId + " ";
            if (raw.startsWith(prefix)) {
                int status;
                try {
                    status = Integer.parseInt(raw.substring(prefix.length()).strip());
                } catch (NumberFormatException e) {
                    pending.completeExceptionally(new IOException("garbled end marker: " + raw));
                    return;
                }
                // init.sh prints one extra newline before the end marker.
                List<String> lines = collecting;
                if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
                    lines = lines.subList(0, lines.size() - 1);
                }
                pending.complete(new Result(status, String.join("\n", lines)));
                return;
            }
            collecting.add(raw);
        }
    }

    /** Stops QEMU (forcibly) and waits for it to go. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
