package dev.c2w.netstack.tcp;

/**
 * Congestion control of one connection: slow start and congestion avoidance (RFC 5681) with NewReno's
 * fast recovery (RFC 6582). The window is in bytes.
 *
 * <p>The socket tells it what the ACK stream says and does what it answers: on the third duplicate ACK it
 * retransmits the first unacknowledged segment and enters recovery until everything sent before then
 * ({@code recover}) is acknowledged; a partial ACK in recovery means the next hole is lost too and is
 * retransmitted at once. A timeout presumes the whole flight lost: one segment of window, half the flight
 * as the threshold.
 */
final class NewReno {
    /** What a duplicate ACK asks of the sender. */
    enum DupAckAction {
        NONE,
        FAST_RETRANSMIT,
        SEND_MORE
    }

    private long cwnd;
    private long ssthresh = Long.MAX_VALUE;
    private boolean inRecovery;
    private int recover;
    private int dupAcks;

    /** The initial window, ten segments (RFC 6928). */
    void start(int mss) {
        cwnd = 10L * mss;
    }

    long window() {
        return cwnd;
    }

    long threshold() {
        return ssthresh;
    }

    boolean inRecovery() {
        return inRecovery;
    }

    /**
     * New data up to {@code ack} was acknowledged ({@code acked} sequence numbers). Returns true when it is
     * a partial ACK during recovery: the caller retransmits the first unacknowledged segment.
     */
    boolean acknowledged(int ack, int acked, int mss) {
        dupAcks = 0;
        if (inRecovery) {
            if (SeqNum.ge(ack, recover)) {
                inRecovery = false;
                cwnd = Math.min(cwnd, Math.max(ssthresh, (long) mss));
                return false;
            }
            cwnd = Math.max(mss, cwnd - acked + mss); // deflate by what left, keep one segment for the resend
            return true;
        }
        if (cwnd < ssthresh) {
            cwnd += Math.min(acked, 2L * mss); // slow start
        } else {
            cwnd += Math.max(1L, (long) mss * mss / Math.max(1L, cwnd)); // congestion avoidance
        }
        return false;
    }

    /** A pure duplicate ACK while {@code flight} bytes are out and {@code sndMax} is the highest sent. */
    DupAckAction duplicateAck(long flight, int sndMax, int mss) {
        dupAcks++;
        if (dupAcks == 3 && !inRecovery) {
            ssthresh = Math.max(flight / 2, 2L * mss);
            cwnd = ssthresh + 3L * mss;
            inRecovery = true;
            recover = sndMax;
            return DupAckAction.FAST_RETRANSMIT;
        }
        if (dupAcks > 3 && inRecovery) {
            cwnd += mss; // each further duplicate means a segment left the network
            return DupAckAction.SEND_MORE;
        }
        return DupAckAction.NONE;
    }

    /** The retransmission timer expired with {@code flight} bytes out (RFC 5681 3.1). */
    void timeout(long flight, int mss) {
        ssthresh = Math.max(flight / 2, 2L * mss);
        cwnd = mss;
        inRecovery = false;
        dupAcks = 0;
    }
}
