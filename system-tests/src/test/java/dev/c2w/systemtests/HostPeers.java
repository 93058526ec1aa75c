package dev.c2w.systemtests;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The host side of the guest scenario, all on 127.0.0.1 with ephemeral ports: an HTTP
 * server with a 32 MiB random blob (GET /blob), a raw TCP upload sink that answers with
 * the sha256 of what it received (busybox wget posts only up to the first NUL byte, so the
 * guest uploads with c2wtool tcpput), a UDP echo server, the DNS stub, a port
 * known to be closed, and a client for the guest's forwarded HTTP server.
 */
final class HostPeers implements AutoCloseable {
    static final int BLOB_SIZE = 32 << 20;
    static final String TEST_NAME = "host.test";
    static final String TEST_NAME_ADDRESS = "192.168.127.254";

    /** One upload as the host saw it. */
    record Upload(long length, String sha256) {}

    private final byte[] blob;
    private final String blobSha256;
    private final HttpServer http;
    private final ExecutorService httpExecutor;
    private final List<Upload> uploads = new CopyOnWriteArrayList<>();
    private final ServerSocket uploadServer;
    private final Thread uploadThread;
    private final AtomicInteger uploadErrors = new AtomicInteger();
    private final DatagramSocket udpEcho;
    private final Thread udpThread;
    private final AtomicInteger udpDatagrams = new AtomicInteger();
    private final DnsStub dns;
    private final int closedPort;

    HostPeers() throws IOException {
        blob = new byte[BLOB_SIZE];
        new Random(0x5eed_c2_37L).nextBytes(blob);
        blobSha256 = sha256Hex(blob);

        InetAddress lo = InetAddress.getLoopbackAddress();
        http = HttpServer.create(new InetSocketAddress(lo, 0), 16);
        http.createContext("/blob", this::serveBlob);
        httpExecutor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "host-http");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(httpExecutor);
        http.start();

        uploadServer = new ServerSocket(0, 16, lo);
        uploadThread = new Thread(this::acceptUploads, "host-upload");
        uploadThread.setDaemon(true);
        uploadThread.start();

        udpEcho = new DatagramSocket(new InetSocketAddress(lo, 0));
        udpThread = new Thread(this::echo, "host-udp-echo");
        udpThread.setDaemon(true);
        udpThread.start();

        dns = new DnsStub(Map.of(TEST_NAME, TEST_NAME_ADDRESS));

        try (ServerSocket s = new ServerSocket(0, 1, lo)) {
            closedPort = s.getLocalPort();
        }
    }

    int httpPort() {
        return http.getAddress().getPort();
    }

    /** Raw TCP upload sink port. */
    int uploadPort() {
        return uploadServer.getLocalPort();
    }

    int udpEchoPort() {
        return udpEcho.getLocalPort();
    }

    int udpDatagramsReceived() {
        return udpDatagrams.get();
    }

    DnsStub dns() {
        return dns;
    }

    /** A loopback TCP port nothing listens on (it was bound and released). */
    int closedPort() {
        return closedPort;
    }

    String blobSha256() {
        return blobSha256;
    }

    List<Upload> uploads() {
        return List.copyOf(uploads);
    }

    private void serveBlob(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
            ex.sendResponseHeaders(200, blob.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(blob);
            }
        }
    }

    /** Upload sink: reads a connection to EOF, answers "sha256 HEX LENGTH" and closes. */
    private void acceptUploads() {
        while (!uploadServer.isClosed()) {
            Socket conn;
            try {
                conn = uploadServer.accept();
            } catch (IOException e) {
                return; // closed
            }
            Thread t = new Thread(() -> receiveUpload(conn), "host-upload-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    /**
     * One upload: a line "PUT <length>", then exactly that many bytes. The answer is
     * "sha256 <hex> <length>" (or "error ..."), then the sink closes the connection.
     */
    private void receiveUpload(Socket conn) {
        try (conn) {
            conn.setSoTimeout(300_000);
            InputStream in = conn.getInputStream();
            OutputStream out = conn.getOutputStream();
            StringBuilder header = new StringBuilder();
            int c;
            while ((c = in.read()) != '\n') {
                if (c < 0 || header.length() > 40) {
                    uploadErrors.incrementAndGet();
                    out.write("error: no PUT header\n".getBytes(StandardCharsets.US_ASCII));
                    return;
                }
                header.append((char) c);
            }
            long expected;
            try {
                if (!header.toString().startsWith("PUT ")) {
                    throw new NumberFormatException(header.toString());
                }
                expected = Long.parseLong(header.substring(4).strip());
            } catch (NumberFormatException e) {
                uploadErrors.incrementAndGet();
                out.write(("error: bad header " + header + "\n").getBytes(StandardCharsets.US_ASCII));
                return;
            }
            MessageDigest md = GuestImage.sha256();
            long total = 0;
            byte[] buf = new byte[64 << 10];
            while (total < expected) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, expected - total));
                if (n < 0) {
                    break;
                }
                md.update(buf, 0, n);
                total += n;
            }
            if (total < expected) {
                uploadErrors.incrementAndGet();
                out.write(("error: short upload " + total + " of " + expected + "\n")
                        .getBytes(StandardCharsets.US_ASCII));
                return;
            }
            String hex = HexFormat.of().formatHex(md.digest());
            uploads.add(new Upload(total, hex));
            out.write(("sha256 " + hex + " " + total + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException e) {
            uploadErrors.incrementAndGet();
        }
    }

    private void echo() {
        byte[] buf = new byte[65536];
        while (!udpEcho.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                udpEcho.receive(p);
                udpDatagrams.incrementAndGet();
                udpEcho.send(new DatagramPacket(buf, p.getLength(), p.getSocketAddress()));
            } catch (SocketException e) {
                return; // closed
            } catch (IOException e) {
                // one bad datagram does not stop the server
            }
        }
    }

    /** GET http://127.0.0.1:port/path with bounded timeouts; returns status line code and body. */
    static String httpGet(int port, String path) throws IOException {
        URL url = new URL("http", "127.0.0.1", port, path);
        HttpURLConnection c = (HttpURLConnection) url.openConnection(Proxy.NO_PROXY);
        c.setConnectTimeout(10_000);
        c.setReadTimeout(30_000);
        c.setUseCaches(false);
        try {
            int code = c.getResponseCode();
            InputStream body = code >= 400 ? c.getErrorStream() : c.getInputStream();
            String text = body == null ? "" : new String(body.readAllBytes(), StandardCharsets.UTF_8);
            return code + " " + text;
        } finally {
            c.disconnect();
        }
    }

    static String sha256Hex(byte[] data) {
        return HexFormat.of().formatHex(GuestImage.sha256().digest(data));
    }

    @Override
    public void close() {
        http.stop(0);
        try {
            uploadServer.close();
        } catch (IOException e) {
            // already closed
        }
        httpExecutor.shutdownNow();
        udpEcho.close();
        dns.close();
    }
}
