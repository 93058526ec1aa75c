package dev.c2w.netstack.ip;

import io.netty.buffer.ByteBuf;

/**
 * What a transport layer (TCP, UDP, ICMP) needs from the IP layer to send to a guest: a frame buffer with
 * room for the Ethernet and IPv4 headers, the send that fills them in, the guest's MAC and whether its link
 * takes more frames. The gateway implements it; transport code depends on this interface only.
 */
public interface IpOutput {
    /** A frame buffer whose writer index is at the IP payload, with room for {@code payloadLength} bytes. */
    ByteBuf newIpPacket(int payloadLength);

    /**
     * Fills in the Ethernet and IPv4 headers of a packet from {@link #newIpPacket} (payload up to its writer
     * index) and sends it; ownership passes. {@code dstMac} {@code MacAddress.NONE} looks the guest up by IP.
     */
    void sendIp(ByteBuf packet, int protocol, int src, int dst, long dstMac);

    /** Whether the link towards guest {@code ip} (or {@code mac} when known) takes frames now. */
    boolean linkWritable(int ip, long mac);

    /** The MAC learned for a guest IP, or {@code MacAddress.NONE}. */
    long macOf(int ip);

    /**
     * ICMP destination unreachable with {@code code} to the sender of the IPv4 packet at {@code ipOff} of
     * {@code orig} (borrowed), quoting its header and first 8 bytes.
     */
    void sendIcmpUnreachable(ByteBuf orig, int ipOff, int code, long dstMac);
}
