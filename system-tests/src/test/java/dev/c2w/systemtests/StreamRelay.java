package dev.c2w.systemtests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * Joins two TCP connections byte for byte. Used to put a listen-only peer stack (gvproxy)
 * behind a dialing adapter, so the harness's "stack dials QEMU" path (QEMU server=on) can be
 * validated too: both sides speak the same length-prefixed frame stream, so relaying bytes
 * preserves it.
 */
final class StreamRelay implements AutoCloseable {
    private final Socket a;
    private final Socket b;

    /** Connects to 127.0.0.1:portA, then to 127.0.0.1:portB, and starts relaying. */
    StreamRelay(int portA, int portB) throws IOException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        a = new Socket();
        a.connect(new InetSocketAddress(lo, portA), 10_000);
        b = new Socket();
        try {
            b.connect(new InetSocketAddress(lo, portB), 10_000);
        } catch (IOException e) {
            a.close();
            throw e;
        }
        a.setTcpNoDelay(true);
        b.setTcpNoDelay(true);
        pump(a, b, "relay-a-to-b");
        pump(b, a, "relay-b-to-a");
    }

    private void pump(Socket from, Socket to, String name) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        Thread t = new Thread(
                () -> {
                    byte[] buf = new byte[64 << 10];
                    try {
                        int n;
                        while ((n = in.read(buf)) > 0) {
                            out.write(buf, 0, n);
                        }
                    } catch (IOException e) {
                        // one side went away
                    }
                    close();
                },
                name);
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        try {
            a.close();
        } catch (IOException e) {
            // already closed
        }
        try {
            b.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
