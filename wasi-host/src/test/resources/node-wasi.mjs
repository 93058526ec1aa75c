// Runs a WASI preview 1 module on Node's node:wasi, for comparison with the runner.
// usage: node node-wasi.mjs MODULE [--env K=V]... [--dir GUEST=HOST]... -- ARGV0 ARGS...
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const argv = process.argv.slice(2);
const module = argv.shift();
const env = {};
const preopens = {};
while (argv.length && argv[0] !== '--') {
  const flag = argv.shift();
  const value = argv.shift();
  const i = value.indexOf('=');
  if (flag === '--env') env[value.slice(0, i)] = value.slice(i + 1);
  else if (flag === '--dir') preopens[value.slice(0, i)] = value.slice(i + 1);
  else throw new Error('unknown flag ' + flag);
}
argv.shift();
const wasi = new WASI({ version: 'preview1', args: argv, env, preopens, returnOnExit: true });
const wasm = await WebAssembly.compile(await readFile(module));
const instance = await WebAssembly.instantiate(wasm, wasi.getImportObject());
const code = wasi.start(instance);
process.exitCode = code;
