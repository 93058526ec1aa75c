package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The guest image and the host-side peers, prepared once per test class that boots QEMU guests. */
abstract class GuestTestBase {
    static HostPeers peers;
    static GuestImage image;

    @BeforeAll
    static void prepareGuest() throws Exception {
        String missing = GuestImage.missingPrerequisites();
        assertThat(missing).as("guest test prerequisites (see guest/README.md)").isNull();
        image = GuestImage.prepare();
        peers = new HostPeers();
    }

    @AfterAll
    static void closePeers() {
        if (peers != null) {
            peers.close();
            peers = null;
        }
    }
}
