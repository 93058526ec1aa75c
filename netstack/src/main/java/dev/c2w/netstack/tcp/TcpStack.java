package dev.c2w.netstack.tcp;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.ip.IpOutput;
import dev.c2w.netstack.loop.LoopTurnBatch;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.MacAddress;
import dev.c2w.netstack.wire.Tcp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The TCP endpoint of the gateway: demultiplexes guest segments to sockets, opens sockets for new SYNs and
 * for port forwards, and runs the shared timer, the ACK batch and the wait for a full link.
 *
 * <p>Lookup. Sockets are keyed by the guest's (IP, port), which is unique per connection in practice (an
 * ephemeral port); the rare second connection from the same guest port to another destination is chained
 * in a bucket. Keys are longs in a primitive map: the segment path allocates nothing.
 *
 * <p>New SYNs. A listener registered for the destination (in-process services such as DNS over TCP or the
 * proxy) accepts at once; otherwise the {@link FlowAcceptor} (the NAT) decides: it may connect to the host
 * first and accept or refuse later. Over the flow cap the guest gets RST. Segments for unknown connections
 * get RST as RFC 9293 asks for a closed port.
 *
 * <p>Time. The stack reads its clock (injected; {@link System#nanoTime} in production) once per segment or
 * tick and hands it to the socket, which reads none. One tick every 50 ms while connections exist drives
 * retransmission, persist probes and TIME_WAIT expiry. ACKs for received data are batched with a
 * {@link LoopTurnBatch}: a socket that owes an ACK is queued once, and the batch sends them after the
 * current turn's frames, so a burst of segments costs one ACK.
 */
public final class TcpStack implements TcpSocket.Output {
    /** Decides what happens to a guest connection nobody listens for (NAT to the host, or refusal). */
    public interface FlowAcceptor {
        /**
         * A new guest connection in SYN_PENDING. Call {@link TcpConnection#accept} (now or later, on the
         * loop) or {@link TcpConnection#refuse}.
         */
        void newFlow(TcpConnection conn, int dstIp, int dstPort);

        default void close() {}
    }

    private static final System.Logger LOG = System.getLogger(TcpStack.class.getName());
    private static final long TICK_MILLIS = 50;
    private static final int FIRST_EPHEMERAL = 40000;
    private static final int LAST_EPHEMERAL = 60999;

    final EventLoop loop;
    final NetStats stats;
    private final IpOutput ip;
    private final NetworkConfig config;
    private final ByteBufAllocator alloc;
    private final FlowAcceptor acceptor;
    private final LongSupplier clock;
    private final LongObjectHashMap<TcpSocket> sockets = new LongObjectHashMap<>();
    private final ArrayList<TcpSocket> all = new ArrayList<>();
    private final LongObjectHashMap<ChannelHandler> listeners = new LongObjectHashMap<>();
    private final LoopTurnBatch<TcpSocket> ackBatch;
    private final ArrayList<TcpSocket> linkBlocked = new ArrayList<>();
    private ScheduledFuture<?> tick;
    private int nextEphemeral = FIRST_EPHEMERAL;
    private boolean closed;

    /**
     * A stack that sends through {@code ip}, runs on {@code loop} and reads time from {@code clock}
     * (nanoseconds). {@code acceptor} takes connections nobody listens for.
     */
    public TcpStack(
            IpOutput ip,
            NetworkConfig config,
            EventLoop loop,
            NetStats stats,
            ByteBufAllocator alloc,
            FlowAcceptor acceptor,
            LongSupplier clock) {
        this.ip = ip;
        this.config = config;
        this.loop = loop;
        this.stats = stats;
        this.alloc = alloc;
        this.acceptor = acceptor;
        this.clock = clock;
        this.ackBatch = new LoopTurnBatch<>(loop, TcpStack::flushAck);
    }

    private static long key(int ip, int port) {
        return ((ip & 0xffffffffL) << 16) | port;
    }

    long now() {
        return clock.getAsLong();
    }

    /** Accepts guest connections to {@code ip:port} ({@code ip} 0: any gateway address) into {@code childHandler}. */
    public void listen(int ip, int port, ChannelHandler childHandler) {
        listeners.put(key(ip, port), childHandler);
    }

    /** Number of live connections (all states). */
    public int connectionCount() {
        return all.size();
    }

    private static int newIss() {
        return ThreadLocalRandom.current().nextInt();
    }

    /** A TCP segment in {@code f} (ownership passes) at {@code off}, {@code len} bytes, already IPv4-validated. */
    public void receive(ByteBuf f, int ipOff, int off, int len, int src, int dst) {
        try {
            if (len < Tcp.MIN_HEADER) {
                stats.droppedMalformed++;
                return;
            }
            int hl = Tcp.headerLength(f, off);
            if (hl < Tcp.MIN_HEADER || hl > len) {
                stats.droppedMalformed++;
                return;
            }
            long sum = Checksum.pseudoHeader(src, dst, Ipv4.PROTO_TCP, len);
            if (Checksum.finish(Checksum.add(sum, f, off, len)) != 0) {
                stats.droppedChecksum++;
                return;
            }
            int srcPort = Tcp.srcPort(f, off);
            int dstPort = Tcp.dstPort(f, off);
            int flags = Tcp.flags(f, off);
            int seq = Tcp.seq(f, off);
            int ack = Tcp.ack(f, off);
            int window = Tcp.window(f, off);
            int synOpts = (flags & Tcp.SYN) != 0 ? Tcp.parseSynOptions(f, off, hl) : 0;
            TcpSocket s = find(src, srcPort, dst, dstPort);
            if (s == null) {
                if ((flags & (Tcp.SYN | Tcp.ACK | Tcp.RST)) == Tcp.SYN) {
                    newConnection(src, srcPort, dst, dstPort, seq, window, synOpts);
                } else if ((flags & Tcp.RST) == 0) {
                    // no such connection: RST (RFC 9293 3.10.7.1)
                    int seqLen = len - hl + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
                    if ((flags & Tcp.ACK) != 0) {
                        sendReset(src, srcPort, dst, dstPort, ack, 0, Tcp.RST);
                    } else {
                        sendReset(src, srcPort, dst, dstPort, 0, seq + seqLen, Tcp.RST | Tcp.ACK);
                    }
                }
                return;
            }
            s.segment(now(), f, seq, ack, flags, window, synOpts, off + hl, len - hl);
        } finally {
            f.release();
        }
    }

    private TcpSocket find(int guestIp, int guestPort, int localIp, int localPort) {
        TcpSocket s = sockets.get(key(guestIp, guestPort));
        while (s != null && (s.localIp != localIp || s.localPort != localPort || s.guestIp != guestIp)) {
            s = s.nextInBucket;
        }
        return s;
    }

    private TcpConnection newSocket(int guestIp, int guestPort, int localIp, int localPort) {
        TcpSocket s = new TcpSocket(
                this, stats, alloc, config.mtu(), guestIp, guestPort, localIp, localPort, ip.macOf(guestIp));
        return new TcpConnection(this, s);
    }

    private void newConnection(int src, int srcPort, int dst, int dstPort, int seq, int window, int synOpts) {
        if (closed) {
            return;
        }
        if (all.size() >= config.maxTcpFlows()) {
            stats.droppedFlowLimit++;
            sendReset(src, srcPort, dst, dstPort, 0, seq + 1, Tcp.RST | Tcp.ACK);
            return;
        }
        TcpConnection c = newSocket(src, srcPort, dst, dstPort);
        c.socket().synReceived(newIss(), seq, window, synOpts);
        add(c.socket());
        ChannelHandler h = listeners.get(key(dst, dstPort));
        if (h == null && config.isGatewayAddress(dst)) {
            h = listeners.get(key(0, dstPort));
        }
        if (h != null) {
            c.accept(h);
        } else {
            acceptor.newFlow(c, dst, dstPort);
        }
    }

    /** Opens a connection from {@code host-loopback:ephemeral} to the guest (port forwards). */
    public void connectToGuest(int guestIp, int port, ChannelHandler handler, Promise<Channel> promise) {
        if (closed) {
            promise.tryFailure(new IllegalStateException("network closed"));
            return;
        }
        if (all.size() >= config.maxTcpFlows()) {
            stats.droppedFlowLimit++;
            promise.tryFailure(new IllegalStateException("TCP flow limit reached (" + config.maxTcpFlows() + ")"));
            return;
        }
        int localIp = config.hostLoopbackIp();
        int localPort = nextEphemeral;
        for (int i = 0; i < LAST_EPHEMERAL - FIRST_EPHEMERAL && find(guestIp, port, localIp, localPort) != null; i++) {
            localPort = localPort >= LAST_EPHEMERAL ? FIRST_EPHEMERAL : localPort + 1;
        }
        nextEphemeral = localPort >= LAST_EPHEMERAL ? FIRST_EPHEMERAL : localPort + 1;
        TcpConnection c = newSocket(guestIp, port, localIp, localPort);
        add(c.socket());
        c.connect(handler, promise, newIss());
    }

    private void add(TcpSocket s) {
        long k = key(s.guestIp, s.guestPort);
        s.nextInBucket = sockets.get(k);
        sockets.put(k, s);
        all.add(s);
        if (tick == null) {
            tick = loop.scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    // ------------------------------------------------------------------- TcpSocket.Output

    @Override
    public ByteBuf newSegment(int tcpLength) {
        ByteBuf b = ip.newIpPacket(tcpLength);
        b.ensureWritable(tcpLength);
        return b;
    }

    @Override
    public void send(TcpSocket from, ByteBuf segment) {
        ip.sendIp(segment, Ipv4.PROTO_TCP, from.localIp, from.guestIp, from.guestMac);
    }

    @Override
    public boolean linkWritable(TcpSocket s) {
        return ip.linkWritable(s.guestIp, s.guestMac);
    }

    @Override
    public void blockOnLink(TcpSocket s) {
        if (!s.linkBlocked) {
            s.linkBlocked = true;
            linkBlocked.add(s);
        }
    }

    @Override
    public void ackLater(TcpSocket s) {
        if (!s.ackPending) {
            s.ackPending = true;
            ackBatch.add(s);
        }
    }

    private static void flushAck(TcpSocket s) {
        boolean owed = s.ackPending;
        s.ackPending = false;
        s.flushAck(owed);
    }

    @Override
    public void freed(TcpSocket s) {
        long k = key(s.guestIp, s.guestPort);
        TcpSocket head = sockets.get(k);
        if (head == s) {
            if (s.nextInBucket == null) {
                sockets.remove(k);
            } else {
                sockets.put(k, s.nextInBucket);
            }
        } else {
            for (TcpSocket p = head; p != null; p = p.nextInBucket) {
                if (p.nextInBucket == s) {
                    p.nextInBucket = s.nextInBucket;
                    break;
                }
            }
        }
        s.nextInBucket = null;
        all.remove(s);
    }

    /** A guest link drained: let every socket that waited on a link send again. */
    public void linkWritable() {
        if (linkBlocked.isEmpty()) {
            return;
        }
        TcpSocket[] waiting = linkBlocked.toArray(new TcpSocket[0]);
        linkBlocked.clear();
        long now = now();
        for (TcpSocket s : waiting) {
            s.linkBlocked = false;
            s.transmit(now);
        }
    }

    private void tick() {
        linkWritable(); // links that drain without telling us (WebSocket, in-process) are retried here
        long now = now();
        for (int i = all.size() - 1; i >= 0; i--) {
            if (i < all.size()) {
                all.get(i).tick(now);
            }
        }
        if (all.isEmpty() && tick != null) {
            tick.cancel(false);
            tick = null;
        }
    }

    private void sendReset(int guestIp, int guestPort, int localIp, int localPort, int seq, int ack, int flags) {
        ByteBuf b = newSegment(Tcp.MIN_HEADER);
        Tcp.writeHeader(
                b, b.writerIndex(), localIp, guestIp, localPort, guestPort, seq, ack, Tcp.MIN_HEADER, flags, 0, 0);
        ip.sendIp(b, Ipv4.PROTO_TCP, localIp, guestIp, MacAddress.NONE);
    }

    /** Frees every connection (the guests get nothing more) and stops the timer. */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (TcpSocket s : new ArrayList<>(all)) {
            s.destroy(null);
        }
        acceptor.close();
        if (tick != null) {
            tick.cancel(false);
            tick = null;
        }
        LOG.log(System.Logger.Level.DEBUG, "tcp closed");
    }
}
