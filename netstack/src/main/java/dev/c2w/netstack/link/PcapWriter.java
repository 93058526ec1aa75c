package dev.c2w.netstack.link;

import io.netty.buffer.ByteBuf;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Writes frames to a pcap file.
 *
 * <p>pcap (libpcap classic format, microsecond timestamps, LINKTYPE_ETHERNET) writer for every frame
 * the switch sees, in both directions. Synchronized because several networks (WebSocket mode) may share
 * one file; frames are copied to the stream at once and flushed at most every 100 ms or on close, so
 * tshark can read the file while c2w-net runs.
 */
public final class PcapWriter implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PcapWriter.class.getName());
    private final OutputStream out;
    private final byte[] rec = new byte[16];
    private byte[] copy = new byte[2048];
    private long lastFlush;
    private boolean failed;

    public PcapWriter(Path file) throws IOException {
        this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        byte[] h = new byte[24];
        putLe(h, 0, 0xa1b2c3d4);
        putLe16(h, 4, 2);
        putLe16(h, 6, 4);
        putLe(h, 8, 0);
        putLe(h, 12, 0);
        putLe(h, 16, 262144);
        putLe(h, 20, 1);
        out.write(h);
        out.flush();
    }

    private boolean closed;

    public synchronized void write(ByteBuf frame) {
        if (failed) {
            return;
        }
        int len = frame.readableBytes();
        Instant t = Instant.now();
        long now = t.toEpochMilli();
        putLe(rec, 0, (int) t.getEpochSecond());
        putLe(rec, 4, t.getNano() / 1000);
        putLe(rec, 8, len);
        putLe(rec, 12, len);
        if (copy.length < len) {
            copy = new byte[Math.max(len, copy.length * 2)];
        }
        frame.getBytes(frame.readerIndex(), copy, 0, len);
        try {
            out.write(rec);
            out.write(copy, 0, len);
            if (now - lastFlush > 100) {
                out.flush();
                lastFlush = now;
            }
        } catch (IOException e) {
            failed = true;
            LOG.log(System.Logger.Level.ERROR, "pcap writing stopped: " + e.getMessage());
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        failed = true; // frames still in flight are not written after the file is closed
        try {
            out.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.ERROR, "pcap close: " + e.getMessage());
        }
    }

    private static void putLe(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
        b[i + 2] = (byte) (v >>> 16);
        b[i + 3] = (byte) (v >>> 24);
    }

    private static void putLe16(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
    }
}
