package dev.c2w.netstack;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A network with default addresses and one simulated guest at 192.168.127.3, for frame-level tests. */
public abstract class NetworkTestBase {
    public static final int GW = Ipv4Address.parse("192.168.127.1");
    public static final int HOSTLO = Ipv4Address.parse("192.168.127.254");
    public static final int GUEST = Ipv4Address.parse("192.168.127.3");
    public static final long GUEST_MAC = MacAddress.parse("02:00:00:00:00:01");

    public HostTransport host;
    public VirtualNetwork net;
    public TestGuest guest;

    @BeforeEach
    public void startNetwork() throws Exception {
        host = HostTransport.create();
        useNetwork(NetworkConfig.builder().build());
    }

    /** Replaces the network (and guest) with one built from {@code config}. */
    public void useNetwork(NetworkConfig config) throws Exception {
        if (net != null) {
            net.close();
        }
        net = VirtualNetwork.create(config, host, null);
        guest = new TestGuest(net, GUEST_MAC, GUEST);
    }

    @AfterEach
    public void stopNetwork() {
        net.close();
        host.close();
    }
}
