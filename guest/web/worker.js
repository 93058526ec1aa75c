// Runs one Wasm module under WasiHost in a Worker. Message in:
//   { wasm: ArrayBuffer | WebAssembly.Module, files: { "/path": Uint8Array }, args: [...], env: [...] }
// Messages out: { type: "out", fd: 1|2, bytes: Uint8Array }, { type: "exit", code },
// { type: "error", message }.
import { WasiHost } from './wasi-host.js';

let host = null;

onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === 'stdin') { if (host) host.pushStdin(msg.bytes); return; }
  try {
    host = new WasiHost({
      args: msg.args, env: msg.env || [], files: new Map(Object.entries(msg.files || {})),
      interactive: !!msg.interactive,
      stdout: (b) => postMessage({ type: 'out', fd: 1, bytes: b }),
      stderr: (b) => postMessage({ type: 'out', fd: 2, bytes: b }),
    });
    const mod = msg.wasm instanceof WebAssembly.Module ? msg.wasm : await WebAssembly.compile(msg.wasm);
    const inst = await WebAssembly.instantiate(mod, host.imports());
    postMessage({ type: 'exit', code: host.start(inst) });
  } catch (e) {
    postMessage({ type: 'error', message: String(e && e.stack || e) });
  }
};
