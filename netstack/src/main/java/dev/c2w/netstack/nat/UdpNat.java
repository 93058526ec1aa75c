package dev.c2w.netstack.nat;

import dev.c2w.netstack.services.UdpContext;
import dev.c2w.netstack.udp.UdpStack;
import dev.c2w.netstack.wire.Ipv4Address;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * UDP NAT to host sockets. Event-loop confined.
 *
 * <p>UDP NAT: each guest flow (guest IP and port, destination IP and port) gets its own host datagram
 * socket, connected to the destination (192.168.127.254 means 127.0.0.1), so replies come back on it
 * and go to the guest from the address it wrote to. A flow that sees no traffic for the idle timeout
 * (90 s) is closed; the number of flows is capped and a datagram over the cap is dropped and counted.
 * Datagrams sent while the host socket is still connecting wait in a short queue.
 */
public final class UdpNat implements UdpStack.FlowAcceptor {
    private record Key(int guestIp, int guestPort, int dstIp, int dstPort) {}

    private final UdpContext udp;
    private final EgressPolicy egress;
    private final Map<Key, Flow> flows = new HashMap<>();
    private boolean closed;

    /** NAT for datagrams that arrive through, and are answered through, {@code ctx}, where {@code egress} allows. */
    public UdpNat(UdpContext ctx, EgressPolicy egress) {
        this.udp = ctx;
        this.egress = egress;
    }

    @Override
    public boolean datagram(long guestMac, int guestIp, int guestPort, int dstIp, int dstPort, ByteBuf payload) {
        if (closed) {
            return true;
        }
        int target = egress.hostTarget(dstIp);
        if (target == 0) {
            udp.stats().droppedNoRoute++;
            return false;
        }
        Key k = new Key(guestIp, guestPort, dstIp, dstPort);
        Flow f = flows.get(k);
        if (f == null) {
            if (flows.size() >= udp.config().maxUdpFlows()) {
                udp.stats().droppedFlowLimit++;
                return true;
            }
            f = new Flow(k, guestMac, new InetSocketAddress(Ipv4Address.toInet(target), dstPort));
            flows.put(k, f);
            udp.stats().udpFlowsOpened++;
        }
        f.send(payload.retainedSlice());
        return true;
    }

    @Override
    public void close() {
        closed = true;
        for (Flow f : new ArrayList<>(flows.values())) {
            f.close();
        }
        flows.clear();
    }

    private final class Flow extends SimpleChannelInboundHandler<DatagramPacket> {
        final Key key;
        final long guestMac;
        final InetSocketAddress target;
        final Channel channel;
        final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
        long lastUse = System.nanoTime();
        boolean ready;
        boolean done;

        Flow(Key key, long guestMac, InetSocketAddress target) {
            this.key = key;
            this.guestMac = guestMac;
            this.target = target;
            ChannelFuture cf = new Bootstrap()
                    .group(udp.eventLoop())
                    .channel(udp.host().datagramChannel())
                    .handler(this)
                    .connect(target);
            this.channel = cf.channel();
            cf.addListener(r -> {
                if (!r.isSuccess()) {
                    close();
                    return;
                }
                ready = true;
                ByteBuf b;
                while ((b = pending.poll()) != null) {
                    channel.write(new DatagramPacket(b, target));
                }
                channel.flush();
            });
            long idle = udp.config().udpIdleTimeout().toNanos();
            scheduleIdleCheck(idle);
        }

        private void scheduleIdleCheck(long idle) {
            udp.eventLoop()
                    .schedule(
                            () -> {
                                if (done) {
                                    return;
                                }
                                long since = System.nanoTime() - lastUse;
                                if (since >= idle) {
                                    close();
                                } else {
                                    scheduleIdleCheck(idle - since);
                                }
                            },
                            idle,
                            TimeUnit.NANOSECONDS);
        }

        void send(ByteBuf payload) {
            lastUse = System.nanoTime();
            if (done) {
                payload.release();
            } else if (ready) {
                channel.writeAndFlush(new DatagramPacket(payload, target), channel.voidPromise());
            } else if (pending.size() < 64) {
                pending.add(payload);
            } else {
                udp.stats().droppedFlowLimit++;
                payload.release();
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket msg) {
            lastUse = System.nanoTime();
            udp.sendToGuest(
                    key.dstIp,
                    key.dstPort,
                    key.guestIp,
                    key.guestPort,
                    guestMac,
                    msg.content().retain());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors from the host (port unreachable) surface here; the flow stays for its idle time
        }

        void close() {
            if (done) {
                return;
            }
            done = true;
            ByteBuf b;
            while ((b = pending.poll()) != null) {
                b.release();
            }
            channel.close();
            flows.remove(key, this);
        }
    }
}
