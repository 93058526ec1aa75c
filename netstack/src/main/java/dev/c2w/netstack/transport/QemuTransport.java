package dev.c2w.netstack.transport;

import dev.c2w.netstack.VirtualNetwork;
import dev.c2w.netstack.addr.HostPort;
import dev.c2w.netstack.addr.StreamAddress;
import dev.c2w.netstack.link.QemuFrameDecoder;
import dev.c2w.netstack.link.QemuFrameEncoder;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Dial and listen for QEMU-stream guests.
 *
 * <p>QEMU stream transports. Dial: connect to a guest runtime that listens (upstream c2w-net's default:
 * wasmtime's --tcplisten, or QEMU -netdev stream,server=on). Listen: accept guests that connect
 * (QEMU -netdev stream,server=off), on TCP (tcp://HOST:PORT) or a UNIX stream socket (unix:///PATH);
 * every accepted connection is a port on the same network, as upstream's switch does.
 * Each connection's pipeline: QemuFrameDecoder (length cap; its receive allocator reads into frames that
 * span reads) -> GuestLink, with QemuFrameEncoder outbound.
 */
public final class QemuTransport {
    private QemuTransport() {}

    /** {@link #parseAddress(String, String)} with "address" as the name in messages. */
    public static SocketAddress parseAddress(String spec) {
        return parseAddress(spec, "address");
    }

    /**
     * Parses {@code tcp://HOST:PORT}, {@code unix://PATH} or a bare {@code HOST:PORT} by the rules of
     * {@link StreamAddress} and {@link HostPort}: IPv6 in brackets ({@code [::1]:1234}), {@code :PORT} is
     * 0.0.0.0, the port is 1-65535 and always written. {@code what} names the flag in messages.
     */
    public static SocketAddress parseAddress(String spec, String what) {
        StreamAddress a = StreamAddress.parse(spec, HostPort.syntax(what).withBarePort(HostPort.BarePort.COLON_PORT));
        if (a instanceof StreamAddress.Unix u) {
            return new DomainSocketAddress(u.path());
        }
        return ((StreamAddress.Tcp) a).hostPort().orHost("0.0.0.0").toInetSocketAddress();
    }

    static ChannelInitializer<Channel> initializer(VirtualNetwork net) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                // TCP stops sending new data above the high mark and resumes below the low one
                ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(512 * 1024, 1024 * 1024));
                ch.pipeline().addLast(QemuFrameEncoder.INSTANCE);
                QemuFrameDecoder decoder = new QemuFrameDecoder(net.config().maxFrameSize());
                ch.config().setRecvByteBufAllocator(decoder.recvAllocator()); // reads go into cut frames directly
                ch.pipeline().addLast(decoder);
                ch.pipeline().addLast(new GuestLink(c -> net));
            }
        };
    }

    /** Connects to a guest that listens. The returned future completes when connected (or fails). */
    public static ChannelFuture dial(VirtualNetwork net, SocketAddress address) {
        Bootstrap b = new Bootstrap()
                .group(net.eventLoop())
                .channel(
                        address instanceof DomainSocketAddress
                                ? net.host().domainSocketChannel()
                                : net.host().socketChannel())
                .handler(initializer(net));
        if (!(address instanceof DomainSocketAddress)) {
            b.option(ChannelOption.TCP_NODELAY, true);
        }
        SocketAddress a = address;
        if (a instanceof DomainSocketAddress d && !net.host().isEpoll()) {
            a = UnixDomainSocketAddress.of(d.path());
        }
        return b.connect(a);
    }

    /** Listens for guests that connect; each connection joins {@code net}. */
    public static ChannelFuture listen(VirtualNetwork net, SocketAddress address) throws IOException {
        SocketAddress a = address;
        boolean unix = address instanceof DomainSocketAddress;
        if (unix) {
            Path p = Path.of(((DomainSocketAddress) address).path());
            Files.deleteIfExists(p);
            if (!net.host().isEpoll()) {
                a = UnixDomainSocketAddress.of(p);
            }
        }
        ServerBootstrap b = new ServerBootstrap()
                .group(net.eventLoop(), net.eventLoop())
                .channel(
                        unix
                                ? net.host().serverDomainSocketChannel()
                                : net.host().serverSocketChannel())
                .childHandler(initializer(net));
        if (!unix) {
            b.childOption(ChannelOption.TCP_NODELAY, true);
            b.option(ChannelOption.SO_REUSEADDR, true);
        }
        return b.bind(a);
    }

    /** For messages: a URI-ish rendering of an address. */
    public static String format(SocketAddress a) {
        if (a instanceof DomainSocketAddress d) {
            return "unix://" + d.path();
        }
        if (a instanceof InetSocketAddress i) {
            return "tcp://" + i.getHostString() + ":" + i.getPort();
        }
        return String.valueOf(a);
    }
}
