package dev.c2w.netstack.config;

import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.channel.ChannelHandler;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One object that describes a whole virtual network: addresses, services, limits and forwards.
 * A {@code VirtualNetwork} is built from it; WebSocket mode builds one network per connection
 * from the same config. Immutable; make one with {@link #builder()}. Defaults are upstream c2w-net's.
 */
public final class NetworkConfig {

    /** What guests may do beyond DHCP, DNS and the in-network services. */
    public enum NetMode {
        /** Full NAT of TCP and UDP to the host (default). */
        FULL,
        /** HTTP/HTTPS through the proxy only: other guest flows are refused. */
        FETCH
    }

    /** An in-process TCP service inside the network, e.g. the HTTP proxy on 192.168.127.253:80. */
    public record TcpService(int ip, int port, ChannelHandler handler) {}

    /** A host-to-guest port forward ({@code -p}). */
    public record PortForward(boolean udp, String hostAddress, int hostPort, int guestPort) {
        @Override
        public String toString() {
            return (udp ? "udp:" : "") + hostAddress + ":" + hostPort + "->guest:" + guestPort;
        }
    }

    public static final int DEFAULT_SUBNET = Ipv4Address.of(192, 168, 127, 0);
    public static final int DEFAULT_GATEWAY = Ipv4Address.of(192, 168, 127, 1);
    public static final int DEFAULT_GUEST = Ipv4Address.of(192, 168, 127, 3);
    public static final int DEFAULT_PROXY_IP = Ipv4Address.of(192, 168, 127, 253);
    public static final int DEFAULT_HOST_LOOPBACK_IP = Ipv4Address.of(192, 168, 127, 254);
    public static final long DEFAULT_GATEWAY_MAC = MacAddress.parse("5a:94:ef:e4:0c:dd");
    public static final long DEFAULT_GUEST_MAC = MacAddress.parse("02:00:00:00:00:01");

    private final int subnet;
    private final int prefixLength;
    private final int gatewayIp;
    private final long gatewayMac;
    private final int guestIp;
    private final long guestMac;
    private final boolean firstGuestGetsGuestIp;
    private final int proxyIp;
    private final int hostLoopbackIp;
    private final int mtu;
    private final List<InetSocketAddress> dnsUpstreams;
    private final Duration dnsTimeout;
    private final Duration leaseTime;
    private final int maxFrameSize;
    private final int maxTcpFlows;
    private final int maxUdpFlows;
    private final Duration udpIdleTimeout;
    private final Duration tcpConnectTimeout;
    private final int fragmentMemoryCap;
    private final List<PortForward> forwards;
    private final NetMode netMode;
    private final boolean debug;
    private final Path pcapFile;
    private final List<TcpService> tcpServices;

    private NetworkConfig(Builder b) {
        this.subnet = b.subnet;
        this.prefixLength = b.prefixLength;
        this.gatewayIp = b.gatewayIp;
        this.gatewayMac = b.gatewayMac;
        this.guestIp = b.guestIp;
        this.guestMac = b.guestMac;
        this.firstGuestGetsGuestIp = b.firstGuestGetsGuestIp;
        this.proxyIp = b.proxyIp;
        this.hostLoopbackIp = b.hostLoopbackIp;
        this.mtu = b.mtu;
        this.dnsUpstreams = List.copyOf(b.dnsUpstreams);
        this.dnsTimeout = b.dnsTimeout;
        this.leaseTime = b.leaseTime;
        this.maxFrameSize = b.maxFrameSize;
        this.maxTcpFlows = b.maxTcpFlows;
        this.maxUdpFlows = b.maxUdpFlows;
        this.udpIdleTimeout = b.udpIdleTimeout;
        this.tcpConnectTimeout = b.tcpConnectTimeout;
        this.fragmentMemoryCap = b.fragmentMemoryCap;
        this.forwards = List.copyOf(b.forwards);
        this.netMode = b.netMode;
        this.debug = b.debug;
        this.pcapFile = b.pcapFile;
        this.tcpServices = List.copyOf(b.tcpServices);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.subnet = subnet;
        b.prefixLength = prefixLength;
        b.gatewayIp = gatewayIp;
        b.gatewayMac = gatewayMac;
        b.guestIp = guestIp;
        b.guestMac = guestMac;
        b.firstGuestGetsGuestIp = firstGuestGetsGuestIp;
        b.proxyIp = proxyIp;
        b.hostLoopbackIp = hostLoopbackIp;
        b.mtu = mtu;
        b.dnsUpstreams = new ArrayList<>(dnsUpstreams);
        b.dnsTimeout = dnsTimeout;
        b.leaseTime = leaseTime;
        b.maxFrameSize = maxFrameSize;
        b.maxTcpFlows = maxTcpFlows;
        b.maxUdpFlows = maxUdpFlows;
        b.udpIdleTimeout = udpIdleTimeout;
        b.tcpConnectTimeout = tcpConnectTimeout;
        b.fragmentMemoryCap = fragmentMemoryCap;
        b.forwards = new ArrayList<>(forwards);
        b.netMode = netMode;
        b.debug = debug;
        b.pcapFile = pcapFile;
        b.tcpServices = new ArrayList<>(tcpServices);
        return b;
    }

    /** Network address of the guest subnet (192.168.127.0). */
    public int subnet() {
        return subnet;
    }

    public int prefixLength() {
        return prefixLength;
    }

    public int netmask() {
        return Ipv4Address.mask(prefixLength);
    }

    public int broadcastIp() {
        return subnet | ~netmask();
    }

    public boolean inSubnet(int ip) {
        return (ip & netmask()) == subnet;
    }
    /** The gateway: DHCP server, DNS server, router (192.168.127.1). */
    public int gatewayIp() {
        return gatewayIp;
    }

    public long gatewayMac() {
        return gatewayMac;
    }
    /** The address of the static lease (192.168.127.3). */
    public int guestIp() {
        return guestIp;
    }
    /** The MAC that gets {@link #guestIp()} by static lease ({@code --mac}). */
    public long guestMac() {
        return guestMac;
    }
    /** When true, the first DHCP client gets {@link #guestIp()} whatever its MAC (WebSocket networks). */
    public boolean firstGuestGetsGuestIp() {
        return firstGuestGetsGuestIp;
    }
    /** Virtual IP of the in-network HTTP proxy (192.168.127.253). */
    public int proxyIp() {
        return proxyIp;
    }
    /** Virtual IP that means the host's 127.0.0.1 (192.168.127.254). */
    public int hostLoopbackIp() {
        return hostLoopbackIp;
    }
    /** IP MTU of the guest link (1500). */
    public int mtu() {
        return mtu;
    }

    public List<InetSocketAddress> dnsUpstreams() {
        return dnsUpstreams;
    }
    /** How long one DNS query may wait on upstreams before the guest gets SERVFAIL. */
    public Duration dnsTimeout() {
        return dnsTimeout;
    }

    public Duration leaseTime() {
        return leaseTime;
    }
    /** Largest Ethernet frame accepted from a guest stream (128 KiB). */
    public int maxFrameSize() {
        return maxFrameSize;
    }

    public int maxTcpFlows() {
        return maxTcpFlows;
    }

    public int maxUdpFlows() {
        return maxUdpFlows;
    }

    public Duration udpIdleTimeout() {
        return udpIdleTimeout;
    }

    public Duration tcpConnectTimeout() {
        return tcpConnectTimeout;
    }
    /** Bytes that IPv4 fragment reassembly may hold at once. */
    public int fragmentMemoryCap() {
        return fragmentMemoryCap;
    }

    public List<PortForward> forwards() {
        return forwards;
    }

    public NetMode netMode() {
        return netMode;
    }

    public boolean debug() {
        return debug;
    }
    /** Where to write a pcap of every frame, or null. */
    public Path pcapFile() {
        return pcapFile;
    }
    /** In-process TCP services every network built from this config listens with (handlers must be sharable). */
    public List<TcpService> tcpServices() {
        return tcpServices;
    }

    /** The gateway's own address or one of the virtual IPs it answers ARP and ICMP for. */
    public boolean isGatewayAddress(int ip) {
        return ip == gatewayIp || ip == proxyIp || ip == hostLoopbackIp;
    }

    public static final class Builder {
        private int subnet = DEFAULT_SUBNET;
        private int prefixLength = 24;
        private int gatewayIp = DEFAULT_GATEWAY;
        private long gatewayMac = DEFAULT_GATEWAY_MAC;
        private int guestIp = DEFAULT_GUEST;
        private long guestMac = DEFAULT_GUEST_MAC;
        private boolean firstGuestGetsGuestIp;
        private int proxyIp = DEFAULT_PROXY_IP;
        private int hostLoopbackIp = DEFAULT_HOST_LOOPBACK_IP;
        private int mtu = 1500;
        private List<InetSocketAddress> dnsUpstreams = new ArrayList<>();
        private Duration dnsTimeout = Duration.ofSeconds(4);
        private Duration leaseTime = Duration.ofHours(1);
        private int maxFrameSize = 128 * 1024;
        private int maxTcpFlows = 4096;
        private int maxUdpFlows = 1024;
        private Duration udpIdleTimeout = Duration.ofSeconds(90);
        private Duration tcpConnectTimeout = Duration.ofSeconds(10);
        private int fragmentMemoryCap = 4 * 1024 * 1024;
        private List<PortForward> forwards = new ArrayList<>();
        private NetMode netMode = NetMode.FULL;
        private boolean debug;
        private Path pcapFile;
        private List<TcpService> tcpServices = new ArrayList<>();

        public Builder addTcpService(int ip, int port, ChannelHandler handler) {
            this.tcpServices.add(new TcpService(ip, port, handler));
            return this;
        }

        public Builder guestMac(long mac) {
            this.guestMac = mac;
            return this;
        }

        public Builder firstGuestGetsGuestIp(boolean v) {
            this.firstGuestGetsGuestIp = v;
            return this;
        }

        public Builder mtu(int mtu) {
            if (mtu < 576 || mtu > 65520) {
                throw new IllegalArgumentException("MTU must be between 576 and 65520, got " + mtu);
            }
            this.mtu = mtu;
            return this;
        }

        public Builder dnsUpstreams(List<InetSocketAddress> upstreams) {
            this.dnsUpstreams = new ArrayList<>(upstreams);
            return this;
        }

        public Builder dnsTimeout(Duration d) {
            this.dnsTimeout = Objects.requireNonNull(d);
            return this;
        }

        public Builder leaseTime(Duration d) {
            this.leaseTime = Objects.requireNonNull(d);
            return this;
        }

        public Builder maxFrameSize(int n) {
            this.maxFrameSize = n;
            return this;
        }

        public Builder maxTcpFlows(int n) {
            this.maxTcpFlows = n;
            return this;
        }

        public Builder maxUdpFlows(int n) {
            this.maxUdpFlows = n;
            return this;
        }

        public Builder udpIdleTimeout(Duration d) {
            this.udpIdleTimeout = Objects.requireNonNull(d);
            return this;
        }

        public Builder tcpConnectTimeout(Duration d) {
            this.tcpConnectTimeout = Objects.requireNonNull(d);
            return this;
        }

        public Builder fragmentMemoryCap(int n) {
            this.fragmentMemoryCap = n;
            return this;
        }

        public Builder forwards(List<PortForward> f) {
            this.forwards = new ArrayList<>(f);
            return this;
        }

        public Builder addForward(PortForward f) {
            this.forwards.add(f);
            return this;
        }

        public Builder netMode(NetMode m) {
            this.netMode = Objects.requireNonNull(m);
            return this;
        }

        public Builder debug(boolean d) {
            this.debug = d;
            return this;
        }

        public Builder pcapFile(Path p) {
            this.pcapFile = p;
            return this;
        }

        public NetworkConfig build() {
            return new NetworkConfig(this);
        }
    }
}
