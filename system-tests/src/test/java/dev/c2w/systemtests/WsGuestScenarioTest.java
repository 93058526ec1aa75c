package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.systemtests.QemuGuest.Nic;
import dev.c2w.systemtests.StackUnderTest.Mode;
import dev.c2w.testkit.WsGuestBridge;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 3: the real-guest scenario of issue 2 with the guest's QEMU stream carried over a
 * WebSocket, as the browser page carries it.
 *
 * <pre>
 *   QEMU (-netdev stream,server=on) &lt;-TCP-&gt; WsGuestBridge &lt;-ws://127.0.0.1:W/, 'binary'-&gt;
 *       c2w-net --dns-upstream 127.0.0.1:DNS -p 127.0.0.1:H:80 --listen-ws 127.0.0.1:W
 * </pre>
 * The bridge (netstack's test utility) offers the subprotocol {@code binary}, cuts the
 * guest's bytes into messages at random points (many of 1-3 bytes, so cuts fall inside
 * the 4-byte length prefixes) and checks that every message from c2w-net is exactly one
 * length-prefixed frame. The NIC gets a random locally administered MAC like the page
 * gives its guest; in WebSocket mode every connection has its own network and its first
 * guest gets 192.168.127.3 whatever its MAC, which DHCP and the -p forward check.
 */
@Tag("guest")
class WsGuestScenarioTest extends GuestTestBase {

    /** 02:xx:xx:xx:xx:xx (locally administered, unicast), never c2w-net's default --mac. */
    static String randomMac() {
        SecureRandom rnd = new SecureRandom();
        while (true) {
            StringBuilder sb = new StringBuilder("02");
            for (int i = 0; i < 5; i++) {
                sb.append(String.format(Locale.ROOT, ":%02x", rnd.nextInt(256)));
            }
            String mac = sb.toString();
            if (!mac.equals(C2wNetStack.PROFILE.mac())) {
                return mac;
            }
        }
    }

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void guestOverWebSocketReachesHost() throws Exception {
        Path logs = Path.of("target", "guest-logs", "c2w-net-ws");
        String mac = randomMac();
        GuestProfile profile = new GuestProfile(mac, "192.168.127.3", EnumSet.of(Mode.DIAL), true, true, true);
        C2wNetStack stack = new C2wNetStack(logs.resolve("virtio-stack.log"));
        GuestScenario scenario = new GuestScenario(stack, peers, image, logs);
        int wsPort = LoopbackPorts.freePort();
        int qemuPort = LoopbackPorts.freePort();
        int forwardPort = LoopbackPorts.freePort();
        // The bridge's cuts come from this seed; -Dc2w.ws.seed=N replays a failed run's cuts.
        WsGuestBridge.Options options = WsGuestBridge.Options.defaults();
        String seed = System.getProperty("c2w.ws.seed");
        if (seed != null && !seed.isBlank()) {
            options = options.withSeed(Long.parseLong(seed.strip()));
        }
        QemuGuest guest = null;
        WsGuestBridge bridge = null;
        String step = "start c2w-net --listen-ws";
        try {
            // --listen-ws is a flag and the address the positional argument; options stop there (as upstream's).
            stack.startWith(List.of(
                    "--dns-upstream",
                    "127.0.0.1:" + peers.dns().port(),
                    "-p",
                    "127.0.0.1:" + forwardPort + ":80",
                    "--listen-ws",
                    "127.0.0.1:" + wsPort));
            LoopbackPorts.awaitListening(wsPort, Duration.ofSeconds(90), stack::isAlive, "c2w-net --listen-ws");

            step = "start QEMU (listening, MAC " + mac + ")";
            guest = QemuGuest.start(image, Nic.VIRTIO, mac, true, qemuPort, logs.resolve("virtio-console.log"));
            QemuGuest g = guest;
            LoopbackPorts.awaitListening(qemuPort, Duration.ofSeconds(60), g::isAlive, "QEMU");

            step = "WebSocket bridge";
            bridge = WsGuestBridge.connectTo(
                    new InetSocketAddress("127.0.0.1", qemuPort),
                    URI.create("ws://127.0.0.1:" + wsPort + "/"),
                    options);
            bridge.connected().get(60, TimeUnit.SECONDS);
            assertThat(bridge.subprotocol()).isEqualTo("binary");

            step = "boot";
            String release = guest.awaitReady(GuestScenario.BOOT_TIMEOUT);

            step = "steps";
            List<String> steps = scenario.steps(guest, profile, forwardPort);
            assertThat(steps)
                    .contains(
                            "dhcp 192.168.127.3",
                            "dns",
                            "download 32 MiB",
                            "upload 32 MiB",
                            "port forward to guest httpd",
                            "udp echo",
                            "connection refused");

            step = "guest MAC";
            String guestMac = guest.runOk("cat /sys/class/net/eth0/address", GuestScenario.STEP_TIMEOUT)
                    .strip();
            assertThat(guestMac)
                    .as("the NIC's MAC (the lease was 192.168.127.3 anyway)")
                    .isEqualTo(mac);

            step = "bridge checks";
            assertThat(bridge.done()).as("the WebSocket relay is still up").isNotDone();
            assertThat(bridge.messagesNotOneFrame())
                    .as("c2w-net messages that were not exactly one frame")
                    .isZero();
            // 32 MiB went up in pieces of at most 4096 bytes: thousands of messages, many cut mid-prefix.
            assertThat(bridge.bytesToServer()).isGreaterThan(HostPeers.BLOB_SIZE);
            assertThat(bridge.messagesToServer()).isGreaterThan(HostPeers.BLOB_SIZE / 4096);
            assertThat(bridge.messagesFromServer()).isGreaterThan(HostPeers.BLOB_SIZE / 1514);
            System.err.println("WS guest " + release + " MAC " + mac + ": " + steps + "; bridge sent "
                    + bridge.messagesToServer() + " messages (" + bridge.bytesToServer() + " bytes), received "
                    + bridge.messagesFromServer());
        } catch (Exception | AssertionError e) {
            String where = "WebSocket guest scenario (bridge seed " + options.seed() + ", MAC " + mac
                    + ") failed at step '"
                    + (step.equals("steps") ? scenario.step() : step) + "' after " + scenario.done() + ": "
                    + e.getMessage();
            if (guest != null && (e.getMessage() == null || !e.getMessage().contains("--- console log"))) {
                where += guest.describe();
            }
            throw new AssertionError(where + stack.describe(), e);
        } finally {
            if (bridge != null) {
                bridge.close();
            }
            if (guest != null) {
                guest.close();
            }
            stack.close();
        }
    }
}
