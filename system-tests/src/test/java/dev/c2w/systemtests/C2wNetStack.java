package dev.c2w.systemtests;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Our stack: the c2w-net CLI ({@code dev.c2w.cli.C2wNet}) in a child JVM with the
 * test classpath.
 * <pre>
 *   dial:   C2wNet --dns-upstream 127.0.0.1:DNS -p 127.0.0.1:H:80 127.0.0.1:QEMUPORT
 *   listen: C2wNet --listen-qemu tcp://127.0.0.1:QEMUPORT --dns-upstream 127.0.0.1:DNS -p 127.0.0.1:H:80
 * </pre>
 */
final class C2wNetStack extends ChildProcessStack {
    static final GuestProfile PROFILE =
            new GuestProfile("02:00:00:00:00:01", "192.168.127.3", EnumSet.allOf(Mode.class), true, true, true);

    C2wNetStack(Path log) {
        super(log);
    }

    @Override
    public GuestProfile profile() {
        return PROFILE;
    }

    @Override
    public void start(Mode mode, int qemuPort, int dnsPort, List<String> forwards) throws IOException {
        List<String> args = new ArrayList<>();
        if (mode == Mode.LISTEN) {
            args.add("--listen-qemu");
            args.add("tcp://127.0.0.1:" + qemuPort);
        }
        args.add("--dns-upstream");
        args.add("127.0.0.1:" + dnsPort);
        for (String f : forwards) {
            args.add("-p");
            args.add(f);
        }
        if (mode == Mode.DIAL) {
            args.add("127.0.0.1:" + qemuPort);
        }
        startWith(args);
    }

    /** Starts c2w-net with exactly these arguments (for tests that need other flags). */
    void startWith(List<String> args) throws IOException {
        launch(command(args));
    }

    /** The command line that runs the c2w-net CLI with {@code args} in a child JVM with the test classpath. */
    static List<String> command(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        // The test classpath as the test JVM sees it, without empty entries (they mean ".").
        cmd.add(Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.isBlank())
                .collect(Collectors.joining(File.pathSeparator)));
        cmd.add("dev.c2w.cli.C2wNet");
        cmd.addAll(args);
        return cmd;
    }
}
