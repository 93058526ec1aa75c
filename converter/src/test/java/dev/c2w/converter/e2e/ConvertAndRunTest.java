package dev.c2w.converter.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.c2w.converter.Converter;
import dev.c2w.converter.ProgressSink;
import dev.c2w.converter.cli.C2w;
import dev.c2w.converter.testing.LocalRegistry;
import dev.c2w.converter.testing.Proc;
import dev.c2w.converter.testing.TestImages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * From an image in a real local registry (Debian's docker-registry on 127.0.0.1), a docker-archive and
 * an OCI layout to a container running in the JVM (c2w-net --invoke, a child JVM) and under Node: what
 * a user does with one c2w and one c2w-net command. The guest parts are this repository's own build
 * (guest/dist.sh, cached).
 */
@Tag("guest")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConvertAndRunTest {
    static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    static final Duration RUN = Duration.ofSeconds(240);

    Path work;
    Path guest;
    TestImages images;
    LocalRegistry registry;
    Path busyboxFromRegistry, busyboxFromArchive, busyboxFromOci, layered, fromIndex, external, externalDir;
    HttpServer http;
    byte[] blob;

    @BeforeAll
    void convertAll() throws Exception {
        work = Files.createDirectories(ROOT.resolve("converter/target/e2e"));
        Proc.Result dist = Proc.run(
                Duration.ofMinutes(20),
                List.of(
                        ROOT.resolve("guest/dist.sh").toString(),
                        work.resolve("guest").toString()));
        assertThat(dist.exit()).as("guest/dist.sh:\n%s", dist.output()).isZero();
        guest = work.resolve("guest");
        images = TestImages.get();
        registry = LocalRegistry.start();
        registry.push(images.busybox(), "1", "c2w/busybox:1");
        registry.push(images.layered(), "1", "c2w/layered:1");

        busyboxFromRegistry = convert(registry.host() + "/c2w/busybox:1", "busybox-registry.wasm");
        busyboxFromArchive = convert("docker-archive:" + images.busyboxArchive(), "busybox-archive.wasm");
        busyboxFromOci = convert("oci:" + images.busybox() + ":1", "busybox-oci.wasm");
        layered = convert(registry.host() + "/c2w/layered:1", "layered.wasm");
        fromIndex = convert("oci:" + images.multiPlatform(), "multi-platform.wasm");
        externalDir = work.resolve("external-bundle");
        Proc.run(Duration.ofSeconds(30), List.of("rm", "-rf", externalDir.toString()));
        external = work.resolve("external.wasm");
        Files.deleteIfExists(external);
        new Converter(
                        new Converter.Options(
                                "oci:" + images.busybox() + ":1",
                                external,
                                "riscv64",
                                List.of(),
                                externalDir,
                                256,
                                "c2w",
                                guest,
                                null),
                        ProgressSink.SILENT)
                .run();

        blob = new byte[3 << 20];
        new Random(7).nextBytes(blob);
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        http.createContext("/blob", ex -> {
            try (ex) {
                ex.sendResponseHeaders(200, blob.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(blob);
                }
            }
        });
        http.start();
    }

    @AfterAll
    void stop() throws Exception {
        if (http != null) http.stop(0);
        if (registry != null) registry.close();
    }

    Path convert(String image, String name) throws Exception {
        Path out = work.resolve(name);
        Files.deleteIfExists(out);
        new Converter(
                        new Converter.Options(image, out, "riscv64", List.of(), null, 256, "c2w", guest, null),
                        ProgressSink.SILENT)
                .run();
        assertThat(out).isRegularFile();
        return out;
    }

    /** c2w-net --invoke in a child JVM built from this test's class path (the runner module). */
    Proc.Result invoke(List<String> flags, Path module, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-DontCompileHugeMethods",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.c2w.cli.C2wNet",
                "--dns-upstream",
                "127.0.0.1:9"));
        cmd.addAll(flags);
        cmd.add("--invoke");
        cmd.add(module.toString());
        cmd.addAll(List.of(args));
        return Proc.run(RUN, cmd);
    }

    Proc.Result invokeWithStdin(byte[] stdin, Path module, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-DontCompileHugeMethods",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.c2w.cli.C2wNet",
                "--dns-upstream",
                "127.0.0.1:9",
                "--invoke",
                module.toString()));
        cmd.addAll(List.of(args));
        return Proc.run(RUN, cmd, null, Map.of(), stdin);
    }

    Proc.Result node(Path module, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                "node",
                "--no-warnings",
                ROOT.resolve("guest/emulator/tools/run-node.mjs").toString(),
                "--preopen",
                work.resolve("empty") + "::/c2w-empty",
                module.toString()));
        cmd.addAll(List.of(args));
        return Proc.run(RUN, cmd);
    }

    /** The c2w CLI in this JVM: exit status and what it printed on stdout and stderr. */
    static Proc.Result c2w(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = System.out, err = System.err;
        PrintStream both = new PrintStream(buf, true, StandardCharsets.UTF_8);
        System.setOut(both);
        System.setErr(both);
        int rc;
        try {
            rc = new picocli.CommandLine(new C2w()).execute(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new Proc.Result(rc, buf.toString(StandardCharsets.UTF_8));
    }

    static List<String> leftovers(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.contains("partial") || n.contains(".c2w-"))
                    .toList();
        }
    }

    static String lines(Proc.Result r) {
        return r.output().replace("\r", "");
    }

    @Test
    void echoHelloFromEverySource() throws Exception {
        for (Path m : List.of(busyboxFromRegistry, busyboxFromArchive, busyboxFromOci)) {
            Proc.Result r = invoke(List.of(), m, "echo", "hello");
            assertThat(r.exit()).as("%s: %s", m, r.output()).isZero();
            assertThat(lines(r)).as("%s", m).containsPattern("(?m)^hello$");
        }
    }

    @Test
    void theCommandsExitStatusIsTheModulesExitStatus() throws Exception {
        Proc.Result r = invoke(List.of(), busyboxFromRegistry, "sh", "-c", "exit 7");
        assertThat(r.exit()).as(r.output()).isEqualTo(7);
    }

    @Test
    void aMappedDirectoryIsVisibleAndWritable() throws Exception {
        Path dir = Files.createDirectories(work.resolve("mapped"));
        Files.writeString(dir.resolve("in.txt"), "from-the-host\n");
        Files.deleteIfExists(dir.resolve("out.txt"));
        Proc.Result r = invoke(
                List.of("--dir", dir + "::/mnt/data"),
                busyboxFromRegistry,
                "sh",
                "-c",
                "cat /mnt/data/in.txt; echo from-the-guest > /mnt/data/out.txt");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).contains("from-the-host");
        assertThat(Files.readString(dir.resolve("out.txt"))).isEqualTo("from-the-guest\n");
    }

    @Test
    void runTimeEnvAndTheImagesEnvReachTheCommand() throws Exception {
        Proc.Result r = invoke(
                List.of("--env", "RUN_VAR=given at run time"),
                busyboxFromRegistry,
                "sh",
                "-c",
                "echo \"[$RUN_VAR] [$IMAGE_VAR] [$PATH]\"");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r))
                .contains(
                        "[given at run time] [from-image] [/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin]");
    }

    @Test
    void theImagesDefaultCommandRunsWhenNoneIsGiven() throws Exception {
        Proc.Result r = invoke(List.of(), busyboxFromRegistry);
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).containsPattern("(?m)^default-cmd-ran$");
    }

    @Test
    void downloadsFromAHostServerThrough192_168_127_254() throws Exception {
        String sha =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
        int port = http.getAddress().getPort();
        Proc.Result r = invoke(
                List.of(),
                busyboxFromRegistry,
                "sh",
                "-c",
                "wget -q -O - http://192.168.127.254:" + port + "/blob | sha256sum; cat /etc/resolv.conf; hostname");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).contains(sha).contains("nameserver 192.168.127.1").containsPattern("(?m)^c2w$");
    }

    @Test
    void theLayeredImageHasItsWhiteoutsHardLinksUserAndWorkdir() throws Exception {
        Proc.Result r = invoke(List.of(), layered);
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r))
                .containsPattern("(?m)^layered-default$")
                .containsPattern("(?m)^1000$")
                .containsPattern("(?m)^/home/app$");
        r = invoke(
                List.of(),
                layered,
                "test ! -e /data/gone.txt && test -e /data/keep.txt && ls /opt/dir"
                        + " && test /opt/big.bin -ef /opt/hard.bin && echo checks-passed; id -G; echo $HOME; echo $LAYER_VAR");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r))
                .containsPattern("(?m)^b.txt$")
                .doesNotContainPattern("(?m)^a.txt$")
                .contains("checks-passed")
                .containsPattern("(?m)^1000 2000$")
                .containsPattern("(?m)^/home/app$")
                .containsPattern("(?m)^3$");
    }

    @Test
    void theSameModuleRunsUnderNode() throws Exception {
        Files.createDirectories(work.resolve("empty"));
        Proc.Result r = node(busyboxFromRegistry, "echo", "hello");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).containsPattern("(?m)^hello$");
    }

    @Test
    void inspectSaysWhatIsInside() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = new picocli.CommandLine(new C2w()).execute("inspect", busyboxFromRegistry.toString());
        } finally {
            System.setOut(old);
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        assertThat(rc).as(s).isZero();
        assertThat(s)
                .contains("c2w/busybox:1")
                .contains("sha256:")
                .contains("erofs")
                .contains("Linux 6.1");
    }

    @Test
    void thePlatformIsPickedFromAMultiPlatformIndex() throws Exception {
        Proc.Result r = invoke(List.of(), fromIndex, "sh", "-c", "echo hello; uname -m");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).containsPattern("(?m)^hello$").containsPattern("(?m)^riscv64$");
    }

    @Test
    void anImageWithoutRiscv64IsRefusedListingItsPlatforms() throws Exception {
        Path dir = Files.createDirectories(work.resolve("refused-platform"));
        Path out = dir.resolve("out.wasm");
        Files.deleteIfExists(out);
        Proc.Result r = c2w("--quiet", "--guest", guest.toString(), "oci:" + images.amd64Only(), out.toString());
        assertThat(r.exit()).as(r.output()).isNotZero();
        assertThat(r.output()).contains("riscv64").contains("linux/amd64").contains("linux/arm64/v8");
        assertThat(out).doesNotExist();
        assertThat(leftovers(dir)).isEmpty();
    }

    @Test
    void aCorruptLayerIsAnErrorNamingItAndLeavesNoOutput() throws Exception {
        Path layout = work.resolve("corrupt-layout");
        Proc.run(Duration.ofSeconds(30), List.of("rm", "-rf", layout.toString()));
        Proc.Result cp = Proc.run(
                Duration.ofSeconds(30), List.of("cp", "-r", images.busybox().toString(), layout.toString()));
        assertThat(cp.exit()).as(cp.output()).isZero();
        Path biggest;
        try (var s = Files.list(layout.resolve("blobs/sha256"))) {
            biggest = s.max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
        byte[] b = Files.readAllBytes(biggest);
        for (int i = b.length / 2; i < b.length / 2 + 64; i++) b[i] ^= 0x5a;
        Files.write(biggest, b);
        Path dir = Files.createDirectories(work.resolve("refused-corrupt"));
        Path out = dir.resolve("out.wasm");
        Files.writeString(out, "an older module that must survive\n");
        Proc.Result r = c2w("--quiet", "--guest", guest.toString(), "oci:" + layout + ":1", out.toString());
        assertThat(r.exit()).as(r.output()).isNotZero();
        assertThat(r.output())
                .contains("layer 1/1 " + biggest.getFileName().toString().substring(0, 12))
                .contains("digest mismatch")
                .contains("pull or save the image again");
        assertThat(Files.readString(out)).isEqualTo("an older module that must survive\n");
        assertThat(leftovers(dir)).isEmpty();
    }

    @Test
    void upstreamsBuildFlagsAreRefusedSayingWhatToDoInstead() throws Exception {
        Path out = work.resolve("refused-dockerfile.wasm");
        Files.deleteIfExists(out);
        Proc.Result r = c2w("--dockerfile", "Dockerfile", "oci:" + images.busybox() + ":1", out.toString());
        assertThat(r.exit()).as(r.output()).isNotZero();
        assertThat(r.output()).contains("--dockerfile").contains("riscv64");
        assertThat(out).doesNotExist();
    }

    @Test
    void anExternalBundleIsMountedFromAPreopenedDirectory() throws Exception {
        assertThat(externalDir.resolve("rootfs.erofs")).isRegularFile();
        assertThat(Files.size(external)).isLessThan(Files.size(busyboxFromOci));
        Proc.Result r =
                invoke(List.of("--dir", externalDir + "::/pack"), external, "sh", "-c", "echo hello; echo $IMAGE_VAR");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).containsPattern("(?m)^hello$").containsPattern("(?m)^from-image$");
        Files.createDirectories(work.resolve("empty"));
        r = Proc.run(
                RUN,
                List.of(
                        "node",
                        "--no-warnings",
                        ROOT.resolve("guest/emulator/tools/run-node.mjs").toString(),
                        "--preopen",
                        externalDir + "::/pack",
                        external.toString(),
                        "echo",
                        "hello"));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).containsPattern("(?m)^hello$");
    }

    @Test
    void theEntrypointCanBeReplacedAtRunTime() throws Exception {
        Proc.Result r = invoke(List.of(), busyboxFromRegistry, "--entrypoint", "/bin/echo", "replaced", "entrypoint");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r)).containsPattern("(?m)^replaced entrypoint$");
    }

    @Test
    void aShellReadsItsCommandsFromStdin() throws Exception {
        Proc.Result r = invokeWithStdin(
                "echo from-stdin-$((6*7))\nexit 3\n".getBytes(StandardCharsets.UTF_8), busyboxFromRegistry, "sh");
        assertThat(r.exit()).as(r.output()).isEqualTo(3);
        assertThat(lines(r)).containsPattern("(?m)^from-stdin-42$");
    }

    @Test
    void theGuestLooksLikeAContainer() throws Exception {
        Proc.Result r = invoke(
                List.of(),
                busyboxFromRegistry,
                "sh",
                "-c",
                String.join(
                        "; ",
                        "grep -q '^127.0.0.1' /etc/hosts && echo hosts-ok",
                        "test -r /proc/self/status && echo proc-ok",
                        "test -d /sys/class && echo sys-ok",
                        "echo x > /tmp/t && echo tmp-ok",
                        "echo x > /dev/null && test -c /dev/null && echo dev-ok",
                        "echo root-write > /new-file && cat /new-file",
                        "echo home=$HOME; pwd; id -u"));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(lines(r))
                .contains("hosts-ok", "proc-ok", "sys-ok", "tmp-ok", "dev-ok", "root-write", "home=/root")
                .containsPattern("(?m)^/$")
                .containsPattern("(?m)^0$");
    }
}
