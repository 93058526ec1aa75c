package dev.c2w.netstack.services.dns;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A tiny upstream DNS server on 127.0.0.1 for tests, UDP and TCP on the same port. It answers A, AAAA, MX,
 * TXT, PTR and ANY with fixed records, and records every query it got and every answer it sent.
 */
final class StubDnsServer implements AutoCloseable {
    enum Mode {
        /** Answer every query. */
        ANSWER,
        /** Read queries, never answer. */
        SILENT,
        /** Answer with RCODE 2 and no records. */
        SERVFAIL,
        /** Over UDP, answer with TC set and no records; over TCP, answer fully. */
        TRUNCATE_UDP
    }

    static final int A = 1, PTR = 12, MX = 15, TXT = 16, AAAA = 28, ANY = 255;

    volatile Mode mode;
    /** Length of the TXT string in answers (up to 255 per string; several strings when longer). */
    volatile int txtLength = 11;

    final DatagramSocket udp;
    final ServerSocket tcp;
    final BlockingQueue<byte[]> udpQueries = new LinkedBlockingQueue<>();
    final BlockingQueue<byte[]> tcpQueries = new LinkedBlockingQueue<>();
    /** Where the last UDP query came from. */
    volatile SocketAddress lastSource;

    final BlockingQueue<byte[]> answers = new LinkedBlockingQueue<>();
    private final Thread udpThread;
    private final Thread tcpThread;

    StubDnsServer(Mode mode) throws IOException {
        this.mode = mode;
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        ServerSocket t = null;
        DatagramSocket u = null;
        for (int tries = 0; u == null; tries++) {
            t = new ServerSocket(0, 50, lo);
            try {
                u = new DatagramSocket(new InetSocketAddress(lo, t.getLocalPort()));
            } catch (SocketException e) {
                t.close();
                if (tries > 20) {
                    throw e;
                }
            }
        }
        tcp = t;
        udp = u;
        udpThread = new Thread(this::udpLoop, "stub-dns-udp");
        udpThread.setDaemon(true);
        udpThread.start();
        tcpThread = new Thread(this::tcpLoop, "stub-dns-tcp");
        tcpThread.setDaemon(true);
        tcpThread.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) udp.getLocalSocketAddress();
    }

    private void udpLoop() {
        byte[] buf = new byte[65535];
        while (!udp.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                udp.receive(p);
                byte[] q = Arrays.copyOf(p.getData(), p.getLength());
                lastSource = p.getSocketAddress();
                udpQueries.add(q);
                Mode m = mode;
                if (m == Mode.SILENT) {
                    continue;
                }
                byte[] a = answer(q, m, true);
                answers.add(a);
                udp.send(new DatagramPacket(a, a.length, p.getSocketAddress()));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void tcpLoop() {
        while (!tcp.isClosed()) {
            try (Socket s = tcp.accept()) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                int len = in.readUnsignedShort();
                byte[] q = new byte[len];
                in.readFully(q);
                tcpQueries.add(q);
                if (mode == Mode.SILENT) {
                    continue;
                }
                byte[] a = answer(q, mode == Mode.TRUNCATE_UDP ? Mode.ANSWER : mode, false);
                answers.add(a);
                out.writeShort(a.length);
                out.write(a);
                out.flush();
                in.read();
            } catch (IOException e) {
                if (tcp.isClosed()) {
                    return;
                }
            }
        }
    }

    static int questionEnd(byte[] q) {
        int i = 12;
        while (q[i] != 0) {
            i += (q[i] & 0xff) + 1;
        }
        return i + 5;
    }

    static int qtype(byte[] q) {
        int e = questionEnd(q);
        return ((q[e - 4] & 0xff) << 8) | (q[e - 3] & 0xff);
    }

    byte[] answer(byte[] q, Mode m, boolean overUdp) {
        int qEnd = questionEnd(q);
        int type = qtype(q);
        ByteArrayOutputStream rrs = new ByteArrayOutputStream();
        int count = 0;
        int rcode = 0;
        boolean tc = false;
        if (m == Mode.SERVFAIL) {
            rcode = 2;
        } else if (m == Mode.TRUNCATE_UDP && overUdp) {
            tc = true;
        } else {
            if (type == A || type == ANY) {
                rr(rrs, A, new byte[] {10, 1, 2, 3});
                count++;
            }
            if (type == AAAA) {
                byte[] v6 = new byte[16];
                v6[0] = (byte) 0xfd;
                v6[15] = 7;
                rr(rrs, AAAA, v6);
                count++;
            }
            if (type == MX) {
                ByteBuffer b = ByteBuffer.allocate(2 + 6 + 2);
                b.putShort((short) 10).put(name("mail")).put((byte) 0xc0).put((byte) 12);
                rr(rrs, MX, b.array());
                count++;
            }
            if (type == TXT || type == ANY) {
                ByteArrayOutputStream t = new ByteArrayOutputStream();
                int left = txtLength;
                char c = 'a';
                while (left > 0) {
                    int n = Math.min(255, left);
                    t.write(n);
                    for (int i = 0; i < n; i++) {
                        t.write(c);
                    }
                    c++;
                    left -= n;
                }
                rr(rrs, TXT, t.toByteArray());
                count++;
            }
            if (type == PTR) {
                byte[] host = "\u0004host\u0007example\u0000".getBytes(StandardCharsets.US_ASCII);
                rr(rrs, PTR, host);
                count++;
            }
        }
        ByteBuffer b = ByteBuffer.allocate(qEnd + rrs.size());
        b.put(q[0]).put(q[1]);
        int flags = 0x8000 | (q[2] & 0x79) << 8 | 0x80 | rcode | (tc ? 0x0200 : 0);
        b.putShort((short) flags)
                .putShort((short) 1)
                .putShort((short) count)
                .putShort((short) 0)
                .putShort((short) 0);
        b.put(q, 12, qEnd - 12);
        b.put(rrs.toByteArray());
        return b.array();
    }

    private static byte[] name(String label) {
        byte[] l = label.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[l.length + 1];
        out[0] = (byte) l.length;
        System.arraycopy(l, 0, out, 1, l.length);
        return out;
    }

    private static void rr(ByteArrayOutputStream out, int type, byte[] rdata) {
        ByteBuffer b = ByteBuffer.allocate(12 + rdata.length);
        b.put((byte) 0xc0)
                .put((byte) 12)
                .putShort((short) type)
                .putShort((short) 1)
                .putInt(300)
                .putShort((short) rdata.length)
                .put(rdata);
        out.writeBytes(b.array());
    }

    @Override
    public void close() throws IOException {
        udp.close();
        tcp.close();
    }
}
