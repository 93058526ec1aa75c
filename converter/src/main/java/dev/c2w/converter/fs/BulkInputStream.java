package dev.c2w.converter.fs;

import java.io.IOException;
import java.io.InputStream;

/**
 * An input stream whose subclasses implement only the bulk {@code read(byte[], int, int)}: the
 * converter's streams (layer blobs, tar entries, data-store files) are always read in blocks, and the
 * single-byte read is here once, in terms of the bulk one.
 */
public abstract class BulkInputStream extends InputStream {
    @Override
    public final int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public abstract int read(byte[] b, int off, int len) throws IOException;
}
