package dev.c2w.netstack.tcp;

import dev.c2w.netstack.loop.Loops;
import dev.c2w.netstack.wire.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AbstractChannel;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.Map;

/**
 * A guest TCP connection as a Netty {@link Channel}: a thin adapter over its {@link TcpSocket}, registered
 * on the network's event loop once the handshake completes, so NAT relays, port forwards and in-process
 * services (DNS over TCP, the HTTP proxy) are ordinary pipelines.
 *
 * <p>Reads. The socket hands in-order payload on while the channel reads (autoRead, or {@code read()}
 * requested) and keeps it otherwise; each event-loop turn that delivered data ends with one
 * {@code channelReadComplete} (the socket's ACK batch). The guest's FIN is {@link ChannelInputShutdownEvent}
 * once every byte before it was read; half-closure is always allowed.
 *
 * <p>Writes. {@link #doWrite} moves flushed buffers from Netty's outbound buffer into the socket's send
 * queue, up to {@link TcpSocket#SEND_BUFFER} bytes; the rest stays in the outbound buffer, whose high-water
 * mark turns the channel unwritable (the relay then stops reading its host socket). When acknowledgements
 * make room, the socket asks for more and the flush runs again.
 *
 * <p>Close. {@code close()} sends FIN after the queued data, {@code shutdownOutput()} is a half-close and
 * {@link #abort} sends RST. As on a kernel socket, {@link ChannelOption#SO_LINGER} 0 turns {@code close()}
 * into a reset: the queued data is dropped and the guest gets RST (any other value is an ordinary close;
 * nothing blocks here). So a relay resets any channel the same way: SO_LINGER 0, then close.
 *
 * <p>Threads. Everything runs on the event loop except what Netty lets any thread call on a channel:
 * {@link #isOpen} and {@link #isActive} answer from volatile copies of the socket's state, and the
 * config (autoRead, SO_LINGER) is safe to set from anywhere.
 */
public final class TcpConnection extends AbstractChannel implements DuplexChannel, TcpSocket.Application {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);
    private static final int HIGH_WATER_MARK = 256 * 1024;
    private static final int LOW_WATER_MARK = 128 * 1024;

    private final TcpStack stack;
    private final TcpSocket socket;
    private final Config config;
    /** What {@link #isOpen} answers: the socket's appOpen, for any thread. */
    private volatile boolean open = true;
    /** What {@link #isActive} answers: open and the handshake completed, the block not freed; for any thread. */
    private volatile boolean active;

    private ChannelHandler pendingHandler;
    private Promise<Channel> connectPromise;
    private boolean readRequested;
    private boolean deliveredSinceComplete;
    private boolean outputShutdown;
    /** A host channel to close if this connection dies before its handshake completes. */
    private Channel abandonClose;

    TcpConnection(TcpStack stack, TcpSocket socket) {
        super(null);
        this.stack = stack;
        this.socket = socket;
        this.config = new Config(this);
        config.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        config.setWriteBufferHighWaterMark(HIGH_WATER_MARK);
        config.setWriteBufferLowWaterMark(LOW_WATER_MARK);
        socket.attach(this);
    }

    /** The control block behind this channel. */
    public TcpSocket socket() {
        return socket;
    }

    // ------------------------------------------------------------------------------ handshake

    /** Completes a passive open: SYN-ACK now; the channel is registered with {@code handler} once the guest ACKs. */
    public boolean accept(ChannelHandler handler) {
        if (socket.state() != TcpState.SYN_PENDING) {
            return false;
        }
        pendingHandler = handler;
        return socket.accept(stack.now());
    }

    /** Closes {@code ch} if this connection is freed before it is established (NAT host sockets). */
    public void closeOnAbandon(Channel ch) {
        this.abandonClose = ch;
    }

    /** Refuses a passive open (host refused or timed out, policy): RST to the guest. */
    public void refuse() {
        socket.refuse();
    }

    /** Sends RST to the guest and frees the connection (the host side reset, or a hard error). */
    public void abort() {
        socket.abort();
    }

    void connect(ChannelHandler handler, Promise<Channel> promise, int iss) {
        pendingHandler = handler;
        connectPromise = promise;
        socket.connect(iss, stack.now());
    }

    // ------------------------------------------------------------------- TcpSocket.Application

    @Override
    public void established() {
        active = socket.appOpen();
        ChannelHandler h = pendingHandler;
        pendingHandler = null;
        if (h != null) {
            pipeline().addLast(h);
        }
        ChannelFuture reg = stack.loop.register(this);
        Promise<Channel> p = connectPromise;
        connectPromise = null;
        if (p != null) {
            reg.addListener(fut -> {
                if (fut.isSuccess()) {
                    p.trySuccess(this);
                } else {
                    p.tryFailure(fut.cause());
                }
            });
        }
    }

    @Override
    public boolean readable() {
        return isRegistered() && (config.isAutoRead() || readRequested);
    }

    @Override
    public void data(ByteBuf data) {
        deliveredSinceComplete = true;
        pipeline().fireChannelRead(data);
    }

    @Override
    public void readComplete() {
        if (deliveredSinceComplete) {
            deliveredSinceComplete = false;
            if (!config.isAutoRead()) {
                readRequested = false;
            }
            if (isRegistered() && socket.appOpen()) {
                pipeline().fireChannelReadComplete();
            }
        }
    }

    @Override
    public void finReceived() {
        if (socket.receiveQueueEmpty() && isRegistered()) {
            fireInputShutdown();
        }
        if (socket.state() == TcpState.TIME_WAIT && socket.receiveQueueEmpty()) {
            closeChannelQuietly();
        }
    }

    @Override
    public void sendSpace() {
        if (unsafe().outboundBuffer() != null && isRegistered()) {
            // let AbstractChannel's flush machinery call doWrite again (it guards against re-entry)
            ((TcpUnsafe) unsafe()).flushNow();
        }
    }

    @Override
    public void closed(Throwable cause) {
        active = false;
        if (connectPromise != null) {
            connectPromise.tryFailure(cause != null ? cause : new IOException("connection closed"));
            connectPromise = null;
        }
        if (!isRegistered() && abandonClose != null) {
            abandonClose.close();
        }
        abandonClose = null;
        if (isRegistered() && socket.appOpen()) {
            if (cause != null) {
                pipeline().fireExceptionCaught(cause);
            }
            closeChannelQuietly();
        } else {
            detach();
        }
    }

    private void fireInputShutdown() {
        if (socket.finDelivered()) {
            return;
        }
        socket.markFinDelivered();
        if (deliveredSinceComplete) {
            deliveredSinceComplete = false;
            pipeline().fireChannelReadComplete();
        }
        pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        pipeline().fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
        if (outputShutdown && socket.appOpen()) {
            close();
        }
    }

    private void closeChannelQuietly() {
        if (socket.appOpen() && isRegistered()) {
            unsafe().close(voidPromise());
        }
        detach();
    }

    private void detach() {
        open = false;
        active = false;
        socket.detach();
    }

    // ------------------------------------------------------------------------ channel -> guest

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        if (socket.finQueued() || socket.state() == TcpState.CLOSED) {
            throw new ClosedChannelException();
        }
        while (socket.sendRoom() > 0) {
            Object msg = in.current();
            if (msg == null) {
                break;
            }
            if (msg instanceof ByteBuf buf) {
                if (buf.readableBytes() > 0) {
                    socket.enqueue(buf.retain());
                }
                in.remove();
            } else {
                in.remove(new UnsupportedOperationException("only ByteBuf can be written to a guest TCP channel"));
            }
        }
        socket.transmit(stack.now());
        if (in.isEmpty()) {
            maybeQueueFin();
        }
    }

    private void maybeQueueFin() {
        if (!outputShutdown) {
            return;
        }
        ChannelOutboundBuffer out = unsafe().outboundBuffer();
        if (out == null || out.isEmpty()) {
            socket.shutdownOutput(stack.now());
        }
    }

    // --------------------------------------------------------------------------- Channel plumbing

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new TcpUnsafe();
    }

    private final class TcpUnsafe extends AbstractUnsafe {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("guest TCP channels are connected by the stack"));
        }

        void flushNow() {
            flush0();
        }
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        return true;
    }

    @Override
    protected SocketAddress localAddress0() {
        return new InetSocketAddress(Ipv4Address.toInet(socket.localIp), socket.localPort);
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return new InetSocketAddress(Ipv4Address.toInet(socket.guestIp), socket.guestPort);
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    @Override
    protected void doBind(SocketAddress localAddress) {
        throw new UnsupportedOperationException("bind");
    }

    @Override
    protected void doDisconnect() {
        doClose();
    }

    @Override
    protected void doClose() {
        open = false;
        active = false;
        if (config.resetOnClose()) {
            socket.reset();
        } else {
            socket.close(stack.now());
        }
    }

    @Override
    protected void doBeginRead() {
        if (!socket.appOpen()) {
            return;
        }
        readRequested = true;
        if (!socket.receiveQueueEmpty() || (socket.finReceived() && !socket.finDelivered())) {
            socket.readResumed();
            if (deliveredSinceComplete) {
                stack.ackLater(socket);
            }
        }
    }

    @Override
    protected void doShutdownOutput() {
        outputShutdown = true;
        maybeQueueFin();
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isActive() {
        return active;
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    @Override
    public ChannelConfig config() {
        return config;
    }

    @Override
    public boolean isInputShutdown() {
        return socket.finDelivered();
    }

    @Override
    public ChannelFuture shutdownInput() {
        return shutdownInput(newPromise());
    }

    @Override
    public ChannelFuture shutdownInput(ChannelPromise promise) {
        promise.setFailure(new UnsupportedOperationException("shutdownInput on a guest TCP channel"));
        return promise;
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown || socket.finQueued();
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    /** Half-close: a FIN follows every byte already written (queued writes are not dropped). */
    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        Loops.run(eventLoop(), () -> {
            outputShutdown = true;
            maybeQueueFin();
            promise.trySuccess();
        });
        return promise;
    }

    @Override
    public boolean isShutdown() {
        return isInputShutdown() && isOutputShutdown();
    }

    @Override
    public ChannelFuture shutdown() {
        return shutdownOutput();
    }

    @Override
    public ChannelFuture shutdown(ChannelPromise promise) {
        return shutdownOutput(promise);
    }

    @Override
    public String toString() {
        return socket.toString();
    }

    /** Netty's default options plus {@link ChannelOption#SO_LINGER}; only 0 (reset on close) changes anything. */
    private static final class Config extends DefaultChannelConfig {
        /** -1 (the default) or what was set; read on the loop by {@link #doClose}, set from any thread. */
        private volatile int linger = -1;

        Config(Channel channel) {
            super(channel);
        }

        boolean resetOnClose() {
            return linger == 0;
        }

        @Override
        public Map<ChannelOption<?>, Object> getOptions() {
            return getOptions(super.getOptions(), ChannelOption.SO_LINGER);
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T getOption(ChannelOption<T> option) {
            if (ChannelOption.SO_LINGER.equals(option)) {
                return (T) Integer.valueOf(linger);
            }
            return super.getOption(option);
        }

        @Override
        public <T> boolean setOption(ChannelOption<T> option, T value) {
            if (ChannelOption.SO_LINGER.equals(option)) {
                validate(option, value);
                linger = (Integer) value;
                return true;
            }
            return super.setOption(option, value);
        }
    }
}
