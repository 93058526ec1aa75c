// Host side of the socket bridge: moves bytes between the shared rings and a
// transport connection ("link"), and signals the module thread. Runs on the
// thread that owns the event loop (Node's main thread, or a browser page);
// no Node API is used here, the transport is behind the Link interface:
//
//   link.start()        begin delivering ondata (a link is not read before it is attached)
//   link.write(bytes)   queue bytes for the peer; false = stop writing until ondrain
//   link.pause() / link.resume()   flow control of ondata
//   link.end()          close after the queued bytes are sent
//   link.ondata(bytes) / link.ondrain() / link.onclose()   set by BridgeHost
//
// A Node net.Socket adapter is in node-link.mjs; a WebSocket adapter would map
// messages to ondata and bufferedAmount to write()/ondrain.
import { C, S, RING_EOF, RING_BROKEN, bump, openShared } from './bridge-shared.mjs';

const TX_CHUNK = 64 * 1024;

export class BridgeHost {
  /**
   * @param {object} shared from allocateShared()
   * @param {object} [o]
   * @param {number} [o.maxQueued] peers waiting for the module's next accept (more are refused)
   * @param {(msg: string) => void} [o.log]
   * @param {(code: number) => void} [o.onExit] the module finished (after its last bytes went to the link)
   * @param {() => void} [o.onStdinWanted] the module uses fd 0: start calling stdinData/stdinEnd
   * @param {() => void} [o.onStdinSpace] room again in the stdin ring after stdinData returned false
   * @param {() => void} [o.onListenClosed] the module closed its listening socket
   * @param {(f: () => void) => void} [o.schedule] run f soon as a macrotask (Node: setImmediate)
   */
  constructor(shared, o = {}) {
    this.sh = openShared(shared);
    this.ctl = this.sh.ctl;
    this.o = o;
    this.maxQueued = o.maxQueued ?? 4;
    this.log = o.log ?? (() => {});
    this.schedule = o.schedule ?? (f => setTimeout(f, 0));
    this.queue = [];        // links waiting to be offered
    this.cur = null;        // the link bound to the rings
    this.pendingRx = null;  // peer bytes that did not fit in rx yet
    this.peerEnded = false;
    this.linkBlocked = false;
    this.endedWr = false;
    this.pendingStdin = null;
    this.stdinEnded = false;
    this.stdinStarted = false;
    this.listenClosed = false;
    this.exited = false;
    this.stopped = false;
  }

  /** Starts watching the module's signals. */
  start() { this.arm(); return this; }

  stop() { this.stopped = true; }

  arm() {
    if (this.stopped) return;
    const seen = Atomics.load(this.ctl, C.HOST_SEQ);
    this.pump();
    if (this.stopped) return;
    const w = Atomics.waitAsync(this.ctl, C.HOST_SEQ, seen);
    if (w.async) w.value.then(() => this.arm());
    else this.schedule(() => this.arm());
  }

  notifyModule() { bump(this.ctl, C.MODULE_SEQ); }

  /** A peer connected (the transport accepted it). */
  connection(link) {
    if (this.listenClosed || this.exited) { link.end(); return; }
    link.onclose = () => this.linkClosed(link);
    this.queue.push(link);
    if (this.queue.length > this.maxQueued) {
      const drop = this.queue.shift();
      Atomics.add(this.ctl, C.REFUSED, 1);
      this.log(`more than ${this.maxQueued} peers waiting for the guest: closing the oldest`);
      drop.onclose = null;
      drop.end();
    }
    this.pump();
  }

  attach(link) {
    this.sh.rx.reset();
    this.sh.tx.reset();
    Atomics.store(this.ctl, C.RX_WANT_SPACE, 0);
    Atomics.store(this.ctl, C.SHUT_WR, 0);
    this.cur = link;
    this.pendingRx = null;
    this.peerEnded = false;
    this.linkBlocked = false;
    this.endedWr = false;
    link.ondata = b => this.peerData(link, b);
    link.ondrain = () => { if (link === this.cur) { this.linkBlocked = false; this.pump(); } };
    Atomics.store(this.ctl, C.STATE, S.OFFERED);
    link.start();
    this.notifyModule();
  }

  peerData(link, bytes) {
    if (link !== this.cur) return;
    if (Atomics.load(this.ctl, C.STATE) === S.CLOSING) return; // module closed it: discard
    this.pendingRx = this.pendingRx ? concat(this.pendingRx, bytes) : bytes;
    this.pushRx();
  }

  /** Moves pending peer bytes into rx; pauses the link while they do not fit. */
  pushRx() {
    const rx = this.sh.rx;
    if (this.pendingRx) {
      Atomics.store(this.ctl, C.RX_WANT_SPACE, 1); // before writing: a read after this signals us
      const n = rx.write(this.pendingRx);
      if (n > 0) this.notifyModule();
      if (n === this.pendingRx.length) {
        this.pendingRx = null;
        Atomics.store(this.ctl, C.RX_WANT_SPACE, 0);
        this.cur.resume();
      } else {
        this.pendingRx = this.pendingRx.subarray(n);
        this.cur.pause();
      }
    }
    if (!this.pendingRx && this.peerEnded && !(rx.flags() & RING_EOF)) {
      rx.setFlag(RING_EOF);
      this.notifyModule();
    }
  }

  linkClosed(link) {
    const i = this.queue.indexOf(link);
    if (i >= 0) { this.queue.splice(i, 1); return; }
    if (link !== this.cur) return;
    // the peer left before the module accepted it: forget it
    if (Atomics.compareExchange(this.ctl, C.STATE, S.OFFERED, S.IDLE) === S.OFFERED) {
      this.cur = null;
      this.pendingRx = null;
      this.notifyModule();
      this.pump();
      return;
    }
    // accepted: the module reads what is left, then end of stream; its sends fail
    this.peerEnded = true;
    this.sh.tx.setFlag(RING_BROKEN);
    this.pushRx();
    this.notifyModule();
  }

  /** Acts on everything the module may have changed. Idempotent. */
  pump() {
    const ctl = this.ctl;
    if (this.exited) return;
    if (Atomics.load(ctl, C.LISTEN_CLOSED) && !this.listenClosed) {
      this.listenClosed = true;
      for (const l of this.queue.splice(0)) { l.onclose = null; l.end(); }
      this.o.onListenClosed?.();
    }
    let state = Atomics.load(ctl, C.STATE);
    if (state === S.CLOSING) {
      if (this.cur) {
        this.drainTx(true);
        this.cur.ondata = this.cur.ondrain = this.cur.onclose = null;
        this.cur.end();
      }
      this.cur = null;
      this.pendingRx = null;
      Atomics.store(ctl, C.STATE, S.IDLE);
      state = S.IDLE;
    }
    if (state === S.IDLE && this.queue.length > 0 && !this.listenClosed) {
      this.attach(this.queue.shift());
      state = S.OFFERED;
    }
    if (this.cur && (state === S.OFFERED || state === S.ACCEPTED)) {
      this.pushRx();
      this.drainTx(false);
      if (Atomics.load(ctl, C.SHUT_WR) && this.sh.tx.used() === 0 && !this.endedWr && !this.peerEnded) {
        this.endedWr = true;
        this.cur.end();
      }
    }
    if (Atomics.load(ctl, C.STDIN_WANTED) && !this.stdinStarted) {
      this.stdinStarted = true;
      this.o.onStdinWanted?.();
    }
    if (this.pendingStdin) this.pushStdin();
    if (Atomics.load(ctl, C.EXITED)) {
      this.exited = true;
      this.stopped = true;
      if (this.cur) {
        if (Atomics.load(ctl, C.STATE) === S.ACCEPTED) this.drainTx(true);
        this.cur.end();
      }
      for (const l of this.queue.splice(0)) { l.onclose = null; l.end(); }
      this.o.onExit?.(Atomics.load(ctl, C.EXIT_CODE));
    }
  }

  /** Moves module bytes from tx to the link; all = also when the link asked to wait. */
  drainTx(all) {
    const tx = this.sh.tx;
    if (this.peerEnded) { // nobody to send to: discard, so a blocked sender wakes up
      if (tx.used() > 0) { tx.take(tx.used()); this.notifyModule(); }
      return;
    }
    let moved = false;
    while (tx.used() > 0 && (all || !this.linkBlocked)) {
      const chunk = tx.take(TX_CHUNK);
      moved = true;
      if (!this.cur.write(chunk)) this.linkBlocked = true;
    }
    if (moved) this.notifyModule();
  }

  // --- stdin -------------------------------------------------------------------------------
  /** Host stdin bytes; false = the ring is full, wait for onStdinSpace before sending more. */
  stdinData(bytes) {
    this.pendingStdin = this.pendingStdin ? concat(this.pendingStdin, bytes) : bytes;
    return this.pushStdin();
  }

  stdinEnd() {
    this.stdinEnded = true;
    this.pushStdin();
  }

  pushStdin() {
    const ring = this.sh.stdin;
    if (this.pendingStdin) {
      Atomics.store(this.ctl, C.STDIN_WANT_SPACE, 1);
      const n = ring.write(this.pendingStdin);
      if (n > 0) this.notifyModule();
      if (n === this.pendingStdin.length) {
        this.pendingStdin = null;
        Atomics.store(this.ctl, C.STDIN_WANT_SPACE, 0);
        this.o.onStdinSpace?.();
      } else {
        this.pendingStdin = this.pendingStdin.subarray(n);
        return false;
      }
    }
    if (this.stdinEnded && !(ring.flags() & RING_EOF)) {
      ring.setFlag(RING_EOF);
      this.notifyModule();
    }
    return true;
  }
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
