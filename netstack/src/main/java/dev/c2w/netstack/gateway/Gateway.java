package dev.c2w.netstack.gateway;

import dev.c2w.netstack.NetStats;
import dev.c2w.netstack.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.lan.Switch;
import dev.c2w.netstack.services.UdpEndpoint;
import dev.c2w.netstack.tcp.TcpStack;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;

/** The gateway: placeholder while the stack is being written. */
public final class Gateway {
    private final TcpStack tcp = new TcpStack();

    public Gateway(NetworkConfig config, HostTransport host, EventLoop loop, NetStats stats, Switch lan) {
    }

    /** A frame from the LAN addressed to the gateway MAC, or broadcast. Takes ownership. */
    public void receive(ByteBuf frame, long srcMac) {
        frame.release();
    }

    /** Binds a UDP service on {@code ip:port} (ip 0 = any address the gateway owns, including broadcast). */
    public void bindUdp(int ip, int port, UdpEndpoint endpoint) {
    }

    public TcpStack tcp() {
        return tcp;
    }

    /** A port went away: forget what was learned about this MAC. */
    public void forgetMac(long mac) {
    }

    public void close() {
    }
}
