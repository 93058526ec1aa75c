package dev.c2w.netstack.lan;

import dev.c2w.netstack.NetStats;
import dev.c2w.netstack.NetworkConfig;
import dev.c2w.netstack.gateway.Gateway;
import dev.c2w.netstack.link.FrameSink;
import dev.c2w.netstack.link.GuestPort;
import dev.c2w.netstack.link.PcapWriter;
import dev.c2w.netstack.wire.Ethernet;
import dev.c2w.netstack.wire.FrameDescriber;
import dev.c2w.netstack.wire.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;

import java.util.ArrayList;
import java.util.List;

/*
 * The LAN: a learning Ethernet switch with one port per attached guest link, plus the gateway.
 *
 * Every frame from a port teaches the switch that its source MAC lives behind that port.
 * Frames to the gateway MAC go to the gateway; broadcast and multicast go to the gateway and
 * are flooded to every other port; unicast to a learned MAC goes to that port; unknown unicast
 * is dropped and counted (the gateway answers ARP for everything it owns, so a well-behaved
 * guest never needs flooding for unicast).
 *
 * Writes to a port are not flushed one by one: the first frame that makes a port dirty schedules
 * one flush task on the event loop, which runs after the current batch of I/O, so a burst of frames
 * leaves in one gathered write.
 */

/** The learning switch; see the comment above. Event-loop confined. */
public final class Switch {
    private static final System.Logger LOG = System.getLogger(Switch.class.getName());

    private final NetworkConfig config;
    private final EventLoop loop;
    private final NetStats stats;
    private final PcapWriter pcap;
    private final List<Port> ports = new ArrayList<>();
    private final LongObjectHashMap<Port> cam = new LongObjectHashMap<>();
    private final ArrayList<Port> dirty = new ArrayList<>();
    private final Runnable flushTask = this::flushDirty;
    private Gateway gateway;
    private int nextPortId = 1;
    private boolean closed;

    public Switch(NetworkConfig config, EventLoop loop, NetStats stats, PcapWriter pcap) {
        this.config = config;
        this.loop = loop;
        this.stats = stats;
        this.pcap = pcap;
    }

    public void setGateway(Gateway gateway) {
        this.gateway = gateway;
    }

    public GuestPort attach(FrameSink sink) {
        Port p = new Port(nextPortId++, sink);
        if (closed) {
            sink.portClosed();
            p.closed = true;
            return p;
        }
        ports.add(p);
        return p;
    }

    /** Sends a frame that the gateway built to the port that owns {@code dstMac}, or floods a broadcast. */
    public void sendFromGateway(ByteBuf frame) {
        if (frame.readableBytes() < Ethernet.HEADER) {
            frame.release();
            return;
        }
        if (pcap != null) {
            pcap.write(frame);
        }
        long dst = Ethernet.dst(frame);
        if (MacAddress.isMulticast(dst)) {
            flood(frame, null);
            return;
        }
        Port p = cam.get(dst);
        if (p == null) {
            // Not learned yet (e.g. the guest never sent a frame): a single guest is the obvious target.
            if (ports.size() == 1) {
                p = ports.get(0);
            } else {
                stats.droppedUnknownUnicast++;
                frame.release();
                return;
            }
        }
        p.deliver(frame);
    }

    /** Whether the link of the guest with {@code mac} takes frames now (unknown guests: yes). */
    public boolean isWritable(long mac) {
        Port p = cam.get(mac);
        if (p == null && ports.size() == 1) {
            p = ports.get(0);
        }
        return p == null || p.closed || p.sink.isWritable();
    }

    private void receive(Port from, ByteBuf frame) {
        stats.framesIn++;
        stats.bytesIn += frame.readableBytes();
        if (frame.readableBytes() < Ethernet.HEADER) {
            stats.droppedMalformed++;
            frame.release();
            return;
        }
        if (pcap != null) {
            pcap.write(frame);
        }
        if (config.debug()) {
            LOG.log(System.Logger.Level.INFO, "port " + from.id + " in:  " + FrameDescriber.describe(frame));
        }
        long src = Ethernet.src(frame);
        if (!MacAddress.isMulticast(src) && src != config.gatewayMac()) {
            Port old = cam.get(src);
            if (old != from) {
                cam.put(src, from);
                from.macs.add(src);
                if (config.debug()) {
                    LOG.log(System.Logger.Level.INFO, "port " + from.id + " has MAC " + MacAddress.format(src));
                }
            }
        }
        long dst = Ethernet.dst(frame);
        if (dst == config.gatewayMac()) {
            gateway.receive(frame, src);
            return;
        }
        if (MacAddress.isMulticast(dst)) {
            if (ports.size() > 1) {
                flood(frame.retainedDuplicate(), from);
            }
            gateway.receive(frame, src);
            return;
        }
        Port to = cam.get(dst);
        if (to == null || to == from) {
            stats.droppedUnknownUnicast++;
            frame.release();
            return;
        }
        to.deliver(frame);
    }

    private void flood(ByteBuf frame, Port except) {
        for (Port p : ports) {
            if (p != except) {
                p.deliver(frame.retainedDuplicate());
            }
        }
        frame.release();
    }

    private void markDirty(Port p) {
        if (!p.dirty) {
            p.dirty = true;
            if (dirty.isEmpty()) {
                loop.execute(flushTask);
            }
            dirty.add(p);
        }
    }

    private void flushDirty() {
        for (int i = 0; i < dirty.size(); i++) {
            Port p = dirty.get(i);
            p.dirty = false;
            if (!p.closed) {
                p.sink.flush();
            }
        }
        dirty.clear();
    }

    public void close() {
        closed = true;
        for (Port p : new ArrayList<>(ports)) {
            p.close();
            p.sink.portClosed();
        }
    }

    private final class Port implements GuestPort {
        final int id;
        final FrameSink sink;
        final List<Long> macs = new ArrayList<>(1);
        boolean dirty;
        boolean closed;

        Port(int id, FrameSink sink) {
            this.id = id;
            this.sink = sink;
        }

        void deliver(ByteBuf frame) {
            if (closed) {
                frame.release();
                return;
            }
            stats.framesOut++;
            stats.bytesOut += frame.readableBytes();
            if (config.debug()) {
                LOG.log(System.Logger.Level.INFO, "port " + id + " out: " + FrameDescriber.describe(frame));
            }
            sink.sendFrame(frame);
            markDirty(this);
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
        public void linkWritable() {
            if (!closed && gateway != null) {
                gateway.tcp().linkWritable();
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            ports.remove(this);
            for (long mac : macs) {
                if (cam.get(mac) == this) {
                    cam.remove(mac);
                    if (gateway != null) {
                        gateway.forgetMac(mac);
                    }
                }
            }
        }
    }
}
