package dev.c2w.netstack.tcp;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.util.concurrent.Promise;

/** Placeholder while the TCP endpoint is being written. */
public final class TcpStack {
    public void listen(int ip, int port, ChannelHandler childHandler) {
    }

    public void connectToGuest(int ip, int port, ChannelHandler handler, Promise<Channel> promise) {
        promise.tryFailure(new UnsupportedOperationException("not yet"));
    }
}
