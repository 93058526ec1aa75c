package dev.c2w.netstack;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A network with default addresses and one simulated guest at 192.168.127.3, for frame-level tests. */
abstract class NetworkTestBase {
    static final int GW = Ipv4Address.parse("192.168.127.1");
    static final int HOSTLO = Ipv4Address.parse("192.168.127.254");
    static final int GUEST = Ipv4Address.parse("192.168.127.3");
    static final long GUEST_MAC = MacAddress.parse("02:00:00:00:00:01");

    HostTransport host;
    VirtualNetwork net;
    TestGuest guest;

    @BeforeEach
    void startNetwork() throws Exception {
        host = HostTransport.create();
        useNetwork(NetworkConfig.builder().build());
    }

    /** Replaces the network (and guest) with one built from {@code config}. */
    void useNetwork(NetworkConfig config) throws Exception {
        if (net != null) {
            net.close();
        }
        net = VirtualNetwork.create(config, host, null);
        guest = new TestGuest(net, GUEST_MAC, GUEST);
    }

    @AfterEach
    void stopNetwork() {
        net.close();
        host.close();
    }
}
