package dev.c2w.netstack.transport.ws;

import dev.c2w.netstack.host.HostTransport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** One event loop for the class, and the test's WebSocket server closed after each test. */
abstract class WsServerTestBase {
    static HostTransport host;
    WebSocketServer server;

    @BeforeAll
    static void startHost() {
        host = HostTransport.create(1, false);
    }

    @AfterAll
    static void stopHost() {
        host.close();
    }

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }
}
