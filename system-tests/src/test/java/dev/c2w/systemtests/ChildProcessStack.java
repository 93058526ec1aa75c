package dev.c2w.systemtests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Base for stacks that run as a child process logging to a file. */
abstract class ChildProcessStack implements StackUnderTest {
    private final Path log;
    private Process process;

    ChildProcessStack(Path log) {
        this.log = log;
    }

    protected void launch(List<String> command) throws IOException {
        Files.createDirectories(log.toAbsolutePath().getParent());
        Files.writeString(log, "# " + String.join(" ", command) + "\n");
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
    }

    @Override
    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder("\n--- stack log " + log.toAbsolutePath());
        if (process != null && !process.isAlive()) {
            sb.append(" (exited with ").append(process.exitValue()).append(')');
        }
        sb.append(" (tail) ---\n");
        try {
            String text = Files.readString(log, StandardCharsets.UTF_8);
            sb.append(text.length() > 6000 ? text.substring(text.length() - 6000) : text);
        } catch (IOException e) {
            sb.append("(unreadable: ").append(e.getMessage()).append(')');
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
