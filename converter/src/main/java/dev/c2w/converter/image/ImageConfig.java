package dev.c2w.converter.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the converter needs from an image's config blob (OCI image config / Docker image JSON).
 * Absent values are empty lists, maps and strings, never null, except {@code variant}.
 *
 * @param entrypoint  config.Entrypoint
 * @param cmd         config.Cmd
 * @param env         config.Env, "KEY=VALUE" each
 * @param workingDir  config.WorkingDir ("" = not set)
 * @param user        config.User as written ("", "1000", "app:staff", ...)
 * @param exposedPorts config.ExposedPorts keys, e.g. "80/tcp", sorted
 * @param labels      config.Labels
 * @param architecture top-level architecture
 * @param os          top-level os
 * @param variant     top-level variant, or null
 * @param diffIds     rootfs.diff_ids: digests of the uncompressed layers, in order
 */
public record ImageConfig(
        List<String> entrypoint,
        List<String> cmd,
        List<String> env,
        String workingDir,
        String user,
        Set<String> exposedPorts,
        Map<String, String> labels,
        String architecture,
        String os,
        String variant,
        List<String> diffIds) {

    /** Reads the fields from the parsed config JSON. */
    static ImageConfig fromJson(JsonNode root) {
        JsonNode c = root.path("config");
        if (c.isMissingNode() || c.isNull()) c = root.path("container_config"); // very old Docker images only
        Set<String> ports = new TreeSet<>();
        c.path("ExposedPorts").fieldNames().forEachRemaining(ports::add);
        Map<String, String> labels = new LinkedHashMap<>();
        c.path("Labels")
                .properties()
                .forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        String variant = text(root.path("variant"));
        return new ImageConfig(
                strings(c.path("Entrypoint")),
                strings(c.path("Cmd")),
                strings(c.path("Env")),
                text(c.path("WorkingDir")),
                text(c.path("User")),
                Collections.unmodifiableSet(ports),
                Collections.unmodifiableMap(labels),
                text(root.path("architecture")),
                text(root.path("os")),
                variant.isEmpty() ? null : variant,
                strings(root.path("rootfs").path("diff_ids")));
    }

    private static List<String> strings(JsonNode n) {
        if (n.isTextual()) return List.of(n.asText()); // tolerated: a bare string where a list belongs
        List<String> out = new ArrayList<>();
        if (n.isArray()) n.forEach(x -> out.add(x.asText()));
        return List.copyOf(out);
    }

    private static String text(JsonNode n) {
        return n.isTextual() ? n.asText() : "";
    }
}
