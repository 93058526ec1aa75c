package dev.c2w.systemtests;

import java.io.IOException;
import java.util.List;

/**
 * A user-space network stack that a guest's QEMU netdev stream is attached to.
 * The scenario starts it, boots the guest against it, and closes it.
 */
public interface StackUnderTest extends AutoCloseable {
    /** Who opens the QEMU stream connection. */
    enum Mode {
        /** The stack dials QEMU, which listens (-netdev stream,server=on). */
        DIAL,
        /** The stack listens, QEMU connects (-netdev stream,server=off). */
        LISTEN
    }

    /** What the guest may expect from this stack. */
    GuestProfile profile();

    /**
     * Starts the stack. In {@link Mode#DIAL} QEMU is already listening on 127.0.0.1:qemuPort.
     * In {@link Mode#LISTEN} the caller waits for the stack to listen on that port.
     *
     * @param dnsPort  the DNS stub the stack should use as its upstream (127.0.0.1)
     * @param forwards port forwards in -p syntax, e.g. {@code 127.0.0.1:8080:80}
     */
    void start(Mode mode, int qemuPort, int dnsPort, List<String> forwards) throws IOException;

    /** True while the stack's process (if any) is running. */
    boolean isAlive();

    /** A failure-message suffix: the stack's log, or where it is. */
    String describe();

    @Override
    void close();
}
