package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;

/*
 * Netty decoder for the QEMU stream framing: bytes in, one ByteBuf per Ethernet frame out, with as few
 * copies as the stream allows.
 *
 * A frame that lies wholly inside one read is passed on as a retained slice of the read buffer (no
 * copy). A frame that a read cuts off gets a buffer of exactly its length once its length prefix is
 * known; the bytes already read are copied in, and the rest is filled by the following reads. When
 * the transport uses recvAllocator() (QemuTransport does), those following reads go straight into that
 * frame buffer, so only the head of a cut frame is ever copied. That matters with large frames (MTU
 * 65520): a frame is longer than a typical read, so with a cumulating decoder nearly every byte was
 * copied once more (a quarter of the event loop's time when the guest sends).
 *
 * Every frame comes out as contiguous memory (a slice of one read, or its own buffer), so checksums
 * take their fast path. The length prefix is checked before anything is allocated for it: zero or
 * more than the cap is a broken or hostile peer, and this channel (only) is closed with a logged reason.
 */

/** Decoder of the QEMU stream framing; see the comment above. One instance per channel. */
public final class QemuFrameDecoder extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(QemuFrameDecoder.class.getName());
    /** Bounds of the reads that are not into a cut frame. */
    static final int MIN_READ = 2048;
    static final int MAX_READ = 64 * 1024;

    private final int maxFrame;
    /** The frame being assembled (capacity = its length), or null. */
    private ByteBuf pending;
    /** Bytes of a length prefix that a read cut off (0 to 3 of them) and their value so far. */
    private int prefixHave;
    private int prefixValue;
    private boolean failed;

    public QemuFrameDecoder(int maxFrame) {
        this.maxFrame = maxFrame;
    }

    /**
     * A receive-buffer allocator for the channel this decoder reads from: while a frame is being
     * assembled, the next read goes straight into the rest of its buffer; otherwise reads are sized
     * between 2 KiB and 64 KiB by how full the last ones were.
     */
    public RecvByteBufAllocator recvAllocator() {
        return new FrameReadAllocator();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (in == pending) {
            // the transport read straight into the frame being assembled (FrameReadAllocator)
            in.release(); // the read loop's reference; this decoder keeps its own
            if (!pending.isWritable()) {
                ByteBuf frame = pending;
                pending = null;
                ctx.fireChannelRead(frame);
            }
            return;
        }
        try {
            if (!failed) {
                decode(ctx, in);
            }
        } catch (QemuStreamParser.BadLengthException e) {
            failed = true;
            releasePending();
            LOG.log(System.Logger.Level.WARNING, "closing " + ctx.channel().remoteAddress() + ": " + e.getMessage());
            ctx.close();
        } finally {
            in.release();
        }
    }

    private void decode(ChannelHandlerContext ctx, ByteBuf in) throws QemuStreamParser.BadLengthException {
        while (in.isReadable()) {
            if (pending != null) {
                int n = Math.min(in.readableBytes(), pending.writableBytes());
                pending.writeBytes(in, n);
                if (!pending.isWritable()) {
                    ByteBuf frame = pending;
                    pending = null;
                    ctx.fireChannelRead(frame);
                }
                continue;
            }
            int len;
            if (prefixHave == 0 && in.readableBytes() >= QemuStreamParser.PREFIX) {
                long l = in.readUnsignedInt();
                checkLength(l);
                len = (int) l;
                if (in.readableBytes() >= len) {
                    ctx.fireChannelRead(in.readRetainedSlice(len)); // whole frame inside this read: no copy
                    continue;
                }
            } else {
                // a length prefix split across reads: collect it byte by byte
                prefixValue = (prefixValue << 8) | in.readUnsignedByte();
                if (++prefixHave < QemuStreamParser.PREFIX) {
                    continue;
                }
                long l = prefixValue & 0xffffffffL;
                prefixHave = 0;
                prefixValue = 0;
                checkLength(l);
                len = (int) l;
            }
            // the frame continues in later reads: give it its own buffer, filled from here on
            pending = ctx.alloc().directBuffer(len, len);
        }
    }

    private void checkLength(long len) throws QemuStreamParser.BadLengthException {
        if (len == 0 || len > maxFrame) {
            throw new QemuStreamParser.BadLengthException(len, maxFrame);
        }
    }

    private void releasePending() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releasePending();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releasePending();
    }

    /** Reads into the frame being assembled when there is one; see {@link #recvAllocator()}. */
    private final class FrameReadAllocator extends DefaultMaxMessagesRecvByteBufAllocator {
        FrameReadAllocator() {
            super(16); // reads per readiness event, as Netty's stream channels default to
        }

        @Override
        public Handle newHandle() {
            return new MaxMessageHandle() {
                private int next = MIN_READ;
                private boolean intoPending;

                @Override
                public ByteBuf allocate(ByteBufAllocator alloc) {
                    ByteBuf p = pending;
                    if (p != null && p.isWritable() && !failed) {
                        intoPending = true;
                        return p.retain(); // released by channelRead, or by the read loop when nothing was read
                    }
                    intoPending = false;
                    return alloc.ioBuffer(next);
                }

                @Override
                public int guess() {
                    ByteBuf p = pending;
                    return p != null && p.isWritable() ? p.writableBytes() : next;
                }

                @Override
                public void lastBytesRead(int bytes) {
                    super.lastBytesRead(bytes);
                    if (intoPending || bytes <= 0) {
                        return;
                    }
                    if (bytes == attemptedBytesRead()) {
                        next = Math.min(MAX_READ, next << 1); // filled: more may be waiting
                    } else if (bytes < next >>> 2) {
                        next = Math.max(MIN_READ, next >>> 1);
                    }
                }
            };
        }
    }
}
