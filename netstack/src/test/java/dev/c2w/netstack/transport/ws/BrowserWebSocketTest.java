package dev.c2w.netstack.transport.ws;

import static dev.c2w.netstack.transport.ws.WsTestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real browser (Debian's headless Chromium) against the server: the page opens
 * new WebSocket('ws://127.0.0.1:PORT/', 'binary') like upstream's ws-delegate.js and speaks the QEMU
 * stream over it (src/test/resources/browser/ws-test.html).
 */
class BrowserWebSocketTest extends WsServerTestBase {
    static final long PAGE_MAC = 0x02_bb_00_00_00_01L;

    private String page(HeadlessChromium browser, String pageHost, String mode, String id) {
        String ws = "ws://127.0.0.1:" + server.boundAddress().getPort() + "/";
        return "http://" + pageHost + ":" + browser.port() + "/ws-test.html?mode=" + mode + "&id=" + id + "&seed=7&ws="
                + URLEncoder.encode(ws, StandardCharsets.UTF_8);
    }

    @Test
    void pageStreamIsReassembledAndEachHostFrameArrivesAsOneMessage() throws Exception {
        server = new WebSocketServer(WsTestSupport.options(host).build()).start();
        try (HeadlessChromium browser = new HeadlessChromium()) {
            browser.open(page(browser, "127.0.0.1", "frames", "f"));
            await(() -> server.currentNetwork() != null, "the page's WebSocket", 60);
            RecordingSink rec = RecordingSink.attach(server.currentNetwork());

            List<byte[]> down = new ArrayList<>();
            down.add(TestFrames.broadcast(WebSocketServerTest.RECORDER_MAC, 100, 64)); // "go"
            rec.inject(down.get(0));
            for (int i = 0; i < 10; i++) {
                assertThat(rec.next())
                        .as("frame %d from the page", i)
                        .isEqualTo(TestFrames.broadcast(PAGE_MAC, i, 60 + i * 97));
            }
            for (int i = 1; i <= 3; i++) {
                down.add(TestFrames.broadcast(WebSocketServerTest.RECORDER_MAC, 100 + i, 100 + 400 * i));
                rec.inject(down.get(i));
            }
            Map<String, String> r = browser.result();
            assertThat(r).containsEntry("protocol", "binary").doesNotContainKey("error");
            List<String> expected = down.stream()
                    .map(f -> HexFormat.of().formatHex(TestFrames.prefixed(f)))
                    .toList();
            assertThat(r.get("messages").split(",")).containsExactlyElementsOf(expected);
        }
        await(() -> server.stats().accepted.get() == 1, "1 accepted");
    }

    @Test
    void pageFromAForeignOriginIsRefusedAndALoopbackPageIsNot() throws Exception {
        server = new WebSocketServer(WsTestSupport.options(host).build()).start();
        try (HeadlessChromium browser = new HeadlessChromium()) {
            // foreign.test resolves to 127.0.0.1 through Chromium's host-resolver rules.
            browser.open(
                    page(browser, "foreign.test", "refused", "foreign"),
                    page(browser, "localhost", "refused", "local"));
            Map<String, Map<String, String>> byId = new HashMap<>();
            for (int i = 0; i < 2; i++) {
                Map<String, String> r = browser.result();
                byId.put(r.get("id"), r);
            }
            assertThat(byId.get("foreign")).containsEntry("opened", "false");
            assertThat(byId.get("local")).containsEntry("opened", "true").containsEntry("protocol", "binary");
        }
        assertThat(server.stats().refusedOrigin.get()).isEqualTo(1);
        await(() -> server.stats().accepted.get() == 1, "1 accepted");
    }

    /** Needs the gateway's DHCP server. */
    @Test
    void twoTabsEachGetTheGuestAddressOverDhcp() throws Exception {
        server = new WebSocketServer(WsTestSupport.options(host).build()).start();
        try (HeadlessChromium browser = new HeadlessChromium()) {
            browser.open(page(browser, "127.0.0.1", "dhcp", "a"), page(browser, "localhost", "dhcp", "b"));
            Map<String, String> a = browser.result();
            Map<String, String> b = browser.result();
            for (Map<String, String> r : List.of(a, b)) {
                assertThat(r)
                        .doesNotContainKey("error")
                        .containsEntry("type", "5")
                        .containsEntry("yiaddr", "192.168.127.3")
                        .containsEntry("router", "192.168.127.1")
                        .containsEntry("dns", "192.168.127.1")
                        .containsEntry("mask", "255.255.255.0")
                        .containsEntry("protocol", "binary")
                        .containsEntry("allOneFrame", "true");
            }
            assertThat(a.get("mac")).isNotEqualTo(b.get("mac"));
        }
        await(() -> server.stats().accepted.get() == 2, "2 accepted");
    }
}
