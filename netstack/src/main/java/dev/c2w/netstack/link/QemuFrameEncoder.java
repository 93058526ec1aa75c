package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

/**
 * Writes each outbound {@link ByteBuf} (one raw Ethernet frame) with its 4-byte big-endian length.
 * Frames built by the stack carry {@link Frames#HEADROOM} spare bytes before their reader index,
 * so the prefix is written in place and the frame goes out in one piece; other buffers get the
 * prefix as a separate small buffer (gathered into the same write by the transport).
 */
@ChannelHandler.Sharable
public final class QemuFrameEncoder extends ChannelOutboundHandlerAdapter {
    public static final QemuFrameEncoder INSTANCE = new QemuFrameEncoder();

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf frame)) {
            ctx.write(msg, promise);
            return;
        }
        ctx.write(Frames.withLengthPrefix(ctx.alloc(), frame), promise);
    }
}
