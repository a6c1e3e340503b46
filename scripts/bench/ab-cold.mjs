#!/usr/bin/env node
/**
 * New-isolate cold starts (part d's `isolateColdStarts`) of several built bundles, in alternating
 * rounds so the machine's drift hits them alike. Build each bundle first with
 * `wrangler deploy --dry-run --outdir DIR [ENTRY]`; `:MAIN` names the entry file when it is not
 * index.js.
 *
 *   node scripts/bench/ab-cold.mjs /tmp/edgerec-bench-artifacts/syn-1000000-ids 10 \
 *     now=/tmp/bundle-now before=/tmp/bundle-before:index-lite.js
 */
import { isolateColdStarts } from './cold-start.mjs';

const [dir, rounds, ...specs] = process.argv.slice(2);
if (!dir || !specs.length) {
  console.error('usage: ab-cold.mjs ARTIFACT_DIR ROUNDS LABEL=BUNDLE_DIR[:MAIN] ...');
  process.exit(2);
}
const bundles = specs.map((spec) => {
  const [label, rest] = spec.split('=');
  const [bundleDir, main] = rest.split(':');
  return { label, bundleDir, ...(main ? { main } : {}) };
});
const coldMs = Object.fromEntries(bundles.map((b) => [b.label, []]));
for (let r = 0; r < Number(rounds); r++) {
  for (const b of r % 2 ? [...bundles].reverse() : bundles) {
    const run = await isolateColdStarts(dir, { trials: 1, bundles: [b] });
    coldMs[b.label].push(run.bundles[0].coldMs);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log('| bundle | median ms | trials ms |\n| --- | ---: | --- |');
for (const [label, xs] of Object.entries(coldMs))
  console.log(`| ${label} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(' ')} |`);
