package dev.c2w.netstack.services.dhcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.services.RecordingUdpContext;
import dev.c2w.netstack.services.RecordingUdpContext.Sent;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DhcpServerTest {
    static final int GW = Ipv4Address.parse("192.168.127.1");
    static final int GUEST = Ipv4Address.parse("192.168.127.3");
    static final long STATIC_MAC = MacAddress.parse("02:00:00:00:00:01");
    static final long MAC_A = MacAddress.parse("52:54:00:12:34:56");
    static final long MAC_B = MacAddress.parse("52:54:00:ab:cd:ef");
    static final byte[] PARAMS = {1, 3, 6, 12, 15, 26, 28, 42, 51, 54, 119};

    long now = 1_000_000_000_000L;
    NetworkConfig config =
            NetworkConfig.builder().leaseTime(Duration.ofSeconds(3600)).build();
    RecordingUdpContext ctx = new RecordingUdpContext(config, null, null);
    DhcpServer server = new DhcpServer(config, () -> now);
    int xid = 0x1000;

    // ---------------------------------------------------------------- message building

    /** One DHCP client option, code + value. */
    record Opt(int code, byte[] value) {
        static Opt type(int t) {
            return new Opt(53, new byte[] {(byte) t});
        }

        static Opt ip(int code, int ip) {
            return new Opt(code, ByteBuffer.allocate(4).putInt(ip).array());
        }

        static Opt params(byte... p) {
            return new Opt(55, p);
        }
    }

    static byte[] message(
            int op, int htype, int hlen, long mac, int xid, int flags, int ciaddr, int cookie, Opt... opts) {
        ByteBuffer b = ByteBuffer.allocate(600);
        b.put((byte) op).put((byte) htype).put((byte) hlen).put((byte) 0);
        b.putInt(xid).putShort((short) 0).putShort((short) flags);
        b.putInt(ciaddr).putInt(0).putInt(0).putInt(0);
        b.put(MacAddress.toBytes(mac)).put(new byte[10]).put(new byte[64 + 128]);
        b.putInt(cookie);
        for (Opt o : opts) {
            b.put((byte) o.code).put((byte) o.value.length).put(o.value);
        }
        b.put((byte) 255);
        while (b.position() < 300) {
            b.put((byte) 0);
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    static byte[] request(long mac, int xid, int flags, int ciaddr, Opt... opts) {
        return message(1, 1, 6, mac, xid, flags, ciaddr, 0x63825363, opts);
    }

    void deliver(byte[] bytes) {
        deliver(bytes, 0, MacAddress.NONE);
    }

    void deliver(byte[] bytes, int srcIp, long srcMac) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        server.onDatagram(ctx, srcMac, srcIp, 68, Ipv4Address.BROADCAST, 67, buf);
        assertThat(buf.refCnt()).as("payload is borrowed").isEqualTo(1);
        buf.release();
    }

    Sent onlyReply() {
        assertThat(ctx.sent).hasSize(1);
        return ctx.sent.poll();
    }

    /** A parsed reply. */
    record Reply(
            Sent sent,
            int op,
            int xid,
            int flags,
            int ciaddr,
            int yiaddr,
            int siaddr,
            int giaddr,
            long chaddr,
            Map<Integer, byte[]> options,
            List<Integer> order) {
        int type() {
            return options.get(53)[0];
        }

        int ipOption(int code) {
            return ByteBuffer.wrap(options.get(code)).getInt();
        }
    }

    static Reply parse(Sent s) {
        byte[] p = s.payload();
        assertThat(p.length).isGreaterThanOrEqualTo(300);
        ByteBuffer b = ByteBuffer.wrap(p);
        int op = b.get(0);
        assertThat(b.get(1)).isEqualTo((byte) 1);
        assertThat(b.get(2)).isEqualTo((byte) 6);
        assertThat(b.getInt(236)).isEqualTo(0x63825363);
        long chaddr = MacAddress.fromBytes(p, 28);
        for (int i = 34; i < 236; i++) {
            assertThat(p[i]).as("byte %d of chaddr padding/sname/file", i).isZero();
        }
        Map<Integer, byte[]> opts = new LinkedHashMap<>();
        List<Integer> order = new ArrayList<>();
        int i = 240;
        boolean end = false;
        while (i < p.length) {
            int code = p[i] & 0xff;
            if (code == 255) {
                end = true;
                break;
            }
            if (code == 0) {
                i++;
                continue;
            }
            int len = p[i + 1] & 0xff;
            byte[] v = new byte[len];
            System.arraycopy(p, i + 2, v, 0, len);
            assertThat(opts.put(code, v)).as("option %d appears once", code).isNull();
            order.add(code);
            i += 2 + len;
        }
        assertThat(end).as("END option").isTrue();
        return new Reply(
                s,
                op,
                b.getInt(4),
                b.getShort(10) & 0xffff,
                b.getInt(12),
                b.getInt(16),
                b.getInt(20),
                b.getInt(24),
                chaddr,
                opts,
                order);
    }

    static byte[] ipBytes(String ip) {
        return ByteBuffer.allocate(4).putInt(Ipv4Address.parse(ip)).array();
    }

    Reply discover(long mac, Opt... extra) {
        List<Opt> o = new ArrayList<>(List.of(Opt.type(1), Opt.params(PARAMS)));
        o.addAll(List.of(extra));
        deliver(request(mac, ++xid, 0, 0, o.toArray(Opt[]::new)));
        Reply r = parse(onlyReply());
        assertThat(r.xid()).isEqualTo(xid);
        assertThat(r.type()).isEqualTo(2);
        return r;
    }

    Reply select(long mac, int ip) {
        deliver(request(mac, ++xid, 0, 0, Opt.type(3), Opt.ip(54, GW), Opt.ip(50, ip), Opt.params(PARAMS)));
        return parse(onlyReply());
    }

    /** DISCOVER, OFFER, REQUEST, ACK; returns the bound address. */
    int obtain(long mac) {
        Reply offer = discover(mac);
        Reply ack = select(mac, offer.yiaddr());
        assertThat(ack.type()).isEqualTo(5);
        assertThat(ack.yiaddr()).isEqualTo(offer.yiaddr());
        return ack.yiaddr();
    }

    static long mac(int n) {
        return 0x0a0000000000L + n;
    }

    // ---------------------------------------------------------------- tests

    @Test
    void staticMacGetsGuestIpWithAllOptionsInRequestedOrder() {
        Reply offer = discover(STATIC_MAC);
        assertThat(offer.op()).isEqualTo(2);
        assertThat(offer.yiaddr()).isEqualTo(GUEST);
        assertThat(offer.ciaddr()).isZero();
        assertThat(offer.siaddr()).isZero();
        assertThat(offer.giaddr()).isZero();
        assertThat(offer.chaddr()).isEqualTo(STATIC_MAC);
        // 53, 54, 51 first, then the parameter list order (1 3 6 26 28; 12 15 42 119 are not served)
        assertThat(offer.order()).containsExactly(53, 54, 51, 1, 3, 6, 26, 28);
        assertThat(offer.options().get(54)).isEqualTo(ipBytes("192.168.127.1"));
        assertThat(offer.options().get(51)).containsExactly(0, 0, 0x0e, 0x10);
        assertThat(offer.options().get(1)).isEqualTo(ipBytes("255.255.255.0"));
        assertThat(offer.options().get(3)).isEqualTo(ipBytes("192.168.127.1"));
        assertThat(offer.options().get(6)).isEqualTo(ipBytes("192.168.127.1"));
        assertThat(offer.options().get(26)).containsExactly(0x05, 0xdc);
        assertThat(offer.options().get(28)).isEqualTo(ipBytes("192.168.127.255"));
        // no broadcast flag, no ciaddr: unicast to yiaddr at chaddr, from the gateway's port 67 to 68
        Sent s = offer.sent();
        assertThat(s.srcIp()).isEqualTo(GW);
        assertThat(s.srcPort()).isEqualTo(67);
        assertThat(s.dstPort()).isEqualTo(68);
        assertThat(s.dstIp()).isEqualTo(GUEST);
        assertThat(s.dstMac()).isEqualTo(STATIC_MAC);
        assertThat(server.leases()).singleElement().satisfies(l -> {
            assertThat(l.state()).isEqualTo(DhcpLeases.State.OFFERED);
            assertThat(l.isStatic()).isTrue();
        });

        Reply ack = select(STATIC_MAC, GUEST);
        assertThat(ack.type()).isEqualTo(5);
        assertThat(ack.yiaddr()).isEqualTo(GUEST);
        assertThat(ack.order()).containsExactly(53, 54, 51, 1, 3, 6, 26, 28);
        assertThat(server.leases()).singleElement().satisfies(l -> {
            assertThat(l.mac()).isEqualTo(STATIC_MAC);
            assertThat(l.ip()).isEqualTo(GUEST);
            assertThat(l.state()).isEqualTo(DhcpLeases.State.BOUND);
            assertThat(l.remainingSeconds()).isEqualTo(3600);
        });
        assertThat(ctx.stats().dhcpPackets).isEqualTo(2);
        assertThat(ctx.stats().dhcpMalformed).isZero();
    }

    @Test
    void requiredOptionsWithoutParameterListAndBroadcastFlag() {
        deliver(request(MAC_A, 77, 0x8000, 0, Opt.type(1)));
        Reply offer = parse(onlyReply());
        assertThat(offer.order()).containsExactly(53, 54, 51, 1, 3, 6, 26);
        assertThat(offer.flags()).isEqualTo(0x8000);
        assertThat(offer.sent().dstIp()).isEqualTo(Ipv4Address.BROADCAST);
        assertThat(offer.sent().dstMac()).isEqualTo(MacAddress.BROADCAST);
    }

    @Test
    void otherMacsGetPoolAddressesSkippingReservedOnes() {
        assertThat(obtain(MAC_A)).isEqualTo(Ipv4Address.parse("192.168.127.2"));
        assertThat(obtain(MAC_B)).isEqualTo(Ipv4Address.parse("192.168.127.4"));
        assertThat(obtain(STATIC_MAC)).isEqualTo(GUEST);
        // a second round gives everyone the same address again
        assertThat(obtain(MAC_A)).isEqualTo(Ipv4Address.parse("192.168.127.2"));
        List<Integer> all = new ArrayList<>();
        for (int n = 0; n < 248; n++) {
            all.add(obtain(mac(n)));
        }
        // .2 .4 taken above; 248 more fill .5 .. .252 and the pool is exhausted
        assertThat(all)
                .doesNotHaveDuplicates()
                .doesNotContain(
                        GW,
                        GUEST,
                        Ipv4Address.parse("192.168.127.253"),
                        Ipv4Address.parse("192.168.127.254"),
                        Ipv4Address.parse("192.168.127.255"),
                        Ipv4Address.parse("192.168.127.0"));
        assertThat(all).allMatch(ip -> config.inSubnet(ip));
        assertThat(all.get(all.size() - 1)).isEqualTo(Ipv4Address.parse("192.168.127.252"));
        deliver(request(mac(999), ++xid, 0, 0, Opt.type(1)));
        assertThat(ctx.sent).as("no OFFER when the pool is exhausted").isEmpty();
    }

    @Test
    void discoverHonoursAFreeRequestedAddress() {
        Reply offer = discover(MAC_A, Opt.ip(50, Ipv4Address.parse("192.168.127.77")));
        assertThat(offer.yiaddr()).isEqualTo(Ipv4Address.parse("192.168.127.77"));
        // the static address or a virtual IP is not given to a pool client
        Reply other = discover(MAC_B, Opt.ip(50, GUEST));
        assertThat(other.yiaddr()).isEqualTo(Ipv4Address.parse("192.168.127.2"));
        Reply third = discover(mac(1), Opt.ip(50, Ipv4Address.parse("192.168.127.253")));
        assertThat(third.yiaddr()).isEqualTo(Ipv4Address.parse("192.168.127.4"));
    }

    @Test
    void nakWhenTheRequestedAddressIsNotTheClients() {
        int a = obtain(MAC_A);
        // SELECTING with our server id for someone else's address
        Reply nak = select(MAC_B, a);
        assertThat(nak.type()).isEqualTo(6);
        assertThat(nak.yiaddr()).isZero();
        assertThat(nak.ciaddr()).isZero();
        assertThat(nak.order()).containsExactly(53, 54, 56);
        assertThat(nak.options().get(54)).isEqualTo(ipBytes("192.168.127.1"));
        assertThat(nak.sent().dstIp()).isEqualTo(Ipv4Address.BROADCAST);
        assertThat(nak.sent().dstMac()).isEqualTo(MacAddress.BROADCAST);
        // the static address for a non-static MAC
        assertThat(select(MAC_B, GUEST).type()).isEqualTo(6);
        // INIT-REBOOT from another subnet
        deliver(request(MAC_B, ++xid, 0, 0, Opt.type(3), Opt.ip(50, Ipv4Address.parse("10.0.2.15"))));
        assertThat(parse(onlyReply()).type()).isEqualTo(6);
        // INIT-REBOOT of the static MAC asking for a pool address
        deliver(request(STATIC_MAC, ++xid, 0, 0, Opt.type(3), Opt.ip(50, Ipv4Address.parse("192.168.127.2"))));
        assertThat(parse(onlyReply()).type()).isEqualTo(6);
        // INIT-REBOOT for the gateway address and the proxy address
        deliver(request(MAC_B, ++xid, 0, 0, Opt.type(3), Opt.ip(50, GW)));
        assertThat(parse(onlyReply()).type()).isEqualTo(6);
        deliver(request(MAC_B, ++xid, 0, 0, Opt.type(3), Opt.ip(50, Ipv4Address.parse("192.168.127.253"))));
        assertThat(parse(onlyReply()).type()).isEqualTo(6);
        // RENEWING with someone else's ciaddr
        deliver(request(MAC_B, ++xid, 0, a, Opt.type(3)));
        assertThat(parse(onlyReply()).type()).isEqualTo(6);
        // SELECTING with our server id but no address at all
        deliver(request(MAC_B, ++xid, 0, 0, Opt.type(3), Opt.ip(54, GW)));
        assertThat(parse(onlyReply()).type()).isEqualTo(6);
        // the owner is unaffected
        assertThat(server.leases()).singleElement().satisfies(l -> {
            assertThat(l.mac()).isEqualTo(MAC_A);
            assertThat(l.state()).isEqualTo(DhcpLeases.State.BOUND);
        });
        assertThat(ctx.stats().dhcpMalformed).isZero();
    }

    @Test
    void requestForAnotherServerIsIgnoredAndOurOfferForgotten() {
        Reply offer = discover(MAC_A);
        deliver(request(
                MAC_A,
                ++xid,
                0,
                0,
                Opt.type(3),
                Opt.ip(54, Ipv4Address.parse("192.168.127.200")),
                Opt.ip(50, Ipv4Address.parse("192.168.127.99"))));
        assertThat(ctx.sent).as("silent when the client chose another server").isEmpty();
        // the offer no longer holds the address
        assertThat(server.leases()).singleElement().satisfies(l -> {
            assertThat(l.ip()).isEqualTo(offer.yiaddr());
            assertThat(l.state()).isEqualTo(DhcpLeases.State.RELEASED);
        });
    }

    @Test
    void initRebootAndRenewKeepTheAddress() {
        int a = obtain(MAC_A);
        now += 1000L * 1_000_000_000L;
        // INIT-REBOOT for its own address
        deliver(request(MAC_A, ++xid, 0, 0, Opt.type(3), Opt.ip(50, a)));
        Reply ack = parse(onlyReply());
        assertThat(ack.type()).isEqualTo(5);
        assertThat(ack.yiaddr()).isEqualTo(a);
        now += 1000L * 1_000_000_000L;
        // RENEWING: ciaddr set, unicast reply to ciaddr, lease extended to a full lease time
        deliver(request(MAC_A, ++xid, 0, a, Opt.type(3)));
        ack = parse(onlyReply());
        assertThat(ack.type()).isEqualTo(5);
        assertThat(ack.ciaddr()).isEqualTo(a);
        assertThat(ack.yiaddr()).isEqualTo(a);
        assertThat(ack.sent().dstIp()).isEqualTo(a);
        assertThat(ack.sent().dstMac()).isEqualTo(MAC_A);
        assertThat(server.leases())
                .singleElement()
                .satisfies(l -> assertThat(l.remainingSeconds()).isEqualTo(3600));
        // a restarted server has no record: INIT-REBOOT for a free address is acknowledged
        DhcpServer fresh = new DhcpServer(config, () -> now);
        server = fresh;
        deliver(request(MAC_A, ++xid, 0, 0, Opt.type(3), Opt.ip(50, a)));
        assertThat(parse(onlyReply()).type()).isEqualTo(5);
    }

    @Test
    void releaseThenReuse() {
        int a = obtain(MAC_A);
        int b = obtain(MAC_B);
        deliver(request(MAC_A, ++xid, 0, a, Opt.type(7), Opt.ip(54, GW)));
        assertThat(ctx.sent).as("no reply to RELEASE").isEmpty();
        assertThat(server.leases())
                .filteredOn(l -> l.ip() == a)
                .singleElement()
                .satisfies(l -> assertThat(l.state()).isEqualTo(DhcpLeases.State.RELEASED));
        // the client comes back to its previous address
        assertThat(obtain(MAC_A)).isEqualTo(a);
        deliver(request(MAC_A, ++xid, 0, a, Opt.type(7), Opt.ip(54, GW)));
        // a RELEASE naming an address the client does not hold changes nothing
        deliver(request(MAC_A, ++xid, 0, b, Opt.type(7), Opt.ip(54, GW)));
        assertThat(server.leases())
                .filteredOn(l -> l.ip() == b)
                .singleElement()
                .satisfies(l -> assertThat(l.state()).isEqualTo(DhcpLeases.State.BOUND));
        // fill the rest of the pool; then a new client gets the released address
        for (int n = 0; n < 248; n++) {
            obtain(mac(n));
        }
        assertThat(obtain(mac(500))).isEqualTo(a);
        // and the old owner now gets nothing (pool full)
        deliver(request(MAC_A, ++xid, 0, 0, Opt.type(1)));
        assertThat(ctx.sent).isEmpty();
    }

    @Test
    void expiredLeasesAreReusedOldestFirstAndOwnersGetThemBack() {
        config = config.toBuilder().leaseTime(Duration.ofSeconds(60)).build();
        server = new DhcpServer(config, () -> now);
        int a = obtain(MAC_A);
        now += 10_000_000_000L;
        int b = obtain(MAC_B);
        for (int n = 0; n < 248; n++) {
            obtain(mac(n));
        }
        deliver(request(mac(900), ++xid, 0, 0, Opt.type(1)));
        assertThat(ctx.sent).isEmpty();
        now += 59_000_000_000L; // A expired (69 s), B not (59 s)
        assertThat(server.leases())
                .filteredOn(l -> l.ip() == a)
                .singleElement()
                .satisfies(l -> assertThat(l.state()).isEqualTo(DhcpLeases.State.EXPIRED));
        assertThat(discover(mac(900)).yiaddr()).isEqualTo(a);
        now += 2_000_000_000L; // now B and all the others have expired too
        // B asks again and gets its own address back, not the oldest record
        assertThat(obtain(MAC_B)).isEqualTo(b);
        // A has lost .2 to mac(900)'s offer... which is still held (60 s offer hold capped by lease time)
        int aNow = obtain(MAC_A);
        assertThat(aNow).isNotEqualTo(a).isNotEqualTo(b);
        // a renewal after expiry is granted when the address is still free
        now += 120_000_000_000L;
        deliver(request(MAC_B, ++xid, 0, b, Opt.type(3)));
        assertThat(parse(onlyReply()).type()).isEqualTo(5);
    }

    @Test
    void informGetsOptionsButNoAddressOrLease() {
        int ip = Ipv4Address.parse("192.168.127.50");
        deliver(request(MAC_A, ++xid, 0, ip, Opt.type(8), Opt.params(PARAMS)), ip, MAC_A);
        Reply ack = parse(onlyReply());
        assertThat(ack.type()).isEqualTo(5);
        assertThat(ack.yiaddr()).isZero();
        assertThat(ack.ciaddr()).isEqualTo(ip);
        assertThat(ack.options()).doesNotContainKeys(51, 58, 59);
        assertThat(ack.order()).containsExactly(53, 54, 1, 3, 6, 26, 28);
        assertThat(ack.sent().dstIp()).isEqualTo(ip);
        assertThat(ack.sent().dstMac()).isEqualTo(MAC_A);
        assertThat(server.leases()).as("INFORM allocates nothing").isEmpty();
        // INFORM with neither ciaddr nor source address is malformed
        deliver(request(MAC_A, ++xid, 0, 0, Opt.type(8)));
        assertThat(ctx.sent).isEmpty();
        assertThat(ctx.stats().dhcpMalformed).isEqualTo(1);
    }

    @Test
    void renewalTimesWhenAsked() {
        deliver(request(MAC_A, ++xid, 0, 0, Opt.type(1), Opt.params((byte) 59, (byte) 58, (byte) 3)));
        Reply offer = parse(onlyReply());
        assertThat(offer.order()).containsExactly(53, 54, 51, 59, 58, 3, 1, 6, 26);
        assertThat(ByteBuffer.wrap(offer.options().get(58)).getInt()).isEqualTo(1800);
        assertThat(ByteBuffer.wrap(offer.options().get(59)).getInt()).isEqualTo(3150);
    }

    @Test
    void firstGuestGetsGuestIpWhateverItsMac() {
        config = config.toBuilder().firstGuestGetsGuestIp(true).build();
        server = new DhcpServer(config, () -> now);
        long random = MacAddress.parse("a6:1b:22:33:44:55");
        assertThat(obtain(random)).isEqualTo(GUEST);
        assertThat(server.table().staticMac()).isEqualTo(random);
        // the configured --mac is an ordinary client now
        assertThat(obtain(STATIC_MAC)).isEqualTo(Ipv4Address.parse("192.168.127.2"));
        assertThat(obtain(MAC_A)).isEqualTo(Ipv4Address.parse("192.168.127.4"));
        // the first guest keeps it after a release
        deliver(request(random, ++xid, 0, GUEST, Opt.type(7), Opt.ip(54, GW)));
        assertThat(obtain(random)).isEqualTo(GUEST);
        assertThat(select(MAC_B, GUEST).type()).isEqualTo(6);
    }

    @Test
    void declinedAddressIsNotOfferedAgain() {
        int a = obtain(MAC_A);
        deliver(request(MAC_A, ++xid, 0, 0, Opt.type(4), Opt.ip(54, GW), Opt.ip(50, a)));
        assertThat(ctx.sent).isEmpty();
        int again = discover(MAC_A).yiaddr();
        assertThat(again).isNotEqualTo(a);
        assertThat(discover(MAC_B).yiaddr()).isNotEqualTo(a);
        assertThat(server.leases())
                .filteredOn(l -> l.ip() == a)
                .singleElement()
                .satisfies(l -> assertThat(l.state()).isEqualTo(DhcpLeases.State.DECLINED));
    }

    @Test
    void optionsInOverloadedFileField() {
        byte[] m = request(MAC_A, 5, 0, 0, new Opt(52, new byte[] {1}));
        // message type 53 = DISCOVER inside the file field (offset 108), then END
        m[108] = 53;
        m[109] = 1;
        m[110] = 1;
        m[111] = (byte) 255;
        deliver(m);
        assertThat(parse(onlyReply()).type()).isEqualTo(2);
    }

    @Test
    void relayedRequestsGoBackToTheRelay() {
        byte[] m = request(MAC_A, 5, 0, 0, Opt.type(1));
        int relay = Ipv4Address.parse("192.168.127.9");
        ByteBuffer.wrap(m).putInt(24, relay);
        long relayMac = MacAddress.parse("02:aa:00:00:00:09");
        deliver(m, relay, relayMac);
        Reply r = parse(onlyReply());
        assertThat(r.giaddr()).isEqualTo(relay);
        assertThat(r.sent().dstIp()).isEqualTo(relay);
        assertThat(r.sent().dstPort()).isEqualTo(67);
        assertThat(r.sent().dstMac()).isEqualTo(relayMac);
    }

    @Test
    void malformedMessagesAreDroppedAndCounted() {
        int cookie = 0x63825363;
        List<byte[]> bad = new ArrayList<>();
        bad.add(new byte[0]);
        bad.add(new byte[239]);
        byte[] good = request(MAC_A, 1, 0, 0, Opt.type(1));
        bad.add(Arrays.copyOf(good, 236)); // cookie cut off
        bad.add(message(2, 1, 6, MAC_A, 1, 0, 0, cookie, Opt.type(1))); // BOOTREPLY
        bad.add(message(1, 6, 6, MAC_A, 1, 0, 0, cookie, Opt.type(1))); // htype 6
        bad.add(message(1, 1, 16, MAC_A, 1, 0, 0, cookie, Opt.type(1))); // hlen 16
        bad.add(message(1, 1, 0, MAC_A, 1, 0, 0, cookie, Opt.type(1))); // hlen 0
        bad.add(message(1, 1, 6, MAC_A, 1, 0, 0, 0x63825364, Opt.type(1))); // bad cookie
        bad.add(request(MAC_A, 1, 0, 0)); // no message type (BOOTP)
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(9))); // unknown type
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(0))); // type 0
        bad.add(request(MAC_A, 1, 0, 0, new Opt(53, new byte[] {1, 1}))); // type with length 2
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(2))); // client sends OFFER
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(5))); // client sends ACK
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(6))); // client sends NAK
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(3), new Opt(50, new byte[] {1, 2, 3}))); // option 50 length 3
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(3), new Opt(54, new byte[5]))); // option 54 length 5
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(1), new Opt(52, new byte[] {4}))); // overload 4
        bad.add(request(MAC_A, 1, 0, 0, Opt.type(3))); // REQUEST with nothing to request
        // option running past the end of the datagram
        byte[] overrun = Arrays.copyOf(request(MAC_A, 1, 0, 0, Opt.type(1)), 250);
        overrun[243] = 12;
        overrun[244] = (byte) 200;
        bad.add(overrun);
        // option code with no length byte as the very last byte
        byte[] noLen = Arrays.copyOf(request(MAC_A, 1, 0, 0, Opt.type(1)), 244);
        noLen[243] = 12;
        bad.add(noLen);
        // overload into the file field whose option overruns it
        byte[] fileOverrun = request(MAC_A, 5, 0, 0, Opt.type(1), new Opt(52, new byte[] {1}));
        fileOverrun[230] = 12;
        fileOverrun[231] = 20;
        fileOverrun[108] = 0;
        for (int i = 108; i < 230; i++) {
            fileOverrun[i] = 0;
        }
        bad.add(fileOverrun);

        for (byte[] m : bad) {
            deliver(m);
        }
        assertThat(ctx.sent).isEmpty();
        assertThat(ctx.stats().dhcpMalformed).isEqualTo(bad.size());
        assertThat(ctx.stats().dhcpPackets).isEqualTo(bad.size());
        assertThat(server.leases()).isEmpty();
    }

    @Test
    void everyTruncationOfAValidMessageIsHandledWithoutThrowing() {
        byte[] good = request(
                MAC_A, 1, 0, 0, Opt.type(1), Opt.params(PARAMS), Opt.ip(50, Ipv4Address.parse("192.168.127.20")));
        int replies = 0;
        for (int len = 0; len <= good.length; len++) {
            long before = ctx.stats().dhcpMalformed;
            deliver(Arrays.copyOf(good, len));
            if (ctx.sent.isEmpty()) {
                assertThat(ctx.stats().dhcpMalformed)
                        .as("length %d dropped and counted", len)
                        .isEqualTo(before + 1);
            } else {
                ctx.sent.clear();
                replies++;
            }
        }
        // only lengths where the options end exactly at an option boundary are accepted:
        // after option 53 (243), after 55 (256), and from the end of option 50 on (262 .. 300)
        int optsEnd = 240 + 3 + 2 + PARAMS.length + 6;
        assertThat(replies).isEqualTo(2 + good.length - optsEnd + 1);
        assertThat(ctx.stats().dhcpMalformed).isEqualTo(good.length + 1 - replies);
    }

    @Test
    void closeReleasesEverything() {
        obtain(MAC_A);
        obtain(STATIC_MAC);
        server.close();
        assertThat(server.leases()).isEmpty();
    }
}
