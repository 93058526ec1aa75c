package dev.c2w.converter.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.c2w.converter.layer.TarBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pulls from Debian's docker-registry (distribution 2.8) on 127.0.0.1, fed by skopeo: one registry
 * open to all, one behind htpasswd basic auth.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistrySourceTest {
    static final Path REGISTRY = Path.of("/usr/bin/docker-registry");
    static final String USER = "c2w";
    static final String PASSWORD = "c2w-test-pw";
    /** bcrypt (cost 4) of PASSWORD, for the registry's htpasswd file. */
    static final String PASSWORD_BCRYPT = "$2b$04$W7zAOsQ0IEsH3.bNQ7ua1.aDaeEQSn4BxqxTofNMP7u/5rEC56tZy";

    @TempDir
    static Path tmp;

    final List<Process> registries = new ArrayList<>();
    String open;
    String authed;
    Path openStorage;
    ObjectNode rvManifest;
    ObjectNode armManifest;
    ObjectNode corruptible;

    /** Registry options that never look at the real user's Docker config. */
    static RegistryOptions opts() {
        return RegistryOptions.defaults().withDockerConfig(false, null);
    }

    @BeforeAll
    void start() throws Exception {
        assumeTrue(Files.isExecutable(REGISTRY), "docker-registry not installed");
        assumeTrue(DockerArchiveTest.have("skopeo"), "skopeo not installed");
        openStorage = tmp.resolve("storage-open");
        open = startRegistry("open", openStorage, null);
        Path htpasswd = tmp.resolve("htpasswd");
        Files.writeString(htpasswd, USER + ":" + PASSWORD_BCRYPT + "\n");
        authed = startRegistry("authed", tmp.resolve("storage-authed"), htpasswd);

        // test:1, a single riscv64 image (gzip and zstd layers).
        Path single = tmp.resolve("single");
        TestLayouts l = new TestLayouts(single);
        l.top(List.of(TestLayouts.named(OciLayoutTest.writeImage(l, "riscv64", null), "1")));
        push("oci:" + single + ":1", "docker://" + open + "/test:1");
        push("oci:" + single + ":1", "docker://" + authed + "/private/test:1", "--dest-creds", USER + ":" + PASSWORD);

        // multi:1, an index of amd64, arm64/v8 and riscv64; noriscv:1 without riscv64.
        Path multi = tmp.resolve("multi");
        TestLayouts m = new TestLayouts(multi);
        ObjectNode amd = OciLayoutTest.writeImage(m, "amd64", null);
        armManifest = OciLayoutTest.writeImage(m, "arm64", "v8");
        rvManifest = OciLayoutTest.writeImage(m, "riscv64", null);
        ObjectNode all = m.index(List.of(
                TestLayouts.withPlatform(amd, "amd64", null),
                TestLayouts.withPlatform(armManifest, "arm64", "v8"),
                TestLayouts.withPlatform(rvManifest, "riscv64", null)));
        ObjectNode noRv = m.index(List.of(
                TestLayouts.withPlatform(amd, "amd64", null), TestLayouts.withPlatform(armManifest, "arm64", "v8")));
        m.top(List.of(TestLayouts.named(all, "multi"), TestLayouts.named(noRv, "norv")));
        push("--all", "oci:" + multi + ":multi", "docker://" + open + "/multi:1");
        push("--all", "oci:" + multi + ":norv", "docker://" + open + "/noriscv:1");

        // corrupt:1, with a layer no other image shares, to be damaged in the registry's storage.
        Path c = tmp.resolve("corrupt");
        TestLayouts cl = new TestLayouts(c);
        byte[] unique = new TarBuilder().file("only-here", "x".repeat(4096)).tar();
        corruptible = cl.image(
                TestLayouts.config("riscv64", null, List.of(TestLayouts.diffId(unique))),
                List.of(TarBuilder.gzip(unique)),
                List.of(TestLayouts.GZIP_LAYER));
        cl.top(List.of(TestLayouts.named(corruptible, "1")));
        push("oci:" + c + ":1", "docker://" + open + "/corrupt:1");
    }

    private String startRegistry(String name, Path storage, Path htpasswd) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.createDirectories(storage);
        String yaml = "version: 0.1\n"
                + "log:\n  level: warn\n"
                + "storage:\n  filesystem:\n    rootdirectory: " + storage + "\n"
                + "http:\n  addr: 127.0.0.1:" + port + "\n"
                + (htpasswd == null ? "" : "auth:\n  htpasswd:\n    realm: c2w-test\n    path: " + htpasswd + "\n");
        Path config = tmp.resolve(name + ".yml");
        Files.writeString(config, yaml);
        Process p = new ProcessBuilder(REGISTRY.toString(), "serve", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve(name + ".log").toFile())
                .start();
        registries.add(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/v2/").openConnection();
                c.setConnectTimeout(500);
                c.setReadTimeout(2000);
                int code = c.getResponseCode();
                c.disconnect();
                if (code == 200 || code == 401) break;
            } catch (IOException notYet) {
                // not listening yet
            }
            if (!p.isAlive()) throw new IOException("registry exited: " + Files.readString(tmp.resolve(name + ".log")));
            if (System.nanoTime() > deadline) throw new IOException("registry did not come up");
            Thread.sleep(100);
        }
        return "127.0.0.1:" + port;
    }

    private void push(String... args) throws Exception {
        List<String> cmd =
                new ArrayList<>(List.of("skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false"));
        cmd.addAll(List.of(args));
        DockerArchiveTest.run(tmp, cmd.toArray(String[]::new));
    }

    @AfterAll
    void stop() throws InterruptedException {
        for (Process p : registries) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void pullsASingleImageOverPlainHttpOnLoopback() throws IOException {
        RegistrySource src = new RegistrySource(ImageReference.parse(open + "/test:1"), opts());
        assertThat(src.insecure()).isTrue();
        try (ResolvedImage img = src.resolve(Platform.DEFAULT)) {
            assertThat(img.reference()).isEqualTo(open + "/test:1");
            assertThat(img.manifestDigest()).startsWith("sha256:");
            assertThat(img.layers())
                    .extracting(Layer::mediaType)
                    .containsExactly(TestLayouts.GZIP_LAYER, TestLayouts.ZSTD_LAYER);
            OciLayoutTest.assertTestImage(img, tmp);
            // The same by digest.
            try (ResolvedImage again = ImageSource.resolve(open + "/test@" + img.manifestDigest(), null, opts())) {
                assertThat(again.configDigest()).isEqualTo(img.configDigest());
                assertThat(again.layers())
                        .extracting(Layer::digest)
                        .containsExactlyElementsOf(
                                img.layers().stream().map(Layer::digest).toList());
            }
        }
    }

    @Test
    void resolvesAnIndexToThePlatform() throws IOException {
        try (ResolvedImage img = ImageSource.resolve(open + "/multi:1", Platform.DEFAULT, opts())) {
            assertThat(img.manifestDigest()).isEqualTo(rvManifest.get("digest").asText());
            assertThat(img.config().architecture()).isEqualTo("riscv64");
            OciLayoutTest.assertTestImage(img, tmp);
        }
        try (ResolvedImage img = ImageSource.resolve(open + "/multi:1", Platform.parse("linux/arm64/v8"), opts())) {
            assertThat(img.manifestDigest()).isEqualTo(armManifest.get("digest").asText());
            assertThat(img.config().variant()).isEqualTo("v8");
        }
        assertThatThrownBy(() -> ImageSource.resolve(open + "/multi:1", Platform.parse("linux/arm64/v7"), opts()))
                .hasMessageContaining("no linux/arm64/v7");
    }

    @Test
    void indexWithoutThePlatformListsWhatItHas() {
        assertThatThrownBy(() -> ImageSource.resolve(open + "/noriscv:1", Platform.DEFAULT, opts()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no linux/riscv64")
                .hasMessageContaining("linux/amd64")
                .hasMessageContaining("linux/arm64");
    }

    @Test
    void missingImageIsAnError() {
        assertThatThrownBy(() -> ImageSource.resolve(open + "/nope:1", null, opts()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("nope");
    }

    @Test
    void corruptBlobInTheRegistryFailsNamingTheLayer() throws IOException {
        try (ResolvedImage img = ImageSource.resolve(open + "/corrupt:1", null, opts())) {
            Layer layer = img.layers().get(0);
            String hex = layer.digest().substring(7);
            Path data = openStorage
                    .resolve("docker/registry/v2/blobs/sha256")
                    .resolve(hex.substring(0, 2))
                    .resolve(hex)
                    .resolve("data");
            byte[] b = Files.readAllBytes(data);
            b[b.length / 2] ^= 0x40;
            Files.write(data, b);
            assertThatThrownBy(() -> {
                        try (InputStream in = layer.open()) {
                            in.readAllBytes();
                        }
                    })
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(hex);
        }
    }

    @Test
    void basicAuthWithCredentialsFromTheDockerConfig() throws IOException {
        String ref = authed + "/private/test:1";
        assertThatThrownBy(() -> ImageSource.resolve(ref, null, opts()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not authorized");
        Path dockerConfig = tmp.resolve("docker-config.json");
        String auth = Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        Files.writeString(dockerConfig, "{\"auths\":{\"" + authed + "\":{\"auth\":\"" + auth + "\"}}}");
        try (ResolvedImage img = ImageSource.resolve(ref, null, opts().withDockerConfig(true, dockerConfig))) {
            OciLayoutTest.assertTestImage(img, tmp);
        }
        try (ResolvedImage img = ImageSource.resolve(ref, null, opts().withCredentials(USER, PASSWORD))) {
            assertThat(img.layers()).hasSize(2);
        }
        assertThatThrownBy(() -> ImageSource.resolve(ref, null, opts().withCredentials(USER, "wrong")))
                .isInstanceOf(IOException.class);
    }

    @Test
    void nonLoopbackHostsNeedToBeListedAsInsecure() {
        ImageReference r = ImageReference.parse("registry.example:5000/x:1");
        assertThat(new RegistrySource(r, opts()).insecure()).isFalse();
        assertThat(new RegistrySource(r, opts().withInsecureRegistries(Set.of("registry.example:5000"))).insecure())
                .isTrue();
        assertThat(new RegistrySource(r, opts().withInsecureRegistries(Set.of("registry.example"))).insecure())
                .isTrue();
    }
}
