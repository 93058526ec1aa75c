package dev.c2w.netstack.transport.ws;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/** A DHCP client's packets written by hand (RFC 2131/2132), to drive the gateway's DHCP server in tests. */
final class DhcpTestPackets {
    static final int DISCOVER = 1;
    static final int OFFER = 2;
    static final int REQUEST = 3;
    static final int ACK = 5;
    static final int NAK = 6;

    /** A parsed server reply: message type, the offered address and the options. */
    record Reply(int type, int xid, int yiaddr, Map<Integer, byte[]> options) {
        int optionIp(int code) {
            byte[] v = options.get(code);
            return v == null || v.length < 4 ? 0 : ByteBuffer.wrap(v).getInt();
        }
    }

    private DhcpTestPackets() {}

    /** A broadcast DISCOVER (requestedIp 0, serverId 0) or REQUEST frame from {@code mac}. */
    static byte[] frame(long mac, int xid, int type, int requestedIp, int serverId) {
        ByteBuffer bootp = ByteBuffer.allocate(300);
        bootp.put((byte) 1).put((byte) 1).put((byte) 6).put((byte) 0);
        bootp.putInt(xid);
        bootp.putShort((short) 0).putShort((short) 0x8000);
        bootp.putInt(0).putInt(0).putInt(0).putInt(0);
        byte[] chaddr = new byte[16];
        TestFrames.putMac(chaddr, 0, mac);
        bootp.put(chaddr);
        bootp.position(bootp.position() + 64 + 128);
        bootp.putInt(0x63825363);
        bootp.put((byte) 53).put((byte) 1).put((byte) type);
        if (requestedIp != 0) {
            bootp.put((byte) 50).put((byte) 4).putInt(requestedIp);
        }
        if (serverId != 0) {
            bootp.put((byte) 54).put((byte) 4).putInt(serverId);
        }
        bootp.put((byte) 55).put((byte) 6).put(new byte[] {1, 3, 6, 15, 51, 54});
        bootp.put((byte) 255);
        byte[] dhcp = bootp.array(); // zero padding up to 300 bytes

        int udpLen = 8 + dhcp.length;
        int ipLen = 20 + udpLen;
        ByteBuffer f = ByteBuffer.allocate(14 + ipLen);
        byte[] eth = new byte[12];
        TestFrames.putMac(eth, 0, 0xffff_ffff_ffffL);
        TestFrames.putMac(eth, 6, mac);
        f.put(eth).putShort((short) 0x0800);
        int ipStart = f.position();
        f.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) ipLen)
                .putShort((short) xid)
                .putShort((short) 0)
                .put((byte) 64)
                .put((byte) 17)
                .putShort((short) 0)
                .putInt(0)
                .putInt(0xffff_ffff);
        f.putShort(ipStart + 10, (short) ipChecksum(f.array(), ipStart, 20));
        f.putShort((short) 68).putShort((short) 67).putShort((short) udpLen).putShort((short) 0);
        f.put(dhcp);
        return f.array();
    }

    static int ipChecksum(byte[] b, int off, int len) {
        int sum = 0;
        for (int i = 0; i < len; i += 2) {
            sum += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return ~sum & 0xffff;
    }

    /** The DHCP reply in {@code frame} for {@code xid}, or null when the frame is something else. */
    static Reply parse(byte[] frame, int xid) {
        ByteBuffer f = ByteBuffer.wrap(frame);
        if (frame.length < 14 + 20 + 8 + 240 || f.getShort(12) != 0x0800) {
            return null;
        }
        int ip = 14;
        int ihl = (frame[ip] & 0x0f) * 4;
        if (frame[ip + 9] != 17) {
            return null;
        }
        int udp = ip + ihl;
        if ((f.getShort(udp + 2) & 0xffff) != 68) {
            return null;
        }
        int d = udp + 8;
        if (frame[d] != 2 || f.getInt(d + 4) != xid || f.getInt(d + 236) != 0x63825363) {
            return null;
        }
        int yiaddr = f.getInt(d + 16);
        Map<Integer, byte[]> opts = new HashMap<>();
        int i = d + 240;
        while (i < frame.length) {
            int code = frame[i] & 0xff;
            if (code == 255) {
                break;
            }
            if (code == 0) {
                i++;
                continue;
            }
            if (i + 1 >= frame.length) {
                break;
            }
            int len = frame[i + 1] & 0xff;
            if (i + 2 + len > frame.length) {
                break;
            }
            byte[] v = new byte[len];
            System.arraycopy(frame, i + 2, v, 0, len);
            opts.put(code, v);
            i += 2 + len;
        }
        byte[] t = opts.get(53);
        return new Reply(t == null ? 0 : t[0] & 0xff, xid, yiaddr, opts);
    }
}
