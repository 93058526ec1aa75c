package dev.c2w.netstack.tcp;

/**
 * The states of a {@link TcpSocket}: RFC 9293's, plus {@link #SYN_PENDING} for a guest SYN that waits for
 * its fate (the NAT connects to the host first and then accepts or refuses). LISTEN is not a state of a
 * socket here: listening is a table in {@link TcpStack}.
 */
public enum TcpState {
    /** A guest SYN was received; nothing was answered yet (the NAT is connecting to the host). */
    SYN_PENDING,
    /** We sent a SYN to the guest (a port forward) and wait for its SYN-ACK. */
    SYN_SENT,
    /** We answered the guest's SYN with a SYN-ACK and wait for its ACK. */
    SYN_RECEIVED,
    ESTABLISHED,
    /** We sent FIN; the guest has not acknowledged it. */
    FIN_WAIT_1,
    /** Our FIN is acknowledged; waiting for the guest's FIN. */
    FIN_WAIT_2,
    /** The guest sent FIN; we may still send. */
    CLOSE_WAIT,
    /** Both sides sent FIN at once; waiting for the ACK of ours. */
    CLOSING,
    /** The guest closed first, then we sent FIN; waiting for its ACK. */
    LAST_ACK,
    /** Both FINs are acknowledged; the socket answers retransmitted FINs until the quiet time ends. */
    TIME_WAIT,
    /** The control block is freed. */
    CLOSED;

    /** Whether new data and a FIN may be sent in this state. */
    boolean sends() {
        return this == ESTABLISHED || this == CLOSE_WAIT || this == FIN_WAIT_1 || this == LAST_ACK || this == CLOSING;
    }

    /** Whether payload from the guest is taken in this state (it has not sent its FIN yet). */
    boolean receives() {
        return this == ESTABLISHED || this == FIN_WAIT_1 || this == FIN_WAIT_2;
    }

    /** Whether the handshake completed and the socket was not freed (the channel is active). */
    boolean synchronizedState() {
        return compareTo(ESTABLISHED) >= 0 && this != CLOSED;
    }
}
