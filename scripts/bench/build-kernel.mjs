#!/usr/bin/env node
/**
 * Builds the Worker's WebAssembly kernels from their text sources with wabt (npm, pinned), plain
 * SIMD128 only: src/kernel/int8_scan.wat (retrieval) and src/kernel/tower.wat (the user tower's dense
 * layers). The .wasm files are committed so the Worker bundle needs no build step; `--check` rebuilds
 * in memory and fails when a committed binary differs from what its source produces (CI / tests).
 *
 *   node scripts/bench/build-kernel.mjs           # write the .wasm files
 *   node scripts/bench/build-kernel.mjs --check   # exit 1 if a committed .wasm is stale
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../', import.meta.url));
export const KERNELS = ['int8_scan', 'tower'];
export const watPath = (name = 'int8_scan') => `${root}src/kernel/${name}.wat`;
export const wasmPath = (name = 'int8_scan') => `${root}src/kernel/${name}.wasm`;

/** The kernel binary the current source produces (deterministic: no names section). */
export async function buildKernel(name = 'int8_scan') {
  const wabt = await require('wabt')();
  const mod = wabt.parseWat(`${name}.wat`, readFileSync(watPath(name), 'utf8'), { simd: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({ log: false, write_debug_names: false, canonicalize_lebs: true }).buffer);
  } finally {
    mod.destroy();
  }
}

/** True when the committed .wasm is byte-identical to a fresh build of the .wat. */
export async function kernelIsFresh(name = 'int8_scan') {
  if (!existsSync(wasmPath(name))) return false;
  return Buffer.compare(Buffer.from(await buildKernel(name)), readFileSync(wasmPath(name))) === 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let stale = false;
  for (const name of KERNELS) {
    if (process.argv.includes('--check')) {
      if (!(await kernelIsFresh(name))) {
        console.error(`${wasmPath(name)} is stale: run node scripts/bench/build-kernel.mjs and commit it`);
        stale = true;
      } else console.log(`${name}.wasm matches ${name}.wat`);
    } else {
      const bytes = await buildKernel(name);
      writeFileSync(wasmPath(name), bytes);
      console.log(`wrote ${wasmPath(name)} (${bytes.length} bytes)`);
    }
  }
  if (stale) process.exit(1);
}
