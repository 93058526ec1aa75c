package dev.c2w.converter.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The end-to-end fixtures themselves: image layouts, archives, the local registry and {@link Proc}. */
class FixturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MT_INDEX = "application/vnd.oci.image.index.v1+json";
    private static final String MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    private static final Duration SKOPEO = Duration.ofMinutes(2);

    private static TestImages images;

    @BeforeAll
    static void build() {
        images = TestImages.get();
    }

    @Test
    void everyLayoutIsCompleteWithMatchingDigests() throws Exception {
        for (Path layout : List.of(images.busybox(), images.layered(), images.multiPlatform(), images.amd64Only())) {
            assertThat(JSON.readTree(layout.resolve("oci-layout").toFile())
                            .path("imageLayoutVersion")
                            .asText())
                    .as(layout + "/oci-layout")
                    .isEqualTo("1.0.0");
            JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
            assertThat(index.path("schemaVersion").asInt()).isEqualTo(2);
            assertThat(index.path("manifests")).hasSize(1);
            JsonNode top = index.path("manifests").get(0);
            assertThat(top.path("annotations")
                            .path("org.opencontainers.image.ref.name")
                            .asText())
                    .isEqualTo("1");
            int checked = checkDescriptor(layout, top);
            assertThat(checked).as("blobs reachable from " + layout).isGreaterThanOrEqualTo(3);
            long onDisk;
            try (var s = Files.list(layout.resolve("blobs/sha256"))) {
                onDisk = s.count();
            }
            assertThat(onDisk).as("no stray blobs in " + layout).isLessThanOrEqualTo(checked);
        }
    }

    /** Checks the blob's size and sha256 and, recursively, everything it refers to; returns how many distinct blobs. */
    private static int checkDescriptor(Path layout, JsonNode desc) throws Exception {
        Map<String, JsonNode> seen = new LinkedHashMap<>();
        walk(layout, desc, seen);
        return seen.size();
    }

    private static void walk(Path layout, JsonNode desc, Map<String, JsonNode> seen) throws Exception {
        String digest = desc.path("digest").asText();
        if (seen.putIfAbsent(digest, desc) != null) {
            return;
        }
        assertThat(digest).startsWith("sha256:");
        Path blob = blob(layout, digest);
        assertThat(blob).isRegularFile();
        assertThat(Files.size(blob))
                .as("size of " + digest)
                .isEqualTo(desc.path("size").asLong());
        assertThat("sha256:" + sha256(blob)).as("content of " + blob).isEqualTo(digest);
        String mt = desc.path("mediaType").asText();
        if (mt.equals(MT_INDEX)) {
            JsonNode idx = JSON.readTree(blob.toFile());
            assertThat(idx.path("mediaType").asText()).isEqualTo(MT_INDEX);
            for (JsonNode m : idx.path("manifests")) {
                walk(layout, m, seen);
            }
        } else if (mt.equals(MT_MANIFEST)) {
            JsonNode m = JSON.readTree(blob.toFile());
            assertThat(m.path("mediaType").asText()).isEqualTo(MT_MANIFEST);
            walk(layout, m.path("config"), seen);
            JsonNode config = JSON.readTree(
                    blob(layout, m.path("config").path("digest").asText()).toFile());
            List<String> diffIds = new ArrayList<>();
            config.path("rootfs").path("diff_ids").forEach(d -> diffIds.add(d.asText()));
            assertThat(diffIds).hasSize(m.path("layers").size());
            int i = 0;
            for (JsonNode l : m.path("layers")) {
                walk(layout, l, seen);
                assertThat("sha256:"
                                + sha256Uncompressed(
                                        blob(layout, l.path("digest").asText()),
                                        l.path("mediaType").asText()))
                        .as("diff_id of layer " + i)
                        .isEqualTo(diffIds.get(i));
                i++;
            }
            if (desc.has("platform")) {
                assertThat(config.path("architecture").asText())
                        .isEqualTo(desc.path("platform").path("architecture").asText());
            }
        }
    }

    @Test
    void busyboxImage() throws Exception {
        JsonNode manifest = manifest(images.busybox());
        JsonNode config = config(images.busybox(), manifest);
        assertThat(config.path("architecture").asText()).isEqualTo("riscv64");
        assertThat(config.path("os").asText()).isEqualTo("linux");
        JsonNode c = config.path("config");
        assertThat(strings(c.path("Env")))
                .containsExactly(
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "IMAGE_VAR=from-image");
        assertThat(c.has("Entrypoint") && !c.path("Entrypoint").isNull()).isFalse();
        assertThat(strings(c.path("Cmd"))).containsExactly("/bin/sh", "-c", "echo default-cmd-ran");
        assertThat(c.path("WorkingDir").asText()).isEqualTo("/");
        assertThat(manifest.path("layers")).hasSize(1);

        Map<String, Entry> layer = layer(images.busybox(), manifest, 0);
        Entry bb = layer.get("bin/busybox");
        assertThat(bb.type).isEqualTo('f');
        assertThat(bb.mode).isEqualTo(0755);
        assertThat(bb.head).startsWith("7f454c46020101"); // ELF64 little endian
        assertThat(bb.head.substring(36, 40)).as("e_machine RISC-V").isEqualTo("f300");
        for (String applet : List.of(
                "sh",
                "echo",
                "cat",
                "ls",
                "id",
                "env",
                "pwd",
                "wget",
                "sha256sum",
                "hostname",
                "mkdir",
                "test",
                "sleep",
                "uname",
                "true",
                "false",
                "rm",
                "touch")) {
            Entry e = layer.get("bin/" + applet);
            assertThat(e).as("applet " + applet).isNotNull();
            assertThat(e.type).isEqualTo('l');
            assertThat(e.link).isEqualTo("busybox");
        }
        assertThat(layer.get("etc/passwd").text)
                .isEqualTo("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
        assertThat(layer.get("etc/group").text).isEqualTo("root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
        assertThat(layer.get("tmp").mode).isEqualTo(01777);
        assertThat(layer.get("root").type).isEqualTo('d');
        Entry home = layer.get("home/app");
        assertThat(home.type).isEqualTo('d');
        assertThat(home.uid).isEqualTo(1000);
        assertThat(home.gid).isEqualTo(1000);
    }

    @Test
    void layeredImage() throws Exception {
        JsonNode manifest = manifest(images.layered());
        JsonNode config = config(images.layered(), manifest);
        assertThat(config.path("architecture").asText()).isEqualTo("riscv64");
        JsonNode c = config.path("config");
        assertThat(c.path("User").asText()).isEqualTo("app");
        assertThat(c.path("WorkingDir").asText()).isEqualTo("/home/app");
        assertThat(strings(c.path("Entrypoint"))).containsExactly("/bin/sh", "-c");
        assertThat(strings(c.path("Cmd"))).containsExactly("echo layered-default; id -u; pwd");
        assertThat(strings(c.path("Env")))
                .containsExactly(
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "IMAGE_VAR=from-image",
                        "LAYER_VAR=3");
        assertThat(manifest.path("layers")).hasSize(4);
        assertThat(manifest.path("layers").get(0).path("digest").asText())
                .as("layer 1 is busybox's layer")
                .isEqualTo(manifest(images.busybox())
                        .path("layers")
                        .get(0)
                        .path("digest")
                        .asText());

        Map<String, Entry> l2 = layer(images.layered(), manifest, 1);
        assertThat(l2).containsKeys("data/keep.txt", "data/gone.txt", "opt/dir/a.txt", "opt/big.bin");
        assertThat(l2.get("opt/big.bin").size).isEqualTo(4 << 20);
        assertThat(l2.get("opt/hard.bin").type).isEqualTo('h');
        assertThat(l2.get("opt/hard.bin").link).isEqualTo("opt/big.bin");

        Map<String, Entry> l3 = layer(images.layered(), manifest, 2);
        assertThat(l3).containsKeys("data/.wh.gone.txt", "opt/dir/.wh..wh..opq", "opt/dir/b.txt");
        assertThat(l3.get("data/.wh.gone.txt").type).isEqualTo('f');
        assertThat(l3.get("opt/dir/b.txt").text).isEqualTo("b\n");
        assertThat(new ArrayList<>(l3.keySet()).indexOf("opt/dir/.wh..wh..opq"))
                .as("opaque marker before the directory's new content")
                .isLessThan(new ArrayList<>(l3.keySet()).indexOf("opt/dir/b.txt"));

        Map<String, Entry> l4 = layer(images.layered(), manifest, 3);
        assertThat(l4.get("usr/bin/hello-link").type).isEqualTo('l');
        assertThat(l4.get("usr/bin/hello-link").link).isEqualTo("/bin/busybox");
        assertThat(l4.get("usr/bin/suid").mode).isEqualTo(04755);
    }

    /** ~280 MiB on disk; runs on demand (-Dsurefire.excludedGroups=peer). */
    @Test
    @Tag("large")
    void largeImage() throws Exception {
        Path large = images.large();
        JsonNode top = JSON.readTree(large.resolve("index.json").toFile())
                .path("manifests")
                .get(0);
        assertThat(checkDescriptor(large, top)).isEqualTo(4);
        JsonNode manifest = manifest(large);
        assertThat(manifest.path("layers")).hasSize(2);
        assertThat(manifest.path("layers").get(0).path("digest").asText())
                .isEqualTo(manifest(images.busybox())
                        .path("layers")
                        .get(0)
                        .path("digest")
                        .asText());
        assertThat(manifest.path("layers").get(1).path("size").asLong()).isGreaterThan(280L << 20);
        Map<String, Entry> l = layer(large, manifest, 1);
        String sums = l.get("large/SHA256SUMS").text;
        assertThat(sums.lines()).hasSize(4).allMatch(line -> line.matches("[0-9a-f]{64}  data-\\d\\.bin"));
        long total = l.values().stream()
                .filter(e -> e.type == 'f')
                .mapToLong(e -> e.size)
                .sum();
        assertThat(total).isBetween(270L << 20, 300L << 20);
    }

    @Test
    void indexes() throws Exception {
        assertThat(platforms(images.multiPlatform())).containsExactly("linux/riscv64", "linux/amd64");
        assertThat(platforms(images.amd64Only())).containsExactly("linux/amd64", "linux/arm64/v8");
        // the riscv64 member of the multi-platform index is the busybox image (same layer)
        JsonNode idx = JSON.readTree(
                blob(images.multiPlatform(), topDigest(images.multiPlatform())).toFile());
        JsonNode rv = JSON.readTree(blob(
                        images.multiPlatform(),
                        idx.path("manifests").get(0).path("digest").asText())
                .toFile());
        assertThat(rv.path("layers").get(0).path("digest").asText())
                .isEqualTo(manifest(images.busybox())
                        .path("layers")
                        .get(0)
                        .path("digest")
                        .asText());
    }

    @Test
    void pushedImagesInspectAsRiscv64() throws Exception {
        try (LocalRegistry reg = LocalRegistry.start()) {
            assertThat(reg.host()).matches("127\\.0\\.0\\.1:\\d+");
            reg.push(images.busybox(), "1", "c2w/busybox:1");
            reg.push(images.layered(), "1", "c2w/layered:1");
            reg.push(images.multiPlatform(), "1", "c2w/multi:1");

            JsonNode bb = skopeoJson("inspect", "--tls-verify=false", "docker://" + reg.host() + "/c2w/busybox:1");
            assertThat(bb.path("Architecture").asText()).isEqualTo("riscv64");
            assertThat(bb.path("Os").asText()).isEqualTo("linux");
            assertThat(bb.path("Layers")).hasSize(1);
            assertThat(bb.path("Digest").asText()).isEqualTo(topDigest(images.busybox()));

            JsonNode lay = skopeoJson("inspect", "--tls-verify=false", "docker://" + reg.host() + "/c2w/layered:1");
            assertThat(lay.path("Architecture").asText()).isEqualTo("riscv64");
            assertThat(lay.path("Layers")).hasSize(4);
            assertThat(strings(lay.path("Env"))).contains("LAYER_VAR=3");

            JsonNode raw =
                    skopeoJson("inspect", "--raw", "--tls-verify=false", "docker://" + reg.host() + "/c2w/multi:1");
            assertThat(raw.path("mediaType").asText()).isEqualTo(MT_INDEX);
            assertThat(raw.path("manifests")).hasSize(2);
            JsonNode multiRv = skopeoJson(
                    "--override-arch",
                    "riscv64",
                    "inspect",
                    "--tls-verify=false",
                    "docker://" + reg.host() + "/c2w/multi:1");
            assertThat(multiRv.path("Architecture").asText()).isEqualTo("riscv64");
            JsonNode multiAmd = skopeoJson(
                    "--override-arch",
                    "amd64",
                    "inspect",
                    "--tls-verify=false",
                    "docker://" + reg.host() + "/c2w/multi:1");
            assertThat(multiAmd.path("Architecture").asText()).isEqualTo("amd64");
        }
    }

    @Test
    void registryStopsOnClose() throws Exception {
        LocalRegistry reg = LocalRegistry.start();
        Path dir = reg.dir();
        String host = reg.host();
        Proc.Result r = Proc.run(
                SKOPEO, List.of("skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + host + "/none:1"));
        assertThat(r.exit()).as(r.output()).isNotZero(); // registry answers: manifest unknown
        reg.close();
        assertThat(dir).doesNotExist();
        try (var s = new Socket()) {
            s.connect(
                    new InetSocketAddress("127.0.0.1", Integer.parseInt(host.substring(host.indexOf(':') + 1))), 1000);
            throw new AssertionError("registry still listening on " + host);
        } catch (IOException expected) {
            // connection refused
        }
    }

    @Test
    void dockerArchives() throws Exception {
        JsonNode bb = skopeoJson("inspect", "docker-archive:" + images.busyboxArchive());
        assertThat(bb.path("Architecture").asText()).isEqualTo("riscv64");
        assertThat(bb.path("Layers")).hasSize(1);
        JsonNode lay = skopeoJson("inspect", "docker-archive:" + images.layeredArchive());
        assertThat(lay.path("Architecture").asText()).isEqualTo("riscv64");
        assertThat(lay.path("Layers")).hasSize(4);
        assertThat(strings(lay.path("Env"))).contains("LAYER_VAR=3");
        assertThat(archiveTags(images.busyboxArchive())).anyMatch(t -> t.endsWith("c2w/busybox:1"));
        assertThat(archiveTags(images.layeredArchive())).anyMatch(t -> t.endsWith("c2w/layered:1"));
    }

    @Test
    void secondBuildIsCached() throws Exception {
        long t0 = System.nanoTime();
        Path script = Path.of("src/test/fixtures/build-images.sh").toAbsolutePath();
        Proc.Result r = Proc.run(
                Duration.ofMinutes(2),
                List.of("bash", script.toString(), images.dir().toString()));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void procMergesOutputAndReportsExit() throws Exception {
        Proc.Result r = Proc.run(Duration.ofSeconds(30), List.of("sh", "-c", "echo out; echo err >&2; exit 3"));
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.output()).contains("out\n").contains("err\n");
        Proc.Result w = Proc.run(
                Duration.ofSeconds(30),
                List.of("sh", "-c", "pwd; echo $C2W_X"),
                Path.of("/tmp"),
                Map.of("C2W_X", "extra-env"));
        assertThat(w.exit()).isZero();
        assertThat(w.output()).isEqualTo("/tmp\nextra-env\n");
    }

    @Test
    void procTimeoutKillsTheTree() throws Exception {
        String script =
                "sleep 100 & echo child $!; " + "sh -c 'sleep 100 & echo grandchild $!; wait' & echo sub $!; " + "wait";
        long t0 = System.nanoTime();
        Proc.Result r = Proc.run(Duration.ofSeconds(2), List.of("sh", "-c", script));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(r.exit()).isEqualTo(-1);
        assertThat(r.output()).contains("[timed out after");
        assertThat(took).as(r.output()).isLessThan(Duration.ofSeconds(10));
        Matcher m = Pattern.compile("(?m)^(child|grandchild|sub) (\\d+)$").matcher(r.output());
        List<Long> pids = new ArrayList<>();
        while (m.find()) {
            pids.add(Long.parseLong(m.group(2)));
        }
        assertThat(pids).as(r.output()).hasSize(3);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        for (long pid : pids) {
            while (running(pid) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(running(pid)).as("pid " + pid + " still running").isFalse();
        }
    }

    /** Alive and not a zombie (whoever inherited it may not have reaped it yet). */
    private static boolean running(long pid) {
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            try {
                String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
                return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
            } catch (IOException e) {
                return false;
            }
        }
        return false;
    }

    // ---- helpers ----

    private static JsonNode skopeoJson(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("skopeo", "--insecure-policy"));
        cmd.addAll(List.of(args));
        Proc.Result r = Proc.run(SKOPEO, cmd);
        assertThat(r.exit()).as(String.join(" ", cmd) + "\n" + r.output()).isZero();
        return JSON.readTree(r.output());
    }

    private static List<String> archiveTags(Path archive) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(archive))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.getName().equals("manifest.json")) {
                    return strings(JSON.readTree(tar.readAllBytes()).get(0).path("RepoTags"));
                }
            }
        }
        throw new AssertionError("no manifest.json in " + archive);
    }

    private static List<String> platforms(Path layout) throws IOException {
        JsonNode idx = JSON.readTree(blob(layout, topDigest(layout)).toFile());
        assertThat(JSON.readTree(layout.resolve("index.json").toFile())
                        .path("manifests")
                        .get(0)
                        .path("mediaType")
                        .asText())
                .isEqualTo(MT_INDEX);
        List<String> out = new ArrayList<>();
        for (JsonNode m : idx.path("manifests")) {
            JsonNode p = m.path("platform");
            out.add(p.path("os").asText() + "/" + p.path("architecture").asText()
                    + (p.has("variant") ? "/" + p.path("variant").asText() : ""));
        }
        return out;
    }

    private static String topDigest(Path layout) throws IOException {
        return JSON.readTree(layout.resolve("index.json").toFile())
                .path("manifests")
                .get(0)
                .path("digest")
                .asText();
    }

    private static JsonNode manifest(Path layout) throws IOException {
        JsonNode m = JSON.readTree(blob(layout, topDigest(layout)).toFile());
        assertThat(m.path("mediaType").asText()).isEqualTo(MT_MANIFEST);
        return m;
    }

    private static JsonNode config(Path layout, JsonNode manifest) throws IOException {
        return JSON.readTree(
                blob(layout, manifest.path("config").path("digest").asText()).toFile());
    }

    private static Path blob(Path layout, String digest) {
        return layout.resolve("blobs").resolve("sha256").resolve(digest.substring("sha256:".length()));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static String sha256(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in);
        }
    }

    private static String sha256Uncompressed(Path blob, String mediaType) throws Exception {
        try (InputStream in = open(blob, mediaType)) {
            return sha256(in);
        }
    }

    private static String sha256(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static InputStream open(Path blob, String mediaType) throws IOException {
        InputStream in = Files.newInputStream(blob);
        return mediaType.endsWith("+gzip") ? new GZIPInputStream(in, 1 << 16) : in;
    }

    /** One tar entry: type f(ile) d(ir) l(symlink) h(ardlink), mode bits, owner, link target, text of files up to 4 KiB, first 64 bytes (hex). */
    private record Entry(char type, int mode, long uid, long gid, long size, String link, String text, String head) {}

    private static Map<String, Entry> layer(Path layout, JsonNode manifest, int i) throws IOException {
        JsonNode l = manifest.path("layers").get(i);
        Map<String, Entry> out = new LinkedHashMap<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(open(
                blob(layout, l.path("digest").asText()), l.path("mediaType").asText()))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                char type =
                        e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : e.isLink() ? 'h' : e.isFile() ? 'f' : '?';
                String text = null;
                String head = null;
                if (type == 'f') {
                    byte[] first = tar.readNBytes(4096);
                    head = HexFormat.of().formatHex(first, 0, Math.min(first.length, 64));
                    if (e.getSize() <= 4096) {
                        text = new String(first, StandardCharsets.UTF_8);
                    }
                }
                String name = e.getName().endsWith("/")
                        ? e.getName().substring(0, e.getName().length() - 1)
                        : e.getName();
                out.put(
                        name,
                        new Entry(
                                type,
                                e.getMode() & 07777,
                                e.getLongUserId(),
                                e.getLongGroupId(),
                                e.getSize(),
                                e.getLinkName(),
                                text,
                                head));
            }
        }
        return out;
    }
}
