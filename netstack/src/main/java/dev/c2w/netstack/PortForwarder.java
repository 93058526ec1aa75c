package dev.c2w.netstack;

import dev.c2w.netstack.config.NetworkConfig.PortForward;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.nat.TcpNat;
import dev.c2w.netstack.relay.Relay;
import dev.c2w.netstack.services.UdpContext;
import dev.c2w.netstack.services.UdpEndpoint;
import dev.c2w.netstack.udp.UdpStack;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Host-to-guest port forwards.
 *
 * <p>Port forwards (-p): a host listener whose connections are opened into the guest at its static
 * address (192.168.127.3) and spliced with a Relay. The network is looked up per connection through a
 * Supplier, so in WebSocket mode a forward reaches the most recently connected guest.
 * TCP: accept on the host, open a TCP connection from 192.168.127.254 into the guest, splice; if the
 * guest refuses or does not answer, the host connection is closed.
 * UDP (-p udp:...): one host datagram socket; each host client (address and port) gets its own source
 * port on 192.168.127.254, registered as a UDP endpoint on the gateway, so the guest's replies find
 * their way back to that client.
 */
public final class PortForwarder implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PortForwarder.class.getName());
    private final HostTransport host;
    private final Supplier<VirtualNetwork> network;
    private final PortForward forward;
    private Channel listener;

    public PortForwarder(HostTransport host, Supplier<VirtualNetwork> network, PortForward forward) {
        this.host = host;
        this.network = network;
        this.forward = forward;
    }

    /** Binds the host side; the future fails when the address is taken. */
    public ChannelFuture start() {
        InetSocketAddress bind = new InetSocketAddress(forward.hostAddress(), forward.hostPort());
        ChannelFuture f;
        if (forward.udp()) {
            f = new Bootstrap()
                    .group(host.group())
                    .channel(host.datagramChannel())
                    .handler(new UdpListener())
                    .bind(bind);
        } else {
            f = new ServerBootstrap()
                    .group(host.group(), host.group())
                    .channel(host.serverSocketChannel())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.RECVBUF_ALLOCATOR, TcpNat.HOST_READS)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new TcpClient());
                        }
                    })
                    .bind(bind);
        }
        listener = f.channel();
        return f;
    }

    private final class TcpClient extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel hostCh = ctx.channel();
            VirtualNetwork net = network.get();
            if (net == null) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "port forward " + forward + ": no guest is connected; closing " + hostCh.remoteAddress());
                hostCh.close();
                return;
            }
            // the host side learns its peer, and starts reading, when the guest side becomes active
            Relay hostSide = Relay.forNat(null);
            ctx.pipeline().replace(this, "relay", hostSide);
            Relay guestSide = Relay.pairedWith(hostCh, hostSide);
            net.connectToGuest(net.config().guestIp(), forward.guestPort(), guestSide)
                    .addListener(f -> {
                        if (!f.isSuccess()) {
                            LOG.log(
                                    System.Logger.Level.INFO,
                                    "port forward " + forward + ": guest did not accept: "
                                            + f.cause().getMessage());
                            hostCh.close();
                        }
                    });
        }
    }

    private final class UdpListener extends SimpleChannelInboundHandler<DatagramPacket> {
        private final Map<InetSocketAddress, Integer> clientPorts = new HashMap<>();
        private int nextPort = 50000;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket pkt) {
            VirtualNetwork net = network.get();
            if (net == null) {
                return;
            }
            UdpStack udp = net.udp();
            InetSocketAddress client = pkt.sender();
            Integer port = clientPorts.get(client);
            if (port == null) {
                if (clientPorts.size() >= 1024) {
                    return;
                }
                port = nextPort++;
                if (nextPort > 59999) {
                    nextPort = 50000;
                }
                clientPorts.put(client, port);
                Channel out = ctx.channel();
                udp.bind(net.config().hostLoopbackIp(), port, new UdpEndpoint() {
                    @Override
                    public void onDatagram(
                            UdpContext c,
                            long srcMac,
                            int srcIp,
                            int srcPort,
                            int dstIp,
                            int dstPort,
                            ByteBuf payload) {
                        out.writeAndFlush(new DatagramPacket(payload.retain(), client));
                    }
                });
            }
            udp.sendToGuest(
                    net.config().hostLoopbackIp(),
                    port,
                    net.config().guestIp(),
                    forward.guestPort(),
                    MacAddress.NONE,
                    pkt.content().retain());
        }
    }

    @Override
    public void close() {
        if (listener != null) {
            listener.close();
        }
    }
}
