package dev.c2w.netstack.nat;

import dev.c2w.netstack.tcp.TcpConnection;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;

/*
 * Splices two channels on the same event loop: a guest TCP connection and a host socket (NAT, port
 * forwards). Bytes read on one side are written to the other and flushed at the end of each read batch.
 * Backpressure: when the peer turns unwritable, this side stops reading; when it drains, reading resumes.
 * Half-close travels across (a FIN becomes shutdownOutput on the other side), a close flushes what is
 * queued and then closes the peer, and a reset becomes a reset: an error on the host side aborts the
 * guest connection with RST, and a guest RST closes the host socket with SO_LINGER 0 (RST).
 * Buffers are handed over without copies; the side that writes releases nothing it did not own.
 */

/**
 * One direction of a splice; see the comment above. Install one on each channel with the other as peer.
 * Events that arrive on this side before the peer is active (a host that closes while the guest is still
 * in its handshake) are held and replayed once the peer side calls {@link #peerActive}.
 */
public final class Relay extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(Relay.class.getName());
    private static final int HELD_SHUTDOWN = 1;
    private static final int HELD_INACTIVE = 2;
    private static final int HELD_ERROR = 4;

    private volatile Channel peer;
    private Relay partner;
    private ChannelHandlerContext ctx;
    private int held;

    public Relay(Channel peer) {
        this.peer = peer;
    }

    /** A relay for {@code peer} whose own partner relay (on the peer) is {@code partner}. */
    public static Relay pairedWith(Channel peer, Relay partner) {
        Relay r = new Relay(peer);
        r.partner = partner;
        partner.partner = r;
        return r;
    }

    /** For the side created before its peer exists. */
    public void setPeer(Channel peer) {
        this.peer = peer;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Channel p = peer;
        if (p != null && !p.isOpen()) {
            ctx.close();
        } else if (p != null) {
            setAutoRead(p, true);
        }
        if (partner != null) {
            partner.peerActive();
        }
        ctx.fireChannelActive();
    }

    /** The peer became active: replay what was held. */
    void peerActive() {
        int h = held;
        held = 0;
        if (ctx == null || h == 0) {
            return;
        }
        if ((h & HELD_ERROR) != 0) {
            exceptionCaught(ctx, new java.io.IOException("reset before the peer was ready"));
            return;
        }
        if ((h & HELD_SHUTDOWN) != 0) {
            userEventTriggered(ctx, ChannelInputShutdownEvent.INSTANCE);
        }
        if ((h & HELD_INACTIVE) != 0) {
            channelInactive(ctx);
        }
    }

    private boolean hold(int what) {
        Channel p = peer;
        if (partner != null && p != null && p.isOpen() && !p.isActive()) {
            held |= what;
            return true;
        }
        return false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel p = peer;
        if (p == null || !p.isActive()) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        p.write(msg, p.voidPromise());
        if (!p.isWritable()) {
            setAutoRead(ctx.channel(), false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Channel p = peer;
        if (p != null) {
            p.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Channel p = peer;
        if (p != null) {
            setAutoRead(p, ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (hold(HELD_SHUTDOWN)) {
                return;
            }
            Channel p = peer;
            if (p instanceof DuplexChannel d && p.isActive()) {
                p.flush();
                d.shutdownOutput();
                if (d.isInputShutdown()) {
                    closeBoth(ctx);
                }
            } else {
                ctx.close();
            }
            if (ctx.channel() instanceof DuplexChannel self && self.isOutputShutdown()) {
                closeBoth(ctx);
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** Turns reading on or off where it still means something; a closed channel is left alone. */
    private static void setAutoRead(Channel ch, boolean on) {
        if (!ch.isActive() || ch.config().isAutoRead() == on) {
            return;
        }
        try {
            ch.config().setAutoRead(on);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "autoRead on " + ch + ": " + e);
        }
    }

    private void closeBoth(ChannelHandlerContext ctx) {
        Channel p = peer;
        if (p != null) {
            p.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (hold(HELD_INACTIVE)) {
            return;
        }
        Channel p = peer;
        if (p != null && p.isOpen()) {
            p.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (hold(HELD_ERROR)) {
            return;
        }
        LOG.log(System.Logger.Level.DEBUG, () -> ctx.channel() + ": " + cause);
        Channel p = peer;
        if (p instanceof TcpConnection guest && !(cause instanceof java.io.IOException)) {
            // not a network error of the host socket (a local failure): close gracefully, data first
            guest.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else if (p instanceof TcpConnection guest) {
            guest.abort(); // host side failed or was reset: reset the guest
        } else if (p != null && p.isOpen()) {
            try {
                p.config().setOption(ChannelOption.SO_LINGER, 0); // guest reset: reset the host peer
            } catch (RuntimeException ignored) {
                // not a socket that supports linger
            }
            p.close();
        }
        ctx.close();
    }
}
