package dev.c2w.converter.fs;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;

/**
 * One inode of the root filesystem being built: what a layer's tar entries leave behind and what the
 * erofs writer stores.
 *
 * <p>A hard link is the same {@code FsNode} object in two directories (the writer counts links by
 * identity). A directory's children are kept sorted by the bytes of their UTF-8 names, the order
 * erofs needs for its binary search. File contents live in the {@link DataStore}, not in the heap.
 * Nodes are mutable while layers are applied and are read once by the writer; nothing here is
 * thread-safe.
 */
public final class FsNode {
    /** Inode types, with the S_IFMT bits Linux uses for each. */
    public enum Type {
        FILE(0100000),
        DIR(0040000),
        SYMLINK(0120000),
        CHAR(0020000),
        BLOCK(0060000),
        FIFO(0010000),
        SOCKET(0140000);

        public final int ifmt;

        Type(int ifmt) {
            this.ifmt = ifmt;
        }
    }

    /** Orders names by their UTF-8 bytes, unsigned (what erofs and most tools expect). */
    public static final Comparator<String> NAME_ORDER =
            (a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private final Type type;
    /** Permission bits with setuid/setgid/sticky (07777). */
    public int mode;

    public int uid;
    public int gid;
    /** Modification time, seconds since the epoch. */
    public long mtime;
    /** Extended attributes by full name ("user.x", "security.capability", ...); never null. */
    public final Map<String, byte[]> xattrs = new TreeMap<>();

    /** FILE: the contents. */
    public DataStore.Blob data = DataStore.Blob.EMPTY;
    /** SYMLINK: the target, as stored (not resolved). */
    public String linkTarget;
    /** CHAR and BLOCK: the device numbers. */
    public int devMajor;

    public int devMinor;

    private final TreeMap<String, FsNode> children;

    public FsNode(Type type, int mode) {
        this.type = type;
        this.mode = mode & 07777;
        this.children = type == Type.DIR ? new TreeMap<>(NAME_ORDER) : null;
    }

    public static FsNode dir(int mode) {
        return new FsNode(Type.DIR, mode);
    }

    public static FsNode file(int mode, DataStore.Blob data) {
        FsNode n = new FsNode(Type.FILE, mode);
        n.data = data;
        return n;
    }

    public static FsNode symlink(String target) {
        FsNode n = new FsNode(Type.SYMLINK, 0777);
        n.linkTarget = target;
        return n;
    }

    public Type type() {
        return type;
    }

    public boolean isDir() {
        return type == Type.DIR;
    }

    /** Full st_mode: type bits and permission bits. */
    public int stMode() {
        return type.ifmt | mode;
    }

    /** Size as stat reports it: file length or symlink target length, 0 otherwise. */
    public long size() {
        return switch (type) {
            case FILE -> data.length();
            case SYMLINK -> linkTarget.getBytes(StandardCharsets.UTF_8).length;
            default -> 0;
        };
    }

    /** The children of a directory, sorted by {@link #NAME_ORDER}; read-only view. */
    public Map<String, FsNode> children() {
        requireDir();
        return Collections.unmodifiableMap(children);
    }

    public FsNode child(String name) {
        requireDir();
        return children.get(name);
    }

    /** Adds or replaces a child. The name must be one path component. */
    public void put(String name, FsNode node) {
        requireDir();
        if (name.isEmpty()
                || name.equals(".")
                || name.equals("..")
                || name.indexOf('/') >= 0
                || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a file name: " + name);
        }
        children.put(name, node);
    }

    public FsNode remove(String name) {
        requireDir();
        return children.remove(name);
    }

    public void clear() {
        requireDir();
        children.clear();
    }

    /** Copies metadata (mode, owner, time, xattrs) from another node. */
    public void copyMetadataFrom(FsNode other) {
        mode = other.mode;
        uid = other.uid;
        gid = other.gid;
        mtime = other.mtime;
        xattrs.clear();
        xattrs.putAll(other.xattrs);
    }

    private void requireDir() {
        if (children == null) throw new IllegalStateException("not a directory: " + type);
    }

    @Override
    public String toString() {
        return type + " " + Integer.toOctalString(mode) + " " + uid + ":" + gid
                + (type == Type.FILE ? " " + data.length() + " bytes" : "")
                + (type == Type.SYMLINK ? " -> " + linkTarget : "")
                + (type == Type.DIR ? " " + children.size() + " entries" : "");
    }
}
