package dev.c2w.converter.testing;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command with a deadline for tests. Standard output and standard error are merged; stdin
 * is empty. When the deadline passes, the whole process tree is killed (deepest descendants
 * first, then the process itself) and the result has exit code -1 and the output so far followed
 * by a "[timed out after ...]" line.
 */
public final class Proc {
    /** How long to keep reading output after the process ended (a leftover descendant may hold the pipe). */
    private static final Duration DRAIN = Duration.ofSeconds(5);

    private Proc() {}

    /** Exit code (-1 on timeout) and merged stdout+stderr as UTF-8. */
    public record Result(int exit, String output) {}

    public static Result run(Duration timeout, List<String> cmd) throws IOException, InterruptedException {
        return run(timeout, cmd, null, Map.of());
    }

    /**
     * Like {@link #run(Duration, List)} in directory {@code workDir} (null: the current one) with
     * {@code env} added to this JVM's environment.
     */
    public static Result run(Duration timeout, List<String> cmd, Path workDir, Map<String, String> env)
            throws IOException, InterruptedException {
        return run(timeout, cmd, workDir, env, null);
    }

    /** Like {@link #run(Duration, List, Path, Map)} with {@code stdin} as the process's standard input (null: /dev/null). */
    public static Result run(Duration timeout, List<String> cmd, Path workDir, Map<String, String> env, byte[] stdin)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectInput(
                        stdin == null
                                ? ProcessBuilder.Redirect.from(new File("/dev/null"))
                                : ProcessBuilder.Redirect.PIPE);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        pb.environment().putAll(env);
        long start = System.nanoTime();
        Process p = pb.start();
        if (stdin != null) {
            Thread writer = new Thread(
                    () -> {
                        try (OutputStream in = p.getOutputStream()) {
                            in.write(stdin);
                        } catch (IOException e) {
                            // the process exited before reading all of it: its output says why
                        }
                    },
                    "proc-input-" + p.pid());
            writer.setDaemon(true);
            writer.start();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> copy(p.getInputStream(), out), "proc-output-" + p.pid());
        reader.setDaemon(true);
        reader.start();
        boolean done;
        try {
            done = p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            killTree(p.toHandle());
            throw e;
        }
        if (!done) {
            killTree(p.toHandle());
            p.waitFor(10, TimeUnit.SECONDS);
        }
        reader.join(DRAIN.toMillis());
        if (reader.isAlive()) {
            p.getInputStream().close(); // stop reading: some process we could not find keeps the pipe open
            reader.join(1000);
        }
        String text;
        synchronized (out) {
            text = out.toString(StandardCharsets.UTF_8);
        }
        if (done) {
            return new Result(p.exitValue(), text);
        }
        long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
        String sep = text.isEmpty() || text.endsWith("\n") ? "" : "\n";
        return new Result(
                -1, text + sep + "[timed out after " + timeout + " (" + ms + " ms): " + String.join(" ", cmd) + "]\n");
    }

    /** Kills {@code root} and every descendant, deepest first. */
    public static void killTree(ProcessHandle root) {
        // Snapshot the tree with depths before killing anything: a killed parent's children are
        // re-parented and would no longer show up as its descendants.
        Map<Long, Integer> depth = new HashMap<>();
        List<ProcessHandle> all = new ArrayList<>();
        collect(root, 0, depth, all);
        all.sort(
                Comparator.comparingInt((ProcessHandle h) -> depth.get(h.pid())).reversed());
        for (ProcessHandle h : all) {
            h.destroyForcibly();
        }
        // A process that forked while we were killing: one more sweep over what is still there.
        for (ProcessHandle h : all) {
            h.descendants().forEach(ProcessHandle::destroyForcibly);
        }
    }

    private static void collect(ProcessHandle h, int d, Map<Long, Integer> depth, List<ProcessHandle> all) {
        if (depth.putIfAbsent(h.pid(), d) != null) {
            return;
        }
        all.add(h);
        h.children().forEach(c -> collect(c, d + 1, depth, all));
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (out) {
                    out.write(buf, 0, n);
                }
            }
        } catch (IOException e) {
            // the stream was closed after the process ended; keep what was read
        }
    }
}
