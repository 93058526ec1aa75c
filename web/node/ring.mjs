// Single-producer single-consumer byte ring in shared memory (SharedArrayBuffer),
// used between the thread that runs the Wasm module and the thread that owns
// the transport. No Node or browser specific API: plain typed arrays + Atomics.
//
// Layout: an Int32Array header [head, tail, flags] and a power-of-two data
// area. head and tail count bytes ever consumed / produced (wrapping at 2^32);
// used = tail - head. Only the producer stores tail, only the consumer stores
// head; data is written before tail is published (Atomics.store), so the
// consumer never sees unwritten bytes.

const HEAD = 0, TAIL = 1, FLAGS = 2, HEADER_INTS = 4;

/** Flag bits in the header (set by either side with Atomics.or). */
export const RING_EOF = 1;    // producer will write no more (peer closed / stdin ended)
export const RING_BROKEN = 2; // consumer is gone: the producer's writes fail (EPIPE)

export class Ring {
  /** @param {SharedArrayBuffer} sab from Ring.allocate(capacity) */
  constructor(sab) {
    this.sab = sab;
    this.h = new Int32Array(sab, 0, HEADER_INTS);
    this.cap = sab.byteLength - HEADER_INTS * 4;
    if (this.cap <= 0 || (this.cap & (this.cap - 1)) !== 0) throw new Error('ring capacity must be a power of two');
    this.mask = this.cap - 1;
    this.data = new Uint8Array(sab, HEADER_INTS * 4, this.cap);
  }

  static allocate(capacity) {
    return new SharedArrayBuffer(HEADER_INTS * 4 + capacity);
  }

  used() { return (Atomics.load(this.h, TAIL) - Atomics.load(this.h, HEAD)) | 0; }
  free() { return this.cap - this.used(); }
  flags() { return Atomics.load(this.h, FLAGS); }
  setFlag(bit) { Atomics.or(this.h, FLAGS, bit); }

  /** Producer: copies up to src.length bytes in; returns how many fit. */
  write(src) {
    const head = Atomics.load(this.h, HEAD), tail = Atomics.load(this.h, TAIL);
    const n = Math.min(src.length, this.cap - ((tail - head) | 0));
    if (n <= 0) return 0;
    const at = tail & this.mask, first = Math.min(n, this.cap - at);
    this.data.set(src.subarray(0, first), at);
    if (n > first) this.data.set(src.subarray(first, n), 0);
    Atomics.store(this.h, TAIL, (tail + n) | 0);
    return n;
  }

  /** Consumer: copies up to dst.length bytes out; returns the count. peek leaves them queued. */
  read(dst, peek = false) {
    const head = Atomics.load(this.h, HEAD), tail = Atomics.load(this.h, TAIL);
    const n = Math.min(dst.length, (tail - head) | 0);
    if (n <= 0) return 0;
    const at = head & this.mask, first = Math.min(n, this.cap - at);
    dst.set(this.data.subarray(at, at + first), 0);
    if (n > first) dst.set(this.data.subarray(0, n - first), first);
    if (!peek) Atomics.store(this.h, HEAD, (head + n) | 0);
    return n;
  }

  /** Consumer: a copy of up to max queued bytes, consumed. */
  take(max) {
    const n = Math.min(max, this.used());
    const out = new Uint8Array(n);
    this.read(out);
    return out;
  }

  /** Empties the ring and clears its flags. Only while neither side uses it. */
  reset() {
    Atomics.store(this.h, HEAD, 0);
    Atomics.store(this.h, TAIL, 0);
    Atomics.store(this.h, FLAGS, 0);
  }
}
