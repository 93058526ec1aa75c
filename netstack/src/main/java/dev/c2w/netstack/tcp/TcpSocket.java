package dev.c2w.netstack.tcp;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.Tcp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayDeque;

/**
 * The TCP control block of one guest connection (RFC 9293), with no I/O of its own.
 *
 * <p>The socket is the state machine and its buffers; it reads no clock and owns no channel. Every call
 * that can send or time something is handed {@code now} (nanoseconds of the caller's clock). Segments
 * leave through a narrow {@link Output} (a frame buffer to write into, a send, the link's writability and
 * the ACK batch), and what the connection's user must know arrives through {@link Application} (data in
 * order, the guest's FIN, room to send, the end). {@link TcpConnection} adapts it to a Netty channel;
 * the unit tests drive it with a fake clock and record what it sends.
 *
 * <p>Guest to us. In-order payload is handed on as retained slices of the guest's frame (no copy) while
 * the application reads; otherwise it waits here as a copy ({@link #heldCopy}), and what waits shrinks the
 * window we advertise, so a consumer that stops reading closes the guest's window instead of growing
 * memory. A segment after a gap waits in the {@link ReassemblyQueue} (at most half the receive buffer)
 * and is answered with a duplicate ACK. ACKs for data are coalesced: {@link Output#ackLater} queues one
 * per connection per event-loop turn, and a segment we send meanwhile carries it instead.
 *
 * <p>Us to the guest. Written bytes wait in the {@link SendQueue} (up to {@link #SEND_BUFFER}) until
 * acknowledged. Segments are cut at the guest's MSS within the smaller of its scaled window and the
 * {@link NewReno} congestion window, never smaller than a segment while data is in flight (no silly
 * windows), and not while the guest's link is full ({@link Output#blockOnLink}). One retransmission
 * deadline per connection ({@link RttEstimator}: RFC 6298, Karn's rule, doubling, at most
 * {@link #MAX_RETRIES}) is checked by {@link #tick}; three duplicate ACKs retransmit at once; a closed
 * window is probed one byte at a time on the same deadline, which does not count as a retry.
 *
 * <p>Close. {@link #close} sends FIN after the queued data (the block lives on until the FIN is
 * acknowledged or times out), {@link #shutdownOutput} is a half-close, {@link #abort} sends RST. A guest
 * FIN is reported once every byte before it was handed on; a guest RST frees the block at once. An RST is
 * taken only at exactly the next expected sequence number; elsewhere in the window it gets a challenge
 * ACK (RFC 5961). Simultaneous open is not supported; simultaneous close is (CLOSING).
 */
public final class TcpSocket {
    static final int SEND_BUFFER = 512 * 1024;
    static final int RECEIVE_BUFFER = 1024 * 1024;
    /** Our window scale: a 1 MiB receive window fits the 16-bit field shifted by 5. */
    static final int OUR_WSCALE = 5;

    static final int MAX_RETRIES = 12;
    static final long TIME_WAIT_NANOS = 2_000_000_000L;
    /** The MSS assumed when a SYN carries none (RFC 9293 3.7.1). */
    static final int DEFAULT_MSS = 536;

    private static final int MIN_MSS = 64;
    private static final int SYN_HEADER_WITH_WSCALE = Tcp.MIN_HEADER + 8;
    private static final int SYN_HEADER = Tcp.MIN_HEADER + 4;

    /** Where a socket's segments go, and the stack's bookkeeping it asks for. */
    public interface Output {
        /** A buffer for a TCP segment of {@code tcpLength} bytes, written from its writer index on. */
        ByteBuf newSegment(int tcpLength);

        /** Sends a segment written into a buffer from {@link #newSegment}; ownership passes. */
        void send(TcpSocket from, ByteBuf segment);

        /** Whether the guest's link takes another frame now. */
        boolean linkWritable(TcpSocket s);

        /** {@code s} has data to send but the link is full: call {@link TcpSocket#transmit} when it drains. */
        void blockOnLink(TcpSocket s);

        /** Call {@link TcpSocket#flushAck} once at the end of this event-loop turn. */
        void ackLater(TcpSocket s);

        /** The block is freed: forget it. */
        void freed(TcpSocket s);
    }

    /** What the user of a connection is told. */
    public interface Application {
        /** The handshake completed. */
        void established();

        /** Whether in-order data can be handed on now; otherwise it waits and the window shrinks. */
        boolean readable();

        /** In-order payload from the guest; ownership passes. */
        void data(ByteBuf data);

        /** The guest's FIN arrived in sequence; {@link #receiveQueueEmpty} says whether all data before it went on. */
        void finReceived();

        /** The end of an event-loop turn in which data was handed on or an ACK was queued. */
        void readComplete();

        /** Acknowledged bytes made room in the send queue. */
        void sendSpace();

        /** The block was freed; {@code cause} is null for an orderly end. */
        void closed(Throwable cause);
    }

    final int guestIp;
    final int guestPort;
    final int localIp;
    final int localPort;
    final long guestMac;
    /** The next socket with the same guest (IP, port) in {@link TcpStack}'s table. */
    TcpSocket nextInBucket;
    /** {@link TcpStack}'s bookkeeping: queued in the ACK batch with an ACK still owed. */
    boolean ackPending;
    /** {@link TcpStack}'s bookkeeping: waiting for the guest's link to drain. */
    boolean linkBlocked;

    private final Output out;
    private final NetStats stats;
    private final int ourMss;
    private Application app;
    private TcpState state = TcpState.CLOSED;
    private boolean appOpen = true;
    private boolean finDelivered;

    // send side
    private int iss;
    private int sndUna;
    private int sndNxt;
    /** The highest sequence number sent ({@link #sndNxt} goes back to {@link #sndUna} after a timeout). */
    private int sndMax;

    private long sndWnd;
    /** Shift of the guest's window field (0 when it did not offer scaling). */
    private int sndWscale;

    private boolean wscaleOk;
    private int mss;
    private final SendQueue sendQueue;
    private final NewReno cc = new NewReno();
    private final RttEstimator rtt = new RttEstimator();
    private boolean finQueued;
    private boolean finSent;

    // receive side
    private int rcvNxt;
    private final ArrayDeque<ByteBuf> rcvQueue = new ArrayDeque<>();
    private int rcvQueued;
    private final ReassemblyQueue outOfOrder = new ReassemblyQueue(RECEIVE_BUFFER / 2);
    private int lastAdvertised;
    private boolean finReceived;

    // timers (0 = not armed)
    private long rtoDeadline;
    private int retries;
    private long timeWaitUntil;

    /**
     * A closed socket for the connection guest {@code guestIp:guestPort} to us at {@code localIp:localPort}.
     * Segments are at most {@code mtu - 40} bytes of payload. Call {@link #attach} before anything else.
     */
    public TcpSocket(
            Output out,
            NetStats stats,
            ByteBufAllocator alloc,
            int mtu,
            int guestIp,
            int guestPort,
            int localIp,
            int localPort,
            long guestMac) {
        this.out = out;
        this.stats = stats;
        this.guestIp = guestIp;
        this.guestPort = guestPort;
        this.localIp = localIp;
        this.localPort = localPort;
        this.guestMac = guestMac;
        this.ourMss = mtu - 40;
        this.mss = ourMss;
        this.sendQueue = new SendQueue(alloc);
    }

    /** Sets who is told about this connection. */
    public void attach(Application application) {
        this.app = application;
    }

    public TcpState state() {
        return state;
    }

    /** The segment size in use: the smaller of ours and the guest's. */
    int mss() {
        return mss;
    }

    NewReno congestion() {
        return cc;
    }

    RttEstimator rtt() {
        return rtt;
    }

    /** Whether the application still uses the connection (it did not close it). */
    boolean appOpen() {
        return appOpen;
    }

    /** Whether the guest's FIN was reported and nothing more will arrive. */
    boolean finDelivered() {
        return finDelivered;
    }

    /** Whether a FIN is queued after the data (the application closed or shut down its output). */
    boolean finQueued() {
        return finQueued;
    }

    boolean finReceived() {
        return finReceived;
    }

    boolean receiveQueueEmpty() {
        return rcvQueue.isEmpty();
    }

    /** Bytes the application may still write before the send queue is full. */
    int sendRoom() {
        return SEND_BUFFER - sendQueue.size();
    }

    // ------------------------------------------------------------------------------ handshake

    /** A guest SYN (passive open) with initial send sequence {@code iss}: SYN_PENDING until accepted. */
    public void synReceived(int iss, int seq, int window, int synOptions) {
        rcvNxt = seq + 1;
        applySynOptions(synOptions);
        sndWnd = window; // a SYN's window is never scaled
        this.iss = iss;
        sndUna = iss;
        sndNxt = iss;
        sndMax = iss;
        cc.start(mss);
        state = TcpState.SYN_PENDING;
    }

    /** Completes a passive open with a SYN-ACK; false when the socket is no longer pending. */
    public boolean accept(long now) {
        if (state != TcpState.SYN_PENDING) {
            return false;
        }
        state = TcpState.SYN_RECEIVED;
        sendSyn(now, true);
        return true;
    }

    /** Refuses a passive open (host refused or timed out, policy): RST to the guest, and the end. */
    public void refuse() {
        if (state == TcpState.SYN_PENDING || state == TcpState.SYN_RECEIVED) {
            sendRaw(Tcp.RST | Tcp.ACK, 0, rcvNxt, 0);
        }
        destroy(null);
    }

    /** Active open towards the guest (port forwards) with initial send sequence {@code iss}. */
    public void connect(int iss, long now) {
        this.iss = iss;
        sndUna = iss;
        sndNxt = iss;
        wscaleOk = true; // offered in our SYN; confirmed by the guest's SYN-ACK
        state = TcpState.SYN_SENT;
        sendSyn(now, false);
    }

    /** MSS and window scale from the guest's SYN or SYN-ACK ({@link Tcp#parseSynOptions}). */
    private void applySynOptions(int synOptions) {
        int guestMss = synOptions & 0xffff;
        int ws = (synOptions >>> 16) - 1;
        mss = Math.min(mss, guestMss > 0 ? Math.max(MIN_MSS, guestMss) : DEFAULT_MSS);
        wscaleOk = ws >= 0;
        sndWscale = wscaleOk ? ws : 0;
    }

    private void sendSyn(long now, boolean ack) {
        boolean ws = !ack || wscaleOk;
        int hl = ws ? SYN_HEADER_WITH_WSCALE : SYN_HEADER;
        ByteBuf b = out.newSegment(hl);
        int o = b.writerIndex();
        b.setInt(o + Tcp.MIN_HEADER, (2 << 24) | (4 << 16) | ourMss);
        if (ws) {
            b.setInt(o + Tcp.MIN_HEADER + 4, (1 << 24) | (3 << 16) | (3 << 8) | OUR_WSCALE);
        }
        int flags = Tcp.SYN | (ack ? Tcp.ACK : 0);
        finishSegment(b, o, hl, flags, iss, ack ? rcvNxt : 0, Math.min(65535, rcvWindow()), 0);
        sndNxt = iss + 1;
        sndMax = sndNxt;
        armRto(now);
    }

    private void establish() {
        rtoDeadline = 0;
        retries = 0;
        state = TcpState.ESTABLISHED;
        stats.tcpFlowsOpened++;
        app.established();
    }

    // ---------------------------------------------------------------------------- segment input

    /**
     * A segment for this connection. {@code f} is the whole frame (borrowed); the payload is
     * {@code [dataOff, dataOff + dataLen)}; {@code synOptions} is {@link Tcp#parseSynOptions} of a SYN.
     */
    public void segment(
            long now, ByteBuf f, int seq, int ack, int flags, int window, int synOptions, int dataOff, int dataLen) {
        switch (state) {
            case SYN_SENT -> {
                synSentSegment(seq, ack, flags, window, synOptions);
                return;
            }
            case SYN_PENDING, CLOSED -> {
                return; // a retransmitted SYN while we connect to the host: the answer comes when it is known
            }
            case TIME_WAIT -> {
                if ((flags & Tcp.FIN) != 0) {
                    sendAck();
                }
                return;
            }
            default -> {}
        }
        // sequence acceptability (RFC 9293 3.10.7.4), simplified: we take only in-order bytes
        int wnd = rcvWindow();
        boolean acceptable;
        if (dataLen == 0) {
            acceptable = seq == rcvNxt || (wnd > 0 && SeqNum.ge(seq, rcvNxt) && SeqNum.lt(seq, rcvNxt + wnd));
        } else {
            acceptable = wnd > 0 && SeqNum.lt(seq, rcvNxt + wnd) && SeqNum.gt(seq + dataLen, rcvNxt);
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
            sendAck(); // a SYN in the window of a synchronized connection: challenge ACK (RFC 5961 4)
            return;
        }
        if ((flags & Tcp.ACK) == 0) {
            return;
        }
        if (state == TcpState.SYN_RECEIVED) {
            if (ack != iss + 1) {
                sendRaw(Tcp.RST, ack, 0, 0);
                return;
            }
            sndUna = ack;
            sendQueue.startAt(ack);
            sndWnd = (long) window << sndWscale;
            establish();
            if (!appOpen) {
                return;
            }
        } else {
            processAck(now, ack, window, dataLen == 0 && (flags & Tcp.FIN) == 0);
            if (state == TcpState.CLOSED) {
                return;
            }
        }
        if (dataLen > 0 && state.receives()) {
            int skip = rcvNxt - seq; // bytes we already have (a partially duplicate segment)
            if (skip < 0) {
                // a gap: keep the segment for later (bounded) and send a duplicate ACK at once
                if (appOpen && !finDelivered) {
                    outOfOrder.hold(seq, -skip, wnd, f, dataOff, dataLen);
                }
                sendAck();
                return;
            }
            int len = Math.min(dataLen - skip, wnd);
            if (len > 0) {
                ByteBuf data = f.retainedSlice(dataOff + skip, len);
                rcvNxt += len;
                // queue the ACK first: a reply the application sends at once carries it and cancels this one
                out.ackLater(this);
                receiveData(data);
                ByteBuf next;
                while ((next = outOfOrder.pollInOrder(rcvNxt)) != null) {
                    rcvNxt += next.readableBytes();
                    receiveData(next);
                }
            }
            if (len < dataLen - skip) {
                sendAck();
                return; // the rest did not fit; a FIN in this segment is not yet in sequence
            }
            if (len <= 0) {
                out.ackLater(this); // a duplicate: acknowledge what we have
            }
        }
        if ((flags & Tcp.FIN) != 0 && seq + dataLen == rcvNxt && !finReceived) {
            finReceived = true;
            rcvNxt++;
            sendAck();
            switch (state) {
                case ESTABLISHED -> state = TcpState.CLOSE_WAIT;
                case FIN_WAIT_1 -> state = TcpState.CLOSING;
                case FIN_WAIT_2 -> enterTimeWait(now);
                default -> {}
            }
            app.finReceived();
        }
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
                destroy(new ConnectException(
                        "connection refused by guest " + Ipv4Address.format(guestIp) + ":" + guestPort));
            }
            return;
        }
        if ((flags & Tcp.SYN) == 0 || (flags & Tcp.ACK) == 0) {
            return; // simultaneous open is not supported
        }
        rcvNxt = seq + 1;
        applySynOptions(synOptions);
        cc.start(mss);
        sndUna = ack;
        sendQueue.startAt(ack);
        sndWnd = window; // the window of a SYN-ACK is not scaled
        sendAck();
        establish();
    }

    private void processAck(long now, int ack, int window, boolean pureAck) {
        if (SeqNum.gt(ack, sndMax)) {
            sendAck(); // acknowledges something we never sent
            return;
        }
        if (SeqNum.gt(ack, sndNxt)) {
            sndNxt = ack; // data sent before a timeout arrived after all
        }
        long newWnd = (long) window << sndWscale;
        if (SeqNum.gt(ack, sndUna)) {
            int acked = ack - sndUna;
            rtt.acknowledged(ack, now);
            // a FIN takes one sequence number but no byte of the queue
            sendQueue.acknowledge(Math.min(acked, sendQueue.size()));
            sndUna = ack;
            retries = 0;
            if (cc.acknowledged(ack, acked, mss)) {
                retransmitFirst(now); // NewReno partial ACK: the next hole is lost too
            }
            rtoDeadline = sndUna == sndNxt ? 0 : now + rtt.rto();
            sndWnd = newWnd;
            if (finSent && sndUna == sndNxt) {
                finAcked(now);
                if (state == TcpState.CLOSED || state == TcpState.TIME_WAIT) {
                    return;
                }
            }
            if (appOpen) {
                app.sendSpace();
            }
            transmit(now);
        } else if (ack == sndUna) {
            boolean windowChanged = newWnd != sndWnd;
            sndWnd = newWnd;
            if (pureAck && !windowChanged && sndNxt != sndUna) {
                switch (cc.duplicateAck(SeqNum.distance(sndUna, sndMax), sndMax, mss)) {
                    case FAST_RETRANSMIT -> retransmitFirst(now);
                    case SEND_MORE -> transmit(now);
                    case NONE -> {}
                }
            } else if (windowChanged) {
                transmit(now);
            }
        }
    }

    private void finAcked(long now) {
        switch (state) {
            case FIN_WAIT_1 -> state = TcpState.FIN_WAIT_2;
            case CLOSING -> enterTimeWait(now);
            case LAST_ACK -> destroy(null);
            default -> {}
        }
    }

    private void enterTimeWait(long now) {
        state = TcpState.TIME_WAIT;
        timeWaitUntil = now + TIME_WAIT_NANOS;
        rtoDeadline = 0;
        if (!appOpen) {
            releaseBuffers();
        }
    }

    // ------------------------------------------------------------------------ guest -> application

    private void receiveData(ByteBuf data) {
        if (!appOpen || finDelivered) {
            data.release();
            return;
        }
        if (rcvQueue.isEmpty() && app.readable()) {
            app.data(data);
        } else {
            int n = data.readableBytes();
            rcvQueue.add(heldCopy(data, data.readerIndex(), n));
            data.release();
            rcvQueued += n;
        }
    }

    /**
     * Payload that waits (for a consumer that is not reading, or for the segments before it) is copied out
     * of the guest's frame into a heap buffer of its own. The frame is a slice of the guest link's read
     * buffer (up to 256 KiB, shared with other connections' frames), and a waiting slice would keep that
     * whole buffer; a small direct copy would in turn keep a chunk of the pooled allocator. With 1000 flows
     * and frames lost on the way in, held slices made the stack's RSS about twice as large
     * (bench/README.md, "Where c2w-net's 1000-flow RSS goes"). Payload that goes straight on is not copied.
     */
    static ByteBuf heldCopy(ByteBuf from, int index, int length) {
        return Unpooled.buffer(length, length).writeBytes(from, index, length);
    }

    /**
     * The application reads again: hands on what waited while it can take it, reports a FIN that waited
     * behind it, and queues a window update when the guest may be waiting on a window we shrank.
     */
    void readResumed() {
        int before = rcvWindow();
        while (!rcvQueue.isEmpty() && appOpen && app.readable()) {
            ByteBuf b = rcvQueue.poll();
            rcvQueued -= b.readableBytes();
            app.data(b);
        }
        if (rcvQueue.isEmpty() && finReceived && !finDelivered && appOpen) {
            app.finReceived();
        }
        int after = rcvWindow();
        if ((before < 2 * mss && after >= 2 * mss) || (lastAdvertised == 0 && after > 0)) {
            out.ackLater(this);
        }
    }

    /** The application was told of the guest's FIN: nothing more is taken from the guest. */
    void markFinDelivered() {
        finDelivered = true;
    }

    int rcvWindow() {
        return Math.max(0, RECEIVE_BUFFER - rcvQueued);
    }

    // ------------------------------------------------------------------------ application -> guest

    /** Queues bytes to send (ownership passes; not empty, and at most {@link #sendRoom} more). */
    void enqueue(ByteBuf data) {
        sendQueue.append(data);
    }

    /** Sends what the windows allow: new data from the send queue, then a FIN when one is queued. */
    public void transmit(long now) {
        if (!state.sends()) {
            return;
        }
        int end = sendQueue.endSeq();
        while (SeqNum.lt(sndNxt, end)) {
            long inFlight = SeqNum.distance(sndUna, sndNxt);
            long room = Math.min(sndWnd, cc.window()) - inFlight;
            if (room <= 0) {
                break;
            }
            int len = (int) Math.min(Math.min(mss, room), end - sndNxt);
            if (len < mss && (end - sndNxt) > len && inFlight > 0) {
                break; // avoid silly-window segments while data is in flight
            }
            if (!out.linkWritable(this)) {
                out.blockOnLink(this); // the guest's link is full: wait instead of queueing without bound
                break;
            }
            sendData(now, sndNxt, len, SeqNum.lt(sndNxt, sndMax));
            sndNxt += len;
            if (SeqNum.gt(sndNxt, sndMax)) {
                sndMax = sndNxt;
            }
        }
        if (sndWnd == 0 && SeqNum.lt(sndNxt, end) && rtoDeadline == 0) {
            rtoDeadline = now + rtt.rto(); // persist timer: probe the closed window
        }
        if (finQueued && !finSent && sndNxt == end) {
            finSent = true;
            sendRaw(Tcp.FIN | Tcp.ACK, sndNxt, rcvNxt, rcvWindow());
            sndNxt++;
            if (SeqNum.gt(sndNxt, sndMax)) {
                sndMax = sndNxt;
            }
            if (state == TcpState.ESTABLISHED) {
                state = TcpState.FIN_WAIT_1;
            } else if (state == TcpState.CLOSE_WAIT) {
                state = TcpState.LAST_ACK;
            }
            armRto(now);
        }
    }

    /** Half-close: a FIN follows every byte already queued. */
    void shutdownOutput(long now) {
        if (finQueued || (state != TcpState.ESTABLISHED && state != TcpState.CLOSE_WAIT)) {
            return;
        }
        finQueued = true;
        transmit(now);
    }

    /**
     * The application closed the connection: what waits for it is dropped, a FIN follows the queued data
     * (the block lives on until the guest acknowledges it), and a handshake in progress is reset.
     */
    void close(long now) {
        if (!appOpen) {
            return;
        }
        appOpen = false;
        releaseReceiveQueue();
        switch (state) {
            case ESTABLISHED, CLOSE_WAIT -> {
                finQueued = true;
                transmit(now);
            }
            case SYN_PENDING, SYN_RECEIVED, SYN_SENT -> abort();
            default -> {}
        }
    }

    /**
     * The application closed the connection with a reset (its channel's SO_LINGER is 0): what waits for
     * it is dropped, the guest gets RST and the block is freed; {@link Application#closed} follows.
     */
    void reset() {
        if (!appOpen) {
            return;
        }
        appOpen = false;
        releaseReceiveQueue();
        abort();
    }

    /** The application is gone without a close of its own (its channel was never registered). */
    void detach() {
        appOpen = false;
    }

    private void sendData(long now, int seq, int len, boolean retransmission) {
        ByteBuf b = out.newSegment(Tcp.MIN_HEADER + len);
        int o = b.writerIndex();
        sendQueue.copy(seq, len, b, o + Tcp.MIN_HEADER);
        boolean last = seq + len == sendQueue.endSeq();
        finishSegment(b, o, Tcp.MIN_HEADER, Tcp.ACK | (last ? Tcp.PSH : 0), seq, rcvNxt, advertisedWindow(), len);
        if (retransmission) {
            stats.tcpRetransmits++;
            rtt.cancelTiming();
        } else {
            rtt.startTiming(seq + len, now);
        }
        armRto(now);
        ackPending = false;
    }

    private void retransmitFirst(long now) {
        int end = sendQueue.endSeq();
        if (SeqNum.lt(sndUna, end)) {
            int len = Math.min(mss, end - sndUna);
            if (sndWnd == 0) {
                len = 1; // zero-window probe
                if (sndNxt == sndUna) {
                    sndNxt = sndUna + 1;
                    if (SeqNum.gt(sndNxt, sndMax)) {
                        sndMax = sndNxt; // a guest that takes the probe byte acknowledges it
                    }
                }
            }
            sendData(now, sndUna, len, true);
        } else if (finSent && sndUna != sndNxt) {
            sendRaw(Tcp.FIN | Tcp.ACK, sndUna, rcvNxt, rcvWindow());
            stats.tcpRetransmits++;
        }
    }

    private void armRto(long now) {
        if (rtoDeadline == 0) {
            rtoDeadline = now + rtt.rto();
        }
    }

    // ------------------------------------------------------------------------------------ timers

    /** Timer tick: retransmission, zero-window probes, TIME_WAIT expiry. Returns false once the block is freed. */
    public boolean tick(long now) {
        if (state == TcpState.TIME_WAIT) {
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
            rtt.backoff();
            rtoDeadline = now + rtt.rto();
            switch (state) {
                case SYN_SENT -> sendSyn(now, false);
                case SYN_RECEIVED -> sendSyn(now, true);
                default -> retransmissionTimeout(now);
            }
        }
        return state != TcpState.CLOSED;
    }

    private void retransmissionTimeout(long now) {
        rtt.cancelTiming();
        if (sndWnd == 0) {
            retries--; // a closed window is not a loss (RFC 9293 persist)
            retransmitFirst(now);
            return;
        }
        // everything in flight is presumed lost (RFC 5681 3.1): go back to sndUna with a one-segment
        // window and let ACKs open it again
        cc.timeout(SeqNum.distance(sndUna, sndMax), mss);
        sndNxt = sndUna;
        if (finSent && SeqNum.lt(sndUna, sndMax)) {
            finSent = false; // sent again after the data by transmit()
        }
        int before = sndNxt;
        transmit(now);
        if (sndNxt == before) {
            retransmitFirst(now);
        }
    }

    // ---------------------------------------------------------------------------------- segments

    private void finishSegment(ByteBuf b, int o, int hdrLen, int flags, int seq, int ack, int window, int payload) {
        Tcp.writeHeader(b, o, localIp, guestIp, localPort, guestPort, seq, ack, hdrLen, flags, window, payload);
        if ((flags & Tcp.SYN) == 0) {
            lastAdvertised = window;
        }
        out.send(this, b);
    }

    private int scaledWindow(int bytes) {
        return wscaleOk ? Math.min(65535, bytes >> OUR_WSCALE) : Math.min(65535, bytes);
    }

    private int advertisedWindow() {
        return scaledWindow(rcvWindow());
    }

    /** Sends a pure ACK of everything received. */
    void sendAck() {
        sendRaw(Tcp.ACK, sndNxt, rcvNxt, rcvWindow());
    }

    /**
     * The end of an event-loop turn in which an ACK was queued: sends it unless a segment of ours carried it
     * meanwhile ({@code owed} false), in any state that has a peer to acknowledge.
     */
    void flushAck(boolean owed) {
        app.readComplete();
        if (owed && state != TcpState.CLOSED && state != TcpState.SYN_PENDING) {
            sendAck();
        }
    }

    private void sendRaw(int flags, int seq, int ack, int windowBytes) {
        ByteBuf b = out.newSegment(Tcp.MIN_HEADER);
        finishSegment(b, b.writerIndex(), Tcp.MIN_HEADER, flags, seq, ack, scaledWindow(windowBytes), 0);
        ackPending = false;
    }

    /** Sends RST to the guest and frees the block (the host side reset, or a hard error). */
    public void abort() {
        if (state == TcpState.SYN_PENDING) {
            sendRaw(Tcp.RST | Tcp.ACK, 0, rcvNxt, 0);
        } else if (state != TcpState.CLOSED && state != TcpState.TIME_WAIT) {
            sendRaw(Tcp.RST | Tcp.ACK, sndNxt, rcvNxt, 0);
        }
        destroy(null);
    }

    /** Frees the block and tells the application; {@code cause} (may be null) says why. */
    void destroy(Throwable cause) {
        if (state == TcpState.CLOSED) {
            return;
        }
        state = TcpState.CLOSED;
        rtoDeadline = 0;
        out.freed(this);
        releaseBuffers();
        app.closed(cause);
    }

    private void releaseBuffers() {
        sendQueue.release();
        outOfOrder.release();
        releaseReceiveQueue();
    }

    private void releaseReceiveQueue() {
        ByteBuf b;
        while ((b = rcvQueue.poll()) != null) {
            b.release();
        }
        rcvQueued = 0;
    }

    @Override
    public String toString() {
        return "tcp[" + Ipv4Address.format(guestIp) + ":" + guestPort + " <-> " + Ipv4Address.format(localIp) + ":"
                + localPort + " " + state + "]";
    }
}
