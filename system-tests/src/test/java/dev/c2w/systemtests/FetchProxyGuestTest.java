package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.systemtests.QemuGuest.Nic;
import dev.c2w.systemtests.QemuGuest.Result;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 4: a real Linux guest uses c2w-net's HTTP(S) proxy at 192.168.127.253:80 with Debian's
 * own curl (the host's /usr/bin/curl and its libraries, see {@link GuestImage#prepareWithCurl}).
 *
 * <p>Host side: {@link HttpsOrigin} (HTTPS with a self-signed certificate for
 * {@code secure.test}, plain HTTP) on 127.0.0.1, and a {@link DnsStub} that resolves
 * {@code secure.test} to 192.168.127.254 (the host's loopback as the guest sees it; the proxy
 * resolves through the same upstream). c2w-net runs as
 * <pre>
 *   C2wNet --listen-qemu tcp://127.0.0.1:P --dns-upstream 127.0.0.1:DNS
 *          --upstream-ca origin.pem --ca-dir TMP/ca [--net-mode fetch]
 * </pre>
 * and its CA comes from {@code c2w-net ca export --ca-dir TMP/ca}, copied into the guest as
 * /tmp/ca.pem. In the guest, with {@code SSL_CERT_FILE=/tmp/ca.pem
 * https_proxy=http://192.168.127.253:80}: a 32 MiB HTTPS download has the origin's sha256 and
 * its response headers (Set-Cookie twice, a repeated custom header) come back intact; the
 * origin's own certificate does not verify what the guest sees (it is the proxy's leaf); an
 * 8 MiB POST arrives intact; a CONNECT tunnel to a plain-HTTP server relays raw bytes, and
 * an absolute-form http_proxy request works, and direct TCP and UDP reach the host too. In
 * fetch mode DHCP and DNS work, a direct TCP connection is refused (RST), UDP to the host is
 * refused (ICMP port unreachable) and reaches nothing, and the proxied HTTPS fetch and the
 * tunnel still work.
 */
@Tag("guest")
class FetchProxyGuestTest {
    private static final String PROXY = "http://192.168.127.253:80";
    private static final String GUEST_MAC = "02:00:00:00:00:01";
    private static final Pattern SHA_LINE = Pattern.compile("^([0-9a-f]{64})\\s+(\\S+)$", Pattern.MULTILINE);
    private static final Pattern POST_LINE = Pattern.compile("^sha256 ([0-9a-f]{64}) (\\d+)$", Pattern.MULTILINE);

    private static GuestImage image;
    private static HttpsOrigin origin;
    private static DnsStub dns;
    private static UdpEcho udp;
    private static Path work;
    private static Path caDir;
    private static String caPem;

    @BeforeAll
    static void prepare() throws Exception {
        String missing = GuestImage.missingCurlPrerequisites();
        assertThat(missing).as("guest test prerequisites (see guest/README.md)").isNull();
        image = GuestImage.prepareWithCurl();
        work = Files.createTempDirectory("c2w-fetch-guest");
        origin = new HttpsOrigin(work.resolve("origin"));
        dns = new DnsStub(Map.of(HttpsOrigin.NAME, GuestProfile.HOST_ALIAS));
        udp = new UdpEcho();
        caDir = work.resolve("ca");
        caPem = exportCa(caDir, Path.of("target", "guest-logs", "c2w-net-fetch", "ca-export.log"));
    }

    @AfterAll
    static void cleanUp() {
        if (origin != null) {
            origin.close();
        }
        if (dns != null) {
            dns.close();
        }
        if (udp != null) {
            udp.close();
        }
        if (work != null) {
            GuestImage.deleteTree(work);
        }
    }

    /** Runs {@code c2w-net ca export --ca-dir DIR} in a child JVM and returns the PEM it prints. */
    static String exportCa(Path dir, Path log) throws IOException, InterruptedException {
        Files.createDirectories(log.toAbsolutePath().getParent());
        Process p = new ProcessBuilder(C2wNetStack.command(List.of("ca", "export", "--ca-dir", dir.toString())))
                .redirectError(ProcessBuilder.Redirect.to(log.toFile()))
                .start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS))
                .as("c2w-net ca export finished")
                .isTrue();
        String pem = new String(out, StandardCharsets.US_ASCII);
        assertThat(p.exitValue())
                .as("c2w-net ca export exit status; stderr in " + log)
                .isZero();
        assertThat(pem).startsWith("-----BEGIN CERTIFICATE-----").contains("-----END CERTIFICATE-----");
        assertThat(dir.resolve("ca.crt")).exists();
        return pem;
    }

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void guestCurlThroughMitmProxy() throws Exception {
        withGuest("full", false, s -> {
            s.dhcp();
            s.installCa();
            s.httpsDownload("/blob", HttpsOrigin.BLOB_SIZE, origin.blobSha256(), true);
            s.originCertificateIsNotWhatTheGuestSees();
            s.httpsPost();
            s.connectTunnel();
            s.absoluteFormProxy();
            s.directPathsWork();
        });
    }

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void fetchModeOffersOnlyTheProxy() throws Exception {
        withGuest("fetch", true, s -> {
            s.dhcp();
            s.dns();
            s.directConnectionRefused();
            s.udpNotRelayed();
            s.installCa();
            s.httpsDownload("/small", HttpsOrigin.SMALL_SIZE, origin.smallSha256(), true);
            s.connectTunnel();
        });
    }

    interface Body {
        void run(Steps s) throws Exception;
    }

    private void withGuest(String name, boolean fetchMode, Body body) throws Exception {
        Path logs = Path.of("target", "guest-logs", "c2w-net-fetch");
        C2wNetStack stack = new C2wNetStack(logs.resolve(name + "-stack.log"));
        int qemuPort = LoopbackPorts.freePort();
        QemuGuest guest = null;
        Steps steps = null;
        String step = "start c2w-net";
        try {
            List<String> args = new ArrayList<>(List.of(
                    "--listen-qemu",
                    "tcp://127.0.0.1:" + qemuPort,
                    "--dns-upstream",
                    "127.0.0.1:" + dns.port(),
                    "--upstream-ca",
                    origin.certificatePem().toString(),
                    "--ca-dir",
                    caDir.toString()));
            if (fetchMode) {
                args.add("--net-mode");
                args.add("fetch");
            }
            stack.startWith(args);
            LoopbackPorts.awaitListening(qemuPort, Duration.ofSeconds(90), stack::isAlive, "c2w-net");
            step = "start QEMU";
            guest = QemuGuest.start(image, Nic.VIRTIO, GUEST_MAC, false, qemuPort, logs.resolve(name + "-console.log"));
            step = "boot";
            String release = guest.awaitReady(GuestScenario.BOOT_TIMEOUT);
            steps = new Steps(guest, stack);
            steps.done.add("boot " + release);
            step = "steps";
            body.run(steps);
            System.err.println("fetch-proxy guest (" + name + "): " + steps.done);
        } catch (Exception | AssertionError e) {
            String where = "fetch-proxy guest test (" + name + ") failed at step '"
                    + (steps != null ? steps.step : step) + "' after " + (steps != null ? steps.done : List.of())
                    + ": " + e.getMessage();
            if (guest != null && (e.getMessage() == null || !e.getMessage().contains("--- console log"))) {
                where += guest.describe();
            }
            throw new AssertionError(where + stack.describe(), e);
        } finally {
            if (guest != null) {
                guest.close();
            }
            stack.close();
        }
    }

    /** The guest-side steps; each records itself in {@link #done}. */
    static final class Steps {
        final QemuGuest guest;
        final C2wNetStack stack;
        final List<String> done = new ArrayList<>();
        String step = "";

        Steps(QemuGuest guest, C2wNetStack stack) {
            this.guest = guest;
            this.stack = stack;
        }

        private String url(String path) {
            return "https://" + HttpsOrigin.NAME + ":" + origin.httpsPort() + path;
        }

        void dhcp() throws Exception {
            step = "dhcp";
            expect(stack.isAlive(), "c2w-net is not running", "");
            String out = guest.runOk(
                    "udhcpc -i eth0 -f -q -n -t 10 -T 3 2>&1; echo \"udhcpc=$?\"\n"
                            + "ip -4 addr show dev eth0\nip -4 route\n",
                    GuestScenario.STEP_TIMEOUT);
            expect(out.contains("udhcpc=0"), "udhcpc got no lease", out);
            expect(out.contains("inet 192.168.127.3/24"), "eth0 lacks 192.168.127.3/24", out);
            expect(out.contains("default via " + GuestProfile.GATEWAY), "no default route via the gateway", out);
            done.add("dhcp 192.168.127.3");
        }

        void dns() throws Exception {
            step = "dns";
            int before = dns.queriesFor(HttpsOrigin.NAME);
            Result r = guest.run("nslookup -type=a " + HttpsOrigin.NAME, GuestScenario.STEP_TIMEOUT);
            expect(
                    r.ok() && r.output().contains("Address: " + GuestProfile.HOST_ALIAS),
                    HttpsOrigin.NAME + " did not resolve to " + GuestProfile.HOST_ALIAS,
                    r.output());
            expect(dns.queriesFor(HttpsOrigin.NAME) > before, "the upstream stub never saw the query", r.output());
            done.add("dns");
        }

        /** Writes the exported CA (and, for the negative check, the origin's own certificate) into the guest. */
        void installCa() throws Exception {
            step = "install CA, curl runs";
            String originPem = Files.readString(origin.certificatePem(), StandardCharsets.US_ASCII);
            String out = guest.runOk(
                    "set -e\ncat > /tmp/ca.pem <<'PEM_EOF'\n" + caPem.strip() + "\nPEM_EOF\n"
                            + "cat > /tmp/origin.pem <<'PEM_EOF'\n" + originPem.strip() + "\nPEM_EOF\n"
                            + "sha256sum /tmp/ca.pem\ncurl --version\n",
                    GuestScenario.STEP_TIMEOUT);
            Matcher sha = SHA_LINE.matcher(out);
            String expected = HostPeers.sha256Hex((caPem.strip() + "\n").getBytes(StandardCharsets.US_ASCII));
            expect(sha.find() && sha.group(1).equals(expected), "/tmp/ca.pem differs from the exported CA", out);
            expect(out.contains("curl ") && out.contains("libcurl/"), "Debian's curl does not run in the guest", out);
            done.add("CA installed, "
                    + out.lines().filter(l -> l.startsWith("curl ")).findFirst().orElse("curl"));
        }

        void httpsDownload(String path, int size, String sha256, boolean checkHeaders) throws Exception {
            step = "https GET " + path + " via the proxy";
            String out = guest.runOk(
                    "export SSL_CERT_FILE=/tmp/ca.pem https_proxy=" + PROXY + "\n"
                            + "rm -f /tmp/h /tmp/dl\n"
                            + "curl -sS -D /tmp/h -o /tmp/dl -w 'code=%{http_code} size=%{size_download}\\n' "
                            + url(path) + "\necho \"curl=$?\"\n"
                            + "sha256sum /tmp/dl\nrm -f /tmp/dl\necho '--- headers'\ncat /tmp/h\n",
                    GuestScenario.TRANSFER_TIMEOUT);
            expect(out.contains("curl=0"), "curl failed", out);
            expect(
                    out.toLowerCase(Locale.ROOT).contains("200 connection established"),
                    "curl did not go through the proxy's CONNECT",
                    out);
            expect(out.contains("code=200 size=" + size), "not a 200 with " + size + " bytes", out);
            Matcher sha = SHA_LINE.matcher(out);
            expect(sha.find() && sha.group(1).equals(sha256), "the sha256 differs from the origin's " + sha256, out);
            done.add("https GET " + path + " sha256 ok");
            if (!checkHeaders) {
                return;
            }
            step = "response headers of " + path;
            List<String> headers = finalResponseHeaders(out.substring(out.indexOf("--- headers")));
            for (String name : List.of("Set-Cookie", "X-C2w-Multi")) {
                List<String> want = HttpsOrigin.CUSTOM_HEADERS.stream()
                        .filter(h -> h[0].equals(name))
                        .map(h -> h[1])
                        .toList();
                expect(values(headers, name).equals(want), name + " should be " + want + " (in order)", out);
            }
            expect(
                    values(headers, "X-C2w-Origin").equals(List.of("secure origin; v=\"1,2\"")),
                    "X-C2w-Origin changed",
                    out);
            expect(
                    values(headers, "Content-Length").equals(List.of(String.valueOf(size))),
                    "Content-Length should be " + size,
                    out);
            done.add("response headers intact");
        }

        /** With only the origin's self-signed certificate trusted, the guest must not accept what it gets. */
        void originCertificateIsNotWhatTheGuestSees() throws Exception {
            step = "the guest sees the proxy's certificate";
            String out = guest.runOk(
                    "export https_proxy=" + PROXY + "\n"
                            + "curl -sS --cacert /tmp/origin.pem -o /dev/null " + url("/small") + " 2>&1\n"
                            + "echo \"curl=$?\"\n",
                    GuestScenario.STEP_TIMEOUT);
            expect(out.contains("curl=60"), "curl should fail certificate verification (exit 60)", out);
            done.add("origin certificate not seen by the guest");
        }

        void httpsPost() throws Exception {
            step = "https POST 8 MiB via the proxy";
            int before = origin.posts();
            String token = "req-" + UUID.randomUUID();
            String out = guest.runOk(
                    "export SSL_CERT_FILE=/tmp/ca.pem https_proxy=" + PROXY + "\n"
                            + "dd if=/dev/urandom of=/tmp/post bs=1048576 count=8 2>/dev/null\nsha256sum /tmp/post\n"
                            + "curl -sS -H 'Content-Type: application/octet-stream' -H 'X-C2w-Req: " + token + "' "
                            + "--data-binary @/tmp/post " + url("/sha256") + "\necho \"curl=$?\"\nrm -f /tmp/post\n",
                    GuestScenario.TRANSFER_TIMEOUT);
            Matcher sha = SHA_LINE.matcher(out);
            Matcher post = POST_LINE.matcher(out);
            expect(out.contains("curl=0"), "curl failed", out);
            expect(sha.find() && post.find(), "no guest sha256 or origin answer", out);
            expect(
                    post.group(1).equals(sha.group(1)) && Long.parseLong(post.group(2)) == (8 << 20),
                    "the origin received something else than the guest sent",
                    out);
            expect(out.contains("x-c2w-req " + token), "the request header did not arrive intact", out);
            expect(origin.posts() > before, "the origin saw no POST", out);
            done.add("https POST 8 MiB sha256 ok");
        }

        /** curl --proxytunnel: CONNECT, then plain HTTP inside, which the proxy must relay as raw bytes. */
        void connectTunnel() throws Exception {
            step = "plain-TCP CONNECT tunnel";
            int before = origin.helloRequests();
            String out = guest.runOk(
                    "curl -sS -D /tmp/th --proxytunnel -x " + PROXY + " http://"
                            + GuestProfile.HOST_ALIAS + ":" + origin.plainPort() + "/hello\necho \"curl=$?\"\n"
                            + "echo '--- headers'\ncat /tmp/th\n",
                    GuestScenario.STEP_TIMEOUT);
            expect(out.contains("curl=0") && out.contains(origin.helloToken()), "no answer through the tunnel", out);
            expect(
                    out.toLowerCase(Locale.ROOT).contains("200 connection established"),
                    "the proxy did not establish a tunnel",
                    out);
            expect(origin.helloRequests() > before, "the plain origin saw no request", out);
            done.add("CONNECT tunnel (plain TCP)");
        }

        /** http_proxy: an absolute-form GET through the proxy; the name resolves through the upstream stub. */
        void absoluteFormProxy() throws Exception {
            step = "absolute-form http_proxy request";
            int before = origin.helloRequests();
            String out = guest.runOk(
                    "http_proxy=" + PROXY + " curl -sS http://" + HttpsOrigin.NAME + ":" + origin.plainPort()
                            + "/hello\necho \"curl=$?\"\n",
                    GuestScenario.STEP_TIMEOUT);
            expect(out.contains("curl=0") && out.contains(origin.helloToken()), "no answer via http_proxy", out);
            expect(origin.helloRequests() > before, "the plain origin saw no request", out);
            done.add("http_proxy GET");
        }

        /** In full mode the guest also reaches the host directly (the contrast to fetch mode). */
        void directPathsWork() throws Exception {
            step = "direct TCP and UDP (full mode)";
            int before = origin.helloRequests();
            int udpBefore = udp.received();
            String out = guest.runOk(
                    "printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' | nc " + GuestProfile.HOST_ALIAS + " "
                            + origin.plainPort() + "\nc2wtool udpecho " + GuestProfile.HOST_ALIAS + " " + udp.port()
                            + " 2 100\n",
                    GuestScenario.STEP_TIMEOUT);
            expect(
                    out.contains(origin.helloToken()) && origin.helloRequests() > before,
                    "no direct TCP connection to the host",
                    out);
            expect(out.contains("udpecho ok 2 x 100 bytes") && udp.received() > udpBefore, "no direct UDP", out);
            done.add("direct TCP and UDP");
        }

        /** In fetch mode UDP to the host is answered with ICMP port unreachable, and nothing arrives. */
        void udpNotRelayed() throws Exception {
            step = "UDP not relayed";
            int before = udp.received();
            Result r = guest.run(
                    "c2wtool udpecho " + GuestProfile.HOST_ALIAS + " " + udp.port() + " 1 100",
                    GuestScenario.STEP_TIMEOUT);
            expect(
                    !r.ok() && r.output().contains("Connection refused"),
                    "UDP to the host should be refused (exit " + r.exitCode() + ")",
                    r.output());
            expect(udp.received() == before, "the host's UDP echo got a datagram", r.output());
            done.add("UDP not relayed");
        }

        /** In fetch mode a TCP connection that does not go through the proxy is refused. */
        void directConnectionRefused() throws Exception {
            step = "direct connection refused";
            int before = origin.helloRequests();
            Result r = guest.run(
                    "nc " + GuestProfile.HOST_ALIAS + " " + origin.plainPort() + " < /dev/null",
                    Duration.ofSeconds(30));
            expect(
                    !r.ok() && r.output().contains("Connection refused"),
                    "a direct connection should fail with 'Connection refused' (exit " + r.exitCode() + ")",
                    r.output());
            expect(origin.helloRequests() == before, "the origin saw a request", r.output());
            done.add("direct connection refused");
        }
    }

    /** A UDP echo server on 127.0.0.1 that counts what it receives. */
    static final class UdpEcho implements AutoCloseable {
        private final DatagramSocket socket;
        private final AtomicInteger received = new AtomicInteger();
        private final Thread thread;

        UdpEcho() throws IOException {
            socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            thread = new Thread(this::serve, "fetch-test-udp-echo");
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        int received() {
            return received.get();
        }

        private void serve() {
            byte[] buf = new byte[2048];
            while (!socket.isClosed()) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                    received.incrementAndGet();
                    socket.send(new DatagramPacket(buf, p.getLength(), p.getSocketAddress()));
                } catch (IOException e) {
                    if (socket.isClosed()) {
                        return;
                    }
                }
            }
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    /** The header lines of the last response in curl's -D output (after the proxy's CONNECT answer). */
    static List<String> finalResponseHeaders(String dump) {
        List<String> lines = dump.lines().map(String::strip).toList();
        int start = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("HTTP/")) {
                start = i;
            }
        }
        List<String> headers = new ArrayList<>();
        for (int i = start + 1; i < lines.size() && !lines.get(i).isEmpty(); i++) {
            headers.add(lines.get(i));
        }
        return headers;
    }

    /** The values of header {@code name} (case-insensitive), in order. */
    static List<String> values(List<String> headers, String name) {
        String prefix = name.toLowerCase(Locale.ROOT) + ":";
        return headers.stream()
                .filter(h -> h.toLowerCase(Locale.ROOT).startsWith(prefix))
                .map(h -> h.substring(prefix.length()).strip())
                .toList();
    }

    private static void expect(boolean condition, String what, String guestOutput) {
        if (!condition) {
            throw new AssertionError(what + "\n--- guest output ---\n" + guestOutput);
        }
    }
}
