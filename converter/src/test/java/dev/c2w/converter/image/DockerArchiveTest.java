package dev.c2w.converter.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.c2w.converter.fs.FsTree;
import dev.c2w.converter.layer.LayerApplier;
import dev.c2w.converter.layer.LayerException;
import dev.c2w.converter.layer.TarBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DockerArchiveTest {
    @TempDir
    Path tmp;

    static final byte[] LOWER = OciLayoutTest.LOWER;
    static final byte[] UPPER = OciLayoutTest.UPPER;

    private static byte[] archive(Map<String, byte[]> members) {
        TarBuilder t = new TarBuilder();
        members.forEach((name, data) -> t.file(name, 0644, data));
        return t.tar();
    }

    /** docker save before Docker 25: ID/layer.tar, HEX.json. */
    private Path classic(byte[] lowerFile, byte[] upperFile, List<String> diffIds) throws IOException {
        byte[] config = TestLayouts.JSON.writeValueAsBytes(TestLayouts.config("riscv64", null, diffIds));
        String configHex = Digests.sha256(config).substring(7);
        ArrayNode list = TestLayouts.JSON.createArrayNode();
        ObjectNode m = list.addObject();
        m.put("Config", configHex + ".json");
        m.putArray("RepoTags").add("test/app:1");
        m.putArray("Layers").add("1111/layer.tar").add("2222/layer.tar");
        Map<String, byte[]> members = new LinkedHashMap<>();
        members.put(configHex + ".json", config);
        members.put("1111/layer.tar", lowerFile);
        members.put("2222/layer.tar", upperFile);
        members.put("manifest.json", TestLayouts.JSON.writeValueAsBytes(list));
        Path p = tmp.resolve("classic.tar");
        Files.write(p, archive(members));
        return p;
    }

    @Test
    void classicDockerSave() throws IOException {
        Path p = classic(LOWER, UPPER, List.of(TestLayouts.diffId(LOWER), TestLayouts.diffId(UPPER)));
        try (ResolvedImage img = ImageSource.resolve("docker-archive:" + p, Platform.DEFAULT, null)) {
            assertThat(img.reference()).isEqualTo("docker-archive:" + p);
            assertThat(img.manifestDigest()).isNull();
            assertThat(img.layers())
                    .extracting(Layer::digest)
                    .containsExactly(TestLayouts.diffId(LOWER), TestLayouts.diffId(UPPER));
            assertThat(img.layers().get(0).mediaType()).isEqualTo("application/vnd.oci.image.layer.v1.tar");
            assertThat(img.layers().get(0).size()).isEqualTo(LOWER.length);
            OciLayoutTest.assertTestImage(img, tmp);
        }
        // gzip-compressed as a whole (docker save | gzip).
        Path gz = tmp.resolve("classic.tar.gz");
        Files.write(gz, TarBuilder.gzip(Files.readAllBytes(p)));
        try (ResolvedImage img = ImageSource.resolve("docker-archive:" + gz, null, null)) {
            OciLayoutTest.assertTestImage(img, tmp);
        }
    }

    @Test
    void classicLayerNotMatchingItsDiffIdFails() throws IOException {
        byte[] otherUpper = new TarBuilder().file("bin/app", "tampered").tar();
        Path p = classic(LOWER, otherUpper, List.of(TestLayouts.diffId(LOWER), TestLayouts.diffId(UPPER)));
        try (ResolvedImage img = ImageSource.resolve("docker-archive:" + p, null, null);
                FsTree tree = FsTree.create(tmp)) {
            Layer bad = img.layers().get(1);
            assertThatThrownBy(() -> {
                        try (InputStream in = bad.open()) {
                            LayerApplier.apply(tree, in, bad.digest());
                        }
                    })
                    .isInstanceOf(LayerException.class)
                    .hasMessageContaining(TestLayouts.diffId(UPPER))
                    .hasMessageContaining("digest mismatch");
        }
    }

    @Test
    void classicCompressedLayerGetsAComputedDigest() throws IOException {
        byte[] gzLower = TarBuilder.gzip(LOWER);
        Path p = classic(gzLower, UPPER, List.of(TestLayouts.diffId(LOWER), TestLayouts.diffId(UPPER)));
        try (ResolvedImage img = ImageSource.resolve("docker-archive:" + p, null, null)) {
            assertThat(img.layers().get(0).digest()).isEqualTo(Digests.sha256(gzLower));
            assertThat(img.layers().get(0).mediaType()).endsWith("+gzip");
            OciLayoutTest.assertTestImage(img, tmp);
        }
    }

    @Test
    void ociLayoutInsideDockerSave() throws IOException {
        // Docker 25+: an OCI layout plus manifest.json pointing into blobs/sha256.
        Path layoutDir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(layoutDir);
        ObjectNode m = OciLayoutTest.writeImage(l, "riscv64", null);
        l.top(List.of(TestLayouts.named(m, "docker.io/test/app:1")));
        ObjectNode manifest = (ObjectNode) TestLayouts.JSON.readTree(layoutDir
                .resolve("blobs/sha256")
                .resolve(m.get("digest").asText().substring(7))
                .toFile());
        ArrayNode list = TestLayouts.JSON.createArrayNode();
        ObjectNode e = list.addObject();
        e.put(
                "Config",
                "blobs/sha256/"
                        + manifest.path("config").path("digest").asText().substring(7));
        e.putArray("RepoTags").add("test/app:1");
        ArrayNode layers = e.putArray("Layers");
        manifest.path("layers")
                .forEach(x ->
                        layers.add("blobs/sha256/" + x.path("digest").asText().substring(7)));
        Map<String, byte[]> members = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(layoutDir)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                members.put(layoutDir.relativize(f).toString(), Files.readAllBytes(f));
            }
        }
        members.put("manifest.json", TestLayouts.JSON.writeValueAsBytes(list));
        Path p = tmp.resolve("oci-save.tar");
        Files.write(p, archive(members));
        try (ResolvedImage img = ImageSource.resolve("docker-archive:" + p, null, null)) {
            assertThat(img.manifestDigest()).isEqualTo(m.get("digest").asText());
            assertThat(img.layers())
                    .extracting(Layer::mediaType)
                    .containsExactly(TestLayouts.GZIP_LAYER, TestLayouts.ZSTD_LAYER);
            assertThat(img.layers().get(0).digest())
                    .isEqualTo(manifest.path("layers").get(0).path("digest").asText());
            OciLayoutTest.assertTestImage(img, tmp);
        }
    }

    @Test
    void wrongArchitectureAndBrokenArchives() throws IOException {
        Path p = classic(LOWER, UPPER, List.of(TestLayouts.diffId(LOWER), TestLayouts.diffId(UPPER)));
        assertThatThrownBy(() -> ImageSource.resolve("docker-archive:" + p, Platform.linux("amd64"), null))
                .hasMessageContaining("no linux/amd64")
                .hasMessageContaining("linux/riscv64");
        Path noManifest = tmp.resolve("nomanifest.tar");
        Files.write(noManifest, archive(Map.of("x", new byte[3])));
        assertThatThrownBy(() -> ImageSource.resolve("docker-archive:" + noManifest, null, null))
                .hasMessageContaining("no manifest.json");
        assertThatThrownBy(() -> ImageSource.resolve("docker-archive:" + tmp.resolve("missing.tar"), null, null))
                .hasMessageContaining("no such file");
    }

    static boolean have(String tool) {
        return Stream.of(System.getenv("PATH").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    static void run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + ": timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException(
                    String.join(" ", cmd) + ": exit " + p.exitValue() + ": " + new String(out, StandardCharsets.UTF_8));
        }
    }

    @Test
    void archiveWrittenBySkopeo() throws Exception {
        assumeTrue(have("skopeo"), "skopeo not installed");
        Path layoutDir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(layoutDir);
        l.top(List.of(TestLayouts.named(OciLayoutTest.writeImage(l, "riscv64", null, false), "1")));
        Path out = tmp.resolve("skopeo.tar");
        run(
                tmp,
                "skopeo",
                "--insecure-policy",
                "copy",
                "-q",
                "oci:" + layoutDir + ":1",
                "docker-archive:" + out + ":test/app:1");
        try (ResolvedImage img = ImageSource.resolve("docker-archive:" + out, Platform.DEFAULT, null)) {
            assertThat(img.config().architecture()).isEqualTo("riscv64");
            assertThat(img.layers()).hasSize(2);
            OciLayoutTest.assertTestImage(img, tmp);
        }
        // And back: skopeo's OCI layout from that archive.
        Path back = tmp.resolve("back");
        run(tmp, "skopeo", "--insecure-policy", "copy", "-q", "docker-archive:" + out, "oci:" + back + ":again");
        try (ResolvedImage img = ImageSource.resolve("oci:" + back + ":again", Platform.DEFAULT, null)) {
            OciLayoutTest.assertTestImage(img, tmp);
        }
    }
}
