package dev.c2w.converter.cli;

import dev.c2w.converter.ProgressSink;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a conversion on stderr: a redrawn bar per step on a terminal, a plain line at the start
 * and end of each step otherwise (logs, CI), nothing but errors with {@code --quiet}.
 */
final class Progress implements ProgressSink {
    enum Mode {
        BAR,
        LINES,
        QUIET
    }

    private final PrintStream err;
    private final Mode mode;
    private String label = "";
    private long total = -1;
    private long lastDraw;
    private final long started = System.nanoTime();

    Progress(PrintStream err, Mode mode) {
        this.err = err;
        this.mode = mode;
    }

    static Mode detect(boolean quiet) {
        if (quiet) return Mode.QUIET;
        String term = System.getenv("TERM");
        @SuppressWarnings("SystemConsoleNull") // Java 17: console() is null when stdin or stdout is not a terminal
        boolean tty = System.console() != null && term != null && !term.equals("dumb");
        return tty ? Mode.BAR : Mode.LINES;
    }

    /** A message line (not a step). */
    @Override
    public void info(String msg) {
        if (mode == Mode.QUIET) return;
        err.println(msg);
    }

    @Override
    public void start(String label, long total) {
        this.label = label;
        this.total = total;
        this.lastDraw = 0;
        if (mode == Mode.LINES) err.println(label + (total > 0 ? " (" + bytes(total) + ")" : "") + " ...");
        else if (mode == Mode.BAR) draw(0);
    }

    @Override
    public void update(long done) {
        if (mode != Mode.BAR) return;
        long now = System.nanoTime();
        if (now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        draw(done);
    }

    @Override
    public void done(long done, String note) {
        if (mode == Mode.QUIET) return;
        if (mode == Mode.BAR) {
            draw(done);
            err.print("\r\033[K");
        }
        err.println(label + ": " + (note != null ? note : bytes(done)));
    }

    private void draw(long done) {
        int width = 30;
        StringBuilder sb = new StringBuilder("\r\033[K");
        String l = label.length() > 40 ? label.substring(0, 39) + "…" : label;
        sb.append(String.format(Locale.ROOT, "%-40s ", l));
        if (total > 0) {
            int fill = (int) Math.min(width, done * width / total);
            sb.append('[')
                    .append("#".repeat(fill))
                    .append(" ".repeat(width - fill))
                    .append("] ");
            sb.append(bytes(done)).append(" / ").append(bytes(total));
        } else {
            sb.append(bytes(done));
        }
        err.print(sb);
        err.flush();
    }

    double seconds() {
        return (System.nanoTime() - started) / 1e9;
    }

    static String bytes(long n) {
        return ProgressSink.bytes(n);
    }
}
