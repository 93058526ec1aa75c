package dev.c2w.netstack.lan;

import dev.c2w.netstack.config.NetStats;
import dev.c2w.netstack.config.NetworkConfig;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.netstack.loop.LoopTurnBatch;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.FrameDescriber;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;
import java.util.ArrayList;
import java.util.List;

/**
 * The LAN: a learning Ethernet switch with one port per attached guest link and one router port, the
 * gateway's. The switch knows nothing of what is behind a port.
 *
 * <p>Guest ports learn: every frame from one teaches the switch that its source MAC lives behind it. The
 * router port has a fixed MAC (the gateway's), which no guest can take over. Broadcast and multicast are
 * flooded to every other port; unicast to a known MAC goes to its port; unknown unicast is dropped and
 * counted (the gateway answers ARP for everything it owns, so a well-behaved guest never needs flooding),
 * except that the router's frames go to the only guest when there is exactly one and it sent nothing yet.
 *
 * <p>Writes to a guest port are not flushed one by one: the first frame that makes a port dirty queues it in
 * a {@link LoopTurnBatch}, so a burst of frames leaves in one gathered write. What the switch learns about
 * its links flows out to {@link Listener}s: a link that drained, a MAC that left with its port.
 * Event-loop confined.
 */
@SuppressWarnings("NonAtomicVolatileUpdate") // NetStats has one writer, the loop; volatile is for its readers
public final class Switch {
    /** Told of the LAN's links; called on the loop. */
    public interface Listener {
        /** A guest link drained and takes frames again. */
        default void linkWritable() {}

        /** A port was detached and {@code mac}, learned behind it, is gone. */
        default void macLeft(long mac) {}
    }

    private static final System.Logger LOG = System.getLogger(Switch.class.getName());

    private final NetworkConfig config;
    private final NetStats stats;
    private final PcapWriter pcap;
    private final List<Port> ports = new ArrayList<>();
    private final LongObjectHashMap<Port> cam = new LongObjectHashMap<>();
    private final LoopTurnBatch<Port> dirty;
    private final List<Listener> listeners = new ArrayList<>();
    private int guestPorts;
    private int nextPortId = 1;
    private boolean closed;

    public Switch(NetworkConfig config, EventLoop loop, NetStats stats, PcapWriter pcap) {
        this.config = config;
        this.stats = stats;
        this.pcap = pcap;
        this.dirty = new LoopTurnBatch<>(loop, Switch::flush);
    }

    public void addListener(Listener l) {
        listeners.add(l);
    }

    /** Attaches a guest link: frames for it go to {@code sink}, frames from it are handed to the port. */
    public GuestPort attach(FrameSink sink) {
        Port p = new Port(nextPortId++, sink, MacAddress.NONE);
        if (closed) {
            sink.portClosed();
            p.closed = true;
            return p;
        }
        ports.add(p);
        guestPorts++;
        return p;
    }

    /** Attaches the router (the gateway) with its fixed {@code mac}: frames to that MAC and broadcasts go to {@code sink}. */
    public RouterPort attachRouter(FrameSink sink, long mac) {
        Port p = new Port(0, sink, mac);
        ports.add(p);
        cam.put(mac, p);
        return p;
    }

    private void receive(Port from, ByteBuf frame) {
        if (from.isGuest()) {
            stats.framesIn++;
            stats.bytesIn += frame.readableBytes();
        }
        if (frame.readableBytes() < Ethernet.HEADER) {
            stats.droppedMalformed++;
            frame.release();
            return;
        }
        if (pcap != null) {
            pcap.write(frame);
        }
        if (config.debug() && from.isGuest()) {
            LOG.log(System.Logger.Level.INFO, "port " + from.id + " in:  " + FrameDescriber.describe(frame));
        }
        long src = Ethernet.src(frame);
        if (from.isGuest() && !MacAddress.isMulticast(src)) {
            learn(from, src);
        }
        long dst = Ethernet.dst(frame);
        if (MacAddress.isMulticast(dst)) {
            flood(frame, from);
            return;
        }
        Port to = cam.get(dst);
        if (to == null && !from.isGuest() && guestPorts == 1) {
            to = onlyGuest(); // the guest sent nothing yet: a single guest is the obvious target
        }
        if (to == null || to == from) {
            stats.droppedUnknownUnicast++;
            frame.release();
            return;
        }
        to.deliver(frame);
    }

    private void learn(Port from, long src) {
        Port old = cam.get(src);
        if (old == from || (old != null && !old.isGuest())) {
            return; // known, or the router's own MAC (not to be taken over)
        }
        cam.put(src, from);
        from.macs.add(src);
        if (config.debug()) {
            LOG.log(System.Logger.Level.INFO, "port " + from.id + " has MAC " + MacAddress.format(src));
        }
    }

    private Port onlyGuest() {
        for (Port p : ports) {
            if (p.isGuest()) {
                return p;
            }
        }
        return null;
    }

    private void flood(ByteBuf frame, Port except) {
        for (int i = 0; i < ports.size(); i++) {
            Port p = ports.get(i);
            if (p != except) {
                p.deliver(frame.retainedDuplicate());
            }
        }
        frame.release();
    }

    private static void flush(Port p) {
        p.dirty = false;
        if (!p.closed) {
            p.sink.flush();
        }
    }

    public void close() {
        closed = true;
        for (Port p : new ArrayList<>(ports)) {
            p.close();
            p.sink.portClosed();
        }
    }

    private final class Port implements RouterPort {
        final int id;
        final FrameSink sink;
        /** The router's fixed MAC, or NONE for a guest port, which learns. */
        final long fixedMac;

        final List<Long> macs = new ArrayList<>(1);
        boolean dirty;
        boolean closed;

        Port(int id, FrameSink sink, long fixedMac) {
            this.id = id;
            this.sink = sink;
            this.fixedMac = fixedMac;
        }

        boolean isGuest() {
            return fixedMac == MacAddress.NONE;
        }

        void deliver(ByteBuf frame) {
            if (closed) {
                frame.release();
                return;
            }
            if (!isGuest()) {
                sink.sendFrame(frame); // the gateway handles it now; nothing to flush
                return;
            }
            stats.framesOut++;
            stats.bytesOut += frame.readableBytes();
            if (config.debug()) {
                LOG.log(System.Logger.Level.INFO, "port " + id + " out: " + FrameDescriber.describe(frame));
            }
            sink.sendFrame(frame);
            if (!dirty) {
                dirty = true;
                Switch.this.dirty.add(this);
            }
        }

        @Override
        public void receiveFrame(ByteBuf frame) {
            if (closed) {
                frame.release();
                return;
            }
            Switch.this.receive(this, frame);
        }

        @Override
        public boolean isWritable(long mac) {
            Port p = cam.get(mac);
            if (p == null && guestPorts == 1) {
                p = onlyGuest();
            }
            return p == null || p.closed || p.sink.isWritable();
        }

        @Override
        public void linkWritable() {
            if (!closed) {
                for (int i = 0; i < listeners.size(); i++) {
                    listeners.get(i).linkWritable();
                }
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            ports.remove(this);
            if (isGuest()) {
                guestPorts--;
            } else {
                cam.remove(fixedMac);
            }
            for (long mac : macs) {
                if (cam.get(mac) == this) {
                    cam.remove(mac);
                    for (int i = 0; i < listeners.size(); i++) {
                        listeners.get(i).macLeft(mac);
                    }
                }
            }
        }
    }
}
