package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Netty decoder for the QEMU stream framing: bytes in, one {@link ByteBuf} per Ethernet frame out.
 * A bad length prefix closes this channel only, with a logged reason.
 */
public final class QemuFrameDecoder extends ByteToMessageDecoder {
    private static final System.Logger LOG = System.getLogger(QemuFrameDecoder.class.getName());
    private final QemuStreamParser parser;
    private boolean failed;

    public QemuFrameDecoder(int maxFrame) {
        this.parser = new QemuStreamParser(maxFrame);
        // The default (merging) cumulator keeps every frame in one contiguous direct buffer, so the
        // frame path reads it straight from memory (Checksum's fast path); a composite cumulator would
        // save copying a read's leftover but make frames that span reads slow to parse.
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            ByteBuf frame;
            while ((frame = parser.next(in)) != null) {
                out.add(frame);
            }
        } catch (QemuStreamParser.BadLengthException e) {
            failed = true;
            in.skipBytes(in.readableBytes());
            LOG.log(System.Logger.Level.WARNING, "closing " + ctx.channel().remoteAddress() + ": " + e.getMessage());
            ctx.close();
        }
    }
}
