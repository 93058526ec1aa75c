package dev.c2w.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One-line log format on stderr: {@code 12:00:01.123 INFO  Switch: message}. */
final class Logging {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private Logging() {}

    /**
     * A log line written straight to stderr, for shutdown hooks: java.util.logging resets its handlers in
     * a shutdown hook of its own, which may run first and swallow the line.
     */
    static void direct(String message) {
        System.err.println(LocalTime.now(ZoneId.systemDefault()).format(TIME) + " INFO  c2w-net: " + message);
        System.err.flush();
    }

    static void setup(boolean debug) {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        // A handler of our own: ConsoleHandler.setOutputStream would close System.err.
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (isLoggable(r)) {
                    System.err.print(getFormatter().format(r));
                    System.err.flush();
                }
            }

            @Override
            public void flush() {
                System.err.flush();
            }

            @Override
            public void close() {}
        };
        h.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                String name = r.getLoggerName();
                name = name == null ? "" : name.substring(name.lastIndexOf('.') + 1);
                String lvl = r.getLevel().equals(Level.SEVERE)
                        ? "ERROR"
                        : r.getLevel().equals(Level.WARNING)
                                ? "WARN"
                                : r.getLevel().intValue() >= Level.INFO.intValue() ? "INFO" : "DEBUG";
                StringBuilder sb = new StringBuilder(96);
                sb.append(LocalTime.now(ZoneId.systemDefault()).format(TIME))
                        .append(' ')
                        .append(String.format("%-5s", lvl))
                        .append(' ')
                        .append(name)
                        .append(": ")
                        .append(formatMessage(r))
                        .append('\n');
                if (r.getThrown() != null && debug) {
                    StringWriter sw = new StringWriter();
                    r.getThrown().printStackTrace(new PrintWriter(sw));
                    sb.append(sw);
                }
                return sb.toString();
            }
        });
        Level level = debug ? Level.FINE : Level.INFO;
        h.setLevel(level);
        root.addHandler(h);
        root.setLevel(level);
        Logger.getLogger("io.netty").setLevel(debug ? Level.INFO : Level.WARNING);
    }
}
