package dev.c2w.proxy;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * An AddressResolverGroup whose lookups run on a blocking executor.
 *
 * <p>Name resolution for upstream connections that never blocks an event loop: IP literals are parsed in place,
 * names go to a lookup function run on a separate executor, and the answer comes back as a Netty promise.
 * The default lookup is the JDK's (InetAddress.getAllByName); tests and the netstack can pass their own
 * (a fixed table, or the virtual network's DNS configuration), so tests never touch the system resolver.
 */
public final class OffloadedResolverGroup extends AddressResolverGroup<InetSocketAddress> {
    /** A blocking name lookup; throws UnknownHostException when the name has no address. */
    @FunctionalInterface
    public interface Lookup {
        InetAddress[] lookup(String host) throws UnknownHostException;
    }

    private final Executor executor;
    private final Lookup lookup;

    public OffloadedResolverGroup(Executor executor, Lookup lookup) {
        this.executor = executor;
        this.lookup = lookup;
    }

    /** The JDK resolver, run on {@code executor}. */
    public static OffloadedResolverGroup system(Executor executor) {
        return new OffloadedResolverGroup(executor, InetAddress::getAllByName);
    }

    /** A fixed table (names in lower case); other names fail with UnknownHostException. */
    public static OffloadedResolverGroup fixed(Executor executor, Map<String, InetAddress> table) {
        return new OffloadedResolverGroup(executor, host -> {
            InetAddress a = table.get(HostPolicy.canonical(host));
            if (a == null) {
                throw new UnknownHostException(host + ": not in the proxy's host table");
            }
            return new InetAddress[] {a};
        });
    }

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor loop) {
        return new InetNameResolver(loop) {
            @Override
            protected void doResolve(String host, Promise<InetAddress> promise) {
                lookupInto(host, promise, true);
            }

            @Override
            protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
                lookupInto(host, promise, false);
            }
        }.asAddressResolver();
    }

    @SuppressWarnings("unchecked")
    private void lookupInto(String host, Promise<?> promise, boolean one) {
        InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
        if (literal != null) {
            complete(promise, new InetAddress[] {literal}, one);
            return;
        }
        try {
            executor.execute(() -> {
                try {
                    InetAddress[] all = lookup.lookup(host);
                    if (all == null || all.length == 0) {
                        throw new UnknownHostException(host);
                    }
                    complete(promise, all, one);
                } catch (Throwable t) {
                    promise.tryFailure(t);
                }
            });
        } catch (RejectedExecutionException e) {
            promise.tryFailure(e);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void complete(Promise promise, InetAddress[] all, boolean one) {
        if (one) {
            promise.trySuccess(all[0]);
        } else {
            promise.trySuccess(Arrays.asList(all));
        }
    }
}
