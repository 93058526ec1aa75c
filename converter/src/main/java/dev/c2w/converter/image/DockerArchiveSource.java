package dev.c2w.converter.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.c2w.converter.fs.BulkInputStream;
import dev.c2w.converter.layer.LayerApplier;
import dev.c2w.converter.layer.TarReader;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * A {@code docker save} tar: {@code manifest.json} naming the config and the layer files, in the
 * classic layout ({@code ID/layer.tar}, {@code HEX.json}) or the OCI layout Docker 25+ writes
 * ({@code blobs/sha256/HEX}, with {@code index.json}). A gzip-compressed archive is unpacked to a
 * temporary file first. The archive must hold exactly one image.
 *
 * <p>Digests: a member stored as {@code blobs/sha256/HEX} has that digest; a classic uncompressed
 * layer is checked against the config's diff_id for it; a classic compressed layer (rare) has no
 * digest to check against, and gets the one computed here. The manifest digest is known only for
 * the OCI layout (null otherwise).
 */
public final class DockerArchiveSource implements ImageSource {
    private static final Pattern BLOB = Pattern.compile("blobs/(sha256|sha512)/([a-f0-9]+)");
    private static final Pattern HEX_JSON = Pattern.compile("(?:.*/)?([a-f0-9]{64})\\.json");

    private final Path archive;

    public DockerArchiveSource(Path archive) {
        this.archive = archive;
    }

    /** Where one member's bytes are in the (uncompressed) archive. */
    private record Member(long offset, long size) {}

    @Override
    public ResolvedImage resolve(Platform platform) throws IOException {
        String ref = "docker-archive:" + archive;
        if (!Files.isRegularFile(archive)) throw new IOException(ref + ": no such file");
        Path tarPath = archive;
        Path temp = null;
        try (InputStream probe = Files.newInputStream(archive)) {
            if (LayerApplier.detect(probe.readNBytes(4)) == LayerApplier.Compression.GZIP) {
                temp = Files.createTempFile("c2w-archive", ".tar");
                try (InputStream gz =
                        new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive)), 1 << 16)) {
                    Files.copy(gz, temp, StandardCopyOption.REPLACE_EXISTING);
                }
                tarPath = temp;
            }
        } catch (IOException e) {
            if (temp != null) Files.deleteIfExists(temp);
            throw new IOException(ref + ": " + e.getMessage(), e);
        }
        FileChannel ch = FileChannel.open(tarPath, StandardOpenOption.READ);
        Path tempFinal = temp;
        Closeable resources = () -> {
            ch.close();
            if (tempFinal != null) Files.deleteIfExists(tempFinal);
        };
        try {
            return read(ref, tarPath, ch, platform, resources);
        } catch (IOException | RuntimeException e) {
            resources.close();
            throw e;
        }
    }

    private ResolvedImage read(String ref, Path tarPath, FileChannel ch, Platform platform, Closeable resources)
            throws IOException {
        Map<String, Member> members = new HashMap<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tarPath), 1 << 16)) {
            TarReader tar = new TarReader(in);
            for (TarReader.Entry e; (e = tar.next()) != null; ) {
                if (e.isRegular()) members.put(clean(e.name()), new Member(tar.dataOffset(), e.size()));
            }
        } catch (IOException e) {
            throw new IOException(ref + ": not a readable tar: " + e.getMessage(), e);
        }
        Member manifestMember = members.get("manifest.json");
        if (manifestMember == null) throw new IOException(ref + ": no manifest.json (not a docker save archive)");
        JsonNode list = Manifests.JSON.readTree(readAll(ch, manifestMember));
        if (list == null || !list.isArray() || list.isEmpty())
            throw new IOException(ref + ": manifest.json lists no image");
        if (list.size() > 1) {
            List<String> tags = new ArrayList<>();
            list.forEach(m -> tags.add(m.path("RepoTags").toString()));
            throw new IOException(
                    ref + ": the archive holds " + list.size() + " images " + tags + "; only one is supported");
        }
        JsonNode m = list.get(0);
        String configPath = m.path("Config").asText("");
        Member configMember = member(ref, members, configPath);
        byte[] configBytes = readAll(ch, configMember);
        String configDigest = digestFromName(configPath);
        if (configDigest == null) {
            Matcher hj = HEX_JSON.matcher(configPath);
            configDigest = hj.matches() ? "sha256:" + hj.group(1) : Digests.sha256(configBytes);
        }
        Digests.check(configBytes, configDigest, configMember.size(), ref + ": config");
        ImageConfig config = ImageConfig.fromJson(Manifests.parse(configBytes, ref + ": config"));
        if (!Manifests.fits(config, platform)) {
            throw new IOException(
                    "image " + ref + " has no " + platform + " variant; it has: " + Manifests.platformOf(config));
        }

        JsonNode ociManifest = findOciManifest(ch, members, configDigest);
        String manifestDigest =
                ociManifest == null ? null : ociManifest.path("_digest").asText();
        List<String> paths = new ArrayList<>();
        m.path("Layers").forEach(l -> paths.add(l.asText()));
        if (!config.diffIds().isEmpty() && config.diffIds().size() != paths.size()) {
            throw new IOException(ref + ": manifest.json has " + paths.size() + " layers but the config "
                    + config.diffIds().size() + " diff_ids");
        }
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            String p = paths.get(i);
            Member mem = member(ref, members, p);
            byte[] head = new byte[8];
            ByteBuffer hb = ByteBuffer.wrap(head, 0, (int) Math.min(8, mem.size()));
            ch.read(hb, mem.offset());
            LayerApplier.Compression comp = LayerApplier.detect(head);
            String mediaType = switch (comp) {
                case GZIP -> "application/vnd.oci.image.layer.v1.tar+gzip";
                case ZSTD -> "application/vnd.oci.image.layer.v1.tar+zstd";
                case NONE -> "application/vnd.oci.image.layer.v1.tar";
            };
            String digest = digestFromName(p);
            if (digest == null) {
                if (comp == LayerApplier.Compression.NONE
                        && i < config.diffIds().size()) {
                    digest = Digests.require(config.diffIds().get(i), ref + ": diff_id");
                } else {
                    digest = computeDigest(ch, mem);
                }
            }
            if (ociManifest != null) {
                for (JsonNode l : ociManifest.path("layers")) {
                    if (digest.equals(l.path("digest").asText())
                            && l.path("mediaType").isTextual()) {
                        mediaType = l.path("mediaType").asText();
                    }
                }
            }
            layers.add(
                    new Layer(digest, mediaType, mem.size(), () -> new RangeInputStream(ch, mem.offset(), mem.size())));
        }
        return new ResolvedImage(ref, manifestDigest, configDigest, config, layers, resources);
    }

    /** The Docker 25+ OCI manifest whose config is {@code configDigest}, with its digest as "_digest"; or null. */
    private static JsonNode findOciManifest(FileChannel ch, Map<String, Member> members, String configDigest)
            throws IOException {
        Member index = members.get("index.json");
        if (index == null) return null;
        List<JsonNode> todo = new ArrayList<>();
        todo.add(Manifests.JSON.readTree(readAll(ch, index)));
        for (int guard = 0; !todo.isEmpty() && guard < 64; guard++) {
            JsonNode idx = todo.remove(0);
            for (JsonNode d : idx.path("manifests")) {
                String digest = d.path("digest").asText("");
                if (!Digests.isValid(digest)) continue;
                Member mem = members.get("blobs/" + digest.replace(':', '/'));
                if (mem == null || mem.size() > 4 << 20) continue;
                byte[] bytes = readAll(ch, mem);
                Digests.check(bytes, digest, -1, "manifest");
                JsonNode n = Manifests.JSON.readTree(bytes);
                if (n == null || !n.isObject()) continue;
                if (n.path("manifests").isArray()) {
                    todo.add(n);
                } else if (configDigest.equals(n.path("config").path("digest").asText())) {
                    ((ObjectNode) n).put("_digest", digest);
                    return n;
                }
            }
        }
        return null;
    }

    private static Member member(String ref, Map<String, Member> members, String path) throws IOException {
        Member mem = members.get(clean(path));
        if (mem == null) throw new IOException(ref + ": manifest.json names " + path + ", which the archive lacks");
        return mem;
    }

    private static String digestFromName(String path) {
        Matcher b = BLOB.matcher(clean(path));
        if (!b.matches()) return null;
        String d = b.group(1) + ":" + b.group(2);
        return Digests.isValid(d) ? d : null;
    }

    private static String clean(String name) {
        String s = name;
        while (s.startsWith("./")) s = s.substring(2);
        while (s.startsWith("/")) s = s.substring(1);
        return s;
    }

    private static byte[] readAll(FileChannel ch, Member m) throws IOException {
        if (m.size() > 64 << 20)
            throw new IOException("archive member of " + m.size() + " bytes is too large to read whole");
        return new RangeInputStream(ch, m.offset(), m.size()).readAllBytes();
    }

    private static String computeDigest(FileChannel ch, Member m) throws IOException {
        MessageDigest md = Digests.digester("sha256:");
        try (InputStream in = new RangeInputStream(ch, m.offset(), m.size())) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    /** A range of a file, read with positioned reads (so several may be open at once). */
    private static final class RangeInputStream extends BulkInputStream {
        private final FileChannel ch;
        private long pos;
        private final long end;

        RangeInputStream(FileChannel ch, long offset, long size) {
            this.ch = ch;
            this.pos = offset;
            this.end = offset + size;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= end) return -1;
            if (len == 0) return 0;
            int n = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - pos)), pos);
            if (n < 0) throw new IOException("archive truncated");
            pos += n;
            return n;
        }
    }
}
