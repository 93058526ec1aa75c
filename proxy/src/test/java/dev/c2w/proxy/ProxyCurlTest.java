package dev.c2w.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.relay.Relay;
import dev.c2w.tls.CaKeyType;
import dev.c2w.tls.CertificateAuthority;
import dev.c2w.tls.LeafCertificates;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy on host sockets on 127.0.0.1, driven by the real curl (and by raw sockets for the malformed
 * cases), in front of local origin servers. Names resolve through the proxy's fixed table, never DNS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyCurlTest {
    @TempDir
    static Path tmp;

    HostTransport transport;
    OriginServer tlsOrigin;
    OriginServer plainOrigin;
    Channel bannerEcho;
    Channel silentEcho;
    Channel counter;
    ProxyServer proxy;
    ProxyServer strictProxy; // trusts only the JDK CAs: the origin's certificate is not trusted
    int proxyPort;
    int proxyTlsPort;
    int strictPort;
    int deadPort;
    Path caPem;
    CertificateAuthority ca;

    @BeforeAll
    void setUp() throws Exception {
        transport = HostTransport.create(2, Boolean.getBoolean("c2w.nio")); // -Dc2w.nio=true: NIO instead of epoll
        run(
                tmp,
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "origin.key",
                "-out",
                "origin.crt",
                "-days",
                "2",
                "-subj",
                "/CN=origin.test",
                "-addext",
                "subjectAltName=DNS:origin.test,DNS:burst.test,DNS:ok.allowed.test,IP:127.0.0.1");
        File cert = tmp.resolve("origin.crt").toFile();
        File key = tmp.resolve("origin.key").toFile();
        tlsOrigin = new OriginServer(transport, cert, key);
        plainOrigin = new OriginServer(transport, null, null);
        bannerEcho = echoServer(true);
        silentEcho = echoServer(false);
        counter = countingServer();
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }

        ca = CertificateAuthority.loadOrCreate(tmp.resolve("ca"), CaKeyType.ECDSA);
        caPem = tmp.resolve("ca.pem");
        Files.writeString(caPem, ca.certificatePem());
        InetAddress lo = InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        Map<String, InetAddress> hosts = Map.of(
                "origin.test", lo, "burst.test", lo, "echo.test", lo, "x.denied.test", lo, "ok.allowed.test", lo);
        ExecutorService blocking = Executors.newFixedThreadPool(2);
        proxy = new ProxyServer(ProxyConfig.builder()
                .leaves(new LeafCertificates(ca))
                .proxyAddress("127.0.0.1")
                .transport(transport)
                .blockingExecutor(blocking)
                .resolver(OffloadedResolverGroup.fixed(blocking, hosts))
                .addUpstreamCas(ProxyConfig.readCertificates(tmp.resolve("origin.crt")))
                .policy(new HostPolicy(List.of(), List.of("*.denied.test")))
                .build());
        proxyPort = port(proxy.listen(transport, new InetSocketAddress("127.0.0.1", 0), false)
                .sync()
                .channel());
        proxyTlsPort = port(proxy.listen(transport, new InetSocketAddress("127.0.0.1", 0), true)
                .sync()
                .channel());
        strictProxy = new ProxyServer(ProxyConfig.builder()
                .leaves(new LeafCertificates(ca))
                .transport(transport)
                .resolver(OffloadedResolverGroup.fixed(blocking, hosts))
                .build());
        strictPort = port(strictProxy
                .listen(transport, new InetSocketAddress("127.0.0.1", 0), false)
                .sync()
                .channel());
    }

    @AfterAll
    void tearDown() {
        if (proxy != null) {
            proxy.close();
            strictProxy.close();
        }
        if (transport != null) {
            transport.close();
        }
    }

    private static int port(Channel ch) {
        return ((InetSocketAddress) ch.localAddress()).getPort();
    }

    private Channel echoServer(boolean banner) throws InterruptedException {
        return new ServerBootstrap()
                .group(transport.group())
                .channel(transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                if (banner) {
                                    ctx.writeAndFlush(Unpooled.copiedBuffer("HELLO\n", StandardCharsets.US_ASCII));
                                }
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ByteBuf in = (ByteBuf) msg;
                                ctx.writeAndFlush(Unpooled.wrappedBuffer(
                                        Unpooled.copiedBuffer("echo:", StandardCharsets.US_ASCII), in));
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
    }

    /** Reads until the client half-closes, then answers "got N bytes" and closes. */
    private Channel countingServer() throws InterruptedException {
        return new ServerBootstrap()
                .group(transport.group())
                .channel(transport.serverSocketChannel())
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            private long n;

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                n += ((ByteBuf) msg).readableBytes();
                                ((ByteBuf) msg).release();
                            }

                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof ChannelInputShutdownEvent) {
                                    ctx.writeAndFlush(Unpooled.copiedBuffer(
                                                    "got " + n + " bytes\n", StandardCharsets.US_ASCII))
                                            .addListener(ChannelFutureListener.CLOSE);
                                }
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
    }

    record Result(int exit, String out, String err) {}

    static Result run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).start();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread t = new Thread(() -> {
            try {
                p.getErrorStream().transferTo(err);
            } catch (IOException ignored) {
                // process ended
            }
        });
        t.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS))
                .as("%s finished", Arrays.toString(cmd))
                .isTrue();
        t.join();
        return new Result(p.exitValue(), out, err.toString(StandardCharsets.UTF_8));
    }

    /** curl through the plain proxy port, never reading ~/.curlrc, never resolving names itself. */
    private Result curl(int viaPort, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                "curl",
                "-q",
                "-sS",
                "--max-time",
                "120",
                "--proxy",
                "http://127.0.0.1:" + viaPort,
                "--cacert",
                caPem.toString(),
                "--resolve",
                "origin.test:" + tlsOrigin.port() + ":127.0.0.1"));
        cmd.addAll(List.of(args));
        return run(tmp, cmd.toArray(new String[0]));
    }

    private String https(String pathAndQuery) {
        return "https://origin.test:" + tlsOrigin.port() + pathAndQuery;
    }

    // ------------------------------------------------------------------ downloads and uploads

    @Test
    void httpsDownloadOfSeveralMebibytesIsIntact() throws Exception {
        int size = 6 * 1024 * 1024 + 12345;
        Result r = curl(proxyPort, "-o", "dl.bin", https("/blob?size=" + size));
        assertThat(r.exit()).as(r.err()).isZero();
        byte[] got = Files.readAllBytes(tmp.resolve("dl.bin"));
        assertThat(got.length).isEqualTo(size);
        assertThat(OriginServer.sha256(got)).isEqualTo(OriginServer.sha256(OriginServer.blob(size)));
        assertThat(proxy.stats().intercepted()).isPositive();
    }

    @Test
    void chunkedDownloadIsIntactOverHttpsAndPlainHttp() throws Exception {
        int size = 3 * 1024 * 1024 + 7;
        String want = OriginServer.sha256(OriginServer.blob(size));
        Result r = curl(proxyPort, "-D", "h1.txt", "-o", "c1.bin", https("/blob?chunked=1&size=" + size));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readString(tmp.resolve("h1.txt")).toLowerCase()).contains("transfer-encoding: chunked");
        assertThat(OriginServer.sha256(Files.readAllBytes(tmp.resolve("c1.bin"))))
                .isEqualTo(want);
        r = curl(
                proxyPort, "-o", "c2.bin", "http://origin.test:" + plainOrigin.port() + "/blob?chunked=1&size=" + size);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(OriginServer.sha256(Files.readAllBytes(tmp.resolve("c2.bin"))))
                .isEqualTo(want);
    }

    @Test
    void closeDelimitedOriginBodyIsRechunkedForTheGuest() throws Exception {
        Result r = curl(
                proxyPort,
                "-D",
                "cd-h.txt",
                "-o",
                "cd.bin",
                "http://origin.test:" + plainOrigin.port() + "/close-delimited");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readString(tmp.resolve("cd-h.txt")).toLowerCase()).contains("transfer-encoding: chunked");
        assertThat(OriginServer.sha256(Files.readAllBytes(tmp.resolve("cd.bin"))))
                .isEqualTo(OriginServer.sha256(OriginServer.blob(123_457)));
    }

    @Test
    void headResponsesHaveNoBodyAndKeepTheConnection() throws Exception {
        Result r = curl(proxyPort, "-I", https("/blob?size=1000"), https("/blob?size=2000"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().toLowerCase()).contains("content-length: 1000", "content-length: 2000");
    }

    @Test
    void aGuestThatGoesAwayMidDownloadClosesTheUpstreamConnection() throws Exception {
        String uri = "/blob?size=" + (32 * 1024 * 1024) + "&abort=1";
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
            s.setSoTimeout(60_000);
            s.getOutputStream()
                    .write(("GET http://origin.test:" + plainOrigin.port() + uri + " HTTP/1.1\r\nHost: x\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            assertThat(readLine(s.getInputStream())).startsWith("HTTP/1.1 200");
            s.getInputStream().readNBytes(100_000);
        }
        String closed;
        do {
            closed = plainOrigin.closedAfter.poll(120, TimeUnit.SECONDS);
            assertThat(closed).as("the origin saw its connection closed").isNotNull();
        } while (!closed.equals(uri));
        Result r = curl(proxyPort, "http://origin.test:" + plainOrigin.port() + "/cookies");
        assertThat(r.out()).isEqualTo("cookies\n");
    }

    @Test
    void repeatedSetCookieHeadersArePreserved() throws Exception {
        Result r = curl(proxyPort, "-D", "-", "-o", "/dev/null", https("/cookies"));
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> cookies = r.out()
                .lines()
                .filter(l -> l.toLowerCase().startsWith("set-cookie:"))
                .toList();
        assertThat(cookies)
                .containsExactly(
                        "set-cookie: a=1; Path=/",
                        "set-cookie: b=2; Path=/; HttpOnly",
                        "set-cookie: c=3, with comma; Path=/");
        assertThat(r.out()
                        .lines()
                        .map(String::toLowerCase)
                        .filter(l -> l.startsWith("x-multi:"))
                        .toList())
                .containsExactly("x-multi: one", "x-multi: two");
    }

    @Test
    void eightMebibytePostIsIntact() throws Exception {
        byte[] body = OriginServer.blob(8 * 1024 * 1024);
        Files.write(tmp.resolve("up.bin"), body);
        Result r = curl(
                proxyPort,
                "--data-binary",
                "@up.bin",
                "-H",
                "Content-Type: application/octet-stream",
                https("/sha256"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("len=" + body.length + " sha256=" + OriginServer.sha256(body) + "\n");
    }

    @Test
    void expectContinueIsRelayed() throws Exception {
        byte[] body = OriginServer.blob(300_000);
        Files.write(tmp.resolve("exp.bin"), body);
        Result r = curl(proxyPort, "-v", "-H", "Expect: 100-continue", "--data-binary", "@exp.bin", https("/sha256"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("HTTP/1.1 100 Continue");
        assertThat(r.out()).isEqualTo("len=" + body.length + " sha256=" + OriginServer.sha256(body) + "\n");
    }

    @Test
    void chunkedUploadIsIntact() throws Exception {
        byte[] body = OriginServer.blob(2 * 1024 * 1024 + 3);
        Files.write(tmp.resolve("chunk-up.bin"), body);
        Result r = curl(
                proxyPort,
                "-v",
                "-H",
                "Transfer-Encoding: chunked",
                "--data-binary",
                "@chunk-up.bin",
                "http://origin.test:" + plainOrigin.port() + "/sha256");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("Transfer-Encoding: chunked");
        assertThat(r.out()).isEqualTo("len=" + body.length + " sha256=" + OriginServer.sha256(body) + "\n");
    }

    @Test
    void hopByHopHeadersAreDroppedAndHostIsSet() throws Exception {
        Result r = curl(
                proxyPort,
                "-H",
                "Proxy-Authorization: Basic secret",
                "-H",
                "Connection: keep-alive, X-Drop",
                "-H",
                "X-Drop: 1",
                "-H",
                "X-Keep: 2",
                "http://origin.test:" + plainOrigin.port() + "/headers?q=1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("uri=/headers?q=1", "x-keep: 2", "host: origin.test:" + plainOrigin.port())
                .doesNotContain("proxy-authorization", "x-drop", "proxy-connection");
    }

    @Test
    void upstreamConnectionsAreReused() throws Exception {
        long before = proxy.stats().upstreamReuses();
        Result r = curl(
                proxyPort,
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
                https("/cookies"),
                https("/cookies"),
                https("/cookies"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(proxy.stats().upstreamReuses()).isGreaterThanOrEqualTo(before + 2);
    }

    @Test
    void aDeadPooledConnectionIsRetriedOnAFreshOne() throws Exception {
        long reusesBefore = proxy.stats().upstreamReuses();
        long connectsBefore = proxy.stats().upstreamConnects();
        Result r = curl(proxyPort, https("/once"), https("/once"), https("/once"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("once\nonce\nonce\n");
        assertThat(proxy.stats().upstreamReuses()).isGreaterThanOrEqualTo(reusesBefore + 2);
        // the CONNECT's probe connection, the first request's, and one fresh connection per retry
        assertThat(proxy.stats().upstreamConnects()).isGreaterThanOrEqualTo(connectsBefore + 4);
    }

    @Test
    void httpsProxyPortServesTheSameProxyBehindTls() throws Exception {
        List<String> cmd = List.of(
                "curl",
                "-q",
                "-sS",
                "--max-time",
                "60",
                "--proxy",
                "https://127.0.0.1:" + proxyTlsPort,
                "--proxy-cacert",
                caPem.toString(),
                "--cacert",
                caPem.toString(),
                https("/cookies"));
        Result r = run(tmp, cmd.toArray(new String[0]));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("cookies\n");
    }

    @Test
    void caCertificateIsServedAtProxyCrt() throws Exception {
        Result r = run(tmp, "curl", "-q", "-sS", "http://127.0.0.1:" + proxyPort + "/proxy.crt");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(ca.certificatePem());
    }

    @Test
    void ipLiteralTargetsUseIpCertificates() throws Exception {
        Result r = curl(proxyPort, "https://127.0.0.1:" + tlsOrigin.port() + "/cookies");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("cookies\n");
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        String a = "http://origin.test:" + plainOrigin.port();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
            s.setSoTimeout(60_000);
            s.getOutputStream()
                    .write(("GET " + a + "/headers?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                    + "GET " + a + "/blob?size=100000 HTTP/1.1\r\nHost: x\r\n\r\n"
                                    + "GET " + a + "/headers?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            String all = readAll(s.getInputStream());
            int first = all.indexOf("uri=/headers?n=1");
            int second = all.indexOf("Content-Length: 100000".toLowerCase());
            int third = all.indexOf("uri=/headers?n=3");
            assertThat(first).isPositive();
            assertThat(all.toLowerCase().indexOf("content-length: 100000")).isGreaterThan(first);
            assertThat(third).isGreaterThan(all.toLowerCase().indexOf("content-length: 100000"));
            assertThat(all.split("HTTP/1.1 200", -1)).hasSize(4);
        }
    }

    @Test
    void http10ClientGetsAnUnchunkedBodyAndAClose() throws Exception {
        int size = 200_000;
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
            s.setSoTimeout(60_000);
            s.getOutputStream()
                    .write(("GET http://origin.test:" + plainOrigin.port() + "/blob?chunked=1&size=" + size
                                    + " HTTP/1.0\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            assertThat(readLine(in)).startsWith("HTTP/1.1 200");
            List<String> headers = new ArrayList<>();
            String line;
            while (!(line = readLine(in)).isEmpty()) {
                headers.add(line.toLowerCase());
            }
            assertThat(headers).contains("connection: close").noneMatch(h -> h.startsWith("transfer-encoding"));
            byte[] body = in.readAllBytes(); // until the proxy closes
            assertThat(OriginServer.sha256(body)).isEqualTo(OriginServer.sha256(OriginServer.blob(size)));
        }
    }

    @Test
    void worksOnInProcessChannelsOnAForeignEventLoop() throws Exception {
        // The proxy pipeline on LocalChannels (in-process, like the netstack's guest flows) whose loop is not
        // in the upstream group; curl reaches it through a byte bridge from a host socket.
        EventLoopGroup localGroup = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        try {
            LocalAddress addr = new LocalAddress("c2w-proxy-test");
            Channel local = new ServerBootstrap()
                    .group(localGroup)
                    .channel(LocalServerChannel.class)
                    .childHandler(proxy.httpInitializer())
                    .bind(addr)
                    .sync()
                    .channel();
            Channel bridge = new ServerBootstrap()
                    .group(transport.group())
                    .channel(transport.serverSocketChannel())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel host) {
                            new Bootstrap()
                                    .group(localGroup)
                                    .channel(LocalChannel.class)
                                    .handler(new ChannelInitializer<Channel>() {
                                        @Override
                                        protected void initChannel(Channel lc) {
                                            lc.pipeline().addLast(Relay.forTunnel(host));
                                        }
                                    })
                                    .connect(addr)
                                    .addListener((ChannelFutureListener) f -> {
                                        if (f.isSuccess()) {
                                            host.pipeline().addLast(Relay.forTunnel(f.channel()));
                                        } else {
                                            host.close();
                                        }
                                    });
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0))
                    .sync()
                    .channel();
            try {
                int size = 4 * 1024 * 1024 + 1;
                Result r = curl(port(bridge), "-o", "local.bin", https("/blob?size=" + size));
                assertThat(r.exit()).as(r.err()).isZero();
                assertThat(OriginServer.sha256(Files.readAllBytes(tmp.resolve("local.bin"))))
                        .isEqualTo(OriginServer.sha256(OriginServer.blob(size)));
                byte[] body = OriginServer.blob(3 * 1024 * 1024);
                Files.write(tmp.resolve("local-up.bin"), body);
                r = curl(
                        port(bridge),
                        "--data-binary",
                        "@local-up.bin",
                        "http://origin.test:" + plainOrigin.port() + "/sha256");
                assertThat(r.out()).isEqualTo("len=" + body.length + " sha256=" + OriginServer.sha256(body) + "\n");
            } finally {
                bridge.close().sync();
                local.close().sync();
            }
        } finally {
            localGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    // ------------------------------------------------------------------ tunnels

    @Test
    void plainTunnelRelaysBytesWhenTheServerSpeaksFirst() throws Exception {
        try (Socket s = connectVia(proxyPort, "echo.test:" + port(bannerEcho))) {
            InputStream in = s.getInputStream();
            assertThat(readLine(in)).isEqualTo("HELLO");
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readLine(in)).isEqualTo("echo:ping");
        }
        assertThat(proxy.stats().rawTunnels()).isPositive();
    }

    @Test
    void plainTunnelRelaysNonTlsBytesFromTheClient() throws Exception {
        try (Socket s = connectVia(proxyPort, "echo.test:" + port(silentEcho))) {
            s.getOutputStream().write("\u0001binary-ish\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(readLine(s.getInputStream())).isEqualTo("echo:\u0001binary-ish");
        }
    }

    @Test
    void plainTunnelCarriesHalfCloses() throws Exception {
        try (Socket s = connectVia(proxyPort, "echo.test:" + port(counter))) {
            byte[] data = OriginServer.blob(100_000);
            s.getOutputStream().write(data);
            s.shutdownOutput();
            assertThat(readAll(s.getInputStream())).isEqualTo("got 100000 bytes\n");
        }
    }

    private Socket connectVia(int port, String authority) throws Exception {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(60_000);
        s.getOutputStream()
                .write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        String status = readLine(in);
        assertThat(status).startsWith("HTTP/1.1 200");
        String line;
        do {
            line = readLine(in);
        } while (!line.isEmpty());
        return s;
    }

    private static String readLine(InputStream in) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                b.write(c);
            }
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static String readAll(InputStream in) throws Exception {
        return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    // ------------------------------------------------------------------ errors

    @Test
    void refusedUpstreamConnectionIs502() throws Exception {
        Result r = curl(proxyPort, "-w", "%{http_code}", "-o", "body.txt", "http://origin.test:" + deadPort + "/");
        assertThat(r.out()).isEqualTo("502");
        assertThat(Files.readString(tmp.resolve("body.txt"))).contains("cannot connect to origin.test:" + deadPort);
        r = curl(proxyPort, "https://origin.test:" + deadPort + "/");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("502");
    }

    @Test
    void untrustedOriginCertificateIs502WithTheReason() throws Exception {
        Result r = curl(strictPort, "-w", "\n%{http_code}", https("/cookies"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).endsWith("\n502");
        assertThat(r.out())
                .contains("TLS verification of https://origin.test:" + tlsOrigin.port() + " failed")
                .containsIgnoringCase("certification path");
    }

    @Test
    void denyPolicyIs403() throws Exception {
        Result r = curl(
                proxyPort, "-w", "%{http_code}", "-o", "deny.txt", "http://x.denied.test:" + plainOrigin.port() + "/");
        assertThat(r.out()).isEqualTo("403");
        assertThat(Files.readString(tmp.resolve("deny.txt"))).contains("not allowed");
        r = curl(proxyPort, "https://x.denied.test:" + tlsOrigin.port() + "/");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("403");
        assertThat(proxy.stats().refused()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void garbageInsteadOfClientHelloClosesOnlyThatConnection() throws Exception {
        long broken = proxy.stats().brokenHandshakes();
        byte[] junk = {
            0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, (byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef
        };
        try (Socket s = connectVia(proxyPort, "origin.test:" + tlsOrigin.port())) {
            s.getOutputStream().write(junk);
            readAll(s.getInputStream()); // returns at EOF: the proxy closed the connection
        }
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyTlsPort)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write(junk);
            readAll(s.getInputStream());
        }
        assertThat(proxy.stats().brokenHandshakes()).isGreaterThanOrEqualTo(broken + 2);
        Result r = curl(proxyPort, https("/cookies"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("cookies\n");
    }

    @Test
    void malformedRequestLineIs400() throws Exception {
        for (String bad : new String[] {
            "GARBAGE\r\n\r\n",
            "GET http://origin.test:1/ HTTP/1.1 extra words\r\n\r\n",
            "GET /not-a-proxy-request HTTP/1.1\r\nHost: x\r\n\r\n",
            "CONNECT no-port HTTP/1.1\r\n\r\n",
            "GET ftp://origin.test/ HTTP/1.1\r\n\r\n",
            "GET http://bad host/ HTTP/1.1\r\n\r\n"
        }) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
                s.setSoTimeout(60_000);
                s.getOutputStream().write(bad.getBytes(StandardCharsets.US_ASCII));
                String reply = readLine(s.getInputStream());
                assertThat(reply).as(bad).startsWith("HTTP/1.1 400");
            }
        }
        assertThat(proxy.stats().badRequests()).isGreaterThanOrEqualTo(6);
        Result r = curl(proxyPort, https("/cookies"));
        assertThat(r.out()).isEqualTo("cookies\n");
    }

    // ------------------------------------------------------------------ concurrency and upgrades

    @Test
    void burstOfOneHundredConnectsMintsOneLeaf() throws Exception {
        long mintedBefore = proxy.mintedLeaves();
        SSLContext ssl = clientTrustingCa();
        int n = 100;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<X509Certificate>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(pool.submit(() -> {
                    Socket raw = connectVia(proxyPort, "burst.test:" + tlsOrigin.port());
                    go.await();
                    try (SSLSocket s = (SSLSocket)
                            ssl.getSocketFactory().createSocket(raw, "burst.test", tlsOrigin.port(), true)) {
                        SSLParameters p = s.getSSLParameters();
                        p.setEndpointIdentificationAlgorithm("HTTPS");
                        s.setSSLParameters(p);
                        s.startHandshake();
                        OutputStream out = s.getOutputStream();
                        out.write("GET /cookies HTTP/1.1\r\nHost: burst.test\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                        String resp = readAll(s.getInputStream());
                        assertThat(resp).startsWith("HTTP/1.1 200").endsWith("cookies\n");
                        return (X509Certificate) s.getSession().getPeerCertificates()[0];
                    }
                }));
            }
            go.countDown();
            Set<X509Certificate> leaves = new HashSet<>();
            for (Future<X509Certificate> f : fs) {
                leaves.add(f.get(180, TimeUnit.SECONDS));
            }
            assertThat(leaves).hasSize(1);
            assertThat(leaves.iterator().next().getSubjectAlternativeNames()).containsExactly(List.of(2, "burst.test"));
            assertThat(proxy.mintedLeaves()).isEqualTo(mintedBefore + 1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void webSocketUpgradeIsRelayed() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
            s.setSoTimeout(60_000);
            webSocketEcho(s, "http://origin.test:" + plainOrigin.port() + "/ws", "origin.test:" + plainOrigin.port());
        }
        assertThat(proxy.stats().upgrades()).isPositive();
    }

    @Test
    void secureWebSocketInsideAnInterceptedTunnelIsRelayed() throws Exception {
        long before = proxy.stats().upgrades();
        String authority = "origin.test:" + tlsOrigin.port();
        Socket raw = connectVia(proxyPort, authority);
        try (SSLSocket s = (SSLSocket)
                clientTrustingCa().getSocketFactory().createSocket(raw, "origin.test", tlsOrigin.port(), true)) {
            s.setSoTimeout(60_000);
            webSocketEcho(s, "/ws", authority);
        }
        assertThat(proxy.stats().upgrades()).isEqualTo(before + 1);
    }

    private SSLContext clientTrustingCa() throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setCertificateEntry("ca", ca.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        return ssl;
    }

    /** A WebSocket handshake and one masked text frame each way, spoken by hand (RFC 6455 sample key). */
    private static void webSocketEcho(Socket s, String target, String authority) throws Exception {
        s.getOutputStream()
                .write(("GET " + target + " HTTP/1.1\r\nHost: " + authority + "\r\n"
                                + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        assertThat(readLine(in)).startsWith("HTTP/1.1 101");
        List<String> headers = new ArrayList<>();
        String line;
        while (!(line = readLine(in)).isEmpty()) {
            headers.add(line.toLowerCase());
        }
        assertThat(headers).contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=", "upgrade: websocket");
        for (String text : new String[] {"hi", "again"}) {
            byte[] mask = {1, 2, 3, 4};
            byte[] payload = text.getBytes(StandardCharsets.US_ASCII);
            byte[] frame = new byte[2 + 4 + payload.length];
            frame[0] = (byte) 0x81;
            frame[1] = (byte) (0x80 | payload.length);
            System.arraycopy(mask, 0, frame, 2, 4);
            for (int i = 0; i < payload.length; i++) {
                frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
            }
            s.getOutputStream().write(frame);
            s.getOutputStream().flush();
            assertThat(in.read()).isEqualTo(0x81);
            int len = in.read();
            assertThat(new String(in.readNBytes(len), StandardCharsets.US_ASCII))
                    .isEqualTo("echo: " + text);
        }
    }
}
