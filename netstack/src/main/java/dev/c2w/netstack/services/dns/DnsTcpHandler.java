package dev.c2w.netstack.services.dns;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * One guest's DNS-over-TCP connection. Not sharable: one per channel.
 *
 * <p>DNS over TCP on 192.168.127.1:53 (RFC 1035 §4.2.2, RFC 7766): the lead installs this handler on each
 * in-process guest TCP channel for that address. Messages are framed by a 2-byte big-endian length.
 *
 * <p>Input: bytes accumulate (ByteToMessageDecoder's cumulation) until a whole frame is there; every whole
 * frame in the buffer is handled, so two queries in one read and a query split across reads both work.
 * A frame that is not a valid query is dropped and counted by the forwarder; a zero-length frame is
 * counted as malformed too. The connection stays open: one bad query does not spoil the others.
 * Queries are pipelined: each goes to the forwarder at once and answers are written as they arrive, in
 * any order, which RFC 7766 §6.2.1.1 allows (clients match answers by ID). At most MAX_PER_CONNECTION
 * queries of one connection are outstanding; while that many are, the handler stops reading (autoRead
 * off), which pushes back on the guest through the TCP window instead of dropping queries.
 *
 * <p>Output: each answer is written as a 2-byte length and the message. Answers for a connection that has
 * closed are released. The handler is meant to run on the forwarder's event loop (the network's loop, which
 * also runs the guest TCP stack); if it does not, queries move to the forwarder's loop and answers back to
 * the channel's, so each side's state stays on one thread.
 */
public final class DnsTcpHandler extends ByteToMessageDecoder implements DnsForwarder.Client {
    private static final System.Logger LOG = System.getLogger(DnsTcpHandler.class.getName());

    public static final int MAX_PER_CONNECTION = 64;

    private final DnsForwarder forwarder;
    private ChannelHandlerContext ctx;
    private int outstanding;
    private boolean paused;

    public DnsTcpHandler(DnsForwarder forwarder) {
        this.forwarder = forwarder;
    }

    /** An initializer that puts a fresh handler on each channel. */
    public static ChannelInitializer<Channel> initializer(DnsForwarder forwarder) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new DnsTcpHandler(forwarder));
            }
        };
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!paused && in.readableBytes() >= 2) {
            int len = in.getUnsignedShort(in.readerIndex());
            if (in.readableBytes() < 2 + len) {
                return;
            }
            ByteBuf frame = in.slice(in.readerIndex() + 2, len);
            in.skipBytes(2 + len);
            if (len == 0) {
                forwarder.query(frame, true, this, 0, 0, 0, 0); // counted as malformed there
                continue;
            }
            if (forwarder.query(frame, true, this, 0, 0, 0, 0)) {
                outstanding++;
                if (outstanding >= MAX_PER_CONNECTION) {
                    paused = true;
                    ctx.channel().config().setAutoRead(false);
                }
            }
        }
    }

    @Override
    public void answer(ByteBuf response, long mac, int ip, int port, int localIp) {
        if (ctx != null && !ctx.executor().inEventLoop()) {
            // the channel runs on another loop than the forwarder: keep this handler's state on its own loop
            ctx.executor().execute(() -> answer(response, mac, ip, port, localIp));
            return;
        }
        Channel ch = ctx == null ? null : ctx.channel();
        if (ch == null || !ch.isActive()) {
            response.release();
            outstanding--;
            return;
        }
        ByteBuf len = ctx.alloc().buffer(2).writeShort(response.readableBytes());
        ctx.write(len);
        ctx.writeAndFlush(response);
        oneLess();
    }

    /** One outstanding query less: resume reading if reading was paused at the limit. */
    private void oneLess() {
        outstanding--;
        if (paused && outstanding < MAX_PER_CONNECTION) {
            paused = false;
            Channel ch = ctx.channel();
            ch.config().setAutoRead(true);
            // frames already buffered are handled now, not at the next read
            ctx.executor().execute(() -> {
                if (ch.isActive() && !paused) {
                    try {
                        channelRead(ctx, Unpooled.EMPTY_BUFFER);
                    } catch (Exception e) {
                        exceptionCaught(ctx, e);
                    }
                }
            });
        }
    }

    @Override
    public void dropped() {
        if (ctx != null && !ctx.executor().inEventLoop()) {
            ctx.executor().execute(this::dropped);
            return;
        }
        if (ctx != null) {
            oneLess();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (paused) {
            // ByteToMessageDecoder would ask for another read when it decoded nothing and autoRead is off;
            // while paused we want the guest's data to wait in its TCP window instead.
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(System.Logger.Level.DEBUG, () -> "DNS over TCP: " + cause);
        ctx.close();
    }
}
