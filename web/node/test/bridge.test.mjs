// Unit tests of the socket bridge without the emulator: the module-side imports
// (wasi-socket.mjs) called directly on a WebAssembly.Memory, the host side
// (bridge-host.mjs) with a real TCP listener on 127.0.0.1 and real client sockets.
// Both sides share this thread, so the module side only makes non-blocking calls
// and the test lets the event loop run between them.
// Run: node --test web/node/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Ring } from '../ring.mjs';
import { allocateShared, C, S } from '../bridge-shared.mjs';
import { BridgeHost } from '../bridge-host.mjs';
import { listenTcp } from '../node-link.mjs';
import { socketBridgeImports } from '../wasi-socket.mjs';

const E = { SUCCESS: 0, AGAIN: 6, BADF: 8, NOTDIR: 54, PIPE: 64, SPIPE: 70 };
const NONBLOCK = 4;
const tick = () => new Promise(r => setImmediate(r));

test('ring: wrap-around, partial writes when full, peek', () => {
  const r = new Ring(Ring.allocate(16));
  assert.equal(r.write(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), 10);
  const out = new Uint8Array(8);
  assert.equal(r.read(out), 8);
  assert.deepEqual([...out], [1, 2, 3, 4, 5, 6, 7, 8]);
  // 2 queued; 14 free; a 20-byte write takes 14 and wraps
  const big = Uint8Array.from({ length: 20 }, (_, i) => 100 + i);
  assert.equal(r.write(big), 14);
  assert.equal(r.free(), 0);
  assert.equal(r.write(Uint8Array.of(1)), 0);
  const peeked = new Uint8Array(3);
  assert.equal(r.read(peeked, true), 3);
  assert.deepEqual([...peeked], [9, 10, 100]);
  const all = r.take(100);
  assert.deepEqual([...all], [9, 10, ...big.subarray(0, 14)]);
  assert.equal(r.used(), 0);
});

/** The module side over a 1-page memory; a scratch layout for iovecs and results. */
function moduleSide(shared, listenFd) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const base = new Proxy({}, {
    get: (_, name) => (name === 'fd_fdstat_get' ? (fd) => (fd <= 2 ? E.SUCCESS : E.BADF) : () => 99),
    ownKeys: () => ['fd_seek', 'fd_read', 'fd_write', 'fd_close', 'fd_fdstat_get', 'fd_prestat_get', 'path_open', 'poll_oneoff'],
    getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }),
  });
  const imp = socketBridgeImports({
    base, memory: () => memory, shared, listenFd, bridgeStdin: true,
    nowNs: () => process.hrtime.bigint(),
  });
  const m = () => new DataView(memory.buffer);
  const bytes = () => new Uint8Array(memory.buffer);
  const BUF = 4096, BUFLEN = 32768, IOV = 64, RES = 80, RES2 = 88, SUBS = 1024, EVS = 2048;
  return {
    imp,
    accept(flags = NONBLOCK) {
      const e = imp.sock_accept(listenFd, flags, RES);
      return e === E.SUCCESS ? m().getUint32(RES, true) : -e;
    },
    recv(fd, max = BUFLEN) {
      m().setUint32(IOV, BUF, true); m().setUint32(IOV + 4, max, true);
      const e = imp.sock_recv(fd, IOV, 1, 0, RES, RES2);
      if (e !== E.SUCCESS) return -e;
      return bytes().slice(BUF, BUF + m().getUint32(RES, true));
    },
    send(fd, data) {
      bytes().set(data, BUF);
      m().setUint32(IOV, BUF, true); m().setUint32(IOV + 4, data.length, true);
      const e = imp.sock_send(fd, IOV, 1, 0, RES);
      return e === E.SUCCESS ? m().getUint32(RES, true) : -e;
    },
    /** poll_oneoff with a 0 ns relative clock plus [fd, type] subscriptions; returns [[userdata, error, type, nbytes, flags]] */
    poll(fds) {
      const v = m();
      const subs = [[0, 0], ...fds];
      subs.forEach(([fd, type], i) => {
        const b = SUBS + 48 * i;
        for (let j = 0; j < 48; j += 4) v.setUint32(b + j, 0, true);
        v.setBigUint64(b, BigInt(i), true);
        v.setUint8(b + 8, i === 0 ? 0 : type);
        if (i === 0) { v.setUint32(b + 16, 1, true); v.setBigUint64(b + 24, 0n, true); }
        else v.setUint32(b + 16, fd, true);
      });
      assert.equal(imp.poll_oneoff(SUBS, EVS, subs.length, RES), E.SUCCESS);
      const n = m().getUint32(RES, true), out = [];
      for (let k = 0; k < n; k++) {
        const b = EVS + 32 * k;
        out.push([Number(v.getBigUint64(b, true)), v.getUint16(b + 8, true), v.getUint8(b + 10),
          Number(v.getBigUint64(b + 16, true)), v.getUint16(b + 24, true)]);
      }
      return out.filter(e => e[0] !== 0); // drop the clock event
    },
    m, RES,
  };
}

async function until(what, f, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await tick();
  }
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

function collect(sock) {
  const chunks = [];
  let ended = false;
  sock.on('data', b => chunks.push(b));
  sock.on('end', () => { ended = true; });
  return { bytes: () => Buffer.concat(chunks), ended: () => ended };
}

test('socket bridge: accept, both directions with backpressure, EOF, re-accept, fd guards', async () => {
  const shared = allocateShared({ rx: 64 * 1024, tx: 64 * 1024, stdin: 1024 });
  const host = new BridgeHost(shared, { schedule: setImmediate }).start();
  const server = await listenTcp('127.0.0.1:0', host);
  const port = server.address().port;
  const LFD = 5, CFD = 6;
  const mod = moduleSide(shared, LFD);
  const ctl = new Int32Array(shared.ctl);
  try {
    // no peer yet
    assert.equal(mod.accept(), -E.AGAIN);
    assert.deepEqual(mod.poll([[LFD, 1]]), []);
    // pre-open scan walks past the socket; path calls and seeks are refused
    assert.equal(mod.imp.fd_prestat_get(LFD, mod.RES), E.SUCCESS);
    assert.equal(mod.m().getUint8(mod.RES), 1);
    assert.equal(mod.imp.path_open(LFD, 0, 0, 0, 0, 0n, 0n, 0, mod.RES), E.NOTDIR);
    assert.equal(mod.imp.fd_prestat_get(CFD, mod.RES), E.BADF);
    assert.equal(mod.imp.fd_seek(7, 0n, 0, mod.RES), 99, 'other fds reach the base');

    const c1 = await connect(port);
    const got1 = collect(c1);
    await until('listening socket readable', () => mod.poll([[LFD, 1]]).length === 1);
    assert.equal(mod.accept(), CFD);
    assert.equal(mod.accept(), -E.AGAIN, 'one connection at a time');
    assert.equal(mod.imp.fd_seek(CFD, 0n, 0, mod.RES), E.SPIPE);

    // peer -> module: 300 KB through a 64 KiB ring (the host pauses the socket while it is full)
    const inbound = randomBytes(300 * 1000); // not periodic: a wrong wrap-around shows
    c1.write(inbound);
    const recvd = [];
    let total = 0;
    await until('300 KB received', () => {
      const r = mod.recv(CFD, 10007); // odd sizes: the host's writes cross the ring's end
      if (r instanceof Uint8Array) { recvd.push(Buffer.from(r)); total += r.length; }
      else assert.equal(r, -E.AGAIN);
      return total >= inbound.length;
    });
    assert.ok(Buffer.concat(recvd).equals(inbound));

    // module -> peer: sends are partial / EAGAIN while the 64 KiB ring is full
    const outbound = randomBytes(500 * 1000);
    let off = 0, sawBackpressure = false;
    await until('500 KB sent', () => {
      while (off < outbound.length) { // without yielding: the host cannot drain meanwhile
        const want = Math.min(30000, outbound.length - off);
        const n = mod.send(CFD, outbound.subarray(off, off + want));
        if (n === -E.AGAIN) { sawBackpressure = true; break; }
        assert.ok(n > 0);
        off += n;
        if (n < want) {
          sawBackpressure = true;
          assert.equal(mod.send(CFD, outbound.subarray(off, off + 1)), -E.AGAIN, 'full ring: EAGAIN, not 0');
          break;
        }
      }
      return off >= outbound.length;
    });
    assert.ok(sawBackpressure, 'a full ring refused part of a send');
    await until('peer got everything', () => got1.bytes().length >= outbound.length);
    assert.ok(got1.bytes().equals(outbound));

    // the peer leaves: bytes already sent are still read, then end of stream; sends fail
    c1.end(Buffer.from('bye'));
    await until('hangup visible in poll', () => {
      const ev = mod.poll([[CFD, 1]]);
      return ev.length === 1 && (ev[0][4] & 1) === 1;
    });
    assert.deepEqual([...mod.recv(CFD)], [...Buffer.from('bye')]);
    assert.equal(mod.recv(CFD).length, 0, 'end of stream');
    await until('send fails after the peer left', () => mod.send(CFD, Buffer.from('x')) === -E.PIPE);
    assert.equal(mod.imp.fd_close(CFD), E.SUCCESS);
    assert.equal(mod.imp.fd_close(CFD), E.BADF);
    await until('host back to idle', () => Atomics.load(ctl, C.STATE) === S.IDLE);

    // the next peer is accepted on the same fd, with fresh rings
    const c2 = await connect(port);
    const got2 = collect(c2);
    c2.write('hello');
    await until('second peer offered', () => mod.accept() === CFD);
    await until('second peer data', () => {
      const r = mod.recv(CFD);
      return r instanceof Uint8Array && Buffer.from(r).toString() === 'hello';
    });
    assert.equal(mod.send(CFD, Buffer.from('world')), 5);
    // the module closes: its last bytes are flushed, then the peer sees the end
    assert.equal(mod.imp.fd_close(CFD), E.SUCCESS);
    await until('peer sees end of stream', () => got2.ended());
    assert.equal(got2.bytes().toString(), 'world');
    assert.equal(Atomics.load(ctl, C.ACCEPTED), 2);
  } finally {
    host.stop();
    server.close();
  }
});

test('stdin bridge: fd 0 polls and reads from the host side', async () => {
  const shared = allocateShared({ rx: 1024, tx: 1024, stdin: 16 });
  let wanted = false;
  const host = new BridgeHost(shared, { schedule: setImmediate, onStdinWanted: () => { wanted = true; } }).start();
  const mod = moduleSide(shared, -1);
  try {
    assert.deepEqual(mod.poll([[0, 1]]), []);
    await until('host asked for stdin', () => wanted);
    // 40 bytes through a 16-byte ring: stdinData says when to wait
    const text = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCD');
    assert.equal(host.stdinData(text), false);
    host.stdinEnd();
    let got = '';
    const { m } = mod;
    assert.equal(mod.imp.fd_fdstat_set_flags(0, NONBLOCK), E.SUCCESS); // this thread must not block
    await until('all stdin read', () => {
      m().setUint32(64, 4096, true); m().setUint32(68, 7, true);
      const e = mod.imp.fd_read(0, 64, 1, 80);
      if (e === E.AGAIN) return false;
      assert.equal(e, E.SUCCESS);
      const n = m().getUint32(80, true);
      got += Buffer.from(new Uint8Array(m().buffer, 4096, n)).toString();
      return got.length === text.length;
    });
    assert.equal(got, text.toString());
    const ev = mod.poll([[0, 1]]);
    assert.equal(ev.length, 1);
    assert.equal(ev[0][4] & 1, 1, 'end of input: hangup');
    // closing fd 0 closes the module's view only (the host keeps its stdin)
    assert.equal(mod.imp.fd_close(0), E.SUCCESS);
    assert.equal(mod.imp.fd_read(0, 64, 1, 80), E.BADF);
    assert.equal(mod.imp.fd_close(0), E.BADF);
  } finally {
    host.stop();
  }
});

test('a pointer outside memory is EFAULT, not an exception', () => {
  const shared = allocateShared({ rx: 1024, tx: 1024, stdin: 16 });
  const mod = moduleSide(shared, 5);
  assert.equal(mod.imp.sock_accept(5, NONBLOCK, 1 << 30), E.AGAIN); // no peer: the pointer is not touched
  assert.equal(mod.imp.poll_oneoff(1 << 30, 0, 1, 0), 21);
  assert.equal(mod.imp.fd_prestat_get(5, 65536 - 2), 21);
});
