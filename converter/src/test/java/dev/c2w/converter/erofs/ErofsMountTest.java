package dev.c2w.converter.erofs;

import static dev.c2w.converter.erofs.ErofsTestTrees.assertMatches;
import static dev.c2w.converter.erofs.ErofsTestTrees.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.converter.erofs.ErofsTestTrees.Checks;
import dev.c2w.converter.erofs.ErofsTestTrees.Result;
import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images mounted by the host kernel's erofs driver (loop device, read-only). Skipped, with the
 * reason printed, only when this machine cannot mount an erofs image at all (not root, no loop
 * devices, no erofs in the kernel); the probe uses an image made by mkfs.erofs, so a failure to
 * mount one of ours is a test failure, not a skip.
 */
class ErofsMountTest {
    @TempDir
    Path tmp;

    @Test
    void kernelMountsTheSampleTree() throws Exception {
        try (FsTree t = ErofsTestTrees.sample(tmp)) {
            Path img = tmp.resolve("img.erofs");
            ErofsWriter.write(t, img);
            withMount(img, mnt -> {
                assertMatches(t, mnt, new Checks(true, true, true, true, true));
                // every name of the big directory is found by lookup (the kernel binary-searches them)
                FsNode many = t.lookup("/many");
                for (String name : many.children().keySet()) {
                    assertThat(Files.exists(mnt.resolve("many").resolve(name), LinkOption.NOFOLLOW_LINKS))
                            .as(name)
                            .isTrue();
                }
                assertThat(Files.exists(mnt.resolve("many/entry-1-"))).isFalse();
                assertThat(Files.exists(mnt.resolve("many/zzz"))).isFalse();
                assertThat(Files.exists(mnt.resolve("many/!"))).isFalse();
                // readdir returns them in erofs' order: "." and ".." among the others by bytes
                List<String> listed = new ArrayList<>();
                try (var s = Files.list(mnt.resolve("many"))) {
                    s.forEach(p -> listed.add(p.getFileName().toString()));
                }
                assertThat(listed).containsExactlyElementsOf(many.children().keySet());
                // symlinks resolve inside the mount
                assertThat(Files.readAllBytes(mnt.resolve("links/short"))).isEqualTo(t.readFile("/sizes/f1"));
            });
        }
    }

    @Test
    void kernelMountsAnEmptyRoot() throws Exception {
        try (FsTree t = FsTree.create(tmp)) {
            t.root().mode = 0700;
            t.root().uid = 12345;
            Path img = tmp.resolve("img.erofs");
            ErofsWriter.write(t, img);
            withMount(img, mnt -> assertMatches(t, mnt, new Checks(true, true, true, true, true)));
        }
    }

    interface MountBody {
        void run(Path mnt) throws Exception;
    }

    private void withMount(Path img, MountBody body) throws Exception {
        probeMount();
        Path mnt = Files.createDirectories(tmp.resolve("mnt-" + img.getFileName()));
        Result m = run(null, "mount", "-t", "erofs", "-o", "loop,ro", img.toString(), mnt.toString());
        if (m.exit() != 0) {
            Result dmesg = run(null, "sh", "-c", "dmesg 2>/dev/null | grep -i erofs | tail -5");
            throw new AssertionError("mount of our image failed: " + m.output() + dmesg.output());
        }
        try {
            body.run(mnt);
        } finally {
            Result u = run(null, "umount", mnt.toString());
            assertThat(u.exit()).as("umount: " + u.output()).isZero();
        }
    }

    private static Boolean canMount;
    private static String whyNot;

    /** Mounts an image made by mkfs.erofs once, to learn whether this machine can mount erofs at all. */
    private void probeMount() throws Exception {
        synchronized (ErofsMountTest.class) {
            if (canMount == null) {
                Path src = Files.createDirectories(tmp.resolve("probe-src"));
                Files.writeString(src.resolve("f"), "probe");
                Path img = tmp.resolve("probe.erofs");
                Path mnt = Files.createDirectories(tmp.resolve("probe-mnt"));
                Result mk = run(null, "mkfs.erofs", img.toString(), src.toString());
                if (mk.exit() != 0) {
                    canMount = false;
                    whyNot = "mkfs.erofs failed: " + mk.output();
                } else {
                    Result m = run(null, "mount", "-t", "erofs", "-o", "loop,ro", img.toString(), mnt.toString());
                    canMount = m.exit() == 0;
                    whyNot = "mount -t erofs -o loop,ro of a mkfs.erofs image failed: " + m.output();
                    if (canMount) run(null, "umount", mnt.toString());
                }
                if (!canMount) System.out.println("ErofsMountTest skipped: " + whyNot);
            }
        }
        Assumptions.assumeTrue(canMount, whyNot);
    }
}
