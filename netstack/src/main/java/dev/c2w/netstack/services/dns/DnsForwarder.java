package dev.c2w.netstack.services.dns;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.services.UdpContext;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Forwards guest DNS queries to upstream resolvers.
 *
 * <p>The DNS forwarder behind 192.168.127.1:53: guest queries of every type go raw to the host's upstream
 * resolvers and the answers come back unchanged but for the ID. One instance per virtual network, shared
 * by the UDP endpoint (DnsUdpEndpoint) and the TCP handler (DnsTcpHandler).
 *
 * <p>Upstream socket: one unconnected UDP socket per network, opened on first use on the network's event
 * loop and bound to an ephemeral port on the wildcard address (dual-stack, so IPv4 and IPv6 upstreams
 * both work). Each query gets a fresh random 16-bit upstream ID that no outstanding query uses (the
 * guest's IDs are not unique across guest sockets, and they are guessable); the guest's ID is put back
 * in the answer. One socket rather than one per query keeps file descriptors and setup cost flat under
 * load; in exchange the source port is fixed for the socket's life, so an answer is accepted only if it
 * comes from an upstream this query was sent to, carries the query's upstream ID and repeats its question.
 * (A per-query socket would also randomise the port, but costs a bind and a file descriptor per query.)
 *
 * <p>Retries: the query's time budget T is config.dnsTimeout(), capped at 4.5 s so that a guest resolver
 * (5 s default timeout in glibc and musl) sees our SERVFAIL before it gives up. The budget is split into
 * max(2, number of upstreams) equal slots; slot k sends the query to upstream k mod n: with one upstream
 * it is sent twice (UDP loss), with two each gets half, and so on. A send that fails at once moves to the
 * next slot at once; an answer from any upstream already tried is taken, even after moving on. A SERVFAIL
 * or REFUSED answer while another upstream remains untried is kept as a fallback and the next one is
 * asked. When the budget runs out the guest gets the fallback, or else a SERVFAIL we build (RCODE 2, the
 * guest's ID, opcode, RD and question; counted in stats.dnsServfail).
 *
 * <p>Truncation: a UDP client gets a truncated (TC) answer as is, and retries over TCP itself. For a TCP
 * client, a TC answer makes us ask the same upstream over TCP (RFC 7766 framing) within the remaining
 * budget; if that fails the truncated answer is relayed. An answer too big for one UDP datagram on the
 * guest link (more than max(512, MTU - 28) bytes, possible when the guest advertised a large EDNS size)
 * is replaced, for UDP clients only, by header and question with TC set, so the guest asks again over TCP
 * instead of waiting for a datagram that would need IP fragmentation.
 *
 * <p>Limits and bad input: at most MAX_OUTSTANDING queries per network (beyond that a query is dropped and
 * counted in stats.dnsDropped). A guest query is checked by DnsWire.checkQuery; a bad one is dropped and
 * counted in stats.dnsMalformed, as is an upstream datagram that passes the ID and sender checks but not
 * the question check. Late answers (for queries already answered) are dropped silently.
 *
 * <p>Threading: all state lives on the network's event loop, which also runs the upstream channels; calls
 * from another thread are moved there. No locks. Per query: a copy of the query and of the answer, a small
 * record, the datagram objects Netty needs, and one timer task.
 */
public final class DnsForwarder {
    private static final System.Logger LOG = System.getLogger(DnsForwarder.class.getName());

    /** Where an answer goes: the UDP endpoint or one guest TCP connection. */
    public interface Client {
        /**
         * The answer to a query this client made (the guest's ID is in it). Takes ownership of
         * {@code response}. {@code mac, ip, port, localIp} are what the client passed with the query.
         * Called on the event loop.
         */
        void answer(ByteBuf response, long mac, int ip, int port, int localIp);

        /** A query for which {@link #query} returned true was dropped later (only when called off the loop). */
        default void dropped() {}
    }

    public static final int MAX_OUTSTANDING = 1024;
    /** The longest a query may wait: guest resolvers give up after 5 s. */
    public static final Duration MAX_TIMEOUT = Duration.ofMillis(4500);

    private static final int MAX_UPSTREAMS = 64;

    private final EventLoop loop;
    private final HostTransport host;
    private final NetStats stats;
    private final ByteBufAllocator alloc;
    private final InetSocketAddress[] upstreams;
    private final long timeoutNanos;
    private final int slots;
    private final int udpAnswerMax;
    private final int maxOutstanding;
    private final IntObjectHashMap<Query> pending = new IntObjectHashMap<>();
    private final SplittableRandom random = new SplittableRandom(new SecureRandom().nextLong());
    private final ArrayDeque<Query> waitingForSocket = new ArrayDeque<>();
    private Channel udp;
    private boolean udpReady;
    private boolean closed;

    /** One outstanding guest query. */
    private final class Query implements Runnable {
        final int guestId;
        final int upstreamId;
        final ByteBuf message;
        final int questionEnd;
        final boolean tcpClient;
        final Client client;
        final long mac;
        final int ip;
        final int port;
        final int localIp;
        final long start;
        int sent;
        long tried;
        ScheduledFuture<?> timer;
        Channel tcp;
        ByteBuf fallback;
        boolean done;

        Query(
                ByteBuf message,
                int guestId,
                int upstreamId,
                int questionEnd,
                boolean tcpClient,
                Client client,
                long mac,
                int ip,
                int port,
                int localIp) {
            this.message = message;
            this.guestId = guestId;
            this.upstreamId = upstreamId;
            this.questionEnd = questionEnd;
            this.tcpClient = tcpClient;
            this.client = client;
            this.mac = mac;
            this.ip = ip;
            this.port = port;
            this.localIp = localIp;
            this.start = System.nanoTime();
        }

        long deadline() {
            return start + timeoutNanos;
        }

        @Override
        public void run() {
            timer = null;
            onTimer(this);
        }
    }

    public DnsForwarder(
            NetworkConfig config, EventLoop loop, HostTransport host, NetStats stats, ByteBufAllocator alloc) {
        this(config, loop, host, stats, alloc, MAX_OUTSTANDING);
    }

    DnsForwarder(
            NetworkConfig config,
            EventLoop loop,
            HostTransport host,
            NetStats stats,
            ByteBufAllocator alloc,
            int maxOutstanding) {
        this.loop = loop;
        this.host = host;
        this.stats = stats;
        this.alloc = alloc;
        this.maxOutstanding = maxOutstanding;
        List<InetSocketAddress> ups = config.dnsUpstreams();
        if (ups.isEmpty()) {
            ups = ResolvConf.defaultUpstreams();
            LOG.log(System.Logger.Level.INFO, "DNS upstreams from " + ResolvConf.DEFAULT_PATH + ": " + ups);
        }
        List<InetSocketAddress> usable = new ArrayList<>();
        for (InetSocketAddress a : ups) {
            if (a.isUnresolved()) {
                LOG.log(System.Logger.Level.WARNING, "DNS upstream " + a + " is not an address; ignored");
            } else if (usable.size() < MAX_UPSTREAMS) {
                usable.add(a);
            }
        }
        this.upstreams = usable.toArray(InetSocketAddress[]::new);
        this.timeoutNanos = effectiveTimeout(config.dnsTimeout()).toNanos();
        this.slots = Math.max(2, upstreams.length);
        this.udpAnswerMax = Math.max(512, config.mtu() - 28);
    }

    /** A forwarder for the network behind {@code ctx}. */
    public static DnsForwarder create(UdpContext ctx) {
        return new DnsForwarder(ctx.config(), ctx.eventLoop(), ctx.host(), ctx.stats(), ctx.alloc());
    }

    /** The time a query may take before the guest gets SERVFAIL: the configured one, at most 4.5 s. */
    public static Duration effectiveTimeout(Duration configured) {
        if (configured.compareTo(MAX_TIMEOUT) > 0) {
            return MAX_TIMEOUT;
        }
        return configured.isNegative() || configured.isZero() ? Duration.ofMillis(1) : configured;
    }

    /** The upstreams in use. */
    public List<InetSocketAddress> upstreams() {
        return List.of(upstreams);
    }

    /** Queries waiting for an answer. */
    public int outstanding() {
        return pending.size();
    }

    public EventLoop eventLoop() {
        return loop;
    }

    /**
     * A query from the guest ({@code query} is borrowed). Returns false if it was dropped (malformed, over
     * the limit, or the forwarder is closed); every drop is counted.
     */
    public boolean query(ByteBuf query, boolean overTcp, Client client, long mac, int ip, int port, int localIp) {
        String bad = DnsWire.checkQuery(query);
        if (bad != null) {
            stats.dnsMalformed++;
            LOG.log(System.Logger.Level.DEBUG, () -> "DNS: dropped query: " + bad);
            return false;
        }
        if (!loop.inEventLoop()) {
            ByteBuf copy =
                    alloc.buffer(query.readableBytes()).writeBytes(query, query.readerIndex(), query.readableBytes());
            loop.execute(() -> {
                try {
                    if (!query(copy, overTcp, client, mac, ip, port, localIp)) {
                        client.dropped();
                    }
                } finally {
                    copy.release();
                }
            });
            return true;
        }
        if (closed) {
            return false;
        }
        if (pending.size() >= maxOutstanding) {
            stats.dnsDropped++;
            LOG.log(System.Logger.Level.DEBUG, "DNS: dropped query: " + pending.size() + " outstanding");
            return false;
        }
        if (upstreams.length == 0) {
            stats.dnsQueries++;
            stats.dnsServfail++;
            client.answer(
                    DnsWire.headerOnlyReply(alloc, query, DnsWire.questionEnd(query), DnsWire.RCODE_SERVFAIL, false),
                    mac,
                    ip,
                    port,
                    localIp);
            return true;
        }
        stats.dnsQueries++;
        int len = query.readableBytes();
        ByteBuf copy = alloc.buffer(len).writeBytes(query, query.readerIndex(), len);
        int id;
        do {
            id = random.nextInt(65536);
        } while (pending.containsKey(id));
        Query q = new Query(
                copy, DnsWire.id(query), id, DnsWire.questionEnd(query), overTcp, client, mac, ip, port, localIp);
        DnsWire.setId(copy, id);
        pending.put(id, q);
        nextAttempt(q);
        return true;
    }

    private void nextAttempt(Query q) {
        if (q.done) {
            return;
        }
        if (q.sent >= slots) {
            // every slot used: wait for answers until the deadline
            schedule(q, q.deadline());
            return;
        }
        if (!udpReady) {
            openUdp();
            if (!udpReady) {
                if (!waitingForSocket.contains(q)) {
                    waitingForSocket.add(q);
                }
                schedule(q, q.deadline());
                return;
            }
        }
        int k = q.sent++;
        int u = k % upstreams.length;
        q.tried |= 1L << u;
        long next = k + 1 < slots ? q.start + (k + 1) * (timeoutNanos / slots) : q.deadline();
        schedule(q, next);
        int attempt = q.sent;
        InetSocketAddress to = upstreams[u];
        udp.writeAndFlush(new DatagramPacket(q.message.retainedDuplicate(), to)).addListener(f -> {
            if (!f.isSuccess() && !q.done && q.sent == attempt) {
                LOG.log(System.Logger.Level.DEBUG, () -> "DNS: send to " + to + " failed: " + f.cause());
                nextAttempt(q);
            }
        });
    }

    private void schedule(Query q, long at) {
        if (q.timer != null) {
            q.timer.cancel(false);
        }
        q.timer = loop.schedule(q, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private void onTimer(Query q) {
        if (q.done) {
            return;
        }
        if (System.nanoTime() - q.deadline() >= 0) {
            finish(q, null);
        } else {
            nextAttempt(q);
        }
    }

    private void openUdp() {
        if (udp != null || closed) {
            return;
        }
        ChannelFuture f = new Bootstrap()
                .group(loop)
                .channel(host.datagramChannel())
                .handler(new UpstreamHandler())
                .bind(new InetSocketAddress(0));
        Channel ch = f.channel();
        udp = ch;
        ch.closeFuture().addListener(x -> {
            if (udp == ch) {
                udp = null;
                udpReady = false;
            }
        });
        f.addListener(x -> {
            if (udp != ch) {
                return;
            }
            if (x.isSuccess()) {
                udpReady = true;
                LOG.log(System.Logger.Level.DEBUG, () -> "DNS: upstream socket " + ch.localAddress());
            } else {
                LOG.log(System.Logger.Level.WARNING, "DNS: cannot open the upstream UDP socket: " + x.cause());
                udp = null;
                ch.close();
            }
            Query w;
            while ((w = waitingForSocket.poll()) != null) {
                if (x.isSuccess()) {
                    nextAttempt(w);
                } else if (!w.done) {
                    finish(w, null);
                }
            }
        });
    }

    /** Reads upstream answers from the shared UDP socket. */
    private final class UpstreamHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket p) {
                onUpstreamDatagram(p.content(), p.sender());
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors and the like on an unconnected socket: the retry timers handle them.
            LOG.log(System.Logger.Level.DEBUG, () -> "DNS: upstream socket: " + cause);
        }
    }

    private int upstreamIndex(InetSocketAddress sender, long tried) {
        for (int i = 0; i < upstreams.length; i++) {
            if ((tried & (1L << i)) != 0
                    && upstreams[i].getPort() == sender.getPort()
                    && upstreams[i].getAddress().equals(sender.getAddress())) {
                return i;
            }
        }
        return -1;
    }

    /** An upstream datagram; takes ownership of {@code content}. */
    private void onUpstreamDatagram(ByteBuf content, InetSocketAddress sender) {
        if (!takeUpstreamDatagram(content, sender)) {
            content.release();
        }
    }

    /** Returns whether ownership of {@code content} was passed on. */
    private boolean takeUpstreamDatagram(ByteBuf content, InetSocketAddress sender) {
        if (content.readableBytes() < DnsWire.HEADER) {
            return false;
        }
        Query q = pending.get(DnsWire.id(content));
        if (q == null || q.done) {
            return false;
        }
        int u = upstreamIndex(sender, q.tried);
        if (u < 0) {
            return false;
        }
        if (!DnsWire.answers(content, q.message, q.questionEnd)) {
            stats.dnsMalformed++;
            LOG.log(System.Logger.Level.DEBUG, () -> "DNS: answer from " + sender + " does not match its query");
            return false;
        }
        int rcode = DnsWire.rcode(content);
        boolean tc = (DnsWire.flags(content) & DnsWire.FLAG_TC) != 0;
        if (tc && q.tcpClient) {
            if (q.tcp != null) {
                return false;
            }
            setFallback(q, content);
            retryOverTcp(q, upstreams[u]);
            return true;
        }
        if ((rcode == DnsWire.RCODE_SERVFAIL || rcode == DnsWire.RCODE_REFUSED)
                && q.sent < slots
                && Long.bitCount(q.tried) < upstreams.length) {
            setFallback(q, content);
            nextAttempt(q);
            return true;
        }
        finish(q, content);
        return true;
    }

    private void setFallback(Query q, ByteBuf answer) {
        if (q.fallback != null) {
            q.fallback.release();
        }
        q.fallback = answer;
    }

    private void retryOverTcp(Query q, InetSocketAddress upstream) {
        long remainingMs = Math.max(1, (q.deadline() - System.nanoTime()) / 1_000_000L);
        schedule(q, q.deadline());
        ChannelFuture f = new Bootstrap()
                .group(loop)
                .channel(host.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, remainingMs))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline()
                                .addLast(
                                        new LengthFieldBasedFrameDecoder(65535 + 2, 0, 2, 0, 2),
                                        new TcpUpstreamHandler(q));
                    }
                })
                .connect(upstream);
        q.tcp = f.channel();
        f.addListener(x -> {
            if (q.done || q.tcp != f.channel()) {
                return;
            }
            if (!x.isSuccess()) {
                LOG.log(System.Logger.Level.DEBUG, () -> "DNS: TCP to " + upstream + " failed: " + x.cause());
                finish(q, null);
                return;
            }
            int len = q.message.readableBytes();
            ByteBuf framed = f.channel().alloc().buffer(2 + len);
            framed.writeShort(len).writeBytes(q.message, q.message.readerIndex(), len);
            f.channel().writeAndFlush(framed);
        });
    }

    /** Reads the one answer of a TCP retry. */
    private final class TcpUpstreamHandler extends ChannelInboundHandlerAdapter {
        private final Query q;

        TcpUpstreamHandler(Query q) {
            this.q = q;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            if (q.done || q.tcp != ctx.channel()) {
                frame.release();
                ctx.close();
                return;
            }
            if (frame.readableBytes() < DnsWire.HEADER
                    || DnsWire.id(frame) != q.upstreamId
                    || !DnsWire.answers(frame, q.message, q.questionEnd)) {
                frame.release();
                stats.dnsMalformed++;
                finish(q, null);
                return;
            }
            finish(q, frame);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!q.done && q.tcp == ctx.channel()) {
                finish(q, null);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.log(System.Logger.Level.DEBUG, () -> "DNS: TCP upstream: " + cause);
            ctx.close();
        }
    }

    /** Ends {@code q}: relays {@code answer} (owned), or the fallback, or SERVFAIL if both are null. */
    private void finish(Query q, ByteBuf answer) {
        q.done = true;
        pending.remove(q.upstreamId);
        if (q.timer != null) {
            q.timer.cancel(false);
            q.timer = null;
        }
        if (q.tcp != null) {
            q.tcp.close();
            q.tcp = null;
        }
        if (closed) {
            if (answer != null) {
                answer.release();
            }
            if (q.fallback != null) {
                q.fallback.release();
                q.fallback = null;
            }
            q.message.release();
            return;
        }
        if (answer == null) {
            answer = q.fallback;
        } else if (q.fallback != null) {
            q.fallback.release();
        }
        q.fallback = null;
        if (answer == null) {
            stats.dnsServfail++;
            answer = DnsWire.headerOnlyReply(alloc, q.message, q.questionEnd, DnsWire.RCODE_SERVFAIL, false);
        } else if (!q.tcpClient && answer.readableBytes() > udpAnswerMax) {
            ByteBuf small = DnsWire.headerOnlyReply(alloc, q.message, q.questionEnd, DnsWire.rcode(answer), true);
            answer.release();
            answer = small;
        } else {
            // Upstream buffers are slices of the channel's receive buffers; the guest side wants a buffer
            // of its own allocator that it fully owns.
            ByteBuf own = alloc.buffer(answer.readableBytes())
                    .writeBytes(answer, answer.readerIndex(), answer.readableBytes());
            answer.release();
            answer = own;
        }
        q.message.release();
        DnsWire.setId(answer, q.guestId);
        q.client.answer(answer, q.mac, q.ip, q.port, q.localIp);
    }

    /** Forgets every outstanding query without answering and closes the upstream socket. */
    public void close() {
        if (!loop.inEventLoop()) {
            loop.execute(this::close);
            return;
        }
        if (closed) {
            return;
        }
        closed = true;
        List<Query> all = new ArrayList<>(pending.values());
        for (Query q : all) {
            finish(q, null);
        }
        waitingForSocket.clear();
        if (udp != null) {
            udp.close();
            udp = null;
        }
        udpReady = false;
    }
}
