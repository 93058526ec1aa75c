package dev.c2w.converter.image;

import dev.c2w.converter.fs.BulkInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Content digests ("sha256:hex") and a stream that checks one as it is read. */
public final class Digests {
    private static final Pattern DIGEST = Pattern.compile("sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}");

    private Digests() {}

    /** Whether {@code d} is a well-formed sha256 or sha512 digest (lowercase hex), safe to use in a path. */
    public static boolean isValid(String d) {
        return d != null && DIGEST.matcher(d).matches();
    }

    static String require(String d, String what) throws IOException {
        if (!isValid(d)) throw new IOException(what + ": invalid digest \"" + d + "\"");
        return d;
    }

    static MessageDigest digester(String digest) {
        try {
            return MessageDigest.getInstance(digest.startsWith("sha512:") ? "SHA-512" : "SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256(byte[] data) {
        try {
            return "sha256:"
                    + HexFormat.of()
                            .formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Checks that {@code data} has {@code digest} (and {@code size} unless -1). */
    static void check(byte[] data, String digest, long size, String what) throws IOException {
        if (size >= 0 && data.length != size) {
            throw new IOException(what + " " + digest + ": size " + data.length + " but " + size + " expected");
        }
        MessageDigest md = digester(digest);
        String got =
                digest.substring(0, digest.indexOf(':') + 1) + HexFormat.of().formatHex(md.digest(data));
        if (!got.equals(digest)) throw new IOException(what + " " + digest + ": digest mismatch, content has " + got);
    }

    /**
     * {@code in}, checked against {@code digest} and {@code size} (-1 = unknown): at end of stream a
     * mismatch is an IOException naming {@code what} and the digest; more bytes than {@code size} fail
     * as soon as they arrive. Reports to {@code progress}.
     */
    public static InputStream verifying(
            InputStream in, String digest, long size, String what, ProgressListener progress) {
        return new Verifying(in, digest, size, what, progress == null ? ProgressListener.NONE : progress);
    }

    private static final class Verifying extends BulkInputStream {
        private final InputStream in;
        private final String digest;
        private final long size;
        private final String what;
        private final ProgressListener progress;
        private final MessageDigest md;
        private long count;
        private boolean done;

        Verifying(InputStream in, String digest, long size, String what, ProgressListener progress) {
            this.in = in;
            this.digest = digest;
            this.size = size;
            this.what = what;
            this.progress = progress;
            this.md = digester(digest);
            progress.layerStarted(digest, size);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) return -1;
            if (len == 0) return 0;
            int n = in.read(b, off, len);
            if (n < 0) {
                finish();
                return -1;
            }
            md.update(b, off, n);
            count += n;
            if (size >= 0 && count > size) {
                throw new IOException(what + " " + digest + ": more than the " + size + " bytes the manifest gives");
            }
            progress.bytes(digest, n);
            return n;
        }

        private void finish() throws IOException {
            done = true;
            if (size >= 0 && count != size) {
                throw new IOException(what + " " + digest + ": ends after " + count + " of " + size + " bytes");
            }
            String got = digest.substring(0, digest.indexOf(':') + 1)
                    + HexFormat.of().formatHex(md.digest());
            if (!got.equals(digest)) {
                throw new IOException(what + " " + digest + ": digest mismatch, content has " + got);
            }
            progress.layerDone(digest);
        }

        @Override
        public long skip(long n) throws IOException {
            // Skipped bytes must still be hashed.
            byte[] buf = new byte[(int) Math.min(8192, Math.max(n, 1))];
            long left = n;
            while (left > 0) {
                int r = read(buf, 0, (int) Math.min(buf.length, left));
                if (r < 0) break;
                left -= r;
            }
            return n - left;
        }

        /** What the stream below has ready: GZIPInputStream asks to find a following gzip member. */
        @Override
        public int available() throws IOException {
            return done ? 0 : in.available();
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
