package dev.c2w.converter.erofs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.c2w.converter.erofs.ErofsTestTrees.Result;
import dev.c2w.converter.fs.FsNode;
import dev.c2w.converter.fs.FsTree;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel the guest really runs (Linux 6.1, riscv64, guest/kernel/build.sh) mounts our image
 * from virtio-blk under qemu-system-riscv64; a small static /init (erofscheck.c) walks it and prints
 * what the kernel reports, which is compared with the tree. Skipped, with the reason, when the
 * cached guest kernel, qemu-system-riscv64 or a riscv64 C library (apt: libc6-dev-riscv64-cross)
 * is missing.
 */
@Tag("guest")
class ErofsGuestKernelTest {
    @TempDir
    Path tmp;

    @Test
    void linux61MountsTheSampleTree() throws Exception {
        Path kernel = kernelImage();
        Path check = buildChecker();
        Path cpio = tmp.resolve("init.cpio");
        Path repo = Path.of("").toAbsolutePath().getParent();
        Result mk = run(
                "python3",
                repo.resolve("guest/tools/mkinitramfs.py").toString(),
                cpio.toString(),
                "dir:/dev",
                "dev:/dev/console=c,5,1",
                "dir:/mnt",
                "file:/init=" + check);
        assertThat(mk.exit()).as(mk.output()).isZero();

        try (FsTree t = ErofsTestTrees.sample(tmp)) {
            Path img = tmp.resolve("img.erofs");
            ErofsWriter.write(t, img);
            Result q = run(
                    "timeout",
                    "300",
                    "qemu-system-riscv64",
                    "-M",
                    "virt",
                    "-m",
                    "256M",
                    "-nographic",
                    "-bios",
                    "default",
                    "-kernel",
                    kernel.toString(),
                    "-initrd",
                    cpio.toString(),
                    "-append",
                    "console=hvc0 earlycon=sbi quiet panic=-1",
                    "-no-reboot",
                    "-monitor",
                    "none",
                    "-serial",
                    "stdio",
                    "-drive",
                    "file=" + img + ",format=raw,if=none,id=d0,readonly=on",
                    "-device",
                    "virtio-blk-device,drive=d0");
            String out = q.output().replace("\r", "");
            int b = out.indexOf("\nBEGIN\n");
            int e = out.indexOf("\nEND\n");
            assertThat(b).as("guest output:\n" + out).isNotNegative();
            assertThat(e).as("guest output:\n" + out).isGreaterThan(b);
            String body = out.substring(b + 7, e + 1);
            assertThat(body).as("errors in the guest").doesNotContain("ERROR");
            assertThat(out).as("kernel messages").doesNotContain("erofs: (device vda): ");

            Map<String, String[]> seen = new LinkedHashMap<>();
            for (String line : body.split("\n")) {
                if (line.isEmpty()) continue;
                String[] f = line.split("\t", -1);
                assertThat(f).as(line).hasSize(12);
                seen.put(f[0], f);
            }
            compare(t, seen);
        }
    }

    private static void compare(FsTree t, Map<String, String[]> seen) throws IOException {
        Map<String, FsNode> nodes = ErofsTestTrees.flatten(t);
        assertThat(seen.keySet()).containsExactlyInAnyOrderElementsOf(nodes.keySet());
        Map<FsNode, Integer> links = new IdentityHashMap<>();
        for (FsNode n : nodes.values()) links.merge(n, 1, Integer::sum);
        Map<FsNode, String> inoOf = new IdentityHashMap<>();
        Map<String, FsNode> nodeOfIno = new HashMap<>();
        Map<FsNode, Long> hashes = new IdentityHashMap<>();

        for (var en : nodes.entrySet()) {
            FsNode n = en.getValue();
            String[] f = seen.get(en.getKey());
            String what = en.getKey() + " (" + n + ")";
            assertThat(f[1]).as("mode of " + what).isEqualTo(Integer.toOctalString(n.stMode()));
            assertThat(Long.parseLong(f[2])).as("uid of " + what).isEqualTo(n.uid & 0xffffffffL);
            assertThat(Long.parseLong(f[3])).as("gid of " + what).isEqualTo(n.gid & 0xffffffffL);
            long subdirs = n.isDir()
                    ? n.children().values().stream().filter(FsNode::isDir).count()
                    : 0;
            assertThat(Long.parseLong(f[4])).as("nlink of " + what).isEqualTo(n.isDir() ? 2 + subdirs : links.get(n));
            String prevIno = inoOf.putIfAbsent(n, f[5]);
            if (prevIno != null) assertThat(f[5]).as("hard link " + what).isEqualTo(prevIno);
            FsNode other = nodeOfIno.putIfAbsent(f[5], n);
            if (other != null)
                assertThat(other).as("inode " + f[5] + " of " + what).isSameAs(n);
            if (n.isDir()) {
                assertThat(Long.parseLong(f[6])).as("size of " + what).isPositive(); // bytes of its dirents
            } else {
                assertThat(Long.parseLong(f[6])).as("size of " + what).isEqualTo(n.size());
            }
            if (n.type() == FsNode.Type.CHAR || n.type() == FsNode.Type.BLOCK) {
                assertThat(f[7]).as("rdev of " + what).isEqualTo(n.devMajor + ":" + n.devMinor);
            }
            assertThat(Long.parseLong(f[8])).as("mtime of " + what).isEqualTo(n.mtime);
            if (n.type() == FsNode.Type.FILE) {
                long h = hashes.computeIfAbsent(n, x -> fnv(t, x));
                assertThat(f[9]).as("contents of " + what).isEqualTo(String.format("%016x", h));
            }
            if (n.type() == FsNode.Type.SYMLINK)
                assertThat(f[10]).as("target of " + what).isEqualTo(n.linkTarget);
            Map<String, String> x = new TreeMap<>();
            if (!f[11].isEmpty()) {
                for (String kv : f[11].split(",")) {
                    int eq = kv.indexOf('=');
                    x.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            assertThat(x).as("xattrs of " + what).isEqualTo(ErofsTestTrees.hexXattrs(n.xattrs));
        }

        // readdir order: each directory's children in NAME_ORDER (the order erofs stores them)
        List<String> paths = new ArrayList<>(seen.keySet());
        for (var en : nodes.entrySet()) {
            if (!en.getValue().isDir()) continue;
            String prefix = en.getKey() + "/";
            List<String> order = new ArrayList<>();
            for (String p : paths) {
                if (p.startsWith(prefix) && p.indexOf('/', prefix.length()) < 0)
                    order.add(p.substring(prefix.length()));
            }
            assertThat(order)
                    .as("readdir order of " + en.getKey())
                    .containsExactlyElementsOf(en.getValue().children().keySet());
        }
    }

    private static long fnv(FsTree t, FsNode n) {
        long h = 0xcbf29ce484222325L;
        try (InputStream in = t.data().open(n.data)) {
            byte[] buf = new byte[1 << 16];
            int r;
            while ((r = in.read(buf)) > 0) {
                for (int i = 0; i < r; i++) {
                    h ^= buf[i] & 0xff;
                    h *= 0x100000001b3L;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return h;
    }

    private Path kernelImage() throws Exception {
        String env = System.getenv("C2W_KERNEL_IMAGE");
        if (env != null && Files.isRegularFile(Path.of(env))) return Path.of(env);
        Path repo = Path.of("").toAbsolutePath().getParent();
        Result r = run("bash", repo.resolve("guest/kernel/build.sh").toString(), "--print-path");
        String path = r.output().strip();
        skipUnless(
                r.exit() == 0 && Files.isRegularFile(Path.of(path)),
                "no cached guest kernel (guest/kernel/build.sh builds it): " + r.output());
        skipUnless(run("sh", "-c", "command -v qemu-system-riscv64").exit() == 0, "qemu-system-riscv64 not installed");
        return Path.of(path);
    }

    private Path buildChecker() throws Exception {
        Path src = tmp.resolve("erofscheck.c");
        try (InputStream in = getClass().getResourceAsStream("erofscheck.c")) {
            Files.copy(in, src);
        }
        Path bin = tmp.resolve("erofscheck");
        Result cc = run("riscv64-linux-gnu-gcc", "-static", "-O2", "-Wall", "-o", bin.toString(), src.toString());
        skipUnless(
                cc.exit() == 0,
                "cannot build a static riscv64 program (apt: gcc-riscv64-linux-gnu libc6-dev-riscv64-cross): "
                        + cc.output());
        return bin;
    }

    private static void skipUnless(boolean ok, String why) {
        if (!ok) System.out.println("ErofsGuestKernelTest skipped: " + why);
        Assumptions.assumeTrue(ok, why);
    }

    private static Result run(String... cmd) throws Exception {
        try {
            return ErofsTestTrees.run(null, cmd);
        } catch (IOException e) {
            return new Result(127, e.toString());
        }
    }
}
