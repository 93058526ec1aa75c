package dev.c2w.netstack.config;

/**
 * Counters of one network. Written only on its event loop; read from anywhere (values may lag).
 * Every dropped or refused input increments a counter here, so that bad input shows up as data.
 */
public final class NetStats {
    public volatile long framesIn;
    public volatile long framesOut;
    public volatile long bytesIn;
    public volatile long bytesOut;
    public long droppedMalformed;
    public long droppedChecksum;
    public long droppedFragments;
    public long droppedUnknownUnicast;
    public long droppedNoRoute;
    public long droppedFlowLimit;
    public long tcpFlowsOpened;
    public long tcpFlowsRefused;
    public long tcpRetransmits;
    public long udpFlowsOpened;
    public long dhcpPackets;
    public long dhcpMalformed;
    public long dnsQueries;
    public long dnsServfail;
    public long dnsMalformed;
    /** DNS queries dropped because too many were outstanding. */
    public long dnsDropped;

    @Override
    public String toString() {
        return "frames in=" + framesIn + " out=" + framesOut
                + " bytes in=" + bytesIn + " out=" + bytesOut
                + " dropped malformed=" + droppedMalformed + " checksum=" + droppedChecksum
                + " fragments=" + droppedFragments + " unknownUnicast=" + droppedUnknownUnicast
                + " noRoute=" + droppedNoRoute + " flowLimit=" + droppedFlowLimit
                + " tcp opened=" + tcpFlowsOpened + " refused=" + tcpFlowsRefused + " retransmits=" + tcpRetransmits
                + " udp opened=" + udpFlowsOpened
                + " dhcp=" + dhcpPackets + "/" + dhcpMalformed + " dns=" + dnsQueries + " servfail=" + dnsServfail
                + " malformed=" + dnsMalformed + " dropped=" + dnsDropped;
    }
}
