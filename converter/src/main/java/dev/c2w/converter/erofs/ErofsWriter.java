package dev.c2w.converter.erofs;

import dev.c2w.converter.fs.DataStore;
import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * Writes an {@link FsTree} as an uncompressed EROFS image, the read-only root filesystem the guest
 * mounts from /dev/vda (under an overlay).
 *
 * <p><b>Why erofs.</b> The guest kernel (Linux 6.1) mounts it without any user-space help, it is
 * read-only by design (the image sits in wasm linear memory or in a file and is served as a
 * read-only block device), it keeps everything a container image has (owners, modes, devices,
 * hard links, xattrs such as security.capability), and an uncompressed image is a flat layout that
 * can be produced in one forward pass without any external tool.
 *
 * <p><b>Layout</b> (block size 4096, no compression, no shared xattrs, no extra devices):
 * <pre>
 *   block 0      bytes 0..1023 zero, superblock (128 bytes) at 1024, then the first inodes
 *   inode area   from byte 1152 (nid 36 = the root), one 64-byte extended inode per file, each
 *                followed by its inline xattrs and, for FLAT_INLINE inodes, by the tail of its data;
 *                nid = byte offset / 32 (meta_blkaddr 0). An inode with its xattrs and tail never
 *                crosses a block boundary (it starts a new block when it would).
 *   data area    block-aligned, in inode order: the full blocks of directories, regular files and
 *                long symlinks.
 * </pre>
 * Every inode is extended (64 bytes: 32-bit uid/gid, 64-bit size, mtime and nlink). Data layout is
 * FLAT_INLINE when the tail (size % 4096, non-zero) fits in the inode's block next to the inode and
 * its xattrs (most small files, directories and symlinks then take no data block at all), and
 * FLAT_PLAIN otherwise (the tail then gets a zero-padded block of its own). Directory entries of a
 * directory, "." and ".." included, are sorted by the unsigned bytes of their names (the kernel
 * binary-searches both the blocks and the entries of a block) and packed into 4096-byte blocks; an
 * entry never spans two blocks. The superblock carries the crc32c checksum (feature SB_CHKSUM) of
 * bytes 1024..4095 of block 0 and the MTIME compat feature; no incompat feature is used.
 *
 * <p>The output is written strictly front to back, so any {@link WritableByteChannel} works; only
 * the first block and a small buffer are held in memory, file contents are streamed from the
 * {@link DataStore} and metadata costs a few hundred bytes per inode. The same tree always gives
 * the same bytes: the build time is the newest mtime in the tree (unless set) and the uuid is
 * derived from the tree's metadata.
 *
 * <p><b>Limits.</b> 2^32 blocks (16 TiB); file names up to 255 bytes; symlink targets up to 4095
 * bytes; xattr names must start with user., trusted., security. or be
 * system.posix_acl_access/default (others, which Linux 6.1 erofs cannot store without long
 * prefixes, are skipped and counted in {@link #skippedXattrs()}); each xattr value up to 65535
 * bytes and the inline xattr area of one inode up to 256 KiB (an inode whose xattrs exceed a block
 * then spans blocks, which Linux reads but no test covers). A directory that appears twice in the
 * tree (a directory hard link or a cycle) is rejected. Timestamps have whole seconds only (FsNode
 * keeps no nanoseconds); ctime and atime read back as mtime, as erofs stores one time.
 *
 * <p>Checked by the tests against fsck.erofs/dump.erofs (erofs-utils), the host kernel (loop mount)
 * and the guest's own Linux 6.1 kernel under qemu-system-riscv64.
 */
public final class ErofsWriter {
    static final int BLOCK_SIZE = 4096;
    static final int BLOCK_BITS = 12;
    static final int SUPER_OFFSET = 1024;
    static final int MAGIC = 0xE0F5E1E2;
    static final int FEATURE_COMPAT_SB_CHKSUM = 0x1;
    static final int FEATURE_COMPAT_MTIME = 0x2;
    static final int INODE_SIZE = 64;
    static final int FLAT_PLAIN = 0;
    static final int FLAT_INLINE = 2;
    static final int DIRENT_SIZE = 12;
    static final int MAX_NAME = 255;
    static final int MAX_SYMLINK = 4095;
    private static final int XATTR_HEADER = 12;
    private static final int MAX_XATTR_ICOUNT = 0xffff;
    private static final int FIRST_INODE_POS = SUPER_OFFSET + 128;

    private LongConsumer progress = n -> {};
    private Long buildTime;
    private int skippedXattrs;

    /** Writes the image to {@code out} (created or truncated) and returns its size in bytes. */
    public static long write(FsTree tree, Path out) throws IOException {
        return new ErofsWriter().writeTo(tree, out);
    }

    /** As {@link #write(FsTree, Path)}, reporting the file data bytes written so far to {@code progress}. */
    public static long write(FsTree tree, Path out, LongConsumer progress) throws IOException {
        return new ErofsWriter().progress(progress).writeTo(tree, out);
    }

    /**
     * Called with the running total of file content bytes written (regular files only), after every
     * chunk of at most 1 MiB and after each file.
     */
    public ErofsWriter progress(LongConsumer progress) {
        this.progress = progress == null ? n -> {} : progress;
        return this;
    }

    /** The superblock build time (seconds); by default the newest mtime in the tree. */
    public ErofsWriter buildTime(long epochSeconds) {
        this.buildTime = epochSeconds;
        return this;
    }

    /** How many xattrs the last write left out because their name prefix cannot be stored. */
    public int skippedXattrs() {
        return skippedXattrs;
    }

    public long writeTo(FsTree tree, Path out) throws IOException {
        try (FileChannel ch = FileChannel.open(
                out, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            return writeTo(tree, ch);
        }
    }

    /** Writes the image front to back to {@code out} (not closed) and returns its size in bytes. */
    public long writeTo(FsTree tree, WritableByteChannel out) throws IOException {
        skippedXattrs = 0;
        Layout layout = layout(tree);
        new Emitter(tree.data(), out, layout).emit();
        return layout.totalBlocks * (long) BLOCK_SIZE;
    }

    // ---------------------------------------------------------------------------------------------
    // Layout: every inode's place, size, data layout and data blocks, before a byte is written.

    /** One on-disk inode. */
    private static final class Ino {
        final FsNode node;
        final int ino; // i_ino, 1-based in nid order
        int nlink;
        Ino parent; // directories: the ".." target
        byte[] xattrs = new byte[0]; // the inline xattr area (header and entries), empty when none
        long size; // i_size
        int layout = FLAT_PLAIN;
        long fullBlocks; // data blocks in the data area
        int tail; // FLAT_INLINE: bytes stored after the inode
        long pos; // byte offset of the inode
        long blkaddr; // first data block (0 when none)
        byte[] target; // symlinks: the target bytes
        List<Dirent> entries; // directories: sorted entries, "." and ".." included
        int[] blockStarts; // directories: index of the first entry of each block

        Ino(FsNode node, int ino) {
            this.node = node;
            this.ino = ino;
        }
    }

    @SuppressWarnings("ArrayRecordComponent") // a carrier of bytes, never compared or hashed
    private record Dirent(byte[] name, Ino ino) {}

    private static final class Layout {
        final List<Ino> inodes = new ArrayList<>();
        long dataStart; // first block of the data area
        long totalBlocks;
        long buildTime;
        byte[] uuid;
    }

    private Layout layout(FsTree tree) throws IOException {
        Layout l = new Layout();
        IdentityHashMap<FsNode, Ino> seen = new IdentityHashMap<>();
        MessageDigest digest = sha256();
        long newest = 0;

        // Breadth-first from the root, children in name order: the root gets the first nid and a
        // directory's children sit together in the inode area.
        Ino root = new Ino(tree.root(), 1);
        root.parent = root;
        seen.put(tree.root(), root);
        l.inodes.add(root);
        ArrayDeque<Ino> dirs = new ArrayDeque<>();
        dirs.add(root);
        while (!dirs.isEmpty()) {
            Ino dir = dirs.poll();
            List<Dirent> entries = new ArrayList<>(dir.node.children().size() + 2);
            entries.add(new Dirent(new byte[] {'.'}, dir));
            entries.add(new Dirent(new byte[] {'.', '.'}, dir.parent));
            for (Map.Entry<String, FsNode> e : dir.node.children().entrySet()) {
                byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
                if (name.length > MAX_NAME) throw new IOException("file name longer than 255 bytes: " + e.getKey());
                FsNode child = e.getValue();
                Ino ci = seen.get(child);
                if (ci == null) {
                    ci = new Ino(child, l.inodes.size() + 1);
                    seen.put(child, ci);
                    l.inodes.add(ci);
                    if (child.isDir()) {
                        ci.parent = dir;
                        dirs.add(ci);
                    }
                } else if (child.isDir()) {
                    throw new IOException("directory appears twice in the tree: " + e.getKey());
                }
                ci.nlink++;
                entries.add(new Dirent(name, ci));
            }
            entries.sort((a, b) -> Arrays.compareUnsigned(a.name, b.name));
            dir.entries = entries;
        }

        for (Ino i : l.inodes) {
            FsNode n = i.node;
            newest = Math.max(newest, n.mtime);
            i.xattrs = encodeXattrs(n.xattrs);
            switch (n.type()) {
                case DIR -> {
                    int subdirs = 0;
                    for (FsNode c : n.children().values()) if (c.isDir()) subdirs++;
                    i.nlink = 2 + subdirs;
                    packDirectory(i);
                }
                case FILE -> i.size = n.data.length();
                case SYMLINK -> {
                    i.target = n.linkTarget.getBytes(StandardCharsets.UTF_8);
                    if (i.target.length == 0 || i.target.length > MAX_SYMLINK) {
                        throw new IOException(
                                "symlink target must be 1.." + MAX_SYMLINK + " bytes: " + i.target.length);
                    }
                    i.size = i.target.length;
                }
                default -> i.size = 0;
            }
            int tail = (int) (i.size % BLOCK_SIZE);
            if (tail != 0 && INODE_SIZE + i.xattrs.length + tail <= BLOCK_SIZE) {
                i.layout = FLAT_INLINE;
                i.tail = tail;
                i.fullBlocks = i.size / BLOCK_SIZE;
            } else {
                i.layout = FLAT_PLAIN;
                i.fullBlocks = (i.size + BLOCK_SIZE - 1) / BLOCK_SIZE;
            }
            digestInode(digest, i);
        }

        // Inode area.
        long pos = FIRST_INODE_POS;
        for (Ino i : l.inodes) {
            long need = (long) INODE_SIZE + i.xattrs.length + i.tail;
            if (need <= BLOCK_SIZE && (pos % BLOCK_SIZE) + need > BLOCK_SIZE) pos = roundUp(pos, BLOCK_SIZE);
            i.pos = pos;
            pos = roundUp(pos + need, 32);
        }
        if (root.pos / 32 > 0xffff) throw new AssertionError("root nid does not fit 16 bits");

        // Data area.
        long blk = roundUp(pos, BLOCK_SIZE) / BLOCK_SIZE;
        l.dataStart = blk;
        for (Ino i : l.inodes) {
            if (i.fullBlocks > 0) {
                i.blkaddr = blk;
                blk += i.fullBlocks;
            }
        }
        if (blk > 0xffffffffL) throw new IOException("image too large: " + blk + " blocks");
        l.totalBlocks = blk;
        l.buildTime = buildTime != null ? buildTime : newest;
        byte[] h = digest.digest();
        l.uuid = Arrays.copyOf(h, 16);
        l.uuid[6] = (byte) ((l.uuid[6] & 0x0f) | 0x50); // name-based (v5-style) uuid
        l.uuid[8] = (byte) ((l.uuid[8] & 0x3f) | 0x80);
        return l;
    }

    /** Splits a directory's entries into blocks and sets its size (full blocks + the last one's bytes). */
    private static void packDirectory(Ino dir) {
        List<Dirent> es = dir.entries;
        List<Integer> starts = new ArrayList<>();
        int used = BLOCK_SIZE; // forces a first block
        for (int k = 0; k < es.size(); k++) {
            int need = DIRENT_SIZE + es.get(k).name.length;
            if (used + need > BLOCK_SIZE) {
                starts.add(k);
                used = 0;
            }
            used += need;
        }
        dir.blockStarts = starts.stream().mapToInt(Integer::intValue).toArray();
        dir.size = (long) (starts.size() - 1) * BLOCK_SIZE + used;
    }

    private byte[] encodeXattrs(Map<String, byte[]> xattrs) throws IOException {
        if (xattrs.isEmpty()) return new byte[0];
        List<byte[]> entries = new ArrayList<>();
        int total = XATTR_HEADER;
        for (Map.Entry<String, byte[]> e : xattrs.entrySet()) {
            String name = e.getKey();
            int index;
            String suffix;
            if (name.equals("system.posix_acl_access")) {
                index = 2;
                suffix = "";
            } else if (name.equals("system.posix_acl_default")) {
                index = 3;
                suffix = "";
            } else if (name.startsWith("user.")) {
                index = 1;
                suffix = name.substring(5);
            } else if (name.startsWith("trusted.")) {
                index = 4;
                suffix = name.substring(8);
            } else if (name.startsWith("security.")) {
                index = 6;
                suffix = name.substring(9);
            } else {
                skippedXattrs++;
                continue;
            }
            byte[] s = suffix.getBytes(StandardCharsets.UTF_8);
            byte[] v = e.getValue() == null ? new byte[0] : e.getValue();
            if ((index == 1 || index == 4 || index == 6) && s.length == 0) {
                skippedXattrs++; // "user." alone is not a valid name
                continue;
            }
            if (s.length > MAX_NAME) throw new IOException("xattr name too long: " + name);
            if (v.length > 0xffff) throw new IOException("xattr value larger than 65535 bytes: " + name);
            int len = roundUp(4 + s.length + v.length, 4);
            byte[] ent = new byte[len];
            ByteBuffer eb = ByteBuffer.wrap(ent).order(ByteOrder.LITTLE_ENDIAN);
            eb.put((byte) s.length)
                    .put((byte) index)
                    .putShort((short) v.length)
                    .put(s)
                    .put(v);
            entries.add(ent);
            total += len;
        }
        if (entries.isEmpty()) return new byte[0]; // never a header alone: Linux rejects that
        if ((total - XATTR_HEADER) / 4 + 1 > MAX_XATTR_ICOUNT) throw new IOException("xattrs too large: " + total);
        ByteBuffer bb = ByteBuffer.allocate(total);
        bb.put(new byte[XATTR_HEADER]); // name filter 0, no shared xattrs
        for (byte[] ent : entries) bb.put(ent);
        return bb.array();
    }

    private static void digestInode(MessageDigest d, Ino i) {
        ByteBuffer b = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(i.node.stMode())
                .putInt(i.node.uid)
                .putInt(i.node.gid)
                .putLong(i.node.mtime)
                .putLong(i.size)
                .putInt(i.nlink)
                .putInt(i.xattrs.length)
                .putInt(i.node.devMajor)
                .putInt(i.node.devMinor);
        d.update(b.array(), 0, b.position());
        if (i.entries != null)
            for (Dirent e : i.entries) {
                d.update(e.name);
                d.update((byte) 0);
            }
        if (i.target != null) d.update(i.target);
    }

    // ---------------------------------------------------------------------------------------------
    // Emission: front to back.

    private final class Emitter {
        final DataStore data;
        final WritableByteChannel ch;
        final Layout l;
        final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        long flushed; // bytes handed to the channel
        boolean firstFlushDone;
        long fileBytes;

        Emitter(DataStore data, WritableByteChannel ch, Layout l) {
            this.data = data;
            this.ch = ch;
            this.l = l;
        }

        long pos() {
            return flushed + buf.position();
        }

        void emit() throws IOException {
            padTo(SUPER_OFFSET);
            superblock();
            for (Ino i : l.inodes) {
                padTo(i.pos);
                inode(i);
            }
            padTo(l.dataStart * BLOCK_SIZE);
            for (Ino i : l.inodes) {
                if (i.fullBlocks == 0) continue;
                if (pos() != i.blkaddr * BLOCK_SIZE) throw new AssertionError("data out of place for inode " + i.ino);
                switch (i.node.type()) {
                    case DIR -> {
                        for (int b = 0; b < i.fullBlocks; b++) dirBlock(i, b, BLOCK_SIZE);
                    }
                    case SYMLINK -> put(i.target);
                    case FILE -> fileData(i, 0, Math.min(i.size, i.fullBlocks * BLOCK_SIZE));
                    default -> throw new AssertionError();
                }
                padTo(roundUp(pos(), BLOCK_SIZE));
            }
            padTo(l.totalBlocks * BLOCK_SIZE);
            flush();
        }

        void superblock() throws IOException {
            room(128);
            buf.putInt(MAGIC);
            buf.putInt(0); // checksum, filled in before block 0 leaves the buffer
            buf.putInt(FEATURE_COMPAT_SB_CHKSUM | FEATURE_COMPAT_MTIME);
            buf.put((byte) BLOCK_BITS);
            buf.put((byte) 0); // sb_extslots
            buf.putShort((short) (l.inodes.get(0).pos / 32)); // root nid
            buf.putLong(l.inodes.size()); // inos
            buf.putLong(l.buildTime);
            buf.putInt(0); // build_time_nsec
            buf.putInt((int) l.totalBlocks);
            buf.putInt(0); // meta_blkaddr
            buf.putInt(0); // xattr_blkaddr
            buf.put(l.uuid);
            buf.put(new byte[16]); // volume name
            buf.putInt(0); // feature_incompat
            buf.put(new byte[128 - 84]); // compression fields, devices, dirblkbits, prefixes, reserved
        }

        void inode(Ino i) throws IOException {
            FsNode n = i.node;
            room(INODE_SIZE);
            buf.putShort((short) (1 | (i.layout << 1))); // extended inode, data layout
            buf.putShort((short) (i.xattrs.length == 0 ? 0 : (i.xattrs.length - XATTR_HEADER) / 4 + 1));
            buf.putShort((short) n.stMode());
            buf.putShort((short) 0);
            buf.putLong(i.size);
            int iu = switch (n.type()) {
                case CHAR, BLOCK -> encodeDev(n.devMajor, n.devMinor);
                case DIR, FILE, SYMLINK -> (int) i.blkaddr;
                default -> 0;
            };
            buf.putInt(iu);
            buf.putInt(i.ino);
            buf.putInt(n.uid);
            buf.putInt(n.gid);
            buf.putLong(n.mtime);
            buf.putInt(0); // mtime nsec
            buf.putInt(i.nlink);
            buf.put(new byte[16]);
            put(i.xattrs);
            if (i.tail > 0) {
                switch (n.type()) {
                    case DIR -> dirBlock(i, (int) i.fullBlocks, i.tail);
                    case SYMLINK -> put(i.target);
                    case FILE -> fileData(i, i.fullBlocks * BLOCK_SIZE, i.size);
                    default -> throw new AssertionError();
                }
            }
        }

        /** Writes block {@code b} of a directory, {@code len} bytes of it (the rest of a full block is zero). */
        void dirBlock(Ino dir, int b, int len) throws IOException {
            int from = dir.blockStarts[b];
            int to = b + 1 < dir.blockStarts.length ? dir.blockStarts[b + 1] : dir.entries.size();
            room(len);
            int start = buf.position();
            int nameoff = DIRENT_SIZE * (to - from);
            for (int k = from; k < to; k++) {
                Dirent e = dir.entries.get(k);
                buf.putLong(e.ino.pos / 32);
                buf.putShort((short) nameoff);
                buf.put((byte) fileType(e.ino.node.type()));
                buf.put((byte) 0);
                nameoff += e.name.length;
            }
            for (int k = from; k < to; k++) buf.put(dir.entries.get(k).name);
            int written = buf.position() - start;
            if (written > len) throw new AssertionError("directory block overflow");
            buf.put(new byte[len - written]);
        }

        /** Streams bytes [from, stop) of the file's contents. */
        void fileData(Ino i, long from, long stop) throws IOException {
            DataStore.Blob blob = i.node.data;
            long p = from;
            while (p < stop) {
                int want = (int) Math.min(stop - p, 1 << 20);
                room(Math.min(want, buf.capacity()));
                ByteBuffer dst = buf.slice();
                dst.limit(Math.min(want, dst.remaining()));
                int got = data.read(blob, p, dst);
                if (got <= 0) throw new IOException("data store ended early for inode " + i.ino);
                buf.position(buf.position() + got);
                p += got;
                fileBytes += got;
                progress.accept(fileBytes);
            }
        }

        void put(byte[] b) throws IOException {
            int off = 0;
            while (off < b.length) {
                if (!buf.hasRemaining()) flush();
                int n = Math.min(b.length - off, buf.remaining());
                buf.put(b, off, n);
                off += n;
            }
        }

        void padTo(long target) throws IOException {
            long gap = target - pos();
            if (gap < 0) throw new AssertionError("layout overlap at " + pos() + " > " + target);
            while (gap > 0) {
                if (!buf.hasRemaining()) flush();
                int n = (int) Math.min(gap, buf.remaining());
                // the buffer is zeroed after each flush, so moving the position writes zeros
                buf.position(buf.position() + n);
                gap -= n;
            }
        }

        void room(int n) throws IOException {
            if (buf.remaining() < n) flush();
        }

        void flush() throws IOException {
            if (!firstFlushDone) {
                if (buf.position() < BLOCK_SIZE) throw new AssertionError("block 0 incomplete at first flush");
                CRC32C crc = new CRC32C();
                byte[] a = buf.array();
                crc.update(a, SUPER_OFFSET, BLOCK_SIZE - SUPER_OFFSET);
                int sum = (int) ~crc.getValue(); // Linux's crc32c(~0, ...) has no final inversion
                buf.putInt(SUPER_OFFSET + 4, sum);
                firstFlushDone = true;
            }
            buf.flip();
            while (buf.hasRemaining()) ch.write(buf);
            flushed += buf.limit();
            buf.clear();
            Arrays.fill(buf.array(), (byte) 0);
        }
    }

    /** The encoding of Linux's new_encode_dev (what erofs keeps in i_u.rdev). */
    static int encodeDev(int major, int minor) {
        return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12);
    }

    static int fileType(FsNode.Type t) {
        return switch (t) {
            case FILE -> 1;
            case DIR -> 2;
            case CHAR -> 3;
            case BLOCK -> 4;
            case FIFO -> 5;
            case SOCKET -> 6;
            case SYMLINK -> 7;
        };
    }

    private static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }

    private static int roundUp(int v, int to) {
        return (v + to - 1) / to * to;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
