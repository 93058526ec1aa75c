// Runs a wasm32-wasi module (our emulator, or any c2w module) under Node 20.
//
// usage: node run-node.mjs [--tcplisten HOST:PORT] [--preopen DIR[::GUEST]]... [--env K=V]...
//                          module.wasm [module args...]
//
//   --tcplisten HOST:PORT  give the module a listening TCP socket, as `wasmtime run --tcplisten`
//                          does; a network stack dials it (e.g. `c2w-net 127.0.0.1:PORT`). The
//                          socket is fd 3+n (n = number of pre-opened directories, which come
//                          first, as in the JVM runner) and the module's `--net=socket` /
//                          `--net=socket=listenfd=M` argument is rewritten to
//                          `--net=socket=listenfd=3+n`.
//   --preopen DIR[::GUEST] pre-open host directory DIR as GUEST (default: the same path).
//   --env K=V              an environment variable for the module (default: none).
// The directories named in C2W_PREOPENS (colon-separated) are pre-opened first under their own
// paths; with neither C2W_PREOPENS nor --preopen: the current directory and /tmp.
//
// The module runs in a worker thread on node:wasi, with the socket bridge (web/node/) on top:
// sockets, stdin (fd 0) and poll_oneoff are answered from shared-memory rings that the main
// thread fills from the TCP connection and from process.stdin, so a module waiting in
// poll_oneoff sleeps (Atomics.wait) until a deadline, a byte or a peer arrives.
// C2W_NODE_DIRECT=1 runs the module on the main thread with plain node:wasi instead (no sockets,
// no stdin polling), as this script did before the bridge.
import { WASI } from 'node:wasi';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import process from 'node:process';
import { allocateShared } from '../../../web/node/bridge-shared.mjs';
import { BridgeHost } from '../../../web/node/bridge-host.mjs';
import { listenTcp, parseHostPort } from '../../../web/node/node-link.mjs';

const USAGE = 'usage: node run-node.mjs [--tcplisten HOST:PORT] [--preopen DIR[::GUEST]]... [--env K=V]... module.wasm [args...]';

function die(msg, code = 125) {
  process.stderr.write(`run-node: ${msg}\n`);
  process.exit(code);
}

// --- command line --------------------------------------------------------------------------
const argv = process.argv.slice(2);
let tcplisten = null;
const preopenList = [];
const env = {};
while (argv.length > 0 && argv[0].startsWith('--')) {
  const a = argv.shift();
  const eq = a.indexOf('=');
  const name = eq > 0 ? a.slice(0, eq) : a;
  const value = () => {
    if (eq > 0) return a.slice(eq + 1);
    if (argv.length === 0) die(`${name} needs a value\n${USAGE}`);
    return argv.shift();
  };
  if (name === '--tcplisten') tcplisten = value();
  else if (name === '--preopen' || name === '--dir') {
    const v = value(), sep = v.indexOf('::');
    preopenList.push(sep >= 0 ? [v.slice(sep + 2), v.slice(0, sep)] : [v, v]);
  } else if (name === '--env') {
    const v = value(), k = v.indexOf('=');
    if (k <= 0) die(`--env wants K=V, got ${JSON.stringify(v)}`);
    env[v.slice(0, k)] = v.slice(k + 1);
  } else if (name === '--') break;
  else die(`unknown option ${a}\n${USAGE}`);
}
const [wasmPath, ...moduleArgs] = argv;
if (!wasmPath) die(USAGE);
try { fs.accessSync(wasmPath, fs.constants.R_OK); } catch (e) { die(`cannot read module ${wasmPath}: ${e.code || e.message}`); }
if (tcplisten !== null) {
  try { parseHostPort(tcplisten); } catch (e) { die(e.message); }
}

const envDirs = (process.env.C2W_PREOPENS || '').split(':').filter(Boolean).map(d => [d, d]);
let dirs = [...envDirs, ...preopenList];
if (dirs.length === 0) dirs = [[process.cwd(), process.cwd()], ['/tmp', '/tmp']];
const preopens = {};
for (const [guest, host] of dirs) if (!(guest in preopens)) preopens[guest] = host;

// --- legacy: plain node:wasi on this thread ------------------------------------------------
if (process.env.C2W_NODE_DIRECT === '1') {
  if (tcplisten !== null) die('--tcplisten needs the worker host (unset C2W_NODE_DIRECT)');
  const wasi = new WASI({ version: 'preview1', args: ['c2w-emu', ...moduleArgs], env, preopens, returnOnExit: false });
  const module = await WebAssembly.compile(fs.readFileSync(wasmPath));
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
  process.exit(wasi.start(instance));
}

// --- fds: pre-opens at 3.., then the listening socket and its connection -------------------
const nPreopens = Object.keys(preopens).length;
let listenFd, connFd;
const args = ['c2w-emu', ...moduleArgs];
if (tcplisten !== null) {
  listenFd = 3 + nPreopens;
  connFd = listenFd + 1;
  // Two placeholder pre-opens after the real ones keep node:wasi from ever handing out the
  // socket fds; the bridge answers every call on them (wasi-libc's pre-open scan sees sockets).
  const placeholderDir = Object.values(preopens)[0] ?? os.tmpdir();
  preopens['/.c2w-socket-listen'] = placeholderDir;
  preopens['/.c2w-socket-conn'] = placeholderDir;
  if (Object.keys(preopens).length !== nPreopens + 2) die('a pre-open is named /.c2w-socket-*');
  for (let i = 1; i < args.length; i++) {
    if (/^--net=socket(=listenfd=\d+)?$/.test(args[i])) args[i] = `--net=socket=listenfd=${listenFd}`;
    else if (args[i] === '--net' && /^socket(=listenfd=\d+)?$/.test(args[i + 1] ?? '')) {
      args[++i] = `socket=listenfd=${listenFd}`;
    }
  }
}

if (tcplisten === null && args.some((a, i) => /^--net=socket/.test(a) || (a === '--net' && /^socket/.test(args[i + 1] ?? '')))) {
  process.stderr.write('run-node: warning: --net=socket without --tcplisten: the module gets no socket\n');
}

// --- main thread: transport + stdin; the module runs in a worker ---------------------------
const shared = allocateShared();
let server = null;
let exiting = false;
function finish(code) {
  if (exiting) return;
  exiting = true;
  server?.close();
  setImmediate(() => process.exit(code));
}
const host = new BridgeHost(shared, {
  log: msg => process.stderr.write(`run-node: ${msg}\n`),
  schedule: setImmediate,
  onExit: finish,
  onStdinWanted: () => {
    process.stdin.on('data', b => {
      if (!host.stdinData(new Uint8Array(b.buffer, b.byteOffset, b.length))) process.stdin.pause();
    });
    process.stdin.on('end', () => host.stdinEnd());
    process.stdin.on('error', () => host.stdinEnd());
  },
  onStdinSpace: () => process.stdin.resume(),
  onListenClosed: () => { server?.close(); server = null; },
});
if (tcplisten !== null) {
  try {
    server = await listenTcp(tcplisten, host);
  } catch (e) {
    die(`cannot listen on ${tcplisten}: ${e.message}`);
  }
  const a = server.address();
  process.stderr.write(`run-node: listening on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port} (guest fd ${listenFd})\n`);
}
host.start();
const worker = new Worker(new URL('../../../web/node/node-worker.mjs', import.meta.url), {
  workerData: { wasmPath, args, env, preopens, shared, listenFd, connFd },
});
worker.on('error', e => { process.stderr.write(`run-node: worker: ${e && e.stack || e}\n`); finish(1); });
worker.on('exit', code => { if (!exiting) { process.stderr.write(`run-node: worker ended (${code})\n`); finish(code || 1); } });
