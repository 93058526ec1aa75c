package dev.c2w.cli;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.wire.Ipv4Address;
import io.netty.channel.EventLoop;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetSocketAddressResolver;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.SimpleNameResolver;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Upstream name resolution for the proxy.
 *
 * <p>How the HTTP proxy resolves the hosts a guest asks for: the way the guest itself would.
 * Names go to the same DNS upstreams as the guest's queries (--dns-upstream, else /etc/resolv.conf),
 * with no search domains. Then the guest network's address plan applies to every result and literal:
 * 192.168.127.254 means the host's 127.0.0.1; other addresses of the guest subnet are not reachable
 * from the host and are refused, so the proxy never sends traffic to a private network by accident.
 */
final class GuestViewResolverGroup extends AddressResolverGroup<InetSocketAddress> {
    private final NetworkConfig config;
    private final HostTransport host;

    GuestViewResolverGroup(NetworkConfig config, HostTransport host) {
        this.config = config;
        this.host = host;
    }

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
        if (!(executor instanceof EventLoop loop)) {
            throw new IllegalStateException("the proxy resolver needs an event loop, got " + executor);
        }
        DnsNameResolverBuilder b = new DnsNameResolverBuilder(loop)
                .datagramChannelType(host.datagramChannel())
                .socketChannelType(host.socketChannel())
                .searchDomains(List.of())
                .resolvedAddressTypes(ResolvedAddressTypes.IPV4_PREFERRED);
        if (!config.dnsUpstreams().isEmpty()) {
            b.nameServerProvider(new SequentialDnsServerAddressStreamProvider(config.dnsUpstreams()));
        } else {
            b.nameServerProvider(DnsServerAddressStreamProviders.platformDefault());
        }
        return new InetSocketAddressResolver(executor, new Mapping(executor, b.build()));
    }

    /** Applies the guest network's address plan to literals and resolved addresses. */
    private final class Mapping extends SimpleNameResolver<InetAddress> {
        private final DnsNameResolver dns;

        Mapping(EventExecutor executor, DnsNameResolver dns) {
            super(executor);
            this.dns = dns;
        }

        @Override
        protected void doResolve(String name, Promise<InetAddress> promise) {
            if (NetUtil.isValidIpV4Address(name) || NetUtil.isValidIpV6Address(name)) {
                map(name, NetUtil.createInetAddressFromIpAddressString(name), promise);
                return;
            }
            dns.resolve(name).addListener((Future<InetAddress> f) -> {
                if (f.isSuccess()) {
                    map(name, f.getNow(), promise);
                } else {
                    promise.tryFailure(f.cause());
                }
            });
        }

        @Override
        protected void doResolveAll(String name, Promise<List<InetAddress>> promise) {
            Promise<InetAddress> one = executor().newPromise();
            one.addListener((Future<InetAddress> f) -> {
                if (f.isSuccess()) {
                    List<InetAddress> l = new ArrayList<>(1);
                    l.add(f.getNow());
                    promise.trySuccess(l);
                } else {
                    promise.tryFailure(f.cause());
                }
            });
            doResolve(name, one);
        }

        private void map(String name, InetAddress a, Promise<InetAddress> promise) {
            if (a.getAddress().length == 4) {
                int ip = Ipv4Address.fromInet(a);
                if (ip == config.hostLoopbackIp()) {
                    promise.trySuccess(InetAddress.getLoopbackAddress());
                    return;
                }
                if (config.inSubnet(ip)) {
                    promise.tryFailure(new UnknownHostException(name + " is " + a.getHostAddress()
                            + ", an address inside the guest network that the host cannot reach"));
                    return;
                }
            }
            promise.trySuccess(a);
        }

        @Override
        public void close() {
            dns.close();
        }
    }
}
