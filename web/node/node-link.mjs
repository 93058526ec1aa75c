// Node transport for BridgeHost: a TCP listener whose connections become links.
import net from 'node:net';

/** A net.Socket as a BridgeHost link. */
export class SocketLink {
  constructor(socket) {
    this.socket = socket;
    this.ondata = null;
    this.ondrain = null;
    this.onclose = null;
    socket.setNoDelay(true); // one write per frame batch already: do not hold small frames back
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.onclose?.());
  }

  start() {
    this.socket.on('data', b => this.ondata?.(new Uint8Array(b.buffer, b.byteOffset, b.length)));
    this.socket.on('drain', () => this.ondrain?.());
    this.socket.resume(); // accepted paused (pauseOnConnect): start reading now
  }

  write(bytes) { return this.socket.destroyed ? true : this.socket.write(bytes); }
  pause() { this.socket.pause(); }
  resume() { this.socket.resume(); }
  end() { if (!this.socket.destroyed) this.socket.end(); }
}

/**
 * Parses HOST:PORT ("127.0.0.1:1234", "[::1]:1234", "localhost:0").
 * @returns {{host: string, port: number}}
 */
export function parseHostPort(s) {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  if (!m || Number(m[3]) > 65535) throw new Error(`bad address ${JSON.stringify(s)}: want HOST:PORT`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** Listens on HOST:PORT and hands each connection to bridge.connection(); resolves with the server. */
export function listenTcp(addr, bridge) {
  const { host, port } = parseHostPort(addr);
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, s => bridge.connection(new SocketLink(s)));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', e => process.stderr.write(`run-node: listener: ${e.message}\n`));
      resolve(server);
    });
  });
}
