package dev.c2w.netstack;

import java.net.InetSocketAddress;
import java.util.List;

/** Installs the gateway's standard services (DHCP, DNS) on a network. */
public final class Services {
    private Services() {}

    public static void install(VirtualNetwork net) {
    }

    public static List<InetSocketAddress> systemResolvers() {
        return List.of();
    }
}
