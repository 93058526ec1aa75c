package dev.c2w.netstack.tcp;

/**
 * The retransmission timeout of one connection, RFC 6298.
 *
 * <p>One segment at a time is timed: {@link #startTiming} records when the byte ending at a sequence
 * number left, and the first ACK that covers it gives a sample. Karn's rule: a retransmission cancels the
 * running sample ({@link #cancelTiming}), so an ACK that may belong to either copy is never measured. The
 * timeout is SRTT + max(10 ms, 4 RTTVAR), clamped to [{@link #MIN_RTO}, {@link #MAX_RTO}], and doubles on
 * each expiry ({@link #backoff}). All times are nanoseconds from the caller's clock.
 */
final class RttEstimator {
    static final long INITIAL_RTO = 1_000_000_000L;
    static final long MIN_RTO = 200_000_000L;
    static final long MAX_RTO = 60_000_000_000L;
    private static final long MIN_VARIANCE_TERM = 10_000_000L;

    private long rto = INITIAL_RTO;
    private long srtt;
    private long rttvar;
    private boolean timing;
    private int timedSeq;
    private long timedSince;

    /** The current retransmission timeout, nanoseconds. */
    long rto() {
        return rto;
    }

    /** The smoothed round-trip time, or 0 before the first sample. */
    long srtt() {
        return srtt;
    }

    /** Starts timing the segment that ends at {@code endSeq}, unless one is timed already. */
    void startTiming(int endSeq, long now) {
        if (!timing) {
            timing = true;
            timedSeq = endSeq;
            timedSince = now;
        }
    }

    /** Karn's rule: a retransmission makes the running sample ambiguous. */
    void cancelTiming() {
        timing = false;
    }

    /** An ACK up to {@code ack} arrived at {@code now}: takes the sample if it covers the timed segment. */
    void acknowledged(int ack, long now) {
        if (timing && SeqNum.ge(ack, timedSeq)) {
            timing = false;
            sample(now - timedSince);
        }
    }

    /** A timeout expired: double the timeout (RFC 6298 5.5). */
    void backoff() {
        rto = Math.min(MAX_RTO, rto * 2);
    }

    void sample(long r) {
        if (srtt == 0) {
            srtt = r;
            rttvar = r / 2;
        } else {
            long err = r - srtt;
            srtt += err / 8;
            rttvar += (Math.abs(err) - rttvar) / 4;
        }
        rto = Math.max(MIN_RTO, Math.min(MAX_RTO, srtt + Math.max(MIN_VARIANCE_TERM, 4 * rttvar)));
    }
}
