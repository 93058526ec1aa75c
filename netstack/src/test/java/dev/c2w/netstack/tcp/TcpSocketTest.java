package dev.c2w.netstack.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import dev.c2w.netstack.wire.Tcp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link TcpSocket} alone: no sockets, no event loop, a fake clock. Each test drives the control block with
 * guest segments and timer ticks and checks the segments it sends and what the application is told.
 *
 * <p>The transitions covered (RFC 9293 3.3.2, as far as the stack supports them):
 * <ul>
 *   <li>passive open: SYN_PENDING -accept-> SYN_RECEIVED -ACK-> ESTABLISHED; refuse; wrong ACK; SYN-ACK
 *       retransmission;</li>
 *   <li>active open: SYN_SENT -SYN,ACK-> ESTABLISHED; RST,ACK refuses; bad ACK; SYN retransmission and
 *       the retry limit;</li>
 *   <li>active close: ESTABLISHED -close-> FIN_WAIT_1 -ACK-> FIN_WAIT_2 -FIN-> TIME_WAIT -2 s-> CLOSED, and
 *       FIN_WAIT_1 -FIN,ACK-> TIME_WAIT in one segment;</li>
 *   <li>passive close: ESTABLISHED -FIN-> CLOSE_WAIT -close-> LAST_ACK -ACK-> CLOSED;</li>
 *   <li>simultaneous close: FIN_WAIT_1 -FIN-> CLOSING -ACK-> TIME_WAIT;</li>
 *   <li>RST in each synchronized state, challenge ACKs (RFC 5961), RST ignored in TIME_WAIT;</li>
 *   <li>data: in-order delivery, the ACK batch, reassembly after a gap, the window of a consumer that does
 *       not read, MSS and window limits, RTT sampling, fast retransmit (NewReno), retransmission timeout,
 *       zero-window probes, the retransmission limit.</li>
 * </ul>
 */
class TcpSocketTest {
    static final int GUEST_IP = Ipv4Address.parse("192.168.127.3");
    static final int LOCAL_IP = Ipv4Address.parse("192.168.127.254");
    static final long GUEST_MAC = MacAddress.parse("02:00:00:00:00:01");
    static final int GUEST_PORT = 40000;
    static final int LOCAL_PORT = 80;
    static final int IRS = 1000; // the guest's initial sequence number
    static final int ISS = 0x7ffffff0; // ours: close to the signed wrap on purpose
    static final int GUEST_WSCALE = 7;
    static final int MSS = 1460;

    long now = 5_000_000_000L;
    final NetStats stats = new NetStats();
    final FakeOutput out = new FakeOutput();
    final RecordingApp app = new RecordingApp();
    TcpSocket s;

    @AfterEach
    void releaseEverything() {
        if (s != null && s.state() != TcpState.CLOSED) {
            s.abort(); // frees the queues
        }
    }

    // ------------------------------------------------------------------------------ the harness

    /** One segment the socket sent, decoded. */
    record Seg(int flags, int seq, int ack, int window, int mssOption, int wscaleOption, byte[] payload) {
        boolean is(int f) {
            return flags == f;
        }
    }

    /** Records segments, emulates the stack's ACK batch and link writability. */
    static final class FakeOutput implements TcpSocket.Output {
        final List<Seg> sent = new ArrayList<>();
        final List<TcpSocket> ackBatch = new ArrayList<>();
        boolean writable = true;
        int blocked;
        int freed;

        @Override
        public ByteBuf newSegment(int tcpLength) {
            return Unpooled.buffer(tcpLength);
        }

        @Override
        public void send(TcpSocket from, ByteBuf b) {
            int hl = Tcp.headerLength(b, 0);
            int synOpts = (Tcp.flags(b, 0) & Tcp.SYN) != 0 ? Tcp.parseSynOptions(b, 0, hl) : 0;
            byte[] payload = new byte[b.writerIndex() - hl];
            b.getBytes(hl, payload);
            sent.add(new Seg(
                    Tcp.flags(b, 0),
                    Tcp.seq(b, 0),
                    Tcp.ack(b, 0),
                    Tcp.window(b, 0),
                    synOpts & 0xffff,
                    (synOpts >>> 16) - 1,
                    payload));
            b.release();
        }

        @Override
        public boolean linkWritable(TcpSocket s) {
            return writable;
        }

        @Override
        public void blockOnLink(TcpSocket s) {
            blocked++;
        }

        @Override
        public void ackLater(TcpSocket s) {
            if (!s.ackPending) {
                s.ackPending = true;
                ackBatch.add(s);
            }
        }

        @Override
        public void freed(TcpSocket s) {
            freed++;
        }

        /** The end of an event-loop turn: the ACK batch runs. */
        void endTurn() {
            for (TcpSocket s : ackBatch) {
                boolean owed = s.ackPending;
                s.ackPending = false;
                s.flushAck(owed);
            }
            ackBatch.clear();
        }

        Seg last() {
            return sent.get(sent.size() - 1);
        }

        /** The segments sent so far, forgetting them. */
        List<Seg> take() {
            List<Seg> r = new ArrayList<>(sent);
            sent.clear();
            return r;
        }
    }

    /** Records what the socket tells its application; reads unless told otherwise. */
    final class RecordingApp implements TcpSocket.Application {
        final List<String> events = new ArrayList<>();
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        boolean reading = true;
        Throwable cause;

        @Override
        public void established() {
            events.add("established");
        }

        @Override
        public boolean readable() {
            return reading;
        }

        @Override
        public void data(ByteBuf b) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            data.writeBytes(bytes);
            b.release();
            events.add("data " + bytes.length);
        }

        @Override
        public void readComplete() {}

        @Override
        public void finReceived() {
            if (s.receiveQueueEmpty()) {
                s.markFinDelivered();
                events.add("fin");
            }
        }

        @Override
        public void sendSpace() {}

        @Override
        public void closed(Throwable c) {
            cause = c;
            events.add("closed");
        }
    }

    TcpSocket newSocket() {
        TcpSocket t = new TcpSocket(
                out,
                stats,
                UnpooledByteBufAllocator.DEFAULT,
                1500,
                GUEST_IP,
                GUEST_PORT,
                LOCAL_IP,
                LOCAL_PORT,
                GUEST_MAC);
        t.attach(app);
        return t;
    }

    static int synOptions(int mss, int wscale) {
        return mss | ((wscale + 1) << 16);
    }

    /** A guest segment, {@code window} in bytes (scaled down by the guest's shift unless it is a SYN). */
    void guest(int flags, int seq, int ack, int windowBytes, byte[] payload) {
        ByteBuf f = Unpooled.wrappedBuffer(payload);
        int field = (flags & Tcp.SYN) != 0 ? windowBytes : windowBytes >> GUEST_WSCALE;
        s.segment(
                now,
                f,
                seq,
                ack,
                flags,
                field,
                (flags & Tcp.SYN) != 0 ? synOptions(MSS, GUEST_WSCALE) : 0,
                0,
                payload.length);
        f.release();
    }

    void guest(int flags, int seq, int ack) {
        guest(flags, seq, ack, 64 * 1024, new byte[0]);
    }

    static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + i * 31);
        }
        return b;
    }

    /** A passive open up to ESTABLISHED: the guest's SYN, our SYN-ACK, its ACK. */
    void established() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        assertThat(s.accept(now)).isTrue();
        guest(Tcp.ACK, IRS + 1, ISS + 1);
        assertThat(s.state()).isEqualTo(TcpState.ESTABLISHED);
        out.take();
        app.events.clear();
    }

    void write(byte[] data) {
        s.enqueue(Unpooled.wrappedBuffer(data));
        s.transmit(now);
    }

    // ------------------------------------------------------------------------------ passive open

    @Test
    void passiveOpenAnswersWithSynAckAndEstablishesOnTheAck() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        assertThat(s.state()).isEqualTo(TcpState.SYN_PENDING);
        assertThat(out.sent).isEmpty();

        assertThat(s.accept(now)).isTrue();
        assertThat(s.state()).isEqualTo(TcpState.SYN_RECEIVED);
        Seg synAck = out.last();
        assertThat(synAck.flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(synAck.seq()).isEqualTo(ISS);
        assertThat(synAck.ack()).isEqualTo(IRS + 1);
        assertThat(synAck.mssOption()).isEqualTo(1460);
        assertThat(synAck.wscaleOption()).isEqualTo(TcpSocket.OUR_WSCALE);
        assertThat(s.accept(now)).as("accepted once").isFalse();

        guest(Tcp.ACK, IRS + 1, ISS + 1);
        assertThat(s.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(app.events).containsExactly("established");
        assertThat(stats.tcpFlowsOpened).isEqualTo(1);
    }

    @Test
    void synAckWithoutWindowScaleWhenTheGuestOfferedNone() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, 536); // MSS 536, no window scale
        s.accept(now);
        assertThat(out.last().wscaleOption()).isEqualTo(-1);
        assertThat(s.mss()).isEqualTo(536);
    }

    @Test
    void synAckIsRetransmittedWithADoublingTimeout() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        s.accept(now);
        out.take();
        now += RttEstimator.INITIAL_RTO - 1;
        s.tick(now);
        assertThat(out.sent).isEmpty();
        now += 1;
        s.tick(now);
        assertThat(out.take()).extracting(Seg::flags).containsExactly(Tcp.SYN | Tcp.ACK);
        now += RttEstimator.INITIAL_RTO; // the timeout doubled: not yet
        s.tick(now);
        assertThat(out.sent).isEmpty();
        now += RttEstimator.INITIAL_RTO;
        s.tick(now);
        assertThat(out.take()).extracting(Seg::flags).containsExactly(Tcp.SYN | Tcp.ACK);
    }

    @Test
    void aWrongAckInSynReceivedIsReset() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        s.accept(now);
        guest(Tcp.ACK, IRS + 1, ISS + 77);
        Seg rst = out.last();
        assertThat(rst.flags()).isEqualTo(Tcp.RST);
        assertThat(rst.seq()).isEqualTo(ISS + 77);
        assertThat(s.state()).isEqualTo(TcpState.SYN_RECEIVED);
    }

    @Test
    void aRetransmittedSynInSynReceivedIsBeforeTheWindowAndGetsAnAck() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        s.accept(now);
        out.take();
        guest(Tcp.SYN, IRS, 0, 64240, new byte[0]);
        assertThat(out.take()).singleElement().satisfies(a -> {
            assertThat(a.flags()).isEqualTo(Tcp.ACK);
            assertThat(a.ack()).isEqualTo(IRS + 1);
        });
        assertThat(s.state()).isEqualTo(TcpState.SYN_RECEIVED);
    }

    @Test
    void segmentsWhilePendingAreNotAnswered() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        guest(Tcp.SYN, IRS, 0, 64240, new byte[0]);
        assertThat(out.sent).isEmpty();
        assertThat(s.state()).isEqualTo(TcpState.SYN_PENDING);
    }

    @Test
    void refusingAPendingSynResetsAndFrees() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        s.refuse();
        Seg rst = out.last();
        assertThat(rst.flags()).isEqualTo(Tcp.RST | Tcp.ACK);
        assertThat(rst.ack()).isEqualTo(IRS + 1);
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
        assertThat(out.freed).isEqualTo(1);
        assertThat(app.events).containsExactly("closed");
        assertThat(app.cause).isNull();
    }

    // ------------------------------------------------------------------------------- active open

    @Test
    void activeOpenSendsSynAndEstablishesOnSynAck() {
        s = newSocket();
        s.connect(ISS, now);
        assertThat(s.state()).isEqualTo(TcpState.SYN_SENT);
        Seg syn = out.last();
        assertThat(syn.flags()).isEqualTo(Tcp.SYN);
        assertThat(syn.seq()).isEqualTo(ISS);
        assertThat(syn.wscaleOption()).isEqualTo(TcpSocket.OUR_WSCALE);

        s.segment(now, Unpooled.EMPTY_BUFFER, IRS, ISS + 1, Tcp.SYN | Tcp.ACK, 29200, synOptions(1200, 2), 0, 0);
        assertThat(s.state()).isEqualTo(TcpState.ESTABLISHED);
        Seg ack = out.last();
        assertThat(ack.flags()).isEqualTo(Tcp.ACK);
        assertThat(ack.seq()).isEqualTo(ISS + 1);
        assertThat(ack.ack()).isEqualTo(IRS + 1);
        assertThat(s.mss()).isEqualTo(1200);
        assertThat(app.events).containsExactly("established");
    }

    @Test
    void activeOpenRefusedByTheGuest() {
        s = newSocket();
        s.connect(ISS, now);
        s.segment(now, Unpooled.EMPTY_BUFFER, 0, ISS + 1, Tcp.RST | Tcp.ACK, 0, 0, 0, 0);
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
        assertThat(app.cause).isInstanceOf(ConnectException.class).hasMessageContaining("192.168.127.3:40000");
    }

    @Test
    void activeOpenIgnoresRstWithoutAckAndResetsABadAck() {
        s = newSocket();
        s.connect(ISS, now);
        out.take();
        s.segment(now, Unpooled.EMPTY_BUFFER, 0, 0, Tcp.RST, 0, 0, 0, 0);
        assertThat(s.state()).isEqualTo(TcpState.SYN_SENT);
        assertThat(out.sent).isEmpty();
        s.segment(now, Unpooled.EMPTY_BUFFER, IRS, ISS + 9, Tcp.SYN | Tcp.ACK, 29200, 0, 0, 0);
        assertThat(out.last().flags()).isEqualTo(Tcp.RST);
        assertThat(out.last().seq()).isEqualTo(ISS + 9);
        assertThat(s.state()).isEqualTo(TcpState.SYN_SENT);
    }

    @Test
    void anUnansweredSynIsRetriedThenGivenUp() {
        s = newSocket();
        s.connect(ISS, now);
        out.take();
        for (int i = 0; i < TcpSocket.MAX_RETRIES; i++) {
            now += RttEstimator.MAX_RTO;
            assertThat(s.tick(now)).isTrue();
        }
        assertThat(out.take()).hasSize(TcpSocket.MAX_RETRIES).allMatch(seg -> seg.is(Tcp.SYN));
        now += RttEstimator.MAX_RTO;
        assertThat(s.tick(now)).isFalse();
        assertThat(out.last().flags()).isEqualTo(Tcp.RST | Tcp.ACK);
        assertThat(app.cause).isInstanceOf(IOException.class).hasMessageContaining("retransmission limit");
    }

    // --------------------------------------------------------------------------- receiving data

    @Test
    void inOrderDataIsHandedOnAndAcknowledgedOncePerTurn() {
        established();
        guest(Tcp.ACK | Tcp.PSH, IRS + 1, ISS + 1, 64 * 1024, bytes(100, 1));
        guest(Tcp.ACK | Tcp.PSH, IRS + 101, ISS + 1, 64 * 1024, bytes(50, 2));
        assertThat(app.events).containsExactly("data 100", "data 50");
        assertThat(out.sent).as("the ACK waits for the end of the turn").isEmpty();
        out.endTurn();
        assertThat(out.take()).singleElement().satisfies(a -> {
            assertThat(a.flags()).isEqualTo(Tcp.ACK);
            assertThat(a.ack()).isEqualTo(IRS + 151);
        });
    }

    @Test
    void aSegmentWeSendCarriesTheQueuedAck() {
        established();
        guest(Tcp.ACK | Tcp.PSH, IRS + 1, ISS + 1, 64 * 1024, bytes(10, 1));
        write(bytes(20, 3)); // a reply in the same turn
        assertThat(out.last().ack()).isEqualTo(IRS + 11);
        int before = out.sent.size();
        out.endTurn();
        assertThat(out.sent).hasSize(before);
    }

    @Test
    void aSegmentAfterAGapWaitsForTheRetransmission() {
        established();
        byte[] first = bytes(100, 1);
        byte[] second = bytes(80, 2);
        guest(Tcp.ACK, IRS + 101, ISS + 1, 64 * 1024, second);
        assertThat(app.events).isEmpty();
        assertThat(out.last().ack()).as("duplicate ACK at once").isEqualTo(IRS + 1);
        guest(Tcp.ACK, IRS + 1, ISS + 1, 64 * 1024, first);
        assertThat(app.events).containsExactly("data 100", "data 80");
        byte[] all = Arrays.copyOf(first, 180);
        System.arraycopy(second, 0, all, 100, 80);
        assertThat(app.data.toByteArray()).isEqualTo(all);
        out.endTurn();
        assertThat(out.last().ack()).isEqualTo(IRS + 181);
    }

    @Test
    void aPartlyDuplicateSegmentDeliversOnlyTheNewBytes() {
        established();
        byte[] data = bytes(100, 5);
        guest(Tcp.ACK, IRS + 1, ISS + 1, 64 * 1024, Arrays.copyOf(data, 60));
        guest(Tcp.ACK, IRS + 1, ISS + 1, 64 * 1024, data);
        assertThat(app.data.toByteArray()).isEqualTo(data);
    }

    @Test
    void aConsumerThatDoesNotReadClosesTheWindowAndReadingReopensIt() {
        established();
        app.reading = false;
        int chunk = 60_000;
        int seq = IRS + 1;
        for (int sent = 0; sent < TcpSocket.RECEIVE_BUFFER; sent += chunk) {
            int n = Math.min(chunk, TcpSocket.RECEIVE_BUFFER - sent);
            guest(Tcp.ACK, seq, ISS + 1, 64 * 1024, bytes(n, sent));
            seq += n;
        }
        out.endTurn();
        assertThat(app.events).isEmpty();
        assertThat(out.last().window()).as("window closed").isZero();
        assertThat(out.last().ack()).isEqualTo(seq);

        guest(Tcp.ACK, seq, ISS + 1, 64 * 1024, bytes(10, 9));
        assertThat(out.last().ack()).as("nothing taken beyond the window").isEqualTo(seq);

        out.take();
        app.reading = true;
        s.readResumed();
        assertThat(app.data.size()).isEqualTo(TcpSocket.RECEIVE_BUFFER);
        out.endTurn();
        assertThat(out.last().window() << TcpSocket.OUR_WSCALE)
                .as("window update")
                .isEqualTo(TcpSocket.RECEIVE_BUFFER >> TcpSocket.OUR_WSCALE << TcpSocket.OUR_WSCALE);
    }

    @Test
    void aFinBehindUnreadDataIsReportedAfterTheData() {
        established();
        app.reading = false;
        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 1, 64 * 1024, bytes(30, 1));
        assertThat(s.state()).isEqualTo(TcpState.CLOSE_WAIT);
        assertThat(out.last().ack()).isEqualTo(IRS + 32);
        assertThat(app.events).isEmpty();
        app.reading = true;
        s.readResumed();
        assertThat(app.events).containsExactly("data 30", "fin");
    }

    @Test
    void aFinAfterAGapIsNotTakenYet() {
        established();
        guest(Tcp.ACK | Tcp.FIN, IRS + 11, ISS + 1, 64 * 1024, bytes(5, 1));
        assertThat(s.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(out.last().ack()).isEqualTo(IRS + 1);
    }

    // ----------------------------------------------------------------------------- sending data

    @Test
    void dataIsCutIntoSegmentsOfTheMss() {
        established();
        write(bytes(5000, 1));
        assertThat(out.sent).extracting(seg -> seg.payload().length).containsExactly(1460, 1460, 1460, 620);
        assertThat(out.sent).extracting(Seg::seq).containsExactly(ISS + 1, ISS + 1461, ISS + 2921, ISS + 4381);
        assertThat(out.last().flags()).as("PSH on the last").isEqualTo(Tcp.ACK | Tcp.PSH);
        assertThat(out.sent.get(0).flags()).isEqualTo(Tcp.ACK);
    }

    @Test
    void theGuestsWindowLimitsWhatIsInFlight() {
        established();
        guest(Tcp.ACK, IRS + 1, ISS + 1, 2048, new byte[0]); // a 2 KiB window
        write(bytes(5000, 1));
        assertThat(out.take()).extracting(seg -> seg.payload().length).containsExactly(1460);
        guest(Tcp.ACK, IRS + 1, ISS + 1461, 4096, new byte[0]);
        assertThat(out.take()).extracting(seg -> seg.payload().length).containsExactly(1460, 1460, 620);
    }

    @Test
    void congestionWindowStartsAtTenSegments() {
        established();
        guest(Tcp.ACK, IRS + 1, ISS + 1, 1 << 20, new byte[0]);
        write(bytes(20 * MSS, 1));
        assertThat(out.take()).hasSize(10);
        assertThat(s.congestion().window()).isEqualTo(10L * MSS);
    }

    @Test
    void aFullLinkStopsSendingUntilItDrains() {
        established();
        out.writable = false;
        write(bytes(3000, 1));
        assertThat(out.sent).isEmpty();
        assertThat(out.blocked).isEqualTo(1);
        out.writable = true;
        s.transmit(now);
        assertThat(out.sent).hasSize(3);
    }

    @Test
    void anAckFreesTheQueueAndSamplesTheRoundTrip() {
        established();
        write(bytes(1000, 1));
        assertThat(s.sendRoom()).isEqualTo(TcpSocket.SEND_BUFFER - 1000);
        now += 100_000_000L; // 100 ms
        guest(Tcp.ACK, IRS + 1, ISS + 1001);
        assertThat(s.sendRoom()).isEqualTo(TcpSocket.SEND_BUFFER);
        assertThat(s.rtt().srtt()).isEqualTo(100_000_000L);
        assertThat(s.rtt().rto()).isEqualTo(300_000_000L); // SRTT + 4 * RTTVAR (50 ms)
        now += 10 * RttEstimator.MAX_RTO;
        s.tick(now);
        assertThat(out.take()).as("nothing left to retransmit").hasSize(1);
    }

    @Test
    void anAckOfDataNeverSentIsAnsweredWithAnAck() {
        established();
        guest(Tcp.ACK, IRS + 1, ISS + 5000);
        assertThat(out.last().flags()).isEqualTo(Tcp.ACK);
        assertThat(out.last().seq()).isEqualTo(ISS + 1);
    }

    @Test
    void threeDuplicateAcksRetransmitAtOnce() {
        established();
        guest(Tcp.ACK, IRS + 1, ISS + 1, 1 << 20, new byte[0]);
        write(bytes(6 * MSS, 1));
        out.take();
        guest(Tcp.ACK, IRS + 1, ISS + 1 + MSS, 1 << 20, new byte[0]); // first segment acknowledged
        out.take();
        for (int i = 0; i < 2; i++) {
            guest(Tcp.ACK, IRS + 1, ISS + 1 + MSS, 1 << 20, new byte[0]);
        }
        assertThat(out.sent).isEmpty();
        guest(Tcp.ACK, IRS + 1, ISS + 1 + MSS, 1 << 20, new byte[0]);
        assertThat(out.take()).singleElement().satisfies(r -> {
            assertThat(r.seq()).isEqualTo(ISS + 1 + MSS);
            assertThat(r.payload()).hasSize(MSS);
        });
        assertThat(s.congestion().inRecovery()).isTrue();
        assertThat(stats.tcpRetransmits).isEqualTo(1);
        // a partial ACK retransmits the next hole (NewReno)
        guest(Tcp.ACK, IRS + 1, ISS + 1 + 2 * MSS, 1 << 20, new byte[0]);
        assertThat(out.sent).extracting(Seg::seq).startsWith(ISS + 1 + 2 * MSS);
        assertThat(stats.tcpRetransmits).isEqualTo(2);
        // everything acknowledged: recovery ends
        guest(Tcp.ACK, IRS + 1, ISS + 1 + 6 * MSS, 1 << 20, new byte[0]);
        assertThat(s.congestion().inRecovery()).isFalse();
    }

    @Test
    void aTimeoutResendsFromTheFirstUnacknowledgedByteWithOneSegmentOfWindow() {
        established();
        guest(Tcp.ACK, IRS + 1, ISS + 1, 1 << 20, new byte[0]);
        write(bytes(4 * MSS, 1));
        out.take();
        now += RttEstimator.INITIAL_RTO;
        s.tick(now);
        assertThat(out.take())
                .singleElement()
                .satisfies(r -> assertThat(r.seq()).isEqualTo(ISS + 1));
        assertThat(s.congestion().window()).isEqualTo(MSS);
        assertThat(s.congestion().threshold()).isEqualTo(2L * MSS);
        assertThat(s.rtt().rto()).isEqualTo(2 * RttEstimator.INITIAL_RTO);
        guest(Tcp.ACK, IRS + 1, ISS + 1 + MSS, 1 << 20, new byte[0]);
        assertThat(out.take()).extracting(Seg::seq).containsExactly(ISS + 1 + MSS, ISS + 1 + 2 * MSS);
    }

    @Test
    void aClosedWindowIsProbedWithoutCountingRetries() {
        established();
        guest(Tcp.ACK, IRS + 1, ISS + 1, 0, new byte[0]);
        write(bytes(100, 1));
        assertThat(out.sent).isEmpty();
        for (int i = 0; i < TcpSocket.MAX_RETRIES + 3; i++) {
            now += RttEstimator.MAX_RTO;
            assertThat(s.tick(now)).isTrue();
        }
        assertThat(out.sent).isNotEmpty().allSatisfy(p -> {
            assertThat(p.payload()).hasSize(1);
            assertThat(p.seq()).isEqualTo(ISS + 1);
        });
        out.take();
        guest(Tcp.ACK, IRS + 1, ISS + 2, 64 * 1024, new byte[0]); // the probe byte taken, window open
        assertThat(out.take()).singleElement().satisfies(p -> {
            assertThat(p.seq()).isEqualTo(ISS + 2);
            assertThat(p.payload()).hasSize(99);
        });
    }

    @Test
    void aGuestThatStopsAcknowledgingIsResetAfterTheRetryLimit() {
        established();
        write(bytes(100, 1));
        for (int i = 0; i < TcpSocket.MAX_RETRIES; i++) {
            now += RttEstimator.MAX_RTO;
            assertThat(s.tick(now)).isTrue();
        }
        now += RttEstimator.MAX_RTO;
        assertThat(s.tick(now)).isFalse();
        assertThat(out.last().flags()).isEqualTo(Tcp.RST | Tcp.ACK);
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
        assertThat(app.cause).hasMessageContaining("retransmission limit");
    }

    // ----------------------------------------------------------------------------------- closing

    @Test
    void activeCloseFinWait1FinWait2TimeWaitClosed() {
        established();
        write(bytes(10, 1));
        s.close(now);
        assertThat(s.state()).isEqualTo(TcpState.FIN_WAIT_1);
        Seg fin = out.last();
        assertThat(fin.flags()).isEqualTo(Tcp.FIN | Tcp.ACK);
        assertThat(fin.seq()).as("FIN after the data").isEqualTo(ISS + 11);

        guest(Tcp.ACK, IRS + 1, ISS + 12);
        assertThat(s.state()).isEqualTo(TcpState.FIN_WAIT_2);
        out.take();

        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 12);
        assertThat(s.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(out.last().ack()).isEqualTo(IRS + 2);

        now += TcpSocket.TIME_WAIT_NANOS - 1;
        assertThat(s.tick(now)).isTrue();
        now += 1;
        assertThat(s.tick(now)).isFalse();
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
        assertThat(app.cause).isNull();
        assertThat(out.freed).isEqualTo(1);
    }

    @Test
    void finAndTheAckOfOurFinInOneSegmentGoStraightToTimeWait() {
        established();
        s.close(now);
        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 2);
        assertThat(s.state()).isEqualTo(TcpState.TIME_WAIT);
    }

    @Test
    void timeWaitAcknowledgesARetransmittedFin() {
        established();
        s.close(now);
        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 2);
        out.take();
        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 2);
        assertThat(out.take()).singleElement().satisfies(a -> {
            assertThat(a.flags()).isEqualTo(Tcp.ACK);
            assertThat(a.ack()).isEqualTo(IRS + 2);
        });
    }

    @Test
    void anUnacknowledgedFinIsRetransmitted() {
        established();
        s.close(now);
        out.take();
        now += RttEstimator.INITIAL_RTO;
        s.tick(now);
        assertThat(out.take()).singleElement().satisfies(f -> {
            assertThat(f.flags()).isEqualTo(Tcp.FIN | Tcp.ACK);
            assertThat(f.seq()).isEqualTo(ISS + 1);
        });
    }

    @Test
    void passiveCloseCloseWaitLastAckClosed() {
        established();
        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 1);
        assertThat(s.state()).isEqualTo(TcpState.CLOSE_WAIT);
        assertThat(app.events).containsExactly("fin");
        assertThat(out.last().ack()).isEqualTo(IRS + 2);

        write(bytes(20, 1)); // half-closed: we may still send
        assertThat(out.last().payload()).hasSize(20);
        s.close(now);
        assertThat(s.state()).isEqualTo(TcpState.LAST_ACK);
        assertThat(out.last().flags()).isEqualTo(Tcp.FIN | Tcp.ACK);

        guest(Tcp.ACK, IRS + 2, ISS + 22);
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
        assertThat(app.cause).isNull();
    }

    @Test
    void simultaneousCloseGoesThroughClosing() {
        established();
        s.close(now);
        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 1); // the guest's FIN crossed ours
        assertThat(s.state()).isEqualTo(TcpState.CLOSING);
        guest(Tcp.ACK, IRS + 2, ISS + 2);
        assertThat(s.state()).isEqualTo(TcpState.TIME_WAIT);
    }

    @Test
    void halfCloseSendsFinAfterTheQueuedData() {
        established();
        write(bytes(3000, 1));
        s.shutdownOutput(now);
        assertThat(out.last().flags()).isEqualTo(Tcp.FIN | Tcp.ACK);
        assertThat(out.last().seq()).isEqualTo(ISS + 3001);
        assertThat(s.state()).isEqualTo(TcpState.FIN_WAIT_1);
        guest(Tcp.ACK | Tcp.PSH, IRS + 1, ISS + 3002, 64 * 1024, bytes(7, 1));
        assertThat(s.state()).isEqualTo(TcpState.FIN_WAIT_2);
        assertThat(app.data.size()).as("half-closed: the guest may still send").isEqualTo(7);
    }

    @Test
    void closingDuringTheHandshakeResets() {
        s = newSocket();
        s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
        s.accept(now);
        s.close(now);
        assertThat(out.last().flags()).isEqualTo(Tcp.RST | Tcp.ACK);
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
    }

    @Test
    void abortSendsRst() {
        established();
        s.abort();
        assertThat(out.last().flags()).isEqualTo(Tcp.RST | Tcp.ACK);
        assertThat(out.last().seq()).isEqualTo(ISS + 1);
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
    }

    // --------------------------------------------------------------------- RST, challenge ACKs

    /** Brings a fresh socket to {@code target} and returns the sequence number the guest sends next. */
    int reach(TcpState target) {
        if (target == TcpState.SYN_RECEIVED) {
            s = newSocket();
            s.synReceived(ISS, IRS, 64240, synOptions(MSS, GUEST_WSCALE));
            s.accept(now);
            return IRS + 1;
        }
        established();
        switch (target) {
            case ESTABLISHED -> {}
            case FIN_WAIT_1 -> s.close(now);
            case FIN_WAIT_2 -> {
                s.close(now);
                guest(Tcp.ACK, IRS + 1, ISS + 2);
            }
            case CLOSE_WAIT -> {
                guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 1);
                return IRS + 2;
            }
            case CLOSING -> {
                s.close(now);
                guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 1);
                return IRS + 2;
            }
            case LAST_ACK -> {
                guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 1);
                s.close(now);
                return IRS + 2;
            }
            default -> throw new IllegalArgumentException(target.toString());
        }
        return IRS + 1;
    }

    @ParameterizedTest
    @EnumSource(
            value = TcpState.class,
            names = {"SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK"})
    void anRstAtTheNextSequenceNumberResetsInEveryState(TcpState state) {
        int next = reach(state);
        assertThat(s.state()).isEqualTo(state);
        out.take();
        guest(Tcp.RST, next, 0);
        assertThat(s.state()).isEqualTo(TcpState.CLOSED);
        assertThat(out.sent).as("no answer to an RST").isEmpty();
        assertThat(app.cause).isInstanceOf(IOException.class).hasMessageContaining("reset by guest");
        assertThat(out.freed).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(
            value = TcpState.class,
            names = {"SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK"})
    void anRstElsewhereInTheWindowGetsAChallengeAck(TcpState state) {
        int next = reach(state);
        out.take();
        guest(Tcp.RST, next + 100, 0);
        assertThat(s.state()).isEqualTo(state);
        assertThat(out.take()).singleElement().satisfies(a -> {
            assertThat(a.flags()).isEqualTo(Tcp.ACK);
            assertThat(a.ack()).isEqualTo(next);
        });
    }

    @Test
    void anRstInTimeWaitIsIgnored() {
        established();
        s.close(now);
        guest(Tcp.ACK | Tcp.FIN, IRS + 1, ISS + 2);
        out.take();
        guest(Tcp.RST, IRS + 2, 0);
        assertThat(s.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(out.sent).isEmpty();
    }

    @Test
    void aSynOnAnEstablishedConnectionGetsAChallengeAck() {
        established();
        guest(Tcp.SYN, IRS + 1, 0, 64240, new byte[0]);
        assertThat(s.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(out.last().flags()).isEqualTo(Tcp.ACK);
        assertThat(out.last().ack()).isEqualTo(IRS + 1);
    }

    @Test
    void aSegmentOutsideTheWindowIsAnsweredWithAnAckAndDropped() {
        established();
        guest(Tcp.ACK, IRS + 1 - 5000, ISS + 1, 64 * 1024, bytes(100, 1));
        assertThat(app.events).isEmpty();
        assertThat(out.last().flags()).isEqualTo(Tcp.ACK);
        assertThat(out.last().ack()).isEqualTo(IRS + 1);
    }

    @Test
    void statesSayWhetherTheyAreSynchronized() {
        assertThat(TcpState.SYN_RECEIVED.synchronizedState()).isFalse();
        assertThat(TcpState.ESTABLISHED.synchronizedState()).isTrue();
        assertThat(TcpState.TIME_WAIT.synchronizedState()).isTrue();
        assertThat(TcpState.CLOSED.synchronizedState()).isFalse();
        assertThat(newSocket().toString()).contains("CLOSED").contains("192.168.127.3:40000");
    }
}
