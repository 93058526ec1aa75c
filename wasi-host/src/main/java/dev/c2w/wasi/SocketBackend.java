package dev.c2w.wasi;

/**
 * Where the guest's listening socket leads: the WASI host knows sockets only through this interface, so it
 * runs without a network stack (the CLI plugs in its in-process link to the virtual network).
 *
 * <p>Each connection carries the QEMU stream (4-byte length + Ethernet frame) in both directions, as the
 * guest's {@code --net=socket} expects. Calls come from the guest's thread; the back-end signals the
 * {@link Waker} it was opened with when the connection becomes readable, writable or closed.
 */
public interface SocketBackend {
    /** Opens the connection for the socket the guest accepted; throws when the back-end has shut down. */
    Connection open(Waker waker);

    /** One accepted connection, used from the guest's thread. */
    interface Connection extends AutoCloseable {
        /** Takes up to {@code len} bytes of the guest's stream; the count taken (0: full for now). */
        int send(byte[] src, int off, int len);

        /** Copies up to {@code len} bytes for the guest; 0 when nothing is queued, -1 once closed and drained. */
        int recv(byte[] dst, int off, int len);

        /** Whether recv would return something now (data, or the end). */
        boolean readable();

        /** Whether send would take bytes now. */
        boolean writable();

        /** Bytes queued for the guest. */
        int queuedForGuest();

        /** Whether the connection ended (closed here or by the other side). */
        boolean isClosed();

        @Override
        void close();
    }
}
