package dev.c2w.netstack.nat;

import dev.c2w.netstack.gateway.Gateway;
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

/*
 * UDP NAT: each guest flow (guest IP and port, destination IP and port) gets its own host datagram
 * socket, connected to the destination (192.168.127.254 means 127.0.0.1), so replies come back on it
 * and go to the guest from the address it wrote to. A flow that sees no traffic for the idle timeout
 * (90 s) is closed; the number of flows is capped and a datagram over the cap is dropped and counted.
 * Datagrams sent while the host socket is still connecting wait in a short queue.
 */

/** UDP NAT to host sockets; see the comment above. Event-loop confined. */
public final class UdpNat {
    private record Key(int guestIp, int guestPort, int dstIp, int dstPort) {}

    private final Gateway gw;
    private final Map<Key, Flow> flows = new HashMap<>();
    private boolean closed;

    public UdpNat(Gateway gw) {
        this.gw = gw;
    }

    /** A datagram from the guest to a non-local destination. {@code payload} is borrowed. */
    public void send(long guestMac, int guestIp, int guestPort, int dstIp, int dstPort, ByteBuf payload) {
        if (closed) {
            return;
        }
        int target = TcpNat.hostTarget(gw.config(), dstIp);
        if (target == 0) {
            gw.stats().droppedNoRoute++;
            return;
        }
        Key k = new Key(guestIp, guestPort, dstIp, dstPort);
        Flow f = flows.get(k);
        if (f == null) {
            if (flows.size() >= gw.config().maxUdpFlows()) {
                gw.stats().droppedFlowLimit++;
                return;
            }
            f = new Flow(k, guestMac, new InetSocketAddress(Ipv4Address.toInet(target), dstPort));
            flows.put(k, f);
            gw.stats().udpFlowsOpened++;
        }
        f.send(payload.retainedSlice());
    }

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
                .group(gw.eventLoop())
                .channel(gw.host().datagramChannel())
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
            long idle = gw.config().udpIdleTimeout().toNanos();
            scheduleIdleCheck(idle);
        }

        private void scheduleIdleCheck(long idle) {
            gw.eventLoop().schedule(() -> {
                if (done) {
                    return;
                }
                long since = System.nanoTime() - lastUse;
                if (since >= idle) {
                    close();
                } else {
                    scheduleIdleCheck(idle - since);
                }
            }, idle, TimeUnit.NANOSECONDS);
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
                gw.stats().droppedFlowLimit++;
                payload.release();
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket msg) {
            lastUse = System.nanoTime();
            gw.sendToGuest(key.dstIp, key.dstPort, key.guestIp, key.guestPort, guestMac, msg.content().retain());
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
