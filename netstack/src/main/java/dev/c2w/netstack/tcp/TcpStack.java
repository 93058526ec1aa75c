package dev.c2w.netstack.tcp;

import dev.c2w.netstack.NetStats;
import dev.c2w.netstack.gateway.Gateway;
import dev.c2w.netstack.wire.Checksum;
import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.MacAddress;
import dev.c2w.netstack.wire.Tcp;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.ArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/*
 * The TCP endpoint of the gateway: demultiplexes guest segments to connections, creates connections
 * for new SYNs, and runs the shared timer and the ACK batch.
 *
 * Lookup: connections are keyed by the guest's (IP, port), which is unique per connection in practice
 * (an ephemeral port); the rare second connection from the same guest port to another destination is
 * chained in a bucket. Keys are longs in a primitive map: the segment path allocates nothing.
 *
 * New SYNs: a listener registered for the destination (in-process services such as DNS over TCP or the
 * proxy) accepts at once; otherwise the FlowAcceptor (the NAT) decides: it may connect to the host first
 * and accept or refuse later. Over the flow cap the guest gets RST. Segments for unknown connections get
 * RST as RFC 9293 asks for a closed port.
 *
 * Timers: one tick every 50 ms while connections exist drives retransmission, persist probes and
 * TIME_WAIT expiry. ACKs for received data are batched: a connection that needs an ACK is queued once,
 * and a single task sends them after the current batch of frames, so a burst of segments costs one ACK.
 */

/** The TCP endpoint; see the comment above. Event-loop confined. */
public final class TcpStack {
    /** Decides what happens to a guest connection nobody listens for (NAT to the host, or refusal). */
    public interface FlowAcceptor {
        /**
         * A new guest connection in SYN_PENDING. Call {@link TcpConnection#accept} (now or later, on the loop)
         * or {@link TcpConnection#refuse}.
         */
        void newFlow(TcpConnection conn, int dstIp, int dstPort);

        default void close() {}
    }

    private static final System.Logger LOG = System.getLogger(TcpStack.class.getName());
    final Gateway gw;
    final EventLoop loop;
    final NetStats stats;
    private final FlowAcceptor acceptor;
    private final LongObjectHashMap<TcpConnection> conns = new LongObjectHashMap<>();
    private final ArrayList<TcpConnection> all = new ArrayList<>();
    private final LongObjectHashMap<ChannelHandler> listeners = new LongObjectHashMap<>();
    private final ArrayList<TcpConnection> ackBatch = new ArrayList<>();
    private final Runnable ackTask = this::flushAcks;
    private ScheduledFuture<?> tick;
    private int nextEphemeral = 40000;
    private boolean closed;

    public TcpStack(Gateway gw, FlowAcceptor acceptor) {
        this.gw = gw;
        this.loop = gw.eventLoop();
        this.stats = gw.stats();
        this.acceptor = acceptor;
    }

    private static long key(int ip, int port) {
        return ((ip & 0xffffffffL) << 16) | port;
    }

    public void listen(int ip, int port, ChannelHandler childHandler) {
        listeners.put(key(ip, port), childHandler);
    }

    /** Number of live connections (all states). */
    public int connectionCount() {
        return all.size();
    }

    int newIss() {
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
            TcpConnection c = find(src, srcPort, dst, dstPort);
            if (c == null) {
                if ((flags & (Tcp.SYN | Tcp.ACK | Tcp.RST)) == Tcp.SYN) {
                    newConnection(f, off, hl, src, srcPort, dst, dstPort, seq, window);
                } else if ((flags & Tcp.RST) == 0) {
                    // no such connection: RST (RFC 9293 3.10.7.1)
                    int dataLen = len - hl + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
                    if ((flags & Tcp.ACK) != 0) {
                        sendReset(src, srcPort, dst, dstPort, ack, 0, Tcp.RST);
                    } else {
                        sendReset(src, srcPort, dst, dstPort, 0, seq + dataLen, Tcp.RST | Tcp.ACK);
                    }
                }
                return;
            }
            int synOpts = (flags & Tcp.SYN) != 0 ? Tcp.parseSynOptions(f, off, hl) : 0;
            c.segment(f, seq, ack, flags, window, synOpts, off + hl, len - hl);
        } finally {
            f.release();
        }
    }

    private TcpConnection find(int guestIp, int guestPort, int localIp, int localPort) {
        TcpConnection c = conns.get(key(guestIp, guestPort));
        while (c != null && (c.localIp != localIp || c.localPort != localPort || c.guestIp != guestIp)) {
            c = c.nextInBucket;
        }
        return c;
    }

    private void newConnection(ByteBuf f, int off, int hl, int src, int srcPort, int dst, int dstPort, int seq, int window) {
        if (closed) {
            return;
        }
        if (all.size() >= gw.config().maxTcpFlows()) {
            stats.droppedFlowLimit++;
            sendReset(src, srcPort, dst, dstPort, 0, seq + 1, Tcp.RST | Tcp.ACK);
            return;
        }
        long mac = gw.macOf(src);
        TcpConnection c = new TcpConnection(this, src, srcPort, dst, dstPort, mac);
        c.synReceived(seq, window, Tcp.parseSynOptions(f, off, hl));
        add(c);
        ChannelHandler h = listeners.get(key(dst, dstPort));
        if (h == null && gw.config().isGatewayAddress(dst)) {
            h = listeners.get(key(0, dstPort));
        }
        if (h != null) {
            c.accept(h);
        } else {
            acceptor.newFlow(c, dst, dstPort);
        }
    }

    /** Opens a connection from {@code gateway:ephemeral} to the guest (port forwards). */
    public void connectToGuest(int guestIp, int port, ChannelHandler handler, Promise<Channel> promise) {
        if (closed) {
            promise.tryFailure(new IllegalStateException("network closed"));
            return;
        }
        if (all.size() >= gw.config().maxTcpFlows()) {
            stats.droppedFlowLimit++;
            promise.tryFailure(new IllegalStateException("TCP flow limit reached (" + gw.config().maxTcpFlows() + ")"));
            return;
        }
        int localIp = gw.config().hostLoopbackIp();
        int localPort = nextEphemeral;
        for (int i = 0; i < 20000 && find(guestIp, port, localIp, localPort) != null; i++) {
            localPort = localPort >= 60999 ? 40000 : localPort + 1;
        }
        nextEphemeral = localPort >= 60999 ? 40000 : localPort + 1;
        TcpConnection c = new TcpConnection(this, guestIp, port, localIp, localPort, gw.macOf(guestIp));
        add(c);
        c.connect(handler, promise);
    }

    private void add(TcpConnection c) {
        long k = key(c.guestIp, c.guestPort);
        c.nextInBucket = conns.get(k);
        conns.put(k, c);
        all.add(c);
        if (tick == null) {
            tick = loop.scheduleAtFixedRate(this::tick, 50, 50, TimeUnit.MILLISECONDS);
        }
    }

    void remove(TcpConnection c) {
        long k = key(c.guestIp, c.guestPort);
        TcpConnection head = conns.get(k);
        if (head == c) {
            if (c.nextInBucket == null) {
                conns.remove(k);
            } else {
                conns.put(k, c.nextInBucket);
            }
        } else {
            for (TcpConnection p = head; p != null; p = p.nextInBucket) {
                if (p.nextInBucket == c) {
                    p.nextInBucket = c.nextInBucket;
                    break;
                }
            }
        }
        c.nextInBucket = null;
        all.remove(c);
    }

    private final ArrayList<TcpConnection> linkBlocked = new ArrayList<>();

    /** {@code c} has data to send but the guest's link is full: resume it when the link drains. */
    void blockOnLink(TcpConnection c) {
        if (!c.linkBlocked) {
            c.linkBlocked = true;
            linkBlocked.add(c);
        }
    }

    /** A guest link drained: let every connection that waited on a link send again. */
    public void linkWritable() {
        if (linkBlocked.isEmpty()) {
            return;
        }
        TcpConnection[] waiting = linkBlocked.toArray(new TcpConnection[0]);
        linkBlocked.clear();
        for (TcpConnection c : waiting) {
            c.linkBlocked = false;
            c.transmit();
        }
    }

    void ackLater(TcpConnection c) {
        if (!c.ackPending) {
            c.ackPending = true;
            if (ackBatch.isEmpty()) {
                loop.execute(ackTask);
            }
            ackBatch.add(c);
        }
    }

    private void flushAcks() {
        for (int i = 0; i < ackBatch.size(); i++) {
            TcpConnection c = ackBatch.get(i);
            if (c.ackPending) {
                c.flushAck();
            } else {
                c.flushAckNoSend();
            }
        }
        ackBatch.clear();
    }

    private void tick() {
        linkWritable(); // links that drain without telling us (WebSocket, in-process) are retried here
        long now = System.nanoTime();
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
        ByteBuf b = gw.newIpPacket(Tcp.MIN_HEADER);
        int o = Gateway.payloadOffset(b);
        b.ensureWritable(Tcp.MIN_HEADER);
        Tcp.writeHeader(b, o, localIp, guestIp, localPort, guestPort, seq, ack, Tcp.MIN_HEADER, flags, 0, 0);
        gw.sendIp(b, Ipv4.PROTO_TCP, localIp, guestIp, MacAddress.NONE);
    }

    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (TcpConnection c : new ArrayList<>(all)) {
            c.destroy(null);
        }
        acceptor.close();
        if (tick != null) {
            tick.cancel(false);
            tick = null;
        }
        LOG.log(System.Logger.Level.DEBUG, "tcp closed");
    }
}
