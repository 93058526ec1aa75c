package dev.c2w.netstack.nat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.wire.Ipv4Address;
import org.junit.jupiter.api.Test;

class EgressPolicyTest {
    private final EgressPolicy full = new EgressPolicy(NetworkConfig.builder().build());

    private int target(EgressPolicy p, String ip) {
        return p.hostTarget(Ipv4Address.parse(ip));
    }

    @Test
    void theHostLoopbackAddressMapsTo127001() {
        assertThat(target(full, "192.168.127.254")).isEqualTo(Ipv4Address.parse("127.0.0.1"));
    }

    @Test
    void publicAndPrivateAddressesOutsideTheLanAreThemselves() {
        assertThat(target(full, "203.0.113.7")).isEqualTo(Ipv4Address.parse("203.0.113.7"));
        assertThat(target(full, "10.1.2.3")).isEqualTo(Ipv4Address.parse("10.1.2.3"));
    }

    @Test
    void lanLoopbackLinkLocalMulticastAndZeroAreRefused() {
        for (String ip : new String[] {
            "192.168.127.1",
            "192.168.127.9",
            "127.0.0.1",
            "127.8.8.8",
            "169.254.1.1",
            "224.0.0.251",
            "255.255.255.255",
            "0.0.0.0"
        }) {
            assertThat(target(full, ip)).as(ip).isZero();
        }
    }

    @Test
    void fetchModeRefusesEverything() {
        EgressPolicy fetch = new EgressPolicy(
                NetworkConfig.builder().netMode(NetworkConfig.NetMode.FETCH).build());
        assertThat(target(fetch, "203.0.113.7")).isZero();
        assertThat(target(fetch, "192.168.127.254")).isZero();
    }
}
