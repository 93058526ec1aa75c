package dev.c2w.cli.invoke;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.testkit.WasmGuests;
import dev.c2w.testkit.WasmModules;
import dev.c2w.wasi.InvokeOptions;
import dev.c2w.wasi.WasiRunner;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C "emulator" guest on the runner, its socket wired to a real VirtualNetwork in-process: accept,
 * QEMU-framed DHCP, poll wakeups. A DHCP server written in the test sits on a second switch port, so
 * these run whatever the gateway can do; the gateway's own DHCP and TCP are tested by the disabled ones.
 */
class WasiNetworkTest {
    static final int FAKE_SERVER = ip(192, 168, 127, 77);
    static final int FAKE_LEASE = ip(192, 168, 127, 99);
    static final byte[] FAKE_MAC = {0x02, 0, 0, 0, 0, 0x77};

    static Path module;
    HostTransport host;
    PcapWriter pcap;
    VirtualNetwork net;
    GuestPort fakePort;
    final AtomicInteger dhcpSeen = new AtomicInteger();

    @BeforeAll
    static void build() throws Exception {
        module = WasmGuests.wasm("net_guest");
    }

    @BeforeEach
    void setUp() {
        host = HostTransport.create(1, true);
        pcap = pcap();
        net = VirtualNetwork.create(NetworkConfig.builder().build(), host, pcap);
    }

    @AfterEach
    void tearDown() {
        net.close();
        host.close();
        if (pcap != null) {
            pcap.close();
        }
    }

    /** -Dc2w.pcap=FILE writes the network's frames there (debugging). */
    static PcapWriter pcap() {
        String f = System.getProperty("c2w.pcap");
        try {
            return f == null ? null : new PcapWriter(Path.of(f));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    /** Attaches a port that answers DHCP DISCOVER with an OFFER and REQUEST with an ACK for FAKE_LEASE. */
    void attachFakeDhcpServer() {
        fakePort = net.eventLoop()
                .submit(() -> net.attach(new FrameSink() {
                    @Override
                    public void sendFrame(ByteBuf frame) {
                        byte[] f = ByteBufUtil.getBytes(frame);
                        frame.release();
                        byte[] reply = dhcpReply(f);
                        if (reply != null) {
                            dhcpSeen.incrementAndGet();
                            net.eventLoop().execute(() -> fakePort.receiveFrame(Unpooled.wrappedBuffer(reply)));
                        }
                    }
                }))
                .syncUninterruptibly()
                .getNow();
    }

    static byte[] dhcpReply(byte[] f) {
        ByteBuffer in = ByteBuffer.wrap(f);
        if (f.length < 14 + 20 + 8 + 240 || in.getShort(12) != 0x0800 || f[14 + 9] != 17) {
            return null;
        }
        int ihl = (f[14] & 15) * 4;
        int udp = 14 + ihl;
        int bootp = udp + 8;
        if (in.getShort(udp + 2) != 67 || f[bootp] != 1 || in.getInt(bootp + 236) != 0x63825363) {
            return null;
        }
        int type = 0;
        for (int i = bootp + 240; i + 1 < f.length && (f[i] & 0xff) != 255; ) {
            if (f[i] == 0) {
                i++;
                continue;
            }
            if (f[i] == 53) {
                type = f[i + 2];
            }
            i += 2 + (f[i + 1] & 0xff);
        }
        int replyType = type == 1 ? 2 : type == 3 ? 5 : 0;
        if (replyType == 0) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(300);
        b.put((byte) 2).put((byte) 1).put((byte) 6).put((byte) 0);
        b.putInt(in.getInt(bootp + 4)); // xid
        b.putShort((short) 0).putShort((short) 0x8000);
        b.putInt(0).putInt(FAKE_LEASE).putInt(FAKE_SERVER).putInt(0);
        b.put(f, bootp + 28, 16);
        b.position(236);
        b.putInt(0x63825363);
        b.put(new byte[] {53, 1, (byte) replyType});
        b.put(new byte[] {54, 4}).putInt(FAKE_SERVER);
        b.put(new byte[] {1, 4}).putInt(0xffffff00);
        b.put(new byte[] {3, 4}).putInt(FAKE_SERVER);
        b.put(new byte[] {51, 4}).putInt(3600);
        b.put((byte) 255);
        byte[] payload = b.array();

        ByteBuffer o = ByteBuffer.allocate(14 + 20 + 8 + payload.length);
        o.put(f, bootp + 28, 6).put(FAKE_MAC).putShort((short) 0x0800);
        int ipStart = o.position();
        o.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) (20 + 8 + payload.length))
                .putInt(0)
                .put((byte) 64)
                .put((byte) 17)
                .putShort((short) 0)
                .putInt(FAKE_SERVER)
                .putInt(0xffffffff);
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += o.getShort(ipStart + i) & 0xffff;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        o.putShort(ipStart + 10, (short) ~sum);
        o.putShort((short) 67)
                .putShort((short) 68)
                .putShort((short) (8 + payload.length))
                .putShort((short) 0);
        o.put(payload);
        return o.array();
    }

    record Run(int code, String out, String err) {}

    Run run(InvokeOptions o) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = NetworkedInvoke.run(new WasiRunner(new ByteArrayInputStream(new byte[0]), out, err), o, net);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theGuestAcceptsAndLeasesAnAddressOverTheInProcessSocket() {
        attachFakeDhcpServer();
        Run r = run(
                new InvokeOptions().module(module, List.of("dhcp", "--net=socket", "--want-server", "192.168.127.77")));
        assertThat(r.out()).contains("accepted fd 4").contains("leased 192.168.127.99 via 192.168.127.77");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(dhcpSeen).hasValue(2); // DISCOVER and REQUEST
    }

    @Test
    void aGuestThatDoesNotSpeakTheFramingLosesThatConnectionOnly() {
        attachFakeDhcpServer();
        Run r = run(
                new InvokeOptions().module(module, List.of("junk", "--net=socket", "--want-server", "192.168.127.77")));
        assertThat(r.out())
                .contains("accepted fd 4\njunk send: errno 64\nthen recv: errno 0, 0 bytes\nclose: errno 0\n"
                        + "accepted fd 4\n")
                .contains("leased 192.168.127.99");
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void directoriesAndTheSocketWorkTogether(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("hello.txt"), "from a pre-opened dir\n");
        Path other = Files.createDirectories(tmp.resolve("other"));
        attachFakeDhcpServer();
        Run r = run(new InvokeOptions()
                .module(
                        module,
                        List.of("dhcp", "--net=socket", "--want-server", "192.168.127.77", "--cat", "/data/hello.txt"))
                .dir(tmp + "::/data")
                .mapdir("/other::" + other));
        // two directories at fd 3 and 4, the listening socket at 5, the connection at 6
        assertThat(r.out())
                .contains("file: from a pre-opened dir")
                .contains("accepted fd 6")
                .contains("leased 192.168.127.99");
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void withoutANetworkThereIsNoListeningSocket() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = new WasiRunner(new ByteArrayInputStream(new byte[0]), out, new ByteArrayOutputStream())
                .run(new InvokeOptions().module(module, List.of("dhcp", "--net=socket")), null);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("fd 3 is not a socket");
        assertThat(code).isEqualTo(1);
    }

    /** The gateway's DHCP server and TCP exist in the lead's stack; in a copy with the stubs these tests skip. */
    static void assumeGatewayServices() {
        try {
            Class.forName("dev.c2w.netstack.services.dhcp.DhcpServer");
        } catch (ClassNotFoundException e) {
            Assumptions.abort("needs gateway DHCP and TCP (the lead's stack)");
        }
    }

    @Test
    void theGatewayLeasesTheStaticAddress() {
        assumeGatewayServices();
        Run r = run(new InvokeOptions().module(module, List.of("dhcp", "--net=socket")));
        assertThat(r.out()).contains("leased 192.168.127.3 via 192.168.127.1");
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void aConnectionFromTheStackReachesTheGuestsResponder() throws Exception {
        assumeGatewayServices();
        PipedOutputStream stdinWriter = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(stdinWriter);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        WasiRunner runner = new WasiRunner(stdin, out, new ByteArrayOutputStream());
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() ->
                NetworkedInvoke.run(runner, new InvokeOptions().module(module, List.of("serve", "--net=socket")), net));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!out.toString(StandardCharsets.UTF_8).contains("serving port 80")) {
            assertThat(System.nanoTime()).as("guest never served: " + out).isLessThan(end);
            Thread.sleep(20);
        }
        CompletableFuture<String> body = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        Channel ch = net.connectToGuest(NetworkConfig.DEFAULT_GUEST, 80, new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                        got.append(msg.toString(StandardCharsets.US_ASCII));
                    }

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        // the guest's FIN: a half-closed input (the channel may stay open for our side)
                        if (evt instanceof ChannelInputShutdownEvent
                                || evt instanceof ChannelInputShutdownReadComplete) {
                            body.complete(got.toString());
                            ctx.close();
                        }
                        ctx.fireUserEventTriggered(evt);
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        body.complete(got.toString());
                    }
                })
                .sync()
                .getNow();
        ch.writeAndFlush(Unpooled.copiedBuffer("GET / HTTP/1.0\r\n\r\n", StandardCharsets.US_ASCII));
        assertThat(body.get(30, TimeUnit.SECONDS))
                .startsWith("HTTP/1.0 200 OK")
                .endsWith("hello from the wasi guest\n");
        stdinWriter.write("quit\n".getBytes());
        stdinWriter.flush();
        assertThat(exit.get(30, TimeUnit.SECONDS)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).endsWith("bye\n");
    }

    @Test
    void aPortForwardFromTheHostReachesTheGuestsResponderWithCurl() throws Exception {
        assumeGatewayServices();
        Assumptions.assumeTrue(WasmGuests.onPath("curl"), "curl missing");
        Class<?> forwarderClass;
        try {
            forwarderClass = Class.forName("dev.c2w.netstack.PortForwarder");
        } catch (ClassNotFoundException e) {
            Assumptions.abort("needs the stack's PortForwarder (-p)");
            return;
        }
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        NetworkConfig.PortForward pf = new NetworkConfig.PortForward(false, "127.0.0.1", port, 80);
        // built reflectively so this file compiles against a stack copy without -p support
        AutoCloseable forwarder = (AutoCloseable) forwarderClass
                .getConstructor(HostTransport.class, Supplier.class, NetworkConfig.PortForward.class)
                .newInstance(host, (Supplier<VirtualNetwork>) () -> net, pf);
        try {
            ((ChannelFuture) forwarderClass.getMethod("start").invoke(forwarder)).sync();
            PipedOutputStream stdinWriter = new PipedOutputStream();
            PipedInputStream stdin = new PipedInputStream(stdinWriter);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            WasiRunner runner = new WasiRunner(stdin, out, new ByteArrayOutputStream());
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> NetworkedInvoke.run(
                    runner, new InvokeOptions().module(module, List.of("serve", "--net=socket")), net));
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!out.toString(StandardCharsets.UTF_8).contains("serving port 80")) {
                assertThat(System.nanoTime()).as("guest never served: " + out).isLessThan(end);
                Thread.sleep(20);
            }
            Process curl = new ProcessBuilder("curl", "-s", "--max-time", "20", "http://127.0.0.1:" + port + "/")
                    .redirectErrorStream(true)
                    .start();
            String body = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(body).isEqualTo("hello from the wasi guest\n");
            stdinWriter.write("quit\n".getBytes());
            stdinWriter.flush();
            assertThat(exit.get(30, TimeUnit.SECONDS)).isZero();
        } finally {
            forwarder.close();
        }
    }

    @Test
    void wasmtimeRuntimeListensAndTheRunnerDialsItAsAQemuStream(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(WasmGuests.onPath("python3"), "python3 missing");
        Path fake = tmp.resolve("wasmtime");
        Files.copy(Path.of("src/test/resources/fake-wasmtime.py"), fake);
        fake.toFile().setExecutable(true);
        Path wasm = Files.write(tmp.resolve("m.wasm"), WasmModules.withMemory(1));
        // a port on the switch that answers the first frame it sees with a frame to the sender
        CompletableFuture<byte[]> seen = new CompletableFuture<>();
        fakePort = net.eventLoop()
                .submit(() -> net.attach(new FrameSink() {
                    @Override
                    public void sendFrame(ByteBuf frame) {
                        byte[] f = ByteBufUtil.getBytes(frame);
                        frame.release();
                        if (seen.complete(f)) {
                            byte[] reply = Arrays.copyOf(f, 60);
                            System.arraycopy(f, 6, reply, 0, 6);
                            System.arraycopy(FAKE_MAC, 0, reply, 6, 6);
                            net.eventLoop().execute(() -> fakePort.receiveFrame(Unpooled.wrappedBuffer(reply)));
                        }
                    }
                }))
                .syncUninterruptibly()
                .getNow();
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        int code = NetworkedInvoke.run(
                new WasiRunner(
                        new ByteArrayInputStream(new byte[0]),
                        new ByteArrayOutputStream(),
                        new ByteArrayOutputStream()),
                new InvokeOptions()
                        .module(wasm, List.of("--net=socket", "sh"))
                        .runtime(InvokeOptions.Engine.wasmtime)
                        .wasmtime(fake.toString())
                        .wasiAddr("127.0.0.1:" + port),
                net);
        assertThat(code).isEqualTo(42);
        assertThat(new String(seen.get(10, TimeUnit.SECONDS), 14, 24, StandardCharsets.US_ASCII))
                .isEqualTo("hello from fake wasmtime");
        assertThat(Files.readAllLines(tmp.resolve("wasmtime.argv")))
                .containsExactly(
                        "run",
                        "-S",
                        "preview2=n",
                        "-S",
                        "tcplisten=127.0.0.1:" + port,
                        "--env=LISTEN_FDS=1",
                        "--",
                        wasm.toString(),
                        "--net=socket",
                        "sh");
    }
}
