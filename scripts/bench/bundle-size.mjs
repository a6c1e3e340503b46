/**
 * Issue 7e: what a deploy uploads (`wrangler deploy --dry-run --outdir`, as deployed and minified),
 * which packages the JavaScript comes from (esbuild metafile), and the artifact's files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildBundle } from './build.mjs';

const gz = (bytes) => gzipSync(bytes, { level: 9 }).byteLength;

/** The files of a bundle directory with raw and gzip -9 sizes (source maps are not uploaded). */
function filesOf(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js') || f.endsWith('.wasm'))
    .map((f) => {
      const bytes = readFileSync(join(dir, f));
      return { file: f.replace(/^[0-9a-f]{40}-/, ''), bytes: bytes.byteLength, gzip: gz(bytes) };
    });
}

/** Bytes in index.js by package (node_modules/<pkg>) or by top-level source folder. */
function byPackage(metafile) {
  const meta = JSON.parse(readFileSync(metafile, 'utf8'));
  const out = {};
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs ?? {})) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = m ? m[1] : input.split('/').slice(0, 2).join('/');
      out[key] = (out[key] ?? 0) + bytesInOutput;
    }
  }
  return Object.entries(out)
    .sort((a, b) => b[1] - a[1])
    .map(([name, bytes]) => ({ name, bytes }));
}

/**
 * Builds the bundle into `outdir`, the ONNX runtime Worker's into `outdir`-onnx (both kept: the
 * bare-workerd runs use them) and a minified one beside them.
 * Returns totals as wrangler prints them, per-file sizes and the index.js breakdown.
 */
export async function bundleSizes(outdir, { model, log = () => {} } = {}) {
  const deployed = await buildBundle(outdir, { metafile: join(outdir, 'bundle-meta.json') });
  log(`bundle: ${deployed.totalKiB} KiB, gzip ${deployed.gzipKiB} KiB`);
  const minified = await buildBundle(`${outdir}-min`, { minify: true });
  log(`bundle minified: ${minified.totalKiB} KiB, gzip ${minified.gzipKiB} KiB`);
  const onnx = await buildBundle(`${outdir}-onnx`, { config: 'wrangler.onnx.toml' });
  log(`ONNX runtime Worker (wrangler.onnx.toml): ${onnx.totalKiB} KiB, gzip ${onnx.gzipKiB} KiB`);
  const out = {
    deployed: {
      totalKiB: deployed.totalKiB,
      gzipKiB: deployed.gzipKiB,
      files: filesOf(outdir),
      packages: byPackage(join(outdir, 'bundle-meta.json')).slice(0, 12),
    },
    minified: { totalKiB: minified.totalKiB, gzipKiB: minified.gzipKiB, files: filesOf(`${outdir}-min`) },
    onnx: { config: 'wrangler.onnx.toml', totalKiB: onnx.totalKiB, gzipKiB: onnx.gzipKiB, files: filesOf(`${outdir}-onnx`) },
    limits: { freeGzipKiB: 3 * 1024, paidGzipKiB: 10 * 1024 },
  };
  if (model) {
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    // What loadModel (src/model/store.ts) reads: items.json only where there is no items.bin; never
    // the fp32 encoder or the ranker. The ONNX towers are only checked there (R2's stored checksum);
    // the ONNX runtime Worker reads them if they run.
    const loaded = new Set(['userTower', 'itemEmbeddings', 'itemScales', 'popular', 'textTower', 'vocab']);
    loaded.add(manifest.files.itemsColumnar ? 'itemsColumnar' : 'items');
    out.artifact = {
      version: manifest.version,
      items: manifest.items,
      files: [['manifest', 'manifest.json'], ...Object.entries(manifest.files).map(([name, f]) => [name, f.path])].map(([name, path]) => {
        const bytes = readFileSync(join(model, path));
        return {
          name,
          path,
          bytes: statSync(join(model, path)).size,
          gzip: gz(bytes),
          loadedByWorker: name === 'manifest' || loaded.has(name),
        };
      }),
    };
  }
  return out;
}
