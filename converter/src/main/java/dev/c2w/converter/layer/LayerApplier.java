package dev.c2w.converter.layer;

import com.github.luben.zstd.ZstdInputStream;
import dev.c2w.converter.fs.DataStore;
import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * Applies one image layer (a tar, plain or gzip- or zstd-compressed) onto an {@link FsTree}, the way
 * an overlay stack of the layers would look.
 *
 * <p>Compression is detected from the first bytes, not from the media type. Whiteouts follow the OCI
 * image spec: {@code .wh.NAME} removes NAME of lower layers, {@code .wh..wh..opq} hides all lower
 * contents of its directory; neither removes what the same layer adds, whatever the order of the
 * entries, and whiteout files themselves never appear in the tree. Other {@code .wh..wh.*} names,
 * and everything under a top-level {@code .wh..wh.*} directory (aufs bookkeeping), are ignored.
 *
 * <p>Paths are normalized ({@code ./}, {@code //}, inner {@code ..}); a leading {@code /} means the
 * root. Symbolic links are never followed while extracting. Policy for hostile or odd entries, all
 * rejected with a {@link LayerException} naming the layer and the entry:
 * <ul>
 *   <li>a path (or hard-link target) whose {@code ..} climbs above the root;
 *   <li>a path whose parent goes through a symlink already in the tree (Docker would resolve such a
 *       symlink inside the root; we refuse, as real layers written by a build never do this — the
 *       build's overlay diff records the resolved path) or through a non-directory;
 *   <li>a hard link whose target does not exist, is a directory, or lies behind a symlink;
 *   <li>sparse files and entry types other than file, dir, symlink, hard link, char/block device, FIFO.
 * </ul>
 * A directory entry over an existing directory keeps its children and takes the entry's metadata;
 * any other entry replaces what was at its path. Parent directories missing from the tar are created
 * 0755 root:root with mtime 0.
 */
public final class LayerApplier {
    /** What a layer blob is wrapped in. */
    public enum Compression {
        NONE,
        GZIP,
        ZSTD
    }

    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";

    private final FsTree tree;
    private final String layerName;
    /** Paths this layer has entries for, and their ancestors: what whiteouts of this layer must keep. */
    private final Set<String> ours = new HashSet<>();

    private String current;

    private LayerApplier(FsTree tree, String layerName) {
        this.tree = tree;
        this.layerName = layerName;
    }

    /**
     * Applies the layer in {@code layer} (read to its end, which lets a digest-checking stream below do
     * its check; not closed) onto {@code tree}. On failure the tree may hold part of the layer.
     */
    public static void apply(FsTree tree, InputStream layer, String layerName) throws IOException {
        new LayerApplier(tree, layerName).run(layer);
    }

    /** The compression a blob starting with {@code head} uses (NONE when not gzip or zstd). */
    public static Compression detect(byte[] head) {
        if (head.length >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) return Compression.GZIP;
        if (head.length >= 4
                && (head[0] & 0xff) == 0x28
                && (head[1] & 0xff) == 0xb5
                && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            return Compression.ZSTD;
        }
        // A zstd stream may start with a skippable frame: magic 0x184D2A50..5F, little-endian.
        if (head.length >= 4
                && (head[0] & 0xf0) == 0x50
                && (head[1] & 0xff) == 0x2a
                && (head[2] & 0xff) == 0x4d
                && (head[3] & 0xff) == 0x18) {
            return Compression.ZSTD;
        }
        return Compression.NONE;
    }

    /** {@code in} decompressed as its first bytes say; the result reads the plain tar. */
    public static InputStream decompress(InputStream in) throws IOException {
        BufferedInputStream b = new BufferedInputStream(in, 1 << 16);
        b.mark(16);
        byte[] head = b.readNBytes(8);
        b.reset();
        byte[] xz = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};
        if (head.length >= 6 && Arrays.equals(Arrays.copyOf(head, 6), xz)) {
            throw new IOException("xz-compressed layers are not supported");
        }
        return switch (detect(head)) {
            case GZIP -> new GZIPInputStream(b, 1 << 16);
            case ZSTD -> new ZstdInputStream(b);
            case NONE -> b;
        };
    }

    private void run(InputStream layer) throws IOException {
        String stage = "reading";
        InputStream plain;
        try {
            plain = decompress(layer);
        } catch (LayerException e) {
            throw e;
        } catch (IOException e) {
            throw new LayerException(layerName, null, "cannot read the layer: " + e.getMessage(), e);
        }
        TarReader tar = new TarReader(plain);
        try {
            while (true) {
                current = null;
                TarReader.Entry e = tar.next();
                if (e == null) break;
                current = e.name();
                entry(e, tar);
            }
            current = null;
            stage = "reading past the end of the tar";
            // Read what follows the end-of-archive blocks: gzip checks its CRC only at its end. Then read
            // the blob itself to its end, because a digest-checking stream underneath checks on end of stream
            // and a decompressor may stop before it (GZIPInputStream stops after the last member's trailer).
            plain.transferTo(OutputStream.nullOutputStream());
            layer.transferTo(OutputStream.nullOutputStream());
        } catch (LayerException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new LayerException(layerName, current, (current == null ? stage + ": " : "") + msg, e);
        }
    }

    private void entry(TarReader.Entry e, TarReader tar) throws IOException {
        List<String> parts = normalize(e.name(), "path");
        if (parts.isEmpty()) {
            if (e.type() != '5') throw fail("an entry for the root directory must be a directory");
            meta(tree.root(), e);
            return;
        }
        // aufs keeps its own bookkeeping under /.wh..wh.* (e.g. .wh..wh.plnk); Docker skips it too.
        if (parts.get(0).startsWith(WHITEOUT + WHITEOUT)
                && !(parts.size() == 1 && parts.get(0).equals(OPAQUE))) return;
        String base = parts.get(parts.size() - 1);
        List<String> parentParts = parts.subList(0, parts.size() - 1);
        String parentPath = String.join("/", parentParts);
        if (base.startsWith(WHITEOUT)) {
            if (base.equals(OPAQUE)) {
                FsNode dir = parent(parentParts, true);
                prune(dir, parentPath);
            } else if (!base.startsWith(WHITEOUT + WHITEOUT)) {
                String name = base.substring(WHITEOUT.length());
                if (name.isEmpty() || name.equals(".") || name.equals("..")) throw fail("bad whiteout name");
                FsNode dir = parent(parentParts, false);
                String path = parentPath.isEmpty() ? name : parentPath + "/" + name;
                if (dir != null && !ours.contains(path)) dir.remove(name);
            }
            return;
        }
        FsNode dir = parent(parentParts, true);
        ours.add(String.join("/", parts));
        FsNode node;
        switch (e.type()) {
            case '0', '\0', '7' -> {
                DataStore.Blob blob = tree.data().write(tar.contents(), e.size());
                node = FsNode.file(e.mode(), blob);
            }
            case '5' -> {
                FsNode old = dir.child(base);
                if (old != null && old.isDir()) {
                    meta(old, e);
                    return;
                }
                node = FsNode.dir(e.mode());
            }
            case '2' -> {
                if (e.linkName().isEmpty()) throw fail("symlink with an empty target");
                node = FsNode.symlink(e.linkName());
            }
            case '1' -> {
                List<String> target = normalize(e.linkName(), "hard link target");
                FsNode t = lookup(target);
                if (t.isDir()) throw fail("hard link to a directory: " + e.linkName());
                if (dir.child(base) != t) dir.put(base, t);
                return; // a hard link shares the target's inode and so its metadata
            }
            case '3' -> node = device(FsNode.Type.CHAR, e);
            case '4' -> node = device(FsNode.Type.BLOCK, e);
            case '6' -> node = new FsNode(FsNode.Type.FIFO, e.mode());
            default -> throw fail("unsupported tar entry type '" + printable(e.type()) + "'");
        }
        if (node.type() != FsNode.Type.SYMLINK) node.mode = e.mode();
        meta(node, e);
        dir.put(base, node);
    }

    private static FsNode device(FsNode.Type type, TarReader.Entry e) {
        FsNode n = new FsNode(type, e.mode());
        n.devMajor = e.devMajor();
        n.devMinor = e.devMinor();
        return n;
    }

    private void meta(FsNode n, TarReader.Entry e) {
        if (n.type() != FsNode.Type.SYMLINK) n.mode = e.mode() & 07777;
        n.uid = (int) e.uid();
        n.gid = (int) e.gid();
        n.mtime = e.mtime();
        n.xattrs.clear();
        n.xattrs.putAll(e.xattrs());
    }

    /**
     * The directory {@code parts} names, walked without following symlinks. Missing directories are
     * created when {@code create} (and then count as this layer's), else null is returned.
     */
    private FsNode parent(List<String> parts, boolean create) throws LayerException {
        FsNode cur = tree.root();
        StringBuilder path = new StringBuilder();
        for (String p : parts) {
            if (path.length() > 0) path.append('/');
            path.append(p);
            FsNode next = cur.child(p);
            if (next == null) {
                if (!create) return null;
                next = FsNode.dir(0755);
                cur.put(p, next);
            } else if (next.type() == FsNode.Type.SYMLINK) {
                throw fail("parent /" + path + " is a symlink (to " + next.linkTarget
                        + "); entries behind symlinks are refused");
            } else if (!next.isDir()) {
                throw fail("parent /" + path + " is not a directory but a " + next.type());
            }
            if (create) ours.add(path.toString());
            cur = next;
        }
        return cur;
    }

    /** The node at {@code parts} without following symlinks; a missing node is an error. */
    private FsNode lookup(List<String> parts) throws LayerException {
        FsNode cur = tree.root();
        for (int i = 0; i < parts.size(); i++) {
            if (!cur.isDir()) {
                throw fail("hard link target /" + String.join("/", parts) + " goes through a " + cur.type() + " at /"
                        + String.join("/", parts.subList(0, i)));
            }
            cur = cur.child(parts.get(i));
            if (cur == null) throw fail("hard link target /" + String.join("/", parts) + " does not exist");
        }
        return cur;
    }

    /** Opaque directory: drops what lower layers have under {@code dir}, keeping this layer's entries. */
    private void prune(FsNode dir, String dirPath) {
        for (String name : new ArrayList<>(dir.children().keySet())) {
            String path = dirPath.isEmpty() ? name : dirPath + "/" + name;
            if (!ours.contains(path)) {
                dir.remove(name);
            } else {
                FsNode child = dir.child(name);
                if (child.isDir()) prune(child, path);
            }
        }
    }

    /** Components of {@code name} relative to the root; {@code ..} above the root is an error. */
    private List<String> normalize(String name, String what) throws LayerException {
        if (name.indexOf('\0') >= 0) throw fail(what + " contains a NUL byte");
        List<String> out = new ArrayList<>();
        for (String p : name.split("/", -1)) {
            if (p.isEmpty() || p.equals(".")) continue;
            if (p.equals("..")) {
                if (out.isEmpty()) throw fail(what + " " + name + " escapes the root");
                out.remove(out.size() - 1);
            } else {
                out.add(p);
            }
        }
        return out;
    }

    private LayerException fail(String problem) {
        return new LayerException(layerName, current, problem);
    }

    private static String printable(char c) {
        return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c);
    }
}
