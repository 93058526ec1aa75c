package dev.c2w.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.systemtests.QemuGuest.Nic;
import dev.c2w.systemtests.StackUnderTest.Mode;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 2: a real Linux guest (Debian kernel, busybox initramfs) under QEMU TCG reaches
 * the world through c2w-net, with c2w-net dialing QEMU and listening for it, on
 * virtio-net and on e1000 (which pads short frames). See README.md beside this class.
 */
@Tag("guest")
class RealGuestScenarioTest extends GuestTestBase {
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(Mode.DIAL, Nic.VIRTIO),
                Arguments.of(Mode.LISTEN, Nic.VIRTIO),
                Arguments.of(Mode.LISTEN, Nic.E1000));
    }

    @ParameterizedTest(name = "c2w-net {0} with {1}")
    @MethodSource("cases")
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void guestReachesHostThroughC2wNet(Mode mode, Nic nic) throws Exception {
        Path logs = Path.of("target", "guest-logs", "c2w-net");
        C2wNetStack stack = new C2wNetStack(logs.resolve((mode + "-" + nic).toLowerCase() + "-stack.log"));
        List<String> steps = new GuestScenario(stack, peers, image, logs).run(mode, nic);
        assertThat(steps)
                .contains(
                        "dhcp 192.168.127.3",
                        "dns",
                        "download 32 MiB",
                        "upload 32 MiB",
                        "port forward to guest httpd",
                        "udp echo",
                        "connection refused");
    }
}
