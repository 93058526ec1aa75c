/*
 * Relays raw bytes from its channel to a peer channel: the body of a plain CONNECT tunnel and of an upgraded
 * (WebSocket) connection. One instance sits on each side.
 *
 * Buffer ownership: a ByteBuf read here is handed to peer.writeAndFlush, which takes ownership (the peer's
 * transport releases it once written, or on failure). Messages that are not bytes (an HttpContent left over
 * from a removed codec) give up their content the same way; anything else is released here.
 *
 * Backpressure: when the peer stops being writable this side stops reading; when this side's channel becomes
 * writable again it re-enables reading on the peer. Closing one side flushes and closes the other. The peer
 * may live on another event loop; Netty queues the writes there in order.
 *
 * Half-close: when this side's channel allows half closure (ChannelOption.ALLOW_HALF_CLOSURE) and its input
 * ends, the peer's output is shut down after the pending bytes (if the peer is a DuplexChannel; otherwise the
 * peer is closed). A channel whose input and output are both shut is closed.
 */
package dev.c2w.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.util.ReferenceCountUtil;

/** Byte relay to a peer channel with backpressure both ways. */
final class RelayHandler extends ChannelInboundHandlerAdapter {
    private final Channel peer;

    RelayHandler(Channel peer) {
        this.peer = peer;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (!peer.isActive()) {
            ctx.close();
            return;
        }
        // Only this side: the peer may not have its own relay yet, and must not read before it has.
        ctx.channel().config().setAutoRead(peer.isWritable());
        if (peer.isWritable()) {
            ctx.read();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf data;
        if (msg instanceof ByteBuf) {
            data = (ByteBuf) msg;
        } else if (msg instanceof HttpContent) {
            data = ((HttpContent) msg).content().retain();
            ReferenceCountUtil.release(msg);
        } else {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!data.isReadable() || !peer.isActive()) {
            data.release();
            return;
        }
        peer.writeAndFlush(data, peer.voidPromise());
        if (!peer.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        peer.config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (peer instanceof DuplexChannel && peer.isActive()) {
                DuplexChannel d = (DuplexChannel) peer;
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                    if (f.isSuccess()) {
                        d.shutdownOutput().addListener(g -> closeIfBothShut(peer));
                    } else {
                        peer.close();
                    }
                });
            } else {
                closeOnFlush(peer);
            }
            closeIfBothShut(ctx.channel());
        }
        ctx.fireUserEventTriggered(evt);
    }

    private static void closeIfBothShut(Channel ch) {
        if (ch instanceof DuplexChannel && ((DuplexChannel) ch).isShutdown()) {
            ch.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closeOnFlush(peer);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    static void closeOnFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
