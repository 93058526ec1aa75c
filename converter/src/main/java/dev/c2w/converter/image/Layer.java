package dev.c2w.converter.image;

import java.io.IOException;
import java.io.InputStream;

/** One layer of a resolved image: its blob's descriptor and a way to read the blob. */
public final class Layer {
    /** Opens the raw blob (compressed as stored). */
    @FunctionalInterface
    public interface BlobOpener {
        InputStream open() throws IOException;
    }

    private final String digest;
    private final String mediaType;
    private final long size;
    private final BlobOpener opener;

    public Layer(String digest, String mediaType, long size, BlobOpener opener) {
        this.digest = digest;
        this.mediaType = mediaType;
        this.size = size;
        this.opener = opener;
    }

    /** The blob's digest, "sha256:hex". */
    public String digest() {
        return digest;
    }

    /** As the manifest says (the applier goes by the blob's first bytes, not by this). */
    public String mediaType() {
        return mediaType;
    }

    /** The blob's size in bytes, -1 when not known. */
    public long size() {
        return size;
    }

    /**
     * The blob as stored (maybe compressed), its size and sha256 checked while it is read: a mismatch
     * is an IOException naming this layer's digest, at the end of the stream. Read it to the end.
     */
    public InputStream open(ProgressListener progress) throws IOException {
        return Digests.verifying(opener.open(), digest, size, "layer", progress);
    }

    public InputStream open() throws IOException {
        return open(ProgressListener.NONE);
    }

    @Override
    public String toString() {
        return digest + " (" + mediaType + ", " + size + " bytes)";
    }
}
