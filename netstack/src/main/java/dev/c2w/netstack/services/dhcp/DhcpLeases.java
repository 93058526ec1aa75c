package dev.c2w.netstack.services.dhcp;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The DHCP server's lease table. Not thread-safe: use it on the event loop.
 *
 * <p>The lease table of the DHCP server: which client MAC holds which address, in which state, until when.
 *
 * <p>Addresses. The static address (config.guestIp(), 192.168.127.3) belongs to exactly one MAC: the
 * configured one (config.guestMac(), --mac), or, when config.firstGuestGetsGuestIp() is set (WebSocket
 * networks: one guest per network with a random MAC), the first MAC that sends DISCOVER or REQUEST; that
 * claim lasts as long as the network. A MAC that owns the static address never gets another one. The pool
 * is every host address of the subnet except the network and broadcast addresses, the gateway, the static
 * address and the gateway's virtual IPs (proxy .253, host loopback .254): .2, .4 .. .252 on the default /24.
 *
 * <p>States. OFFERED (reserved for a short while after an OFFER), BOUND (acknowledged, until the lease
 * expires), RELEASED/EXPIRED (kept only as a memory of who had it), DECLINED (a client said the address is
 * in use on the wire: nobody gets it for one lease time). Only OFFERED, BOUND and DECLINED entries with a
 * future expiry hold their address; the others are reusable.
 *
 * <p>Choosing an address for a client (RFC 2131 §4.3.1): its static address; else the address it holds or
 * held last (records are kept after release or expiry, so a client comes back to its previous address as
 * long as nobody else needed it); else the address it asks for (option 50) if free; else the first pool
 * address never used; else the reusable record that expired longest ago, taken from its old owner.
 *
 * <p>Time is a monotonic nanosecond clock given by the server (System::nanoTime by default, injectable for
 * tests); expiry is checked lazily when a decision needs it, so no timers run. Everything runs on the
 * network's event loop: no locks. The MAC map boxes its keys, which is fine at DHCP's packet rate.
 */
public final class DhcpLeases {

    /** What a lease record means now. */
    public enum State {
        OFFERED,
        BOUND,
        RELEASED,
        EXPIRED,
        DECLINED
    }

    /** A snapshot of one record, for logs, tests and a status page. */
    public record Lease(long mac, int ip, State state, long remainingSeconds, boolean isStatic) {
        @Override
        public String toString() {
            return Ipv4Address.format(ip) + " " + (mac == MacAddress.NONE ? "-" : MacAddress.format(mac))
                    + " " + state + (isStatic ? " static" : "")
                    + (state == State.OFFERED || state == State.BOUND || state == State.DECLINED
                            ? " " + remainingSeconds + "s"
                            : "");
        }
    }

    private static final class Binding {
        long mac;
        final int ip;
        State state;
        long expiresAt;

        Binding(long mac, int ip) {
            this.mac = mac;
            this.ip = ip;
        }
    }

    /** How long an OFFER reserves its address if the client does not REQUEST it. */
    static final long OFFER_HOLD_NANOS = 60_000_000_000L;

    private final NetworkConfig config;
    private final int staticIp;
    private final boolean firstClaims;
    private long staticMac;
    private final long leaseNanos;
    private final int[] pool;
    private final Binding[] byHost;
    private final Map<Long, Binding> byMac = new HashMap<>();

    public DhcpLeases(NetworkConfig config) {
        this.config = config;
        this.staticIp = config.guestIp();
        this.firstClaims = config.firstGuestGetsGuestIp();
        this.staticMac = firstClaims ? MacAddress.NONE : config.guestMac();
        long secs = DhcpServer.leaseSeconds(config);
        this.leaseNanos = secs * 1_000_000_000L;
        int hostBits = 32 - config.prefixLength();
        // The table is indexed by host part; a subnet larger than /16 only serves its first 65536 addresses.
        int size = hostBits >= 16 ? 65536 : 1 << hostBits;
        this.byHost = new Binding[size];
        int[] p = new int[size];
        int n = 0;
        for (int h = 1; h < size; h++) {
            int ip = config.subnet() | h;
            if (ip == config.broadcastIp() || ip == staticIp || config.isGatewayAddress(ip)) {
                continue;
            }
            p[n++] = ip;
        }
        this.pool = Arrays.copyOf(p, n);
    }

    /** The MAC that owns the static address, or {@link MacAddress#NONE} while a first guest has not asked. */
    public long staticMac() {
        return staticMac;
    }

    /** In first-guest mode, gives the static address to {@code mac} if nobody has it yet. */
    void claimStatic(long mac) {
        if (firstClaims && staticMac == MacAddress.NONE) {
            staticMac = mac;
        }
    }

    private int host(int ip) {
        return ip & ~config.netmask();
    }

    private boolean isPoolAddress(int ip) {
        if (!config.inSubnet(ip)
                || ip == staticIp
                || ip == config.broadcastIp()
                || ip == config.subnet()
                || config.isGatewayAddress(ip)) {
            return false;
        }
        return host(ip) < byHost.length;
    }

    private static boolean holds(Binding b, long now) {
        return (b.state == State.BOUND || b.state == State.OFFERED || b.state == State.DECLINED)
                && b.expiresAt - now > 0;
    }

    /** Whether {@code ip} may be given to {@code mac} now (its own address, or a free pool address). */
    boolean canAssign(long mac, int ip, long now) {
        if (mac == staticMac) {
            return ip == staticIp;
        }
        if (!isPoolAddress(ip)) {
            return false;
        }
        Binding b = byHost[host(ip)];
        return b == null || (b.mac == mac && b.state != State.DECLINED) || !holds(b, now);
    }

    /** Picks the address to offer {@code mac} and reserves it, or returns 0 when the pool is exhausted. */
    int offer(long mac, int requested, boolean hasRequested, long now) {
        if (mac == staticMac) {
            Binding b = bindingFor(mac, staticIp);
            if (!holds(b, now) || b.state == State.DECLINED) {
                mark(b, State.OFFERED, now + Math.min(OFFER_HOLD_NANOS, leaseNanos));
            }
            return staticIp;
        }
        Binding mine = byMac.get(mac);
        if (mine != null && mine.state != State.DECLINED) {
            if (mine.state != State.BOUND || !holds(mine, now)) {
                mark(mine, State.OFFERED, now + Math.min(OFFER_HOLD_NANOS, leaseNanos));
            }
            return mine.ip;
        }
        int ip = 0;
        if (hasRequested && canAssign(mac, requested, now)) {
            ip = requested;
        }
        if (ip == 0) {
            for (int candidate : pool) {
                if (byHost[host(candidate)] == null) {
                    ip = candidate;
                    break;
                }
            }
        }
        if (ip == 0) {
            Binding oldest = null;
            for (int candidate : pool) {
                Binding b = byHost[host(candidate)];
                if (!holds(b, now) && (oldest == null || b.expiresAt - oldest.expiresAt < 0)) {
                    oldest = b;
                }
            }
            if (oldest == null) {
                return 0;
            }
            ip = oldest.ip;
        }
        Binding b = bindingFor(mac, ip);
        mark(b, State.OFFERED, now + Math.min(OFFER_HOLD_NANOS, leaseNanos));
        return ip;
    }

    /** Binds {@code ip} to {@code mac} for one lease time; the caller checked {@link #canAssign}. */
    void bind(long mac, int ip, long now) {
        mark(bindingFor(mac, ip), State.BOUND, now + leaseNanos);
    }

    /** The client chose another server's offer: drop our reservation (RFC 2131 §4.3.2, SELECTING). */
    void abandonOffer(long mac, long now) {
        Binding b = byMac.get(mac);
        if (b != null && b.state == State.OFFERED) {
            mark(b, State.RELEASED, now);
        }
    }

    /** DHCPRELEASE of {@code ip} by {@code mac}; returns whether it matched a lease. */
    boolean release(long mac, int ip, long now) {
        Binding b = byMac.get(mac);
        if (b == null || b.ip != ip || !(b.state == State.BOUND || b.state == State.OFFERED)) {
            return false;
        }
        mark(b, State.RELEASED, now);
        return true;
    }

    /** DHCPDECLINE: {@code ip} is in use on the wire; nobody gets it for one lease time. */
    boolean decline(long mac, int ip, long now) {
        Binding b = byMac.get(mac);
        if (b == null || b.ip != ip) {
            return false;
        }
        byMac.remove(mac);
        if (ip != staticIp) {
            b.mac = MacAddress.NONE;
        }
        mark(b, State.DECLINED, now + leaseNanos);
        return true;
    }

    /** The record of {@code mac} at {@code ip}, taking the address from its previous owner and forgetting
     *  the MAC's record of another address. */
    private Binding bindingFor(long mac, int ip) {
        Binding mine = byMac.get(mac);
        if (mine != null && mine.ip == ip && mine.state != State.DECLINED) {
            return mine;
        }
        if (mine != null && byHost[host(mine.ip)] == mine && mine.state != State.DECLINED) {
            byHost[host(mine.ip)] = null;
        }
        Binding old = byHost[host(ip)];
        if (old != null && byMac.get(old.mac) == old) {
            byMac.remove(old.mac);
        }
        Binding b = new Binding(mac, ip);
        b.state = State.RELEASED;
        byHost[host(ip)] = b;
        byMac.put(mac, b);
        return b;
    }

    private static void mark(Binding b, State s, long expiresAt) {
        b.state = s;
        b.expiresAt = expiresAt;
    }

    /** The current records, in address order, with expired ones shown as EXPIRED. */
    public List<Lease> leases(long now) {
        List<Lease> out = new ArrayList<>();
        for (Binding b : byHost) {
            if (b == null) {
                continue;
            }
            State s = b.state;
            long remaining = (b.expiresAt - now) / 1_000_000_000L;
            if ((s == State.BOUND || s == State.OFFERED || s == State.DECLINED) && b.expiresAt - now <= 0) {
                s = s == State.BOUND ? State.EXPIRED : State.RELEASED;
                remaining = 0;
            }
            if (s == State.RELEASED || s == State.EXPIRED) {
                remaining = 0;
            }
            out.add(new Lease(b.mac, b.ip, s, remaining, b.ip == staticIp));
        }
        return out;
    }

    /** The address {@code mac} holds now (offered or bound), or 0. */
    int addressOf(long mac, long now) {
        Binding b = byMac.get(mac);
        return b != null && holds(b, now) && b.state != State.DECLINED ? b.ip : 0;
    }

    /** Forgets every lease (the network is closing). The first-guest claim is kept: it is the network's. */
    void clear() {
        byMac.clear();
        Arrays.fill(byHost, null);
    }
}
