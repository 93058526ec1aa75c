package dev.c2w.converter.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciLayoutTest {
    @TempDir
    Path tmp;

    static final byte[] LOWER = new TarBuilder()
            .dir("etc", 0755)
            .file("etc/os-release", "ID=test\n")
            .file("etc/old", "old")
            .file("bin/app", 0755, "app-v1".getBytes(StandardCharsets.UTF_8))
            .tar();
    static final byte[] UPPER = new TarBuilder()
            .whiteout("etc", "old")
            .file("bin/app", 0755, "app-v2".getBytes(StandardCharsets.UTF_8))
            .tar();

    /** An image for {@code arch}: LOWER gzip-compressed, UPPER zstd-compressed. */
    static ObjectNode writeImage(TestLayouts l, String arch, String variant) throws IOException {
        return writeImage(l, arch, variant, true);
    }

    /** As above; with {@code zstd} false both layers are gzip (what Docker-format tools accept). */
    static ObjectNode writeImage(TestLayouts l, String arch, String variant, boolean zstd) throws IOException {
        return l.image(
                TestLayouts.config(arch, variant, List.of(TestLayouts.diffId(LOWER), TestLayouts.diffId(UPPER))),
                List.of(TarBuilder.gzip(LOWER), zstd ? TarBuilder.zstd(UPPER) : TarBuilder.gzip(UPPER)),
                List.of(TestLayouts.GZIP_LAYER, zstd ? TestLayouts.ZSTD_LAYER : TestLayouts.GZIP_LAYER));
    }

    static FsTree applyAll(ResolvedImage img, Path tmp) throws IOException {
        FsTree tree = FsTree.create(tmp);
        for (Layer layer : img.layers()) {
            try (InputStream in = layer.open()) {
                LayerApplier.apply(tree, in, layer.digest());
            }
        }
        return tree;
    }

    static void assertTestImage(ResolvedImage img, Path tmp) throws IOException {
        ImageConfig c = img.config();
        assertThat(c.entrypoint()).containsExactly("/bin/app", "--flag");
        assertThat(c.cmd()).containsExactly("serve");
        assertThat(c.env()).containsExactly("PATH=/usr/bin:/bin", "A=b c");
        assertThat(c.workingDir()).isEqualTo("/srv");
        assertThat(c.user()).isEqualTo("1000:1000");
        assertThat(c.exposedPorts()).containsExactly("8080/tcp");
        assertThat(c.labels()).containsEntry("org.example", "yes");
        assertThat(c.os()).isEqualTo("linux");
        assertThat(img.layers()).hasSize(2);
        try (FsTree tree = applyAll(img, tmp)) {
            assertThat(new String(tree.readFile("bin/app"), StandardCharsets.UTF_8))
                    .isEqualTo("app-v2");
            assertThat(new String(tree.readFile("etc/os-release"), StandardCharsets.UTF_8))
                    .isEqualTo("ID=test\n");
            assertThat(tree.lookup("etc/old")).isNull();
        }
    }

    @Test
    void taggedSingleImage() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        ObjectNode m = writeImage(l, "riscv64", null);
        l.top(List.of(TestLayouts.named(m, "1.0")));
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir + ":1.0", Platform.DEFAULT, null)) {
            assertThat(img.reference()).isEqualTo("oci:" + dir + ":1.0");
            assertThat(img.manifestDigest()).isEqualTo(m.get("digest").asText());
            assertThat(img.config().architecture()).isEqualTo("riscv64");
            assertThat(img.layers().get(0).mediaType()).isEqualTo(TestLayouts.GZIP_LAYER);
            assertThat(img.layers().get(1).mediaType()).isEqualTo(TestLayouts.ZSTD_LAYER);
            assertThat(img.layers().get(0).size()).isEqualTo(TarBuilder.gzip(LOWER).length);
            assertTestImage(img, tmp);
        }
        // Without a tag, the one named image is used.
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir, null, null)) {
            assertThat(img.manifestDigest()).isEqualTo(m.get("digest").asText());
        }
        assertThatThrownBy(() -> ImageSource.resolve("oci:" + dir + ":2.0", null, null))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no image tagged \"2.0\"")
                .hasMessageContaining("1.0");
    }

    @Test
    void severalNamedImagesNeedATag() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        ObjectNode a = writeImage(l, "riscv64", null);
        ObjectNode b = l.image(
                TestLayouts.config("riscv64", null, List.of(TestLayouts.diffId(LOWER))),
                List.of(TarBuilder.gzip(LOWER)),
                List.of(TestLayouts.GZIP_LAYER));
        l.top(List.of(TestLayouts.named(a, "a"), TestLayouts.named(b, "docker.io/library/b:latest")));
        assertThatThrownBy(() -> ImageSource.resolve("oci:" + dir, null, null))
                .hasMessageContaining("several images")
                .hasMessageContaining("a, docker.io/library/b:latest");
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir + ":latest", null, null)) {
            assertThat(img.manifestDigest()).isEqualTo(b.get("digest").asText());
            assertThat(img.layers()).hasSize(1);
        }
    }

    @Test
    void platformIsSelectedFromNestedIndex() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        ObjectNode amd = writeImage(l, "amd64", null);
        ObjectNode arm = writeImage(l, "arm64", "v8");
        ObjectNode rv = writeImage(l, "riscv64", null);
        ObjectNode idx = l.index(List.of(
                TestLayouts.withPlatform(amd, "amd64", null),
                TestLayouts.withPlatform(arm, "arm64", "v8"),
                TestLayouts.withPlatform(rv, "riscv64", null)));
        l.top(List.of(TestLayouts.named(idx, "multi")));
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir + ":multi", Platform.DEFAULT, null)) {
            assertThat(img.manifestDigest()).isEqualTo(rv.get("digest").asText());
            assertThat(img.config().architecture()).isEqualTo("riscv64");
            assertTestImage(img, tmp);
        }
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir + ":multi", Platform.parse("linux/arm64/v8"), null)) {
            assertThat(img.manifestDigest()).isEqualTo(arm.get("digest").asText());
        }
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir + ":multi", Platform.parse("linux/arm64"), null)) {
            assertThat(img.manifestDigest()).isEqualTo(arm.get("digest").asText()); // variant not asked: ignored
        }
        assertThatThrownBy(() -> ImageSource.resolve("oci:" + dir + ":multi", Platform.parse("linux/arm64/v7"), null))
                .hasMessageContaining("no linux/arm64/v7");
    }

    @Test
    void indexWithoutRiscv64ListsThePlatformsItHas() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        ObjectNode amd = writeImage(l, "amd64", null);
        ObjectNode arm = writeImage(l, "arm64", "v8");
        // Top-level index.json entries carrying platforms, as some tools write them.
        l.top(List.of(TestLayouts.withPlatform(amd, "amd64", null), TestLayouts.withPlatform(arm, "arm64", "v8")));
        assertThatThrownBy(() -> ImageSource.resolve("oci:" + dir, Platform.DEFAULT, null))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no linux/riscv64")
                .hasMessageContaining("linux/amd64, linux/arm64/v8");
    }

    @Test
    void singleManifestOfAnotherArchitectureIsRefused() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        l.top(List.of(writeImage(l, "amd64", null)));
        assertThatThrownBy(() -> ImageSource.resolve("oci:" + dir, Platform.DEFAULT, null))
                .hasMessageContaining("no linux/riscv64")
                .hasMessageContaining("linux/amd64");
    }

    @Test
    void corruptLayerBlobFailsAtEndOfStreamNamingTheDigest() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        l.top(List.of(writeImage(l, "riscv64", null)));
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir, null, null)) {
            Layer upper = img.layers().get(1);
            Path blob = dir.resolve("blobs/sha256").resolve(upper.digest().substring(7));
            // Same length, same zstd frame header, one flipped byte in the last block: still decodes or not, the digest
            // is wrong.
            byte[] b = Files.readAllBytes(blob);
            b[b.length - 1] ^= 0x01;
            Files.write(blob, b);
            assertThatThrownBy(() -> {
                        try (InputStream in = upper.open()) {
                            in.readAllBytes();
                        }
                    })
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(upper.digest())
                    .hasMessageContaining("digest mismatch");
            try (FsTree tree = FsTree.create(tmp)) {
                assertThatThrownBy(() -> {
                            try (InputStream in = upper.open()) {
                                LayerApplier.apply(tree, in, upper.digest());
                            }
                        })
                        .isInstanceOf(LayerException.class)
                        .hasMessageContaining(upper.digest());
            }
            // A longer blob fails on the size.
            Files.write(blob, Arrays.copyOf(b, b.length + 10));
            assertThatThrownBy(() -> {
                        try (InputStream in = upper.open()) {
                            in.readAllBytes();
                        }
                    })
                    .hasMessageContaining(upper.digest())
                    .hasMessageContaining("more than");
        }
    }

    @Test
    void corruptManifestIsRefused() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        ObjectNode m = writeImage(l, "riscv64", null);
        l.top(List.of(m));
        Path p = dir.resolve("blobs/sha256").resolve(m.get("digest").asText().substring(7));
        String json = Files.readString(p).replace("riscv64", "riscv64");
        Files.writeString(p, json.replace("\"schemaVersion\":2", "\"schemaVersion\":2 "));
        assertThatThrownBy(() -> ImageSource.resolve("oci:" + dir, null, null))
                .hasMessageContaining(m.get("digest").asText());
    }

    @Test
    void notALayout() {
        assertThatThrownBy(() -> ImageSource.resolve("oci:" + tmp.resolve("none"), null, null))
                .hasMessageContaining("not an OCI image layout");
    }

    @Test
    void progressListenerSeesEveryByte() throws IOException {
        Path dir = tmp.resolve("layout");
        TestLayouts l = new TestLayouts(dir);
        l.top(List.of(writeImage(l, "riscv64", null)));
        List<String> events = new ArrayList<>();
        AtomicLong bytes = new AtomicLong();
        ProgressListener p = new ProgressListener() {
            @Override
            public void layerStarted(String digest, long size) {
                events.add("start " + digest + " " + size);
            }

            @Override
            public void bytes(String digest, long n) {
                bytes.addAndGet(n);
            }

            @Override
            public void layerDone(String digest) {
                events.add("done " + digest);
            }
        };
        try (ResolvedImage img = ImageSource.resolve("oci:" + dir, null, null)) {
            Layer layer = img.layers().get(0);
            try (InputStream in = layer.open(p);
                    FsTree tree = FsTree.create(tmp)) {
                LayerApplier.apply(tree, in, layer.digest());
            }
            assertThat(events)
                    .containsExactly("start " + layer.digest() + " " + layer.size(), "done " + layer.digest());
            assertThat(bytes.get()).isEqualTo(layer.size());
        }
    }
}
