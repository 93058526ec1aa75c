package dev.c2w.wasi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The host terminal: which of stdin/stdout/stderr are terminals, and raw mode for a guest console.
 * Uses {@code stty} on the inherited stdin (the JDK has no termios). Raw mode keeps ISIG, so Ctrl-C still
 * stops the runner (as it stops wasmtime upstream); the saved mode comes back on exit, on Ctrl-C and on
 * any other shutdown, through a shutdown hook.
 */
final class Terminal {
    private String saved;
    private Thread hook;

    /** Bit 0: stdin is a terminal, bit 1: stdout, bit 2: stderr. 0 when it cannot tell. */
    static int ttyMask() {
        try {
            Process p = new ProcessBuilder(
                            "sh",
                            "-c",
                            "m=0; test -t 0 && m=$((m+1)); test -t 1 && m=$((m+2)); test -t 2 && m=$((m+4)); exit $m")
                    .inheritIO()
                    .start();
            return p.waitFor();
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /** Puts the terminal on stdin into raw mode (no echo, no line editing, keys pass through, ISIG kept). */
    synchronized void enterRaw() {
        if (saved != null) {
            return;
        }
        String mode = stty("-g");
        if (mode == null || mode.isBlank()) {
            return;
        }
        saved = mode.trim();
        hook = new Thread(this::restore, "terminal-restore");
        Runtime.getRuntime().addShutdownHook(hook);
        stty("raw", "-echo", "isig", "opost");
    }

    /** Restores the mode saved by {@link #enterRaw()}. Idempotent. */
    synchronized void restore() {
        if (saved == null) {
            return;
        }
        stty(saved);
        saved = null;
        if (hook != null && Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already
            }
        }
    }

    private static String stty(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("stty");
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            byte[] out = p.getInputStream().readAllBytes();
            return p.waitFor() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
