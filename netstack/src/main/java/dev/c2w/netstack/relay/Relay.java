package dev.c2w.netstack.relay;

import dev.c2w.netstack.loop.Loops;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * One direction of a byte splice between two channels: install one relay on each channel, with the other
 * channel as its peer. Used for the NAT (a guest TCP connection and its host socket), port forwards, and the
 * proxy's CONNECT tunnels and upgraded (WebSocket) connections. The relay is the last handler of its
 * pipeline: it consumes reads, read completions, input shutdowns and exceptions.
 *
 * <p><b>Buffer ownership.</b> Every message read is either written to the peer, which then owns it (its
 * transport releases it once written, or when the write fails or the peer is closed), or released here: a
 * {@link ByteBuf} goes as it is; a {@link ByteBufHolder} (an {@code HttpContent} left over from a removed
 * HTTP codec) gives up its content, retained, and the holder is released; anything else, an empty buffer,
 * and anything read while the peer is not active are released. Bytes read while a relay waits for its peer
 * (below) are owned by the relay until they are written to the peer, or released when the relay is removed.
 * No bytes are copied.
 *
 * <p><b>Backpressure.</b> When the peer turns unwritable after a write, this side stops reading (autoRead
 * off); when this side's channel turns writable again, reading resumes on the peer.
 *
 * <p><b>Half-close and close.</b> When this side's input ends (ChannelInputShutdownEvent; the channel must
 * allow half-closure), the peer's output is shut down after every byte written to it so far (Netty's own
 * shutdownOutput would drop what is still queued), or, if the peer is no {@link DuplexChannel}, the peer is
 * closed after its queued bytes. A channel whose input and output have both ended is closed. When this side
 * closes, the peer is closed after its queued bytes.
 *
 * <p><b>Resets.</b> A relay made with resets (see below) answers an {@link IOException} on its side
 * (a host socket reset or failed, a guest sent RST or stopped acknowledging) by resetting the peer: it sets
 * the peer's {@link ChannelOption#SO_LINGER} to 0 and closes it, which makes a kernel socket send RST and a
 * guest TCP channel ({@code TcpConnection}) abort with RST. Any other exception (a local failure) closes the
 * peer gracefully, after its queued bytes, as does every exception on a relay without resets.
 *
 * <p><b>Per use.</b> The factories fix how the uses differ:
 * <table>
 * <caption>What each factory chooses</caption>
 * <tr><th></th><th>{@link #forNat} / {@link #pairedWith}</th><th>{@link #forTunnel}</th></tr>
 * <tr><td>resets</td><td>propagated (above): the guest sees what the host's kernel would have shown it,
 *   and the other way round</td><td>not: an error ends the tunnel with a graceful close of both sides, as
 *   the proxy always did</td></tr>
 * <tr><td>flush</td><td>once per read batch ({@code channelReadComplete}), the NAT's hot path: one flush,
 *   one send syscall or one guest transmit, per batch</td><td>after every message, as the proxy always did: a
 *   tunnel is not the hot path, and no byte waits for the end of a read batch</td></tr>
 * <tr><td>start</td><td>when the peer is active: the relay made first ({@link #forNat}, on the host socket,
 *   which connects before the guest's handshake completes) waits for its partner ({@link #pairedWith}, on
 *   the guest channel) to become active, and holds what its channel delivers until then (bytes a closing
 *   socket hands over although autoRead is off, its input shutdown, inactivity and error); the partner then
 *   starts the first one's reading, and the held bytes and events follow in order</td>
 *   <td>when added: both channels are already active (the relay replaces a handler), so the relay turns its
 *   own channel's reading on at once if the peer is writable; each side starts only itself, so a side never
 *   reads before its own relay is in place</td></tr>
 * </table>
 * Unwrapping {@link ByteBufHolder}s is not a choice: the NAT only ever reads {@link ByteBuf}s, which are
 * tested first, so it costs the NAT nothing.
 *
 * <p><b>Threads.</b> The two channels may be on different event loops (the proxy's guest and upstream
 * channels). A relay's own state is touched only on its channel's loop; on the peer it only calls what
 * Netty makes safe from any thread: write and flush (queued in order on the peer's loop), close, config
 * (autoRead, SO_LINGER), isActive, isOpen, isWritable. What must read the peer's state (whether both of
 * its directions have ended) runs in listeners of the peer's futures, on the peer's loop; the partner of a
 * pair is told that its peer is active on its own loop. The pairs of the NAT and of port forwards usually
 * share one loop, where all of this runs inline.
 */
public final class Relay extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(Relay.class.getName());
    private static final int HELD_SHUTDOWN = 1;
    private static final int HELD_INACTIVE = 2;
    private static final int HELD_ERROR = 4;

    /** Whether an IOException on this side resets the peer instead of closing it gracefully. */
    private final boolean resets;
    /** Whether every message is flushed to the peer at once, instead of once per read batch. */
    private final boolean flushEach;
    /** Whether this side starts reading when the relay is added, instead of when its partner says so. */
    private final boolean startWhenAdded;
    /** For the second relay of a pair: the first one, installed on {@link #peer}; told when this side is active. */
    private final Relay partner;
    /** Where bytes go; for the first relay of a port forward's pair, null until the partner's channel is active. */
    private Channel peer;
    /** The first relay of a pair waits for its peer to become active; the others never wait. */
    private boolean waiting;

    private ChannelHandlerContext ctx;
    /** What arrived on this side while {@link #waiting}: HELD_* bits, the error's cause, bytes (owned here). */
    private int held;

    private Throwable heldCause;
    private ArrayDeque<ByteBuf> heldBytes;

    private Relay(
            Channel peer, boolean resets, boolean flushEach, boolean startWhenAdded, Relay partner, boolean waiting) {
        this.peer = peer;
        this.resets = resets;
        this.flushEach = flushEach;
        this.startWhenAdded = startWhenAdded;
        this.partner = partner;
        this.waiting = waiting;
    }

    /**
     * The NAT relay made first, for a channel that is active before its peer (the host socket of a NAT flow
     * or of a port forward): resets propagate, flushes are per read batch, and the channel reads only once
     * the relay made by {@link #pairedWith} for the peer reports the peer active. Until then what the channel
     * delivers (bytes, input shutdown, inactivity, error) is held, unless the peer is known to be closed, and
     * then replayed. The channel must be created with autoRead off. {@code peer} may be null when the peer
     * channel does not exist yet (a port forward); it is learned from the partner.
     */
    public static Relay forNat(Channel peer) {
        return new Relay(peer, true, false, false, null, true);
    }

    /**
     * The second NAT relay, for {@code peer}'s partner channel (the guest connection), where {@code first}
     * (made by {@link #forNat}) is installed on {@code peer}. When this relay's channel becomes active it
     * tells {@code first}, on {@code peer}'s loop, which then starts reading and replays what it held.
     */
    public static Relay pairedWith(Channel peer, Relay first) {
        Objects.requireNonNull(peer, "peer");
        return new Relay(peer, first.resets, first.flushEach, false, first, false);
    }

    /**
     * One side of a tunnel between two active channels, possibly on different event loops (a CONNECT tunnel
     * or an upgraded connection): no resets, a flush per message, and the relay starts its own channel's
     * reading when it is added (if the peer is writable; if the peer is no longer active, it closes its own
     * channel instead).
     */
    public static Relay forTunnel(Channel peer) {
        Objects.requireNonNull(peer, "peer");
        return new Relay(peer, false, true, true, null, false);
    }

    /** Closes {@code ch} once everything queued on it is written; nothing if it is not active. */
    public static void closeOnFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    // --------------------------------------------------------------------------------- start

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (!startWhenAdded) {
            return;
        }
        Channel p = peer;
        if (!p.isActive()) {
            ctx.close();
            return;
        }
        boolean writable = p.isWritable();
        ctx.channel().config().setAutoRead(writable);
        if (writable) {
            ctx.read();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (!startWhenAdded) {
            Channel p = peer;
            if (p != null && !p.isOpen()) {
                ctx.close(); // the peer went away while this side was opening
            }
            Relay first = partner;
            if (first != null && p != null) {
                Channel self = ctx.channel();
                Loops.run(p.eventLoop(), () -> first.peerActive(self));
            }
        }
        ctx.fireChannelActive();
    }

    /** On this relay's loop: the partner's channel ({@code active}) is active; read, and replay what was held. */
    private void peerActive(Channel active) {
        if (!waiting) {
            return;
        }
        waiting = false;
        if (peer == null) {
            peer = active;
        }
        ChannelHandlerContext c = ctx;
        if (c == null || c.isRemoved()) {
            return; // this side's channel is gone already; its partner found it closed
        }
        setAutoRead(c.channel(), true);
        ArrayDeque<ByteBuf> bytes = heldBytes;
        heldBytes = null;
        if (bytes != null) {
            for (ByteBuf b; (b = bytes.poll()) != null; ) {
                channelRead(c, b);
            }
            channelReadComplete(c);
        }
        int h = held;
        Throwable cause = heldCause;
        held = 0;
        heldCause = null;
        if ((h & HELD_ERROR) != 0) {
            exceptionCaught(c, cause);
            return;
        }
        if ((h & HELD_SHUTDOWN) != 0) {
            inputShutdown(c);
        }
        if ((h & HELD_INACTIVE) != 0) {
            channelInactive(c);
        }
    }

    /** Whether the event {@code what} must wait for the peer to become active; if so, it is noted. */
    private boolean hold(int what) {
        if (mustWait()) {
            held |= what;
            return true;
        }
        return false;
    }

    /** Whether this side still waits for a peer that may yet become active. */
    private boolean mustWait() {
        Channel p = peer;
        return waiting && (p == null || p.isOpen());
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ArrayDeque<ByteBuf> bytes = heldBytes;
        heldBytes = null;
        if (bytes != null) {
            bytes.forEach(ByteBuf::release);
        }
    }

    // --------------------------------------------------------------------------------- bytes

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf data = bytesOf(msg);
        if (data == null) {
            return;
        }
        if (mustWait()) {
            if (heldBytes == null) {
                heldBytes = new ArrayDeque<>();
            }
            heldBytes.add(data);
            return;
        }
        Channel p = peer;
        if (p == null || !data.isReadable() || !p.isActive()) {
            data.release();
            return;
        }
        if (flushEach) {
            p.writeAndFlush(data, p.voidPromise());
        } else {
            p.write(data, p.voidPromise());
        }
        if (!p.isWritable()) {
            Channel self = ctx.channel();
            setAutoRead(self, false);
            if (p.isWritable()) {
                // a peer on another loop drained in between, and its writability event may have come first
                setAutoRead(self, true);
            }
        }
    }

    /** The bytes of {@code msg}, now owned by the caller; null (and {@code msg} released) if it has none. */
    private static ByteBuf bytesOf(Object msg) {
        if (msg instanceof ByteBuf b) {
            return b;
        }
        if (msg instanceof ByteBufHolder h) {
            ByteBuf content = h.content().retain();
            h.release();
            return content;
        }
        ReferenceCountUtil.release(msg);
        return null;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Channel p = peer;
        if (!flushEach && p != null && !waiting) { // a peer not yet active may not be registered either
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

    /** Turns reading on or off where it still means something; a channel that is not active is left alone. */
    private static void setAutoRead(Channel ch, boolean on) {
        if (!ch.isActive() || ch.config().isAutoRead() == on) {
            return;
        }
        try {
            ch.config().setAutoRead(on);
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, () -> "autoRead on " + ch + ": " + e);
        }
    }

    // ---------------------------------------------------------------------------------- ends

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (!hold(HELD_SHUTDOWN)) {
                inputShutdown(ctx);
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** This side's input ended: end the peer's output after what was written to it. */
    private void inputShutdown(ChannelHandlerContext ctx) {
        Channel p = peer;
        if (p instanceof DuplexChannel d && p.isActive()) {
            p.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> {
                if (written.isSuccess()) {
                    d.shutdownOutput().addListener(shut -> closeIfShut(p));
                } else {
                    p.close();
                }
            });
        } else if (p != null && p.isActive()) {
            closeOnFlush(p); // no half-close on that channel: closing it is the nearest thing
        } else {
            ctx.close();
        }
        closeIfShut(ctx.channel());
    }

    /** Closes {@code ch} if both its directions have ended; call on its loop. */
    private static void closeIfShut(Channel ch) {
        if (ch instanceof DuplexChannel d && d.isShutdown()) {
            ch.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (hold(HELD_INACTIVE)) {
            return;
        }
        Channel p = peer;
        if (p != null) {
            closeOnFlush(p);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (hold(HELD_ERROR)) {
            if (heldCause == null) {
                heldCause = cause;
            }
            return;
        }
        LOG.log(Level.DEBUG, () -> ctx.channel() + ": " + cause);
        Channel p = peer;
        if (p != null && resets && cause instanceof IOException) {
            reset(p);
        } else if (p != null) {
            // a local failure, or a relay without resets: the peer gets what was queued for it, then a close
            // (this side may not report inactive: a guest channel freed by an error already is not active)
            closeOnFlush(p);
        }
        ctx.close();
    }

    /** Resets {@code ch}: SO_LINGER 0 and close (RST from a kernel socket or a guest TCP channel). */
    private static void reset(Channel ch) {
        if (!ch.isOpen()) {
            return;
        }
        try {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, () -> "SO_LINGER on " + ch + ": " + e);
        }
        ch.close();
    }
}
