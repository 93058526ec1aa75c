// A WebSocket as a link of the socket bridge (web/node/bridge-host.mjs): the QEMU stream that
// c2w-net --listen-ws speaks, split anywhere across binary messages (subprotocol "binary").
// A WebSocket cannot stop reading, so pause() queues incoming messages here, up to MAX_QUEUED
// bytes; past that the connection is closed (a peer that ignores flow control), never dropped
// silently in the middle of the stream. write() reports backpressure from bufferedAmount.
const MAX_QUEUED = 16 * 1024 * 1024;
const HIGH_WATER = 1024 * 1024;

export class WebSocketLink {
  constructor(ws, log = () => {}) {
    this.ws = ws;
    this.log = log;
    ws.binaryType = 'arraybuffer';
    this.ondata = null;
    this.ondrain = null;
    this.onclose = null;
    this.paused = false;
    this.queue = [];
    this.queued = 0;
    this.drainTimer = null;
    ws.addEventListener('close', () => this.onclose?.());
    ws.addEventListener('error', () => {}); // 'close' follows
  }

  start() {
    this.ws.addEventListener('message', (ev) => {
      if (typeof ev.data === 'string') return; // the stream is binary only
      const b = new Uint8Array(ev.data);
      if (!this.paused && this.queue.length === 0) { this.ondata?.(b); return; }
      this.queue.push(b);
      this.queued += b.length;
      if (this.queued > MAX_QUEUED) {
        this.log(`ws-link: peer sent ${this.queued} bytes while paused; closing`);
        this.ws.close(1011, 'flow control');
      }
    });
  }

  write(bytes) {
    if (this.ws.readyState !== WebSocket.OPEN) return true;
    this.ws.send(bytes);
    if (this.ws.bufferedAmount < HIGH_WATER) return true;
    if (!this.drainTimer) {
      this.drainTimer = setInterval(() => {
        if (this.ws.readyState !== WebSocket.OPEN || this.ws.bufferedAmount < HIGH_WATER / 2) {
          clearInterval(this.drainTimer);
          this.drainTimer = null;
          this.ondrain?.();
        }
      }, 5);
    }
    return false;
  }

  pause() { this.paused = true; }

  resume() {
    this.paused = false;
    while (!this.paused && this.queue.length) {
      const b = this.queue.shift();
      this.queued -= b.length;
      this.ondata?.(b);
    }
  }

  end() { if (this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000); }
}
