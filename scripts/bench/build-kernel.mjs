#!/usr/bin/env node
/**
 * Builds src/kernel/int8_scan.wasm from src/kernel/int8_scan.wat with wabt (npm, pinned), plain
 * SIMD128 only. The .wasm is committed so the Worker bundle needs no build step; `--check` rebuilds in
 * memory and fails when the committed binary differs from what the source produces (CI / tests).
 *
 *   node scripts/bench/build-kernel.mjs           # write the .wasm
 *   node scripts/bench/build-kernel.mjs --check   # exit 1 if the committed .wasm is stale
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../', import.meta.url));
export const watPath = `${root}src/kernel/int8_scan.wat`;
export const wasmPath = `${root}src/kernel/int8_scan.wasm`;

/** The kernel binary the current source produces (deterministic: no names section). */
export async function buildKernel() {
  const wabt = await require('wabt')();
  const mod = wabt.parseWat('int8_scan.wat', readFileSync(watPath, 'utf8'), { simd: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({ log: false, write_debug_names: false, canonicalize_lebs: true }).buffer);
  } finally {
    mod.destroy();
  }
}

/** True when the committed .wasm is byte-identical to a fresh build of the .wat. */
export async function kernelIsFresh() {
  if (!existsSync(wasmPath)) return false;
  return Buffer.compare(Buffer.from(await buildKernel()), readFileSync(wasmPath)) === 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    if (!(await kernelIsFresh())) {
      console.error(`${wasmPath} is stale: run node scripts/bench/build-kernel.mjs and commit it`);
      process.exit(1);
    }
    console.log('int8_scan.wasm matches int8_scan.wat');
  } else {
    const bytes = await buildKernel();
    writeFileSync(wasmPath, bytes);
    console.log(`wrote ${wasmPath} (${bytes.length} bytes)`);
  }
}
