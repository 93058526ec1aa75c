package dev.c2w.converter.fs;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A root filesystem under construction: the root directory and the store holding file contents.
 * Paths given to {@link #lookup} are absolute or relative to the root, '/'-separated; symbolic links
 * are not followed (the layer applier resolves them itself, inside the root).
 */
public final class FsTree implements Closeable {
    private final FsNode root;
    private final DataStore data;

    public FsTree(DataStore data) {
        this.data = data;
        this.root = FsNode.dir(0755);
    }

    public static FsTree create(Path tempDir) throws IOException {
        return new FsTree(DataStore.create(tempDir));
    }

    public FsNode root() {
        return root;
    }

    public DataStore data() {
        return data;
    }

    /** The node at {@code path} without following any symlink, or null. */
    public FsNode lookup(String path) {
        FsNode cur = root;
        for (String part : path.split("/", -1)) {
            if (part.isEmpty() || part.equals(".")) continue;
            if (!cur.isDir()) return null;
            cur = cur.child(part);
            if (cur == null) return null;
        }
        return cur;
    }

    /** Contents of the regular file at {@code path} (no symlinks followed), or null. */
    public byte[] readFile(String path) {
        FsNode n = lookup(path);
        return n == null || n.type() != FsNode.Type.FILE ? null : data.readAll(n.data);
    }

    @Override
    public void close() throws IOException {
        data.close();
    }
}
