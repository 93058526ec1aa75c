package dev.c2w.netstack.transport.ws;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.util.ReferenceCountUtil;

/**
 * WebSocket frames in, guest stream bytes out.
 *
 * <p>Turns a client's WebSocket frames back into the byte stream the guest wrote.
 *
 * <p>The page sends whatever the emulator hands to sock_send as one message, so message boundaries mean
 * nothing: the payloads of data frames (binary, their continuation fragments, and -- as upstream's Go
 * server does -- text) are passed on as plain ByteBufs, in order, to the QEMU stream decoder behind this
 * handler, which finds the 4-byte length prefixes wherever they fall. Control frames are answered here:
 * ping -> pong with the same payload, close -> close handshake and the channel closes; pongs are dropped.
 */
final class WsFrameHandler extends ChannelInboundHandlerAdapter {
    private final WebSocketServerHandshaker handshaker;

    WsFrameHandler(WebSocketServerHandshaker handshaker) {
        this.handshaker = handshaker;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof BinaryWebSocketFrame
                || msg instanceof ContinuationWebSocketFrame
                || msg instanceof TextWebSocketFrame) {
            ctx.fireChannelRead(((WebSocketFrame) msg).content());
        } else if (msg instanceof PingWebSocketFrame ping) {
            ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
        } else if (msg instanceof CloseWebSocketFrame close) {
            handshaker.close(ctx.channel(), close);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }
}
