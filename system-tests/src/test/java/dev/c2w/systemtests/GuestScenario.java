package dev.c2w.systemtests;

import dev.c2w.systemtests.QemuGuest.Nic;
import dev.c2w.systemtests.QemuGuest.Result;
import dev.c2w.systemtests.StackUnderTest.Mode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 2's guest scenario: boots a guest against a {@link StackUnderTest} and checks,
 * from inside the guest, DHCP, DNS through the gateway, a 32 MiB download and upload
 * (sha256 on both sides), a port forward to busybox httpd, a UDP echo round trip and
 * a refused connection. Steps a stack's {@link GuestProfile} rules out are skipped.
 */
final class GuestScenario {
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(240);
    static final Duration TRANSFER_TIMEOUT = Duration.ofSeconds(360);
    static final Duration STEP_TIMEOUT = Duration.ofSeconds(90);

    private static final Pattern SHA_LINE = Pattern.compile("^([0-9a-f]{64})\\s+(\\S+)$", Pattern.MULTILINE);
    private static final Pattern SINK_LINE = Pattern.compile("^sha256 ([0-9a-f]{64}) (\\d+)$", Pattern.MULTILINE);
    private static final Pattern SIZE_LINE = Pattern.compile("^size=(\\d+)$", Pattern.MULTILINE);

    private final StackUnderTest stack;
    private final HostPeers peers;
    private final GuestImage image;
    private final Path logDir;
    private final List<String> done = new ArrayList<>();
    private String step = "start";

    GuestScenario(StackUnderTest stack, HostPeers peers, GuestImage image, Path logDir) {
        this.stack = stack;
        this.peers = peers;
        this.image = image;
        this.logDir = logDir;
    }

    /** Runs the whole scenario; returns the steps that passed (skipped ones are marked). */
    List<String> run(Mode mode, Nic nic) throws Exception {
        GuestProfile profile = stack.profile();
        String name = (mode + "-" + nic).toLowerCase(Locale.ROOT);
        int qemuPort = LoopbackPorts.freePort();
        int forwardPort = LoopbackPorts.freePort();
        List<String> forwards = profile.portForwards() ? List.of("127.0.0.1:" + forwardPort + ":80") : List.of();
        QemuGuest guest = null;
        String step = "start";
        try {
            if (mode == Mode.DIAL) {
                step = "start QEMU (listening)";
                guest = QemuGuest.start(
                        image, nic, profile.mac(), true, qemuPort, logDir.resolve(name + "-console.log"));
                QemuGuest g = guest;
                LoopbackPorts.awaitListening(qemuPort, Duration.ofSeconds(60), g::isAlive, "QEMU");
                step = "start stack (dialing)";
                stack.start(mode, qemuPort, peers.dns().port(), forwards);
            } else {
                step = "start stack (listening)";
                stack.start(mode, qemuPort, peers.dns().port(), forwards);
                LoopbackPorts.awaitListening(qemuPort, Duration.ofSeconds(90), stack::isAlive, "stack");
                step = "start QEMU (connecting)";
                guest = QemuGuest.start(
                        image, nic, profile.mac(), false, qemuPort, logDir.resolve(name + "-console.log"));
            }
            step = "boot";
            String release = guest.awaitReady(BOOT_TIMEOUT);
            done.add("boot " + release);

            step = "steps";
            steps(guest, profile, forwardPort);
            return List.copyOf(done);
        } catch (Exception | AssertionError e) {
            String where = "guest scenario " + name + " failed at step '" + (step.equals("steps") ? this.step : step)
                    + "' after " + done + ": " + e.getMessage();
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

    /**
     * The steps after boot (DHCP, DNS, download, upload, port forward, UDP echo, refused) on a
     * guest that is up; {@code forwardPort} is the host end of the stack's -p 127.0.0.1:H:80.
     * Returns the steps that passed; on failure {@link #step()} names the one that failed.
     */
    List<String> steps(QemuGuest guest, GuestProfile profile, int forwardPort) throws Exception {
        this.step = "dhcp";
        requireStackAlive();
        dhcp(guest, profile);
        if (profile.dnsViaStub()) {
            this.step = "dns";
            dns(guest);
        } else {
            done.add("dns (skipped for this stack)");
        }
        this.step = "download";
        download(guest);
        this.step = "upload";
        upload(guest, profile);
        this.step = "guest httpd / port forward";
        guestHttpd(guest, profile, forwardPort);
        this.step = "udp echo";
        udpEcho(guest);
        this.step = "connection refused";
        refused(guest);
        return List.copyOf(done);
    }

    /** The step that runs (or failed). */
    String step() {
        return step;
    }

    /** The steps that passed so far. */
    List<String> done() {
        return List.copyOf(done);
    }

    private void requireStackAlive() {
        if (!stack.isAlive()) {
            throw new AssertionError("the stack is no longer running");
        }
    }

    private void dhcp(QemuGuest guest, GuestProfile profile) throws IOException, InterruptedException {
        String out = guest.runOk(
                "udhcpc -i eth0 -f -q -n -t 10 -T 3 2>&1; echo \"udhcpc=$?\"\n"
                        + "cat /tmp/dhcp.lease\nip -4 addr show dev eth0\nip -4 route\ncat /etc/resolv.conf\n",
                STEP_TIMEOUT);
        expect(out.contains("udhcpc=0"), "udhcpc got no lease", out);
        expect(out.contains("ip=" + profile.expectedIp() + " "), "lease is not " + profile.expectedIp(), out);
        expect(out.contains("router=" + GuestProfile.GATEWAY), "router is not the gateway", out);
        expect(out.contains("inet " + profile.expectedIp() + "/24"), "eth0 lacks " + profile.expectedIp() + "/24", out);
        expect(out.contains("default via " + GuestProfile.GATEWAY), "no default route via the gateway", out);
        expect(out.contains("nameserver " + GuestProfile.GATEWAY), "DHCP did not name the gateway as DNS server", out);
        done.add("dhcp " + profile.expectedIp());
    }

    private void dns(QemuGuest guest) throws IOException, InterruptedException {
        int before = peers.dns().queriesFor(HostPeers.TEST_NAME);
        Result found = guest.run("nslookup -type=a " + HostPeers.TEST_NAME, STEP_TIMEOUT);
        checkNslookupFound(found, GuestProfile.GATEWAY);
        expect(
                peers.dns().queriesFor(HostPeers.TEST_NAME) > before,
                "the upstream stub never saw the query",
                found.output());
        checkNslookupMissing(guest.run("nslookup -type=a nothere.test", STEP_TIMEOUT), "nothere.test");
        done.add("dns");
    }

    /** busybox nslookup found {@link HostPeers#TEST_NAME} at its address, asking {@code server}. */
    static void checkNslookupFound(Result r, String server) {
        expect(
                r.ok()
                        && r.output().contains("Name:\t" + HostPeers.TEST_NAME)
                        && r.output().contains("Address: " + HostPeers.TEST_NAME_ADDRESS),
                HostPeers.TEST_NAME + " did not resolve to " + HostPeers.TEST_NAME_ADDRESS,
                r.output());
        expect(r.output().contains("Server:\t\t" + server), "the answer did not come from " + server, r.output());
    }

    /** busybox nslookup reported NXDOMAIN for {@code name}. */
    static void checkNslookupMissing(Result r, String name) {
        expect(
                !r.ok() && r.output().contains("can't find " + name + ": NXDOMAIN"),
                name + " should be NXDOMAIN",
                r.output());
    }

    private void download(QemuGuest guest) throws IOException, InterruptedException {
        String url = "http://" + GuestProfile.HOST_ALIAS + ":" + peers.httpPort() + "/blob";
        String out = guest.runOk(
                "set -e\nwget -q -O /tmp/blob " + url + "\nsha256sum /tmp/blob\n"
                        + "echo \"size=$(wc -c < /tmp/blob)\"\nrm -f /tmp/blob\n",
                TRANSFER_TIMEOUT);
        Matcher sha = SHA_LINE.matcher(out);
        Matcher size = SIZE_LINE.matcher(out);
        expect(sha.find() && size.find(), "no sha256/size in the guest's output", out);
        expect(Long.parseLong(size.group(1)) == HostPeers.BLOB_SIZE, "downloaded size differs", out);
        expect(sha.group(1).equals(peers.blobSha256()), "downloaded sha256 differs from " + peers.blobSha256(), out);
        done.add("download 32 MiB");
    }

    private void upload(QemuGuest guest, GuestProfile profile) throws IOException, InterruptedException {
        int before = peers.uploads().size();
        String out = guest.runOk(
                "set -e\ndd if=/dev/urandom of=/tmp/up bs=1048576 count=32 2>/dev/null\n"
                        + "sha256sum /tmp/up\nc2wtool tcpput " + GuestProfile.HOST_ALIAS + " " + peers.uploadPort()
                        + " /tmp/up"
                        + (profile.halfClose() ? " half-close" : "") + "\n"
                        + "rm -f /tmp/up\n",
                TRANSFER_TIMEOUT);
        Matcher sha = SHA_LINE.matcher(out);
        Matcher sink = SINK_LINE.matcher(out);
        expect(sha.find() && sink.find(), "no guest sha256 or sink answer in the output", out);
        String guestSha = sha.group(1);
        expect(
                sink.group(1).equals(guestSha) && Long.parseLong(sink.group(2)) == HostPeers.BLOB_SIZE,
                "the host received something else than the guest sent",
                out);
        List<HostPeers.Upload> uploads = peers.uploads();
        expect(
                uploads.size() > before
                        && uploads.get(uploads.size() - 1).equals(new HostPeers.Upload(HostPeers.BLOB_SIZE, guestSha)),
                "the sink recorded " + uploads,
                out);
        done.add("upload 32 MiB");
    }

    /** Serves a token from busybox httpd in the guest; reads it through the forward if the stack has one. */
    private void guestHttpd(QemuGuest guest, GuestProfile profile, int hostPort)
            throws IOException, InterruptedException {
        String token = "c2w-guest-page-" + UUID.randomUUID();
        String local = guest.runOk(
                "echo " + token + " > /www/index.html\nhttpd -p 80 -h /www\n"
                        + "for i in $(seq 1 20); do netstat -ltn | grep -q ':80 ' && break; sleep 1; done\n"
                        + "wget -q -O - http://127.0.0.1/index.html\n",
                STEP_TIMEOUT);
        expect(local.strip().equals(token), "busybox httpd in the guest does not serve the page", local);
        if (!profile.portForwards()) {
            done.add("guest httpd (forward skipped for this stack)");
            return;
        }
        String reply = HostPeers.httpGet(hostPort, "/index.html");
        expect(reply.equals("200 " + token + "\n"), "the host client read something else through -p", reply);
        done.add("port forward to guest httpd");
    }

    private void udpEcho(QemuGuest guest) throws IOException, InterruptedException {
        int before = peers.udpDatagramsReceived();
        String target = GuestProfile.HOST_ALIAS + " " + peers.udpEchoPort();
        String out = guest.runOk(
                "c2wtool udpecho " + target + " 4 16 && c2wtool udpecho " + target + " 4 1400", STEP_TIMEOUT);
        expect(
                out.contains("udpecho ok 4 x 16 bytes") && out.contains("udpecho ok 4 x 1400 bytes"),
                "UDP echo incomplete",
                out);
        expect(peers.udpDatagramsReceived() - before >= 8, "the host echo server saw too few datagrams", out);
        done.add("udp echo");
    }

    private void refused(QemuGuest guest) throws IOException, InterruptedException {
        // Without a reset nc would wait out its SYN retries; the guest kills it after 30 s.
        Result r = guest.run(
                "nc " + GuestProfile.HOST_ALIAS + " " + peers.closedPort() + " < /dev/null", Duration.ofSeconds(30));
        expect(
                !r.ok() && r.output().contains("Connection refused"),
                "connecting to a closed port did not fail with 'Connection refused' (exit " + r.exitCode() + ")",
                r.output());
        done.add("connection refused");
    }

    private static void expect(boolean condition, String what, String guestOutput) {
        if (!condition) {
            throw new AssertionError(what + "\n--- guest output ---\n" + guestOutput);
        }
    }
}
