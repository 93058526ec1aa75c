package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host-side pieces of the guest harness, without a guest. */
class HarnessPartsTest {

    private static byte[] query(int id, String name, int qtype) {
        ByteBuffer b = ByteBuffer.allocate(512);
        b.putShort((short) id)
                .putShort((short) 0x0100)
                .putShort((short) 1)
                .putShort((short) 0)
                .putShort((short) 0)
                .putShort((short) 0);
        for (String label : name.split("\\.")) {
            b.put((byte) label.length()).put(label.getBytes(StandardCharsets.US_ASCII));
        }
        b.put((byte) 0).putShort((short) qtype).putShort((short) 1);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    @Test
    void dnsStubAnswersKnownNamesAndRefusesOthers() throws IOException {
        try (DnsStub dns = new DnsStub(Map.of("host.test", "192.168.127.254"));
                DatagramSocket client =
                        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            client.setSoTimeout(5000);
            InetSocketAddress server = new InetSocketAddress(InetAddress.getLoopbackAddress(), dns.port());

            byte[] q = query(0x1234, "Host.Test", 1);
            client.send(new DatagramPacket(q, q.length, server));
            DatagramPacket p = new DatagramPacket(new byte[512], 512);
            client.receive(p);
            ByteBuffer r = ByteBuffer.wrap(p.getData(), 0, p.getLength());
            assertThat(r.getShort(0) & 0xffff).isEqualTo(0x1234);
            assertThat(r.getShort(2) & 0x800f).isEqualTo(0x8000); // response, NOERROR
            assertThat(r.getShort(6)).isEqualTo((short) 1); // one answer
            byte[] addr = new byte[4];
            r.position(p.getLength() - 4);
            r.get(addr);
            assertThat(InetAddress.getByAddress(addr).getHostAddress()).isEqualTo("192.168.127.254");
            assertThat(dns.queriesFor("host.test")).isEqualTo(1);

            q = query(7, "nothere.test", 1);
            client.send(new DatagramPacket(q, q.length, server));
            p = new DatagramPacket(new byte[512], 512);
            client.receive(p);
            r = ByteBuffer.wrap(p.getData(), 0, p.getLength());
            assertThat(r.getShort(2) & 0x000f).isEqualTo(3); // NXDOMAIN
            assertThat(r.getShort(6)).isEqualTo((short) 0);

            q = query(8, "host.test", 28); // AAAA of a known name: empty NOERROR
            client.send(new DatagramPacket(q, q.length, server));
            p = new DatagramPacket(new byte[512], 512);
            client.receive(p);
            r = ByteBuffer.wrap(p.getData(), 0, p.getLength());
            assertThat(r.getShort(2) & 0x000f).isZero();
            assertThat(r.getShort(6)).isZero();
        }
    }

    @Test
    void dnsStubDropsMalformedQueries() throws IOException {
        try (DnsStub dns = new DnsStub(Map.of("host.test", "192.168.127.254"))) {
            assertThat(dns.answer(new byte[5], 5)).isNull();
            byte[] truncated = query(1, "host.test", 1);
            assertThat(dns.answer(truncated, truncated.length - 3)).isNull();
            byte[] response = query(1, "host.test", 1);
            response[2] |= (byte) 0x80;
            assertThat(dns.answer(response, response.length)).isNull();
            byte[] badLabel = query(1, "host.test", 1);
            badLabel[12] = 80;
            assertThat(dns.answer(badLabel, badLabel.length)).isNull();
        }
    }

    /** The scenario's nslookup checks accept what busybox nslookup prints for the stub's answers. */
    @Test
    void scenarioChecksMatchBusyboxNslookupAgainstTheStub() throws Exception {
        try (DnsStub dns = new DnsStub(Map.of(HostPeers.TEST_NAME, HostPeers.TEST_NAME_ADDRESS))) {
            String server = "127.0.0.1:" + dns.port();
            QemuGuest.Result found = nslookup(HostPeers.TEST_NAME, server);
            GuestScenario.checkNslookupFound(found, server);
            assertThat(dns.queriesFor(HostPeers.TEST_NAME)).isEqualTo(1);
            GuestScenario.checkNslookupMissing(nslookup("nothere.test", server), "nothere.test");
            assertThat(dns.malformed()).isZero();
        }
    }

    private static QemuGuest.Result nslookup(String name, String server) throws Exception {
        Process p = new ProcessBuilder("/bin/busybox", "nslookup", "-type=a", name, server)
                .redirectErrorStream(true)
                .start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new QemuGuest.Result(p.exitValue(), out);
    }

    private static String put(int port, byte[] header, byte[] body) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(header);
            out.write(body);
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    @Test
    void uploadSinkHashesExactlyTheAnnouncedBytes() throws IOException {
        try (HostPeers peers = new HostPeers()) {
            byte[] body = new byte[100_000];
            for (int i = 0; i < body.length; i++) {
                body[i] = (byte) (i * 31);
            }
            // The connection stays open after the body: the sink must answer without EOF.
            String reply = put(peers.uploadPort(), "PUT 100000\n".getBytes(StandardCharsets.US_ASCII), body);
            String sha = HostPeers.sha256Hex(body);
            assertThat(reply).isEqualTo("sha256 " + sha + " 100000\n");
            assertThat(peers.uploads()).containsExactly(new HostPeers.Upload(100_000, sha));

            assertThat(put(peers.uploadPort(), "GET /\n".getBytes(StandardCharsets.US_ASCII), new byte[0]))
                    .startsWith("error: bad header");
            assertThat(peers.uploads()).hasSize(1);
        }
    }

    @Test
    void uploadSinkReportsAShortUpload() throws IOException {
        try (HostPeers peers = new HostPeers();
                Socket s = new Socket(InetAddress.getLoopbackAddress(), peers.uploadPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("PUT 10\nabc".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("error: short upload 3 of 10\n");
            assertThat(peers.uploads()).isEmpty();
        }
    }

    @Test
    void httpBlobMatchesItsAdvertisedHash() throws IOException {
        try (HostPeers peers = new HostPeers();
                Socket s = new Socket(InetAddress.getLoopbackAddress(), peers.httpPort())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write("GET /blob HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] all = s.getInputStream().readAllBytes();
            int bodyStart = new String(all, 0, 1024, StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n") + 4;
            assertThat(all.length - bodyStart).isEqualTo(HostPeers.BLOB_SIZE);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.write(all, bodyStart, all.length - bodyStart);
            assertThat(HostPeers.sha256Hex(body.toByteArray())).isEqualTo(peers.blobSha256());
        }
    }

    @Test
    void udpEchoServerEchoes() throws IOException {
        try (HostPeers peers = new HostPeers();
                DatagramSocket client =
                        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            client.setSoTimeout(5000);
            byte[] msg = "ping-1400".getBytes(StandardCharsets.US_ASCII);
            client.send(new DatagramPacket(
                    msg, msg.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), peers.udpEchoPort())));
            DatagramPacket p = new DatagramPacket(new byte[100], 100);
            client.receive(p);
            assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII))
                    .isEqualTo("ping-1400");
            assertThat(peers.udpDatagramsReceived()).isEqualTo(1);
        }
    }

    @Test
    void moduleDependsIsReadFromModinfo() {
        byte[] ko = "\u007fELF....\0license=GPL\0depends=virtio_ring,virtio,net-failover\0vermagic=6.1\0"
                .getBytes(StandardCharsets.ISO_8859_1);
        assertThat(GuestImage.moduleDepends(ko)).containsExactly("virtio_ring", "virtio", "net_failover");
        assertThat(GuestImage.moduleDepends("\0depends=\0".getBytes(StandardCharsets.US_ASCII)))
                .isEmpty();
        assertThat(GuestImage.moduleDepends(new byte[10])).isEmpty();
    }

    @Test
    void newcArchiveIsReadableByCpio() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (NewcArchive cpio = new NewcArchive(bytes)) {
            cpio.directory("bin", 0755);
            cpio.file("bin/hello", 0755, "hello\n".getBytes(StandardCharsets.US_ASCII));
            cpio.symlink("bin/hi", "hello");
            cpio.charDevice("console", 0600, 5, 1);
        }
        byte[] archive = bytes.toByteArray();
        assertThat(archive.length % 512).isZero();
        assertThat(new String(archive, 0, 6, StandardCharsets.US_ASCII)).isEqualTo("070701");
        // busybox (a prerequisite of the guest tests anyway) lists it.
        Process p = new ProcessBuilder("/bin/busybox", "cpio", "-t", "-v")
                .redirectErrorStream(true)
                .start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(archive);
        }
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(listing).isZero();
        assertThat(listing).contains("bin/hello", "bin/hi -> hello", "console");
        assertThat(listing).containsPattern("-rwxr-xr-x\\s.*\\s6 .*bin/hello");
        assertThat(listing).containsPattern("crw-------\\s.*console");
        // busybox does not show device numbers: read console's header (4th entry) directly.
        int pos = 0;
        for (int entry = 0; entry < 3; entry++) {
            int nameSize = Integer.parseInt(new String(archive, pos + 94, 8, StandardCharsets.US_ASCII), 16);
            int fileSize = Integer.parseInt(new String(archive, pos + 54, 8, StandardCharsets.US_ASCII), 16);
            pos = align4(align4(pos + 110 + nameSize) + fileSize);
        }
        assertThat(new String(archive, pos + 110, 7, StandardCharsets.US_ASCII)).isEqualTo("console");
        assertThat(new String(archive, pos + 78, 16, StandardCharsets.US_ASCII)).isEqualTo("0000000500000001");
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    @Test
    void curlFilesAreCurlItsLibrariesAndTheLoader() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "host has no /usr/bin/curl");
        Map<String, Path> files = GuestImage.curlFiles();
        assertThat(files)
                .containsEntry("bin/curl", Path.of("/usr/bin/curl"))
                .containsKeys("lib64/ld-linux-x86-64.so.2");
        assertThat(files.keySet())
                .anyMatch(k -> k.endsWith("/libcurl.so.4"))
                .anyMatch(k -> k.endsWith("/libc.so.6"))
                .noneMatch(k -> k.contains("vdso") || k.startsWith("/"));
        for (Path p : files.values()) {
            assertThat(p).isRegularFile();
        }
    }

    /** The HTTPS origin, checked with the host's curl trusting its self-signed certificate (no proxy). */
    @Test
    void httpsOriginServesBlobHeadersAndDigest(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "host has no /usr/bin/curl");
        try (HttpsOrigin origin = new HttpsOrigin(dir.resolve("origin"))) {
            String base = "https://" + HttpsOrigin.NAME + ":" + origin.httpsPort();
            String resolve = HttpsOrigin.NAME + ":" + origin.httpsPort() + ":127.0.0.1";
            Path headers = dir.resolve("h");
            Path body = dir.resolve("body");
            GuestImage.run(
                    dir,
                    60,
                    "curl",
                    "-sS",
                    "--noproxy",
                    "*",
                    "--cacert",
                    origin.certificatePem().toString(),
                    "--resolve",
                    resolve,
                    "-D",
                    headers.toString(),
                    "-o",
                    body.toString(),
                    base + "/small");
            assertThat(HostPeers.sha256Hex(Files.readAllBytes(body))).isEqualTo(origin.smallSha256());
            List<String> h = FetchProxyGuestTest.finalResponseHeaders(Files.readString(headers));
            assertThat(FetchProxyGuestTest.values(h, "Set-Cookie"))
                    .containsExactly("c2w_a=1; Path=/; HttpOnly", "c2w_b=two; Path=/blob; Secure");
            assertThat(FetchProxyGuestTest.values(h, "X-C2w-Multi")).containsExactly("first", "second");
            assertThat(FetchProxyGuestTest.values(h, "Content-Length")).containsExactly("1048576");

            byte[] post = new byte[100_000];
            new Random(3).nextBytes(post);
            Files.write(body, post);
            String answer = GuestImage.run(
                    dir,
                    60,
                    "curl",
                    "-sS",
                    "--noproxy",
                    "*",
                    "--cacert",
                    origin.certificatePem().toString(),
                    "--resolve",
                    resolve,
                    "-H",
                    "X-C2w-Req: r1",
                    "--data-binary",
                    "@" + body,
                    base + "/sha256");
            assertThat(answer).contains("sha256 " + HostPeers.sha256Hex(post) + " 100000", "x-c2w-req r1");

            String hello = GuestImage.run(
                    dir, 60, "curl", "-sS", "--noproxy", "*", "http://127.0.0.1:" + origin.plainPort() + "/hello");
            assertThat(hello.strip()).isEqualTo(origin.helloToken());
        }
    }

    @Test
    void finalResponseHeadersSkipTheProxysConnectAnswer() {
        String dump = "HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\nSet-cookie: a=1\r\n"
                + "set-cookie: b=2\r\nX-One:  v \r\n\r\n";
        List<String> h = FetchProxyGuestTest.finalResponseHeaders(dump);
        assertThat(h).containsExactly("Set-cookie: a=1", "set-cookie: b=2", "X-One:  v");
        assertThat(FetchProxyGuestTest.values(h, "SET-COOKIE")).containsExactly("a=1", "b=2");
        assertThat(FetchProxyGuestTest.values(h, "X-One")).containsExactly("v");
    }
}
