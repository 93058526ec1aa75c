// Runs the wasm32-wasi emulator under Node's WASI (node 20).
// usage: node run-node.mjs c2w-emu.wasm [emulator args...]
// The host directories named in C2W_PREOPENS (colon-separated, default: the
// current directory and /tmp) are preopened under the same paths.
import { WASI } from 'node:wasi';
import fs from 'node:fs';
import process from 'node:process';

const [wasmPath, ...args] = process.argv.slice(2);
const dirs = (process.env.C2W_PREOPENS || `${process.cwd()}:/tmp`).split(':').filter(Boolean);
const preopens = {};
for (const d of dirs) preopens[d] = d;
const wasi = new WASI({ version: 'preview1', args: ['c2w-emu', ...args], env: {}, preopens, returnOnExit: false });
const module = await WebAssembly.compile(fs.readFileSync(wasmPath));
const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
const code = wasi.start(instance);
process.exit(code);
