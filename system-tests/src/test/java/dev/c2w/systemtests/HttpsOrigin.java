package dev.c2w.systemtests;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The origin servers of the fetch-proxy guest test, on 127.0.0.1 with ephemeral ports.
 *
 * <ul>
 *   <li>HTTPS, with a self-signed certificate for {@link #NAME} made by the JDK's keytool in a
 *       temporary directory ({@link #certificatePem()} is what c2w-net gets as --upstream-ca):
 *       GET /blob (32 MiB of random bytes) and GET /small (1 MiB) with {@link #CUSTOM_HEADERS}
 *       (Set-Cookie twice, a repeated custom header), and POST /sha256, which answers
 *       "sha256 HEX LENGTH" for the request body and echoes the request header X-C2w-Req.</li>
 *   <li>Plain HTTP: GET /hello answers {@link #helloToken()} (for CONNECT tunnels and
 *       absolute-form proxy requests, which carry plain HTTP).</li>
 * </ul>
 */
final class HttpsOrigin implements AutoCloseable {
    static final String NAME = "secure.test";
    static final int BLOB_SIZE = 32 << 20;
    static final int SMALL_SIZE = 1 << 20;
    /** Response headers of /blob and /small as name, value pairs (names as the JDK server writes them). */
    static final List<String[]> CUSTOM_HEADERS = List.of(
            new String[] {"Set-Cookie", "c2w_a=1; Path=/; HttpOnly"},
            new String[] {"Set-Cookie", "c2w_b=two; Path=/blob; Secure"},
            new String[] {"X-C2w-Origin", "secure origin; v=\"1,2\""},
            new String[] {"X-C2w-Multi", "first"},
            new String[] {"X-C2w-Multi", "second"});

    private static final String STORE_PASSWORD = "c2w-test-only";

    private final byte[] blob;
    private final String blobSha256;
    private final String smallSha256;
    private final Path certificatePem;
    private final HttpsServer https;
    private final HttpServer plain;
    private final ExecutorService executor;
    private final String helloToken = "c2w-tunnel-" + UUID.randomUUID();
    private final AtomicInteger helloRequests = new AtomicInteger();
    private final AtomicInteger posts = new AtomicInteger();

    HttpsOrigin(Path dir) throws Exception {
        blob = new byte[BLOB_SIZE];
        new Random(0x0519_c2_4bL).nextBytes(blob);
        blobSha256 = HostPeers.sha256Hex(blob);
        MessageDigest md = GuestImage.sha256();
        md.update(blob, 0, SMALL_SIZE);
        smallSha256 = HexFormat.of().formatHex(md.digest());

        Files.createDirectories(dir);
        Path store = dir.resolve("origin.p12");
        certificatePem = dir.resolve("origin.pem");
        Files.deleteIfExists(store);
        String keytool =
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        GuestImage.run(
                dir,
                120,
                keytool,
                "-genkeypair",
                "-alias",
                "origin",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-sigalg",
                "SHA256withECDSA",
                "-dname",
                "CN=" + NAME,
                "-ext",
                "SAN=dns:" + NAME,
                "-validity",
                "7",
                "-storetype",
                "PKCS12",
                "-keystore",
                store.toString(),
                "-storepass",
                STORE_PASSWORD,
                "-keypass",
                STORE_PASSWORD);
        GuestImage.run(
                dir,
                120,
                keytool,
                "-exportcert",
                "-rfc",
                "-alias",
                "origin",
                "-keystore",
                store.toString(),
                "-storepass",
                STORE_PASSWORD,
                "-file",
                certificatePem.toString());

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, STORE_PASSWORD.toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, STORE_PASSWORD.toCharArray());
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);

        executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "origin-http");
            t.setDaemon(true);
            return t;
        });
        InetAddress lo = InetAddress.getLoopbackAddress();
        https = HttpsServer.create(new InetSocketAddress(lo, 0), 16);
        https.setHttpsConfigurator(new HttpsConfigurator(tls));
        https.createContext("/blob", ex -> serve(ex, BLOB_SIZE));
        https.createContext("/small", ex -> serve(ex, SMALL_SIZE));
        https.createContext("/sha256", this::digest);
        https.setExecutor(executor);
        https.start();

        plain = HttpServer.create(new InetSocketAddress(lo, 0), 16);
        plain.createContext("/hello", this::hello);
        plain.setExecutor(executor);
        plain.start();
    }

    int httpsPort() {
        return https.getAddress().getPort();
    }

    int plainPort() {
        return plain.getAddress().getPort();
    }

    Path certificatePem() {
        return certificatePem;
    }

    String blobSha256() {
        return blobSha256;
    }

    String smallSha256() {
        return smallSha256;
    }

    String helloToken() {
        return helloToken;
    }

    int helloRequests() {
        return helloRequests.get();
    }

    int posts() {
        return posts.get();
    }

    private void serve(HttpExchange ex, int length) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
            for (String[] h : CUSTOM_HEADERS) {
                ex.getResponseHeaders().add(h[0], h[1]);
            }
            ex.sendResponseHeaders(200, length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(blob, 0, length);
            }
        }
    }

    private void digest(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("POST")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            MessageDigest md = GuestImage.sha256();
            long total = 0;
            byte[] buf = new byte[64 << 10];
            try (InputStream in = ex.getRequestBody()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    total += n;
                }
            }
            posts.incrementAndGet();
            String req = ex.getRequestHeaders().getFirst("X-C2w-Req");
            byte[] body = ("sha256 " + HexFormat.of().formatHex(md.digest()) + " " + total + "\n" + "x-c2w-req " + req
                            + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
            ex.getResponseHeaders().set("Content-Type", "text/plain");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private void hello(HttpExchange ex) throws IOException {
        try (ex) {
            helloRequests.incrementAndGet();
            byte[] body = (helloToken + "\n").getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        https.stop(0);
        plain.stop(0);
        executor.shutdownNow();
    }
}
