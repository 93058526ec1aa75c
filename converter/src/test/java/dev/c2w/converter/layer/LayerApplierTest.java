package dev.c2w.converter.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import dev.c2w.converter.image.Digests;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class LayerApplierTest {
    @TempDir
    Path tmp;

    FsTree tree;

    @BeforeEach
    void setUp() throws IOException {
        tree = FsTree.create(tmp);
    }

    @AfterEach
    void tearDown() throws IOException {
        tree.close();
    }

    private void apply(byte[] layer, String name) throws IOException {
        LayerApplier.apply(tree, new ByteArrayInputStream(layer), name);
    }

    private String text(String path) {
        byte[] b = tree.readFile(path);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] basicLayer(TarBuilder t) {
        TarArchiveEntry bin = new TarArchiveEntry("usr/bin/", TarConstants.LF_DIR);
        bin.setMode(0755);
        bin.setIds(0, 0);
        bin.setModTime(1_700_000_000_000L);
        t.dir("usr", 0755).add(bin, null);
        TarArchiveEntry su = new TarArchiveEntry("usr/bin/su", TarConstants.LF_NORMAL);
        su.setMode(04755);
        su.setIds(0, 42);
        su.setModTime(1_600_000_000_000L);
        byte[] body = "#!/bin/sh\necho su\n".getBytes(StandardCharsets.UTF_8);
        su.setSize(body.length);
        t.add(su, body);
        TarArchiveEntry tmpDir = new TarArchiveEntry("tmp/", TarConstants.LF_DIR);
        tmpDir.setMode(01777);
        tmpDir.setIds(1000, 1001);
        t.add(tmpDir, null);
        return t.tar();
    }

    @Test
    void plainGzipAndZstdLayersGiveTheSameTree() throws IOException {
        byte[] plain = basicLayer(new TarBuilder());
        for (byte[] layer : new byte[][] {plain, TarBuilder.gzip(plain), TarBuilder.zstd(plain)}) {
            try (FsTree t = FsTree.create(tmp)) {
                LayerApplier.apply(t, new ByteArrayInputStream(layer), "l1");
                FsNode su = t.lookup("/usr/bin/su");
                assertThat(su.type()).isEqualTo(FsNode.Type.FILE);
                assertThat(su.mode).isEqualTo(04755);
                assertThat(su.uid).isZero();
                assertThat(su.gid).isEqualTo(42);
                assertThat(su.mtime).isEqualTo(1_600_000_000L);
                assertThat(new String(t.readFile("usr/bin/su"), StandardCharsets.UTF_8))
                        .isEqualTo("#!/bin/sh\necho su\n");
                assertThat(t.lookup("usr/bin").mtime).isEqualTo(1_700_000_000L);
                FsNode tmpDir = t.lookup("tmp");
                assertThat(tmpDir.mode).isEqualTo(01777);
                assertThat(tmpDir.uid).isEqualTo(1000);
                assertThat(tmpDir.gid).isEqualTo(1001);
            }
        }
        assertThat(LayerApplier.detect(TarBuilder.gzip(plain))).isEqualTo(LayerApplier.Compression.GZIP);
        assertThat(LayerApplier.detect(TarBuilder.zstd(plain))).isEqualTo(LayerApplier.Compression.ZSTD);
        assertThat(LayerApplier.detect(plain)).isEqualTo(LayerApplier.Compression.NONE);
    }

    @Test
    void aBlobWhoseDigestDiffersIsRefusedEvenWhenTheDecompressorStopsBeforeItsEnd() throws IOException {
        byte[] plain = basicLayer(new TarBuilder());
        for (byte[] layer : new byte[][] {plain, TarBuilder.gzip(plain), TarBuilder.zstd(plain)}) {
            String wrong = Digests.sha256("something else".getBytes(StandardCharsets.UTF_8));
            // a network stream: nothing is ever "available", so GZIPInputStream stops after its trailer
            InputStream socketLike = new FilterInputStream(new ByteArrayInputStream(layer)) {
                @Override
                public int available() {
                    return 0;
                }
            };
            try (FsTree t = FsTree.create(tmp)) {
                InputStream checked = Digests.verifying(socketLike, wrong, layer.length, "layer", null);
                assertThatThrownBy(() -> LayerApplier.apply(t, checked, "l1")).hasMessageContaining("digest mismatch");
            }
        }
    }

    @Test
    void existingDirectoryKeepsChildrenAndTakesNewMetadata() throws IOException {
        apply(new TarBuilder().dir("etc", 0755).file("etc/a", "a").tar(), "l1");
        FsNode etc = tree.lookup("etc");
        TarArchiveEntry e = new TarArchiveEntry("etc/", TarConstants.LF_DIR);
        e.setMode(0700);
        e.setIds(5, 6);
        apply(new TarBuilder().add(e, null).file("etc/b", "b").tar(), "l2");
        assertThat(tree.lookup("etc")).isSameAs(etc);
        assertThat(etc.mode).isEqualTo(0700);
        assertThat(etc.uid).isEqualTo(5);
        assertThat(etc.children().keySet()).containsExactly("a", "b");
    }

    @Test
    void missingParentsAreCreatedAsRootOwned0755() throws IOException {
        apply(new TarBuilder().file("a/b/c/file", "x").tar(), "l1");
        FsNode b = tree.lookup("a/b");
        assertThat(b.isDir()).isTrue();
        assertThat(b.mode).isEqualTo(0755);
        assertThat(b.uid).isZero();
        assertThat(text("a/b/c/file")).isEqualTo("x");
    }

    @Test
    void whiteoutRemovesLowerEntriesAndNeverAppears() throws IOException {
        apply(
                new TarBuilder()
                        .dir("etc", 0755)
                        .file("etc/keep", "k")
                        .file("etc/gone", "g")
                        .dir("etc/gonedir", 0755)
                        .file("etc/gonedir/x", "x")
                        .file("top", "t")
                        .tar(),
                "l1");
        apply(
                new TarBuilder()
                        .whiteout("etc", "gone")
                        .whiteout("etc", "gonedir")
                        .whiteout("", "top")
                        .whiteout("etc", "never-existed")
                        .whiteout("nodir", "x")
                        .tar(),
                "l2");
        assertThat(tree.lookup("etc").children().keySet()).containsExactly("keep");
        assertThat(tree.lookup("top")).isNull();
        assertThat(tree.lookup("nodir")).isNull();
    }

    @Test
    void whiteoutDoesNotRemoveTheSameLayersEntryInEitherOrder() throws IOException {
        apply(new TarBuilder().file("a", "old-a").file("b", "old-b").tar(), "l1");
        apply(
                new TarBuilder()
                        .whiteout("", "a")
                        .file("a", "new-a")
                        .file("b", "new-b")
                        .whiteout("", "b")
                        .tar(),
                "l2");
        assertThat(text("a")).isEqualTo("new-a");
        assertThat(text("b")).isEqualTo("new-b");
        assertThat(tree.root().children().keySet()).containsExactly("a", "b");
    }

    @Test
    void opaqueDirectoryHidesLowerContentsButKeepsSameLayerEntries() throws IOException {
        apply(
                new TarBuilder()
                        .dir("d", 0755)
                        .file("d/old1", "1")
                        .file("d/old2", "2")
                        .dir("d/sub", 0755)
                        .file("d/sub/oldinner", "i")
                        .file("outside", "o")
                        .tar(),
                "l1");
        // Same-layer entries before and after the marker, and one inside a subdirectory that exists below.
        apply(
                new TarBuilder()
                        .dir("d", 0700)
                        .file("d/before", "b")
                        .opaque("d")
                        .file("d/after", "a")
                        .file("d/sub/newinner", "n")
                        .tar(),
                "l2");
        assertThat(tree.lookup("d").children().keySet()).containsExactly("after", "before", "sub");
        assertThat(tree.lookup("d/sub").children().keySet()).containsExactly("newinner");
        assertThat(tree.lookup("d").mode).isEqualTo(0700);
        assertThat(text("outside")).isEqualTo("o");
        assertThat(tree.lookup("d/.wh..wh..opq")).isNull();
    }

    @Test
    void opaqueMarkerBeforeSameLayerSubdirectoryContents() throws IOException {
        apply(new TarBuilder().file("d/sub/lower", "l").tar(), "l1");
        apply(new TarBuilder().opaque("d").file("d/sub/upper", "u").tar(), "l2");
        assertThat(tree.lookup("d/sub").children().keySet()).containsExactly("upper");
        // An opaque marker for a directory no layer had creates it, empty.
        apply(new TarBuilder().opaque("fresh").tar(), "l3");
        assertThat(tree.lookup("fresh").isDir()).isTrue();
        assertThat(tree.lookup("fresh").children()).isEmpty();
    }

    @Test
    void hardLinksWithinAndAcrossLayersShareTheNode() throws IOException {
        apply(
                new TarBuilder()
                        .file("bin/busybox", 0755, "bb".getBytes(StandardCharsets.UTF_8))
                        .hardlink("bin/sh", "bin/busybox")
                        .tar(),
                "l1");
        assertThat(tree.lookup("bin/sh")).isSameAs(tree.lookup("bin/busybox"));
        apply(
                new TarBuilder()
                        .hardlink("usr/bin/ls", "/bin/busybox")
                        .hardlink("./bin/cat", "./bin/sh")
                        .tar(),
                "l2");
        assertThat(tree.lookup("usr/bin/ls")).isSameAs(tree.lookup("bin/busybox"));
        assertThat(tree.lookup("bin/cat")).isSameAs(tree.lookup("bin/busybox"));
        // Replacing one name with a new file does not change the other links.
        apply(new TarBuilder().file("bin/sh", "new").tar(), "l3");
        assertThat(text("bin/sh")).isEqualTo("new");
        assertThat(text("bin/busybox")).isEqualTo("bb");
        assertThat(tree.lookup("usr/bin/ls")).isSameAs(tree.lookup("bin/busybox"));
    }

    @Test
    void hardLinkToADirectoryOrToNothingIsAnError() throws IOException {
        apply(new TarBuilder().dir("etc", 0755).symlink("s", "etc").tar(), "l1");
        assertThatThrownBy(() -> apply(new TarBuilder().hardlink("x", "etc").tar(), "bad1"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("bad1")
                .hasMessageContaining("x")
                .hasMessageContaining("directory");
        assertThatThrownBy(() -> apply(new TarBuilder().hardlink("y", "missing").tar(), "bad2"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("bad2")
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> apply(
                        new TarBuilder().file("etc/f", "f").hardlink("z", "s/f").tar(), "bad3"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("bad3")
                .hasMessageContaining("SYMLINK");
        assertThatThrownBy(() ->
                        apply(new TarBuilder().hardlink("w", "../../etc/f").tar(), "bad4"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("escapes the root");
    }

    @Test
    void symlinksAreStoredAsIs() throws IOException {
        String longTarget = "/" + "t".repeat(300);
        apply(
                new TarBuilder()
                        .symlink("lib", "usr/lib")
                        .symlink("abs", "/etc/passwd")
                        .symlink("long", longTarget)
                        .symlink("dangling", "../../nowhere")
                        .tar(),
                "l1");
        assertThat(tree.lookup("lib").type()).isEqualTo(FsNode.Type.SYMLINK);
        assertThat(tree.lookup("lib").linkTarget).isEqualTo("usr/lib");
        assertThat(tree.lookup("abs").linkTarget).isEqualTo("/etc/passwd");
        assertThat(tree.lookup("long").linkTarget).isEqualTo(longTarget);
        assertThat(tree.lookup("dangling").linkTarget).isEqualTo("../../nowhere");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void symlinkLoopsDoNotHang() throws IOException {
        apply(
                new TarBuilder()
                        .symlink("a", "b")
                        .symlink("b", "a")
                        .symlink("self", "self")
                        .tar(),
                "loops");
        assertThatThrownBy(() -> apply(new TarBuilder().file("a/x", "x").tar(), "l2"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("symlink");
        assertThatThrownBy(() -> apply(new TarBuilder().hardlink("h", "self/x").tar(), "l3"))
                .isInstanceOf(LayerException.class);
        assertThat(tree.lookup("a").linkTarget).isEqualTo("b");
    }

    @Test
    void entriesBehindASymlinkAreRefused() throws IOException {
        // One layer: a symlink to /etc, then a write through it.
        assertThatThrownBy(() -> apply(
                        new TarBuilder()
                                .symlink("a", "/etc")
                                .file("a/passwd", "root::0:0")
                                .tar(),
                        "evil"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("layer evil")
                .hasMessageContaining("entry a/passwd")
                .hasMessageContaining("symlink");
        // The symlink from a lower layer, the write in the next one; and a relative symlink leaving the root.
        try (FsTree t = FsTree.create(tmp)) {
            LayerApplier.apply(
                    t,
                    new ByteArrayInputStream(
                            new TarBuilder().symlink("up", "../../..").tar()),
                    "l1");
            assertThatThrownBy(() -> LayerApplier.apply(
                            t,
                            new ByteArrayInputStream(
                                    new TarBuilder().file("up/etc/shadow", "x").tar()),
                            "l2"))
                    .isInstanceOf(LayerException.class)
                    .hasMessageContaining("up/etc/shadow");
            assertThatThrownBy(() -> LayerApplier.apply(
                            t,
                            new ByteArrayInputStream(
                                    new TarBuilder().whiteout("up", "etc").tar()),
                            "l3"))
                    .isInstanceOf(LayerException.class)
                    .hasMessageContaining("symlink");
            assertThatThrownBy(() -> LayerApplier.apply(
                            t,
                            new ByteArrayInputStream(
                                    new TarBuilder().opaque("up").tar()),
                            "l4"))
                    .isInstanceOf(LayerException.class)
                    .hasMessageContaining("symlink");
        }
    }

    @Test
    void pathsAreNormalizedAndEscapesRejected() throws IOException {
        apply(
                new TarBuilder()
                        .file("/abs/file", "1")
                        .file("./dot/./file", "2")
                        .file("x//y/../z", "3")
                        .tar(),
                "l1");
        assertThat(text("abs/file")).isEqualTo("1");
        assertThat(text("dot/file")).isEqualTo("2");
        assertThat(text("x/z")).isEqualTo("3");
        assertThat(tree.lookup("x/y")).isNull(); // the name is normalized before anything is walked
        for (String hostile : new String[] {"../etc/passwd", "a/../../etc/passwd", "/../x", "./../../x"}) {
            assertThatThrownBy(
                            () -> apply(new TarBuilder().file(hostile, "evil").tar(), "hostile"))
                    .as(hostile)
                    .isInstanceOf(LayerException.class)
                    .hasMessageContaining("escapes the root")
                    .hasMessageContaining("layer hostile");
        }
        assertThat(tree.lookup("etc")).isNull();
    }

    @Test
    void entriesReplaceNodesOfOtherTypes() throws IOException {
        apply(
                new TarBuilder()
                        .dir("d", 0755)
                        .file("d/inner", "i")
                        .file("f", "f")
                        .dir("e", 0755)
                        .tar(),
                "l1");
        apply(
                new TarBuilder()
                        .file("d", "now a file")
                        .dir("f", 0711)
                        .symlink("e", "/target")
                        .tar(),
                "l2");
        assertThat(tree.lookup("d").type()).isEqualTo(FsNode.Type.FILE);
        assertThat(text("d")).isEqualTo("now a file");
        assertThat(tree.lookup("f").isDir()).isTrue();
        assertThat(tree.lookup("f").mode).isEqualTo(0711);
        assertThat(tree.lookup("e").type()).isEqualTo(FsNode.Type.SYMLINK);
    }

    @Test
    void writingUnderAFileIsAnError() throws IOException {
        apply(new TarBuilder().file("f", "f").tar(), "l1");
        assertThatThrownBy(() -> apply(new TarBuilder().file("f/g", "g").tar(), "l2"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("not a directory");
    }

    @Test
    void devicesAndFifos() throws IOException {
        apply(
                new TarBuilder()
                        .device("dev/null", TarConstants.LF_CHR, 0666, 1, 3)
                        .device("dev/sda", TarConstants.LF_BLK, 0660, 8, 0)
                        .device("run/fifo", TarConstants.LF_FIFO, 0600, 0, 0)
                        .tar(),
                "l1");
        FsNode nul = tree.lookup("dev/null");
        assertThat(nul.type()).isEqualTo(FsNode.Type.CHAR);
        assertThat(nul.devMajor).isEqualTo(1);
        assertThat(nul.devMinor).isEqualTo(3);
        assertThat(nul.mode).isEqualTo(0666);
        FsNode sda = tree.lookup("dev/sda");
        assertThat(sda.type()).isEqualTo(FsNode.Type.BLOCK);
        assertThat(sda.devMajor).isEqualTo(8);
        assertThat(tree.lookup("run/fifo").type()).isEqualTo(FsNode.Type.FIFO);
        assertThat(tree.lookup("run/fifo").mode).isEqualTo(0600);
    }

    @Test
    void paxXattrsKeepBinaryValues() throws IOException {
        // security.capability v2 for cap_setuid,cap_setgid=ep: bytes >= 0x80 that no UTF-8 decoding survives.
        byte[] cap = {1, 0, 0, 2, (byte) 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        Map<String, byte[]> pax = new LinkedHashMap<>();
        pax.put("SCHILY.xattr.security.capability", cap);
        pax.put("SCHILY.xattr.user.note", "hello".getBytes(StandardCharsets.UTF_8));
        pax.put("LIBARCHIVE.xattr.user.with%20space", Base64.getEncoder().encode(new byte[] {(byte) 0xff, 0, 1}));
        TarBuilder t =
                new TarBuilder().rawPax(pax).file("usr/bin/newuidmap", 0755, "elf".getBytes(StandardCharsets.UTF_8));
        // commons-compress's own pax writing for a textual xattr.
        TarArchiveEntry e = new TarArchiveEntry("other", TarConstants.LF_NORMAL);
        e.addPaxHeader("SCHILY.xattr.trusted.overlay.x", "y");
        t.add(e, new byte[0]);
        apply(t.tar(), "l1");
        FsNode n = tree.lookup("usr/bin/newuidmap");
        assertThat(n.xattrs).containsOnlyKeys("security.capability", "user.note", "user.with space");
        assertThat(n.xattrs.get("security.capability")).isEqualTo(cap);
        assertThat(n.xattrs.get("user.note")).isEqualTo("hello".getBytes(StandardCharsets.UTF_8));
        assertThat(n.xattrs.get("user.with space")).isEqualTo(new byte[] {(byte) 0xff, 0, 1});
        assertThat(tree.lookup("other").xattrs.get("trusted.overlay.x")).isEqualTo(new byte[] {'y'});
    }

    @Test
    void longNamesPaxAndGnuAndUstarPrefix() throws IOException {
        String dir = "d".repeat(120) + "/" + "e".repeat(120);
        String longName = dir + "/" + "f".repeat(200);
        apply(new TarBuilder().file(longName, "pax").hardlink("short", longName).tar(), "pax");
        assertThat(text(longName)).isEqualTo("pax");
        assertThat(tree.lookup("short")).isSameAs(tree.lookup(longName));

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream gnu = new TarArchiveOutputStream(out)) {
            gnu.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
            TarArchiveEntry e = new TarArchiveEntry("g/" + "n".repeat(150), TarConstants.LF_NORMAL);
            e.setSize(3);
            gnu.putArchiveEntry(e);
            gnu.write("gnu".getBytes(StandardCharsets.UTF_8));
            gnu.closeArchiveEntry();
            TarArchiveEntry l = new TarArchiveEntry("g/link", TarConstants.LF_SYMLINK);
            l.setLinkName("/" + "k".repeat(150));
            gnu.putArchiveEntry(l);
            gnu.closeArchiveEntry();
        }
        apply(out.toByteArray(), "gnu");
        assertThat(text("g/" + "n".repeat(150))).isEqualTo("gnu");
        assertThat(tree.lookup("g/link").linkTarget).isEqualTo("/" + "k".repeat(150));

        out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream posix = new TarArchiveOutputStream(out)) {
            posix.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            // 150 chars in two components: fits ustar's prefix+name split, no pax needed.
            String name = "p".repeat(70) + "/" + "q".repeat(79);
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL);
            e.setSize(1);
            posix.putArchiveEntry(e);
            posix.write('u');
            posix.closeArchiveEntry();
        }
        apply(out.toByteArray(), "ustar");
        assertThat(text("p".repeat(70) + "/" + "q".repeat(79))).isEqualTo("u");
    }

    @Test
    void bigIdsAndOldTimes() throws IOException {
        TarArchiveEntry e = new TarArchiveEntry("big", TarConstants.LF_NORMAL);
        e.setIds(3_000_000, 2_500_000); // beyond 7 octal digits: pax or base-256
        e.setModTime(-86_400_000L);
        TarBuilder t = new TarBuilder().add(e, new byte[0]);
        apply(t.tar(), "ids");
        FsNode n = tree.lookup("big");
        assertThat(n.uid).isEqualTo(3_000_000);
        assertThat(n.gid).isEqualTo(2_500_000);
        assertThat(n.mtime).isEqualTo(-86_400L);
    }

    @Test
    void rootEntryUpdatesTheRoot() throws IOException {
        TarArchiveEntry root = new TarArchiveEntry("./", TarConstants.LF_DIR);
        root.setMode(0700);
        apply(new TarBuilder().add(root, null).file("./x", "x").tar(), "l1");
        assertThat(tree.root().mode).isEqualTo(0700);
        assertThat(text("x")).isEqualTo("x");
    }

    @Test
    void corruptGzipNamesTheLayer() {
        byte[] gz = new TarBuilder().file("a", "a".repeat(10000)).file("b", "b").gzip();
        byte[] bad = gz.clone();
        for (int i = 20; i < 60; i++) bad[i] ^= 0x5a;
        assertThatThrownBy(() -> apply(bad, "sha256:feedgz"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("sha256:feedgz");
        // Truncated gzip: the tar may even be complete, the gzip stream is not.
        byte[] cut = Arrays.copyOf(gz, gz.length - 6);
        assertThatThrownBy(() -> apply(cut, "sha256:cutgz"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("sha256:cutgz");
        // A broken CRC (last 8 bytes are CRC32 and size).
        byte[] crc = gz.clone();
        crc[crc.length - 8] ^= 1;
        assertThatThrownBy(() -> apply(crc, "sha256:crc"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("sha256:crc");
    }

    @Test
    void corruptZstdNamesTheLayer() {
        byte[] z =
                new TarBuilder().file("a", "a".repeat(10000)).file("b", "bbbb").zstd();
        byte[] bad = z.clone();
        for (int i = 8; i < bad.length - 4; i++) bad[i] ^= 0x33;
        assertThatThrownBy(() -> apply(bad, "sha256:feedzstd"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("sha256:feedzstd");
        byte[] cut = Arrays.copyOf(z, z.length / 2);
        assertThatThrownBy(() -> apply(cut, "sha256:cutzstd"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("sha256:cutzstd");
    }

    @Test
    void truncatedTarNamesTheLayerAndEntry() {
        byte[] tar = new TarBuilder()
                .file("first", "1")
                .file("second", "x".repeat(5000))
                .tar();
        int header = headerOffset(tar, "second");
        // Inside the contents of "second".
        byte[] cut = Arrays.copyOf(tar, header + 512 + 1000);
        assertThatThrownBy(() -> apply(cut, "truncated"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("layer truncated")
                .hasMessageContaining("entry second");
        // Inside a header block.
        byte[] cutHeader = Arrays.copyOf(tar, header + 100);
        assertThatThrownBy(() -> apply(cutHeader, "truncated2"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("truncated2")
                .hasMessageContaining("header");
        // Garbage that is not a tar at all.
        byte[] junk = new byte[1024];
        Arrays.fill(junk, (byte) 'j');
        assertThatThrownBy(() -> apply(junk, "junk"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("junk")
                .hasMessageContaining("checksum");
    }

    /** Where the ustar header of {@code name} (not its pax header) starts. */
    static int headerOffset(byte[] tar, String name) {
        byte[] want = (name + "\0").getBytes(StandardCharsets.UTF_8);
        for (int off = 0; off + 512 <= tar.length; off += 512) {
            if (Arrays.equals(Arrays.copyOfRange(tar, off, off + want.length), want) && tar[off + 156] == '0')
                return off;
        }
        throw new AssertionError(name + " not in the tar");
    }

    @Test
    void aufsMetadataIsIgnoredAndOddTypesRefused() throws IOException {
        apply(
                new TarBuilder()
                        .dir(".wh..wh.plnk", 0700)
                        .file(".wh..wh.plnk/1234.5", "x")
                        .file("kept", "k")
                        .tar(),
                "aufs");
        assertThat(tree.root().children().keySet()).containsExactly("kept");
        TarArchiveEntry v = new TarArchiveEntry("vol", (byte) 'V');
        assertThatThrownBy(() -> apply(new TarBuilder().add(v, null).tar(), "odd"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("unsupported tar entry type 'V'")
                .hasMessageContaining("entry vol");
        TarArchiveEntry sparse = new TarArchiveEntry("sparse", TarConstants.LF_NORMAL);
        sparse.addPaxHeader("GNU.sparse.map", "0,0");
        assertThatThrownBy(() -> apply(new TarBuilder().add(sparse, new byte[0]).tar(), "sparse"))
                .isInstanceOf(LayerException.class)
                .hasMessageContaining("sparse");
    }

    @Test
    void emptyLayerIsFine() throws IOException {
        apply(new byte[0], "empty");
        apply(new byte[1024], "zeros");
        apply(new TarBuilder().tar(), "endonly");
        assertThat(tree.root().children()).isEmpty();
    }
}
