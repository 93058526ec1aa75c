package dev.c2w.cli.invoke;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.Frames;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.link.QemuStreamParser;
import dev.c2w.wasi.SocketBackend;
import dev.c2w.wasi.Waker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The in-process wire between a WASI guest socket and a {@link VirtualNetwork}.
 *
 * <p>The in-process wire between a WASI guest's accepted socket and the network's switch.
 *
 * <p>Two threads touch it. The guest thread calls send/recv/readable/writable (from sock_send, sock_recv,
 * fd_read/fd_write and poll_oneoff). The network's event loop calls sendFrame/flush/portClosed and is
 * the only thread that touches the GuestPort.
 *
 * <p>Guest to stack: the guest writes a QEMU stream (4-byte big-endian length, then the frame) in pieces of
 * any size. send() appends them to an accumulator, cuts whole frames out with QemuStreamParser, copies
 * each into its own buffer (with the stack's headroom) and hands the batch of one send() to the loop in
 * one execute(). Bytes handed over but not yet taken by the switch are counted; at the cap, send()
 * accepts nothing (the socket reports EAGAIN, or a blocking send waits), and the loop signals the waker
 * once it has drained the batch. A bad length prefix means the guest is not speaking the framing: the
 * link breaks (send and recv then report end of stream), with one logged reason and a counter.
 *
 * <p>Stack to guest: sendFrame() prefixes the length (in place, in the stack's headroom, when it can),
 * copies the bytes into a bounded queue of chunks and signals the waker, which wakes a poll_oneoff or a
 * blocking recv. When the queue is full the frame is dropped and counted: the stack has no backpressure
 * towards a port, and a lost Ethernet frame is what a real NIC does when its ring is full (TCP resends).
 */
public final class InProcessLink implements FrameSink, SocketBackend.Connection {
    private static final System.Logger LOG = System.getLogger(InProcessLink.class.getName());

    /** Default bytes queued for the guest (frames beyond are dropped). */
    public static final int DEFAULT_RX_CAPACITY = 4 * 1024 * 1024;
    /** Default bytes handed to the loop and not yet taken (send() accepts nothing beyond). */
    public static final int DEFAULT_TX_CAPACITY = 1024 * 1024;

    private final EventLoop loop;
    private final Waker waker;
    private final QemuStreamParser parser;
    private final int rxCapacity;
    private final int txCapacity;
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

    // guest thread only
    private final ByteBuf txAccum = Unpooled.buffer(4096);

    // shared, under rxLock
    private final Object rxLock = new Object();
    private final ArrayDeque<byte[]> rx = new ArrayDeque<>();
    private int rxHeadOffset;
    private int rxBytes;

    private final AtomicLong txInFlight = new AtomicLong();
    private final AtomicLong framesToStack = new AtomicLong();
    private final AtomicLong framesToGuest = new AtomicLong();
    private final AtomicLong framesDropped = new AtomicLong();
    private volatile boolean closed;
    private volatile String brokenReason;

    // event loop only
    private GuestPort port;

    private InProcessLink(VirtualNetwork net, Waker waker, int rxCapacity, int txCapacity) {
        this.loop = net.eventLoop();
        this.waker = waker;
        this.parser = new QemuStreamParser(net.config().maxFrameSize());
        this.rxCapacity = rxCapacity;
        this.txCapacity = txCapacity;
    }

    /** Attaches a new link to {@code net}'s switch and returns once it is attached. Any thread. */
    /** The WASI host's socket back-end for {@code net}: each accepted socket is a link to its switch. */
    public static SocketBackend backend(VirtualNetwork net) {
        return waker -> open(net, waker);
    }

    public static InProcessLink open(VirtualNetwork net, Waker waker) {
        return open(net, waker, DEFAULT_RX_CAPACITY, DEFAULT_TX_CAPACITY);
    }

    public static InProcessLink open(VirtualNetwork net, Waker waker, int rxCapacity, int txCapacity) {
        InProcessLink link = new InProcessLink(net, waker, rxCapacity, txCapacity);
        if (link.loop.inEventLoop()) {
            link.port = net.attach(link);
        } else {
            link.loop
                    .submit(() -> {
                        link.port = net.attach(link);
                    })
                    .syncUninterruptibly();
        }
        return link;
    }

    // ---- guest side ----

    /**
     * Takes up to {@code len} bytes of the guest's QEMU stream. Returns the number taken (0 when the
     * bytes in flight to the stack are at the cap), or -1 when the link is closed or broken.
     */
    @Override
    public int send(byte[] src, int off, int len) {
        if (closed) {
            return -1;
        }
        long room = txCapacity - txInFlight.get();
        if (room <= 0) {
            return 0;
        }
        int take = (int) Math.min(len, room);
        txAccum.writeBytes(src, off, take);
        List<ByteBuf> batch = null;
        long batchBytes = 0;
        try {
            ByteBuf slice;
            while ((slice = parser.next(txAccum)) != null) {
                try {
                    int n = slice.readableBytes();
                    ByteBuf frame = Frames.allocate(alloc, n);
                    frame.writeBytes(slice);
                    if (batch == null) {
                        batch = new ArrayList<>();
                    }
                    batch.add(frame);
                    batchBytes += n;
                } finally {
                    slice.release();
                }
            }
        } catch (QemuStreamParser.BadLengthException e) {
            breakLink("guest socket: " + e.getMessage());
            if (batch != null) {
                batch.forEach(ByteBuf::release);
            }
            return -1;
        }
        txAccum.discardSomeReadBytes();
        if (batch != null) {
            handOver(batch, batchBytes);
        }
        return take;
    }

    private void handOver(List<ByteBuf> batch, long bytes) {
        txInFlight.addAndGet(bytes);
        framesToStack.addAndGet(batch.size());
        execute(
                () -> {
                    for (ByteBuf f : batch) {
                        if (port != null && !closed) {
                            port.receiveFrame(f);
                        } else {
                            f.release();
                        }
                    }
                    long after = txInFlight.addAndGet(-bytes);
                    if (after + bytes >= txCapacity && after < txCapacity) {
                        waker.signal();
                    }
                },
                () -> {
                    batch.forEach(ByteBuf::release);
                    txInFlight.addAndGet(-bytes);
                });
    }

    /** Runs {@code task} on the loop; when the loop has shut down, runs {@code orElse} here and ends the link. */
    private void execute(Runnable task, Runnable orElse) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            orElse.run();
            portClosed();
        }
    }

    /**
     * Copies up to {@code len} queued bytes for the guest. Returns the count, 0 when nothing is queued,
     * or -1 at end of stream (closed and drained).
     */
    @Override
    public int recv(byte[] dst, int off, int len) {
        synchronized (rxLock) {
            if (rxBytes == 0) {
                return closed ? -1 : 0;
            }
            int done = 0;
            while (done < len && !rx.isEmpty()) {
                byte[] head = rx.peekFirst();
                int n = Math.min(len - done, head.length - rxHeadOffset);
                System.arraycopy(head, rxHeadOffset, dst, off + done, n);
                done += n;
                rxHeadOffset += n;
                if (rxHeadOffset == head.length) {
                    rx.pollFirst();
                    rxHeadOffset = 0;
                }
            }
            rxBytes -= done;
            return done;
        }
    }

    /** True when {@link #recv} would return data or end of stream. */
    @Override
    public boolean readable() {
        synchronized (rxLock) {
            return rxBytes > 0 || closed;
        }
    }

    /** True when {@link #send} would take bytes (or report the link closed). */
    @Override
    public boolean writable() {
        return closed || txInFlight.get() < txCapacity;
    }

    /** Bytes queued for the guest. */
    @Override
    public int queuedForGuest() {
        synchronized (rxLock) {
            return rxBytes;
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /** Why the link broke (bad framing from the guest), or null. */
    public String brokenReason() {
        return brokenReason;
    }

    public long framesToStack() {
        return framesToStack.get();
    }

    public long framesToGuest() {
        return framesToGuest.get();
    }
    /** Frames for the guest dropped because its queue was full. */
    public long framesDropped() {
        return framesDropped.get();
    }

    private void breakLink(String reason) {
        if (brokenReason == null) {
            brokenReason = reason;
            LOG.log(System.Logger.Level.WARNING, reason + "; closing the guest's network link");
        }
        close();
    }

    /** Detaches from the switch and frees the queues. Idempotent; any thread. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        execute(
                () -> {
                    if (port != null) {
                        port.close();
                    }
                },
                () -> {});
        synchronized (rxLock) {
            rx.clear();
            rxBytes = 0;
            rxHeadOffset = 0;
        }
        waker.signal();
    }

    // ---- event loop side (FrameSink) ----

    @Override
    public void sendFrame(ByteBuf frame) {
        ByteBuf framed = Frames.withLengthPrefix(alloc, frame);
        try {
            int n = framed.readableBytes();
            synchronized (rxLock) {
                if (closed) {
                    return;
                }
                if (rxBytes + n > rxCapacity) {
                    framesDropped.incrementAndGet();
                    return;
                }
                byte[] b = new byte[n];
                framed.readBytes(b);
                rx.addLast(b);
                rxBytes += n;
            }
            framesToGuest.incrementAndGet();
        } finally {
            framed.release();
        }
        waker.signal();
    }

    /** TCP backs off at half the receive queue's capacity, before frames would be dropped. */
    @Override
    public boolean isWritable() {
        synchronized (rxLock) {
            return rxBytes < rxCapacity / 2;
        }
    }

    @Override
    public void portClosed() {
        closed = true;
        waker.signal();
    }
}
