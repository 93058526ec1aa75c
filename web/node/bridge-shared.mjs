// Shared state between the thread that runs the Wasm module ("module side",
// wasi-socket.mjs) and the thread that owns the transport ("host side",
// bridge-host.mjs). Plain SharedArrayBuffers, so the same layout works between
// a Node worker_thread and its parent or a browser Worker and its page.
import { Ring } from './ring.mjs';
export { RING_EOF, RING_BROKEN } from './ring.mjs';

// Slots of the control Int32Array.
export const C = {
  MODULE_SEQ: 0,   // bumped by the host side on every change the module may wait for
  HOST_SEQ: 1,     // bumped by the module side on every change the host side must act on
  STATE: 2,        // connection state (S below)
  LISTEN_CLOSED: 3,// module closed the listening socket
  EXITED: 4,       // module finished; EXIT_CODE holds its status
  EXIT_CODE: 5,
  SHUT_WR: 6,      // module shut down its sending side: end the peer connection once tx is drained
  STDIN_WANTED: 7, // module touched fd 0: start reading the host's stdin
  RX_WANT_SPACE: 8,   // host has peer bytes waiting for room in rx: module signals when it reads
  STDIN_WANT_SPACE: 9,// same for stdin
  PARK: 10,        // never changes: the module thread waits on it forever after exit
  ACCEPTED: 11,    // counters (read by tests and logs)
  REFUSED: 12,
  SLOTS: 16,
};

// Connection states. One connection at a time, like the emulators expect.
//   IDLE --host attaches a peer--> OFFERED --module sock_accept--> ACCEPTED
//   ACCEPTED --module fd_close--> CLOSING --host flushes and ends the peer--> IDLE
//   OFFERED --peer leaves before the accept--> IDLE
export const S = { IDLE: 0, OFFERED: 1, ACCEPTED: 2, CLOSING: 3 };

export const DEFAULT_SIZES = { rx: 512 * 1024, tx: 512 * 1024, stdin: 64 * 1024 };

/** Allocates the shared buffers; the result is structured-cloneable (postMessage / workerData). */
export function allocateShared(sizes = DEFAULT_SIZES) {
  return {
    ctl: new SharedArrayBuffer(C.SLOTS * 4),
    rx: Ring.allocate(sizes.rx),       // peer -> module
    tx: Ring.allocate(sizes.tx),       // module -> peer
    stdin: Ring.allocate(sizes.stdin), // host stdin -> module fd 0
  };
}

/** Views over the shared buffers (each side builds its own). */
export function openShared(shared) {
  return {
    ctl: new Int32Array(shared.ctl),
    rx: new Ring(shared.rx),
    tx: new Ring(shared.tx),
    stdin: new Ring(shared.stdin),
  };
}

/** Bumps a sequence slot and wakes its waiters (Atomics.wait or Atomics.waitAsync). */
export function bump(ctl, slot) {
  Atomics.add(ctl, slot, 1);
  Atomics.notify(ctl, slot);
}
