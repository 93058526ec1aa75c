package dev.c2w.netstack.transport.ws;

import dev.c2w.netstack.host.HostTransport;
import org.junit.jupiter.api.BeforeAll;

/**
 * Every WebSocketServerTest again with two event loops, so that a connection's channel and its network
 * usually sit on different loops and frames hop between them (WsGuestLink's cross-thread path).
 */
class WebSocketServerTwoLoopsTest extends WebSocketServerTest {
    @BeforeAll
    static void startHost() {
        host = HostTransport.create(2, false);
    }
}
