package dev.c2w.wasi;

import static dev.c2w.wasi.HostImports.CHICORY;
import static dev.c2w.wasi.HostImports.I32X1;
import static dev.c2w.wasi.HostImports.I32X2;
import static dev.c2w.wasi.HostImports.I32X3;
import static dev.c2w.wasi.HostImports.I32X4;
import static dev.c2w.wasi.HostImports.I32X5;
import static dev.c2w.wasi.HostImports.I32X6;
import static dev.c2w.wasi.HostImports.I32_I64_I32;
import static dev.c2w.wasi.WasiAbi.EBADF;
import static dev.c2w.wasi.WasiAbi.ENOTDIR;
import static dev.c2w.wasi.WasiAbi.ENOTSUP;
import static dev.c2w.wasi.WasiAbi.ESPIPE;
import static dev.c2w.wasi.WasiAbi.MODULE;
import static dev.c2w.wasi.WasiAbi.SUCCESS;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The WASI preview 1 host a converted container needs, on Chicory.
 *
 * <p>Chicory's WasiPreview1 does args, environment, clocks, random, stdout/stderr and files under pre-opened
 * directories. It has no sockets, its poll_oneoff knows only clocks and stdio, and its stdin read blocks.
 * Chicory links the first import that matches by module and name, so {@link #hostFunctions()} hands it a
 * list ({@link HostImports}) in which the following are ours and everything else is Chicory's, guarded so
 * that a socket fd never reaches it:
 * <pre>
 *   sock_accept, sock_recv, sock_send, sock_shutdown     WasiSockets
 *   poll_oneoff                                           WasiPoll: clocks + fd_read/fd_write on every kind of fd
 *   fd_read, fd_write, fd_close, fd_fdstat_get,           socket fds (WasiSockets), fd 0 (WasiStdin, non-blocking);
 *   fd_fdstat_set_flags, fd_prestat_get, fd_filestat_get  Chicory's for the other fds
 *   clock_time_get, clock_res_get                         WasiClocks, also the CPU-time clocks (Chicory throws on them)
 *   path_rename                                           WasiFiles: Chicory's always fails on Linux (COPY_ATTRIBUTES)
 * </pre>
 * Iovec arrays go through one {@link Iovecs}, which checks them.
 *
 * <p>The fd table: 0-2 are stdio, then one fd per pre-opened directory in the order given (3, 4, ...), then
 * the listening socket (3 + number of directories). An accepted connection takes the lowest free number.
 * Socket numbers are reserved in Chicory's own table (ChicoryFdTable) so a file the guest opens later never
 * gets the same number. Since the directories come first, wasi-libc's pre-open scan finds them before it
 * meets a socket (which it would walk past anyway: see WasiSockets).
 *
 * <p>Threads: every host function runs on the guest's thread, except what the socket back-end and StdinPump
 * document. A blocking call waits on the {@link Waker}, which the network loop, the stdin pump and the link
 * signal; interrupting the guest thread ends it with {@link GuestInterrupted}.
 */
public final class WasiHost implements AutoCloseable {
    private final WasiPreview1 wasi;
    private final Waker waker = new Waker();
    private final WasiClocks clocks;
    private final WasiStdin stdin;
    private final WasiSockets sockets;
    private final WasiPoll poll;
    private final WasiFiles files;

    public WasiHost(Config config) {
        Objects.requireNonNull(config);
        Clock clock = Clock.systemUTC();
        this.clocks = new WasiClocks(clock);
        WasiOptions.Builder o = WasiOptions.builder()
                .withArguments(config.args)
                .withStdin(InputStream.nullInputStream(), config.stdinTty)
                .withStdout(config.stdout, config.stdoutTty)
                .withStderr(config.stderr, config.stderrTty)
                .withRandom(new SecureRandom())
                .withClock(clock);
        config.env.forEach(o::withEnvironment);
        config.dirs.forEach(o::withDirectory);
        this.wasi = WasiPreview1.builder().withOptions(o.build()).build();
        ChicoryFdTable table = new ChicoryFdTable(wasi);
        Iovecs iovecs = new Iovecs();
        this.stdin = new WasiStdin(config.stdin, waker, iovecs);
        this.sockets = new WasiSockets(table, config.sockets, waker, iovecs);
        this.poll = new WasiPoll(sockets, stdin, table, clocks, waker);
        this.files = new WasiFiles(table, sockets);
    }

    /** The listening socket's fd (3 + number of directories), or -1 without a network. */
    public int listenFd() {
        return sockets.listenFd();
    }

    /** What wakes a guest blocked in poll_oneoff; exposed for tests. */
    public Waker waker() {
        return waker;
    }

    /** The link of the current connection, or null. */
    public SocketBackend.Connection currentLink() {
        return sockets.currentLink();
    }

    @Override
    public void close() {
        sockets.closeAll();
        wasi.close();
    }

    /** Host functions for {@code wasi_snapshot_preview1}: Chicory's list, ours in it where we differ. */
    public List<HostFunction> hostFunctions() {
        HostImports imports = new HostImports(MODULE, sockets::isSocket);

        // ours instead of Chicory's
        imports.define("sock_accept", I32X3, sockets::accept);
        imports.define("sock_recv", I32X6, sockets::recv);
        imports.define("sock_send", I32X5, sockets::send);
        imports.define("sock_shutdown", I32X2, (m, fd, how) -> sockets.shutdown(fd, how));
        imports.define("poll_oneoff", I32X4, poll::oneoff);
        imports.define("clock_time_get", I32_I64_I32, clocks::timeGet);
        imports.define("clock_res_get", I32X2, clocks::resGet);
        imports.define("path_rename", I32X6, files::rename);

        // ours for socket fds and fd 0, Chicory's for the other fds
        imports.wrap("fd_read", I32X4, this::fdRead);
        imports.wrap(
                "fd_write",
                I32X4,
                (m, fd, iovs, iovsLen, nwritten) ->
                        sockets.isSocket(fd) ? sockets.write(m, fd, iovs, iovsLen, nwritten) : CHICORY);
        imports.wrap("fd_close", I32X1, (m, fd) -> sockets.isSocket(fd) ? sockets.close(fd) : CHICORY);
        imports.wrap(
                "fd_fdstat_get",
                I32X2,
                (m, fd, out) -> sockets.isSocket(fd) ? sockets.fdstat(m, fd, out) : CHICORY,
                (m, fd, out) -> fd == WasiStdin.FD ? stdin.addNonblockFlag(m, out) : SUCCESS);
        imports.wrap("fd_fdstat_set_flags", I32X2, this::fdstatSetFlags);
        imports.wrap("fd_prestat_get", I32X2, (m, fd, out) -> sockets.isSocket(fd) ? sockets.prestat(m, out) : CHICORY);
        imports.wrap(
                "fd_filestat_get", I32X2, (m, fd, out) -> sockets.isSocket(fd) ? sockets.filestat(m, out) : CHICORY);

        // Chicory's, but a socket fd at these argument positions gets this errno instead
        imports.guard("fd_advise", ENOTSUP, 0);
        imports.guard("fd_allocate", ENOTSUP, 0);
        imports.guard("fd_datasync", ENOTSUP, 0);
        imports.guard("fd_fdstat_set_rights", ENOTSUP, 0);
        imports.guard("fd_filestat_set_size", ENOTSUP, 0);
        imports.guard("fd_filestat_set_times", ENOTSUP, 0);
        imports.guard("fd_pread", ENOTSUP, 0);
        imports.guard("fd_prestat_dir_name", EBADF, 0);
        imports.guard("fd_pwrite", ENOTSUP, 0);
        imports.guard("fd_readdir", ENOTSUP, 0);
        imports.guard("fd_renumber", ENOTSUP, 0, 1);
        imports.guard("fd_seek", ESPIPE, 0);
        imports.guard("fd_sync", ENOTSUP, 0);
        imports.guard("fd_tell", ESPIPE, 0);
        imports.guard("path_create_directory", ENOTDIR, 0);
        imports.guard("path_filestat_get", ENOTDIR, 0);
        imports.guard("path_filestat_set_times", ENOTDIR, 0);
        imports.guard("path_link", ENOTDIR, 0, 4);
        imports.guard("path_open", ENOTDIR, 0);
        imports.guard("path_readlink", ENOTDIR, 0);
        imports.guard("path_remove_directory", ENOTDIR, 0);
        imports.guard("path_symlink", ENOTDIR, 2);
        imports.guard("path_unlink_file", ENOTDIR, 0);

        return imports.build(wasi.toHostFunctions());
    }

    private int fdRead(Memory m, int fd, int iovs, int iovsLen, int nread) {
        if (fd == WasiStdin.FD) {
            return stdin.read(m, iovs, iovsLen, nread);
        }
        return sockets.isSocket(fd) ? sockets.read(m, fd, iovs, iovsLen, nread) : CHICORY;
    }

    private int fdstatSetFlags(Memory m, int fd, int flags) {
        if (sockets.isSocket(fd)) {
            return sockets.setFlags(fd, flags);
        }
        return fd == WasiStdin.FD ? stdin.setFlags(flags) : CHICORY;
    }

    /** What the guest sees. */
    public static final class Config {
        List<String> args = List.of("main.wasm");
        Map<String, String> env = new LinkedHashMap<>();
        /** Guest path to host path, in fd order. */
        Map<String, Path> dirs = new LinkedHashMap<>();

        InputStream stdin = InputStream.nullInputStream();
        boolean stdinTty;
        OutputStream stdout = OutputStream.nullOutputStream();
        boolean stdoutTty;
        OutputStream stderr = OutputStream.nullOutputStream();
        boolean stderrTty;
        SocketBackend sockets;

        public Config args(List<String> a) {
            this.args = List.copyOf(a);
            return this;
        }

        public Config env(Map<String, String> e) {
            this.env = new LinkedHashMap<>(e);
            return this;
        }

        public Config dir(String guest, Path host) {
            this.dirs.put(guest, host);
            return this;
        }

        public Config stdin(InputStream in, boolean tty) {
            this.stdin = in;
            this.stdinTty = tty;
            return this;
        }

        public Config stdout(OutputStream out, boolean tty) {
            this.stdout = out;
            this.stdoutTty = tty;
            return this;
        }

        public Config stderr(OutputStream err, boolean tty) {
            this.stderr = err;
            this.stderrTty = tty;
            return this;
        }
        /** Where the listening socket leads; null: no listening socket. */
        public Config sockets(SocketBackend b) {
            this.sockets = b;
            return this;
        }
    }

    /** Thrown out of a blocking call when the runner stops the guest thread. */
    public static final class GuestInterrupted extends RuntimeException {
        private static final long serialVersionUID = 1L;

        GuestInterrupted() {
            super("guest interrupted", null, false, false);
        }
    }
}
