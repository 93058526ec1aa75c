// Module side of the socket bridge: WASI preview 1 imports that give a Wasm
// module (our emulator, or any c2w module that takes `--net=socket`) an
// inherited listening socket, a bridged stdin and a poll_oneoff that sleeps
// with Atomics.wait instead of spinning. Runs on the thread that runs the
// module; every other import is delegated to a base implementation (Node's
// node:wasi, or a browser WASI shim). No Node API is used here.
//
// fds: listenFd is the listening socket, connFd the one accepted connection
// (one at a time). The base implementation must never hand out these numbers
// (run-node.mjs reserves them with two placeholder pre-opens); every fd_* and
// path_* call on them is answered here and never reaches the base.
import { C, S, RING_EOF, RING_BROKEN, bump, openShared } from './bridge-shared.mjs';

const E = { SUCCESS: 0, AGAIN: 6, BADF: 8, FAULT: 21, INVAL: 28, NOTCONN: 53, NOTDIR: 54, NOTSUP: 58, PIPE: 64, SPIPE: 70 };
const FDFLAGS_NONBLOCK = 4;
const FILETYPE_SOCKET_STREAM = 6;
const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 };
const EVENTRWFLAGS_HANGUP = 1;
const SUBCLOCK_ABSTIME = 1;
const RECV_PEEK = 1;
const SDFLAGS_RD = 1, SDFLAGS_WR = 2;
// fd_read, fd_fdstat_set_flags, fd_write, fd_filestat_get, poll_fd_readwrite, sock_shutdown, sock_accept
const SOCKET_RIGHTS = (1n << 1n) | (1n << 3n) | (1n << 6n) | (1n << 21n) | (1n << 27n) | (1n << 28n) | (1n << 29n);
const MAX_WAIT_MS = 2 ** 31 - 1;

/**
 * @param {object} o
 * @param {object} o.base          the WASI imports to delegate to (e.g. new WASI(...).wasiImport)
 * @param {() => WebAssembly.Memory} o.memory  the module's memory (known once instantiated)
 * @param {object} o.shared        from allocateShared()
 * @param {number} [o.listenFd]    the listening socket's fd (omit: no socket)
 * @param {number} [o.connFd]      the accepted connection's fd (default listenFd + 1)
 * @param {boolean} [o.bridgeStdin] answer fd 0 reads and polls from the shared stdin ring
 * @param {(id: number) => bigint} o.nowNs  clock_time_get's clocks (0 realtime, 1 monotonic, ...)
 * @returns {object} the import object for wasi_snapshot_preview1, plus exitStatus(code) for a
 *   module whose _start returned (signals the host side, then parks the thread)
 */
export function socketBridgeImports(o) {
  const { base, memory, nowNs } = o;
  const sh = openShared(o.shared);
  const ctl = sh.ctl;
  const listenFd = o.listenFd ?? -1;
  const connFd = listenFd >= 0 ? (o.connFd ?? listenFd + 1) : -1;
  const bridgeStdin = !!o.bridgeStdin;

  let listenClosed = listenFd < 0, listenNonblock = false;
  let connOpen = false, connNonblock = false, shutRd = false, shutWr = false;
  let stdinStarted = false, stdinNonblock = false, stdinClosed = false;

  const isSock = fd => listenFd >= 0 && (fd === listenFd || fd === connFd);
  const mem = () => memory().buffer;
  const dv = () => new DataView(mem());
  const notifyHost = () => bump(ctl, C.HOST_SEQ);
  const seq = () => Atomics.load(ctl, C.MODULE_SEQ);
  const waitChange = (seen, ms) => {
    if (ms === undefined || ms > MAX_WAIT_MS) ms = MAX_WAIT_MS;
    Atomics.wait(ctl, C.MODULE_SEQ, seen, Math.max(0, ms));
  };
  const wantStdin = () => {
    if (!stdinStarted) { stdinStarted = true; Atomics.store(ctl, C.STDIN_WANTED, 1); notifyHost(); }
  };

  // iovec arrays: [{buf u32, len u32}] * n
  function iovecs(ptr, n) {
    const v = dv(), out = [];
    for (let i = 0; i < n; i++) out.push([v.getUint32(ptr + 8 * i, true), v.getUint32(ptr + 8 * i + 4, true)]);
    return out;
  }
  function ringToIovecs(ring, iovs, peek) {
    const m = new Uint8Array(mem());
    if (iovs.length === 1 || !peek) {
      let total = 0;
      for (const [buf, len] of iovs) {
        const n = ring.read(m.subarray(buf, buf + len), peek);
        total += n;
        if (n < len) break;
      }
      return total;
    }
    const want = iovs.reduce((a, [, len]) => a + len, 0);
    const tmp = new Uint8Array(Math.min(want, ring.used()));
    const n = ring.read(tmp, true);
    let off = 0;
    for (const [buf, len] of iovs) {
      const k = Math.min(len, n - off);
      if (k <= 0) break;
      m.set(tmp.subarray(off, off + k), buf);
      off += k;
    }
    return n;
  }
  function iovecsToRing(ring, iovs) {
    const m = new Uint8Array(mem());
    let total = 0;
    for (const [buf, len] of iovs) {
      const n = ring.write(m.subarray(buf, buf + len));
      total += n;
      if (n < len) break;
    }
    return total;
  }

  // --- the connection ---------------------------------------------------------------
  function recv(iovPtr, iovCnt, flags, nPtr, roFlagsPtr) {
    const iovs = iovecs(iovPtr, iovCnt);
    for (;;) {
      const seen = seq();
      if (!connOpen) return E.BADF;
      if (shutRd) return done(0);
      const n = ringToIovecs(sh.rx, iovs, (flags & RECV_PEEK) !== 0);
      if (n > 0) {
        if (!(flags & RECV_PEEK) && Atomics.load(ctl, C.RX_WANT_SPACE)) notifyHost();
        return done(n);
      }
      if (iovs.every(([, len]) => len === 0)) return done(0);
      if (sh.rx.flags() & (RING_EOF | RING_BROKEN)) return done(0); // end of stream
      if (connNonblock) return E.AGAIN;
      waitChange(seen);
    }
    function done(n) {
      const v = dv();
      v.setUint32(nPtr, n, true);
      if (roFlagsPtr !== undefined) v.setUint16(roFlagsPtr, 0, true);
      return E.SUCCESS;
    }
  }

  function send(iovPtr, iovCnt, nPtr) {
    const iovs = iovecs(iovPtr, iovCnt);
    for (;;) {
      const seen = seq();
      if (!connOpen) return E.BADF;
      if (shutWr || (sh.tx.flags() & RING_BROKEN)) return E.PIPE;
      const n = iovecsToRing(sh.tx, iovs);
      if (n > 0 || iovs.every(([, len]) => len === 0)) {
        if (n > 0) notifyHost();
        dv().setUint32(nPtr, n, true);
        return E.SUCCESS;
      }
      if (connNonblock) return E.AGAIN; // ring full: the caller keeps the rest (backpressure)
      waitChange(seen);
    }
  }

  function accept(flags, fdPtr) {
    if (listenClosed) return E.BADF;
    for (;;) {
      const seen = seq();
      // one connection at a time: a second accept waits for nothing (EAGAIN), as the runner does
      if (!connOpen && Atomics.compareExchange(ctl, C.STATE, S.OFFERED, S.ACCEPTED) === S.OFFERED) {
        connOpen = true;
        connNonblock = (flags & FDFLAGS_NONBLOCK) !== 0;
        shutRd = shutWr = false;
        Atomics.add(ctl, C.ACCEPTED, 1);
        dv().setUint32(fdPtr, connFd, true);
        notifyHost();
        return E.SUCCESS;
      }
      if (connOpen || listenNonblock || (flags & FDFLAGS_NONBLOCK)) return E.AGAIN;
      waitChange(seen);
    }
  }

  function closeSock(fd) {
    if (fd === listenFd) {
      if (listenClosed) return E.BADF;
      listenClosed = true;
      Atomics.store(ctl, C.LISTEN_CLOSED, 1);
    } else {
      if (!connOpen) return E.BADF;
      connOpen = false;
      Atomics.store(ctl, C.SHUT_WR, 0);
      Atomics.store(ctl, C.STATE, S.CLOSING); // host flushes tx, ends the peer, resets the rings
    }
    notifyHost();
    return E.SUCCESS;
  }

  const sockOpen = fd => (fd === listenFd ? !listenClosed : connOpen);

  // --- stdin ----------------------------------------------------------------------------
  function stdinRead(iovPtr, iovCnt, nPtr) {
    wantStdin();
    const iovs = iovecs(iovPtr, iovCnt);
    for (;;) {
      const seen = seq();
      const n = ringToIovecs(sh.stdin, iovs, false);
      if (n > 0 && Atomics.load(ctl, C.STDIN_WANT_SPACE)) notifyHost();
      if (n > 0 || (sh.stdin.flags() & RING_EOF) || iovs.every(([, len]) => len === 0)) {
        dv().setUint32(nPtr, n, true);
        return E.SUCCESS;
      }
      if (stdinNonblock) return E.AGAIN;
      waitChange(seen);
    }
  }
  // fd 0 is answered here; the host's fd 0 (which the host side reads) is never touched
  const stdinBridged = fd => bridgeStdin && fd === 0;

  // --- poll_oneoff ----------------------------------------------------------------------
  // Readiness of one fd subscription: null (not ready) or [error, nbytes, flags].
  function fdReady(fd, type, scratch) {
    if (isSock(fd)) {
      if (!sockOpen(fd)) return [E.BADF, 0, 0];
      if (fd === listenFd) {
        if (type !== EVENTTYPE.FD_READ) return null;
        return !connOpen && Atomics.load(ctl, C.STATE) === S.OFFERED ? [0, 1, 0] : null;
      }
      if (type === EVENTTYPE.FD_READ) {
        const used = sh.rx.used();
        const ended = shutRd || (sh.rx.flags() & (RING_EOF | RING_BROKEN)) !== 0;
        if (used > 0 || ended) return [0, used, ended ? EVENTRWFLAGS_HANGUP : 0];
        return null;
      }
      if (shutWr || (sh.tx.flags() & RING_BROKEN)) return [E.PIPE, 0, 0];
      const free = sh.tx.free();
      return free > 0 ? [0, free, 0] : null;
    }
    if (stdinBridged(fd)) {
      if (stdinClosed) return [E.BADF, 0, 0];
      if (type !== EVENTTYPE.FD_READ) return [0, 0, 0];
      wantStdin();
      const used = sh.stdin.used(), eof = (sh.stdin.flags() & RING_EOF) !== 0;
      return used > 0 || eof ? [0, used, eof ? EVENTRWFLAGS_HANGUP : 0] : null;
    }
    // any other fd: ready if it exists (files, stdout), as a regular file always is
    return base.fd_fdstat_get(fd, scratch) === E.SUCCESS ? [0, 0, 0] : [E.BADF, 0, 0];
  }

  function pollOneoff(inPtr, outPtr, nsubs, neventsPtr) {
    if (nsubs === 0) return E.INVAL;
    const v0 = dv();
    const t0 = performance.now();
    const subs = [];
    for (let i = 0; i < nsubs; i++) {
      const b = inPtr + 48 * i;
      const s = { userdata: v0.getBigUint64(b, true), type: v0.getUint8(b + 8) };
      if (s.type === EVENTTYPE.CLOCK) {
        const id = v0.getUint32(b + 16, true), timeout = v0.getBigUint64(b + 24, true);
        const flags = v0.getUint16(b + 40, true);
        if (id > 3) { s.error = E.INVAL; s.deadline = t0; }
        else {
          const relNs = (flags & SUBCLOCK_ABSTIME) ? timeout - nowNs(id) : timeout;
          s.deadline = relNs <= 0n ? t0 : t0 + Number(relNs) / 1e6;
        }
      } else if (s.type === EVENTTYPE.FD_READ || s.type === EVENTTYPE.FD_WRITE) {
        s.fd = v0.getUint32(b + 16, true);
      } else {
        return E.INVAL;
      }
      subs.push(s);
    }
    for (;;) {
      const seen = seq();
      const ready = [];
      for (const s of subs) {
        if (s.type === EVENTTYPE.CLOCK) continue;
        const r = fdReady(s.fd, s.type, outPtr);
        if (r) ready.push([s, ...r]);
      }
      const now = performance.now();
      let next = Infinity;
      for (const s of subs) {
        if (s.type !== EVENTTYPE.CLOCK) continue;
        if (now >= s.deadline) ready.push([s, s.error || 0, 0, 0]);
        else next = Math.min(next, s.deadline);
      }
      if (ready.length > 0) {
        const v = dv();
        ready.forEach(([s, error, nbytes, flags], k) => {
          const b = outPtr + 32 * k;
          for (let j = 0; j < 32; j += 4) v.setUint32(b + j, 0, true);
          v.setBigUint64(b, s.userdata, true);
          v.setUint16(b + 8, error, true);
          v.setUint8(b + 10, s.type);
          v.setBigUint64(b + 16, BigInt(nbytes), true);
          v.setUint16(b + 24, flags, true);
        });
        v.setUint32(neventsPtr, ready.length, true);
        return E.SUCCESS;
      }
      waitChange(seen, next === Infinity ? undefined : next - now);
    }
  }

  // --- exit -----------------------------------------------------------------------------
  function exitStatus(code) {
    Atomics.store(ctl, C.EXIT_CODE, code | 0);
    Atomics.store(ctl, C.EXITED, 1);
    notifyHost();
    // The host side ends the process (or terminates this worker); nothing more runs here.
    for (;;) Atomics.wait(ctl, C.PARK, 0);
  }

  // --- the import object ----------------------------------------------------------------
  const imp = {};
  // every fd_* / path_* call naming a socket fd is answered here, never by the base
  const SPIPE = new Set(['fd_seek', 'fd_tell', 'fd_pread', 'fd_pwrite']);
  for (const [name, fn] of Object.entries(base)) {
    if (typeof fn !== 'function') continue;
    if (name.startsWith('fd_')) {
      const err = SPIPE.has(name) ? E.SPIPE : name === 'fd_readdir' ? E.NOTDIR : E.NOTSUP;
      imp[name] = (fd, ...rest) => {
        if (isSock(fd)) return sockOpen(fd) ? err : E.BADF;
        if (name === 'fd_renumber' && isSock(rest[0])) return E.NOTSUP;
        return fn(fd, ...rest);
      };
    } else if (name.startsWith('path_')) {
      // second directory fd: path_link(old_fd, flags, path, len, new_fd, ...), path_rename(fd, path, len, new_fd, ...)
      const second = name === 'path_link' ? 4 : name === 'path_rename' ? 3 : -1;
      imp[name] = (...a) => {
        for (const fd of [a[0], second >= 0 ? a[second] : -1]) {
          if (isSock(fd)) return sockOpen(fd) ? E.NOTDIR : E.BADF;
        }
        return fn(...a);
      };
    } else {
      imp[name] = fn;
    }
  }

  imp.fd_close = fd => {
    if (isSock(fd)) return closeSock(fd);
    if (stdinBridged(fd)) {
      if (stdinClosed) return E.BADF;
      stdinClosed = true;
      return E.SUCCESS;
    }
    return base.fd_close(fd);
  };
  imp.fd_read = (fd, iovPtr, iovCnt, nPtr) => {
    if (fd === connFd && connOpen) return recv(iovPtr, iovCnt, 0, nPtr);
    if (isSock(fd)) return sockOpen(fd) ? E.NOTCONN : E.BADF;
    if (stdinBridged(fd)) return stdinClosed ? E.BADF : stdinRead(iovPtr, iovCnt, nPtr);
    return base.fd_read(fd, iovPtr, iovCnt, nPtr);
  };
  imp.fd_write = (fd, iovPtr, iovCnt, nPtr) => {
    if (fd === connFd && connOpen) return send(iovPtr, iovCnt, nPtr);
    if (isSock(fd)) return sockOpen(fd) ? E.NOTCONN : E.BADF;
    return base.fd_write(fd, iovPtr, iovCnt, nPtr);
  };
  imp.fd_fdstat_get = (fd, ptr) => {
    if (stdinBridged(fd) && stdinClosed) return E.BADF;
    if (!isSock(fd)) return base.fd_fdstat_get(fd, ptr);
    if (!sockOpen(fd)) return E.BADF;
    const v = dv();
    for (let j = 0; j < 24; j += 4) v.setUint32(ptr + j, 0, true);
    v.setUint8(ptr, FILETYPE_SOCKET_STREAM);
    v.setUint16(ptr + 2, (fd === listenFd ? listenNonblock : connNonblock) ? FDFLAGS_NONBLOCK : 0, true);
    v.setBigUint64(ptr + 8, SOCKET_RIGHTS, true);
    return E.SUCCESS;
  };
  imp.fd_fdstat_set_flags = (fd, flags) => {
    const nb = (flags & FDFLAGS_NONBLOCK) !== 0;
    if (isSock(fd)) {
      if (!sockOpen(fd)) return E.BADF;
      if (fd === listenFd) listenNonblock = nb; else connNonblock = nb;
      return E.SUCCESS;
    }
    if (stdinBridged(fd)) { // the host's fd 0 is left alone
      if (stdinClosed) return E.BADF;
      stdinNonblock = nb;
      return E.SUCCESS;
    }
    return base.fd_fdstat_set_flags(fd, flags);
  };
  imp.fd_filestat_get = (fd, ptr) => {
    if (!isSock(fd)) return base.fd_filestat_get(fd, ptr);
    if (!sockOpen(fd)) return E.BADF;
    const v = dv();
    for (let j = 0; j < 64; j += 4) v.setUint32(ptr + j, 0, true);
    v.setUint8(ptr + 16, FILETYPE_SOCKET_STREAM);
    return E.SUCCESS;
  };
  // A socket is "not a directory" (tag 1) rather than EBADF, so wasi-libc's pre-open scan
  // walks past it, as in the JVM runner.
  imp.fd_prestat_get = (fd, ptr) => {
    if (!isSock(fd)) return base.fd_prestat_get(fd, ptr);
    if (!sockOpen(fd)) return E.BADF;
    const v = dv();
    v.setUint32(ptr, 1, true);
    v.setUint32(ptr + 4, 0, true);
    return E.SUCCESS;
  };
  imp.fd_prestat_dir_name = (fd, ...rest) => {
    if (isSock(fd)) return sockOpen(fd) ? E.INVAL : E.BADF;
    return base.fd_prestat_dir_name(fd, ...rest);
  };
  imp.sock_accept = (fd, flags, fdPtr) => {
    if (fd === listenFd) return accept(flags, fdPtr);
    if (fd === connFd) return connOpen ? E.INVAL : E.BADF;
    return base.sock_accept ? base.sock_accept(fd, flags, fdPtr) : E.NOTSUP;
  };
  imp.sock_recv = (fd, iovPtr, iovCnt, flags, nPtr, roFlagsPtr) => {
    if (fd === connFd) return recv(iovPtr, iovCnt, flags, nPtr, roFlagsPtr);
    if (fd === listenFd) return listenClosed ? E.BADF : E.NOTCONN;
    return base.sock_recv ? base.sock_recv(fd, iovPtr, iovCnt, flags, nPtr, roFlagsPtr) : E.NOTSUP;
  };
  imp.sock_send = (fd, iovPtr, iovCnt, flags, nPtr) => {
    if (fd === connFd) return send(iovPtr, iovCnt, nPtr);
    if (fd === listenFd) return listenClosed ? E.BADF : E.NOTCONN;
    return base.sock_send ? base.sock_send(fd, iovPtr, iovCnt, flags, nPtr) : E.NOTSUP;
  };
  imp.sock_shutdown = (fd, how) => {
    if (fd === listenFd) return listenClosed ? E.BADF : E.NOTCONN;
    if (fd !== connFd) return base.sock_shutdown ? base.sock_shutdown(fd, how) : E.NOTSUP;
    if (!connOpen) return E.BADF;
    if (how < 1 || how > 3) return E.INVAL;
    if (how & SDFLAGS_RD) shutRd = true;
    if (how & SDFLAGS_WR) { shutWr = true; Atomics.store(ctl, C.SHUT_WR, 1); notifyHost(); }
    return E.SUCCESS;
  };
  imp.poll_oneoff = pollOneoff;
  // a pointer outside the module's memory is the module's error (EFAULT), not the host's
  for (const name of ['fd_close', 'fd_read', 'fd_write', 'fd_fdstat_get', 'fd_fdstat_set_flags', 'fd_filestat_get',
    'fd_prestat_get', 'fd_prestat_dir_name', 'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown', 'poll_oneoff']) {
    const fn = imp[name];
    imp[name] = (...a) => {
      try {
        return fn(...a);
      } catch (e) {
        if (e instanceof RangeError) return E.FAULT;
        throw e;
      }
    };
  }
  imp.proc_exit = code => exitStatus(code);
  Object.defineProperty(imp, 'exitStatus', { value: exitStatus, enumerable: false });
  return imp;
}
