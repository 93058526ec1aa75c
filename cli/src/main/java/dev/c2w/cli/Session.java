package dev.c2w.cli;

import dev.c2w.netstack.PortForwarder;
import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.config.NetworkConfig.PortForward;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.wasi.UsageException;
import io.netty.channel.ChannelFuture;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Supplier;

/**
 * What one run of c2w-net holds open, whatever its mode: the pcap file, the networks or the WebSocket
 * server, the port forwards. Closing the session closes them in the reverse order of opening, the pcap
 * file last; a mode that runs until the process is stopped also asks for its statistics to be printed and
 * the pcap file closed by a shutdown hook.
 */
final class Session implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("c2w-net");

    private final NetworkConfig config;
    private final HostTransport host;
    private final PcapWriter pcap;
    private final Deque<AutoCloseable> open = new ArrayDeque<>();

    Session(NetworkConfig config, HostTransport host) throws IOException {
        this.config = config;
        this.host = host;
        this.pcap = config.pcapFile() == null ? null : new PcapWriter(config.pcapFile());
    }

    /** The pcap writer of --pcap, or null. */
    PcapWriter pcap() {
        return pcap;
    }

    /** {@code c} is closed with the session, before what was opened earlier. */
    <T extends AutoCloseable> T own(T c) {
        open.push(c);
        return c;
    }

    /** Starts the -p forwards into the network {@code net} gives at each connection. */
    void forwards(Supplier<VirtualNetwork> net) {
        for (PortForward f : config.forwards()) {
            PortForwarder pf = own(new PortForwarder(host, net, f));
            ChannelFuture bf = pf.start().awaitUninterruptibly();
            if (!bf.isSuccess()) {
                throw new UsageException("cannot listen for port forward " + f + ": "
                        + bf.cause().getMessage() + " (is the port in use?)");
            }
            LOG.log(System.Logger.Level.INFO, "forwarding " + f);
        }
    }

    /** When the process is stopped: print {@code stats} and close the pcap file. */
    void reportOnExit(Supplier<String> stats) {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            Logging.direct("stopping; " + stats.get());
                            if (pcap != null) {
                                pcap.close();
                            }
                        },
                        "c2w-net-shutdown"));
    }

    @Override
    public void close() {
        while (!open.isEmpty()) {
            try {
                open.pop().close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.DEBUG, "closing: " + e);
            }
        }
        if (pcap != null) {
            pcap.close();
        }
    }
}
