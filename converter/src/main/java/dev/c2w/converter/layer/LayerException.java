package dev.c2w.converter.layer;

import java.io.IOException;

/** A layer that cannot be applied: corrupt, truncated, or hostile. The message names the layer and the entry. */
public final class LayerException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String layer;
    private final String entry;

    public LayerException(String layer, String entry, String problem, Throwable cause) {
        super("layer " + layer + (entry == null ? "" : ", entry " + entry) + ": " + problem, cause);
        this.layer = layer;
        this.entry = entry;
    }

    public LayerException(String layer, String entry, String problem) {
        this(layer, entry, problem, null);
    }

    /** The layer's name as given to the applier (usually its digest). */
    public String layer() {
        return layer;
    }

    /** The tar entry being applied, or null when the problem is not in one entry. */
    public String entry() {
        return entry;
    }
}
