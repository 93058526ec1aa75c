package dev.c2w.converter.erofs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Trees for the erofs tests, and checks of an extracted or mounted copy against them. */
final class ErofsTestTrees {
    private ErofsTestTrees() {}

    static final long T0 = 1_700_000_000L;

    /** Pseudo-random bytes, generated as they are read (nothing large in the heap). */
    static InputStream noise(long seed, long length) {
        return new InputStream() {
            long x = seed * 0x9E3779B97F4A7C15L + 1;
            long left = length;

            @Override
            public int read() {
                byte[] b = new byte[1];
                return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left == 0) return -1;
                int n = (int) Math.min(len, left);
                for (int k = 0; k < n; k++) {
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                    b[off + k] = (byte) x;
                }
                left -= n;
                return n;
            }
        };
    }

    static FsNode file(FsTree t, int mode, long seed, long length) throws IOException {
        FsNode n = FsNode.file(mode, t.data().write(noise(seed, length), length));
        n.mtime = T0 + seed;
        return n;
    }

    static FsNode dir(int mode) {
        FsNode d = FsNode.dir(mode);
        d.mtime = T0;
        return d;
    }

    static String longName(char c, int bytes) {
        return String.valueOf(c).repeat(bytes);
    }

    /** A tree with every node type, awkward sizes and names, hard links, owners and xattrs. */
    static FsTree sample(Path tmp) throws IOException {
        FsTree t = FsTree.create(tmp);
        FsNode root = t.root();
        root.mtime = T0 - 1;
        root.xattrs.put("user.root", "r".getBytes(StandardCharsets.UTF_8));

        FsNode sizes = dir(0755);
        root.put("sizes", sizes);
        long[] lengths = {0, 1, 100, 4031, 4032, 4033, 4095, 4096, 4097, 8191, 8192, 8193, 65536 + 17, 10L << 20};
        for (int k = 0; k < lengths.length; k++) {
            sizes.put("f" + lengths[k], file(t, 0644, k + 1, lengths[k]));
        }
        // an xattr big enough that the tail no longer fits next to the inode
        FsNode fat = file(t, 0600, 99, 4000);
        fat.xattrs.put("user.big", "x".repeat(300).getBytes(StandardCharsets.UTF_8));
        sizes.put("tail-not-inline", fat);

        FsNode a = dir(0750);
        a.uid = 1000;
        a.gid = 1000;
        root.put("a", a);
        FsNode cur = a;
        for (int depth = 0; depth < 12; depth++) {
            FsNode next = dir(0700 + depth % 8);
            cur.put("d" + depth, next);
            cur = next;
        }
        cur.put("deep", file(t, 0444, 7, 12345));

        FsNode many = dir(0755);
        root.put("many", many);
        for (int k = 0; k < 2000; k++) {
            String name = "entry-" + k + "-" + "n".repeat(k % 37);
            if (k % 100 == 0) {
                many.put(name, dir(0755));
            } else {
                many.put(name, file(t, 0644, 1000 + k, k % 5));
            }
        }
        // names that sort before "." and ".." and names whose UTF-8 and UTF-16 orders differ
        many.put("!bang", file(t, 0644, 3, 3));
        many.put("-dash", file(t, 0644, 4, 4));
        many.put("+plus", file(t, 0644, 5, 5));
        many.put("\uff21-fullwidth", file(t, 0644, 6, 6));
        many.put("\ud83d\ude00-emoji", file(t, 0644, 7, 7));
        many.put(longName('L', 255), file(t, 0644, 8, 8));
        many.put("\u00e9".repeat(127), file(t, 0644, 9, 9)); // 254 bytes

        FsNode links = dir(0755);
        root.put("links", links);
        links.put("short", FsNode.symlink("../sizes/f1"));
        links.put("dangling", FsNode.symlink("/no/such/target"));
        links.put("long4000", FsNode.symlink("/" + "x".repeat(3999)));
        links.put("max4095", FsNode.symlink("/" + "y/".repeat(2047)));
        links.put("utf8", FsNode.symlink("\u00fcber/\u65e5\u672c"));
        for (FsNode l : links.children().values()) l.mtime = T0 + 5;

        FsNode hard = file(t, 0640, 42, 5000);
        hard.uid = 100000;
        hard.gid = 100001;
        hard.xattrs.put("user.shared", new byte[] {1, 2, 3});
        links.put("hard1", hard);
        a.put("hard2", hard);
        root.put("hard3", hard);
        FsNode emptyHard = file(t, 0644, 43, 0);
        links.put("empty-a", emptyHard);
        links.put("empty-b", emptyHard);

        FsNode dev = dir(0755);
        root.put("dev", dev);
        FsNode nul = new FsNode(FsNode.Type.CHAR, 0666);
        nul.devMajor = 1;
        nul.devMinor = 3;
        dev.put("null", nul);
        FsNode sda = new FsNode(FsNode.Type.BLOCK, 0660);
        sda.devMajor = 8;
        sda.devMinor = 1;
        sda.gid = 6;
        dev.put("sda1", sda);
        FsNode big = new FsNode(FsNode.Type.CHAR, 0600);
        big.devMajor = 4000;
        big.devMinor = 300000;
        dev.put("bignum", big);
        dev.put("fifo", new FsNode(FsNode.Type.FIFO, 0644));
        dev.put("sock", new FsNode(FsNode.Type.SOCKET, 0755));

        FsNode bin = dir(0755);
        root.put("bin", bin);
        FsNode suid = file(t, 04755, 50, 777);
        bin.put("suid", suid);
        FsNode sgid = file(t, 02755, 51, 10);
        sgid.gid = 50;
        bin.put("sgid", sgid);
        FsNode sticky = dir(01777);
        root.put("tmp", sticky);
        FsNode ping = file(t, 0755, 52, 3000);
        // vfs_cap_data revision 2: cap_net_raw (13) permitted+effective
        byte[] cap = HexFormat.of().parseHex("0100000200200000000000000000000000000000");
        ping.xattrs.put("security.capability", cap);
        ping.xattrs.put("trusted.overlay.opaque", "y".getBytes(StandardCharsets.UTF_8));
        ping.xattrs.put("user.mime_type", "application/x-executable".getBytes(StandardCharsets.UTF_8));
        ping.xattrs.put("user.empty", new byte[0]);
        bin.put("ping", ping);
        FsNode xdir = dir(0755);
        xdir.xattrs.put("trusted.overlay.opaque", "y".getBytes(StandardCharsets.UTF_8));
        for (int k = 0; k < 20; k++) xdir.xattrs.put("user.k" + k, ("value-" + k).getBytes(StandardCharsets.UTF_8));
        root.put("xattr-dir", xdir);

        FsNode owned = file(t, 0600, 60, 1);
        owned.uid = 100000;
        owned.gid = 65534;
        owned.mtime = 0;
        root.put("owned", owned);
        FsNode old = file(t, 0644, 61, 2);
        old.mtime = 4_102_444_800L; // 2100, past 32 bits signed
        root.put("future", old);
        root.put("empty-dir", dir(0555));
        return t;
    }

    // ---------------------------------------------------------------------------------------------

    record Result(int exit, String output) {}

    static Result run(Path dir, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (dir != null) pb.directory(dir.toFile());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    static String sha256(InputStream in) throws IOException {
        try (in) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** glibc's makedev, what Java's unix:rdev reports. */
    static long makedev(int major, int minor) {
        long ma = major & 0xffffffffL;
        long mi = minor & 0xffffffffL;
        return ((ma & 0xfffff000L) << 32) | ((ma & 0xfffL) << 8) | ((mi & 0xffffff00L) << 12) | (mi & 0xffL);
    }

    /** Every node of the tree by path ("" = the root), depth first in name order. */
    static Map<String, FsNode> flatten(FsTree t) {
        Map<String, FsNode> out = new LinkedHashMap<>();
        walk(t.root(), "", out);
        return out;
    }

    private static void walk(FsNode n, String path, Map<String, FsNode> out) {
        out.put(path, n);
        if (n.isDir()) for (var e : n.children().entrySet()) walk(e.getValue(), path + "/" + e.getKey(), out);
    }

    /** What to compare: fsck's extraction keeps fewer properties than a mount. */
    record Checks(boolean root, boolean mtime, boolean hardLinks, boolean xattrs, boolean suid) {}

    /**
     * Compares the copy under {@code base} with the tree: the same set of paths, and for each its
     * type, permission bits, owner, size, contents (SHA-256), symlink target, device numbers, and as
     * asked the mtime, link counts and inode sharing of hard links, and xattrs (through getfattr).
     */
    static void assertMatches(FsTree t, Path base, Checks checks) throws Exception {
        Map<String, FsNode> nodes = flatten(t);
        // the same set of names everywhere
        List<String> actual = new ArrayList<>();
        try (var s = Files.walk(base)) {
            s.forEach(p -> actual.add(base.relativize(p).toString().isEmpty() ? "" : "/" + base.relativize(p)));
        }
        assertThat(actual).containsExactlyInAnyOrderElementsOf(nodes.keySet());

        Map<FsNode, Long> inodeOf = new IdentityHashMap<>();
        Map<FsNode, Integer> linksOf = new IdentityHashMap<>();
        for (FsNode n : nodes.values()) linksOf.merge(n, 1, Integer::sum);

        for (var e : nodes.entrySet()) {
            String path = e.getKey();
            FsNode n = e.getValue();
            Path p = base.resolve(path.isEmpty() ? "." : path.substring(1));
            if (path.isEmpty() && !checks.root()) continue;
            Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
            String what = path + " (" + n + ")";
            int mode = (Integer) a.get("mode");
            int expected = n.stMode();
            if (!checks.suid() && n.type() == FsNode.Type.FILE) {
                // fsck.erofs 1.5 chowns after chmod, which clears setuid/setgid (same with mkfs.erofs images)
                expected &= ~06000;
                mode &= ~06000;
            }
            assertThat(Integer.toOctalString(mode)).as("mode of " + what).isEqualTo(Integer.toOctalString(expected));
            assertThat(a.get("uid")).as("uid of " + what).isEqualTo(n.uid);
            assertThat(a.get("gid")).as("gid of " + what).isEqualTo(n.gid);
            if (checks.mtime()) {
                assertThat(((FileTime) a.get("lastModifiedTime")).toMillis() / 1000)
                        .as("mtime of " + what)
                        .isEqualTo(n.mtime);
            }
            switch (n.type()) {
                case FILE -> {
                    assertThat(a.get("size")).as("size of " + what).isEqualTo(n.data.length());
                    assertThat(sha256(Files.newInputStream(p)))
                            .as("contents of " + what)
                            .isEqualTo(sha256(t.data().open(n.data)));
                }
                case SYMLINK ->
                    assertThat(Files.readSymbolicLink(p).toString())
                            .as("target of " + what)
                            .isEqualTo(n.linkTarget);
                case CHAR, BLOCK ->
                    assertThat(a.get("rdev")).as("rdev of " + what).isEqualTo(makedev(n.devMajor, n.devMinor));
                default -> {}
            }
            if (checks.hardLinks()) {
                long ino = (Long) a.get("ino");
                Long prev = inodeOf.putIfAbsent(n, ino);
                if (prev != null)
                    assertThat(ino)
                            .as("hard link " + what + " shares the inode")
                            .isEqualTo(prev);
                int nlink = (Integer) a.get("nlink");
                if (n.isDir()) {
                    long subdirs =
                            n.children().values().stream().filter(FsNode::isDir).count();
                    assertThat(nlink).as("nlink of " + what).isEqualTo(2 + subdirs);
                } else {
                    assertThat(nlink).as("nlink of " + what).isEqualTo(linksOf.get(n));
                }
            }
            if (checks.xattrs()) {
                assertThat(getfattr(p)).as("xattrs of " + what).isEqualTo(hexXattrs(n.xattrs));
            }
        }
        if (checks.hardLinks()) {
            // distinct nodes, distinct inodes
            assertThat(new HashSet<>(inodeOf.values())).hasSize(inodeOf.size());
        }
    }

    static Map<String, String> hexXattrs(Map<String, byte[]> x) {
        Map<String, String> m = new TreeMap<>();
        x.forEach((k, v) -> m.put(k, HexFormat.of().formatHex(v)));
        return m;
    }

    /** All xattrs of {@code p} (symlinks not followed), read with getfattr, values in hex. */
    static Map<String, String> getfattr(Path p) throws Exception {
        Result r = run(null, "getfattr", "--absolute-names", "-h", "-d", "-m", "-", "-e", "hex", p.toString());
        assertThat(r.exit()).as("getfattr " + p + ": " + r.output()).isZero();
        Map<String, String> m = new TreeMap<>();
        for (String line : r.output().split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) continue;
            int eq = line.indexOf('=');
            if (eq < 0) {
                m.put(line, "");
                continue;
            }
            String v = line.substring(eq + 1);
            m.put(line.substring(0, eq), v.equals("\"\"") ? "" : v.substring(2));
        }
        return m;
    }
}
