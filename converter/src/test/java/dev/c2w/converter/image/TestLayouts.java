package dev.c2w.converter.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes OCI image layouts in tests: blobs, configs, manifests, indexes. */
final class TestLayouts {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
    static final String ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd";

    final Path dir;

    TestLayouts(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    }

    /** Stores a blob and returns its descriptor (without mediaType). */
    ObjectNode blob(String mediaType, byte[] data) throws IOException {
        String digest = Digests.sha256(data);
        Files.write(dir.resolve("blobs/sha256").resolve(digest.substring(7)), data);
        ObjectNode d = JSON.createObjectNode();
        d.put("mediaType", mediaType);
        d.put("digest", digest);
        d.put("size", data.length);
        return d;
    }

    static ObjectNode config(String arch, String variant, List<String> diffIds) {
        ObjectNode c = JSON.createObjectNode();
        c.put("architecture", arch);
        c.put("os", "linux");
        if (variant != null) c.put("variant", variant);
        ObjectNode cfg = c.putObject("config");
        cfg.putArray("Entrypoint").add("/bin/app").add("--flag");
        cfg.putArray("Cmd").add("serve");
        cfg.putArray("Env").add("PATH=/usr/bin:/bin").add("A=b c");
        cfg.put("WorkingDir", "/srv");
        cfg.put("User", "1000:1000");
        cfg.putObject("ExposedPorts").putObject("8080/tcp");
        cfg.putObject("Labels").put("org.example", "yes");
        ObjectNode rootfs = c.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode ids = rootfs.putArray("diff_ids");
        diffIds.forEach(ids::add);
        return c;
    }

    /** Writes an image manifest for the config and the (already compressed) layers; returns its descriptor. */
    ObjectNode image(ObjectNode config, List<byte[]> layers, List<String> layerTypes) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", Manifests.OCI_MANIFEST);
        m.set("config", blob("application/vnd.oci.image.config.v1+json", JSON.writeValueAsBytes(config)));
        ArrayNode ls = m.putArray("layers");
        for (int i = 0; i < layers.size(); i++) ls.add(blob(layerTypes.get(i), layers.get(i)));
        return blob(Manifests.OCI_MANIFEST, JSON.writeValueAsBytes(m));
    }

    static ObjectNode withPlatform(ObjectNode desc, String arch, String variant) {
        ObjectNode d = desc.deepCopy();
        ObjectNode p = d.putObject("platform");
        p.put("architecture", arch);
        p.put("os", "linux");
        if (variant != null) p.put("variant", variant);
        return d;
    }

    static ObjectNode named(ObjectNode desc, String name) {
        ObjectNode d = desc.deepCopy();
        d.putObject("annotations").put(Manifests.REF_NAME, name);
        return d;
    }

    /** Writes an index blob listing {@code entries}; returns its descriptor. */
    ObjectNode index(List<ObjectNode> entries) throws IOException {
        return blob(Manifests.OCI_INDEX, JSON.writeValueAsBytes(indexNode(entries)));
    }

    /** Writes index.json listing {@code entries}. */
    void top(List<ObjectNode> entries) throws IOException {
        Files.write(dir.resolve("index.json"), JSON.writeValueAsBytes(indexNode(entries)));
    }

    private static ObjectNode indexNode(List<ObjectNode> entries) {
        ObjectNode idx = JSON.createObjectNode();
        idx.put("schemaVersion", 2);
        idx.put("mediaType", Manifests.OCI_INDEX);
        ArrayNode ms = idx.putArray("manifests");
        entries.forEach(ms::add);
        return idx;
    }

    static String diffId(byte[] plainTar) {
        return Digests.sha256(plainTar);
    }
}
