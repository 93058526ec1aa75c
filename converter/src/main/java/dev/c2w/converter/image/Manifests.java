package dev.c2w.converter.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Manifests, indexes and platform selection, shared by the sources: each gives a {@link Store} that
 * fetches manifests and blobs by digest, and {@link #resolve} walks from the starting descriptors down
 * to one image manifest of the wanted platform.
 */
final class Manifests {
    static final ObjectMapper JSON = new ObjectMapper();

    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_V1 = "application/vnd.docker.distribution.manifest.v1+json";
    static final String DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    static final String REF_NAME = "org.opencontainers.image.ref.name";

    private Manifests() {}

    /** A content descriptor, with the platform when an index gives one (os null = none given). */
    record Descriptor(
            String mediaType,
            String digest,
            long size,
            String os,
            String architecture,
            String variant,
            Map<String, String> annotations) {
        boolean hasPlatform() {
            return os != null && architecture != null;
        }

        String platformString() {
            return os + "/" + architecture + (variant == null ? "" : "/" + variant);
        }

        String refName() {
            return annotations.get(REF_NAME);
        }
    }

    /** Where manifests and blobs come from. */
    interface Store {
        /** The manifest with this digest, checked against it; {@code hint} is the descriptor (size may be -1). */
        byte[] manifest(Descriptor hint) throws IOException;

        /** A small blob (a config), checked against its digest. */
        byte[] blob(Descriptor d) throws IOException;

        /** A layer blob as stored, unchecked (the Layer checks it). */
        InputStream openBlob(Descriptor d) throws IOException;
    }

    /** Whether a config's platform fits (fields the config leaves empty are not held against it). */
    static boolean fits(ImageConfig c, Platform p) {
        return (c.os().isEmpty() || c.os().equals(p.os()))
                && (c.architecture().isEmpty() || c.architecture().equals(p.architecture()))
                && (p.variant() == null || c.variant() == null || p.variant().equals(c.variant()));
    }

    static String platformOf(ImageConfig c) {
        return c.os() + "/" + c.architecture() + (c.variant() == null ? "" : "/" + c.variant());
    }

    static JsonNode parse(byte[] json, String what) throws IOException {
        try {
            JsonNode n = JSON.readTree(json);
            if (n == null || !n.isObject()) throw new IOException(what + " is not a JSON object");
            return n;
        } catch (JsonProcessingException e) {
            throw new IOException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    static Descriptor descriptor(JsonNode n, String what) throws IOException {
        String digest = Digests.require(n.path("digest").asText(null), what);
        long size = n.path("size").isNumber() ? n.path("size").asLong() : -1;
        JsonNode p = n.path("platform");
        String os = p.path("os").isTextual() ? p.path("os").asText() : null;
        String arch =
                p.path("architecture").isTextual() ? p.path("architecture").asText() : null;
        String variant =
                p.path("variant").isTextual() && !p.path("variant").asText().isEmpty()
                        ? p.path("variant").asText()
                        : null;
        Map<String, String> ann = new LinkedHashMap<>();
        n.path("annotations")
                .properties()
                .forEach(e -> ann.put(e.getKey(), e.getValue().asText()));
        return new Descriptor(n.path("mediaType").asText(""), digest, size, os, arch, variant, ann);
    }

    static boolean isIndex(String mediaType, JsonNode n) {
        return mediaType.equals(OCI_INDEX)
                || mediaType.equals(DOCKER_LIST)
                || (!n.has("config") && n.path("manifests").isArray());
    }

    static List<Descriptor> entries(JsonNode index, String what) throws IOException {
        List<Descriptor> out = new ArrayList<>();
        for (JsonNode m : index.path("manifests")) out.add(descriptor(m, what + " entry"));
        return out;
    }

    /**
     * Resolves {@code start} (the entries of an index, or a single manifest descriptor) to an image
     * for {@code platform}. Entries whose platform matches are tried first, then entries giving no
     * platform; an image manifest is accepted when its config's os/architecture (and variant, if the
     * platform names one and the config has one) fit. Without any fit, the error lists what there is.
     */
    static ResolvedImage resolve(
            String reference, List<Descriptor> start, Store store, Platform platform, Closeable resources)
            throws IOException {
        Set<String> seen = new LinkedHashSet<>();
        ResolvedImage r = walk(reference, start, store, platform, resources, seen, 0);
        if (r != null) return r;
        throw new IOException("image " + reference + " has no " + platform + " variant; it has: "
                + (seen.isEmpty() ? "(no platforms given)" : String.join(", ", seen)));
    }

    private static ResolvedImage walk(
            String reference,
            List<Descriptor> candidates,
            Store store,
            Platform platform,
            Closeable resources,
            Set<String> seen,
            int depth)
            throws IOException {
        if (depth > 8) throw new IOException("image " + reference + ": indexes nested too deeply");
        // Exact matches first; then entries that give no variant (the config decides, e.g. after jib
        // dropped the variants of a registry's list); then entries that give no platform at all.
        List<Descriptor> ordered = new ArrayList<>();
        for (Descriptor d : candidates) {
            if (d.hasPlatform()) {
                seen.add(d.platformString());
                if (platform.matches(d.os(), d.architecture(), d.variant())) ordered.add(d);
            }
        }
        for (Descriptor d : candidates) {
            if (d.hasPlatform()
                    && d.variant() == null
                    && platform.variant() != null
                    && platform.matches(d.os(), d.architecture(), platform.variant())) {
                ordered.add(d);
            }
        }
        for (Descriptor d : candidates) if (!d.hasPlatform()) ordered.add(d);
        for (Descriptor d : ordered) {
            byte[] bytes = store.manifest(d);
            JsonNode m = parse(bytes, "manifest " + d.digest());
            String mt = m.path("mediaType").asText(d.mediaType());
            if (isIndex(mt, m)) {
                ResolvedImage r =
                        walk(reference, entries(m, "index " + d.digest()), store, platform, resources, seen, depth + 1);
                if (r != null) return r;
                continue;
            }
            if (mt.equals(DOCKER_V1)
                    || mt.equals(DOCKER_V1_SIGNED)
                    || m.path("schemaVersion").asInt() == 1) {
                throw new IOException("image " + reference + ": Docker schema 1 manifests are not supported");
            }
            if (!m.path("config").isObject()) throw new IOException("manifest " + d.digest() + " has no config");
            Descriptor configDesc = descriptor(m.path("config"), "manifest " + d.digest() + " config");
            byte[] configBytes = store.blob(configDesc);
            ImageConfig config = ImageConfig.fromJson(parse(configBytes, "config " + configDesc.digest()));
            if (!fits(config, platform)) {
                seen.add(platformOf(config));
                continue;
            }
            List<Layer> layers = new ArrayList<>();
            for (JsonNode l : m.path("layers")) {
                Descriptor ld = descriptor(l, "manifest " + d.digest() + " layer");
                layers.add(new Layer(ld.digest(), ld.mediaType(), ld.size(), () -> store.openBlob(ld)));
            }
            if (!config.diffIds().isEmpty() && config.diffIds().size() != layers.size()) {
                throw new IOException("image " + reference + ": manifest has " + layers.size()
                        + " layers but the config " + config.diffIds().size() + " diff_ids");
            }
            return new ResolvedImage(reference, d.digest(), configDesc.digest(), config, layers, resources);
        }
        return null;
    }
}
