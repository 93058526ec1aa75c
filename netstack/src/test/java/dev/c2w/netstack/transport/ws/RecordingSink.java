package dev.c2w.netstack.transport.ws;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A second "guest" on a network, run by the test: it records every frame the switch sends it and can
 * inject frames as if a guest had sent them (broadcasts flood to the WebSocket guest).
 */
final class RecordingSink implements FrameSink {
    final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
    volatile boolean portClosed;
    private final VirtualNetwork net;
    private GuestPort port;

    private RecordingSink(VirtualNetwork net) {
        this.net = net;
    }

    static RecordingSink attach(VirtualNetwork net) {
        RecordingSink s = new RecordingSink(net);
        net.eventLoop().submit(() -> s.port = net.attach(s)).syncUninterruptibly();
        return s;
    }

    @Override
    public void sendFrame(ByteBuf frame) {
        frames.add(ByteBufUtil.getBytes(frame));
        frame.release();
    }

    @Override
    public void portClosed() {
        portClosed = true;
    }

    /** Hands {@code frame} to the switch as if this port's guest sent it. */
    void inject(byte[] frame) {
        net.eventLoop().execute(() -> {
            ByteBuf b = Unpooled.directBuffer(frame.length).writeBytes(frame);
            port.receiveFrame(b);
        });
    }

    /** Runs on the network's loop and waits for it (orders the test after earlier injections). */
    void sync() {
        net.eventLoop().submit(() -> {}).syncUninterruptibly();
    }

    byte[] next() throws InterruptedException {
        byte[] f = frames.poll(30, TimeUnit.SECONDS);
        if (f == null) {
            throw new AssertionError("no frame reached the recording port within 30 s");
        }
        return f;
    }

    void close() {
        net.eventLoop().submit(() -> port.close()).syncUninterruptibly();
    }
}
