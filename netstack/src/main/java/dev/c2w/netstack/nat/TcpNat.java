package dev.c2w.netstack.nat;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.relay.Relay;
import dev.c2w.netstack.tcp.TcpConnection;
import dev.c2w.netstack.tcp.TcpStack;
import dev.c2w.netstack.wire.Ipv4Address;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.RecvByteBufAllocator;
import java.net.InetSocketAddress;

/**
 * TCP NAT to host sockets.
 *
 * <p>TCP NAT: a guest connection to any IPv4 address outside the LAN is terminated by our TCP and spliced
 * to a host socket; 192.168.127.254 means the host's 127.0.0.1. The host connection comes first: the
 * guest's SYN gets no answer until the host has accepted, so a refused host port gives the guest RST
 * at once, and a host that does not answer within the connect timeout gives RST too; only then does
 * the guest see SYN-ACK. Other LAN addresses, link-local 169.254/16, multicast and, in fetch mode,
 * everything, are refused with RST.
 */
public final class TcpNat implements TcpStack.FlowAcceptor {
    private static final System.Logger LOG = System.getLogger(TcpNat.class.getName());
    /** Receive-buffer sizes of host sockets: 2 KiB to start, up to 256 KiB while reads come back full. */
    public static final RecvByteBufAllocator HOST_READS =
            new AdaptiveRecvByteBufAllocator(512, 2048, 256 * 1024).maxMessagesPerRead(16);

    private final NetworkConfig config;
    private final EventLoop loop;
    private final HostTransport host;
    private final NetStats stats;
    private final EgressPolicy egress;

    /** NAT for guest connections on {@code loop}, to host sockets of {@code host}, where {@code egress} allows. */
    public TcpNat(NetworkConfig config, EventLoop loop, HostTransport host, NetStats stats, EgressPolicy egress) {
        this.config = config;
        this.loop = loop;
        this.host = host;
        this.stats = stats;
        this.egress = egress;
    }

    @Override
    public void newFlow(TcpConnection conn, int dstIp, int dstPort) {
        NetworkConfig cfg = config;
        int target = egress.hostTarget(dstIp);
        if (target == 0) {
            stats.tcpFlowsRefused++;
            conn.refuse();
            return;
        }
        InetSocketAddress addr = new InetSocketAddress(Ipv4Address.toInet(target), dstPort);
        Relay hostSide = Relay.forNat(conn);
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(host.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int)
                        cfg.tcpConnectTimeout().toMillis())
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                // reads of up to 256 KiB: fewer syscalls, and fewer window updates the kernel sends to the host
                // peer (each wakes it), when the host sends fast; small reads shrink the buffers again
                .option(ChannelOption.RECVBUF_ALLOCATOR, HOST_READS)
                .handler(hostSide);
        ChannelFuture f = b.connect(addr);
        f.addListener(done -> {
            if (done.isSuccess()) {
                Channel host = f.channel();
                conn.closeOnAbandon(host);
                if (!conn.accept(Relay.pairedWith(host, hostSide))) {
                    host.close(); // the guest side went away while we connected
                }
            } else {
                stats.tcpFlowsRefused++;
                if (cfg.debug()) {
                    LOG.log(System.Logger.Level.INFO, "NAT connect to " + addr + " failed: " + done.cause());
                }
                conn.refuse();
            }
        });
    }
}
