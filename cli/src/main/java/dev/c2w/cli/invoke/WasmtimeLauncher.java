package dev.c2w.cli.invoke;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.addr.HostPort;
import dev.c2w.netstack.addr.IpLiteral;
import dev.c2w.netstack.transport.QemuTransport;
import dev.c2w.wasi.InvokeOptions;
import dev.c2w.wasi.UsageException;
import dev.c2w.wasi.WasiRunner;
import io.netty.channel.ChannelFuture;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code --runtime wasmtime}: what upstream c2w-net --invoke does. wasmtime runs the module with a
 * pre-opened TCP listener on {@code -wasi-addr} (loopback); we dial it (10 tries, 1 s apart) and attach the
 * connection to the network as a QEMU stream. wasmtime puts that socket at fd 3, before any directory, so
 * with --dir the guest's pre-open scan stops at the socket (upstream's known limitation; the embedded
 * runtime does not have it).
 */
final class WasmtimeLauncher {
    private static final HostPort.Syntax WASI_ADDR = HostPort.syntax("-wasi-addr");
    private static final String WASI_ADDR_FORMS =
            "a literal IP address and a port (IPV4:PORT, [IPV6]:PORT or localhost:PORT)";

    private final PrintStream msg;

    WasmtimeLauncher(PrintStream msg) {
        this.msg = msg;
    }

    /** The wasmtime command line, exactly as upstream builds it (plus directories and environment). */
    static List<String> command(
            String wasmtime, InvokeOptions o, Map<String, Path> dirs, Map<String, String> env, boolean withListener) {
        List<String> cmd = new ArrayList<>();
        cmd.add(wasmtime);
        cmd.add("run");
        if (o.wasmtimeCli13()) {
            if (withListener) {
                cmd.add("--tcplisten=" + o.wasiAddr());
                cmd.add("--env=LISTEN_FDS=1");
            }
            dirs.forEach((guest, host) -> {
                cmd.add("--mapdir");
                cmd.add(guest + "::" + host);
            });
            env.forEach((k, v) -> cmd.add("--env=" + k + "=" + v));
        } else {
            cmd.add("-S");
            cmd.add("preview2=n");
            if (withListener) {
                cmd.add("-S");
                cmd.add("tcplisten=" + o.wasiAddr());
                cmd.add("--env=LISTEN_FDS=1");
            }
            dirs.forEach((guest, host) -> {
                cmd.add("--dir");
                cmd.add(host + "::" + guest);
            });
            env.forEach((k, v) -> cmd.add("--env=" + k + "=" + v));
        }
        cmd.add("--");
        cmd.add(o.module().toString());
        cmd.addAll(o.args());
        return cmd;
    }

    /** The executable: a path as given, or the first match on PATH; null when there is none. */
    static String resolve(String wasmtime) {
        if (wasmtime.contains(File.separator)) {
            return Files.isExecutable(Path.of(wasmtime)) ? wasmtime : null;
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String d : path.split(File.pathSeparator, -1)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, wasmtime))) {
                return Path.of(d, wasmtime).toString();
            }
        }
        return null;
    }

    int run(InvokeOptions o, VirtualNetwork network) {
        String exe = resolve(o.wasmtime());
        if (exe == null) {
            msg.println("c2w-net: --runtime wasmtime: cannot find '" + o.wasmtime() + "'"
                    + (o.wasmtime().contains(File.separator) ? "" : " on PATH")
                    + "; install wasmtime, pass --wasmtime PATH, or drop --runtime to use the embedded runtime");
            return WasiRunner.EXIT_RUNNER;
        }
        InetSocketAddress addr = parseAddr(o.wasiAddr());
        List<String> cmd = command(exe, o, WasiRunner.preopens(o), WasiRunner.env(o), network != null);
        Process p;
        try {
            p = new ProcessBuilder(cmd).inheritIO().start();
        } catch (IOException e) {
            msg.println("c2w-net: cannot start " + exe + ": " + e.getMessage());
            return WasiRunner.EXIT_RUNNER;
        }
        Thread dialer = null;
        if (network != null) {
            dialer = new Thread(() -> dial(network, addr, p), "wasmtime-dial");
            dialer.setDaemon(true);
            dialer.start();
        }
        while (true) {
            try {
                return p.waitFor();
            } catch (InterruptedException e) {
                p.destroy();
            }
        }
    }

    /**
     * Parses {@code -wasi-addr} by {@link HostPort}'s rules ({@code HOST:PORT} or {@code [IPV6]:PORT}, the port
     * 1-65535), where the host must be an IP literal or {@code localhost}: wasmtime itself takes no names.
     */
    static InetSocketAddress parseAddr(String a) {
        HostPort hp;
        try {
            hp = HostPort.parse(a, WASI_ADDR);
        } catch (HostPort.ParseException e) {
            throw new UsageException(HostPort.message(WASI_ADDR.what(), WASI_ADDR_FORMS, a, e.detail()));
        }
        InetAddress ip = hp.host().equals("localhost") ? InetAddress.getLoopbackAddress() : IpLiteral.parse(hp.host());
        if (ip == null) {
            throw new UsageException(
                    HostPort.message(WASI_ADDR.what(), WASI_ADDR_FORMS, a, "'" + hp.host() + "' is not an IP address"));
        }
        return new InetSocketAddress(ip, hp.port());
    }

    private void dial(VirtualNetwork net, InetSocketAddress addr, Process p) {
        for (int attempt = 1; attempt <= 10 && p.isAlive(); attempt++) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            // the same transport as c2w-net HOST:PORT: its frame cap and its backpressure
            ChannelFuture f = QemuTransport.dial(net, addr).awaitUninterruptibly();
            if (f.isSuccess()) {
                return;
            }
        }
        if (p.isAlive()) {
            msg.println("c2w-net: could not connect to wasmtime's listener at " + addr + " after 10 tries");
        }
    }
}
