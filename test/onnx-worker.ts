/**
 * The ONNX runtime Worker (wrangler.onnx.toml, src/onnx/worker.ts) as an auxiliary Worker of a
 * Workers Vitest project, so the Worker under test reaches onnxruntime-web over its `ONNX` service
 * binding as deployed. Miniflare's auxiliary Workers take built modules, so this bundles it the way
 * `wrangler deploy` does (scripts/bench/build.mjs) when the config is loaded (a few seconds).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle, compatibilityDate } from '../scripts/bench/build.mjs';

const CONFIG = 'wrangler.onnx.toml';

export async function onnxWorker(root: string) {
  const outdir = join(root, 'node_modules/.cache/edgerec-onnx-worker');
  rmSync(outdir, { recursive: true, force: true });
  await buildBundle(outdir, { config: CONFIG });
  const files = readdirSync(outdir);
  const main = files.find((f) => f.endsWith('.js'));
  if (!main) throw new Error(`no bundle in ${outdir}: ${files.join(', ')}`);
  return {
    name: 'edgerec-onnx',
    compatibilityDate: compatibilityDate(CONFIG),
    modules: [
      { type: 'ESModule' as const, path: join(outdir, main) },
      ...files.filter((f) => f.endsWith('.wasm')).map((f) => ({ type: 'CompiledWasm' as const, path: join(outdir, f) })),
    ],
    r2Buckets: { EDGEREC_R2: 'edgerec-models' },
    // A failed start is tried again at once here (test/worker/onnx-sessions.test.ts covers the wait).
    bindings: { ONNX_RETRY_SECONDS: '0' },
  };
}
