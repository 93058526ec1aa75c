package dev.c2w.wasi;

/**
 * The numbers of the WASI preview 1 ABI ({@code wasi_snapshot_preview1}) that the host functions of this
 * package read from the guest or answer with: errno values, file types, fd flags, rights, event types and
 * clock ids. Only the ones the host uses are here.
 */
final class WasiAbi {
    static final String MODULE = "wasi_snapshot_preview1";

    // errno
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

    // filetype, fdflags, rights
    static final int FILETYPE_SOCKET_STREAM = 6;
    static final int FDFLAGS_NONBLOCK = 4;
    /** Every right preview 1 defines (bits 0..29). */
    static final long ALL_RIGHTS = (1L << 30) - 1;

    // sdflags
    static final int SDFLAGS_WR = 2;
    static final int SDFLAGS_RD_WR = 3;

    // poll_oneoff
    static final int EVENTTYPE_CLOCK = 0;
    static final int EVENTTYPE_FD_READ = 1;
    static final int EVENTTYPE_FD_WRITE = 2;
    static final int EVENTRWFLAGS_FD_READWRITE_HANGUP = 1;
    static final int SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME = 1;

    // clockid
    static final int CLOCK_REALTIME = 0;
    static final int CLOCK_MONOTONIC = 1;
    static final int CLOCK_PROCESS_CPUTIME_ID = 2;
    static final int CLOCK_THREAD_CPUTIME_ID = 3;

    private WasiAbi() {}
}
