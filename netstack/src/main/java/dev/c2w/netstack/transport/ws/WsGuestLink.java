package dev.c2w.netstack.transport.ws;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.Frames;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.loop.Loops;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Guest frames in from the WebSocket, host frames out to it.
 *
 * <p>One browser guest's attachment to its network: the last inbound handler of a WebSocket channel
 * (it receives whole Ethernet frames from the QEMU stream decoder) and the FrameSink of its switch port.
 *
 * <p>Threads. The channel lives on one event loop of the HostTransport group and the network on another
 * (VirtualNetwork.create picks the next loop); with one loop, the usual case, they are the same and
 * every call is direct. Otherwise frames hop: guest frames are queued to the network loop (at most
 * HOP_LIMIT at once; beyond that the channel stops reading until the network catches up), and the
 * network writes to the channel from its own loop, which Netty queues to the channel's loop and counts
 * against the channel's write buffer at once.
 *
 * <p>Host to guest. Each frame becomes one BinaryWebSocketFrame holding the 4-byte length and the frame
 * (the upstream pages expect exactly that), written without flush; the switch calls flush() once per
 * loop turn so bursts leave in one syscall.
 *
 * <p>Slow clients. The channel's write-buffer high water mark is the configured bound. A client that stops
 * reading lets the buffer grow past it; the channel turns unwritable and the link closes that one
 * connection with a log line (the network has no way to push back on the guest's peers, and an unbounded
 * buffer would let one dead tab exhaust the heap). Frames after that are released unsent.
 */
final class WsGuestLink extends ChannelInboundHandlerAdapter implements FrameSink {
    private static final System.Logger LOG = System.getLogger(WebSocketServer.class.getName());
    static final int HOP_LIMIT = 1024;

    private final WebSocketServer server;
    private final Channel channel;
    private final VirtualNetwork net;
    private final EventLoop netLoop;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile GuestPort port;

    WsGuestLink(WebSocketServer server, Channel channel, VirtualNetwork net) {
        this.server = server;
        this.channel = channel;
        this.net = net;
        this.netLoop = net.eventLoop();
    }

    VirtualNetwork network() {
        return net;
    }

    Channel channel() {
        return channel;
    }

    /** Attaches to the network's switch (on its loop); frames that arrive later are queued behind this. */
    void attach() {
        Loops.run(netLoop, () -> port = net.attach(this));
    }

    /** Detaches from the switch and, when the network is this link's own, closes it. */
    void detach(boolean closeNetwork) {
        Loops.run(netLoop, () -> {
            GuestPort p = port;
            if (p != null) {
                p.close();
            }
            if (closeNetwork) {
                net.close();
            }
        });
    }

    // ---- from the WebSocket: whole Ethernet frames from QemuFrameDecoder ----

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (netLoop.inEventLoop()) {
            toSwitch(frame);
            return;
        }
        if (inFlight.incrementAndGet() >= HOP_LIMIT) {
            channel.config().setAutoRead(false);
        }
        try {
            netLoop.execute(() -> {
                toSwitch(frame);
                if (inFlight.decrementAndGet() == 0 && !channel.config().isAutoRead()) {
                    channel.config().setAutoRead(true);
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight.decrementAndGet();
            frame.release();
        }
    }

    private void toSwitch(ByteBuf frame) {
        GuestPort p = port;
        if (p == null) {
            frame.release();
            return;
        }
        p.receiveFrame(frame);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (!ctx.channel().isWritable()) {
            closeSlow();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A tab that closes resets its socket: that is routine (DEBUG). Protocol errors are worth a line.
        System.Logger.Level level = cause instanceof IOException ? System.Logger.Level.DEBUG : System.Logger.Level.INFO;
        LOG.log(level, "WebSocket guest " + ctx.channel().remoteAddress() + " failed: " + cause);
        ctx.close();
    }

    // ---- FrameSink: called on the network's loop ----

    @Override
    public void sendFrame(ByteBuf frame) {
        if (closing.get() || !channel.isActive()) {
            frame.release();
            return;
        }
        if (!channel.isWritable()) {
            frame.release();
            closeSlow();
            return;
        }
        channel.write(new BinaryWebSocketFrame(Frames.withLengthPrefix(channel.alloc(), frame)), channel.voidPromise());
    }

    /** Soft limit at half the bound, so TCP backs off well before the hard bound closes the connection. */
    @Override
    public boolean isWritable() {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null || out.totalPendingWriteBytes() < server.options().writeBufferBound() / 2;
    }

    @Override
    public void flush() {
        if (!closing.get()) {
            channel.flush();
        }
    }

    @Override
    public void portClosed() {
        closing.set(true);
        channel.close();
    }

    private void closeSlow() {
        if (closing.compareAndSet(false, true)) {
            server.stats().closedSlow.incrementAndGet();
            LOG.log(
                    System.Logger.Level.WARNING,
                    "closing WebSocket guest " + channel.remoteAddress()
                            + ": it stopped reading and more than "
                            + server.options().writeBufferBound()
                            + " bytes are waiting for it");
            channel.close();
        }
    }
}
