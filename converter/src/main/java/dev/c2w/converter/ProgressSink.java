package dev.c2w.converter;

import java.util.Locale;

/** Where a conversion reports its steps (the CLI draws bars or prints lines; tests record). */
public interface ProgressSink {
    void info(String msg);

    /** A step with a known total in bytes (-1: unknown) begins. */
    void start(String label, long total);

    /** Bytes done so far in the current step. */
    void update(long done);

    /** The current step ended; {@code note} replaces the byte count in the summary line when given. */
    void done(long done, String note);

    ProgressSink SILENT = new ProgressSink() {
        @Override
        public void info(String msg) {}

        @Override
        public void start(String label, long total) {}

        @Override
        public void update(long done) {}

        @Override
        public void done(long done, String note) {}
    };

    static String bytes(long n) {
        if (n < 1024) return n + " B";
        if (n < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        if (n < 1024L * 1024 * 1024) return String.format(Locale.ROOT, "%.1f MiB", n / 1048576.0);
        return String.format(Locale.ROOT, "%.2f GiB", n / 1073741824.0);
    }
}
