package dev.c2w.converter.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An OCI image layout directory ({@code oci-layout}, {@code index.json}, {@code blobs/ALG/HEX}).
 * With a tag, the index entries whose {@code org.opencontainers.image.ref.name} is the tag (or ends
 * with ":" + tag) are used; without one, the single named image, or all entries when none is named.
 * Manifests and configs are checked against their digests as they are read; layers as they are
 * streamed.
 */
public final class OciLayoutSource implements ImageSource {
    private final Path dir;
    private final String tag;

    public OciLayoutSource(Path dir, String tag) {
        this.dir = dir;
        this.tag = tag;
    }

    @Override
    public ResolvedImage resolve(Platform platform) throws IOException {
        String ref = "oci:" + dir + (tag == null ? "" : ":" + tag);
        return Manifests.resolve(ref, startingPoints(dir, tag, ref), store(dir), platform, null);
    }

    static List<Manifests.Descriptor> startingPoints(Path dir, String tag, String ref) throws IOException {
        JsonNode layout;
        try {
            layout = Manifests.parse(Files.readAllBytes(dir.resolve("oci-layout")), ref + ": oci-layout");
        } catch (NoSuchFileException e) {
            throw new IOException(ref + ": not an OCI image layout (no oci-layout file in " + dir + ")");
        }
        String version = layout.path("imageLayoutVersion").asText("");
        if (!version.startsWith("1."))
            throw new IOException(ref + ": unsupported imageLayoutVersion \"" + version + "\"");
        JsonNode index;
        try {
            index = Manifests.parse(Files.readAllBytes(dir.resolve("index.json")), ref + ": index.json");
        } catch (NoSuchFileException e) {
            throw new IOException(ref + ": no index.json in " + dir);
        }
        List<Manifests.Descriptor> all = Manifests.entries(index, ref + ": index.json");
        if (all.isEmpty()) throw new IOException(ref + ": index.json lists no images");
        Set<String> names = new LinkedHashSet<>();
        for (Manifests.Descriptor d : all) if (d.refName() != null) names.add(d.refName());
        if (tag != null) {
            List<Manifests.Descriptor> picked = new ArrayList<>();
            for (Manifests.Descriptor d : all) {
                String n = d.refName();
                if (n != null && (n.equals(tag) || n.endsWith(":" + tag))) picked.add(d);
            }
            if (picked.isEmpty()) {
                throw new IOException(ref + ": no image tagged \"" + tag + "\"; the layout has: "
                        + (names.isEmpty() ? "(no tagged images)" : String.join(", ", names)));
            }
            return picked;
        }
        if (names.size() > 1) {
            throw new IOException(ref + ": the layout holds several images (" + String.join(", ", names)
                    + "); name one as oci:DIR:TAG");
        }
        return all;
    }

    static Manifests.Store store(Path dir) {
        return new Manifests.Store() {
            @Override
            public byte[] manifest(Manifests.Descriptor d) throws IOException {
                return blob(d);
            }

            @Override
            public byte[] blob(Manifests.Descriptor d) throws IOException {
                byte[] b = Files.readAllBytes(path(dir, d.digest()));
                Digests.check(b, d.digest(), d.size(), "blob");
                return b;
            }

            @Override
            public InputStream openBlob(Manifests.Descriptor d) throws IOException {
                return Files.newInputStream(path(dir, d.digest()));
            }
        };
    }

    static Path path(Path dir, String digest) throws IOException {
        Digests.require(digest, "blob");
        int colon = digest.indexOf(':');
        Path p = dir.resolve("blobs").resolve(digest.substring(0, colon)).resolve(digest.substring(colon + 1));
        if (!Files.isRegularFile(p)) throw new IOException("blob " + digest + " is missing from " + dir);
        return p;
    }
}
