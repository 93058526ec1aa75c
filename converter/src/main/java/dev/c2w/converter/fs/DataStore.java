package dev.c2w.converter.fs;

import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * File contents of the filesystem being built, appended to one temporary file so that a 300 MB
 * image does not sit in the heap. Contents are written once (as a layer is read) and read once (as
 * the erofs image is written); a file replaced by a later layer simply leaves its old bytes unused.
 * The temporary file is deleted on {@link #close()}.
 */
public final class DataStore implements Closeable {
    /** A range of the store: where one file's contents are. */
    public record Blob(long offset, long length) {
        public static final Blob EMPTY = new Blob(0, 0);
    }

    private final Path path;
    private final FileChannel channel;
    private long end;

    private DataStore(Path path) throws IOException {
        this.path = path;
        this.channel = FileChannel.open(
                path,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.DELETE_ON_CLOSE);
    }

    /** A store in a new temporary file under {@code dir} (the system temp dir when null). */
    public static DataStore create(Path dir) throws IOException {
        Path p = dir == null ? Files.createTempFile("c2w-data", ".tmp") : Files.createTempFile(dir, "c2w-data", ".tmp");
        return new DataStore(p);
    }

    public Path path() {
        return path;
    }

    /** Bytes written so far (including those of replaced files). */
    public long size() {
        return end;
    }

    /**
     * Appends exactly {@code length} bytes from {@code in}. Fails with an IOException if the stream
     * ends early (a truncated layer) and leaves the store as it was.
     */
    public Blob write(InputStream in, long length) throws IOException {
        if (length == 0) return Blob.EMPTY;
        long start = end;
        byte[] buf = new byte[(int) Math.min(length, 1 << 16)];
        long done = 0;
        while (done < length) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, length - done));
            if (n < 0) throw new IOException("file contents end after " + done + " of " + length + " bytes");
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
            while (bb.hasRemaining()) channel.write(bb, start + done + bb.position());
            done += n;
        }
        end = start + length;
        return new Blob(start, length);
    }

    public Blob write(byte[] bytes) throws IOException {
        return write(new ByteArrayInputStream(bytes), bytes.length);
    }

    /** Reads up to {@code dst.remaining()} bytes of the blob, from {@code pos} within it. */
    public int read(Blob blob, long pos, ByteBuffer dst) throws IOException {
        if (pos >= blob.length()) return -1;
        int want = (int) Math.min(dst.remaining(), blob.length() - pos);
        ByteBuffer slice = dst.slice();
        slice.limit(want);
        int got = 0;
        while (got < want) {
            int n = channel.read(slice, blob.offset() + pos + got);
            if (n < 0) throw new IOException("data store truncated");
            got += n;
        }
        dst.position(dst.position() + got);
        return got;
    }

    /** Copies the whole blob to {@code out}. */
    public void transferTo(Blob blob, WritableByteChannel out) throws IOException {
        long pos = 0;
        while (pos < blob.length()) {
            long n = channel.transferTo(blob.offset() + pos, blob.length() - pos, out);
            if (n <= 0) throw new IOException("data store truncated");
            pos += n;
        }
    }

    /** The whole blob in memory (for small files such as /etc/passwd). */
    public byte[] readAll(Blob blob) {
        if (blob.length() > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("too large: " + blob.length());
        ByteBuffer bb = ByteBuffer.allocate((int) blob.length());
        try {
            while (bb.hasRemaining()) read(blob, bb.position(), bb);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bb.array();
    }

    public InputStream open(Blob blob) {
        return new BulkInputStream() {
            long pos;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) return 0;
                int n = DataStore.this.read(blob, pos, ByteBuffer.wrap(b, off, len));
                if (n > 0) pos += n;
                return n;
            }
        };
    }

    /** A writable channel view, for tests and tools. */
    public static WritableByteChannel channelOf(OutputStream out) {
        return Channels.newChannel(out);
    }

    @Override
    public void close() throws IOException {
        channel.close();
        Files.deleteIfExists(path);
    }
}
