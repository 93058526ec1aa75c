package dev.c2w.netstack.tcp;

import dev.c2w.netstack.wire.Ipv4;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.Tcp;
import dev.c2w.netstack.gateway.Gateway;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.AbstractChannel;
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
import java.util.ArrayDeque;

/*
 * One guest TCP connection terminated by the stack, surfaced as a Netty Channel.
 *
 * The object is both the TCP control block (RFC 9293 state, sequence space, windows, timers) and a
 * Channel registered on the network's event loop once the handshake completes, so NAT relays, port
 * forwards and in-process services (DNS over TCP, the HTTP proxy) are ordinary Netty pipelines.
 *
 * Guest -> pipeline. In-order payload is handed to the pipeline as retained slices of the guest's
 * frame (no copy) while the channel reads (autoRead, or read() requested); otherwise it is queued as a
 * copy (heldCopy), and the queue's size shrinks the window we advertise, so a slow consumer closes the
 * guest's window instead of growing memory. An out-of-order segment (a frame lost before it, e.g. by a
 * TAP that drops under load; the link itself does not reorder) is held as a copy, at most half the
 * receive buffer per connection, answered with a duplicate ACK and delivered once the retransmission
 * fills the gap. ACKs for data are coalesced: one per connection per event-loop turn (see TcpStack's
 * ACK batch).
 *
 * Pipeline -> guest. doWrite() moves flushed buffers from the outbound buffer into a composite send
 * buffer, up to SEND_BUFFER bytes; the rest stays in Netty's outbound buffer, whose high-water mark
 * turns the channel unwritable, which the relay turns into autoRead=false on the host socket. Segments
 * are cut from the send buffer (MSS from the guest's SYN, within the guest's scaled window) and copied
 * once into a frame. Bytes stay in the send buffer until acknowledged; one retransmission deadline per
 * connection (RFC 6298 RTO from RTT samples, Karn's rule, doubling, at most MAX_RETRIES) is checked by
 * the stack's timer tick; three duplicate ACKs retransmit at once. A zero window is probed on the tick.
 *
 * Close. close() sends FIN after the queued data (the TCB lives on until the FIN is acknowledged or
 * times out); shutdownOutput() is a half-close; abort() sends RST. A guest FIN fires
 * ChannelInputShutdownEvent (half-closure is always allowed); a guest RST closes the channel at once.
 */

/** A guest TCP connection as a Netty channel; see the comment above. Event-loop confined. */
public final class TcpConnection extends AbstractChannel implements DuplexChannel {
    static final int SYN_PENDING = 0;   // SYN received, waiting for the host connection (NAT)
    static final int SYN_SENT = 1;      // we opened towards the guest (port forward)
    static final int SYN_RCVD = 2;
    static final int ESTABLISHED = 3;
    static final int FIN_WAIT_1 = 4;
    static final int FIN_WAIT_2 = 5;
    static final int CLOSE_WAIT = 6;
    static final int CLOSING = 7;
    static final int LAST_ACK = 8;
    static final int TIME_WAIT = 9;
    static final int CLOSED = 10;

    static final int SEND_BUFFER = 512 * 1024;
    static final int RECEIVE_BUFFER = 1024 * 1024;
    static final int OUR_WSCALE = 5; // 1 MiB window fits in 16 bits << 5
    static final int MAX_RETRIES = 12;
    static final long MIN_RTO = 200_000_000L;
    static final long MAX_RTO = 60_000_000_000L;
    static final long TIME_WAIT_NANOS = 2_000_000_000L;

    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    final TcpStack stack;
    final Gateway gw;
    final int guestIp;
    final int guestPort;
    final int localIp;
    final int localPort;
    long guestMac;
    TcpConnection nextInBucket;

    int state;
    // send side
    int iss;
    int sndUna;
    int sndNxt;
    int sndMax;         // highest sequence number sent (sndNxt goes back to sndUna after a timeout)
    long cwnd;          // congestion window (RFC 5681), bytes
    long ssthresh = Long.MAX_VALUE;
    boolean linkBlocked; // waiting for the guest's link to drain (TcpStack.linkWritable)
    boolean inRecovery; // fast recovery (RFC 6582 NewReno) until 'recover' is acknowledged
    int recover;
    long sndWnd;
    int sndWscale;      // shift of the guest's window field (0 when it did not offer scaling)
    boolean wscaleOk;
    int mss;
    final CompositeByteBuf sendBuf;
    int sendBufSeq;     // sequence number of sendBuf's first readable byte
    boolean finQueued;
    boolean finSent;
    int dupAcks;
    // receive side
    int irs;
    int rcvNxt;
    final ArrayDeque<ByteBuf> rcvQueue = new ArrayDeque<>();
    int rcvQueued;
    int lastAdvertised;
    boolean ackPending;
    boolean deliveredSinceComplete;
    boolean finReceived;
    // timers
    long rto = 1_000_000_000L;
    long srtt;
    long rttvar;
    long rtoDeadline;   // 0 = no retransmission pending
    int retries;
    int rttSeq;
    long rttStart;      // 0 = no sample running
    long timeWaitUntil;
    // channel
    private final DefaultChannelConfig config;
    private ChannelHandler pendingHandler;
    private Promise<io.netty.channel.Channel> connectPromise;
    private boolean open = true;
    private boolean readRequested;
    private boolean inputShutdown;
    private boolean outputShutdown;
    /** A host channel to close if this connection dies before its handshake completes. */
    private io.netty.channel.Channel abandonClose;

    TcpConnection(TcpStack stack, int guestIp, int guestPort, int localIp, int localPort, long guestMac) {
        super(null);
        this.stack = stack;
        this.gw = stack.gw;
        this.guestIp = guestIp;
        this.guestPort = guestPort;
        this.localIp = localIp;
        this.localPort = localPort;
        this.guestMac = guestMac;
        this.sendBuf = gw.alloc().compositeDirectBuffer(4096);
        this.config = new DefaultChannelConfig(this);
        config.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        config.setWriteBufferHighWaterMark(256 * 1024);
        config.setWriteBufferLowWaterMark(128 * 1024);
        this.mss = gw.config().mtu() - 40;
    }

    // ------------------------------------------------------------------------------ handshake entry points

    /** A guest SYN (passive open). Records its options; the caller then accepts, defers or refuses. */
    void synReceived(int seq, int window, int synOptions) {
        irs = seq;
        rcvNxt = seq + 1;
        int guestMss = synOptions & 0xffff;
        int ws = (synOptions >>> 16) - 1;
        if (guestMss > 0) {
            mss = Math.min(mss, Math.max(64, guestMss));
        } else {
            mss = Math.min(mss, 536);
        }
        wscaleOk = ws >= 0;
        sndWscale = wscaleOk ? ws : 0;
        sndWnd = window; // a SYN's window is never scaled
        iss = stack.newIss();
        sndUna = iss;
        sndNxt = iss;
        sndMax = iss;
        cwnd = 10L * mss;
        state = SYN_PENDING;
    }

    /** Completes a passive open: send SYN-ACK; the channel is registered with {@code handler} once the guest ACKs. */
    public boolean accept(ChannelHandler handler) {
        if (state != SYN_PENDING) {
            return false;
        }
        pendingHandler = handler;
        state = SYN_RCVD;
        sendSyn(true);
        return true;
    }

    /** Closes {@code ch} if this connection is freed before it is established (NAT host sockets). */
    public void closeOnAbandon(io.netty.channel.Channel ch) {
        this.abandonClose = ch;
    }

    /** Refuses a passive open (host refused or timed out, policy): RST to the guest. */
    public void refuse() {
        if (state == SYN_PENDING || state == SYN_RCVD) {
            sendRaw(Tcp.RST | Tcp.ACK, 0, rcvNxt, 0);
        }
        destroy(null);
    }

    /** Active open towards the guest (port forwards). */
    void connect(ChannelHandler handler, Promise<io.netty.channel.Channel> promise) {
        pendingHandler = handler;
        connectPromise = promise;
        iss = stack.newIss();
        sndUna = iss;
        sndNxt = iss;
        wscaleOk = true; // offered in our SYN; confirmed by the guest's SYN-ACK
        state = SYN_SENT;
        sendSyn(false);
    }

    private void sendSyn(boolean ack) {
        int flags = Tcp.SYN | (ack ? Tcp.ACK : 0);
        boolean ws = ack ? wscaleOk : true;
        ByteBuf b = newSegment(ws ? 8 : 4, 0);
        int o = Gateway.payloadOffset(b);
        int opt = o + Tcp.MIN_HEADER;
        b.setInt(opt, (2 << 24) | (4 << 16) | (gw.config().mtu() - 40));
        if (ws) {
            b.setInt(opt + 4, (1 << 24) | (3 << 16) | (3 << 8) | OUR_WSCALE);
        }
        finishSegment(b, o, ws ? 28 : 24, flags, iss, ack ? rcvNxt : 0, Math.min(65535, rcvWindow()), 0);
        sndNxt = iss + 1;
        sndMax = sndNxt;
        if (rtoDeadline == 0) {
            rtoDeadline = System.nanoTime() + rto;
        }
    }

    // ---------------------------------------------------------------------------------- segment input

    /**
     * A segment for this connection. {@code f} is the whole frame (borrowed); payload is
     * {@code [dataOff, dataOff+dataLen)}.
     */
    void segment(ByteBuf f, int seq, int ack, int flags, int window, int synOptions, int dataOff, int dataLen) {
        if (state == SYN_SENT) {
            synSentSegment(seq, ack, flags, window, synOptions);
            return;
        }
        if (state == SYN_PENDING) {
            return; // retransmitted SYN while we connect to the host: the answer comes when it is known
        }
        if (state == TIME_WAIT) {
            if ((flags & Tcp.FIN) != 0) {
                sendAck();
            }
            return;
        }
        // sequence acceptability (RFC 9293 3.10.7.4), simplified: we take only in-order bytes
        int wnd = rcvWindow();
        boolean acceptable;
        if (dataLen == 0) {
            acceptable = seq == rcvNxt || (wnd > 0 && seqGe(seq, rcvNxt) && seqLt(seq, rcvNxt + wnd));
        } else {
            acceptable = wnd > 0 && seqLt(seq, rcvNxt + wnd) && seqGt(seq + dataLen, rcvNxt);
        }
        if (!acceptable) {
            if ((flags & Tcp.RST) == 0) {
                sendAck();
            }
            return;
        }
        if ((flags & Tcp.RST) != 0) {
            if (seq == rcvNxt) {
                destroy(new IOException("connection reset by guest"));
            } else {
                sendAck(); // challenge ACK (RFC 5961)
            }
            return;
        }
        if ((flags & Tcp.SYN) != 0) {
            if (state == SYN_RCVD && seq == irs) {
                return; // retransmitted SYN: our SYN-ACK retransmission timer answers it
            }
            sendAck();
            return;
        }
        if ((flags & Tcp.ACK) == 0) {
            return;
        }
        if (state == SYN_RCVD) {
            if (ack != iss + 1) {
                sendRaw(Tcp.RST, ack, 0, 0);
                return;
            }
            sndUna = ack;
            sendBufSeq = ack;
            sndWnd = (long) window << sndWscale;
            rtoDeadline = 0;
            retries = 0;
            state = ESTABLISHED;
            establish();
            if (!open) {
                return;
            }
        } else {
            processAck(ack, window, dataLen == 0 && (flags & Tcp.FIN) == 0);
            if (state == CLOSED) {
                return;
            }
        }
        // payload
        if (dataLen > 0 && (state == ESTABLISHED || state == FIN_WAIT_1 || state == FIN_WAIT_2)) {
            int skip = rcvNxt - seq; // bytes we already have (a partially duplicate segment)
            if (skip < 0) {
                // a gap: keep the segment for later (bounded) and send a duplicate ACK at once
                holdOutOfOrder(f, seq, dataOff, dataLen, wnd);
                sendAck();
                return;
            }
            int len = Math.min(dataLen - skip, wnd);
            if (len > 0) {
                ByteBuf data = f.retainedSlice(dataOff + skip, len);
                rcvNxt += len;
                // queue the ACK first: a reply the pipeline sends at once carries it and cancels this one
                stack.ackLater(this);
                receiveData(data);
                if (oooBytes > 0) {
                    drainOutOfOrder();
                }
            }
            if (len < dataLen - skip) {
                sendAck();
                return; // the rest did not fit; a FIN in this segment is not yet in sequence
            }
            if (len <= 0) {
                stack.ackLater(this); // a duplicate: acknowledge what we have
            }
        }
        if ((flags & Tcp.FIN) != 0 && seq + dataLen == rcvNxt && !finReceived) {
            finReceived = true;
            rcvNxt++;
            sendAck();
            switch (state) {
                case ESTABLISHED -> state = CLOSE_WAIT;
                case FIN_WAIT_1 -> state = CLOSING;
                case FIN_WAIT_2 -> enterTimeWait();
                default -> { }
            }
            guestInputShutdown();
            if (state == TIME_WAIT && rcvQueue.isEmpty()) {
                closeChannelQuietly();
            }
        }
    }

    /** Out-of-order segments, sorted by sequence number, at most one window of bytes. */
    private java.util.ArrayList<ByteBuf> ooo;
    private int[] oooSeq = new int[0];
    private int oooBytes;

    private void holdOutOfOrder(ByteBuf f, int seq, int dataOff, int dataLen, int wnd) {
        if (!open || inputShutdown) {
            return;
        }
        int offset = seq - rcvNxt; // > 0
        if (offset + dataLen > wnd || oooBytes + dataLen > RECEIVE_BUFFER / 2) {
            return;
        }
        if (ooo == null) {
            ooo = new java.util.ArrayList<>();
        }
        int n = ooo.size();
        int at = n;
        for (int i = 0; i < n; i++) {
            int s2 = oooSeq[i];
            if (s2 == seq) {
                return; // already held
            }
            if (seqLt(seq, s2)) {
                at = i;
                break;
            }
        }
        if (oooSeq.length <= n) {
            oooSeq = java.util.Arrays.copyOf(oooSeq, Math.max(8, n * 2));
        }
        System.arraycopy(oooSeq, at, oooSeq, at + 1, n - at);
        oooSeq[at] = seq;
        ooo.add(at, heldCopy(f, dataOff, dataLen)); // held until a retransmission fills the gap
        oooBytes += dataLen;
    }

    private void drainOutOfOrder() {
        while (!ooo.isEmpty() && seqGe(rcvNxt, oooSeq[0])) {
            ByteBuf b = ooo.remove(0);
            int seq = oooSeq[0];
            System.arraycopy(oooSeq, 1, oooSeq, 0, ooo.size());
            oooBytes -= b.readableBytes();
            int skip = rcvNxt - seq;
            if (skip >= b.readableBytes()) {
                b.release();
                continue;
            }
            b.skipBytes(skip);
            rcvNxt += b.readableBytes();
            receiveData(b);
        }
    }

    private void releaseOutOfOrder() {
        if (ooo != null) {
            for (ByteBuf b : ooo) {
                b.release();
            }
            ooo.clear();
        }
        oooBytes = 0;
    }

    private void synSentSegment(int seq, int ack, int flags, int window, int synOptions) {
        if ((flags & Tcp.ACK) != 0 && ack != iss + 1) {
            if ((flags & Tcp.RST) == 0) {
                sendRaw(Tcp.RST, ack, 0, 0);
            }
            return;
        }
        if ((flags & Tcp.RST) != 0) {
            if ((flags & Tcp.ACK) != 0) {
                destroy(new java.net.ConnectException("connection refused by guest "
                    + Ipv4Address.format(guestIp) + ":" + guestPort));
            }
            return;
        }
        if ((flags & Tcp.SYN) == 0 || (flags & Tcp.ACK) == 0) {
            return; // simultaneous open is not supported
        }
        irs = seq;
        rcvNxt = seq + 1;
        int guestMss = synOptions & 0xffff;
        int ws = (synOptions >>> 16) - 1;
        mss = Math.min(mss, guestMss > 0 ? Math.max(64, guestMss) : 536);
        cwnd = 10L * mss;
        wscaleOk = ws >= 0;
        sndWscale = wscaleOk ? ws : 0;
        sndUna = ack;
        sendBufSeq = ack;
        sndWnd = window; // window in a SYN-ACK is not scaled
        rtoDeadline = 0;
        retries = 0;
        state = ESTABLISHED;
        sendAck();
        establish();
    }

    private void establish() {
        stack.stats.tcpFlowsOpened++;
        ChannelHandler h = pendingHandler;
        pendingHandler = null;
        if (h != null) {
            pipeline().addLast(h);
        }
        ChannelFuture reg = stack.loop.register(this);
        Promise<io.netty.channel.Channel> p = connectPromise;
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

    private void processAck(int ack, int window, boolean pureAck) {
        if (seqGt(ack, sndMax)) {
            sendAck(); // acknowledges something we never sent
            return;
        }
        if (seqGt(ack, sndNxt)) {
            sndNxt = ack; // data sent before a timeout arrived after all
        }
        long newWnd = (long) window << sndWscale;
        if (seqGt(ack, sndUna)) {
            int acked = ack - sndUna;
            long now = System.nanoTime();
            if (rttStart != 0 && seqGe(ack, rttSeq)) {
                sampleRtt(now - rttStart);
                rttStart = 0;
            }
            // bytes of data acknowledged (a FIN takes one sequence number but no buffer byte)
            int dataAcked = Math.min(acked, sendBuf.readableBytes());
            if (dataAcked > 0) {
                sendBuf.skipBytes(dataAcked);
                sendBufSeq += dataAcked;
                if (sendBuf.numComponents() > 64 || sendBuf.readableBytes() == 0) {
                    sendBuf.discardReadComponents();
                }
            }
            sndUna = ack;
            dupAcks = 0;
            retries = 0;
            if (inRecovery) {
                if (seqGe(ack, recover)) {
                    inRecovery = false;
                    cwnd = Math.min(cwnd, Math.max(ssthresh, (long) mss));
                } else {
                    // partial ACK: the next hole is lost too; resend it now (NewReno), deflate the window
                    cwnd = Math.max(mss, cwnd - acked + mss);
                    retransmitFirst();
                }
            } else if (cwnd < ssthresh) {
                cwnd += Math.min(acked, 2L * mss); // slow start
            } else {
                cwnd += Math.max(1L, (long) mss * mss / Math.max(1L, cwnd)); // congestion avoidance
            }
            if (sndUna == sndNxt) {
                rtoDeadline = 0;
            } else {
                rtoDeadline = now + rto;
            }
            sndWnd = newWnd;
            if (finSent && sndUna == sndNxt) {
                finAcked();
                if (state == CLOSED || state == TIME_WAIT) {
                    return;
                }
            }
            pullFromOutbound();
            transmit();
        } else if (ack == sndUna) {
            boolean windowChanged = newWnd != sndWnd;
            sndWnd = newWnd;
            if (pureAck && !windowChanged && sndNxt != sndUna) {
                dupAcks++;
                if (dupAcks == 3 && !inRecovery) {
                    long flight = (sndMax - sndUna) & 0xffffffffL;
                    ssthresh = Math.max(flight / 2, 2L * mss);
                    cwnd = ssthresh + 3L * mss;
                    inRecovery = true;
                    recover = sndMax;
                    retransmitFirst();
                } else if (dupAcks > 3 && inRecovery) {
                    cwnd += mss; // each duplicate ACK means a segment left the network
                    transmit();
                }
            } else if (windowChanged) {
                transmit();
            }
        }
    }

    private void finAcked() {
        switch (state) {
            case FIN_WAIT_1 -> state = FIN_WAIT_2;
            case CLOSING -> enterTimeWait();
            case LAST_ACK -> destroy(null);
            default -> { }
        }
    }

    private void enterTimeWait() {
        state = TIME_WAIT;
        timeWaitUntil = System.nanoTime() + TIME_WAIT_NANOS;
        rtoDeadline = 0;
        if (!open) {
            releaseBuffers();
        }
    }

    private void sampleRtt(long r) {
        if (srtt == 0) {
            srtt = r;
            rttvar = r / 2;
        } else {
            long err = r - srtt;
            srtt += err / 8;
            rttvar += (Math.abs(err) - rttvar) / 4;
        }
        rto = Math.max(MIN_RTO, Math.min(MAX_RTO, srtt + Math.max(10_000_000L, 4 * rttvar)));
    }

    // ----------------------------------------------------------------------------- guest -> pipeline

    private void receiveData(ByteBuf data) {
        if (!open || inputShutdown) {
            data.release();
            return;
        }
        if (rcvQueue.isEmpty() && canDeliver()) {
            deliver(data);
        } else {
            int n = data.readableBytes();
            rcvQueue.add(heldCopy(data, data.readerIndex(), n));
            data.release();
            rcvQueued += n;
        }
    }

    /*
     * Payload that waits (for a consumer that is not reading, or for the segments before it) is copied
     * out of the guest's frame into a heap buffer of its own. The frame is a slice of the guest link's
     * read buffer (up to 256 KiB, shared with other connections' frames), and a waiting slice would keep
     * that whole buffer; a small direct copy would in turn keep a chunk of the pooled allocator. With
     * 1000 flows and frames lost on the way in, held slices made the stack's RSS about twice as large
     * (bench/README.md, "Where c2w-net's 1000-flow RSS goes"). Payload that goes straight on is not copied.
     */
    private static ByteBuf heldCopy(ByteBuf from, int index, int length) {
        return io.netty.buffer.Unpooled.buffer(length, length).writeBytes(from, index, length);
    }

    private boolean canDeliver() {
        return isRegistered() && (config.isAutoRead() || readRequested);
    }

    private void deliver(ByteBuf data) {
        deliveredSinceComplete = true;
        pipeline().fireChannelRead(data);
    }

    /** The ACK batch ran after a segment of ours already carried the ACK: only complete the read. */
    void flushAckNoSend() {
        completeRead();
    }

    private void completeRead() {
        if (deliveredSinceComplete) {
            deliveredSinceComplete = false;
            if (!config.isAutoRead()) {
                readRequested = false;
            }
            if (isRegistered() && open) {
                pipeline().fireChannelReadComplete();
            }
        }
    }

    /** Called by the stack once per loop turn for connections that delivered data or need an ACK. */
    void flushAck() {
        ackPending = false;
        if (deliveredSinceComplete) {
            deliveredSinceComplete = false;
            if (!config.isAutoRead()) {
                readRequested = false;
            }
            if (isRegistered()) {
                pipeline().fireChannelReadComplete();
            }
        }
        if (state != CLOSED && state != SYN_PENDING) {
            sendAck();
        }
    }

    private void drainReceiveQueue() {
        int before = rcvWindow();
        while (!rcvQueue.isEmpty() && canDeliver() && open) {
            ByteBuf b = rcvQueue.poll();
            rcvQueued -= b.readableBytes();
            deliver(b);
        }
        if (rcvQueue.isEmpty() && finReceived && !inputShutdown && open) {
            fireInputShutdown();
        }
        // window update when the guest may be waiting on a window we shrank
        if (before < 2 * mss && rcvWindow() >= 2 * mss || lastAdvertised == 0 && rcvWindow() > 0) {
            stack.ackLater(this);
        } else if (deliveredSinceComplete) {
            stack.ackLater(this);
        }
    }

    private void guestInputShutdown() {
        if (rcvQueue.isEmpty() && isRegistered()) {
            fireInputShutdown();
        }
    }

    private void fireInputShutdown() {
        if (inputShutdown) {
            return;
        }
        inputShutdown = true;
        if (deliveredSinceComplete) {
            deliveredSinceComplete = false;
            pipeline().fireChannelReadComplete();
        }
        pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        pipeline().fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
        if (outputShutdown && open) {
            close();
        }
    }

    int rcvWindow() {
        return Math.max(0, RECEIVE_BUFFER - rcvQueued);
    }

    // ------------------------------------------------------------------------------ pipeline -> guest

    /** Moves flushed messages from Netty's outbound buffer into the send buffer, up to SEND_BUFFER. */
    private void pullFromOutbound() {
        ChannelOutboundBuffer in = unsafe().outboundBuffer();
        if (in == null || !isRegistered() || !open) {
            return;
        }
        // Let AbstractChannel's flush machinery call doWrite again (it guards against re-entry).
        ((TcpUnsafe) unsafe()).flushNow();
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        if (finQueued || state >= CLOSED) {
            throw new ClosedChannelException();
        }
        while (sendBuf.readableBytes() < SEND_BUFFER) {
            Object msg = in.current();
            if (msg == null) {
                break;
            }
            if (msg instanceof ByteBuf buf) {
                int n = buf.readableBytes();
                if (n > 0) {
                    sendBuf.addComponent(true, buf.retain());
                }
                in.remove();
            } else {
                in.remove(new UnsupportedOperationException("only ByteBuf can be written to a guest TCP channel"));
            }
        }
        transmit();
        if (in.isEmpty()) {
            maybeQueueFin();
        }
    }

    /** Sends what the window allows: new data from the send buffer, then a FIN when queued. */
    void transmit() {
        if (state != ESTABLISHED && state != CLOSE_WAIT && state != FIN_WAIT_1 && state != LAST_ACK
            && state != CLOSING) {
            return;
        }
        int end = sendBufSeq + sendBuf.readableBytes();
        while (seqLt(sndNxt, end)) {
            long inFlight = (sndNxt - sndUna) & 0xffffffffL;
            long room = Math.min(sndWnd, cwnd) - inFlight;
            if (room <= 0) {
                break;
            }
            int len = (int) Math.min(Math.min(mss, room), end - sndNxt);
            if (len < mss && (end - sndNxt) > len && inFlight > 0) {
                break; // avoid silly-window segments while data is in flight
            }
            if (!gw.linkWritable(guestIp, guestMac)) {
                stack.blockOnLink(this); // the guest's link is full: wait instead of queueing without bound
                break;
            }
            sendData(sndNxt, len, seqLt(sndNxt, sndMax));
            sndNxt += len;
            if (seqGt(sndNxt, sndMax)) {
                sndMax = sndNxt;
            }
        }
        if (sndWnd == 0 && seqLt(sndNxt, end) && rtoDeadline == 0) {
            rtoDeadline = System.nanoTime() + rto; // persist timer: probe the closed window
        }
        if (finQueued && !finSent && sndNxt == end) {
            finSent = true;
            sendRaw(Tcp.FIN | Tcp.ACK, sndNxt, rcvNxt, rcvWindow());
            sndNxt++;
            if (seqGt(sndNxt, sndMax)) {
                sndMax = sndNxt;
            }
            if (state == ESTABLISHED) {
                state = FIN_WAIT_1;
            } else if (state == CLOSE_WAIT) {
                state = LAST_ACK;
            }
            if (rtoDeadline == 0) {
                rtoDeadline = System.nanoTime() + rto;
            }
        }
    }

    private void sendData(int seq, int len, boolean retransmission) {
        ByteBuf b = newSegment(0, len);
        int o = Gateway.payloadOffset(b);
        int pos = seq - sendBufSeq;
        // the composite copies component by component straight into the frame; b.setBytes(.., sendBuf, ..)
        // would first merge the components into a new heap buffer (Netty's nioBuffer of a composite)
        sendBuf.getBytes(sendBuf.readerIndex() + pos, b, o + Tcp.MIN_HEADER, len);
        boolean last = seq + len == sendBufSeq + sendBuf.readableBytes();
        finishSegment(b, o, Tcp.MIN_HEADER, Tcp.ACK | (last ? Tcp.PSH : 0), seq, rcvNxt, advertisedWindow(), len);
        if (retransmission) {
            stack.stats.tcpRetransmits++;
            rttStart = 0;
        } else if (rttStart == 0) {
            rttStart = System.nanoTime();
            rttSeq = seq + len;
        }
        if (rtoDeadline == 0) {
            rtoDeadline = System.nanoTime() + rto;
        }
        ackPending = false;
    }

    private void retransmitFirst() {
        int end = sendBufSeq + sendBuf.readableBytes();
        if (seqLt(sndUna, end)) {
            int len = (int) Math.min(mss, end - sndUna);
            if (sndWnd == 0) {
                len = 1; // zero-window probe
                if (sndNxt == sndUna) {
                    sndNxt = sndUna + 1;
                }
            }
            sendData(sndUna, len, true);
        } else if (finSent && sndUna != sndNxt) {
            sendRaw(Tcp.FIN | Tcp.ACK, sndUna, rcvNxt, rcvWindow());
            stack.stats.tcpRetransmits++;
        }
    }

    /** Timer tick: retransmission, zero-window probes, TIME_WAIT expiry. Returns false when the TCB is gone. */
    boolean tick(long now) {
        if (state == TIME_WAIT) {
            if (now - timeWaitUntil >= 0) {
                destroy(null);
                return false;
            }
            return true;
        }
        if (rtoDeadline != 0 && now - rtoDeadline >= 0) {
            if (++retries > MAX_RETRIES) {
                sendRaw(Tcp.RST | Tcp.ACK, sndNxt, rcvNxt, 0);
                destroy(new IOException("guest stopped acknowledging (retransmission limit)"));
                return false;
            }
            rto = Math.min(MAX_RTO, rto * 2);
            rtoDeadline = now + rto;
            switch (state) {
                case SYN_SENT -> sendSyn(false);
                case SYN_RCVD -> sendSyn(true);
                default -> {
                    rttStart = 0;
                    if (sndWnd == 0) {
                        retries--; // a closed window is not a loss (RFC 9293 persist)
                        retransmitFirst();
                    } else {
                        // a timeout: everything in flight is presumed lost (RFC 5681 3.1): go back to
                        // sndUna with a one-segment window and let ACKs open it again
                        long flight = (sndMax - sndUna) & 0xffffffffL;
                        ssthresh = Math.max(flight / 2, 2L * mss);
                        cwnd = mss;
                        inRecovery = false;
                        dupAcks = 0;
                        sndNxt = sndUna;
                        if (finSent && seqLt(sndUna, sndMax)) {
                            finSent = false; // resent after the data by transmit()
                        }
                        int before = sndNxt;
                        transmit();
                        if (sndNxt == before) {
                            retransmitFirst();
                        }
                    }
                }
            }
        }
        return state != CLOSED;
    }

    // ----------------------------------------------------------------------------------------- frames

    private ByteBuf newSegment(int optionBytes, int payload) {
        ByteBuf b = gw.newIpPacket(Tcp.MIN_HEADER + optionBytes + payload);
        b.ensureWritable(Tcp.MIN_HEADER + optionBytes + payload);
        return b;
    }

    private void finishSegment(ByteBuf b, int o, int hdrLen, int flags, int seq, int ack, int window, int payload) {
        Tcp.writeHeader(b, o, localIp, guestIp, localPort, guestPort, seq, ack, hdrLen, flags, window, payload);
        if ((flags & Tcp.SYN) == 0) {
            lastAdvertised = window;
        }
        gw.sendIp(b, Ipv4.PROTO_TCP, localIp, guestIp, guestMac);
    }

    private int advertisedWindow() {
        int w = rcvWindow();
        return wscaleOk ? Math.min(65535, w >> OUR_WSCALE) : Math.min(65535, w);
    }

    void sendAck() {
        sendRaw(Tcp.ACK, sndNxt, rcvNxt, -1);
    }

    private void sendRaw(int flags, int seq, int ack, int window) {
        ByteBuf b = newSegment(0, 0);
        int w = window < 0 ? advertisedWindow() : (wscaleOk ? Math.min(65535, window >> OUR_WSCALE) : Math.min(65535, window));
        finishSegment(b, Gateway.payloadOffset(b), Tcp.MIN_HEADER, flags, seq, ack, w, 0);
        ackPending = false;
    }

    /** Sends RST to the guest and frees the connection (the host side reset, or a hard error). */
    public void abort() {
        if (state != CLOSED && state != TIME_WAIT && state != SYN_PENDING) {
            sendRaw(Tcp.RST | Tcp.ACK, sndNxt, rcvNxt, 0);
        } else if (state == SYN_PENDING) {
            sendRaw(Tcp.RST | Tcp.ACK, 0, rcvNxt, 0);
        }
        destroy(null);
    }

    /** Frees the TCB and closes the channel; {@code cause} (may be null) is fired as an exception first. */
    void destroy(Throwable cause) {
        if (state == CLOSED) {
            return;
        }
        state = CLOSED;
        rtoDeadline = 0;
        stack.remove(this);
        releaseBuffers();
        if (connectPromise != null) {
            connectPromise.tryFailure(cause != null ? cause : new IOException("connection closed"));
            connectPromise = null;
        }
        if (!isRegistered() && abandonClose != null) {
            abandonClose.close();
        }
        abandonClose = null;
        if (isRegistered() && open) {
            if (cause != null) {
                pipeline().fireExceptionCaught(cause);
            }
            closeChannelQuietly();
        } else {
            open = false;
        }
    }

    private void releaseBuffers() {
        if (sendBuf.refCnt() > 0) {
            sendBuf.release();
        }
        releaseOutOfOrder();
        ByteBuf b;
        while ((b = rcvQueue.poll()) != null) {
            b.release();
        }
        rcvQueued = 0;
    }

    private void closeChannelQuietly() {
        if (open && isRegistered()) {
            unsafe().close(voidPromise());
        }
        open = false;
    }

    // --------------------------------------------------------------------------------- Channel plumbing

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
        return new InetSocketAddress(Ipv4Address.toInet(localIp), localPort);
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return new InetSocketAddress(Ipv4Address.toInet(guestIp), guestPort);
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
        if (!open) {
            return;
        }
        open = false;
        ByteBuf b;
        while ((b = rcvQueue.poll()) != null) {
            b.release();
        }
        rcvQueued = 0;
        switch (state) {
            case ESTABLISHED, CLOSE_WAIT -> {
                finQueued = true;
                transmit();
            }
            case SYN_PENDING, SYN_RCVD, SYN_SENT -> abort();
            default -> { }
        }
    }

    @Override
    protected void doBeginRead() {
        if (!open) {
            return;
        }
        readRequested = true;
        if (!rcvQueue.isEmpty() || (finReceived && !inputShutdown)) {
            drainReceiveQueue();
            if (deliveredSinceComplete) {
                stack.ackLater(this);
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
        return open && state >= ESTABLISHED && state < CLOSED;
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
        return inputShutdown;
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
        return outputShutdown || finQueued;
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    /** Half-close: a FIN follows every byte already written (queued writes are not dropped). */
    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        Runnable r = () -> {
            outputShutdown = true;
            maybeQueueFin();
            promise.trySuccess();
        };
        if (eventLoop().inEventLoop()) {
            r.run();
        } else {
            eventLoop().execute(r);
        }
        return promise;
    }

    private void maybeQueueFin() {
        if (!outputShutdown || finQueued || (state != ESTABLISHED && state != CLOSE_WAIT)) {
            return;
        }
        ChannelOutboundBuffer out = unsafe().outboundBuffer();
        if (out == null || out.isEmpty()) {
            finQueued = true;
            transmit();
        }
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
        return "tcp[" + Ipv4Address.format(guestIp) + ":" + guestPort + " <-> "
            + Ipv4Address.format(localIp) + ":" + localPort + " state=" + state + "]";
    }

    static boolean seqLt(int a, int b) { return a - b < 0; }
    static boolean seqGt(int a, int b) { return a - b > 0; }
    static boolean seqGe(int a, int b) { return a - b >= 0; }
}
