package dev.c2w.converter.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ImageReferenceTest {
    static final String HEX = "a".repeat(64);

    @Test
    void dockerHubShortNames() {
        ImageReference r = ImageReference.parse("alpine:3.20");
        assertThat(r.transport()).isEqualTo(ImageReference.Transport.REGISTRY);
        assertThat(r.registry()).isEqualTo("registry-1.docker.io");
        assertThat(r.repository()).isEqualTo("library/alpine");
        assertThat(r.tag()).isEqualTo("3.20");
        assertThat(r.toString()).isEqualTo("registry-1.docker.io/library/alpine:3.20");

        ImageReference u = ImageReference.parse("user/app");
        assertThat(u.registry()).isEqualTo("registry-1.docker.io");
        assertThat(u.repository()).isEqualTo("user/app");
        assertThat(u.tag()).isEqualTo("latest");
        assertThat(u.qualifier()).isEqualTo("latest");

        assertThat(ImageReference.parse("docker.io/library/busybox").toString())
                .isEqualTo("registry-1.docker.io/library/busybox:latest");
        assertThat(ImageReference.parse("index.docker.io/busybox").repository()).isEqualTo("library/busybox");
        assertThat(ImageReference.parse("docker://alpine").toString())
                .isEqualTo("registry-1.docker.io/library/alpine:latest");
    }

    @Test
    void registryHostsPortsAndDigests() {
        ImageReference r = ImageReference.parse("127.0.0.1:5000/test/app:1");
        assertThat(r.registry()).isEqualTo("127.0.0.1:5000");
        assertThat(r.repository()).isEqualTo("test/app");
        assertThat(r.tag()).isEqualTo("1");
        assertThat(r.isLoopbackRegistry()).isTrue();

        ImageReference d = ImageReference.parse("ghcr.io/org/img@sha256:" + HEX);
        assertThat(d.registry()).isEqualTo("ghcr.io");
        assertThat(d.tag()).isNull();
        assertThat(d.digest()).isEqualTo("sha256:" + HEX);
        assertThat(d.qualifier()).isEqualTo("sha256:" + HEX);
        assertThat(d.isLoopbackRegistry()).isFalse();

        ImageReference both = ImageReference.parse("quay.io/a/b:v1@sha256:" + HEX);
        assertThat(both.tag()).isEqualTo("v1");
        assertThat(both.qualifier()).isEqualTo("sha256:" + HEX);
        assertThat(both.toString()).isEqualTo("quay.io/a/b:v1@sha256:" + HEX);

        assertThat(ImageReference.parse("localhost/app").registry()).isEqualTo("localhost");
        assertThat(ImageReference.parse("localhost/app").isLoopbackRegistry()).isTrue();
        assertThat(ImageReference.parse("localhost:5000/app:x").isLoopbackRegistry())
                .isTrue();
        assertThat(ImageReference.parse("[::1]:5000/app").registry()).isEqualTo("[::1]:5000");
        assertThat(ImageReference.parse("[::1]:5000/app").isLoopbackRegistry()).isTrue();
        assertThat(ImageReference.parse("127.10.0.3:80/app").isLoopbackRegistry())
                .isTrue();
        assertThat(ImageReference.parse("128.0.0.1:80/app").isLoopbackRegistry())
                .isFalse();
        assertThat(ImageReference.parse("localhost.example.com/app").isLoopbackRegistry())
                .isFalse();
        // A first component without '.' or ':' is a Docker Hub user, not a host.
        assertThat(ImageReference.parse("myhost/app").registry()).isEqualTo("registry-1.docker.io");
        assertThat(ImageReference.parse("a.b/c/d/e:f_g-1.2").repository()).isEqualTo("c/d/e");
    }

    @Test
    void archivesAndLayouts() {
        ImageReference a = ImageReference.parse("docker-archive:/tmp/img.tar");
        assertThat(a.transport()).isEqualTo(ImageReference.Transport.DOCKER_ARCHIVE);
        assertThat(a.path()).isEqualTo(Path.of("/tmp/img.tar"));
        assertThat(a.toString()).isEqualTo("docker-archive:/tmp/img.tar");

        ImageReference o = ImageReference.parse("oci:/tmp/layout:v1.2");
        assertThat(o.transport()).isEqualTo(ImageReference.Transport.OCI);
        assertThat(o.path()).isEqualTo(Path.of("/tmp/layout"));
        assertThat(o.tag()).isEqualTo("v1.2");
        ImageReference noTag = ImageReference.parse("oci:rel/dir");
        assertThat(noTag.path()).isEqualTo(Path.of("rel/dir"));
        assertThat(noTag.tag()).isNull();
    }

    @Test
    void malformedReferencesSayWhy() {
        assertThatThrownBy(() -> ImageReference.parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> ImageReference.parse("Alpine")).hasMessageContaining("invalid name component");
        assertThatThrownBy(() -> ImageReference.parse("alpine:")).hasMessageContaining("invalid tag");
        assertThatThrownBy(() -> ImageReference.parse("alpine:bad/tag:x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ImageReference.parse("alpine@sha256:abc")).hasMessageContaining("invalid digest");
        assertThatThrownBy(() -> ImageReference.parse("alpine@md5:" + HEX)).hasMessageContaining("invalid digest");
        assertThatThrownBy(() -> ImageReference.parse("al pine")).hasMessageContaining("whitespace");
        assertThatThrownBy(() -> ImageReference.parse("host:99999999/x")).hasMessageContaining("invalid registry host");
        assertThatThrownBy(() -> ImageReference.parse("ghcr.io/")).hasMessageContaining("no image name");
        assertThatThrownBy(() -> ImageReference.parse("a//b")).hasMessageContaining("invalid name component");
        assertThatThrownBy(() -> ImageReference.parse("docker-archive:")).hasMessageContaining("needs a path");
        assertThatThrownBy(() -> ImageReference.parse("oci:")).hasMessageContaining("needs a directory");
        assertThatThrownBy(() -> ImageReference.parse("oci:/dir:")).hasMessageContaining("empty tag");
        assertThatThrownBy(() -> ImageReference.parse(":tag")).hasMessageContaining("no image name");
        assertThatThrownBy(() -> ImageReference.parse("x/" + "a".repeat(300))).hasMessageContaining("255");
    }

    @Test
    void platforms() {
        assertThat(Platform.DEFAULT.toString()).isEqualTo("linux/riscv64");
        assertThat(Platform.parse("linux/arm/v7")).isEqualTo(new Platform("linux", "arm", "v7"));
        assertThat(Platform.parse("amd64")).isEqualTo(Platform.linux("amd64"));
        assertThatThrownBy(() -> Platform.parse("linux//x")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Platform.linux("arm64").matches("linux", "arm64", "v8")).isTrue();
        assertThat(Platform.parse("linux/arm64/v8").matches("linux", "arm64", null))
                .isFalse();
    }
}
