package dev.c2w.systemtests;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Writes a cpio archive in the "newc" (SVR4, no CRC) format that the Linux kernel
 * unpacks as an initramfs. Every entry is owned by root; parent directories must be
 * added before their children (the kernel does not create them implicitly).
 */
final class NewcArchive implements AutoCloseable {
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    private final OutputStream out;
    private final Set<String> names = new HashSet<>();
    private long written;
    private int nextInode = 1;
    private boolean closed;

    NewcArchive(OutputStream out) {
        this.out = out;
    }

    void directory(String name, int perm) throws IOException {
        entry(name, S_IFDIR | perm, 2, 0, 0, new byte[0]);
    }

    void file(String name, int perm, byte[] data) throws IOException {
        entry(name, S_IFREG | perm, 1, 0, 0, data);
    }

    void symlink(String name, String target) throws IOException {
        entry(name, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    void charDevice(String name, int perm, int major, int minor) throws IOException {
        entry(name, S_IFCHR | perm, 1, major, minor, new byte[0]);
    }

    private void entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data) throws IOException {
        if (name.startsWith("/") || name.isEmpty()) {
            throw new IllegalArgumentException("cpio names are relative: " + name);
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate cpio entry: " + name);
        }
        writeHeader(name, nextInode++, mode, nlink, data.length, rdevMajor, rdevMinor);
        out.write(data);
        written += data.length;
        pad();
    }

    private void writeHeader(String name, int inode, int mode, int nlink, int size, int rdevMajor, int rdevMinor)
            throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110);
        h.append("070701");
        for (long field :
                new long[] {inode, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, nameBytes.length + 1L, 0}) {
            h.append(String.format("%08x", field));
        }
        byte[] header = h.toString().getBytes(StandardCharsets.US_ASCII);
        out.write(header);
        out.write(nameBytes);
        out.write(0);
        written += header.length + nameBytes.length + 1L;
        pad();
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        writeHeader("TRAILER!!!", 0, 0, 1, 0, 0, 0);
        // Pad the archive to a 512-byte block, as cpio(1) does.
        while (written % 512 != 0) {
            out.write(0);
            written++;
        }
        out.close();
    }
}
