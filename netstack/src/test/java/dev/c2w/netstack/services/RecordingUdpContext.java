package dev.c2w.netstack.services;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.EventLoop;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A UdpContext for tests: records every datagram sent to the guest (as a copy) and releases the buffer. */
public final class RecordingUdpContext implements UdpContext {

    /** One datagram the service sent to the guest. */
    public record Sent(int srcIp, int srcPort, int dstIp, int dstPort, long dstMac, byte[] payload) {}

    private final NetworkConfig config;
    private final EventLoop loop;
    private final HostTransport host;
    private final NetStats stats = new NetStats();
    /** Every buffer handed to sendToGuest must have refCnt 1. */
    private final ByteBufAllocator alloc = new UnpooledByteBufAllocator(false);

    public final BlockingQueue<Sent> sent = new LinkedBlockingQueue<>();

    public RecordingUdpContext(NetworkConfig config, EventLoop loop, HostTransport host) {
        this.config = config;
        this.loop = loop;
        this.host = host;
    }

    @Override
    public NetworkConfig config() {
        return config;
    }

    @Override
    public EventLoop eventLoop() {
        return loop;
    }

    @Override
    public ByteBufAllocator alloc() {
        return alloc;
    }

    @Override
    public HostTransport host() {
        return host;
    }

    @Override
    public NetStats stats() {
        return stats;
    }

    @Override
    public void sendToGuest(int srcIp, int srcPort, int dstIp, int dstPort, long dstMac, ByteBuf payload) {
        if (loop != null && !loop.inEventLoop()) {
            payload.release();
            throw new IllegalStateException("sendToGuest called off the event loop");
        }
        if (payload.refCnt() != 1) {
            throw new IllegalStateException("payload refCnt " + payload.refCnt());
        }
        byte[] bytes = ByteBufUtil.getBytes(payload);
        payload.release();
        sent.add(new Sent(srcIp, srcPort, dstIp, dstPort, dstMac, bytes));
    }

    /** The next datagram sent, waiting up to {@code seconds}; null if none. */
    public Sent next(long seconds) throws InterruptedException {
        return sent.poll(seconds, TimeUnit.SECONDS);
    }
}
