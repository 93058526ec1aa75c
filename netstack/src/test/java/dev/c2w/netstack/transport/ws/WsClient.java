package dev.c2w.netstack.transport.ws;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A WebSocket client for tests (JDK java.net.http): records whole binary messages, sends raw pieces. */
final class WsClient implements AutoCloseable {
    final BlockingQueue<byte[]> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    final WebSocket ws;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private WsClient(WebSocket ws) {
        this.ws = ws;
    }

    static WsClient connect(URI uri, String origin) {
        Listener l = new Listener();
        WebSocket.Builder b = HTTP.newWebSocketBuilder().subprotocols("binary");
        if (origin != null) {
            b.header("Origin", origin);
        }
        WebSocket ws = b.buildAsync(uri, l).orTimeout(30, TimeUnit.SECONDS).join();
        WsClient c = new WsClient(ws);
        l.client = c;
        l.ready.complete(null);
        return c;
    }

    /** Sends one complete binary message. */
    void send(byte[] data) {
        ws.sendBinary(ByteBuffer.wrap(data), true)
                .orTimeout(30, TimeUnit.SECONDS)
                .join();
    }

    /** Sends one fragment: {@code last=false} starts or continues a fragmented message. */
    void sendFragment(byte[] data, boolean last) {
        ws.sendBinary(ByteBuffer.wrap(data), last)
                .orTimeout(30, TimeUnit.SECONDS)
                .join();
    }

    /** The next message within {@code millis}, or null. */
    byte[] poll(long millis) throws InterruptedException {
        return messages.poll(millis, TimeUnit.MILLISECONDS);
    }

    byte[] next() throws InterruptedException {
        byte[] m = messages.poll(30, TimeUnit.SECONDS);
        if (m == null) {
            throw new AssertionError("no WebSocket message within 30 s");
        }
        return m;
    }

    @Override
    public void close() {
        if (!ws.isOutputClosed()) {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "")
                    .orTimeout(10, TimeUnit.SECONDS)
                    .exceptionally(t -> null)
                    .join();
        }
        ws.abort();
    }

    private static final class Listener implements WebSocket.Listener {
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        volatile WsClient client;
        private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            partial.writeBytes(b);
            if (last) {
                byte[] m = partial.toByteArray();
                partial.reset();
                ready.join();
                client.messages.add(m);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            ready.join();
            client.closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            ready.join();
            client.closed.complete(-1);
        }
    }
}
