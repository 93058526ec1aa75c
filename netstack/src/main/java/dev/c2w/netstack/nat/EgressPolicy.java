package dev.c2w.netstack.nat;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.wire.Ipv4Address;

/**
 * Where a guest may reach through the NAT, decided once for TCP and UDP alike: 192.168.127.254 is the host's
 * 127.0.0.1; any other public or private IPv4 address is itself. Refused: every other address of the LAN,
 * the host's own loopback 127/8 written directly, link-local 169.254/16, multicast and reserved 224/3,
 * 0.0.0.0, and, in fetch mode, everything (the guest gets HTTP through the proxy only). A refused TCP
 * connection gets RST, a refused UDP datagram ICMP port unreachable.
 */
public final class EgressPolicy {
    private static final int HOST_LOOPBACK = Ipv4Address.of(127, 0, 0, 1);

    private final NetworkConfig config;

    public EgressPolicy(NetworkConfig config) {
        this.config = config;
    }

    /** The host address a guest destination maps to, or 0 when the destination is refused. */
    public int hostTarget(int dstIp) {
        if (config.netMode() == NetworkConfig.NetMode.FETCH) {
            return 0;
        }
        if (dstIp == config.hostLoopbackIp()) {
            return HOST_LOOPBACK;
        }
        if (config.inSubnet(dstIp)
                || (dstIp >>> 16) == 0xa9fe
                || (dstIp >>> 28) >= 0xe
                || dstIp == 0
                || (dstIp >>> 24) == 127) {
            return 0;
        }
        return dstIp;
    }
}
