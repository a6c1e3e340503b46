#!/usr/bin/env node
/**
 * The artifact the end-to-end test serves: a copy of DIR (models/default) into OUT. When no item
 * title in it contains markup, one popular item's title is given some (and the manifest its new
 * hash and a version of its own), so "a title with markup renders as text" is always exercised.
 *
 *   node test/e2e/prepare-model.mjs DIR OUT   -> prints the item id whose title has markup
 */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: prepare-model.mjs DIR OUT');
  process.exit(2);
}
cpSync(dir, out, { recursive: true });
const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
const itemsPath = join(out, manifest.files.items.path);
const items = JSON.parse(readFileSync(itemsPath, 'utf8'));
const titles = items.titles ?? items.ids.map(() => null);
let row = titles.findIndex((t) => typeof t === 'string' && /<[a-z/]/i.test(t));
if (row < 0) {
  const popular = JSON.parse(readFileSync(join(out, manifest.files.popular.path), 'utf8')).popular;
  row = popular[1]?.row ?? 0;
  titles[row] = `<script>window.__edgerecXss = 1</script> ${titles[row] ?? 'Velvet Lipstick'} <b>Limited</b> & "Co"`;
  items.titles = titles;
  const bytes = Buffer.from(JSON.stringify(items));
  writeFileSync(itemsPath, bytes);
  manifest.files.items.sha256 = createHash('sha256').update(bytes).digest('hex');
  manifest.files.items.bytes = bytes.length;
  manifest.version = `${manifest.version}-e2e`.slice(0, 80);
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
}
console.log(items.ids[row]);
