// Runs one Wasm module under WasiHost in a Worker. Message in:
//   { wasm: ArrayBuffer | WebAssembly.Module, files: { "/path": Uint8Array }, args: [...], env: [...],
//     shared?: allocateShared() of web/node/bridge-shared.mjs, net?: boolean }
// With `shared`, the bridge of web/node/ (wasi-socket.mjs) is laid over the WASI imports: stdin
// comes from its shared ring (the page's keyboard), and with `net` the module also gets a
// listening socket on fd 4 (its peer is whatever the page attaches to the bridge, e.g. a WebSocket
// to c2w-net --listen-ws) and fd 5 for the accepted connection.
// Messages out: { type: "out", fd: 1|2, bytes: Uint8Array }, { type: "exit", code },
// { type: "error", message }. After "exit" with a bridge the thread parks; the page terminates it.
import { WasiHost } from './wasi-host.js';
import { socketBridgeImports } from './node/wasi-socket.mjs';

const LISTEN_FD = 4;

onmessage = async (ev) => {
  const msg = ev.data;
  try {
    const host = new WasiHost({
      args: msg.args, env: msg.env || [], files: new Map(Object.entries(msg.files || {})),
      reserveFds: msg.net ? 2 : 0,
      stdout: (b) => postMessage({ type: 'out', fd: 1, bytes: b }),
      stderr: (b) => postMessage({ type: 'out', fd: 2, bytes: b }),
    });
    let inst = null;
    let wasi = host.imports().wasi_snapshot_preview1;
    if (msg.shared) {
      const bridged = socketBridgeImports({ base: wasi, memory: () => inst.exports.memory, shared: msg.shared,
        listenFd: msg.net ? LISTEN_FD : undefined, connFd: msg.net ? LISTEN_FD + 1 : undefined,
        bridgeStdin: true, nowNs: (id) => host.nowNs(id) });
      // the exit message goes out before the bridge parks this thread, after all output messages
      bridged.proc_exit = (code) => { postMessage({ type: 'exit', code }); bridged.exitStatus(code); };
      wasi = bridged;
    }
    const mod = msg.wasm instanceof WebAssembly.Module ? msg.wasm : await WebAssembly.compile(msg.wasm);
    inst = await WebAssembly.instantiate(mod, { wasi_snapshot_preview1: wasi });
    const code = host.start(inst);
    postMessage({ type: 'exit', code });
    if (msg.shared) wasi.exitStatus(code);
  } catch (e) {
    postMessage({ type: 'error', message: String(e && e.stack || e) });
  }
};
