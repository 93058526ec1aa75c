package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.c2w.systemtests.QemuGuest.Nic;
import dev.c2w.systemtests.StackUnderTest.Mode;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Validates the guest harness against a peer stack, gvproxy 0.8.1 (gvisor-tap-vsock),
 * in the same cases as the c2w-net test (the dial case through a {@link StreamRelay}):
 * if this passes, the harness is sound and a failure of {@link RealGuestScenarioTest}
 * points at c2w-net. Tagged "peer" (excluded by default); run it with
 * {@code mvn -pl runner -am test -Dsurefire.excludedGroups= -Dgroups=peer -Dsurefire.failIfNoSpecifiedTests=false}.
 * Skipped when the gvproxy .deb is not found in shared/peers beside the repository.
 */
@Tag("peer")
class GvproxyPeerScenarioTest {
    private static HostPeers peers;
    private static GuestImage image;
    private static Path gvproxy;

    @BeforeAll
    static void prepare() throws Exception {
        Path deb = GvproxyStack.findDeb();
        assumeTrue(deb != null, "no shared/peers/" + GvproxyStack.DEB_NAME + " beside the repository");
        String missing = GuestImage.missingPrerequisites();
        assertThat(missing).as("guest test prerequisites (see guest/README.md)").isNull();
        gvproxy = GvproxyStack.unpack(deb);
        image = GuestImage.prepare();
        peers = new HostPeers();
    }

    @AfterAll
    static void cleanUp() {
        if (peers != null) {
            peers.close();
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(Mode.DIAL, Nic.VIRTIO),
                Arguments.of(Mode.LISTEN, Nic.VIRTIO),
                Arguments.of(Mode.LISTEN, Nic.E1000));
    }

    @ParameterizedTest(name = "gvproxy {0} with {1}")
    @MethodSource("cases")
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void guestReachesHostThroughGvproxy(Mode mode, Nic nic) throws Exception {
        Path logs = Path.of("target", "guest-logs", "gvproxy");
        GvproxyStack stack = new GvproxyStack(gvproxy, logs.resolve((mode + "-" + nic).toLowerCase() + "-stack.log"));
        List<String> steps = new GuestScenario(stack, peers, image, logs).run(mode, nic);
        assertThat(steps)
                .contains("dhcp 192.168.127.2", "download 32 MiB", "upload 32 MiB", "udp echo", "connection refused");
    }
}
