package dev.c2w.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Relays one QEMU stream over a WebSocket, split at random points.
 *
 * <p>Test utility: stands in for the browser page between a guest's QEMU stream and c2w-net --listen-ws.
 *
 * <pre>
 *   guest (QEMU -netdev stream / socket, or a test) &lt;--TCP--> WsGuestBridge &lt;--ws://, 'binary'--> server
 * </pre>
 *
 * <p>It behaves like upstream's ws-delegate.js, only more hostile to the server: it offers the subprotocol
 * "binary" (and checks it is echoed), and cuts the guest's byte stream into WebSocket messages at random
 * points -- often 1 to 3 bytes long, so that cuts fall inside length prefixes, sometimes spanning several
 * frames -- and, with fragment(true), sends some messages as several fragments (continuation frames).
 * Host-to-guest it checks the server's side of the contract (each message is exactly one length prefix
 * and the frame it announces; violations are counted in messagesNotOneFrame()) and copies the bytes to
 * the guest unchanged.
 *
 * <p>The random cuts come from a seed, printed to stderr when the bridge starts so a failure can be
 * replayed. Either the guest connects to the bridge (acceptOn: like QEMU's "connect=" side) or the bridge
 * connects to the guest (connectTo: QEMU listening, or a WASI runtime's listen socket). One guest
 * connection per bridge; close() ends both sides.
 */
public final class WsGuestBridge implements AutoCloseable {

    /** How the bridge behaves. {@code origin} null sends no Origin header (like a non-browser client). */
    public record Options(long seed, String origin, int maxMessage, boolean fragment) {
        public static Options defaults() {
            return new Options(new Random().nextLong(), null, 4096, false);
        }

        public Options withSeed(long s) {
            return new Options(s, origin, maxMessage, fragment);
        }

        public Options withOrigin(String o) {
            return new Options(seed, o, maxMessage, fragment);
        }

        public Options withMaxMessage(int n) {
            return new Options(seed, origin, n, fragment);
        }

        public Options withFragment(boolean f) {
            return new Options(seed, origin, maxMessage, f);
        }
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final URI wsUrl;
    private final Options options;
    private final Random rnd;
    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final Thread thread;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final CompletableFuture<Void> connected = new CompletableFuture<>();
    private final AtomicLong bytesToServer = new AtomicLong();
    private final AtomicLong messagesToServer = new AtomicLong();
    private final AtomicLong messagesFromServer = new AtomicLong();
    private final AtomicLong messagesNotOneFrame = new AtomicLong();
    private volatile Socket guest;
    private volatile WebSocket ws;
    private volatile String subprotocol;
    private volatile boolean closing;

    private WsGuestBridge(URI wsUrl, Options options, ServerSocket listener, InetSocketAddress target) {
        this.wsUrl = wsUrl;
        this.options = options;
        this.rnd = new Random(options.seed());
        this.listener = listener;
        this.target = target;
        this.thread = new Thread(this::run, "ws-guest-bridge");
        this.thread.setDaemon(true);
        System.err.println("WsGuestBridge " + wsUrl + " seed=" + options.seed() + " maxMessage=" + options.maxMessage()
                + " fragment=" + options.fragment());
    }

    /** Listens on {@code tcp} (port 0 for any) and relays the first connection that arrives. */
    public static WsGuestBridge acceptOn(InetSocketAddress tcp, URI wsUrl, Options options) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.bind(tcp, 1);
        WsGuestBridge b = new WsGuestBridge(wsUrl, options, ss, null);
        b.thread.start();
        return b;
    }

    /** Connects to the guest's stream at {@code tcp} (retrying until it listens) and relays it. */
    public static WsGuestBridge connectTo(InetSocketAddress tcp, URI wsUrl, Options options) {
        WsGuestBridge b = new WsGuestBridge(wsUrl, options, null, tcp);
        b.thread.start();
        return b;
    }

    /** Where acceptOn listens (for port 0). */
    public InetSocketAddress tcpAddress() {
        if (listener == null) {
            throw new IllegalStateException("bridge was made with connectTo");
        }
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /** Completes once the WebSocket is open and the subprotocol checked; exceptionally if that failed. */
    public CompletableFuture<Void> connected() {
        return connected;
    }

    /** Completes when the relay ends (either side closed); exceptionally when it failed. */
    public CompletableFuture<Void> done() {
        return done;
    }

    public String subprotocol() {
        return subprotocol;
    }

    public long bytesToServer() {
        return bytesToServer.get();
    }

    public long messagesToServer() {
        return messagesToServer.get();
    }

    public long messagesFromServer() {
        return messagesFromServer.get();
    }
    /** Server messages that were not exactly one length prefix plus the frame it announces. */
    public long messagesNotOneFrame() {
        return messagesNotOneFrame.get();
    }

    private void run() {
        try {
            Socket s = listener != null ? listener.accept() : connectWithRetry(target);
            s.setTcpNoDelay(true);
            guest = s;
            if (closing) {
                s.close();
                return;
            }
            WebSocket.Builder b = HTTP.newWebSocketBuilder().subprotocols("binary");
            if (options.origin() != null) {
                b.header("Origin", options.origin());
            }
            try {
                ws = b.buildAsync(wsUrl, new FromServer(s.getOutputStream())).get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof WebSocketHandshakeException h) {
                    throw new IOException(
                            "WebSocket handshake with " + wsUrl + " refused: HTTP "
                                    + h.getResponse().statusCode() + " "
                                    + h.getResponse().body(),
                            h);
                }
                throw e;
            }
            subprotocol = ws.getSubprotocol();
            if (!"binary".equals(subprotocol)) {
                throw new IOException("server did not echo the subprotocol 'binary' (got '" + subprotocol + "')");
            }
            connected.complete(null);
            toServer(s.getInputStream());
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "guest closed").get(10, TimeUnit.SECONDS);
            done.complete(null);
        } catch (Exception e) {
            connected.completeExceptionally(e);
            if (closing) {
                done.complete(null);
            } else {
                done.completeExceptionally(e);
            }
        } finally {
            closeQuietly();
        }
    }

    private static Socket connectWithRetry(InetSocketAddress target) throws IOException, InterruptedException {
        IOException last = null;
        for (int i = 0; i < 300; i++) {
            Socket s = new Socket();
            try {
                s.connect(target, 5000);
                return s;
            } catch (IOException e) {
                s.close();
                last = e;
                Thread.sleep(100);
            }
        }
        throw new IOException("guest stream at " + target + " never accepted a connection", last);
    }

    /** Guest bytes to WebSocket messages, cut at random points. */
    private void toServer(InputStream in) throws Exception {
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) > 0) {
            int i = 0;
            while (i < n) {
                int len = Math.min(n - i, StreamPieces.nextSize(rnd, options.maxMessage()));
                byte[] piece = new byte[len];
                System.arraycopy(buf, i, piece, 0, len);
                i += len;
                if (options.fragment() && len >= 2 && rnd.nextInt(4) == 0) {
                    int cut = 1 + rnd.nextInt(len - 1);
                    ws.sendBinary(ByteBuffer.wrap(piece, 0, cut), false).get(30, TimeUnit.SECONDS);
                    ws.sendBinary(ByteBuffer.wrap(piece, cut, len - cut), true).get(30, TimeUnit.SECONDS);
                } else {
                    ws.sendBinary(ByteBuffer.wrap(piece), true).get(30, TimeUnit.SECONDS);
                }
                messagesToServer.incrementAndGet();
                bytesToServer.addAndGet(len);
            }
        }
    }

    /** WebSocket messages to the guest: checked for one-frame-per-message, then copied as they are. */
    private final class FromServer implements WebSocket.Listener {
        private final OutputStream out;
        private final ByteArrayOutputStream message = new ByteArrayOutputStream();

        FromServer(OutputStream out) {
            this.out = out;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            message.writeBytes(b);
            if (last) {
                byte[] m = message.toByteArray();
                message.reset();
                messagesFromServer.incrementAndGet();
                if (m.length < 4 || ByteBuffer.wrap(m).getInt(0) != m.length - 4) {
                    messagesNotOneFrame.incrementAndGet();
                }
                try {
                    out.write(m);
                    out.flush();
                } catch (IOException e) {
                    closeQuietly();
                    return null;
                }
            }
            w.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
            messagesNotOneFrame.incrementAndGet();
            w.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
            closeQuietly();
            done.complete(null);
            return null;
        }

        @Override
        public void onError(WebSocket w, Throwable error) {
            closeQuietly();
            if (!closing) {
                done.completeExceptionally(error);
            }
        }
    }

    private void closeQuietly() {
        try {
            Socket s = guest;
            if (s != null) {
                s.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        WebSocket w = ws;
        if (w != null) {
            w.abort();
        }
    }

    @Override
    public void close() {
        closing = true;
        try {
            if (listener != null) {
                listener.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        closeQuietly();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
