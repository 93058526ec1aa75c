package dev.c2w.runner.wasi;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmFunctionHandle;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import dev.c2w.netstack.VirtualNetwork;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/*
 * The WASI preview 1 host a converted container needs, on Chicory.
 *
 * Chicory's WasiPreview1 does args, environment, clocks, random, stdout/stderr and files under pre-opened
 * directories. It has no sockets, its poll_oneoff knows only clocks and stdio, and its stdin read blocks.
 * Chicory links the first import that matches by module and name, so this class hands it a list in which
 * the following are ours and everything else is Chicory's, wrapped so that a socket fd never reaches it:
 *
 *   sock_accept, sock_recv, sock_send, sock_shutdown     sockets (below)
 *   poll_oneoff                                           clocks + fd_read/fd_write on every kind of fd
 *   fd_read, fd_write, fd_close, fd_fdstat_get,           socket fds; fd 0 (non-blocking stdin)
 *   fd_fdstat_set_flags, fd_prestat_get, fd_filestat_get
 *   clock_time_get, clock_res_get                         also the CPU-time clocks (Chicory throws on them)
 *   path_rename                                           Chicory's always fails on Linux (COPY_ATTRIBUTES)
 *
 * The fd table. 0-2 are stdio, then one fd per pre-opened directory in the order given (3, 4, ...), then
 * the listening socket (3 + number of directories). An accepted connection takes the lowest free number.
 * Socket numbers are reserved in Chicory's own table (ChicoryFdTable) so a file the guest opens later never
 * gets the same number. fd_prestat_get on a socket says "not a directory" (tag 1) rather than EBADF, so
 * wasi-libc's pre-open scan walks past it; since the directories come first it would find them anyway.
 *
 * The listening socket is "readable" while there is no connection; sock_accept then attaches a new
 * InProcessLink to the network's switch. One connection at a time (as the emulators expect); after the
 * guest closes it, accept gives a fresh one. Non-blocking sockets answer EAGAIN; blocking ones wait on
 * the Waker, which the network loop, the stdin pump and the link signal.
 *
 * Threads: every method here runs on the guest's thread, except what InProcessLink and StdinPump document.
 */

/** WASI preview 1 host functions with sockets bridged to an in-process network; see the comment above. */
public final class WasiHost implements AutoCloseable {
    static final String MODULE = "wasi_snapshot_preview1";

    // errno values of WASI preview 1
    static final int SUCCESS = 0;
    static final int EACCES = 2;
    static final int EAGAIN = 6;
    static final int EBADF = 8;
    static final int ECONNABORTED = 13;
    static final int EFAULT = 21;
    static final int EINVAL = 28;
    static final int EIO = 29;
    static final int EISDIR = 31;
    static final int ENOENT = 44;
    static final int ENOTCONN = 53;
    static final int ENOTDIR = 54;
    static final int ENOTEMPTY = 55;
    static final int ENOTSOCK = 57;
    static final int ENOTSUP = 58;
    static final int EPIPE = 64;
    static final int ESPIPE = 70;
    static final int EXDEV = 75;
    static final int ENOTCAPABLE = 76;

    static final int FILETYPE_CHARACTER_DEVICE = 2;
    static final int FILETYPE_SOCKET_STREAM = 6;
    static final int FDFLAGS_NONBLOCK = 4;
    static final long ALL_RIGHTS = (1L << 30) - 1;
    /** Most iovecs one read or write may pass (Linux's IOV_MAX). */
    static final int IOV_MAX = 1024;

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
        VirtualNetwork network;

        public Config args(List<String> a) { this.args = List.copyOf(a); return this; }
        public Config env(Map<String, String> e) { this.env = new LinkedHashMap<>(e); return this; }
        public Config dir(String guest, Path host) { this.dirs.put(guest, host); return this; }
        public Config stdin(InputStream in, boolean tty) { this.stdin = in; this.stdinTty = tty; return this; }
        public Config stdout(OutputStream out, boolean tty) { this.stdout = out; this.stdoutTty = tty; return this; }
        public Config stderr(OutputStream err, boolean tty) { this.stderr = err; this.stderrTty = tty; return this; }
        /** The network the listening socket leads to; null: no listening socket. */
        public Config network(VirtualNetwork n) { this.network = n; return this; }
    }

    private static final class Sock {
        final boolean listening;
        boolean nonblock;
        InProcessLink link;
        boolean shutWrite;

        Sock(boolean listening) {
            this.listening = listening;
        }
    }

    private final Config config;
    private final WasiPreview1 wasi;
    private final ChicoryFdTable table;
    private final Waker waker = new Waker();
    private final StdinPump stdin;
    private final Map<Integer, Sock> socks = new HashMap<>();
    private final int listenFd;
    private boolean stdinNonblock;
    private Sock current;
    private final Clock clock = Clock.systemUTC();
    private final long startNanos = System.nanoTime();

    public WasiHost(Config config) {
        this.config = Objects.requireNonNull(config);
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
        this.table = new ChicoryFdTable(wasi);
        this.stdin = new StdinPump(config.stdin, waker);
        if (config.network != null) {
            listenFd = table.reserve();
            socks.put(listenFd, new Sock(true));
        } else {
            listenFd = -1;
        }
    }

    /** The listening socket's fd (3 + number of directories), or -1 without a network. */
    public int listenFd() {
        return listenFd;
    }

    /** What wakes a guest blocked in poll_oneoff; exposed for tests. */
    public Waker waker() {
        return waker;
    }

    /** The link of the current connection, or null. */
    public InProcessLink currentLink() {
        Sock s = current;
        return s == null ? null : s.link;
    }

    @Override
    public void close() {
        for (Sock s : socks.values()) {
            if (s.link != null) {
                s.link.close();
            }
        }
        wasi.close();
    }

    // ---------------------------------------------------------------------------------------------
    // the import list

    /** Host functions for {@code wasi_snapshot_preview1}: ours first where we differ, Chicory's wrapped. */
    public List<HostFunction> hostFunctions() {
        Map<String, WasmFunctionHandle> ours = new HashMap<>();
        ours.put("sock_accept", (inst, a) -> r(sockAccept(inst.memory(), (int) a[0], (int) a[1], (int) a[2])));
        ours.put("sock_recv", (inst, a) -> r(sockRecv(inst.memory(), (int) a[0], (int) a[1], (int) a[2], (int) a[3],
            (int) a[4], (int) a[5])));
        ours.put("sock_send", (inst, a) -> r(sockSend(inst.memory(), (int) a[0], (int) a[1], (int) a[2], (int) a[3],
            (int) a[4])));
        ours.put("sock_shutdown", (inst, a) -> r(sockShutdown((int) a[0], (int) a[1])));
        ours.put("poll_oneoff", (inst, a) -> r(pollOneoff(inst.memory(), (int) a[0], (int) a[1], (int) a[2],
            (int) a[3])));
        ours.put("clock_time_get", (inst, a) -> r(clockTimeGet(inst.memory(), (int) a[0], (int) a[2])));
        ours.put("path_rename", (inst, a) -> r(pathRename(inst.memory(), (int) a[0], (int) a[1], (int) a[2],
            (int) a[3], (int) a[4], (int) a[5])));
        ours.put("clock_res_get", (inst, a) -> r(clockResGet(inst.memory(), (int) a[0], (int) a[1])));

        List<HostFunction> out = new ArrayList<>();
        for (HostFunction f : wasi.toHostFunctions()) {
            WasmFunctionHandle mine = ours.get(f.name());
            WasmFunctionHandle h = mine != null ? mine : wrap(f.name(), f.handle());
            out.add(new HostFunction(MODULE, f.name(), f.functionType(), h));
        }
        return out;
    }

    private static long[] r(int errno) {
        return new long[] {errno};
    }

    /** Chicory's function, with socket fds (and fd 0 reads) answered here. */
    private WasmFunctionHandle wrap(String name, WasmFunctionHandle chicory) {
        switch (name) {
            case "fd_read":
                return (inst, a) -> {
                    int fd = (int) a[0];
                    if (fd == 0) {
                        return r(stdinRead(inst.memory(), (int) a[1], (int) a[2], (int) a[3]));
                    }
                    Sock s = socks.get(fd);
                    return s == null ? chicory.apply(inst, a)
                        : r(sockRead(s, inst.memory(), (int) a[1], (int) a[2], (int) a[3]));
                };
            case "fd_write":
                return (inst, a) -> {
                    Sock s = socks.get((int) a[0]);
                    return s == null ? chicory.apply(inst, a)
                        : r(sockWrite(s, inst.memory(), (int) a[1], (int) a[2], (int) a[3]));
                };
            case "fd_close":
                return (inst, a) -> {
                    int fd = (int) a[0];
                    Sock s = socks.get(fd);
                    return s == null ? chicory.apply(inst, a) : r(closeSock(fd, s));
                };
            case "fd_fdstat_get":
                return (inst, a) -> {
                    int fd = (int) a[0];
                    Sock s = socks.get(fd);
                    Memory m = inst.memory();
                    int p = (int) a[1];
                    if (s != null) {
                        m.writeByte(p, (byte) FILETYPE_SOCKET_STREAM);
                        m.writeByte(p + 1, (byte) 0);
                        m.writeShort(p + 2, (short) (s.nonblock ? FDFLAGS_NONBLOCK : 0));
                        m.writeI32(p + 4, 0);
                        m.writeLong(p + 8, ALL_RIGHTS);
                        m.writeLong(p + 16, ALL_RIGHTS);
                        return r(SUCCESS);
                    }
                    long[] res = chicory.apply(inst, a);
                    if (fd == 0 && res[0] == SUCCESS && stdinNonblock) {
                        m.writeShort(p + 2, (short) (m.readShort(p + 2) | FDFLAGS_NONBLOCK));
                    }
                    return res;
                };
            case "fd_fdstat_set_flags":
                return (inst, a) -> {
                    int fd = (int) a[0];
                    int flags = (int) a[1];
                    Sock s = socks.get(fd);
                    if (s != null) {
                        s.nonblock = (flags & FDFLAGS_NONBLOCK) != 0;
                        return r(SUCCESS);
                    }
                    if (fd == 0) {
                        stdinNonblock = (flags & FDFLAGS_NONBLOCK) != 0;
                        return r(SUCCESS);
                    }
                    return chicory.apply(inst, a);
                };
            case "fd_prestat_get":
                return (inst, a) -> {
                    if (socks.containsKey((int) a[0])) {
                        Memory m = inst.memory();
                        m.writeI32((int) a[1], 1); // tag 1: not a directory; the scan goes on
                        m.writeI32((int) a[1] + 4, 0);
                        return r(SUCCESS);
                    }
                    return chicory.apply(inst, a);
                };
            case "fd_filestat_get":
                return (inst, a) -> {
                    if (socks.containsKey((int) a[0])) {
                        Memory m = inst.memory();
                        int p = (int) a[1];
                        m.fill((byte) 0, p, p + 64);
                        m.writeByte(p + 16, (byte) FILETYPE_SOCKET_STREAM);
                        m.writeLong(p + 24, 1);
                        return r(SUCCESS);
                    }
                    return chicory.apply(inst, a);
                };
            default:
                int[] fdArgs = fdArgs(name);
                if (fdArgs.length == 0) {
                    return chicory;
                }
                int errno = name.startsWith("path_") ? ENOTDIR
                    : name.equals("fd_seek") || name.equals("fd_tell") ? ESPIPE
                    : name.equals("fd_prestat_dir_name") ? EBADF : ENOTSUP;
                return (inst, a) -> {
                    for (int i : fdArgs) {
                        if (socks.containsKey((int) a[i])) {
                            return r(errno);
                        }
                    }
                    return chicory.apply(inst, a);
                };
        }
    }

    /** Argument positions that hold an fd, per WASI preview 1 function. */
    static int[] fdArgs(String name) {
        switch (name) {
            case "path_link":
                return new int[] {0, 4};
            case "path_rename":
                return new int[] {0, 3};
            case "path_symlink":
                return new int[] {2};
            case "fd_renumber":
                return new int[] {0, 1};
            default:
                return name.startsWith("fd_") || name.startsWith("path_") ? new int[] {0} : new int[0];
        }
    }

    // ---------------------------------------------------------------------------------------------
    // sockets

    int sockAccept(Memory m, int fd, int flags, int fdOut) {
        Sock l = socks.get(fd);
        if (l == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        if (!l.listening) {
            return EINVAL;
        }
        if (current != null || config.network == null) {
            return EAGAIN; // one connection at a time; a new one after the guest closes this one
        }
        Sock c = new Sock(false);
        c.nonblock = (flags & FDFLAGS_NONBLOCK) != 0;
        try {
            c.link = InProcessLink.open(config.network, waker);
        } catch (RuntimeException e) { // the network has shut down
            return ECONNABORTED;
        }
        int cfd = table.reserve();
        socks.put(cfd, c);
        current = c;
        m.writeI32(fdOut, cfd);
        return SUCCESS;
    }

    int sockRecv(Memory m, int fd, int iovs, int iovsLen, int riFlags, int lenOut, int flagsOut) {
        Sock s = socks.get(fd);
        if (s == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        int res = sockRead(s, m, iovs, iovsLen, lenOut);
        if (res == SUCCESS) {
            m.writeShort(flagsOut, (short) 0);
        }
        return res;
    }

    int sockSend(Memory m, int fd, int iovs, int iovsLen, int siFlags, int lenOut) {
        Sock s = socks.get(fd);
        if (s == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        return sockWrite(s, m, iovs, iovsLen, lenOut);
    }

    int sockShutdown(int fd, int how) {
        Sock s = socks.get(fd);
        if (s == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        if (s.listening || s.link == null) {
            return ENOTCONN;
        }
        if ((how & 2) != 0) { // SDFLAGS_WR: the stack gets no more frames
            s.shutWrite = true;
        }
        if ((how & 3) == 3) {
            s.link.close();
        }
        return SUCCESS;
    }

    private int closeSock(int fd, Sock s) {
        socks.remove(fd);
        table.release(fd);
        if (s.link != null) {
            s.link.close();
        }
        if (s == current) {
            current = null;
            waker.signal();
        }
        return SUCCESS;
    }

    private int sockRead(Sock s, Memory m, int iovs, int iovsLen, int lenOut) {
        if (s.listening) {
            return ENOTCONN;
        }
        int total = iovTotal(m, iovs, iovsLen);
        if (total < 0) {
            return EINVAL;
        }
        while (true) {
            long seen = waker.epoch();
            // size the copy by what is queued: emulators poll with large buffers and usually find little
            byte[] buf = scratch(Math.min(total, Math.max(1, s.link.queuedForGuest())));
            int n = s.link.recv(buf, 0, Math.min(total, buf.length));
            if (n != 0 || total == 0) {
                n = Math.max(n, 0); // -1: end of stream, 0 bytes
                scatter(m, iovs, iovsLen, buf, n);
                m.writeI32(lenOut, n);
                return SUCCESS;
            }
            if (s.nonblock) {
                return EAGAIN;
            }
            awaitChange(seen, -1);
        }
    }

    private int sockWrite(Sock s, Memory m, int iovs, int iovsLen, int lenOut) {
        if (s.listening) {
            return ENOTCONN;
        }
        if (s.shutWrite) {
            return EPIPE;
        }
        byte[] data = gather(m, iovs, iovsLen);
        if (data == null) {
            return EINVAL;
        }
        int done = 0;
        while (done < data.length) {
            long seen = waker.epoch();
            int n = s.link.send(data, done, data.length - done);
            if (n < 0) {
                if (done > 0) {
                    break;
                }
                return EPIPE;
            }
            done += n;
            if (done == data.length) {
                break;
            }
            if (s.nonblock) {
                if (done == 0) {
                    return EAGAIN;
                }
                break;
            }
            if (n == 0) {
                awaitChange(seen, -1);
            }
        }
        m.writeI32(lenOut, done);
        return SUCCESS;
    }

    // ---------------------------------------------------------------------------------------------
    // stdin

    private int stdinRead(Memory m, int iovs, int iovsLen, int lenOut) {
        int total = iovTotal(m, iovs, iovsLen);
        if (total < 0) {
            return EINVAL;
        }
        while (true) {
            long seen = waker.epoch();
            byte[] buf = scratch(Math.min(total, Math.max(1, stdin.queued())));
            int n = stdin.read(buf, 0, Math.min(total, buf.length));
            if (n != 0 || total == 0) {
                n = Math.max(n, 0);
                scatter(m, iovs, iovsLen, buf, n);
                m.writeI32(lenOut, n);
                return SUCCESS;
            }
            if (stdinNonblock) {
                return EAGAIN;
            }
            awaitChange(seen, -1);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // poll_oneoff

    private static final int EVENTTYPE_CLOCK = 0;
    /** Timeouts this long (100 years) never fire. */
    private static final long NEVER = 100L * 365 * 24 * 3600 * 1_000_000_000L;
    private static final int EVENTTYPE_FD_READ = 1;
    private static final int EVENTTYPE_FD_WRITE = 2;

    int pollOneoff(Memory m, int in, int out, int nsubs, int neventsOut) {
        if (nsubs <= 0) {
            return EINVAL;
        }
        long memBytes = (long) m.pages() * Memory.PAGE_SIZE;
        if ((in & 0xffffffffL) + (long) nsubs * 48 > memBytes || (out & 0xffffffffL) + (long) nsubs * 32 > memBytes) {
            return EFAULT; // a hostile count must not make us allocate for it
        }
        long[] userdata = new long[nsubs];
        int[] tag = new int[nsubs];
        int[] fd = new int[nsubs];
        long[] deadline = new long[nsubs];
        long now = System.nanoTime();
        for (int i = 0; i < nsubs; i++) {
            int p = in + i * 48;
            userdata[i] = m.readLong(p);
            tag[i] = m.read(p + 8) & 0xff;
            if (tag[i] == EVENTTYPE_CLOCK) {
                int id = m.readInt(p + 16);
                long timeout = m.readLong(p + 24);
                boolean abs = (m.readShort(p + 40) & 1) != 0;
                if (id < 0 || id > 3) {
                    return EINVAL;
                }
                long rel;
                if (timeout < 0) {
                    rel = Long.MAX_VALUE; // an unsigned timeout beyond 292 years: never
                } else if (!abs) {
                    rel = timeout;
                } else if (id == 0) {
                    rel = timeout - realtimeNanos();
                } else {
                    rel = timeout - monotonicNanos();
                }
                if (rel >= NEVER) {
                    deadline[i] = Long.MAX_VALUE;
                } else {
                    deadline[i] = rel <= 0 ? now : now + rel;
                }
            } else if (tag[i] == EVENTTYPE_FD_READ || tag[i] == EVENTTYPE_FD_WRITE) {
                fd[i] = m.readInt(p + 16);
            } else {
                return EINVAL;
            }
        }
        while (true) {
            long seen = waker.epoch();
            int n = 0;
            now = System.nanoTime();
            for (int i = 0; i < nsubs; i++) {
                int e = out + n * 32;
                if (tag[i] == EVENTTYPE_CLOCK) {
                    if (deadline[i] != Long.MAX_VALUE && now - deadline[i] >= 0) {
                        writeEvent(m, e, userdata[i], SUCCESS, tag[i], 0, 0);
                        n++;
                    }
                } else if (fdEvent(m, e, userdata[i], tag[i], fd[i])) {
                    n++;
                }
            }
            if (n > 0) {
                m.writeI32(neventsOut, n);
                return SUCCESS;
            }
            long wait = -1;
            for (int i = 0; i < nsubs; i++) {
                if (tag[i] == EVENTTYPE_CLOCK && deadline[i] != Long.MAX_VALUE) {
                    long left = Math.max(1, deadline[i] - now);
                    wait = wait < 0 ? left : Math.min(wait, left);
                }
            }
            awaitChange(seen, wait);
        }
    }

    /** Writes an event for an fd subscription that is ready (or in error) and returns true. */
    private boolean fdEvent(Memory m, int e, long userdata, int type, int fd) {
        Sock s = socks.get(fd);
        if (s != null) {
            if (s.listening) {
                if (type == EVENTTYPE_FD_READ && current == null && config.network != null) {
                    writeEvent(m, e, userdata, SUCCESS, type, 1, 0);
                    return true;
                }
                return false;
            }
            InProcessLink l = s.link;
            if (type == EVENTTYPE_FD_READ) {
                if (l.readable()) {
                    writeEvent(m, e, userdata, SUCCESS, type, l.queuedForGuest(), l.isClosed() ? 1 : 0);
                    return true;
                }
                return false;
            }
            if (l.writable()) {
                writeEvent(m, e, userdata, SUCCESS, type, 0, l.isClosed() ? 1 : 0);
                return true;
            }
            return false;
        }
        if (fd == 0 && type == EVENTTYPE_FD_READ) {
            if (stdin.readable()) {
                writeEvent(m, e, userdata, SUCCESS, type, stdin.queued(), 0);
                return true;
            }
            return false;
        }
        if (!table.isOpen(fd)) {
            writeEvent(m, e, userdata, EBADF, type, 0, 0);
            return true;
        }
        // stdout, stderr, files and directories are always ready
        writeEvent(m, e, userdata, SUCCESS, type, 0, 0);
        return true;
    }

    private static void writeEvent(Memory m, int e, long userdata, int errno, int type, long nbytes, int flags) {
        m.fill((byte) 0, e, e + 32);
        m.writeLong(e, userdata);
        m.writeShort(e + 8, (short) errno);
        m.writeByte(e + 10, (byte) type);
        m.writeLong(e + 16, nbytes);
        m.writeShort(e + 24, (short) flags);
    }

    private void awaitChange(long seen, long nanos) {
        try {
            waker.await(seen, nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestInterrupted();
        }
    }

    /** Thrown out of a blocking call when the runner stops the guest thread. */
    public static final class GuestInterrupted extends RuntimeException {
        GuestInterrupted() {
            super("guest interrupted", null, false, false);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // path_rename: Chicory 1.7.5 passes COPY_ATTRIBUTES to Files.move, which Linux refuses (ENOTSUP always)

    int pathRename(Memory m, int fd, int oldPtr, int oldLen, int newFd, int newPtr, int newLen) {
        if (socks.containsKey(fd) || socks.containsKey(newFd)) {
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
        if (!java.nio.file.Files.exists(from, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return ENOENT;
        }
        boolean fromIsDir = java.nio.file.Files.isDirectory(from, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (java.nio.file.Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            boolean toIsDir = java.nio.file.Files.isDirectory(to, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (fromIsDir && !toIsDir) {
                return ENOTDIR;
            }
            if (!fromIsDir && toIsDir) {
                return EISDIR;
            }
        }
        try {
            java.nio.file.Files.move(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return SUCCESS;
        } catch (java.nio.file.NoSuchFileException e) {
            return ENOENT;
        } catch (java.nio.file.DirectoryNotEmptyException e) {
            return ENOTEMPTY;
        } catch (java.nio.file.AccessDeniedException e) {
            return EACCES;
        } catch (java.nio.file.AtomicMoveNotSupportedException e) {
            return EXDEV;
        } catch (java.io.IOException | RuntimeException e) {
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
        } catch (java.io.IOException e) {
            return p; // the parent does not exist: the move reports ENOENT
        }
    }

    // ---------------------------------------------------------------------------------------------
    // clocks

    private long realtimeNanos() {
        java.time.Instant t = clock.instant();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    private long monotonicNanos() {
        return System.nanoTime();
    }

    int clockTimeGet(Memory m, int id, int out) {
        long v;
        switch (id) {
            case 0 -> v = realtimeNanos();
            case 1 -> v = monotonicNanos();
            case 2, 3 -> v = System.nanoTime() - startNanos; // process / thread CPU time: elapsed time
            default -> {
                return EINVAL;
            }
        }
        m.writeLong(out, v);
        return SUCCESS;
    }

    int clockResGet(Memory m, int id, int out) {
        if (id < 0 || id > 3) {
            return EINVAL;
        }
        m.writeLong(out, id == 0 ? 1000L : 1L);
        return SUCCESS;
    }

    // ---------------------------------------------------------------------------------------------
    // iovecs

    private byte[] scratch = new byte[4096];

    /** A reusable copy buffer (guest thread only) of at least min(want, 1 MiB) bytes. */
    private byte[] scratch(int want) {
        int n = Math.min(want, 1 << 20);
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, scratch.length * 2)];
        }
        return scratch;
    }

    private static int iovTotal(Memory m, int iovs, int n) {
        if (n < 0 || n > IOV_MAX) {
            return -1;
        }
        long total = 0;
        for (int i = 0; i < n; i++) {
            total += m.readInt(iovs + i * 8 + 4) & 0xffffffffL;
        }
        return total > Integer.MAX_VALUE ? -1 : (int) total;
    }

    private static void scatter(Memory m, int iovs, int n, byte[] src, int len) {
        int off = 0;
        for (int i = 0; i < n && off < len; i++) {
            int buf = m.readInt(iovs + i * 8);
            int cap = m.readInt(iovs + i * 8 + 4);
            int k = Math.min(cap, len - off);
            m.write(buf, src, off, k);
            off += k;
        }
    }

    private static byte[] gather(Memory m, int iovs, int n) {
        int total = iovTotal(m, iovs, n);
        if (total < 0) {
            return null;
        }
        byte[] out = new byte[total];
        int off = 0;
        for (int i = 0; i < n; i++) {
            int buf = m.readInt(iovs + i * 8);
            int len = m.readInt(iovs + i * 8 + 4);
            byte[] part = m.readBytes(buf, len);
            System.arraycopy(part, 0, out, off, len);
            off += len;
        }
        return out;
    }
}
