package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;

/**
 * One attachment of a guest (a QEMU stream connection, a WebSocket, an in-process WASI socket)
 * to a {@link dev.c2w.netstack.VirtualNetwork}'s switch. Obtained from {@code VirtualNetwork.attach}.
 * All methods must be called on the network's event loop.
 */
public interface GuestPort {
    /** Hands one raw Ethernet frame from the guest to the switch; ownership passes to the stack. */
    void receiveFrame(ByteBuf frame);

    /** Detaches the port: forgets its MAC addresses. Idempotent. */
    void close();

    /** The sink's transport drained and takes frames again: senders waiting on this link resume. */
    default void linkWritable() {}
}
