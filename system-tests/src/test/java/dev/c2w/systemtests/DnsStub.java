package dev.c2w.systemtests;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, ephemeral port) standing in for the
 * upstream resolver: A queries for the configured names get their address, other types
 * of a known name get an empty NOERROR answer, unknown names get NXDOMAIN. Malformed
 * datagrams are counted and dropped.
 */
final class DnsStub implements AutoCloseable {
    private final DatagramSocket socket;
    private final Map<String, byte[]> records;
    private final Map<String, AtomicInteger> queries = new ConcurrentHashMap<>();
    private final AtomicInteger malformed = new AtomicInteger();
    private final Thread thread;

    /** @param records lower-case names without trailing dot, mapped to IPv4 addresses */
    DnsStub(Map<String, String> records) throws IOException {
        this.records = new ConcurrentHashMap<>();
        for (Map.Entry<String, String> e : records.entrySet()) {
            this.records.put(
                    e.getKey().toLowerCase(Locale.ROOT),
                    InetAddress.getByName(e.getValue()).getAddress());
        }
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = new Thread(this::serve, "dns-stub");
        thread.setDaemon(true);
        thread.start();
    }

    int port() {
        return socket.getLocalPort();
    }

    /** How many queries (any type) asked for this name. */
    int queriesFor(String name) {
        AtomicInteger n = queries.get(name.toLowerCase(Locale.ROOT));
        return n == null ? 0 : n.get();
    }

    int malformed() {
        return malformed.get();
    }

    private void serve() {
        byte[] buf = new byte[1500];
        while (!socket.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
            } catch (SocketException e) {
                return; // closed
            } catch (IOException e) {
                continue;
            }
            byte[] reply = answer(buf, p.getLength());
            if (reply == null) {
                malformed.incrementAndGet();
                continue;
            }
            try {
                socket.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
            } catch (IOException e) {
                // the client is gone; nothing to do
            }
        }
    }

    /** Builds the reply to one query, or null if the datagram is not a query we understand. */
    byte[] answer(byte[] msg, int len) {
        if (len < 12) {
            return null;
        }
        ByteBuffer in = ByteBuffer.wrap(msg, 0, len);
        int id = in.getShort(0) & 0xffff;
        int flags = in.getShort(2) & 0xffff;
        int qdcount = in.getShort(4) & 0xffff;
        if ((flags & 0x8000) != 0 || ((flags >> 11) & 0xf) != 0 || qdcount != 1) {
            return null;
        }
        StringBuilder name = new StringBuilder();
        int pos = 12;
        while (true) {
            if (pos >= len) {
                return null;
            }
            int labelLen = msg[pos] & 0xff;
            if (labelLen == 0) {
                pos++;
                break;
            }
            if (labelLen > 63 || pos + 1 + labelLen > len) {
                return null; // compression pointers do not occur in a query's question
            }
            if (name.length() > 0) {
                name.append('.');
            }
            name.append(new String(msg, pos + 1, labelLen, StandardCharsets.US_ASCII));
            pos += 1 + labelLen;
        }
        if (pos + 4 > len) {
            return null;
        }
        int qtype = in.getShort(pos) & 0xffff;
        int qclass = in.getShort(pos + 2) & 0xffff;
        int questionEnd = pos + 4;
        String qname = name.toString().toLowerCase(Locale.ROOT);
        queries.computeIfAbsent(qname, k -> new AtomicInteger()).incrementAndGet();

        byte[] address = records.get(qname);
        boolean answerA = address != null && qtype == 1 && qclass == 1;
        int rcode = address == null ? 3 : 0;
        ByteBuffer out = ByteBuffer.allocate(questionEnd + (answerA ? 16 : 0));
        out.putShort((short) id);
        // QR=1, opcode 0, AA=1, RD copied from the query, RA=1, rcode.
        out.putShort((short) (0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode));
        out.putShort((short) 1);
        out.putShort((short) (answerA ? 1 : 0));
        out.putShort((short) 0);
        out.putShort((short) 0);
        out.put(msg, 12, questionEnd - 12);
        if (answerA) {
            out.putShort((short) 0xc00c); // pointer to the question's name
            out.putShort((short) 1);
            out.putShort((short) 1);
            out.putInt(60);
            out.putShort((short) 4);
            out.put(address);
        }
        return out.array();
    }

    @Override
    public void close() {
        socket.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
