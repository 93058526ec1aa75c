package dev.c2w.wasi;

import static dev.c2w.wasi.WasiAbi.EACCES;
import static dev.c2w.wasi.WasiAbi.EBADF;
import static dev.c2w.wasi.WasiAbi.EIO;
import static dev.c2w.wasi.WasiAbi.EISDIR;
import static dev.c2w.wasi.WasiAbi.ENOENT;
import static dev.c2w.wasi.WasiAbi.ENOTCAPABLE;
import static dev.c2w.wasi.WasiAbi.ENOTDIR;
import static dev.c2w.wasi.WasiAbi.ENOTEMPTY;
import static dev.c2w.wasi.WasiAbi.EXDEV;
import static dev.c2w.wasi.WasiAbi.SUCCESS;

import com.dylibso.chicory.runtime.Memory;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The file call we answer instead of Chicory: path_rename. Chicory 1.7.5 passes COPY_ATTRIBUTES to
 * {@link Files#move}, which Linux refuses, so its rename always fails (ENOTSUP). This one moves atomically
 * within the directories Chicory knows ({@link ChicoryFdTable#directory}), refuses a path that would leave
 * them, and maps the JDK's exceptions to errno values. Every other file call is Chicory's.
 */
final class WasiFiles {
    private final ChicoryFdTable table;
    private final WasiSockets sockets;

    WasiFiles(ChicoryFdTable table, WasiSockets sockets) {
        this.table = table;
        this.sockets = sockets;
    }

    /** path_rename(fd, old_path, old_path_len, new_fd, new_path, new_path_len). */
    int rename(Memory m, int fd, int oldPtr, int oldLen, int newFd, int newPtr, int newLen) {
        if (sockets.isSocket(fd) || sockets.isSocket(newFd)) {
            return ENOTDIR;
        }
        Path fromDir = table.directory(fd);
        Path toDir = table.directory(newFd);
        if (fromDir == null || toDir == null) {
            return table.isOpen(fd) && table.isOpen(newFd) ? ENOTDIR : EBADF;
        }
        Path from = inside(fromDir, m.readString(oldPtr, oldLen));
        Path to = inside(toDir, m.readString(newPtr, newLen));
        if (from == null || to == null) {
            return ENOTCAPABLE;
        }
        if (!Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
            return ENOENT;
        }
        boolean fromIsDir = Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS);
        if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
            boolean toIsDir = Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS);
            if (fromIsDir && !toIsDir) {
                return ENOTDIR;
            }
            if (!fromIsDir && toIsDir) {
                return EISDIR;
            }
        }
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return SUCCESS;
        } catch (NoSuchFileException e) {
            return ENOENT;
        } catch (DirectoryNotEmptyException e) {
            return ENOTEMPTY;
        } catch (AccessDeniedException e) {
            return EACCES;
        } catch (AtomicMoveNotSupportedException e) {
            return EXDEV;
        } catch (IOException | RuntimeException e) {
            return EIO;
        }
    }

    /** {@code rel} resolved under {@code root}, or null when it would leave it (absolute, .., or a symlink out). */
    static Path inside(Path root, String rel) {
        if (rel.isEmpty() || rel.startsWith("/") || rel.indexOf('\0') >= 0) {
            return null;
        }
        Path r = root.toAbsolutePath().normalize();
        Path p = r.resolve(rel).normalize();
        if (!p.startsWith(r) || p.equals(r)) {
            return null;
        }
        try {
            Path realRoot = r.toRealPath();
            Path parent = p.getParent().toRealPath();
            if (!parent.startsWith(realRoot)) {
                return null;
            }
            return parent.resolve(p.getFileName());
        } catch (IOException e) {
            return p; // the parent does not exist: the move reports ENOENT
        }
    }
}
