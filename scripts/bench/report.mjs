/** Markdown table and SVG chart for the retrieval benchmark's JSON (see run.mjs). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const sizeName = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
const MODES = ['plain', 'filtered'];

/** Median, 10th and 90th percentile, minimum of a list of times. */
export function summarize(ms) {
  const a = [...ms].sort((x, y) => x - y);
  const at = (p) => a[Math.min(a.length - 1, Math.floor(p * a.length))];
  return { n: a.length, median: at(0.5), p10: at(0.1), p90: at(0.9), min: a[0] };
}

/** The results as Markdown: latency table, ratio to native int8, agreement with the exact top k, memory. */
export function markdown(res) {
  const { sizes } = res.config;
  const cols = sizes.flatMap((n) => MODES.map((m) => ({ n, m })));
  const head = `| method | ${cols.map(({ n, m }) => `${sizeName(n)}${m === 'filtered' ? ' filtered' : ''}`).join(' | ')} |`;
  const sep = `| --- | ${cols.map(() => '---:').join(' | ')} |`;
  const cell = (s) => (s ? `${fmt(s.median)} <sub>${fmt(s.p10)}–${fmt(s.p90)}</sub>` : '–');
  const lines = [
    `Median ms per query (p10–p90 in small print), k = ${res.config.k}, d = ${res.config.dim}; filtered = ${res.config.allowedFraction * 100}% allowed mask + ${res.config.excluded} excluded rows.`,
    '',
    head,
    sep,
  ];
  for (const [id, label] of Object.entries(res.labels)) {
    if (!cols.some(({ n, m }) => res.results[n]?.[m]?.[id])) continue;
    lines.push(`| ${label} | ${cols.map(({ n, m }) => cell(res.results[n]?.[m]?.[id])).join(' | ')} |`);
  }
  const ratio = (id, label) =>
    lines.push(
      `| **${label}** | ${cols
        .map(({ n, m }) => {
          const a = res.results[n]?.[m]?.[id];
          const b = res.results[n]?.[m]?.['ort-node-int8'];
          return a && b ? `**${(a.median / b.median).toFixed(2)}**` : '–';
        })
        .join(' | ')} |`,
    );
  ratio('kernel', 'ratio Worker path (in Node) / native int8');
  if (cols.some(({ n, m }) => res.results[n]?.[m]?.['kernel-workerd']))
    ratio('kernel-workerd', 'ratio Worker path in workerd / native int8');
  lines.push(
    `| memory floor (full-scan bytes / read bandwidth) | ${cols
      .map(({ n, m }) => {
        const f = res.floor[n]?.[m];
        return f ? `${fmt(f.median)} <sub>${(f.bytes / f.median / 1e6).toFixed(0)} GB/s</sub>` : '–';
      })
      .join(' | ')} |`,
  );
  lines.push('', `Top-${res.config.k} agreement with the exact float64 ranking (fraction of the same rows, mean over queries):`, '');
  lines.push(`| method | ${cols.map(({ n, m }) => `${sizeName(n)}${m === 'filtered' ? ' filtered' : ''}`).join(' | ')} |`, sep);
  for (const [id, label] of Object.entries(res.labels)) {
    if (!cols.some(({ n, m }) => res.results[n]?.[m]?.[id])) continue;
    lines.push(
      `| ${label} | ${cols
        .map(({ n, m }) => {
          const s = res.results[n]?.[m]?.[id];
          if (!s) return '–';
          return s.identical ? '1 (identical)' : s.agreement.toFixed(3);
        })
        .join(' | ')} |`,
    );
  }
  lines.push('', 'Kernel memory (one WebAssembly.Memory per model: table + scales + mask + buffers):', '');
  lines.push('| N | table + scales | kernel memory total |', '| ---: | ---: | ---: |');
  for (const n of sizes) {
    const mem = res.memory[n];
    if (mem)
      lines.push(`| ${sizeName(n)} | ${(mem.tableBytes / 2 ** 20).toFixed(1)} MiB | ${(mem.kernelBytes / 2 ** 20).toFixed(1)} MiB |`);
  }
  const m = res.meta;
  lines.push(
    '',
    `Machine: ${m.cpu}, ${m.cpus} cores; load average ${m.loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${m.loadAfter.map((x) => x.toFixed(2)).join(' ')} after; Node ${m.node} (V8 ${m.v8}); ${m.startedAt}.`,
  );
  return lines.join('\n');
}

const COLORS = {
  kernel: '#d62728',
  'kernel-workerd': '#ff7f0e',
  'ort-node-int8': '#1f77b4',
  'ort-node-fp32': '#aec7e8',
  'ort-web-int8': '#2ca02c',
  'ort-web-fp32': '#98df8a',
  js: '#7f7f7f',
  faiss: '#9467bd',
  floor: '#222222',
};

/** Grouped bar chart (log scale), one panel per mode, as an SVG string. */
export function svg(res) {
  const { sizes } = res.config;
  const ids = Object.keys(res.labels).filter((id) => sizes.some((n) => MODES.some((m) => res.results[n]?.[m]?.[id])));
  const series = [...ids, 'floor'];
  const W = 980;
  const H = 430;
  const panelW = 400;
  const top = 40;
  const plotH = 280;
  const all = sizes
    .flatMap((n) => MODES.flatMap((m) => [...ids.map((id) => res.results[n]?.[m]?.[id]?.median), res.floor[n]?.[m]?.median]))
    .filter((x) => x > 0);
  const lo = Math.floor(Math.log10(Math.min(...all)));
  const hi = Math.ceil(Math.log10(Math.max(...all)));
  const y = (v) => top + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  out.push(
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Retrieval latency, median ms per query (log scale), k=${res.config.k}, d=${res.config.dim}</text>`,
  );
  MODES.forEach((mode, p) => {
    const x0 = 60 + p * (panelW + 70);
    out.push(
      `<text x="${x0 + panelW / 2}" y="${top - 6}" text-anchor="middle">${mode === 'plain' ? 'no filter' : `filtered (${res.config.allowedFraction * 100}% allowed + ${res.config.excluded} excluded)`}</text>`,
    );
    for (let e = lo; e <= hi; e++) {
      out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/>`);
      out.push(`<text x="${x0 - 6}" y="${y(10 ** e) + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`);
    }
    const gw = panelW / sizes.length;
    const bw = (gw - 16) / series.length;
    sizes.forEach((n, g) => {
      series.forEach((id, s) => {
        const v = id === 'floor' ? res.floor[n]?.[mode]?.median : res.results[n]?.[mode]?.[id]?.median;
        if (!(v > 0)) return;
        const bx = x0 + g * gw + 8 + s * bw;
        out.push(
          `<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${COLORS[id] ?? '#bbb'}"><title>${id} ${sizeName(n)} ${mode}: ${fmt(v)} ms</title></rect>`,
        );
      });
      out.push(`<text x="${x0 + g * gw + gw / 2}" y="${top + plotH + 16}" text-anchor="middle">N = ${sizeName(n)}</text>`);
    });
    out.push(`<line x1="${x0}" x2="${x0}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  });
  series.forEach((id, i) => {
    const lx = 60 + (i % 4) * 235;
    const ly = top + plotH + 40 + Math.floor(i / 4) * 18;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[id] ?? '#bbb'}"/>`);
    out.push(
      `<text x="${lx + 16}" y="${ly}">${id === 'floor' ? 'memory-bandwidth floor' : res.labels[id].replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Writes one run as `<prefix>-<stamp>.{json,md,svg}` and `<prefix>-latest.*` under `dir`; returns
 * the stamped path without its extension.
 */
export function writeRun(dir, prefix, startedAt, res, md, svgText) {
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.replace(/[:.]/g, '-');
  for (const name of [`${prefix}-${stamp}`, `${prefix}-latest`]) {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(res, null, 1));
    writeFileSync(join(dir, `${name}.md`), `${md}\n`);
    writeFileSync(join(dir, `${name}.svg`), svgText);
  }
  return join(dir, `${prefix}-${stamp}`);
}
