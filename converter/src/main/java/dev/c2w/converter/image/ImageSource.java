package dev.c2w.converter.image;

import java.io.IOException;

/** Somewhere an image can be read from: a registry, a docker-archive tar, an OCI layout directory. */
public interface ImageSource {
    /** Finds the image for {@code platform}: its manifest, config and layers (not yet read). */
    ResolvedImage resolve(Platform platform) throws IOException;

    /** The source for {@code ref}; {@code options} matter only for registry references (null = defaults). */
    static ImageSource of(ImageReference ref, RegistryOptions options) {
        return switch (ref.transport()) {
            case REGISTRY -> new RegistrySource(ref, options == null ? RegistryOptions.defaults() : options);
            case DOCKER_ARCHIVE -> new DockerArchiveSource(ref.path());
            case OCI -> new OciLayoutSource(ref.path(), ref.tag());
        };
    }

    /** Parses {@code ref} and resolves it: the one call the CLI needs. */
    static ResolvedImage resolve(String ref, Platform platform, RegistryOptions options) throws IOException {
        return of(ImageReference.parse(ref), options).resolve(platform == null ? Platform.DEFAULT : platform);
    }
}
