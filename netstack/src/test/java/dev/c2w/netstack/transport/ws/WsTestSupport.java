package dev.c2w.netstack.transport.ws;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.function.BooleanSupplier;

/** Shared set-up for the WebSocket server tests. */
final class WsTestSupport {
    private WsTestSupport() {}

    static WebSocketServerOptions.Builder options(HostTransport host) {
        return WebSocketServerOptions.builder(NetworkConfig.builder().build(), host)
                .bindAddress(new InetSocketAddress("127.0.0.1", 0));
    }

    static URI wsUri(WebSocketServer server) {
        return URI.create("ws://127.0.0.1:" + server.boundAddress().getPort() + "/");
    }

    /** Polls {@code condition} until it holds; fails after 30 s (a bound for a hung test, not a timing check). */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        await(condition, what, 30);
    }

    /** Like {@link #await(BooleanSupplier, String)} with a bound of {@code seconds}. */
    static void await(BooleanSupplier condition, String what, int seconds) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("gave up waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }
}
