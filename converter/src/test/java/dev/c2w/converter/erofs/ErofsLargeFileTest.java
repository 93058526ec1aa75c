package dev.c2w.converter.erofs;

import static dev.c2w.converter.erofs.ErofsTestTrees.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.converter.erofs.ErofsTestTrees.Result;
import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file past 4 GiB (64-bit i_size, data beyond byte 2^32 of the image) and a file after it,
 * read back through the kernel. Needs ~13 GB of temporary disk and a minute or two, so it runs only
 * with -Dc2w.erofs.large=true.
 */
@Tag("large") // on demand (13 GB of temporary disk): mvn -pl converter test -Dtest=ErofsLargeFileTest
// -Dsurefire.excludedGroups=peer
class ErofsLargeFileTest {
    @TempDir
    Path tmp;

    @Test
    void fileLargerThan4GiB() throws Exception {
        long bigLen = (4L << 30) + 4097;
        try (FsTree t = FsTree.create(tmp)) {
            FsNode big = ErofsTestTrees.file(t, 0644, 1, bigLen);
            FsNode after = ErofsTestTrees.file(t, 0644, 2, 5000);
            t.root().put("big", big);
            t.root().put("zafter", after);
            Path img = tmp.resolve("img.erofs");
            AtomicLong last = new AtomicLong();
            long size = ErofsWriter.write(t, img, last::set);
            assertThat(last.get()).isEqualTo(bigLen + 5000);
            assertThat(size).isGreaterThan(bigLen);

            Result fsck = run(null, "fsck.erofs", img.toString());
            assertThat(fsck.exit()).as(fsck.output()).isZero();
            assertThat(fsck.output()).doesNotContain("<E>");

            Path mnt = Files.createDirectories(tmp.resolve("mnt"));
            Result m = run(null, "mount", "-t", "erofs", "-o", "loop,ro", img.toString(), mnt.toString());
            Assumptions.assumeTrue(m.exit() == 0, "cannot mount: " + m.output());
            try {
                assertThat(Files.size(mnt.resolve("big"))).isEqualTo(bigLen);
                assertThat(ErofsTestTrees.sha256(Files.newInputStream(mnt.resolve("zafter"))))
                        .isEqualTo(ErofsTestTrees.sha256(t.data().open(after.data)));
                assertThat(ErofsTestTrees.sha256(Files.newInputStream(mnt.resolve("big"))))
                        .isEqualTo(ErofsTestTrees.sha256(t.data().open(big.data)));
            } finally {
                run(null, "umount", mnt.toString());
            }
        }
    }
}
