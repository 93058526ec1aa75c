package dev.c2w.converter.erofs;

import static dev.c2w.converter.erofs.ErofsTestTrees.assertMatches;
import static dev.c2w.converter.erofs.ErofsTestTrees.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.converter.erofs.ErofsTestTrees.Checks;
import dev.c2w.converter.erofs.ErofsTestTrees.Result;
import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images checked with erofs-utils' fsck.erofs (--extract) and dump.erofs. */
class ErofsWriterTest {
    @TempDir
    Path tmp;

    @Test
    void fsckExtractsTheSampleTree() throws Exception {
        try (FsTree t = ErofsTestTrees.sample(tmp)) {
            Path img = tmp.resolve("img.erofs");
            long size = ErofsWriter.write(t, img);
            assertThat(Files.size(img)).isEqualTo(size);
            assertThat(size % 4096).isZero();

            Path out = tmp.resolve("x");
            Result r = run(null, "fsck.erofs", "--extract=" + out, img.toString());
            assertThat(r.exit()).as(r.output()).isZero();
            assertThat(r.output()).doesNotContain("<E>").doesNotContain("<W>");
            // fsck.erofs 1.5 restores type, mode, owner, contents, targets and devices; not xattrs,
            // hard links or (for directories) times, which the mount test checks
            assertMatches(t, out, new Checks(false, false, false, false, false));
        }
    }

    @Test
    void dumpShowsTheSuperblock() throws Exception {
        try (FsTree t = ErofsTestTrees.sample(tmp)) {
            Path img = tmp.resolve("img.erofs");
            long size = new ErofsWriter().buildTime(1_234_567_890L).writeTo(t, img);
            Result r = run(null, "dump.erofs", "-s", img.toString());
            assertThat(r.exit()).as(r.output()).isZero();
            long inodes = ErofsTestTrees.flatten(t).values().stream()
                    .map(System::identityHashCode)
                    .distinct()
                    .count();
            assertThat(r.output())
                    .containsPattern("magic number:\\s+0xE0F5E1E2")
                    .containsPattern("Filesystem blocks:\\s+" + size / 4096 + "\n")
                    .containsPattern("root nid:\\s+36\n")
                    .containsPattern("inode count:\\s+" + inodes + "\n")
                    .containsPattern("features:\\s+sb_csum mtime");
            // dump.erofs prints the build time in local time; check the raw field instead
            ByteBuffer sb =
                    ByteBuffer.wrap(Files.readAllBytes(img), 1024, 128).slice().order(ByteOrder.LITTLE_ENDIAN);
            assertThat(sb.getLong(24)).isEqualTo(1_234_567_890L);
            assertThat(sb.get(12)).isEqualTo((byte) 12);

            Result ls = run(null, "dump.erofs", "--path=/bin/ping", img.toString());
            assertThat(ls.exit()).as(ls.output()).isZero();
            assertThat(ls.output()).contains("3000"); // the size
        }
    }

    @Test
    void sameTreeSameBytes() throws Exception {
        try (FsTree t = ErofsTestTrees.sample(tmp)) {
            ByteArrayOutputStream a = new ByteArrayOutputStream();
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            long sa = new ErofsWriter().writeTo(t, Channels.newChannel(a));
            long sb = new ErofsWriter().writeTo(t, Channels.newChannel(b));
            assertThat(sa).isEqualTo(a.size()).isEqualTo(sb);
            assertThat(a.toByteArray()).isEqualTo(b.toByteArray());
            // and the same as what goes to a file
            Path img = tmp.resolve("img.erofs");
            ErofsWriter.write(t, img);
            assertThat(Files.readAllBytes(img)).isEqualTo(a.toByteArray());
        }
    }

    @Test
    void progressCountsFileBytes() throws Exception {
        try (FsTree t = ErofsTestTrees.sample(tmp)) {
            List<Long> seen = new ArrayList<>();
            ErofsWriter.write(t, tmp.resolve("img.erofs"), seen::add);
            long total = ErofsTestTrees.flatten(t).values().stream()
                    .distinct()
                    .filter(n -> n.type() == FsNode.Type.FILE)
                    .mapToLong(n -> n.data.length())
                    .sum();
            assertThat(seen).isSortedAccordingTo(Long::compare);
            assertThat(seen.get(seen.size() - 1)).isEqualTo(total);
            assertThat(seen.size()).isGreaterThan(10); // the 10 MiB file reports in chunks
        }
    }

    @Test
    void emptyRootAndSkippedXattrs() throws Exception {
        try (FsTree t = FsTree.create(tmp)) {
            t.root().xattrs.put("system.nfs4_acl", new byte[] {1});
            t.root().xattrs.put("user.", new byte[] {1});
            ErofsWriter w = new ErofsWriter();
            Path img = tmp.resolve("img.erofs");
            assertThat(w.writeTo(t, img)).isEqualTo(4096);
            assertThat(w.skippedXattrs()).isEqualTo(2);
            Path out = tmp.resolve("x");
            Result r = run(null, "fsck.erofs", "--extract=" + out, img.toString());
            assertThat(r.exit()).as(r.output()).isZero();
            try (var s = Files.list(out)) {
                assertThat(s).isEmpty();
            }
        }
    }

    @Test
    void corruptChecksumIsNoticed() throws Exception {
        try (FsTree t = FsTree.create(tmp)) {
            t.root().put("f", FsNode.file(0644, t.data().write("hello".getBytes(StandardCharsets.UTF_8))));
            Path img = tmp.resolve("img.erofs");
            ErofsWriter.write(t, img);
            Result good = run(null, "fsck.erofs", img.toString());
            assertThat(good.exit()).as(good.output()).isZero();
            assertThat(good.output()).doesNotContain("chksum");
            byte[] b = Files.readAllBytes(img);
            b[4000] ^= 1; // inside block 0 after the superblock: covered by the checksum, unused otherwise
            Files.write(img, b);
            // fsck.erofs 1.5 reports the mismatch but still exits 0
            Result r = run(null, "fsck.erofs", img.toString());
            assertThat(r.output()).contains("superblock chksum doesn't match");
        }
    }
}
