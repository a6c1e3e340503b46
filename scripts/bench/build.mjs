/**
 * Building the Workers as `wrangler deploy` would, for the benchmarks and for the tests that run the
 * built bundles (test/onnx-worker.ts). Node built-ins only: a vitest config imports it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** The compatibility_date of a wrangler config (wrangler.toml unless named), for configs of bare `workerd serve`. */
export const compatibilityDate = (config = 'wrangler.toml') =>
  /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(root, config), 'utf8'))[1];

/**
 * `wrangler deploy --dry-run --outdir DIR [-c CONFIG] [ENTRY]`: the exact bundle a deploy uploads
 * (CONFIG: another Worker's config, e.g. wrangler.onnx.toml; ENTRY: another entry module than the
 * config's `main`, e.g. scripts/bench/with-ort-entry.ts). Returns the printed totals.
 */
export async function buildBundle(outdir, { minify = false, metafile, entry, config } = {}) {
  const args = [
    join(root, 'node_modules/wrangler/bin/wrangler.js'),
    'deploy',
    '--dry-run',
    '--outdir',
    outdir,
    ...(config ? ['-c', config] : []),
    ...(entry ? [entry] : []),
  ];
  if (minify) args.push('--minify');
  if (metafile) args.push('--metafile', metafile);
  const { stdout } = await run(process.execPath, args, {
    cwd: root,
    maxBuffer: 1 << 24,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
  });
  const m = /Total Upload:\s*([\d.]+) KiB \/ gzip:\s*([\d.]+) KiB/.exec(stdout);
  return { stdout, totalKiB: m ? Number(m[1]) : undefined, gzipKiB: m ? Number(m[2]) : undefined };
}
