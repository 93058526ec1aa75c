package dev.c2w.netstack.services;

import io.netty.buffer.ByteBuf;

/**
 * A UDP service inside the virtual network, bound to an address the gateway owns
 * (DHCP on :67, DNS on 192.168.127.1:53). Called on the network's event loop.
 */
public interface UdpEndpoint {
    /**
     * One datagram from the guest. {@code payload} is borrowed: valid only during the call
     * (retain or copy what you keep). Malformed payloads must be dropped and counted, never thrown.
     */
    void onDatagram(UdpContext ctx, long srcMac, int srcIp, int srcPort, int dstIp, int dstPort, ByteBuf payload);

    /** Releases whatever the endpoint holds (the network is closing). */
    default void close() {}
}
