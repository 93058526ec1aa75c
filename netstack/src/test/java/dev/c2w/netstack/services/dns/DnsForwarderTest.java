package dev.c2w.netstack.services.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.host.HostTransport;
import dev.c2w.netstack.services.RecordingUdpContext;
import dev.c2w.netstack.services.RecordingUdpContext.Sent;
import dev.c2w.netstack.wire.Ipv4Address;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DnsForwarderTest {
    static final int GW = Ipv4Address.parse("192.168.127.1");
    static final int GUEST = Ipv4Address.parse("192.168.127.3");
    static final long GUEST_MAC = MacAddress.parse("02:00:00:00:00:01");

    static HostTransport host;
    static EventLoop loop;

    final List<StubDnsServer> stubs = new ArrayList<>();
    RecordingUdpContext ctx;
    DnsUdpEndpoint udp;

    @BeforeAll
    static void startLoop() {
        host = HostTransport.create();
        loop = host.group().next();
    }

    @AfterAll
    static void stopLoop() {
        host.close();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (udp != null) {
            onLoop(() -> {
                udp.close();
                return null;
            });
        }
        for (StubDnsServer s : stubs) {
            s.close();
        }
    }

    StubDnsServer stub(StubDnsServer.Mode mode) throws Exception {
        StubDnsServer s = new StubDnsServer(mode);
        stubs.add(s);
        return s;
    }

    /** A 127.0.0.1 port with nothing listening (bound, then closed). */
    static InetSocketAddress deadPort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))) {
            return (InetSocketAddress) s.getLocalSocketAddress();
        }
    }

    void network(Duration timeout, InetSocketAddress... upstreams) {
        NetworkConfig config = NetworkConfig.builder()
                .dnsUpstreams(List.of(upstreams))
                .dnsTimeout(timeout)
                .build();
        ctx = new RecordingUdpContext(config, loop, host);
        udp = new DnsUdpEndpoint();
    }

    static <T> T onLoop(Callable<T> c) throws Exception {
        return loop.submit(c).get(10, TimeUnit.SECONDS);
    }

    static byte[] query(int id, String name, int type, boolean edns) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteBuffer h = ByteBuffer.allocate(12);
        h.putShort((short) id)
                .putShort((short) 0x0100)
                .putShort((short) 1)
                .putShort((short) 0)
                .putShort((short) 0)
                .putShort((short) (edns ? 1 : 0));
        o.writeBytes(h.array());
        for (String label : name.split("\\.")) {
            byte[] l = label.getBytes(StandardCharsets.US_ASCII);
            o.write(l.length);
            o.writeBytes(l);
        }
        o.write(0);
        o.write(type >> 8);
        o.write(type);
        o.write(0);
        o.write(1);
        if (edns) {
            o.writeBytes(new byte[] {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
        }
        return o.toByteArray();
    }

    void sendUdp(byte[] q, int srcPort) throws Exception {
        onLoop(() -> {
            ByteBuf b = Unpooled.wrappedBuffer(q);
            udp.onDatagram(ctx, GUEST_MAC, GUEST, srcPort, GW, 53, b);
            assertThat(b.refCnt()).as("payload is borrowed").isEqualTo(1);
            b.release();
            return null;
        });
    }

    Sent reply() throws Exception {
        Sent s = ctx.next(10);
        assertThat(s).as("a reply to the guest").isNotNull();
        return s;
    }

    static int id(byte[] m) {
        return ((m[0] & 0xff) << 8) | (m[1] & 0xff);
    }

    static int rcode(byte[] m) {
        return m[3] & 0xf;
    }

    static byte[] afterId(byte[] m) {
        return Arrays.copyOfRange(m, 2, m.length);
    }

    long stat(Callable<Long> c) throws Exception {
        return onLoop(c);
    }

    /** Asserts {@code r} is our SERVFAIL for {@code q}. */
    static void assertServfail(byte[] r, byte[] q) {
        assertThat(id(r)).isEqualTo(id(q));
        assertThat(r[2] & 0x80).as("QR").isNotZero();
        assertThat(r[2] & 0x01).as("RD copied").isEqualTo(q[2] & 0x01);
        assertThat(rcode(r)).isEqualTo(2);
        assertThat(Arrays.copyOfRange(r, 4, 6)).containsExactly(0, 1);
        int qEnd = StubDnsServer.questionEnd(q);
        assertThat(Arrays.copyOfRange(r, 12, r.length)).isEqualTo(Arrays.copyOfRange(q, 12, qEnd));
    }

    // ------------------------------------------------------------------------------------------ UDP

    @Test
    void everyQueryTypeIsRelayedWithTheGuestsId() throws Exception {
        StubDnsServer up = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(4), up.address());
        int[] types = {
            StubDnsServer.A,
            StubDnsServer.AAAA,
            StubDnsServer.MX,
            StubDnsServer.TXT,
            StubDnsServer.PTR,
            StubDnsServer.ANY
        };
        String[] names = {
            "a.example", "v6.example", "example", "txt.example", "3.127.168.192.in-addr.arpa", "any.example"
        };
        for (int i = 0; i < types.length; i++) {
            byte[] q = query(0x1234 + i, names[i], types[i], i % 2 == 0);
            sendUdp(q, 40000 + i);
            Sent s = reply();
            byte[] upstreamQuery = up.udpQueries.poll(5, TimeUnit.SECONDS);
            byte[] upstreamAnswer = up.answers.poll(5, TimeUnit.SECONDS);
            assertThat(afterId(upstreamQuery)).as("query forwarded raw").isEqualTo(afterId(q));
            assertThat(id(s.payload())).isEqualTo(0x1234 + i);
            assertThat(afterId(s.payload())).as("answer relayed unchanged").isEqualTo(afterId(upstreamAnswer));
            assertThat(s.srcIp()).isEqualTo(GW);
            assertThat(s.srcPort()).isEqualTo(53);
            assertThat(s.dstIp()).isEqualTo(GUEST);
            assertThat(s.dstPort()).isEqualTo(40000 + i);
            assertThat(s.dstMac()).isEqualTo(GUEST_MAC);
        }
        assertThat(stat(() -> ctx.stats().dnsQueries)).isEqualTo(types.length);
        assertThat(stat(() -> (long) udp.forwarder().outstanding())).isZero();
    }

    @Test
    void concurrentQueriesWithTheSameGuestIdGetTheirOwnAnswers() throws Exception {
        StubDnsServer up = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(4), up.address());
        byte[] q1 = query(7, "one.example", StubDnsServer.A, false);
        byte[] q2 = query(7, "two.example", StubDnsServer.TXT, false);
        onLoop(() -> {
            // both sent before either answer can be read: the loop is busy with this task
            for (byte[] q : List.of(q1, q2)) {
                ByteBuf b = Unpooled.wrappedBuffer(q);
                udp.onDatagram(ctx, GUEST_MAC, GUEST, q == q1 ? 1111 : 2222, GW, 53, b);
                b.release();
            }
            return null;
        });
        byte[] u1 = up.udpQueries.poll(5, TimeUnit.SECONDS);
        byte[] u2 = up.udpQueries.poll(5, TimeUnit.SECONDS);
        assertThat(id(u1)).as("upstream IDs are unique").isNotEqualTo(id(u2));
        for (int n = 0; n < 2; n++) {
            Sent s = reply();
            assertThat(id(s.payload())).isEqualTo(7);
            byte[] expectQ = s.dstPort() == 1111 ? q1 : q2;
            int qEnd = StubDnsServer.questionEnd(expectQ);
            assertThat(Arrays.copyOfRange(s.payload(), 12, qEnd)).isEqualTo(Arrays.copyOfRange(expectQ, 12, qEnd));
        }
    }

    @Test
    void unreachableUpstreamGivesServfailWithinTheTimeout() throws Exception {
        network(Duration.ofMillis(800), deadPort());
        byte[] q = query(0xbeef, "nowhere.example", StubDnsServer.A, false);
        long t0 = System.nanoTime();
        sendUdp(q, 5353);
        Sent s = reply();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertServfail(s.payload(), q);
        assertThat(ms).as("not before the budget is spent").isGreaterThanOrEqualTo(790);
        assertThat(stat(() -> ctx.stats().dnsServfail)).isEqualTo(1);
        assertThat(stat(() -> (long) udp.forwarder().outstanding())).isZero();
    }

    @Test
    void silentUpstreamIsAskedTwiceThenServfail() throws Exception {
        StubDnsServer silent = stub(StubDnsServer.Mode.SILENT);
        network(Duration.ofMillis(600), silent.address());
        byte[] q = query(0x0102, "quiet.example", StubDnsServer.AAAA, true);
        sendUdp(q, 5353);
        assertServfail(reply().payload(), q);
        assertThat(silent.udpQueries.poll(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(silent.udpQueries.poll(5, TimeUnit.SECONDS))
                .as("one retransmission")
                .isNotNull();
    }

    @Test
    void timeoutIsCappedBelowTheGuestResolversFiveSeconds() {
        assertThat(DnsForwarder.effectiveTimeout(Duration.ofSeconds(10))).isEqualTo(Duration.ofMillis(4500));
        assertThat(DnsForwarder.effectiveTimeout(Duration.ofSeconds(4))).isEqualTo(Duration.ofSeconds(4));
        assertThat(DnsForwarder.effectiveTimeout(Duration.ZERO)).isPositive();
        assertThat(DnsForwarder.effectiveTimeout(NetworkConfig.builder().build().dnsTimeout()))
                .isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void failsOverToTheNextUpstream() throws Exception {
        StubDnsServer silent = stub(StubDnsServer.Mode.SILENT);
        StubDnsServer good = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(2), silent.address(), good.address());
        byte[] q = query(0x4242, "second.example", StubDnsServer.MX, false);
        sendUdp(q, 5353);
        Sent s = reply();
        assertThat(rcode(s.payload())).isZero();
        assertThat(id(s.payload())).isEqualTo(0x4242);
        assertThat(afterId(s.payload())).isEqualTo(afterId(good.answers.poll(5, TimeUnit.SECONDS)));
        assertThat(silent.udpQueries.poll(5, TimeUnit.SECONDS))
                .as("first upstream was tried")
                .isNotNull();

        // a dead first upstream fails over the same way
        StubDnsServer good2 = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(2), deadPort(), good2.address());
        sendUdp(q, 5354);
        assertThat(rcode(reply().payload())).isZero();
    }

    @Test
    void servfailFromOneUpstreamAsksTheNext() throws Exception {
        StubDnsServer failing = stub(StubDnsServer.Mode.SERVFAIL);
        StubDnsServer good = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(4), failing.address(), good.address());
        byte[] q = query(9, "flaky.example", StubDnsServer.A, false);
        sendUdp(q, 5353);
        Sent s = reply();
        assertThat(rcode(s.payload())).isZero();
        assertThat(afterId(s.payload())).isEqualTo(afterId(good.answers.poll(5, TimeUnit.SECONDS)));
        // with only failing upstreams the guest gets their answer
        network(Duration.ofSeconds(4), failing.address());
        sendUdp(q, 5354);
        assertThat(rcode(reply().payload())).isEqualTo(2);
    }

    @Test
    void garbageQueriesAreDroppedAndCounted() throws Exception {
        StubDnsServer up = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(4), up.address());
        byte[] good = query(1, "ok.example", StubDnsServer.A, false);
        List<byte[]> bad = new ArrayList<>();
        bad.add(new byte[0]);
        bad.add(new byte[11]);
        bad.add(Arrays.copyOf(good, 12)); // header, no question
        bad.add(Arrays.copyOf(good, good.length - 1)); // QCLASS cut
        byte[] response = good.clone();
        response[2] |= (byte) 0x80; // QR set
        bad.add(response);
        byte[] twoQuestions = good.clone();
        twoQuestions[5] = 2;
        bad.add(twoQuestions);
        byte[] noQuestion = good.clone();
        noQuestion[5] = 0;
        bad.add(noQuestion);
        byte[] labelOverrun = good.clone();
        labelOverrun[12] = 60; // label longer than the message
        bad.add(labelOverrun);
        byte[] pointer = good.clone();
        pointer[12] = (byte) 0xc0; // compression pointer in the question
        bad.add(pointer);
        byte[] longName = new byte[12 + 300];
        longName[5] = 1;
        for (int i = 12; i < 12 + 290; i += 10) {
            longName[i] = 9; // 29 labels of 9 bytes: name > 255
        }
        bad.add(longName);
        for (byte[] b : bad) {
            sendUdp(b, 6000);
        }
        sendUdp(good, 6001);
        Sent s = reply();
        assertThat(s.dstPort()).as("only the good query is answered").isEqualTo(6001);
        assertThat(stat(() -> ctx.stats().dnsMalformed)).isEqualTo(bad.size());
        assertThat(stat(() -> ctx.stats().dnsQueries)).isEqualTo(1);
        assertThat(up.udpQueries.poll(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(up.udpQueries).as("nothing else reached the upstream").isEmpty();
        assertThat(ctx.sent).isEmpty();
    }

    @Test
    void forgedAnswersAreIgnored() throws Exception {
        StubDnsServer silent = stub(StubDnsServer.Mode.SILENT);
        network(Duration.ofSeconds(3), silent.address());
        byte[] q = query(0x5555, "target.example", StubDnsServer.A, false);
        sendUdp(q, 5353);
        byte[] upQ = silent.udpQueries.poll(5, TimeUnit.SECONDS);
        // an answer with the right ID but a different question, from the upstream's own socket
        byte[] wrongQuestion =
                silent.answer(query(id(upQ), "other.example", StubDnsServer.A, false), StubDnsServer.Mode.ANSWER, true);
        // the right answer, but from another socket (not the upstream)
        byte[] right = silent.answer(upQ, StubDnsServer.Mode.ANSWER, true);
        SocketAddress to = silent.lastSource;
        silent.udp.send(new DatagramPacket(wrongQuestion, wrongQuestion.length, to));
        try (DatagramSocket other = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))) {
            other.send(new DatagramPacket(right, right.length, to));
        }
        // then the real answer from the upstream
        silent.udp.send(new DatagramPacket(right, right.length, to));
        Sent s = reply();
        assertThat(rcode(s.payload())).isZero();
        assertThat(afterId(s.payload())).isEqualTo(afterId(right));
        assertThat(stat(() -> ctx.stats().dnsMalformed))
                .as("the wrong-question answer")
                .isEqualTo(1);
    }

    @Test
    void outstandingQueriesAreCapped() throws Exception {
        StubDnsServer silent = stub(StubDnsServer.Mode.SILENT);
        network(Duration.ofSeconds(4), silent.address());
        DnsForwarder f = new DnsForwarder(ctx.config(), loop, host, ctx.stats(), ctx.alloc(), 2);
        udp = new DnsUdpEndpoint(f);
        for (int i = 0; i < 3; i++) {
            sendUdp(query(i, "n" + i + ".example", StubDnsServer.A, false), 7000 + i);
        }
        assertThat(stat(() -> ctx.stats().dnsDropped)).isEqualTo(1);
        assertThat(stat(() -> (long) f.outstanding())).isEqualTo(2);
        onLoop(() -> {
            f.close();
            return null;
        });
        assertThat(stat(() -> (long) f.outstanding())).isZero();
        assertThat(ctx.sent).as("closing answers nothing").isEmpty();
    }

    @Test
    void truncatedAnswerIsRelayedToUdpClientsAndOversizedOnesAreCut() throws Exception {
        StubDnsServer trunc = stub(StubDnsServer.Mode.TRUNCATE_UDP);
        network(Duration.ofSeconds(4), trunc.address());
        byte[] q = query(0x0a0b, "big.example", StubDnsServer.TXT, true);
        sendUdp(q, 5353);
        Sent s = reply();
        assertThat(s.payload()[2] & 0x02).as("TC relayed").isNotZero();
        assertThat(afterId(s.payload())).isEqualTo(afterId(trunc.answers.poll(5, TimeUnit.SECONDS)));
        assertThat(trunc.tcpQueries).as("a UDP client retries over TCP itself").isEmpty();

        // an answer larger than one datagram on the guest link: header and question with TC
        StubDnsServer big = stub(StubDnsServer.Mode.ANSWER);
        big.txtLength = 3000;
        network(Duration.ofSeconds(4), big.address());
        sendUdp(q, 5354);
        s = reply();
        assertThat(s.payload().length).isEqualTo(StubDnsServer.questionEnd(q));
        assertThat(s.payload()[2] & 0x02).isNotZero();
        assertThat(id(s.payload())).isEqualTo(0x0a0b);
        assertThat(rcode(s.payload())).isZero();
    }

    // ------------------------------------------------------------------------------------------ TCP

    static byte[] framed(byte[]... msgs) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] m : msgs) {
            o.write(m.length >> 8);
            o.write(m.length);
            o.writeBytes(m);
        }
        return o.toByteArray();
    }

    /** Reads framed answers from an EmbeddedChannel (all on the loop) until {@code n} came or 10 s passed. */
    static List<byte[]> readFramed(EmbeddedChannel ch, int n) throws Exception {
        ByteArrayOutputStream acc = new ByteArrayOutputStream();
        List<byte[]> out = new ArrayList<>();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (out.size() < n && System.nanoTime() < end) {
            ByteBuf b = onLoop(ch::readOutbound);
            if (b == null) {
                Thread.sleep(10);
                continue;
            }
            acc.writeBytes(ByteBufUtil.getBytes(b));
            b.release();
            byte[] all = acc.toByteArray();
            int i = 0;
            out.clear();
            while (i + 2 <= all.length) {
                int len = ((all[i] & 0xff) << 8) | (all[i + 1] & 0xff);
                if (i + 2 + len > all.length) {
                    break;
                }
                out.add(Arrays.copyOfRange(all, i + 2, i + 2 + len));
                i += 2 + len;
            }
        }
        return out;
    }

    EmbeddedChannel tcpClient(DnsForwarder f) throws Exception {
        return onLoop(() -> new EmbeddedChannel(new DnsTcpHandler(f)));
    }

    void write(EmbeddedChannel ch, byte[] bytes) throws Exception {
        onLoop(() -> ch.writeInbound(Unpooled.wrappedBuffer(bytes)));
    }

    @Test
    void tcpFramingTwoQueriesInOneReadAndOneSplitAcrossReads() throws Exception {
        StubDnsServer up = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(4), up.address());
        DnsForwarder f = DnsForwarder.create(ctx);
        udp = new DnsUdpEndpoint(f);
        EmbeddedChannel ch = tcpClient(f);
        byte[] q1 = query(0x1001, "one.example", StubDnsServer.A, false);
        byte[] q2 = query(0x1002, "two.example", StubDnsServer.AAAA, false);
        write(ch, framed(q1, q2));
        List<byte[]> answers = readFramed(ch, 2);
        assertThat(answers).extracting(DnsForwarderTest::id).containsExactlyInAnyOrder(0x1001, 0x1002);
        for (byte[] a : answers) {
            assertThat(rcode(a)).isZero();
            assertThat(a[7]).as("one answer record").isEqualTo((byte) 1);
        }

        byte[] q3 = query(0x1003, "three.example", StubDnsServer.MX, true);
        byte[] f3 = framed(q3);
        write(ch, Arrays.copyOfRange(f3, 0, 1)); // half of the length
        write(ch, Arrays.copyOfRange(f3, 1, 9)); // rest of the length and part of the header
        assertThat(onLoop(() -> f.outstanding()))
                .as("nothing sent before the frame is whole")
                .isZero();
        write(ch, Arrays.copyOfRange(f3, 9, f3.length));
        answers = readFramed(ch, 1);
        assertThat(answers).singleElement().satisfies(a -> assertThat(id(a)).isEqualTo(0x1003));

        // a malformed frame is dropped and counted; the connection keeps working
        byte[] q4 = query(0x1004, "four.example", StubDnsServer.TXT, false);
        write(ch, framed(new byte[5], new byte[0], q4));
        answers = readFramed(ch, 1);
        assertThat(answers).singleElement().satisfies(a -> assertThat(id(a)).isEqualTo(0x1004));
        assertThat(stat(() -> ctx.stats().dnsMalformed)).isEqualTo(2);
        assertThat(onLoop(ch::isActive)).isTrue();
        onLoop(ch::finishAndReleaseAll);
    }

    @Test
    void tcpClientGetsTheFullAnswerWhenUdpIsTruncated() throws Exception {
        StubDnsServer up = stub(StubDnsServer.Mode.TRUNCATE_UDP);
        up.txtLength = 3000;
        network(Duration.ofSeconds(4), up.address());
        DnsForwarder f = DnsForwarder.create(ctx);
        udp = new DnsUdpEndpoint(f);
        EmbeddedChannel ch = tcpClient(f);
        byte[] q = query(0x2222, "big.example", StubDnsServer.TXT, false);
        write(ch, framed(q));
        List<byte[]> answers = readFramed(ch, 1);
        assertThat(answers).singleElement().satisfies(a -> {
            assertThat(id(a)).isEqualTo(0x2222);
            assertThat(a[2] & 0x02).as("not truncated").isZero();
            assertThat(a.length).isGreaterThan(3000);
        });
        assertThat(up.udpQueries.poll(5, TimeUnit.SECONDS))
                .as("asked over UDP first")
                .isNotNull();
        assertThat(afterId(up.tcpQueries.poll(5, TimeUnit.SECONDS)))
                .as("then over TCP")
                .isEqualTo(afterId(q));
        onLoop(ch::finishAndReleaseAll);
    }

    @Test
    void tcpClientGetsServfailWhenUpstreamsAreDown() throws Exception {
        network(Duration.ofMillis(500), deadPort());
        DnsForwarder f = DnsForwarder.create(ctx);
        udp = new DnsUdpEndpoint(f);
        EmbeddedChannel ch = tcpClient(f);
        byte[] q = query(0x3333, "down.example", StubDnsServer.A, false);
        write(ch, framed(q));
        List<byte[]> answers = readFramed(ch, 1);
        assertThat(answers).singleElement().satisfies(a -> assertServfail(a, q));
        onLoop(ch::finishAndReleaseAll);
    }

    @Test
    void tcpConnectionStopsReadingAtItsLimitAndResumes() throws Exception {
        StubDnsServer silent = stub(StubDnsServer.Mode.SILENT);
        network(Duration.ofMillis(700), silent.address());
        DnsForwarder f = DnsForwarder.create(ctx);
        udp = new DnsUdpEndpoint(f);
        EmbeddedChannel ch = tcpClient(f);
        int n = DnsTcpHandler.MAX_PER_CONNECTION + 3;
        byte[][] qs = new byte[n][];
        for (int i = 0; i < n; i++) {
            qs[i] = query(i, "q" + i + ".example", StubDnsServer.A, false);
        }
        write(ch, framed(qs));
        assertThat(onLoop(() -> f.outstanding())).isEqualTo(DnsTcpHandler.MAX_PER_CONNECTION);
        assertThat(onLoop(() -> ch.config().isAutoRead())).isFalse();
        // the first 64 time out with SERVFAIL; then the 3 held back are sent and time out too
        List<byte[]> answers = readFramed(ch, n);
        assertThat(answers).hasSize(n);
        assertThat(answers)
                .extracting(DnsForwarderTest::id)
                .containsExactlyInAnyOrder(IntStream.range(0, n).boxed().toArray(Integer[]::new));
        assertThat(answers).allSatisfy(a -> assertThat(rcode(a)).isEqualTo(2));
        assertThat(onLoop(() -> ch.config().isAutoRead())).isTrue();
        onLoop(ch::finishAndReleaseAll);
    }

    @Test
    void tcpHandlerOnARealHostSocket() throws Exception {
        StubDnsServer up = stub(StubDnsServer.Mode.ANSWER);
        network(Duration.ofSeconds(4), up.address());
        DnsForwarder f = DnsForwarder.create(ctx);
        udp = new DnsUdpEndpoint(f);
        Channel server = new ServerBootstrap()
                .group(loop, loop)
                .channel(host.serverSocketChannel())
                .childHandler(DnsTcpHandler.initializer(f))
                .bind(InetAddress.getByName("127.0.0.1"), 0)
                .sync()
                .channel();
        try (Socket sock = new Socket()) {
            sock.connect(server.localAddress(), 5000);
            sock.setSoTimeout(10_000);
            byte[] q1 = query(0x7001, "r1.example", StubDnsServer.TXT, true);
            byte[] q2 = query(0x7002, "r2.example", StubDnsServer.PTR, false);
            sock.getOutputStream().write(framed(q1, q2));
            sock.getOutputStream().flush();
            DataInputStream in = new DataInputStream(sock.getInputStream());
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                byte[] a = new byte[in.readUnsignedShort()];
                in.readFully(a);
                assertThat(rcode(a)).isZero();
                ids.add(id(a));
            }
            assertThat(ids).containsExactlyInAnyOrder(0x7001, 0x7002);
        } finally {
            server.close().sync();
        }
    }
}
