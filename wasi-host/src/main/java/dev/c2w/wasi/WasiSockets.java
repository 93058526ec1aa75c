package dev.c2w.wasi;

import static dev.c2w.wasi.WasiAbi.ALL_RIGHTS;
import static dev.c2w.wasi.WasiAbi.EAGAIN;
import static dev.c2w.wasi.WasiAbi.EBADF;
import static dev.c2w.wasi.WasiAbi.ECONNABORTED;
import static dev.c2w.wasi.WasiAbi.EINVAL;
import static dev.c2w.wasi.WasiAbi.ENOTCONN;
import static dev.c2w.wasi.WasiAbi.ENOTSOCK;
import static dev.c2w.wasi.WasiAbi.EPIPE;
import static dev.c2w.wasi.WasiAbi.EVENTRWFLAGS_FD_READWRITE_HANGUP;
import static dev.c2w.wasi.WasiAbi.EVENTTYPE_FD_READ;
import static dev.c2w.wasi.WasiAbi.FDFLAGS_NONBLOCK;
import static dev.c2w.wasi.WasiAbi.FILETYPE_SOCKET_STREAM;
import static dev.c2w.wasi.WasiAbi.SDFLAGS_RD_WR;
import static dev.c2w.wasi.WasiAbi.SDFLAGS_WR;
import static dev.c2w.wasi.WasiAbi.SUCCESS;

import com.dylibso.chicory.runtime.Memory;
import java.util.Arrays;

/**
 * The guest's sockets: one listening socket (with a network only) and the connection it accepted, each an
 * fd whose number is reserved in Chicory's table ({@link ChicoryFdTable}) so a file opened later never gets
 * it. Here are the sock_* calls and what fd_read, fd_write, fd_close, fd_fdstat_get, fd_fdstat_set_flags,
 * fd_prestat_get, fd_filestat_get and poll_oneoff do on a socket fd; the caller asks {@link #isSocket} first.
 *
 * <p>The listening socket is readable while there is no connection; sock_accept then attaches a new
 * {@link SocketBackend.Connection} (in c2w-net, a link to the network's switch). One connection at a time, as the emulators expect: after
 * the guest closes it, accept gives a fresh one. Non-blocking sockets answer EAGAIN; blocking ones wait on
 * the {@link Waker}, which the network loop and the link signal. fd_prestat_get on a socket says "not a
 * directory" (tag 1) rather than EBADF, so wasi-libc's pre-open scan walks past it.
 *
 * <p>Guest thread only, except what the back-end documents.
 */
final class WasiSockets {
    private final ChicoryFdTable table;
    private final SocketBackend backend;
    private final Waker waker;
    private final Iovecs iovecs;
    /** Sockets by fd number; null where the fd is not a socket. */
    private Sock[] byFd = new Sock[8];

    private final int listenFd;
    private Sock current;

    private static final class Sock {
        final boolean listening;
        boolean nonblock;
        SocketBackend.Connection link;
        boolean shutWrite;

        Sock(boolean listening) {
            this.listening = listening;
        }
    }

    /** Reserves the listening socket's fd (the lowest free one) when there is a back-end. */
    WasiSockets(ChicoryFdTable table, SocketBackend backend, Waker waker, Iovecs iovecs) {
        this.table = table;
        this.backend = backend;
        this.waker = waker;
        this.iovecs = iovecs;
        if (backend != null) {
            listenFd = table.reserve();
            put(listenFd, new Sock(true));
        } else {
            listenFd = -1;
        }
    }

    /** The listening socket's fd, or -1 without a network. */
    int listenFd() {
        return listenFd;
    }

    /** The link of the current connection, or null. */
    SocketBackend.Connection currentLink() {
        Sock s = current;
        return s == null ? null : s.link;
    }

    boolean isSocket(int fd) {
        return sock(fd) != null;
    }

    private Sock sock(int fd) {
        return fd >= 0 && fd < byFd.length ? byFd[fd] : null;
    }

    private void put(int fd, Sock s) {
        if (fd >= byFd.length) {
            byFd = Arrays.copyOf(byFd, Math.max(fd + 1, byFd.length * 2));
        }
        byFd[fd] = s;
    }

    /** Closes every link (the host is closing). */
    void closeAll() {
        for (Sock s : byFd) {
            if (s != null && s.link != null) {
                s.link.close();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // sock_*

    /** sock_accept(fd, flags, fd_out). */
    int accept(Memory m, int fd, int flags, int fdOut) {
        Sock l = sock(fd);
        if (l == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        if (!l.listening) {
            return EINVAL;
        }
        if (current != null) {
            return EAGAIN; // one connection at a time; a new one after the guest closes this one
        }
        Sock c = new Sock(false);
        c.nonblock = (flags & FDFLAGS_NONBLOCK) != 0;
        try {
            c.link = backend.open(waker);
        } catch (RuntimeException e) { // the back-end (the network) has shut down
            return ECONNABORTED;
        }
        int cfd = table.reserve();
        put(cfd, c);
        current = c;
        m.writeI32(fdOut, cfd);
        return SUCCESS;
    }

    /** sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_out, ro_flags_out); no ri_flags are honoured. */
    int recv(Memory m, int fd, int iovs, int iovsLen, int riFlags, int lenOut, int flagsOut) {
        Sock s = sock(fd);
        if (s == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        int res = read(s, m, iovs, iovsLen, lenOut);
        if (res == SUCCESS) {
            m.writeShort(flagsOut, (short) 0);
        }
        return res;
    }

    /** sock_send(fd, si_data, si_data_len, si_flags, so_datalen_out). */
    int send(Memory m, int fd, int iovs, int iovsLen, int siFlags, int lenOut) {
        Sock s = sock(fd);
        if (s == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        return write(s, m, iovs, iovsLen, lenOut);
    }

    /** sock_shutdown(fd, how): WR stops frames to the stack; RD|WR closes the link. */
    int shutdown(int fd, int how) {
        Sock s = sock(fd);
        if (s == null) {
            return table.isOpen(fd) ? ENOTSOCK : EBADF;
        }
        if (s.listening || s.link == null) {
            return ENOTCONN;
        }
        if ((how & SDFLAGS_WR) != 0) {
            s.shutWrite = true;
        }
        if ((how & SDFLAGS_RD_WR) == SDFLAGS_RD_WR) {
            s.link.close();
        }
        return SUCCESS;
    }

    // ---------------------------------------------------------------------------------------------
    // fd_* on a socket fd

    /** fd_read on socket {@code fd}. */
    int read(Memory m, int fd, int iovs, int iovsLen, int nreadOut) {
        return read(sock(fd), m, iovs, iovsLen, nreadOut);
    }

    /** fd_write on socket {@code fd}. */
    int write(Memory m, int fd, int iovs, int iovsLen, int nwrittenOut) {
        return write(sock(fd), m, iovs, iovsLen, nwrittenOut);
    }

    /** fd_close on socket {@code fd}: frees its number and, for the connection, lets the next accept happen. */
    int close(int fd) {
        Sock s = sock(fd);
        byFd[fd] = null;
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

    /** fd_fdstat_get on socket {@code fd}: a stream socket with every right, NONBLOCK as set. */
    int fdstat(Memory m, int fd, int out) {
        Sock s = sock(fd);
        m.writeByte(out, (byte) FILETYPE_SOCKET_STREAM);
        m.writeByte(out + 1, (byte) 0);
        m.writeShort(out + 2, (short) (s.nonblock ? FDFLAGS_NONBLOCK : 0));
        m.writeI32(out + 4, 0);
        m.writeLong(out + 8, ALL_RIGHTS);
        m.writeLong(out + 16, ALL_RIGHTS);
        return SUCCESS;
    }

    /** fd_fdstat_set_flags on socket {@code fd}: only NONBLOCK means anything. */
    int setFlags(int fd, int flags) {
        sock(fd).nonblock = (flags & FDFLAGS_NONBLOCK) != 0;
        return SUCCESS;
    }

    /** fd_prestat_get on a socket: tag 1, not a directory, so the pre-open scan goes on. */
    int prestat(Memory m, int out) {
        m.writeI32(out, 1);
        m.writeI32(out + 4, 0);
        return SUCCESS;
    }

    /** fd_filestat_get on a socket: all zero but the file type and one link. */
    int filestat(Memory m, int out) {
        m.fill((byte) 0, out, out + 64);
        m.writeByte(out + 16, (byte) FILETYPE_SOCKET_STREAM);
        m.writeLong(out + 24, 1);
        return SUCCESS;
    }

    /**
     * poll_oneoff on socket {@code fd}: when it is ready for {@code type} (fd_read or fd_write), writes the
     * event at {@code event} and returns true. The listening socket is readable when an accept would
     * succeed; a connection is readable when bytes are queued or the link closed (with the hangup flag),
     * writable below the send cap.
     */
    boolean pollEvent(Memory m, int event, long userdata, int type, int fd) {
        Sock s = sock(fd);
        if (s.listening) {
            if (type == EVENTTYPE_FD_READ && current == null) {
                WasiPoll.writeEvent(m, event, userdata, SUCCESS, type, 1, 0);
                return true;
            }
            return false;
        }
        SocketBackend.Connection l = s.link;
        if (type == EVENTTYPE_FD_READ) {
            if (l.readable()) {
                WasiPoll.writeEvent(
                        m,
                        event,
                        userdata,
                        SUCCESS,
                        type,
                        l.queuedForGuest(),
                        l.isClosed() ? EVENTRWFLAGS_FD_READWRITE_HANGUP : 0);
                return true;
            }
            return false;
        }
        if (l.writable()) {
            WasiPoll.writeEvent(
                    m, event, userdata, SUCCESS, type, 0, l.isClosed() ? EVENTRWFLAGS_FD_READWRITE_HANGUP : 0);
            return true;
        }
        return false;
    }

    // ---------------------------------------------------------------------------------------------

    private int read(Sock s, Memory m, int iovs, int iovsLen, int lenOut) {
        if (s.listening) {
            return ENOTCONN;
        }
        int total = iovecs.load(m, iovs, iovsLen);
        if (total < 0) {
            return EINVAL;
        }
        while (true) {
            long seen = waker.epoch();
            // size the copy by what is queued: emulators poll with large buffers and usually find little
            byte[] buf = iovecs.scratch(Math.min(total, Math.max(1, s.link.queuedForGuest())));
            int n = s.link.recv(buf, 0, Math.min(total, buf.length));
            if (n != 0 || total == 0) {
                n = Math.max(n, 0); // -1: end of stream, 0 bytes
                iovecs.scatter(m, buf, n);
                m.writeI32(lenOut, n);
                return SUCCESS;
            }
            if (s.nonblock) {
                return EAGAIN;
            }
            waker.awaitOnGuest(seen, -1);
        }
    }

    private int write(Sock s, Memory m, int iovs, int iovsLen, int lenOut) {
        if (s.listening) {
            return ENOTCONN;
        }
        if (s.shutWrite) {
            return EPIPE;
        }
        int total = iovecs.load(m, iovs, iovsLen);
        if (total < 0) {
            return EINVAL;
        }
        byte[] data = iovecs.gather(m, total);
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
                waker.awaitOnGuest(seen, -1);
            }
        }
        m.writeI32(lenOut, done);
        return SUCCESS;
    }
}
