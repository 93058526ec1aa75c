package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;

/**
 * Where the stack delivers Ethernet frames bound for one guest (or one LAN port).
 * Called on the network's event loop only. {@link #sendFrame} takes ownership of the buffer:
 * the sink must release it (or pass it on) even when it drops the frame.
 */
public interface FrameSink {
    /** Queues one raw Ethernet frame (no length prefix) for the guest. */
    void sendFrame(ByteBuf frame);

    /** Pushes queued frames out. The switch calls this once per event-loop turn for each port that got frames. */
    default void flush() {}

    /** Called when the network closes the port (network shut down); the sink should close its transport. */
    default void portClosed() {}

    /**
     * Whether the transport can take more frames now. TCP stops sending new data to a guest whose link
     * is not writable, instead of queueing it without bound; it tries again when the sink calls
     * {@link GuestPort#linkWritable()} or, at the latest, on its next timer tick.
     */
    default boolean isWritable() {
        return true;
    }
}
