package dev.c2w.netstack.transport.ws;

import static dev.c2w.netstack.transport.ws.WsTestSupport.await;
import static dev.c2w.netstack.transport.ws.WsTestSupport.wsUri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.host.HostTransport;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The WebSocket server against real sockets and the JDK WebSocket client (no gateway needed). */
class WebSocketServerTest {
    static final long RECORDER_MAC = 0x02_aa_00_00_00_01L;
    static final long GUEST_A_MAC = 0x02_00_0a_00_00_01L;
    static final long GUEST_B_MAC = 0x02_00_0b_00_00_01L;

    static HostTransport host;
    WebSocketServer server;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeAll
    static void startHost() {
        host = HostTransport.create(1, false);
    }

    @AfterAll
    static void stopHost() {
        host.close();
    }

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(toClose);
        for (AutoCloseable c : toClose) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
    }

    WebSocketServer start(WebSocketServerOptions.Builder b) throws IOException {
        server = new WebSocketServer(b.build()).start();
        return server;
    }

    WsClient client(String origin) {
        WsClient c = WsClient.connect(wsUri(server), origin);
        toClose.add(c);
        return c;
    }

    // ---- handshake, origin, subprotocol ----

    @Test
    void handshakeEchoesBinarySubprotocolOnAnyPathWithoutOrigin() throws Exception {
        start(WsTestSupport.options(host));
        for (String path : new String[] {"/", "/any/path?x=1"}) {
            RawHttp.Response r = RawHttp.exchange(server.boundAddress(), RawHttp.handshake(path, null, "binary"));
            r.socket().close();
            assertThat(r.status()).isEqualTo(101);
            assertThat(r.header("Sec-WebSocket-Protocol")).isEqualTo("binary");
            assertThat(r.header("Sec-WebSocket-Accept")).isEqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        }
        await(() -> server.stats().accepted.get() == 2, "2 accepted");
    }

    @Test
    void handshakeWithoutSubprotocolIsAcceptedWithoutOne() throws Exception {
        start(WsTestSupport.options(host));
        RawHttp.Response r = RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", null, null));
        r.socket().close();
        assertThat(r.status()).isEqualTo(101);
        assertThat(r.header("Sec-WebSocket-Protocol")).isNull();
    }

    @Test
    void loopbackOriginsAreAcceptedAndForeignOnesGet403() throws Exception {
        start(WsTestSupport.options(host));
        for (String ok :
                new String[] {"http://localhost:8080", "http://127.0.0.1:1234", "http://[::1]:9000", "http://localhost"
                }) {
            RawHttp.Response r = RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", ok, "binary"));
            r.socket().close();
            assertThat(r.status()).as(ok).isEqualTo(101);
            assertThat(r.header("Sec-WebSocket-Protocol")).isEqualTo("binary");
        }
        for (String bad : new String[] {"https://evil.example", "null", "http://localhost.evil.example:8080"}) {
            RawHttp.Response r = RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", bad, "binary"));
            r.socket().close();
            assertThat(r.status()).as(bad).isEqualTo(403);
            assertThat(r.body()).contains(bad).contains("--ws-allow-origin");
        }
        assertThat(server.stats().refusedOrigin.get()).isEqualTo(3);
        await(() -> server.stats().accepted.get() == 4, "4 accepted");
    }

    @Test
    void allowOriginPatternsWidenThePolicy() throws Exception {
        start(WsTestSupport.options(host).allowOrigin("https://*.example.org"));
        RawHttp.Response ok =
                RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", "https://app.example.org", "binary"));
        ok.socket().close();
        RawHttp.Response bad =
                RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", "https://example.org", "binary"));
        bad.socket().close();
        assertThat(ok.status()).isEqualTo(101);
        assertThat(bad.status()).isEqualTo(403);
    }

    @Test
    void jdkClientConnectsWithLocalhostOriginAndSeesTheSubprotocol() throws Exception {
        start(WsTestSupport.options(host));
        WsClient c = client("http://localhost:8080");
        assertThat(c.ws.getSubprotocol()).isEqualTo("binary");
    }

    @Test
    void malformedHandshakesGet400Or426AndFreeTheirSlot() throws Exception {
        start(WsTestSupport.options(host).maxConnections(1));
        String noKey = RawHttp.handshake("/", null, "binary").replace("Sec-WebSocket-Key: " + RawHttp.KEY + "\r\n", "");
        RawHttp.Response r1 = RawHttp.exchange(server.boundAddress(), noKey);
        r1.socket().close();
        assertThat(r1.status()).isEqualTo(400);
        String badVersion = RawHttp.handshake("/", null, "binary").replace("Version: 13", "Version: 99");
        RawHttp.Response r2 = RawHttp.exchange(server.boundAddress(), badVersion);
        r2.socket().close();
        assertThat(r2.status()).isEqualTo(426);
        assertThat(r2.header("Sec-WebSocket-Version")).isEqualTo("13");
        String post = RawHttp.handshake("/", null, "binary").replace("GET ", "POST ");
        RawHttp.Response r3 = RawHttp.exchange(server.boundAddress(), post);
        r3.socket().close();
        assertThat(r3.status()).isEqualTo(400);
        // None of them kept the only slot.
        assertThat(server.connectionCount()).isZero();
        RawHttp.Response good = RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", null, "binary"));
        good.socket().close();
        assertThat(good.status()).isEqualTo(101);
    }

    // ---- plain HTTP on the same port ----

    @Test
    void healthzAnswersAndProxyCrtIs404WithoutACertificate() throws Exception {
        start(WsTestSupport.options(host));
        RawHttp.Response h = RawHttp.get(server.boundAddress(), "/healthz", null);
        assertThat(h.status()).isEqualTo(200);
        assertThat(h.body()).isEqualTo("ok\n");
        assertThat(RawHttp.get(server.boundAddress(), "/proxy.crt", null).status())
                .isEqualTo(404);
        assertThat(RawHttp.get(server.boundAddress(), "/", null).status()).isEqualTo(404);
        assertThat(RawHttp.get(server.boundAddress(), "/nothing", null).status())
                .isEqualTo(404);
        RawHttp.Response post = RawHttp.exchange(
                server.boundAddress(),
                "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        post.socket().close();
        assertThat(post.status()).isEqualTo(405);
    }

    @Test
    void proxyCrtServesThePemFromTheHookWithCorsForAllowedPages() throws Exception {
        byte[] pem =
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".getBytes(StandardCharsets.US_ASCII);
        start(WsTestSupport.options(host).caPem(() -> pem));
        RawHttp.Response r = RawHttp.get(server.boundAddress(), "/proxy.crt", "http://localhost:8080");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(new String(pem, StandardCharsets.US_ASCII));
        assertThat(r.header("Access-Control-Allow-Origin")).isEqualTo("http://localhost:8080");
        RawHttp.Response foreign = RawHttp.get(server.boundAddress(), "/proxy.crt", "https://evil.example");
        assertThat(foreign.header("Access-Control-Allow-Origin")).isNull();
    }

    @Test
    void keepAliveConnectionServesSeveralRequests() throws Exception {
        start(WsTestSupport.options(host));
        RawHttp.Response r1 = RawHttp.exchange(server.boundAddress(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        try (Socket s = r1.socket()) {
            assertThat(r1.status()).isEqualTo(200);
            s.getOutputStream().write(RawHttp.handshake("/", null, "binary").getBytes(StandardCharsets.US_ASCII));
            String head = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(head).isEqualTo("HTTP/1.1 101");
        }
    }

    // ---- the QEMU stream over WebSocket messages ----

    @Test
    void guestStreamSplitAnywhereReachesTheSwitchFrameByFrame() throws Exception {
        start(WsTestSupport.options(host));
        WsClient a = client(null);
        await(() -> server.currentNetwork() != null, "network of the first connection");
        RecordingSink rec = RecordingSink.attach(server.currentNetwork());

        Random rnd = new Random(42);
        List<byte[]> frames = TestFrames.randomFrames(rnd, GUEST_A_MAC, 200, 1);
        byte[] stream = TestFrames.stream(frames);
        List<byte[]> pieces = TestFrames.split(stream, rnd, 3000);
        assertThat(pieces).anyMatch(p -> p.length < 4);
        for (byte[] p : pieces) {
            a.send(p);
        }
        for (byte[] f : frames) {
            assertThat(rec.next()).isEqualTo(f);
        }
    }

    @Test
    void fragmentedMessagesAndSeveralFramesPerMessageAreReassembled() throws Exception {
        start(WsTestSupport.options(host));
        WsClient a = client(null);
        await(() -> server.currentNetwork() != null, "network");
        RecordingSink rec = RecordingSink.attach(server.currentNetwork());
        List<byte[]> frames = TestFrames.randomFrames(new Random(7), GUEST_A_MAC, 6, 100);
        byte[] stream = TestFrames.stream(frames);
        // One message holding three frames and half of the fourth's prefix, sent as three fragments...
        int cut = 4 + frames.get(0).length + 4 + frames.get(1).length + 4 + frames.get(2).length + 2;
        a.sendFragment(Arrays.copyOfRange(stream, 0, 10), false);
        a.sendFragment(Arrays.copyOfRange(stream, 10, 700), false);
        a.sendFragment(Arrays.copyOfRange(stream, 700, cut), true);
        // ...then the rest, one byte, then everything else in one message.
        a.send(Arrays.copyOfRange(stream, cut, cut + 1));
        a.send(Arrays.copyOfRange(stream, cut + 1, stream.length));
        for (byte[] f : frames) {
            assertThat(rec.next()).isEqualTo(f);
        }
    }

    @Test
    void hostToGuestIsOneBinaryMessagePerFrameWithItsPrefix() throws Exception {
        start(WsTestSupport.options(host));
        WsClient a = client(null);
        await(() -> server.currentNetwork() != null, "network");
        RecordingSink rec = RecordingSink.attach(server.currentNetwork());
        List<byte[]> frames = TestFrames.randomFrames(new Random(3), RECORDER_MAC, 50, 1000);
        for (byte[] f : frames) {
            rec.inject(f);
        }
        for (byte[] f : frames) {
            assertThat(a.next()).isEqualTo(TestFrames.prefixed(f));
        }
    }

    @Test
    void oversizedWebSocketFrameClosesThatConnectionOnly() throws Exception {
        start(WsTestSupport.options(host).maxMessageSize(64 * 1024));
        WsClient good = client(null);
        WsClient big = client(null);
        await(() -> server.liveNetworks().size() == 2, "two networks");
        try {
            big.send(new byte[128 * 1024]);
        } catch (RuntimeException e) {
            // the server may close before the whole message is written
        }
        assertThat(big.closed.get(30, TimeUnit.SECONDS)).isIn(1009, -1, 1006);
        await(() -> server.connectionCount() == 1, "oversized connection closed");
        RecordingSink rec = RecordingSink.attach(server.currentNetwork());
        byte[] f = TestFrames.broadcast(GUEST_A_MAC, 5, 100);
        good.send(TestFrames.prefixed(f));
        assertThat(rec.next()).isEqualTo(f);
    }

    @Test
    void badLengthPrefixClosesThatConnectionOnly() throws Exception {
        start(WsTestSupport.options(host));
        WsClient good = client(null);
        WsClient bad = client(null);
        await(() -> server.liveNetworks().size() == 2, "two networks");
        bad.send(ByteBuffer.allocate(4).putInt(1 << 30).array());
        bad.closed.get(30, TimeUnit.SECONDS);
        await(() -> server.connectionCount() == 1, "bad connection closed");
        await(() -> server.liveNetworks().size() == 1, "bad connection's network freed");
        VirtualNetwork goodNet = server.liveNetworks().get(0); // the survivor (registration order may vary)
        assertThat(server.currentNetwork()).isSameAs(goodNet);
        RecordingSink rec = RecordingSink.attach(goodNet);
        byte[] f = TestFrames.broadcast(GUEST_A_MAC, 5, 100);
        good.send(TestFrames.prefixed(f));
        assertThat(rec.next()).isEqualTo(f);
    }

    // ---- one network per connection ----

    @Test
    void eachConnectionGetsItsOwnNetworkAndCannotSeeTheOther() throws Exception {
        start(WsTestSupport.options(host));
        WsClient a = client(null);
        await(() -> server.liveNetworks().size() == 1, "A's network");
        VirtualNetwork netA = server.currentNetwork();
        WsClient b = client(null);
        await(() -> server.liveNetworks().size() == 2, "B's network");
        VirtualNetwork netB = server.currentNetwork();
        assertThat(netB).isNotSameAs(netA);
        assertThat(netA.config().firstGuestGetsGuestIp()).isTrue();
        RecordingSink recA = RecordingSink.attach(netA);
        RecordingSink recB = RecordingSink.attach(netB);

        // A broadcasts, then sends a frame straight to B's MAC: neither may reach B.
        byte[] bcast = TestFrames.broadcast(GUEST_A_MAC, 1, 80);
        byte[] toB = TestFrames.frame(GUEST_B_MAC, GUEST_A_MAC, 2, 80);
        b.send(TestFrames.prefixed(TestFrames.broadcast(GUEST_B_MAC, 3, 80))); // B's switch learns B's MAC
        assertThat(recB.next()).isEqualTo(TestFrames.broadcast(GUEST_B_MAC, 3, 80));
        a.send(TestFrames.prefixed(bcast));
        a.send(TestFrames.prefixed(toB));
        assertThat(recA.next()).isEqualTo(bcast);
        recA.sync();
        // Flooding is synchronous on the switch: had A's frames leaked to B they would already be queued
        // ahead of this marker.
        byte[] marker = TestFrames.broadcast(RECORDER_MAC, 9, 64);
        recB.inject(marker);
        assertThat(b.next()).isEqualTo(TestFrames.prefixed(marker));
        assertThat(recB.frames).isEmpty();
    }

    @Test
    void sharedNetworkPutsAllConnectionsOnOneLan() throws Exception {
        start(WsTestSupport.options(host).sharedNetwork(true));
        VirtualNetwork shared = server.currentNetwork();
        assertThat(shared).isNotNull();
        assertThat(shared.config().firstGuestGetsGuestIp()).isTrue();
        WsClient a = client(null);
        WsClient b = client(null);
        await(() -> server.connectionCount() == 2 && server.stats().accepted.get() == 2, "two connections");
        assertThat(server.currentNetwork()).isSameAs(shared);
        byte[] bcast = TestFrames.broadcast(GUEST_A_MAC, 1, 80);
        // B's switch port is attached on the network's loop after its handshake; a broadcast sent before
        // that reaches nobody, as on a real LAN, so send until B's port is there
        byte[] got = null;
        for (int i = 0; i < 50 && got == null; i++) {
            a.send(TestFrames.prefixed(bcast));
            got = b.poll(200);
        }
        assertThat(got).isEqualTo(TestFrames.prefixed(bcast));
        b.close();
        await(() -> server.connectionCount() == 1, "B gone");
        assertThat(server.currentNetwork()).isSameAs(shared);
    }

    @Test
    void currentNetworkFollowsTheNewestLiveConnectionAndClosedNetworksAreFreed() throws Exception {
        start(WsTestSupport.options(host));
        List<VirtualNetwork> seen = Collections.synchronizedList(new ArrayList<>());
        server.addNetworkListener(seen::add);
        WsClient a = client(null);
        await(() -> server.liveNetworks().size() == 1, "A");
        VirtualNetwork netA = server.currentNetwork();
        WsClient b = client(null);
        await(() -> server.liveNetworks().size() == 2, "B");
        VirtualNetwork netB = server.currentNetwork();
        WsClient c = client(null);
        await(() -> server.liveNetworks().size() == 3, "C");
        VirtualNetwork netC = server.currentNetwork();

        b.close(); // not the newest: current stays C
        await(() -> server.liveNetworks().size() == 2, "B closed");
        assertThat(server.currentNetwork()).isSameAs(netC);
        c.close(); // newest: falls back to A (B is gone)
        await(() -> server.liveNetworks().size() == 1, "C closed");
        assertThat(server.currentNetwork()).isSameAs(netA);
        a.close();
        await(() -> server.connectionCount() == 0, "all closed");
        assertThat(server.currentNetwork()).isNull();
        assertThat(seen).containsExactly(netA, netB, netC, netA, null);

        // The networks were closed: a port attached now is told at once that its network is gone.
        for (VirtualNetwork n : List.of(netA, netB, netC)) {
            RecordingSink late = RecordingSink.attach(n);
            assertThat(late.portClosed).isTrue();
        }
    }

    @Test
    void connectionsOverTheLimitGet503UntilOneCloses() throws Exception {
        start(WsTestSupport.options(host).maxConnections(2));
        WsClient a = client(null);
        client(null);
        RawHttp.Response r = RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", null, "binary"));
        r.socket().close();
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.body()).contains("--max-ws-connections");
        assertThat(server.stats().refusedFull.get()).isEqualTo(1);
        // Plain HTTP still works while full.
        assertThat(RawHttp.get(server.boundAddress(), "/healthz", null).status())
                .isEqualTo(200);
        a.close();
        await(() -> server.connectionCount() == 1, "A closed");
        RawHttp.Response again = RawHttp.exchange(server.boundAddress(), RawHttp.handshake("/", null, "binary"));
        again.socket().close();
        assertThat(again.status()).isEqualTo(101);
    }

    @Test
    void clientThatStopsReadingIsDisconnectedAndOthersCarryOn() throws Exception {
        start(WsTestSupport.options(host).writeBufferBound(64 * 1024));
        WsClient healthy = client(null);
        await(() -> server.liveNetworks().size() == 1, "healthy client's network");
        VirtualNetwork healthyNet = server.currentNetwork();

        // A client that completes the handshake and then never reads.
        Socket stuck = new Socket();
        stuck.setReceiveBufferSize(4096);
        stuck.connect(server.boundAddress());
        toClose.add(stuck);
        OutputStream out = stuck.getOutputStream();
        out.write(RawHttp.handshake("/", null, "binary").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        await(() -> server.liveNetworks().size() == 2, "stuck client's network");
        VirtualNetwork stuckNet = server.currentNetwork();
        RecordingSink pump = RecordingSink.attach(stuckNet);

        byte[] frame = TestFrames.broadcast(RECORDER_MAC, 1, 1400);
        long maxBytes = 64L * 1024 * 1024;
        long sent = 0;
        while (server.stats().closedSlow.get() == 0 && sent < maxBytes) {
            for (int i = 0; i < 64; i++) {
                pump.inject(frame);
            }
            pump.sync();
            sent += 64L * frame.length;
        }
        assertThat(server.stats().closedSlow.get())
                .as("closed after %d bytes", sent)
                .isEqualTo(1);
        await(() -> server.liveNetworks().size() == 1, "stuck client's network freed");
        assertThat(server.currentNetwork()).isSameAs(healthyNet);

        RecordingSink rec = RecordingSink.attach(healthyNet);
        byte[] f = TestFrames.broadcast(GUEST_A_MAC, 2, 300);
        healthy.send(TestFrames.prefixed(f));
        assertThat(rec.next()).isEqualTo(f);
        rec.inject(TestFrames.broadcast(RECORDER_MAC, 3, 300));
        assertThat(healthy.next()).isEqualTo(TestFrames.prefixed(TestFrames.broadcast(RECORDER_MAC, 3, 300)));
    }

    @Test
    void pingIsAnsweredAndCloseIsAcknowledged() throws Exception {
        start(WsTestSupport.options(host));
        WsClient a = client(null);
        // The JDK client answers and hides control frames; use a raw client for exact bytes.
        try (Socket s = new Socket()) {
            s.connect(server.boundAddress());
            s.setSoTimeout(30_000);
            s.getOutputStream().write(RawHttp.handshake("/", null, "binary").getBytes(StandardCharsets.US_ASCII));
            readHead(s);
            // Masked ping with payload "hi".
            s.getOutputStream()
                    .write(new byte[] {(byte) 0x89, (byte) 0x82, 1, 2, 3, 4, (byte) ('h' ^ 1), (byte) ('i' ^ 2)});
            byte[] resp = s.getInputStream().readNBytes(4);
            assertThat(resp).containsExactly(0x8a, 2, 'h', 'i');
            // Masked close, code 1000.
            s.getOutputStream().write(new byte[] {(byte) 0x88, (byte) 0x82, 0, 0, 0, 0, 0x03, (byte) 0xe8});
            byte[] close = s.getInputStream().readNBytes(4);
            assertThat(close).containsExactly(0x88, 2, 0x03, 0xe8);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        a.close();
        await(() -> server.connectionCount() == 0, "all closed");
    }

    @Test
    void closingTheServerClosesConnectionsAndNetworks() throws Exception {
        start(WsTestSupport.options(host));
        WsClient a = client(null);
        await(() -> server.liveNetworks().size() == 1, "network");
        VirtualNetwork net = server.currentNetwork();
        InetSocketAddress bound = server.boundAddress();
        server.close();
        a.closed.get(30, TimeUnit.SECONDS);
        await(() -> server.connectionCount() == 0, "connections closed");
        assertThat(server.currentNetwork()).isNull();
        assertThat(RecordingSink.attach(net).portClosed).isTrue();
        assertThatThrownBy(() -> {
                    try (Socket s = new Socket()) {
                        s.connect(bound, 10_000);
                    }
                })
                .isInstanceOf(IOException.class);
    }

    private static void readHead(Socket s) throws IOException {
        int state = 0;
        while (state < 4) {
            int c = s.getInputStream().read();
            assertThat(c).isNotEqualTo(-1);
            state = (c == '\r' || c == '\n') ? state + 1 : 0;
        }
    }
}
