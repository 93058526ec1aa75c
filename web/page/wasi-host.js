// A WASI preview-1 host for browsers (and any JavaScript engine), enough for
// our emulator: arguments and environment, clocks, random, stdout/stderr to
// callbacks, stdin at end of input, read-only in-memory files under one
// pre-opened directory "/" (fd 3), and a clock-only poll_oneoff. Calls only
// 9p writes would need (fd_pwrite, path_* changes, fd_readdir) answer ENOTSUP
// or EROFS.
//
// Keyboard input, sockets and sleeping are not here: in a cross-origin
// isolated page the bridge of web/node/ (wasi-socket.mjs, transport-neutral)
// is laid over these imports and answers stdin, the sockets and poll_oneoff
// (it sleeps with Atomics.wait); `reserveFds` keeps the socket fds (4 and 5)
// free. Without isolation there is no SharedArrayBuffer: this host's
// poll_oneoff then spins on the clock, which is correct but burns a core while
// the guest idles.

const E = { SUCCESS: 0, AGAIN: 6, BADF: 8, INVAL: 28, ISDIR: 31, NOENT: 44, NOTDIR: 54, NOTSUP: 58,
  ROFS: 69, SPIPE: 70 };
const FT = { CHAR: 2, DIR: 3, FILE: 4 };
const ALL_RIGHTS = 0x1fffffffn;

export class WasiExit extends Error {
  constructor(code) { super(`exit ${code}`); this.code = code; }
}

export class WasiHost {
  constructor(opts) {
    this.args = opts.args || ['c2w-emu'];
    this.env = opts.env || [];
    this.files = opts.files || new Map(); // "/path" -> Uint8Array
    this.stdout = opts.stdout || (() => {});
    this.stderr = opts.stderr || (() => {});
    this.fds = new Map();
    this.fds.set(0, { kind: 'stdin' });
    this.fds.set(1, { kind: 'out', write: (b) => this.stdout(b) });
    this.fds.set(2, { kind: 'out', write: (b) => this.stderr(b) });
    this.fds.set(3, { kind: 'dir', path: '/', preopen: '/' });
    this.nextFd = 4 + (opts.reserveFds || 0);
    this.memory = null;
    this.t0 = typeof performance !== 'undefined' ? performance.now() : Date.now();
  }

  // Runs the module's _start; returns the exit status.
  start(instance) {
    this.memory = instance.exports.memory;
    try {
      instance.exports._start();
      return 0;
    } catch (e) {
      if (e instanceof WasiExit) return e.code;
      throw e;
    }
  }

  get u8() { return new Uint8Array(this.memory.buffer); }
  get dv() { return new DataView(this.memory.buffer); }

  nowNs(id) {
    if (id === 0) return BigInt(Date.now()) * 1000000n;
    const ms = (typeof performance !== 'undefined' ? performance.now() : Date.now()) - this.t0;
    return BigInt(Math.round(ms * 1e6));
  }

  // iovec list -> array of [ptr, len]
  iovs(ptr, n) {
    const dv = this.dv, out = [];
    for (let k = 0; k < n; k++) out.push([dv.getUint32(ptr + 8 * k, true), dv.getUint32(ptr + 8 * k + 4, true)]);
    return out;
  }

  str(ptr, len) { return new TextDecoder().decode(this.u8.subarray(ptr, ptr + len)); }

  resolve(dirFd, ptr, len) {
    const d = this.fds.get(dirFd);
    if (!d || d.kind !== 'dir') return null;
    const parts = (d.path + '/' + this.str(ptr, len)).split('/');
    const out = [];
    for (const p of parts) {
      if (p === '' || p === '.') continue;
      if (p === '..') out.pop(); else out.push(p);
    }
    return '/' + out.join('/');
  }

  isDir(path) {
    if (path === '/') return true;
    for (const k of this.files.keys()) if (k.startsWith(path + '/')) return true;
    return false;
  }

  putSizes(list, countPtr, sizePtr) {
    const enc = list.map((s) => new TextEncoder().encode(s + '\0'));
    this.dv.setUint32(countPtr, enc.length, true);
    this.dv.setUint32(sizePtr, enc.reduce((a, b) => a + b.length, 0), true);
  }

  putList(list, ptrsPtr, bufPtr) {
    let p = bufPtr;
    list.forEach((s, k) => {
      const b = new TextEncoder().encode(s + '\0');
      this.dv.setUint32(ptrsPtr + 4 * k, p, true);
      this.u8.set(b, p);
      p += b.length;
    });
  }

  fdReadable(fd) {
    const f = this.fds.get(fd);
    if (!f) return true; // let the call report EBADF
    return true;
  }

  sleepUntil(deadlineNs, ready) {
    for (;;) {
      if (ready()) return;
      const left = deadlineNs - this.nowNs(1);
      if (left <= 0n) return;
      while (this.nowNs(1) < deadlineNs) { /* spin: no SharedArrayBuffer to wait on */ }
    }
  }

  pollOneoff(inPtr, outPtr, nsubs, neventsPtr) {
    const dv = this.dv;
    const subs = [];
    let deadline = null;
    for (let k = 0; k < nsubs; k++) {
      const s = inPtr + 48 * k;
      const sub = { userdata: dv.getBigUint64(s, true), tag: dv.getUint8(s + 8) };
      if (sub.tag === 0) {
        const id = dv.getUint32(s + 16, true);
        const t = dv.getBigUint64(s + 24, true);
        const abs = (dv.getUint16(s + 40, true) & 1) !== 0;
        sub.deadline = abs ? t - this.nowNs(id) + this.nowNs(1) : this.nowNs(1) + t;
        if (deadline === null || sub.deadline < deadline) deadline = sub.deadline;
      } else {
        sub.fd = dv.getUint32(s + 16, true);
      }
      subs.push(sub);
    }
    const fdReady = (s) => s.tag === 2 || this.fdReadable(s.fd);
    const anyFd = () => subs.some((s) => s.tag !== 0 && fdReady(s));
    this.sleepUntil(deadline === null ? this.nowNs(1) + 3600n * 1000000000n : deadline, anyFd);
    let n = 0;
    const now = this.nowNs(1);
    for (const s of subs) {
      const hit = s.tag === 0 ? now >= s.deadline : fdReady(s);
      if (!hit) continue;
      const e = outPtr + 32 * n++;
      for (let b = 0; b < 32; b++) dv.setUint8(e + b, 0);
      dv.setBigUint64(e, s.userdata, true);
      dv.setUint8(e + 10, s.tag);
      if (s.tag !== 0 && !this.fds.has(s.fd)) dv.setUint16(e + 8, E.BADF, true);
    }
    dv.setUint32(neventsPtr, n, true);
    return E.SUCCESS;
  }

  imports() {
    const h = this;
    const w = {
      args_sizes_get: (c, s) => { h.putSizes(h.args, c, s); return 0; },
      args_get: (p, b) => { h.putList(h.args, p, b); return 0; },
      environ_sizes_get: (c, s) => { h.putSizes(h.env, c, s); return 0; },
      environ_get: (p, b) => { h.putList(h.env, p, b); return 0; },
      clock_time_get: (id, _prec, out) => { h.dv.setBigUint64(out, h.nowNs(id), true); return 0; },
      clock_res_get: (_id, out) => { h.dv.setBigUint64(out, 1000n, true); return 0; },
      random_get: (ptr, len) => {
        for (let off = 0; off < len; off += 65536) {
          crypto.getRandomValues(h.u8.subarray(ptr + off, ptr + Math.min(len, off + 65536)));
        }
        return 0;
      },
      proc_exit: (code) => { throw new WasiExit(code); },
      sched_yield: () => 0,
      fd_write: (fd, iov, n, nw) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        if (f.kind !== 'out') return f.kind === 'file' ? E.ROFS : E.BADF;
        let total = 0;
        for (const [p, l] of h.iovs(iov, n)) { f.write(h.u8.slice(p, p + l)); total += l; }
        h.dv.setUint32(nw, total, true);
        return 0;
      },
      fd_read: (fd, iov, n, nr) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        let total = 0;
        if (f.kind === 'stdin') {
          // end of input (keyboard input comes through the bridge)
        } else if (f.kind === 'file') {
          for (const [p, l] of h.iovs(iov, n)) {
            const chunk = f.data.subarray(f.pos, f.pos + l);
            h.u8.set(chunk, p);
            f.pos += chunk.length;
            total += chunk.length;
            if (chunk.length < l) break;
          }
        } else return f.kind === 'dir' ? E.ISDIR : E.BADF;
        h.dv.setUint32(nr, total, true);
        return 0;
      },
      fd_pread: (fd, iov, n, offset, nr) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        if (f.kind !== 'file') return f.kind === 'dir' ? E.ISDIR : E.SPIPE;
        let pos = Number(offset), total = 0;
        for (const [p, l] of h.iovs(iov, n)) {
          const chunk = f.data.subarray(pos, pos + l);
          h.u8.set(chunk, p);
          pos += chunk.length;
          total += chunk.length;
          if (chunk.length < l) break;
        }
        h.dv.setUint32(nr, total, true);
        return 0;
      },
      fd_seek: (fd, offset, whence, out) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        if (f.kind !== 'file') return E.SPIPE;
        const base = whence === 0 ? 0 : whence === 1 ? f.pos : f.data.length;
        const pos = base + Number(offset);
        if (pos < 0) return E.INVAL;
        f.pos = pos;
        h.dv.setBigUint64(out, BigInt(pos), true);
        return 0;
      },
      fd_close: (fd) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        h.fds.delete(fd);
        return 0;
      },
      fd_fdstat_get: (fd, out) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        const type = { stdin: FT.CHAR, out: FT.CHAR, dir: FT.DIR, file: FT.FILE }[f.kind];
        for (let b = 0; b < 24; b++) h.dv.setUint8(out + b, 0);
        h.dv.setUint8(out, type);
        h.dv.setUint16(out + 2, 0, true);
        h.dv.setBigUint64(out + 8, ALL_RIGHTS, true);
        h.dv.setBigUint64(out + 16, ALL_RIGHTS, true);
        return 0;
      },
      fd_fdstat_set_flags: () => 0,
      fd_filestat_get: (fd, out) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        h.filestat(out, f.kind === 'file' ? FT.FILE : f.kind === 'dir' ? FT.DIR : FT.CHAR, f.kind === 'file' ? f.data.length : 0);
        return 0;
      },
      fd_prestat_get: (fd, out) => {
        const f = h.fds.get(fd);
        if (!f) return E.BADF;
        if (!f.preopen) return E.BADF;
        h.dv.setUint8(out, 0);
        h.dv.setUint32(out + 4, new TextEncoder().encode(f.preopen).length, true);
        return 0;
      },
      fd_prestat_dir_name: (fd, ptr, len) => {
        const f = h.fds.get(fd);
        if (!f || !f.preopen) return E.BADF;
        h.u8.set(new TextEncoder().encode(f.preopen).subarray(0, len), ptr);
        return 0;
      },
      path_open: (dirFd, _dirflags, ptr, len, oflags, _rb, _ri, _fdflags, out) => {
        const path = h.resolve(dirFd, ptr, len);
        if (path === null) return E.BADF;
        if (oflags & (1 | 4 | 8)) return E.ROFS; // CREAT/EXCL/TRUNC: the files are read-only
        let f;
        if (h.files.has(path)) f = { kind: 'file', data: h.files.get(path), pos: 0 };
        else if (h.isDir(path)) f = { kind: 'dir', path };
        else return E.NOENT;
        if ((oflags & 2) && f.kind !== 'dir') return E.NOTDIR;
        const fd = h.nextFd++;
        h.fds.set(fd, f);
        h.dv.setUint32(out, fd, true);
        return 0;
      },
      path_filestat_get: (dirFd, _flags, ptr, len, out) => {
        const path = h.resolve(dirFd, ptr, len);
        if (path === null) return E.BADF;
        if (h.files.has(path)) h.filestat(out, FT.FILE, h.files.get(path).length);
        else if (h.isDir(path)) h.filestat(out, FT.DIR, 0);
        else return E.NOENT;
        return 0;
      },
      poll_oneoff: (i, o, n, ne) => h.pollOneoff(i, o, n, ne),
    };
    // 9p needs these; in-memory files are read-only here.
    for (const name of ['fd_pwrite', 'fd_sync', 'fd_filestat_set_size', 'path_create_directory',
      'path_filestat_set_times', 'path_link', 'path_remove_directory', 'path_rename', 'path_symlink',
      'path_unlink_file']) w[name] = () => E.ROFS;
    for (const name of ['fd_readdir', 'path_readlink', 'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown']) {
      w[name] = () => E.NOTSUP;
    }
    return { wasi_snapshot_preview1: w };
  }

  filestat(out, type, size) {
    for (let b = 0; b < 64; b++) this.dv.setUint8(out + b, 0);
    this.dv.setBigUint64(out + 8, 1n, true);
    this.dv.setUint8(out + 16, type);
    this.dv.setBigUint64(out + 24, 1n, true);
    this.dv.setBigUint64(out + 32, BigInt(size), true);
  }
}
