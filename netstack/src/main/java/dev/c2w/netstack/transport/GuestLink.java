package dev.c2w.netstack.transport;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.function.Function;

/**
 * Bridges a QEMU-stream channel to a switch port.
 *
 * <p>Joins a byte-stream channel that carries QEMU-framed Ethernet (after a QemuFrameDecoder, with a
 * QemuFrameEncoder in front) to a virtual network: when the channel becomes active it attaches a switch
 * port; decoded frames go to the port; frames from the switch are written to the channel and flushed
 * once per event-loop turn. When the channel closes, the port is detached, which frees what the switch
 * learned about it. A guest that stops reading does not grow memory without bound: over
 * MAX_PENDING bytes queued for it, further frames are dropped and counted, as a full NIC queue would.
 */
public final class GuestLink extends ChannelInboundHandlerAdapter implements FrameSink {
    private static final System.Logger LOG = System.getLogger(GuestLink.class.getName());
    public static final long MAX_PENDING = 16L * 1024 * 1024;

    private final Function<Channel, VirtualNetwork> network;
    private Channel channel;
    private GuestPort port;
    private long dropped;

    /** {@code network} picks (or creates) the network for a new connection. */
    public GuestLink(Function<Channel, VirtualNetwork> network) {
        this.network = network;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        VirtualNetwork net = network.apply(channel);
        if (!net.eventLoop().inEventLoop()) {
            throw new IllegalStateException("guest link must run on the network's event loop");
        }
        port = net.attach(this);
        LOG.log(System.Logger.Level.INFO, "guest connected: " + describe(channel));
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf frame && port != null) {
            port.receiveFrame(frame);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (port != null) {
            port.close();
            port = null;
        }
        LOG.log(
                System.Logger.Level.INFO,
                "guest disconnected: " + describe(ctx.channel())
                        + (dropped > 0 ? " (" + dropped + " frames dropped while it was not reading)" : ""));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(System.Logger.Level.WARNING, "guest link " + describe(ctx.channel()) + ": " + cause.getMessage());
        ctx.close();
    }

    @Override
    public void sendFrame(ByteBuf frame) {
        Channel ch = channel;
        if (ch == null || !ch.isActive()) {
            frame.release();
            return;
        }
        if (!ch.isWritable()
                && ch.unsafe().outboundBuffer() != null
                && ch.unsafe().outboundBuffer().totalPendingWriteBytes() > MAX_PENDING) {
            dropped++;
            frame.release();
            return;
        }
        ch.write(frame, ch.voidPromise());
    }

    @Override
    public boolean isWritable() {
        Channel ch = channel;
        return ch == null || ch.isWritable();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && port != null) {
            port.linkWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void flush() {
        Channel ch = channel;
        if (ch != null) {
            ch.flush();
        }
    }

    @Override
    public void portClosed() {
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    private static String describe(Channel ch) {
        Object r = ch.remoteAddress();
        return r == null ? String.valueOf(ch.localAddress()) : String.valueOf(r);
    }
}
