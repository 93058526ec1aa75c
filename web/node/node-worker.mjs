// Worker thread of run-node.mjs: runs the Wasm module on node:wasi with the
// socket bridge's imports on top. workerData: {wasmPath, args, env, preopens,
// shared, listenFd, connFd}. The module's exit status goes back through the
// shared control block (wasi-socket.mjs: exitStatus); this thread then parks
// and the main thread ends the process.
import { WASI } from 'node:wasi';
import { workerData } from 'node:worker_threads';
import fs from 'node:fs';
import { socketBridgeImports } from './wasi-socket.mjs';

const { wasmPath, args, env, preopens, shared, listenFd, connFd } = workerData;
const wasi = new WASI({ version: 'preview1', args, env, preopens, returnOnExit: false });
let instance;
const t0ns = process.hrtime.bigint();
const imports = socketBridgeImports({
  base: wasi.wasiImport,
  memory: () => instance.exports.memory,
  shared,
  listenFd,
  connFd,
  bridgeStdin: true,
  // the clocks node:wasi's clock_time_get reports: realtime, monotonic (uv_hrtime), cpu time
  nowNs: id => (id === 0 ? BigInt(Date.now()) * 1000000n : id === 1 ? process.hrtime.bigint()
    : process.hrtime.bigint() - t0ns),
});

let status;
try {
  const module = await WebAssembly.compile(fs.readFileSync(wasmPath));
  instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: imports });
  wasi.start(instance);
  status = 0; // _start returned: exit status 0 (wasi-libc calls proc_exit only for others)
} catch (e) {
  // a trap (or a broken module): wasmtime's status 134, as the JVM runner
  fs.writeSync(2, `run-node: ${e instanceof WebAssembly.RuntimeError ? 'wasm trap' : 'error'}: ${e && e.stack || e}\n`);
  status = e instanceof WebAssembly.RuntimeError ? 134 : 125;
}
imports.exitStatus(status);
