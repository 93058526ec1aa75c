package dev.c2w.converter.image;

/**
 * Hears how the reading of layer blobs goes, e.g. to draw progress bars. Calls come from the thread
 * reading the layer stream. All methods default to doing nothing.
 */
public interface ProgressListener {
    ProgressListener NONE = new ProgressListener() {};

    /** A layer blob was opened; {@code size} is its size in bytes as the manifest says (-1 unknown). */
    default void layerStarted(String digest, long size) {}

    /** {@code n} more bytes of the blob were read. */
    default void bytes(String digest, long n) {}

    /** The whole blob was read and its digest checked. */
    default void layerDone(String digest) {}
}
