package dev.c2w.netstack.services;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;

/** What the gateway offers a {@link UdpEndpoint}. */
public interface UdpContext {
    NetworkConfig config();

    EventLoop eventLoop();

    ByteBufAllocator alloc();

    HostTransport host();

    NetStats stats();

    /**
     * Sends a UDP datagram into the guest LAN, with the given source address (one the gateway owns)
     * and destination. {@code dstMac} may be {@link dev.c2w.netstack.wire.MacAddress#BROADCAST}.
     * Takes ownership of {@code payload}. Must be called on the event loop.
     */
    void sendToGuest(int srcIp, int srcPort, int dstIp, int dstPort, long dstMac, ByteBuf payload);
}
