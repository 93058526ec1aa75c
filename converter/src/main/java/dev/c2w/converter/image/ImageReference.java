package dev.c2w.converter.image;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where an image comes from, as the user wrote it:
 * <ul>
 *   <li>a registry reference {@code [host[:port]/]name[:tag][@sha256:hex]} (an optional
 *       {@code docker://} prefix is accepted). As with Docker, the first component is a host only when
 *       it contains '.' or ':' or is {@code localhost}; otherwise the image is on Docker Hub
 *       ({@code registry-1.docker.io}), where one-component names get {@code library/}. The tag
 *       defaults to {@code latest} unless a digest is given;
 *   <li>{@code docker-archive:PATH}, a {@code docker save} tar (the whole rest is the path);
 *   <li>{@code oci:DIR[:TAG]}, an OCI image layout directory; the tag is after the last ':' when
 *       that part holds no '/'.
 * </ul>
 * Malformed references throw {@link IllegalArgumentException} saying what is wrong.
 */
public final class ImageReference {
    public enum Transport {
        REGISTRY,
        DOCKER_ARCHIVE,
        OCI
    }

    public static final String DOCKER_HUB = "registry-1.docker.io";

    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern OCI_TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.+@-]*");
    private static final Pattern DIGEST = Pattern.compile("sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}");
    private static final Pattern HOST = Pattern.compile(
            "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])"
                    + "(?::[0-9]{1,5})?");

    private final Transport transport;
    private final String registry;
    private final String repository;
    private final String tag;
    private final String digest;
    private final Path path;

    private ImageReference(
            Transport transport, String registry, String repository, String tag, String digest, Path path) {
        this.transport = transport;
        this.registry = registry;
        this.repository = repository;
        this.tag = tag;
        this.digest = digest;
        this.path = path;
    }

    public static ImageReference parse(String ref) {
        Objects.requireNonNull(ref, "ref");
        if (ref.startsWith("docker-archive:")) {
            String p = ref.substring("docker-archive:".length());
            if (p.isEmpty()) throw bad(ref, "docker-archive: needs a path");
            return new ImageReference(Transport.DOCKER_ARCHIVE, null, null, null, null, Path.of(p));
        }
        if (ref.startsWith("oci:")) {
            String rest = ref.substring("oci:".length());
            String tag = null;
            int colon = rest.lastIndexOf(':');
            if (colon >= 0 && rest.indexOf('/', colon) < 0) {
                tag = rest.substring(colon + 1);
                rest = rest.substring(0, colon);
                if (tag.isEmpty()) throw bad(ref, "empty tag after ':'");
                if (!OCI_TAG.matcher(tag).matches()) throw bad(ref, "invalid tag \"" + tag + "\"");
            }
            if (rest.isEmpty()) throw bad(ref, "oci: needs a directory");
            return new ImageReference(Transport.OCI, null, null, tag, null, Path.of(rest));
        }
        String s = ref.startsWith("docker://") ? ref.substring("docker://".length()) : ref;
        if (s.isEmpty()) throw bad(ref, "empty reference");
        if (!s.equals(s.strip()) || s.chars().anyMatch(Character::isWhitespace)) throw bad(ref, "contains whitespace");
        String digest = null;
        int at = s.indexOf('@');
        if (at >= 0) {
            digest = s.substring(at + 1);
            s = s.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw bad(ref, "invalid digest \"" + digest + "\" (want sha256: and 64 lowercase hex digits)");
            }
        }
        String tag = null;
        int colon = s.lastIndexOf(':');
        if (colon >= 0 && s.indexOf('/', colon) < 0) {
            tag = s.substring(colon + 1);
            s = s.substring(0, colon);
            if (!TAG.matcher(tag).matches()) throw bad(ref, "invalid tag \"" + tag + "\"");
        }
        if (s.isEmpty()) throw bad(ref, "no image name");
        String registry;
        String repository;
        int slash = s.indexOf('/');
        String first = slash < 0 ? null : s.substring(0, slash);
        if (first != null
                && (first.contains(".")
                        || first.contains(":")
                        || first.equals("localhost")
                        || !first.equals(first.toLowerCase(Locale.ROOT)))) {
            if (!HOST.matcher(first).matches()) throw bad(ref, "invalid registry host \"" + first + "\"");
            registry = first;
            repository = s.substring(slash + 1);
        } else {
            registry = DOCKER_HUB;
            repository = s;
        }
        if (registry.equals("docker.io") || registry.equals("index.docker.io")) registry = DOCKER_HUB;
        if (registry.equals(DOCKER_HUB) && !repository.contains("/")) repository = "library/" + repository;
        if (repository.isEmpty()) throw bad(ref, "no image name after the registry");
        for (String c : repository.split("/", -1)) {
            if (!COMPONENT.matcher(c).matches()) {
                throw bad(ref, "invalid name component \"" + c + "\" (lowercase letters, digits and . _ - separators)");
            }
        }
        if (repository.length() > 255) throw bad(ref, "name longer than 255 characters");
        if (tag == null && digest == null) tag = "latest";
        return new ImageReference(Transport.REGISTRY, registry, repository, tag, digest, null);
    }

    private static IllegalArgumentException bad(String ref, String why) {
        return new IllegalArgumentException("invalid image reference \"" + ref + "\": " + why);
    }

    public Transport transport() {
        return transport;
    }

    /** REGISTRY: host[:port] ({@link #DOCKER_HUB} for Docker Hub). */
    public String registry() {
        return registry;
    }

    /** REGISTRY: the repository path, e.g. {@code library/alpine}. */
    public String repository() {
        return repository;
    }

    /** REGISTRY or OCI: the tag, or null (a registry reference with only a digest; an oci: without tag). */
    public String tag() {
        return tag;
    }

    /** REGISTRY: the digest given with '@', or null. */
    public String digest() {
        return digest;
    }

    /** DOCKER_ARCHIVE: the tar; OCI: the layout directory. */
    public Path path() {
        return path;
    }

    /** REGISTRY: what to ask the registry for: the digest when given, else the tag. */
    public String qualifier() {
        return digest != null ? digest : tag;
    }

    /** REGISTRY: whether the host is a loopback name or address (127.0.0.0/8, localhost, ::1). */
    public boolean isLoopbackRegistry() {
        if (registry == null) return false;
        String host = hostOf(registry);
        if (host.equalsIgnoreCase("localhost")) return true;
        if (host.equals("::1") || host.equals("0:0:0:0:0:0:0:1")) return true;
        return host.matches("127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}");
    }

    /** The host part of {@code host[:port]} (brackets of an IPv6 address removed). */
    static String hostOf(String registry) {
        if (registry.startsWith("[")) {
            int end = registry.indexOf(']');
            return registry.substring(1, end);
        }
        int colon = registry.indexOf(':');
        return colon < 0 ? registry : registry.substring(0, colon);
    }

    @Override
    public String toString() {
        return switch (transport) {
            case DOCKER_ARCHIVE -> "docker-archive:" + path;
            case OCI -> "oci:" + path + (tag == null ? "" : ":" + tag);
            case REGISTRY ->
                registry + "/" + repository + (tag == null ? "" : ":" + tag) + (digest == null ? "" : "@" + digest);
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageReference r && r.toString().equals(toString()) && r.transport == transport;
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }
}
