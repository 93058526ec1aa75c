package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;

/**
 * Decoder of the QEMU stream framing. One instance per channel.
 *
 * <p>Netty decoder for the QEMU stream framing: bytes in, one ByteBuf per Ethernet frame out, with as few
 * copies as the stream allows.
 *
 * <p>A frame that lies wholly inside one read is passed on as a retained slice of the read buffer (no
 * copy). A frame that a read cuts off is completed without copying when the transport reads through
 * recvAllocator() (QemuTransport does): if the rest of the frame fits in the read buffer after it, the
 * next read appends to that same buffer, and the frame becomes a slice of it; otherwise the frame gets
 * a buffer of exactly its length, the bytes already read are copied in (a few bytes, typically), and
 * the next read goes straight into the rest of that buffer. The read buffers are sized from the
 * largest frame seen, so large frames (MTU 65520: longer than a typical read) usually fit. Without
 * that allocator (WebSocket, embedded channels) a cut frame is copied into its own buffer.
 * A cumulating decoder copied nearly every byte once more at MTU 65520: a quarter of the event loop's
 * time when the guest sends.
 *
 * <p>Every frame comes out as contiguous memory (a slice of one buffer), so checksums take their fast
 * path. The length prefix is checked before anything is allocated for it: zero or more than the cap is
 * a broken or hostile peer, and this channel (only) is closed with a logged reason.
 */
@SuppressWarnings("ReferenceEquality") // read buffers are compared by identity on purpose
public final class QemuFrameDecoder extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(QemuFrameDecoder.class.getName());
    /** Bounds of the reads into new buffers (the upper one grows to two of the largest frames seen). */
    static final int MIN_READ = 2048;

    static final int MAX_READ = 64 * 1024;
    static final int MAX_BIG_READ = 256 * 1024;

    private final int maxFrame;
    /** The frame being assembled by copying (capacity = its length), or null. */
    private ByteBuf pending;
    /** A read buffer whose last frame is cut off and still fits: the next read appends to it. */
    private ByteBuf appendTo;
    /** The last new buffer the receive allocator handed out (only such buffers are appended to). */
    private ByteBuf lastFresh;
    /** Bytes of a length prefix that a read cut off (0 to 3 of them) and their value so far. */
    private int prefixHave;

    private int prefixValue;
    private int largestFrame;
    private boolean failed;

    public QemuFrameDecoder(int maxFrame) {
        this.maxFrame = maxFrame;
    }

    /**
     * A receive-buffer allocator for the channel this decoder reads from: reads complete a cut frame in
     * place (see the comment above); other reads get new buffers sized by how full the last ones were.
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
            // the transport read straight into the frame being assembled
            in.release(); // the read loop's reference; this decoder keeps its own
            if (!pending.isWritable()) {
                ByteBuf frame = pending;
                pending = null;
                ctx.fireChannelRead(frame);
            }
            return;
        }
        boolean appended = in == appendTo;
        if (appended) {
            in.release(); // the read loop's reference; appendTo holds this decoder's own
            appendTo = null;
        }
        boolean keep = false;
        try {
            if (!failed) {
                decode(ctx, in);
                keep = in.isReadable() && (appended || in == lastFresh) && fitsAfter(in);
                if (keep) {
                    appendTo = in;
                } else if (in.isReadable()) {
                    moveTailOut(ctx, in);
                }
            }
        } catch (QemuStreamParser.BadLengthException e) {
            failed = true;
            releasePending();
            LOG.log(System.Logger.Level.WARNING, "closing " + ctx.channel().remoteAddress() + ": " + e.getMessage());
            ctx.close();
        } finally {
            if (in == lastFresh) {
                lastFresh = null;
            }
            if (!keep) {
                in.release();
            }
        }
    }

    /** Emits every whole frame in {@code in}; stops at a cut one, with the reader index at its prefix. */
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
            if (prefixHave > 0) {
                // a length prefix split across reads (copying path): collect it byte by byte
                prefixValue = (prefixValue << 8) | in.readUnsignedByte();
                if (++prefixHave == QemuStreamParser.PREFIX) {
                    long l = prefixValue & 0xffffffffL;
                    prefixHave = 0;
                    prefixValue = 0;
                    checkLength(l);
                    pending = ctx.alloc().directBuffer((int) l, (int) l);
                }
                continue;
            }
            if (in.readableBytes() < QemuStreamParser.PREFIX) {
                return;
            }
            long l = in.getUnsignedInt(in.readerIndex());
            checkLength(l);
            int len = (int) l;
            if (len > largestFrame) {
                largestFrame = len;
            }
            if (in.readableBytes() - QemuStreamParser.PREFIX < len) {
                return;
            }
            in.skipBytes(QemuStreamParser.PREFIX);
            ctx.fireChannelRead(in.readRetainedSlice(len)); // whole frame inside this buffer: no copy
        }
    }

    /** Whether the cut frame at the reader index of {@code in} can be completed by reading into {@code in}. */
    private static boolean fitsAfter(ByteBuf in) {
        if (!in.hasMemoryAddress() || in.writerIndex() >= in.capacity()) {
            return false;
        }
        if (in.readableBytes() < QemuStreamParser.PREFIX) {
            return in.capacity() - in.writerIndex() >= MIN_READ;
        }
        long len = in.getUnsignedInt(in.readerIndex()); // checked by decode
        return in.readerIndex() + QemuStreamParser.PREFIX + len <= in.capacity();
    }

    /** Copies a cut frame (or prefix) out of {@code in} so that {@code in} can be released. */
    private void moveTailOut(ChannelHandlerContext ctx, ByteBuf in) {
        if (in.readableBytes() >= QemuStreamParser.PREFIX) {
            int len = in.readInt(); // checked by decode
            pending = ctx.alloc().directBuffer(len, len);
            pending.writeBytes(in); // fewer than len bytes remain
        } else {
            while (in.isReadable()) {
                prefixValue = (prefixValue << 8) | in.readUnsignedByte();
                prefixHave++;
            }
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
        if (appendTo != null) {
            appendTo.release();
            appendTo = null;
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
        @SuppressWarnings("deprecation") // Netty 4.2 still declares newHandle() with the deprecated Handle type
        public Handle newHandle() {
            return new MaxMessageHandle() {
                private int next = MIN_READ;
                private boolean intoPending;

                @Override
                public ByteBuf allocate(ByteBufAllocator alloc) {
                    intoPending = false;
                    if (!failed) {
                        ByteBuf p = pending != null ? pending : appendTo;
                        if (p != null && p.isWritable()) {
                            intoPending = true;
                            lastFresh = null;
                            return p.retain(); // released by channelRead, or by the read loop when nothing was read
                        }
                    }
                    ByteBuf b = alloc.ioBuffer(freshSize());
                    lastFresh = b;
                    return b;
                }

                @Override
                public int guess() {
                    ByteBuf p = pending != null ? pending : appendTo;
                    return p != null && p.isWritable() ? p.writableBytes() : freshSize();
                }

                /** Room for two of the largest frames seen, so that a frame cut off at the end usually still fits. */
                private int freshSize() {
                    int big = 2 * (largestFrame + QemuStreamParser.PREFIX);
                    return big > MAX_READ && next == MAX_READ ? Math.min(MAX_BIG_READ, big) : next;
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
