package dev.c2w.converter.image;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;

/**
 * An image resolved to one platform: its config and its layers, bottom first. Close it when done
 * (it may hold an open archive or an HTTP client). Layers may be opened one at a time.
 *
 * @param reference      the reference it was resolved from, as {@link ImageReference#toString()}
 * @param manifestDigest digest of the platform's image manifest; null for a docker-archive in the
 *                       old format, which has no manifest
 * @param configDigest   digest of the config blob (Docker's image ID)
 * @param config         the parsed config
 * @param layers         the layers in order, bottom first
 */
public record ResolvedImage(
        String reference,
        String manifestDigest,
        String configDigest,
        ImageConfig config,
        List<Layer> layers,
        Closeable resources)
        implements Closeable {
    public ResolvedImage {
        layers = List.copyOf(layers);
    }

    @Override
    public void close() throws IOException {
        if (resources != null) resources.close();
    }
}
