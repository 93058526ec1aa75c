package dev.c2w.netstack.services.dns;

import dev.c2w.netstack.services.UdpContext;
import dev.c2w.netstack.services.UdpEndpoint;
import io.netty.buffer.ByteBuf;

/**
 * The UDP side of the DNS forwarder.
 *
 * <p>DNS over UDP on 192.168.127.1:53: the gateway hands each guest datagram to this endpoint, which passes
 * it to the network's DnsForwarder and sends the answer back from the address and port the guest asked
 * (so a guest that sent to the gateway gets the answer from the gateway's port 53, as resolvers check).
 * The forwarder validates and counts; this class only adapts the UdpEndpoint interface to it.
 *
 * <p>The forwarder is created on the first datagram from the UdpContext (which is the network's and never
 * changes), unless one was given to share with the TCP side. close() closes the forwarder it created
 * or was given: the network closes both sides at once.
 */
public final class DnsUdpEndpoint implements UdpEndpoint, DnsForwarder.Client {
    public static final int PORT = 53;

    private DnsForwarder forwarder;
    private UdpContext ctx;

    /** An endpoint that makes its forwarder from the context of the first datagram. */
    public DnsUdpEndpoint() {}

    /** An endpoint that uses {@code forwarder} (shared with {@link DnsTcpHandler}s). */
    public DnsUdpEndpoint(DnsForwarder forwarder) {
        this.forwarder = forwarder;
    }

    /** The forwarder, or null before the first datagram when none was given. */
    public DnsForwarder forwarder() {
        return forwarder;
    }

    @Override
    public void onDatagram(
            UdpContext ctx, long srcMac, int srcIp, int srcPort, int dstIp, int dstPort, ByteBuf payload) {
        this.ctx = ctx;
        if (forwarder == null) {
            forwarder = DnsForwarder.create(ctx);
        }
        forwarder.query(payload, false, this, srcMac, srcIp, srcPort, dstIp);
    }

    @Override
    public void answer(ByteBuf response, long mac, int ip, int port, int localIp) {
        ctx.sendToGuest(localIp, PORT, ip, port, mac, response);
    }

    @Override
    public void close() {
        if (forwarder != null) {
            forwarder.close();
        }
    }
}
