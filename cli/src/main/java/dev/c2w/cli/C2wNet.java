package dev.c2w.cli;

import dev.c2w.cli.invoke.NetworkedInvoke;
import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.addr.HostPort;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.config.NetworkConfig.PortForward;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.services.dns.ResolvConf;
import dev.c2w.netstack.transport.QemuTransport;
import dev.c2w.netstack.transport.ws.WebSocketServer;
import dev.c2w.netstack.transport.ws.WebSocketServerOptions;
import dev.c2w.netstack.wire.MacAddress;
import dev.c2w.wasi.InvokeOptions;
import dev.c2w.wasi.UsageException;
import dev.c2w.wasi.WasiRunner;
import io.netty.channel.ChannelFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Entry point of {@code c2w-net}.
 *
 * <pre>
 * The c2w-net command. Flags are upstream c2w-net's, in both spellings Go's flag package accepts
 * (-mac and --mac), plus our own. Modes:
 *   c2w-net [flags] HOST:PORT              dial a guest runtime that listens (upstream default)
 *   c2w-net [flags] --listen-qemu URL      accept guests (QEMU -netdev stream,server=off)
 *   c2w-net [flags] --listen-ws HOST:PORT  browser guests over WebSocket
 *   c2w-net [flags] --invoke out.wasm ARGS run a WASI module with networking
 * Parsing stops at the first positional argument, so everything after the module is the guest's.
 * </pre>
 */
@Command(
        name = "c2w-net",
        mixinStandardHelpOptions = true,
        version = "c2w-net (c2w-java) 0.1.0",
        sortOptions = false,
        usageHelpWidth = 110,
        subcommands = CaCommand.class,
        description = {
            "User-space network for containers converted to WebAssembly by c2w: a TCP/IP stack that exchanges",
            "Ethernet frames with the guest (4-byte big-endian length + frame, QEMU's stream framing) and",
            "bridges them to host sockets. Subnet 192.168.127.0/24; gateway, DHCP and DNS on 192.168.127.1;",
            "the guest gets 192.168.127.3 (static lease for --mac); 192.168.127.254 is the host's 127.0.0.1.",
            ""
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  c2w-net 127.0.0.1:1234                       dial a guest listening on port 1234",
            "  c2w-net --listen-qemu tcp://127.0.0.1:1234   accept QEMU: -netdev stream,id=n0,server=off,",
            "                                               addr.type=inet,addr.host=127.0.0.1,addr.port=1234",
            "  c2w-net --listen-qemu unix:///tmp/c2w.sock   the same over a UNIX socket",
            "  c2w-net -p 8080:80 127.0.0.1:1234            host port 8080 reaches the guest's port 80",
            "  c2w-net --listen-ws localhost:8888           serve browser guests (page: ?net=delegate=ws://localhost:8888)",
            "  c2w-net --invoke out.wasm sh                 run a converted container with networking",
            "  c2w-net --invoke --dir /data out.wasm sh     ... with a host directory shown to the guest",
            "  c2w-net --net-mode fetch --listen-ws localhost:8888   browser guests get HTTP(S) via the proxy only",
            "  c2w-net ca export > proxy.crt                the CA the fetch proxy's certificates chain to",
            "",
            "Inside the guest: 192.168.127.254 is the host's 127.0.0.1, e.g. wget http://192.168.127.254:8000/",
            "HTTP(S) proxy for guests: http://192.168.127.253:80 (trust the CA from 'c2w-net ca export')."
        })
public final class C2wNet implements Callable<Integer> {
    private static final System.Logger LOG = System.getLogger("c2w-net");
    private static final HostPort.Syntax PUBLISH = HostPort.syntax("-p").withBarePort(HostPort.BarePort.PORT);
    private static final String PUBLISH_FORMS =
            "[udp:|tcp:][IP:]HOSTPORT:GUESTPORT with IPv6 in brackets, e.g. 127.0.0.1:8080:80";
    private static final HostPort.Syntax DNS_UPSTREAM =
            HostPort.syntax("--dns-upstream").withDefaultPort(53).withBarePort(HostPort.BarePort.COLON_PORT);

    @Parameters(
            arity = "0..*",
            paramLabel = "ARGS",
            description = {
                "Dial mode: HOST:PORT of the guest's listening socket.",
                "--listen-ws: the address to listen on, e.g. localhost:8888.",
                "--invoke: the Wasm module, then its arguments."
            })
    List<String> args = new ArrayList<>();

    @Option(
            names = {"-p", "--p", "--publish"},
            paramLabel = "[udp:][IP:]HOSTPORT:GUESTPORT",
            description = {
                "Forward a host port to the guest (repeatable). IP defaults to 0.0.0.0;",
                "prefix udp: for UDP. Example: -p 127.0.0.1:8080:80"
            })
    List<String> publish = new ArrayList<>();

    @Option(
            names = {"--mac", "-mac"},
            paramLabel = "MAC",
            defaultValue = "02:00:00:00:00:01",
            description = {
                "MAC address that gets the static lease 192.168.127.3 (default: ${DEFAULT-VALUE}).",
                "Must match the guest's NIC (c2w guests use the default)."
            })
    String mac;

    @Option(
            names = {"--debug", "-debug"},
            arity = "0..1",
            fallbackValue = "true",
            description = {
                "Log every frame (one line each: ARP, TCP flags, UDP, ICMP) and debug details to stderr.",
                "Example: c2w-net --debug 127.0.0.1:1234 2> frames.log"
            })
    boolean debug;

    @Option(
            names = {"--listen-qemu"},
            paramLabel = "URL",
            description = {
                "Listen for guests instead of dialing: tcp://HOST:PORT or unix:///PATH.",
                "Every connection joins one LAN. Example: --listen-qemu tcp://127.0.0.1:1234"
            })
    String listenQemu;

    @Option(
            names = {"--listen-ws", "-listen-ws"},
            arity = "0..1",
            fallbackValue = "true",
            description = {
                "Serve browser guests over WebSocket on the address given as the argument.",
                "Example: c2w-net --listen-ws localhost:8888"
            })
    boolean listenWs;

    @Option(
            names = {"--invoke", "-invoke"},
            arity = "0..1",
            fallbackValue = "true",
            description = {
                "Run the Wasm module given as the first argument, with networking.",
                "Example: c2w-net --invoke out.wasm sh"
            })
    boolean invoke;

    @picocli.CommandLine.Mixin
    InvokeOptions invokeOptions = new InvokeOptions();

    @picocli.CommandLine.Mixin
    ProxyOptions proxyOptions = new ProxyOptions();

    @Option(
            names = {"--dns-upstream"},
            paramLabel = "HOST[:PORT]",
            description = {
                "DNS resolver that guest queries are forwarded to (repeatable; tried in order).",
                "Default: the nameservers in /etc/resolv.conf. Example: --dns-upstream 127.0.0.1:5353"
            })
    List<String> dnsUpstreams = new ArrayList<>();

    @Option(
            names = {"--pcap"},
            paramLabel = "FILE",
            description = {
                "Write every frame to FILE in pcap format, both directions.",
                "Example: --pcap /tmp/c2w.pcap, then tshark -r /tmp/c2w.pcap"
            })
    Path pcap;

    @Option(
            names = {"--mtu"},
            paramLabel = "BYTES",
            defaultValue = "1500",
            description = {
                "IP MTU offered to the guest by DHCP option 26 (default: ${DEFAULT-VALUE}).",
                "Example: --mtu 65520 for guests that use it"
            })
    int mtu;

    @Option(
            names = {"--max-tcp-flows"},
            paramLabel = "N",
            defaultValue = "4096",
            description = {
                "Most concurrent guest TCP connections; more get RST (default: ${DEFAULT-VALUE}).",
                "Example: --max-tcp-flows 10000"
            })
    int maxTcpFlows;

    @Option(
            names = {"--net-mode"},
            paramLabel = "full|fetch",
            defaultValue = "full",
            description = {
                "full: NAT of all TCP/UDP to the host (default).",
                "fetch: only DHCP, DNS and the HTTP(S) proxy at 192.168.127.253:80; other TCP is reset,",
                "       other UDP gets ICMP port unreachable. Example: --net-mode fetch"
            })
    String netMode;

    @Option(
            names = {"--shared-network"},
            description = {
                "With --listen-ws: put all WebSocket guests on one LAN (upstream behaviour);",
                "by default each connection gets its own network. Example: --listen-ws :8888 --shared-network"
            })
    boolean sharedNetwork;

    @Option(
            names = {"--ws-allow-origin"},
            paramLabel = "PATTERN",
            description = {
                "With --listen-ws: also accept pages from this Origin (repeatable, * allowed).",
                "Default: loopback pages (http://localhost:*, http://127.0.0.1:*) and no Origin.",
                "Example: --ws-allow-origin 'https://*.example.org'"
            })
    List<String> wsAllowOrigin = new ArrayList<>();

    @Option(
            names = {"--max-ws-connections"},
            paramLabel = "N",
            defaultValue = "64",
            description = {
                "With --listen-ws: most concurrent WebSocket guests (default: ${DEFAULT-VALUE}).",
                "Example: --max-ws-connections 8"
            })
    int maxWsConnections;

    public static void main(String[] argv) {
        int rc = run(argv);
        System.exit(rc);
    }

    /** Runs the command as the process would; returns the exit status. */
    public static int run(String... argv) {
        CommandLine cl = commandLine(isInvoke(argv));
        return cl.execute(argv);
    }

    /** --invoke mode: everything after the module belongs to the guest, so parsing stops there. */
    static boolean isInvoke(String[] argv) {
        for (String a : argv) {
            if (a.equals("--invoke") || a.equals("-invoke") || a.equals("--invoke=true") || a.equals("-invoke=true")) {
                return true;
            }
        }
        return false;
    }

    static CommandLine commandLine(boolean invokeMode) {
        CommandLine cl = new CommandLine(new C2wNet());
        cl.setStopAtPositional(invokeMode);
        cl.setUnmatchedOptionsArePositionalParams(invokeMode);
        cl.setPosixClusteredShortOptionsAllowed(false);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            cmd.getErr().println("c2w-net: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return 1;
        });
        return cl;
    }

    @Override
    public Integer call() throws Exception {
        Logging.setup(debug);
        try {
            return start();
        } catch (UsageException | IllegalArgumentException e) {
            System.err.println("c2w-net: " + e.getMessage());
            System.err.println("Run 'c2w-net --help' for usage.");
            return 2;
        }
    }

    NetworkConfig buildConfig(LazyProxy proxy) {
        NetworkConfig.Builder b = NetworkConfig.builder()
                .guestMac(MacAddress.parse(mac))
                .mtu(mtu)
                .maxTcpFlows(maxTcpFlows)
                .debug(debug)
                .pcapFile(pcap);
        switch (netMode) {
            case "full" -> b.netMode(NetworkConfig.NetMode.FULL);
            case "fetch" -> b.netMode(NetworkConfig.NetMode.FETCH);
            default -> throw new UsageException("--net-mode must be full or fetch, not " + netMode);
        }
        for (String p : publish) {
            b.addForward(parseForward(p));
        }
        List<InetSocketAddress> dns = new ArrayList<>();
        for (String d : dnsUpstreams) {
            dns.add(parseDnsUpstream(d));
        }
        if (dns.isEmpty()) {
            dns.addAll(ResolvConf.defaultUpstreams());
            if (dns.isEmpty()) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "no nameserver in /etc/resolv.conf and no --dns-upstream: guest DNS queries will get SERVFAIL");
            }
        }
        b.dnsUpstreams(dns);
        if (proxy != null) {
            // the HTTP(S) proxy inside every network: plain HTTP + CONNECT on :80, the same behind TLS on :443
            b.addTcpService(NetworkConfig.DEFAULT_PROXY_IP, 80, proxy.httpHandler());
            b.addTcpService(NetworkConfig.DEFAULT_PROXY_IP, 443, proxy.tlsHandler());
        }
        return b.build();
    }

    private int start() throws Exception {
        if (!invoke) {
            for (String a : args) {
                if (a.startsWith("-")) {
                    throw new UsageException("unknown option " + a);
                }
            }
        }
        // --invoke: read and compile the module while the network stack and the proxy's CA are set up
        WasiRunner.Preload preload = null;
        if (invoke && !args.isEmpty() && listenQemu == null && !listenWs) {
            invokeOptions.positionals(args);
            preload = WasiRunner.preload(invokeOptions);
        }
        HostTransport host = HostTransport.create();
        try {
            NetworkConfig base = buildConfig(null);
            // the CA is loaded (or created) and checked now; the proxy itself is built on first use
            LazyProxy proxy = new LazyProxy(proxyOptions
                    .configBuilder(host)
                    .resolver(new GuestViewResolverGroup(base, host))
                    .build());
            NetworkConfig config = buildConfig(proxy);
            if (config.netMode() == NetworkConfig.NetMode.FETCH) {
                LOG.log(
                        System.Logger.Level.INFO,
                        "fetch mode: guests get DHCP, DNS and the HTTP(S) proxy at http://"
                                + "192.168.127.253:80 only; other TCP is reset and other UDP gets port unreachable");
            }
            if (listenWs) {
                return serveWebSocket(config, host, proxy);
            }
            if (invoke) {
                return invokeModule(config, host, preload);
            }
            return serveQemu(config, host);
        } finally {
            host.close();
        }
    }

    /** --invoke: run the module on the embedded runtime (or wasmtime), its socket joined to a network. */
    private int invokeModule(NetworkConfig config, HostTransport host, WasiRunner.Preload preload) throws Exception {
        if (listenQemu != null) {
            throw new UsageException("--invoke and --listen-qemu cannot be combined");
        }
        if (args.isEmpty()) {
            throw new UsageException("--invoke needs the module: c2w-net --invoke [options] out.wasm [ARGS...]");
        }
        invokeOptions.positionals(args);
        try (Session session = new Session(config, host)) {
            VirtualNetwork net = session.own(VirtualNetwork.create(config, host, session.pcap()));
            session.forwards(() -> net);
            return NetworkedInvoke.run(new WasiRunner(), invokeOptions, net, preload);
        }
    }

    /** Dial or --listen-qemu. */
    private int serveQemu(NetworkConfig config, HostTransport host) throws Exception {
        SocketAddress target;
        if (listenQemu != null) {
            if (!args.isEmpty()) {
                throw new UsageException("--listen-qemu takes no positional argument, got " + args);
            }
            target = QemuTransport.parseAddress(listenQemu, "--listen-qemu");
        } else {
            if (args.size() != 1) {
                throw new UsageException(
                        args.isEmpty()
                                ? "give the guest's address to dial (e.g. c2w-net 127.0.0.1:1234), or --listen-qemu URL"
                                : "dial mode takes one address, got " + args);
            }
            target = QemuTransport.parseAddress(args.get(0), "the guest's address");
        }

        CountDownLatch done = new CountDownLatch(1);
        try (Session session = new Session(config, host)) {
            VirtualNetwork net = session.own(VirtualNetwork.create(config, host, session.pcap()));
            session.reportOnExit(() -> net.stats().toString());
            session.forwards(() -> net);
            if (listenQemu != null) {
                ChannelFuture lf;
                try {
                    lf = QemuTransport.listen(net, target).awaitUninterruptibly();
                } catch (IOException e) {
                    throw new UsageException("cannot listen on " + listenQemu + ": " + e.getMessage());
                }
                if (!lf.isSuccess()) {
                    throw new UsageException(
                            "cannot listen on " + listenQemu + ": " + lf.cause().getMessage());
                }
                LOG.log(
                        System.Logger.Level.INFO,
                        "listening for QEMU-stream guests on " + QemuTransport.format(target));
                lf.channel().closeFuture().awaitUninterruptibly();
                return 0;
            }
            ChannelFuture cf = dialWithRetry(net, target);
            if (!cf.isSuccess()) {
                throw new UsageException("cannot connect to the guest at " + QemuTransport.format(target) + ": "
                        + cf.cause().getMessage() + " (is the guest runtime listening there?)");
            }
            LOG.log(System.Logger.Level.INFO, "connected to guest at " + QemuTransport.format(target));
            cf.channel().closeFuture().addListener(x -> done.countDown());
            done.await();
            LOG.log(System.Logger.Level.INFO, "guest connection closed");
            return 0;
        }
    }

    /** --listen-ws: browser guests, each on its own network unless --shared-network. */
    private int serveWebSocket(NetworkConfig config, HostTransport host, LazyProxy proxy) throws Exception {
        if (listenQemu != null) {
            throw new UsageException("--listen-ws and --listen-qemu cannot be combined; run two c2w-net processes");
        }
        if (args.size() != 1) {
            throw new UsageException(
                    "--listen-ws takes the address to listen on, e.g. c2w-net --listen-ws localhost:8888");
        }
        InetSocketAddress bind = WebSocketServerOptions.parseListenAddress(args.get(0));
        try (Session session = new Session(config, host)) {
            WebSocketServer server = session.own(new WebSocketServer(WebSocketServerOptions.builder(config, host)
                    .bindAddress(bind)
                    .allowOrigins(wsAllowOrigin)
                    .sharedNetwork(sharedNetwork)
                    .maxConnections(maxWsConnections)
                    .pcap(session.pcap())
                    .caPem(() -> proxy.caCertificatePem().getBytes(StandardCharsets.US_ASCII))
                    .build()));
            try {
                server.start();
            } catch (IOException e) {
                throw new UsageException(
                        "cannot listen on " + args.get(0) + ": " + e.getMessage() + " (is the port in use?)");
            }
            session.forwards(server::currentNetwork);
            if (!config.forwards().isEmpty()) {
                LOG.log(System.Logger.Level.INFO, "port forwards reach the most recently connected guest");
            }
            session.reportOnExit(() -> server.stats().toString());
            new CountDownLatch(1).await(); // until the process is stopped
            return 0;
        }
    }

    private static ChannelFuture dialWithRetry(VirtualNetwork net, SocketAddress target) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean told = false;
        while (true) {
            ChannelFuture cf = QemuTransport.dial(net, target).awaitUninterruptibly();
            if (cf.isSuccess() || System.nanoTime() > deadline) {
                return cf;
            }
            if (!told) {
                LOG.log(
                        System.Logger.Level.INFO,
                        "waiting for the guest to listen on " + QemuTransport.format(target) + " ...");
                told = true;
            }
            Thread.sleep(200);
        }
    }

    /**
     * {@code -p [udp:|tcp:][IP:]HOSTPORT:GUESTPORT}: the guest port is after the last colon, and what is
     * before it is read by {@link HostPort}'s rules with a port alone allowed ({@code 8080} and
     * {@code :8080} both mean IP 0.0.0.0) and IPv6 in brackets ({@code [::1]:8080:80}).
     */
    static PortForward parseForward(String spec) {
        boolean udp = spec.startsWith("udp:");
        String s = udp || spec.startsWith("tcp:") ? spec.substring(4) : spec;
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            throw new UsageException(HostPort.message("-p", PUBLISH_FORMS, spec, "missing GUESTPORT"));
        }
        try {
            HostPort host = HostPort.parse(s.substring(0, colon), PUBLISH).orHost("0.0.0.0");
            int guestPort = HostPort.parsePort(s.substring(colon + 1), PUBLISH);
            return new PortForward(udp, host.host(), host.port(), guestPort);
        } catch (HostPort.ParseException e) {
            throw new UsageException(HostPort.message("-p", PUBLISH_FORMS, spec, e.detail()));
        }
    }

    /**
     * {@code --dns-upstream HOST[:PORT]} by {@link HostPort}'s rules: port 53 unless given, IPv6 bare or in
     * brackets, {@code :PORT} is this machine's loopback.
     */
    static InetSocketAddress parseDnsUpstream(String spec) {
        HostPort hp = HostPort.parse(spec, DNS_UPSTREAM);
        return hp.hasHost()
                ? hp.toInetSocketAddress()
                : new InetSocketAddress(InetAddress.getLoopbackAddress(), hp.port());
    }
}
