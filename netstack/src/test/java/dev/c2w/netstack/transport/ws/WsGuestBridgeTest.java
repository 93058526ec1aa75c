package dev.c2w.netstack.transport.ws;

import static dev.c2w.netstack.transport.ws.WsTestSupport.await;
import static dev.c2w.netstack.transport.ws.WsTestSupport.wsUri;
import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.testkit.WsGuestBridge;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The test bridge itself, against the real server: a QEMU stream over TCP both ways through it. */
class WsGuestBridgeTest extends WsServerTestBase {

    @Test
    void guestConnectingToTheBridgeIsRelayedBothWaysWithRandomSplits() throws Exception {
        server = new WebSocketServer(WsTestSupport.options(host).build()).start();
        try (WsGuestBridge bridge = WsGuestBridge.acceptOn(
                        new InetSocketAddress("127.0.0.1", 0),
                        wsUri(server),
                        WsGuestBridge.Options.defaults().withFragment(true).withOrigin("http://localhost:8080"));
                Socket guest = new Socket()) {
            guest.connect(bridge.tcpAddress());
            relayBothWays(bridge, guest, 300);
        }
    }

    @Test
    void bridgeConnectingToAListeningGuestIsRelayedBothWays() throws Exception {
        server = new WebSocketServer(WsTestSupport.options(host).build()).start();
        try (ServerSocket guestListener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                WsGuestBridge bridge = WsGuestBridge.connectTo(
                        (InetSocketAddress) guestListener.getLocalSocketAddress(),
                        wsUri(server),
                        WsGuestBridge.Options.defaults());
                Socket guest = guestListener.accept()) {
            relayBothWays(bridge, guest, 50);
        }
    }

    private void relayBothWays(WsGuestBridge bridge, Socket guest, int count) throws Exception {
        bridge.connected().get(30, TimeUnit.SECONDS);
        // The server publishes the network just after it sends 101, so the client may be a step ahead.
        await(() -> server.currentNetwork() != null, "the bridge's network");
        assertThat(bridge.subprotocol()).isEqualTo("binary");
        RecordingSink rec = RecordingSink.attach(server.currentNetwork());

        Random rnd = new Random(11);
        List<byte[]> up = TestFrames.randomFrames(rnd, WebSocketServerTest.GUEST_A_MAC, count, 1);
        guest.getOutputStream().write(TestFrames.stream(up));
        guest.getOutputStream().flush();
        for (byte[] f : up) {
            assertThat(rec.next()).isEqualTo(f);
        }
        assertThat(bridge.bytesToServer()).isEqualTo(TestFrames.stream(up).length);

        List<byte[]> down = TestFrames.randomFrames(rnd, WebSocketServerTest.RECORDER_MAC, count, 5000);
        for (byte[] f : down) {
            rec.inject(f);
        }
        guest.setSoTimeout(30_000);
        DataInputStream in = new DataInputStream(guest.getInputStream());
        for (byte[] f : down) {
            int len = in.readInt();
            byte[] got = new byte[len];
            in.readFully(got);
            assertThat(got).isEqualTo(f);
        }
        assertThat(bridge.messagesNotOneFrame()).isZero();
        assertThat(bridge.messagesFromServer()).isEqualTo(count);

        guest.shutdownOutput();
        bridge.done().get(30, TimeUnit.SECONDS);
        await(() -> server.connectionCount() == 0, "the WebSocket closes when the guest does");
    }

    @Test
    void bridgeReportsARefusedOrigin() throws Exception {
        server = new WebSocketServer(WsTestSupport.options(host).build()).start();
        try (WsGuestBridge bridge = WsGuestBridge.acceptOn(
                        new InetSocketAddress("127.0.0.1", 0),
                        wsUri(server),
                        WsGuestBridge.Options.defaults().withOrigin("https://evil.example"));
                Socket guest = new Socket()) {
            guest.connect(bridge.tcpAddress());
            try {
                bridge.done().get(30, TimeUnit.SECONDS);
                throw new AssertionError("bridge should have failed");
            } catch (ExecutionException e) {
                assertThat(e.getCause()).hasMessageContaining("403");
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertThat(server.stats().refusedOrigin.get()).isEqualTo(1);
    }
}
