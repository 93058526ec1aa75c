package dev.c2w.netstack.services.dhcp;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.services.UdpContext;
import dev.c2w.netstack.services.UdpEndpoint;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The DHCP server of one virtual network.
 *
 * <p>The gateway's DHCP server (RFC 2131), a UdpEndpoint the gateway calls for UDP to port 67 on the gateway
 * address or 255.255.255.255. It is the only server on the virtual LAN, so it behaves as an authoritative one.
 *
 * <pre>
 * Messages (RFC 2131 §4.3):
 * - DISCOVER: pick an address (see DhcpLeases), reserve it, send OFFER. No reply when the pool is exhausted.
 * - REQUEST, told apart as the RFC says:
 *   SELECTING (server id present): a server id that is not ours means the client took another server's
 *   offer: forget our offer, stay silent. Ours: ACK if the requested address (option 50) is the client's,
 *   else NAK.
 *   INIT-REBOOT (no server id, option 50 present): ACK if the address is the client's or free for it,
 *   NAK if it is wrong (other subnet, someone else's, or not the client's static address). The RFC lets a
 *   server with no record stay silent; being the only server, we ACK a free address instead, so guests
 *   keep their address across a restart of c2w-java.
 *   RENEWING/REBINDING (no server id, no option 50, ciaddr set): ACK to extend if ciaddr is the client's
 *   or free for it, else NAK.
 * - DECLINE: the address is marked unusable for one lease time.
 * - RELEASE: the lease ends now; the record stays so the client gets the same address back later.
 * - INFORM: ACK with configuration options but no yiaddr and no lease time (§3.4, §4.3.5).
 * A client sending OFFER, ACK or NAK is malformed input.
 * </pre>
 *
 * <p>Replies carry, in this order: 53 message type, 54 server id, 51 lease time (not for INFORM), then the
 * options of the client's parameter request list (55) that we serve, in its order (1, 3, 6, 26, 28, 58,
 * 59), then any of 1 (mask), 3 (router), 6 (DNS) and 26 (MTU) not yet written, END, and zero padding up
 * to the 300-byte BOOTP minimum. NAK carries 53, 54 and a 56 message. The router and DNS server are the
 * gateway; siaddr is 0 (no boot server); flags and giaddr are echoed.
 *
 * <p>Where replies go (§4.1): with giaddr set, to the relay at giaddr:67; NAK is always broadcast; an ACK to a
 * client that has an address (ciaddr, RENEW and INFORM) is unicast to ciaddr unless it set the broadcast
 * flag; otherwise broadcast if the flag is set, else unicast to yiaddr at chaddr (the gateway hands the
 * frame to that MAC without ARP, which is what clients that cannot receive before configuration expect;
 * busybox udhcpc reads raw packets and takes both). Broadcast means 255.255.255.255 and ff:ff:ff:ff:ff:ff.
 *
 * <p>Every datagram counts in stats.dhcpPackets; every malformed one is dropped, logged at DEBUG and counted
 * in stats.dhcpMalformed. The only state is the lease table; everything runs on the network's event loop.
 */
public final class DhcpServer implements UdpEndpoint {
    private static final System.Logger LOG = System.getLogger(DhcpServer.class.getName());

    public static final int SERVER_PORT = 67;
    public static final int CLIENT_PORT = 68;
    private static final int MIN_REPLY = 300;

    private final NetworkConfig config;
    private final LongSupplier clock;
    private final DhcpLeases leases;
    private final DhcpMessage msg = new DhcpMessage();
    private final boolean[] written = new boolean[256];
    private final long leaseSeconds;
    /** Source MAC of the frame being handled (a relay's, when giaddr is set). */
    private long frameSrcMac;

    public DhcpServer(NetworkConfig config) {
        this(config, System::nanoTime);
    }

    /** With a monotonic nanosecond clock (tests inject one to make leases expire). */
    public DhcpServer(NetworkConfig config, LongSupplier nanoClock) {
        this.config = config;
        this.clock = nanoClock;
        this.leases = new DhcpLeases(config);
        this.leaseSeconds = leaseSeconds(config);
    }

    /** The lease time in seconds as sent in option 51: at least 1, below 0xffffffff ("infinite"). */
    static long leaseSeconds(NetworkConfig config) {
        long s = config.leaseTime().toSeconds();
        return Math.max(1, Math.min(s, 0xfffffffeL));
    }

    /** A snapshot of the lease table. */
    public List<DhcpLeases.Lease> leases() {
        return leases.leases(clock.getAsLong());
    }

    /** The lease table itself (for the gateway's status output). */
    public DhcpLeases table() {
        return leases;
    }

    @Override
    public void close() {
        leases.clear();
    }

    @Override
    public void onDatagram(
            UdpContext ctx, long srcMac, int srcIp, int srcPort, int dstIp, int dstPort, ByteBuf payload) {
        ctx.stats().dhcpPackets++;
        if (!msg.parse(payload)) {
            malformed(ctx, srcMac, msg.error());
            return;
        }
        long now = clock.getAsLong();
        long mac = msg.chaddr;
        frameSrcMac = srcMac;
        switch (msg.messageType) {
            case DhcpMessage.DISCOVER -> discover(ctx, mac, now);
            case DhcpMessage.REQUEST -> request(ctx, mac, now);
            case DhcpMessage.DECLINE -> {
                if ((!msg.hasServerId || msg.serverId == config.gatewayIp())
                        && msg.hasRequestedIp
                        && leases.decline(mac, msg.requestedIp, now)) {
                    LOG.log(
                            System.Logger.Level.INFO,
                            "DHCP: " + MacAddress.format(mac) + " declined " + Ipv4Address.format(msg.requestedIp)
                                    + " (in use on the LAN); not offered for one lease time");
                }
            }
            case DhcpMessage.RELEASE -> {
                if ((!msg.hasServerId || msg.serverId == config.gatewayIp()) && leases.release(mac, msg.ciaddr, now)) {
                    LOG.log(
                            System.Logger.Level.DEBUG,
                            () -> "DHCP: " + MacAddress.format(mac) + " released " + Ipv4Address.format(msg.ciaddr));
                }
            }
            case DhcpMessage.INFORM -> {
                int clientIp = msg.ciaddr != 0 ? msg.ciaddr : srcIp;
                if (clientIp == 0) {
                    malformed(ctx, srcMac, "INFORM without ciaddr or source address");
                    return;
                }
                reply(ctx, DhcpMessage.ACK, 0, clientIp, true);
            }
            default -> malformed(ctx, srcMac, "a client sent " + DhcpMessage.typeName(msg.messageType));
        }
    }

    private void discover(UdpContext ctx, long mac, long now) {
        leases.claimStatic(mac);
        int ip = leases.offer(mac, msg.requestedIp, msg.hasRequestedIp, now);
        if (ip == 0) {
            LOG.log(System.Logger.Level.WARNING, "DHCP: no free address for " + MacAddress.format(mac));
            return;
        }
        reply(ctx, DhcpMessage.OFFER, ip, 0, false);
    }

    private void request(UdpContext ctx, long mac, long now) {
        leases.claimStatic(mac);
        int want;
        if (msg.hasServerId) {
            if (msg.serverId != config.gatewayIp()) {
                leases.abandonOffer(mac, now);
                return;
            }
            want = msg.hasRequestedIp ? msg.requestedIp : msg.ciaddr;
        } else if (msg.hasRequestedIp) {
            want = msg.requestedIp;
        } else if (msg.ciaddr != 0) {
            want = msg.ciaddr;
        } else {
            malformed(ctx, mac, "REQUEST without server id, requested address or ciaddr");
            return;
        }
        if (want != 0 && leases.canAssign(mac, want, now)) {
            leases.bind(mac, want, now);
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> "DHCP: " + Ipv4Address.format(want) + " bound to " + MacAddress.format(mac));
            reply(ctx, DhcpMessage.ACK, want, msg.ciaddr, false);
        } else {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> "DHCP: NAK " + MacAddress.format(mac) + " asking for " + Ipv4Address.format(want));
            reply(ctx, DhcpMessage.NAK, 0, 0, false);
        }
    }

    private void malformed(UdpContext ctx, long srcMac, String why) {
        ctx.stats().dhcpMalformed++;
        LOG.log(
                System.Logger.Level.DEBUG,
                () -> "DHCP: dropped datagram from " + MacAddress.format(srcMac) + ": " + why);
    }

    private void reply(UdpContext ctx, int type, int yiaddr, int ciaddr, boolean inform) {
        ByteBuf out = ctx.alloc().buffer(MIN_REPLY + 64);
        out.writeByte(DhcpMessage.OP_BOOTREPLY);
        out.writeByte(DhcpMessage.HTYPE_ETHERNET);
        out.writeByte(6);
        out.writeByte(0);
        out.writeInt(msg.xid);
        out.writeShort(0);
        out.writeShort(msg.flags & DhcpMessage.FLAG_BROADCAST);
        out.writeInt(type == DhcpMessage.NAK ? 0 : ciaddr);
        out.writeInt(yiaddr);
        out.writeInt(0);
        out.writeInt(msg.giaddr);
        out.writeShort((int) (msg.chaddr >>> 32));
        out.writeInt((int) msg.chaddr);
        out.writeZero(10 + 64 + 128);
        out.writeInt(DhcpMessage.MAGIC_COOKIE);

        Arrays.fill(written, false);
        out.writeByte(DhcpMessage.OPT_MESSAGE_TYPE).writeByte(1).writeByte(type);
        writeIpOption(out, DhcpMessage.OPT_SERVER_ID, config.gatewayIp());
        if (type == DhcpMessage.NAK) {
            byte[] text = "requested address not available".getBytes(StandardCharsets.US_ASCII);
            out.writeByte(DhcpMessage.OPT_MESSAGE).writeByte(text.length).writeBytes(text);
        } else {
            if (!inform) {
                out.writeByte(DhcpMessage.OPT_LEASE_TIME).writeByte(4).writeInt((int) leaseSeconds);
                written[DhcpMessage.OPT_LEASE_TIME] = true;
            }
            for (int i = 0; i < msg.paramCount; i++) {
                writeOption(out, msg.paramList[i] & 0xff, inform);
            }
            writeOption(out, DhcpMessage.OPT_SUBNET_MASK, inform);
            writeOption(out, DhcpMessage.OPT_ROUTER, inform);
            writeOption(out, DhcpMessage.OPT_DNS, inform);
            writeOption(out, DhcpMessage.OPT_MTU, inform);
        }
        out.writeByte(DhcpMessage.OPT_END);
        if (out.writerIndex() < MIN_REPLY) {
            out.writeZero(MIN_REPLY - out.writerIndex());
        }

        int dstIp;
        int dstPort = CLIENT_PORT;
        long dstMac;
        boolean broadcastFlag = (msg.flags & DhcpMessage.FLAG_BROADCAST) != 0;
        if (msg.giaddr != 0) {
            dstIp = msg.giaddr;
            dstPort = SERVER_PORT;
            dstMac = frameSrcMac;
        } else if (type == DhcpMessage.NAK || broadcastFlag) {
            dstIp = Ipv4Address.BROADCAST;
            dstMac = MacAddress.BROADCAST;
        } else if (ciaddr != 0) {
            dstIp = ciaddr;
            dstMac = msg.chaddr;
        } else {
            dstIp = yiaddr;
            dstMac = msg.chaddr;
        }
        ctx.sendToGuest(config.gatewayIp(), SERVER_PORT, dstIp, dstPort, dstMac, out);
    }

    private void writeIpOption(ByteBuf out, int code, int ip) {
        out.writeByte(code).writeByte(4).writeInt(ip);
        written[code] = true;
    }

    /** Writes option {@code code} if we serve it and it is not written yet. */
    private void writeOption(ByteBuf out, int code, boolean inform) {
        if (written[code]) {
            return;
        }
        switch (code) {
            case DhcpMessage.OPT_SUBNET_MASK -> writeIpOption(out, code, config.netmask());
            case DhcpMessage.OPT_ROUTER, DhcpMessage.OPT_DNS -> writeIpOption(out, code, config.gatewayIp());
            case DhcpMessage.OPT_BROADCAST -> writeIpOption(out, code, config.broadcastIp());
            case DhcpMessage.OPT_MTU -> {
                out.writeByte(code).writeByte(2).writeShort(config.mtu());
                written[code] = true;
            }
            case DhcpMessage.OPT_RENEWAL_T1, DhcpMessage.OPT_REBINDING_T2 -> {
                if (!inform) {
                    long t = code == DhcpMessage.OPT_RENEWAL_T1 ? leaseSeconds / 2 : leaseSeconds * 7 / 8;
                    out.writeByte(code).writeByte(4).writeInt((int) t);
                    written[code] = true;
                }
            }
            default -> {
                // not served
            }
        }
    }
}
