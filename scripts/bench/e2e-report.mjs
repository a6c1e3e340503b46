/** Markdown tables and an SVG chart for the end-to-end benchmark's JSON (see e2e.mjs). */
import { KIND_LABELS } from './artifact.mjs';

const fmt = (ms) =>
  ms === undefined || Number.isNaN(ms)
    ? '–'
    : ms >= 100
      ? ms.toFixed(0)
      : ms >= 10
        ? ms.toFixed(1)
        : ms >= 1
          ? ms.toFixed(2)
          : ms.toFixed(3);
const mib = (b) => (b === undefined ? '–' : (b / 2 ** 20).toFixed(1));
const kib = (b) => (b / 1024).toFixed(1);
const sizeName = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
const load = (x) => (Array.isArray(x) ? x.map((v) => v.toFixed(1)).join(' ') : (x?.toFixed?.(1) ?? '–'));
const TARGET_LABELS = {
  wrangler: 'Worker, `wrangler dev`',
  bare: 'Worker, bare `workerd serve`',
  'bare-no-liftoff': 'Worker, bare workerd, V8 `--no-liftoff`',
  python: 'Python server',
};
/** Memory a loaded model holds: WebAssembly memories, V8 heap growth and other ArrayBuffers. */
const held = (m) => m.kernelBytes + m.ortHeapBytes + m.heapUsedDelta + (m.arrayBuffersDelta ?? 0);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** The part b tables. */
function computeMarkdown(b) {
  const lines = [
    `Median ms per request in Node (p10–p90 small), ${b.config.reps} requests per cell in ${b.config.rounds} alternating rounds; load average ${load(b.loadBefore)} before, ${load(b.loadAfter)} after.`,
    '',
    '| items | request | Worker path (tower kernel + scan kernel) | Worker path, ORT-web tower (`USER_TOWER=onnx`) | native user tower + scan kernel | all native (ORT-node tower + ORT-node retrieval) | **ratio Worker / native tower** | same, of the p10s | ratio Worker / all native | same top-k as native tower / as ORT-web tower |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const cell = (s) => `${fmt(s.median)} <sub>${fmt(s.p10)}–${fmt(s.p90)}</sub>`;
  for (const a of b.artifacts) {
    for (const [kind, r] of Object.entries(a.results)) {
      lines.push(
        `| ${sizeName(a.items)} | ${KIND_LABELS[kind]} | ${cell(r.web)} | ${r.ortweb ? cell(r.ortweb) : '–'} | ${cell(r.native)} | ${cell(r.nativeAll)} | **${(r.web.median / r.native.median).toFixed(2)}** | ${(r.web.p10 / r.native.p10).toFixed(2)} | ${(r.web.median / r.nativeAll.median).toFixed(2)} | ${(r.sameTopK * 100).toFixed(0)}% / ${r.sameTopKOrtWeb === undefined ? '–' : `${(r.sameTopKOrtWeb * 100).toFixed(0)}%`} |`,
      );
    }
  }
  lines.push(
    '',
    'Where the time goes (medians, ms): user tower, retrieval scan, everything else in `recommend()` (history, filters, MMR, explanations, item views).',
    '',
  );
  lines.push(
    '| items | request | tower: kernel | tower: ORT-web | tower: ORT-node | scan: kernel | scan: ORT-node int8 | rest |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const a of b.artifacts) {
    for (const [kind, r] of Object.entries(a.results)) {
      const p = r.parts;
      lines.push(
        `| ${sizeName(a.items)} | ${KIND_LABELS[kind]} | ${fmt(p.web.enc)} | ${fmt(p.ortweb?.enc)} | ${fmt(p.native.enc)} | ${fmt(p.web.scan)} | ${fmt(p.native.ortScan)} | ${fmt(p.web.rest)} |`,
      );
    }
  }
  return lines;
}

/** The part c tables. */
function httpMarkdown(c, computeMs) {
  const lines = [
    `${c.client ?? 'autocannon'} on loopback, ${c.durationS} s per cell, ${c.rounds} rounds (Worker target and Python alternating); p50/p90/p99 over every 2xx response's own time. Load average per cell in the last column.`,
    '',
    '| target | endpoint | concurrency | req/s | p50 ms | p90 ms | p99 ms | server CPU ms / request | non-2xx / errors | load avg |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const target of [...c.targets, 'python']) {
    for (const ep of ['recommend', 'health']) {
      for (const conc of c.concurrencies) {
        const s = c.results[target]?.[ep]?.[conc];
        if (!s) continue;
        lines.push(
          `| ${TARGET_LABELS[target]} | ${ep === 'recommend' ? 'POST /v1/recommend' : 'GET /health'} | ${conc} | ${s.rps.toFixed(0)} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} | ${fmt(s.cpuMsPerRequest)} | ${s.non2xx} / ${s.errors} | ${load(s.load)} |`,
        );
      }
    }
  }
  lines.push(
    '',
    'POST /v1/recommend, Worker against Python at equal concurrency (target: >= 1.5x the requests/s at equal or better p99), and end-to-end p50 against the computation alone (target: <= 2x):',
    '',
  );
  lines.push(
    '| Worker target | concurrency | req/s Worker / Python | p99 Worker / Python | CPU per request Worker / Python | p50 / computation in Node |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const target of c.targets) {
    for (const conc of c.concurrencies) {
      const w = c.results[target]?.recommend?.[conc];
      const p = c.results.python?.recommend?.[conc];
      if (!w || !p) continue;
      lines.push(
        `| ${TARGET_LABELS[target]} | ${conc} | ${(w.rps / p.rps).toFixed(2)} | ${(w.p99 / p.p99).toFixed(2)} | ${w.cpuMsPerRequest && p.cpuMsPerRequest ? (w.cpuMsPerRequest / p.cpuMsPerRequest).toFixed(2) : '–'} | ${computeMs ? `${(w.p50 / computeMs).toFixed(1)} (${fmt(w.p50)} / ${fmt(computeMs)})` : '–'} |`,
      );
    }
  }
  const agree = Object.entries(c.agreement).map(
    ([t, a]) =>
      `${TARGET_LABELS[t]}: ${(a.plain.sameTopK * 100).toFixed(0)}% / ${(a.filtered.sameTopK * 100).toFixed(0)}%, max |score diff| ${Math.max(a.plain.maxScoreDiff, a.filtered.maxScoreDiff).toExponential(1)}`,
  );
  lines.push(
    '',
    `Same answers: share of ${c.agreement[c.targets[0]]?.plain.requests ?? 0} requests (plain / with a category filter) whose top 10 equals the Python server's, item for item: ${agree.join('; ')}.`,
  );
  if (c.floors) {
    lines.push(
      '',
      'Floors of the local stack (GET /, a one-line Worker, no Hono):',
      '',
      '| server | concurrency | req/s | p50 ms | p99 ms | server CPU ms / request | load avg |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const [name, byC] of Object.entries(c.floors.results)) {
      for (const [conc, s] of Object.entries(byC))
        lines.push(
          `| ${name} | ${conc} | ${s.rps.toFixed(0)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.cpuMsPerRequest)} | ${load(s.load)} |`,
        );
    }
  }
  return lines;
}

/** The fastest and the slowest trial of one bundle's isolate cold starts (isolateColdStarts), ms. */
const coldRange = (b) => {
  const ms = b.trials.map((r) => r.coldMs);
  return [Math.min(...ms), Math.max(...ms)];
};

/** The part d tables. */
function coldMarkdown(d) {
  const lines = [];
  if (d.workerd?.length) {
    lines.push(
      'The model load in workerd: a new process per trial, ready once /openapi.json answers (so the isolate has started and its request path has run once); "first answer" = the first POST /v1/recommend, which loads the model. Medians over trials; RSS of the workerd process holding the isolate.',
      '',
      '| items | runtime | trials | start to ready ms | first answer ms | 2nd answer ms | next 10, median ms | isolate RSS before → after first → after 10 (MiB) |',
      '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const w of d.workerd) {
      for (const [key, label] of [
        ['wranglerDev', '`wrangler dev` (R2 on disk via Miniflare)'],
        ['bareWorkerd', 'bare `workerd serve` (R2 streamed over a loopback socket)'],
      ]) {
        const runs = w[key];
        if (!runs?.length) continue;
        const m = (f) => median(runs.map(f));
        const rss = `${mib(m((r) => r.rss.before))} → ${mib(m((r) => r.rss.afterFirst))} → ${mib(m((r) => r.rss.afterWarm))}`;
        lines.push(
          `| ${sizeName(w.items)} | ${label} | ${runs.length} | ${fmt(m((r) => r.readyMs))} | ${fmt(m((r) => r.firstMs))} | ${fmt(m((r) => r.secondMs))} | ${fmt(m((r) => r.warmMedianMs))} | ${rss} |`,
        );
      }
    }
    lines.push('');
  }
  if (d.isolate?.length) {
    lines.push(
      "A new isolate to its first answer (bare `workerd serve`): a new process per trial whose first request is POST /v1/recommend, sent as soon as its socket listens, so script startup (every JavaScript and Wasm module of the bundle compiled, modules evaluated), cold code and the model load all count; the same time for a one-line Worker (the process's own start) is taken off. Medians, and the range over trials.",
      '',
      '| items | bundle | trials | new isolate to first answer ms | range ms | spawn to answer ms | one-line Worker, spawn to answer ms |',
      '| ---: | --- | ---: | ---: | --- | ---: | ---: |',
    );
    for (const c of d.isolate) {
      for (const b of c.bundles) {
        const [lo, hi] = coldRange(b);
        lines.push(
          `| ${sizeName(c.items)} | ${b.label} | ${b.trials.length} | **${fmt(b.coldMs)}** | ${fmt(lo)}-${fmt(hi)} | ${fmt(median(b.trials.map((r) => r.spawnToAnswerMs)))} | ${fmt(b.helloMs)} |`,
        );
      }
    }
    lines.push('');
  }
  if (d.node?.length) {
    lines.push(
      "Node, a fresh process per trial, the Worker's own loading code (`loadModel` over a file-backed R2): medians.",
      '',
      '| items | import (compiles the .wasm) ms | loadModel ms | first recommend ms | warm ms | kernel memory MiB | ORT heap MiB | JS heap growth MiB | ArrayBuffers (catalog) MiB | held in all MiB |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const n of d.node) {
      const m = n.memory;
      lines.push(
        `| ${sizeName(n.items)}${n.meta ? ` (${n.meta})` : ''} | ${fmt(n.importMs)} | ${fmt(n.loadMs)} | ${fmt(n.firstMs)} | ${fmt(n.warmMs)} | ${mib(m.kernelBytes)} | ${mib(m.ortHeapBytes)} | ${mib(m.heapUsedDelta)} | ${mib(m.arrayBuffersDelta ?? 0)} | **${mib(held(m))}** |`,
      );
    }
    lines.push('', 'The steps of a cold `loadModel` in Node, run one after another (ms):', '');
    const steps = Object.keys(d.node[0].breakdown);
    lines.push(`| items | ${steps.join(' | ')} |`, `| ---: | ${steps.map(() => '---:').join(' | ')} |`);
    for (const n of d.node)
      lines.push(`| ${sizeName(n.items)}${n.meta ? ` (${n.meta})` : ''} | ${steps.map((s) => fmt(n.breakdown[s])).join(' | ')} |`);
  }
  return lines;
}

/** The part e tables. */
function bundleMarkdown(e) {
  const lines = [
    `\`wrangler deploy --dry-run\`: **${e.deployed.totalKiB} KiB, gzip ${e.deployed.gzipKiB} KiB** as deployed; ${e.minified.totalKiB} KiB, gzip ${e.minified.gzipKiB} KiB with \`--minify\` (Workers limits: ${e.limits.freeGzipKiB / 1024} MiB gzip free, ${e.limits.paidGzipKiB / 1024} MiB paid).`,
    '',
    '| file | bytes | gzip -9 | minified | minified gzip -9 |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const f of e.deployed.files) {
    const m = e.minified.files.find((x) => x.file === f.file);
    lines.push(
      `| ${f.file} | ${f.bytes.toLocaleString('en')} | ${f.gzip.toLocaleString('en')} | ${m?.bytes.toLocaleString('en') ?? '–'} | ${m?.gzip.toLocaleString('en') ?? '–'} |`,
    );
  }
  if (e.onnx) {
    lines.push(
      '',
      `The ONNX runtime Worker (\`wrangler deploy -c ${e.onnx.config}\`: onnxruntime-web, for artifacts without kernel files): **${e.onnx.totalKiB} KiB, gzip ${e.onnx.gzipKiB} KiB**: ${e.onnx.files.map((f) => `${f.file} ${f.gzip.toLocaleString('en')} B gzip`).join(', ')}.`,
    );
  }
  lines.push('', 'index.js by source (esbuild bytesInOutput, unminified, top 12):', '', '| source | KiB |', '| --- | ---: |');
  for (const p of e.deployed.packages) lines.push(`| ${p.name} | ${kib(p.bytes)} |`);
  if (e.artifact) {
    const a = e.artifact;
    const served = a.files.filter((f) => f.loadedByWorker);
    lines.push(
      '',
      `Artifact \`models/default\` (${a.items} items, version ${a.version}):`,
      '',
      '| file | what | bytes | gzip -9 | loaded by the Worker |',
      '| --- | --- | ---: | ---: | --- |',
    );
    for (const f of a.files)
      lines.push(
        `| ${f.path} | ${f.name} | ${f.bytes.toLocaleString('en')} | ${f.gzip.toLocaleString('en')} | ${f.loadedByWorker ? 'yes' : 'no'} |`,
      );
    lines.push(
      `| **loaded by the Worker** | | **${served.reduce((s, f) => s + f.bytes, 0).toLocaleString('en')}** | **${served.reduce((s, f) => s + f.gzip, 0).toLocaleString('en')}** | |`,
    );
  }
  return lines;
}

/** The whole report as Markdown. */
export function markdown(res) {
  const lines = [
    `Machine: ${res.meta.cpus} x ${res.meta.cpu}, Node ${res.meta.node}; parts ${res.config.parts.join(', ')} run ${res.meta.startedAt}, load average ${load(res.meta.loadBefore)} at the start, ${load(res.meta.loadAfter)} at the end.`,
  ];
  for (const r of res.earlierRuns ?? [])
    if (r.parts.length)
      lines.push(
        `Parts ${r.parts.join(', ')} from the run of ${r.startedAt} (load average ${load(r.loadBefore)} at its start, ${load(r.loadAfter)} at its end).`,
      );
  lines.push('');
  if (res.targets?.length) {
    lines.push('| target | measured | met |', '| --- | --- | --- |');
    for (const t of res.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? '–' : t.met ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  if (res.compute) lines.push('### b. The whole computation: Worker path vs native', '', ...computeMarkdown(res.compute), '');
  for (const c of httpRuns(res))
    lines.push(
      `### c. End to end over HTTP (${sizeName(c.items)} items, ${c.client ?? 'autocannon'})`,
      '',
      ...httpMarkdown(c, res.compute?.artifacts.find((a) => a.items === c.items)?.results.plain?.web.median),
      '',
    );
  if (res.cold) lines.push('### d. Cold start and memory', '', ...coldMarkdown(res.cold), '');
  if (res.bundle) lines.push('### e. Bundle and artifact sizes', '', ...bundleMarkdown(res.bundle), '');
  return lines.join('\n');
}

/** Part c's runs: `http` (the default model, autocannon) and those with other clients or catalogs. */
export const httpRuns = (res) => [res.http, ...Object.values(res.httpMore ?? {})].filter(Boolean);

/** The targets of issue 7 b-e, from whatever parts ran. */
export function targets(res) {
  const out = [];
  const b = res.compute;
  if (b) {
    for (const a of b.artifacts) {
      const ratios = Object.entries(a.results).map(([k, r]) => `${k} ${(r.web.median / r.native.median).toFixed(2)}x`);
      const worst = Math.max(...Object.values(a.results).map((r) => r.web.median / r.native.median));
      out.push({ target: `b. Worker path <= 1.3x native, ${sizeName(a.items)} items`, measured: ratios.join(', '), met: worst <= 1.3 });
    }
  }
  for (const c of httpRuns(res)) {
    const client = c.client ?? 'autocannon';
    const computeMs = b?.artifacts.find((a) => a.items === c.items)?.results.plain?.web.median;
    for (const target of c.targets) {
      const ws = c.concurrencies
        .map((conc) => [conc, c.results[target]?.recommend?.[conc], c.results.python?.recommend?.[conc]])
        .filter(([, w, p]) => w && p);
      if (computeMs) {
        const p50 = c.results[target]?.recommend?.[c.concurrencies[0]]?.p50;
        out.push({
          target: `c. end-to-end p50 <= 2x the computation (${TARGET_LABELS[target]}, ${sizeName(c.items)} items, ${client}, concurrency ${c.concurrencies[0]})`,
          measured: `${fmt(p50)} ms vs ${fmt(computeMs)} ms: ${(p50 / computeMs).toFixed(1)}x`,
          met: p50 <= 2 * computeMs,
        });
      }
      out.push({
        target: `c. >= 1.5x Python's req/s at equal or better p99 (${TARGET_LABELS[target]}, ${sizeName(c.items)} items, ${client})`,
        measured: ws
          .map(([conc, w, p]) => `c=${conc}: ${(w.rps / p.rps).toFixed(2)}x req/s, p99 ${fmt(w.p99)} vs ${fmt(p.p99)} ms`)
          .join('; '),
        met: ws.every(([, w, p]) => w.rps >= 1.5 * p.rps && w.p99 <= p.p99),
      });
    }
  }
  const d = res.cold;
  if (d) {
    const big = d.node?.find((n) => n.items >= 1e6 && n.meta === 'ids') ?? d.node?.find((n) => n.items >= 1e6);
    if (big) {
      const bytes = held(big.memory);
      out.push({
        target: `d. ${sizeName(big.items)} items held in <= 100 MB (Node: kernel + ORT heap + JS heap growth + ArrayBuffers)`,
        measured: `${(bytes / 1e6).toFixed(0)} MB (${mib(bytes)} MiB)`,
        met: bytes <= 100e6,
      });
    }
    const wbig = d.workerd?.find((w) => w.items >= 1e6);
    // The isolate's own accounting in bare workerd: its JS heap and ArrayBuffer growth over the load
    // (V8's numbers through the inspector) plus the kernels' Wasm memory, whose size the artifact
    // fixes (Node's kernelBytes for the same artifact). Workers' memory limit counts the isolate.
    const isoRuns = (wbig?.bareWorkerd ?? []).filter((r) => r.isolate);
    const sameNode = d.node?.find((n) => n.items === wbig?.items && n.meta === 'ids');
    if (isoRuns.length && sameNode) {
      const grew = median(
        isoRuns.map((r) => r.isolate.heapUsedAfter - r.isolate.heapUsedBefore + r.isolate.backingAfter - r.isolate.backingBefore),
      );
      const bytes = grew + sameNode.memory.kernelBytes;
      out.push({
        target: `d. ${sizeName(wbig.items)} items held in <= 100 MB (the isolate in bare workerd: JS heap + ArrayBuffers growth by V8's inspector, + kernel memory)`,
        measured: `${(bytes / 1e6).toFixed(0)} MB (${mib(bytes)} MiB: ${mib(grew)} heap and ArrayBuffers + ${mib(sameNode.memory.kernelBytes)} kernel)`,
        met: bytes <= 100e6,
      });
    }
    for (const [key, label] of [
      ['wranglerDev', "wrangler dev, with Miniflare's R2 in the same process"],
      ['bareWorkerd', 'bare workerd'],
    ]) {
      if (!wbig?.[key]?.length) continue;
      const grew = median(wbig[key].map((r) => r.rss.afterFirst - r.rss.before));
      out.push({
        target: `d. ${sizeName(wbig.items)} items held in <= 100 MB (workerd process RSS growth on load, ${label})`,
        measured: `${(grew / 1e6).toFixed(0)} MB`,
        met: grew <= 100e6,
      });
    }
    for (const c of d.isolate ?? []) {
      for (const b of c.bundles) {
        const [lo, hi] = coldRange(b);
        out.push({
          target: `d. cold start <= 300 ms, ${sizeName(c.items)} items (bare workerd, ${b.label}: new isolate to first answer)`,
          measured: `median ${fmt(b.coldMs)} ms (trials ${fmt(lo)}-${fmt(hi)})`,
          met: b.coldMs <= 300,
        });
      }
    }
    // The model's load alone: the first /v1/recommend of an isolate that already started and answered
    // /openapi.json (script startup and code warm-up not counted). Reported, not a cold start.
    for (const w of d.workerd ?? []) {
      for (const [key, label] of [
        ['wranglerDev', 'wrangler dev'],
        ['bareWorkerd', 'bare workerd'],
      ]) {
        if (!w[key]?.length) continue;
        const first = median(w[key].map((r) => r.firstMs));
        out.push({
          target: `d. model load, ${sizeName(w.items)} items (${label}: first /v1/recommend after the isolate started; report)`,
          measured: `${fmt(first)} ms (+ ${fmt(median(w[key].map((r) => r.readyMs)))} ms process start to ready)`,
          met: undefined,
        });
      }
    }
  }
  if (res.bundle) {
    const { deployed, onnx, limits } = res.bundle;
    out.push({
      target: `e. the edgerec Worker (wrangler.toml) within the free plan's ${limits.freeGzipKiB / 1024} MiB gzip`,
      measured: `${deployed.totalKiB} KiB, gzip ${deployed.gzipKiB} KiB`,
      met: deployed.gzipKiB <= limits.freeGzipKiB,
    });
    if (onnx)
      out.push({
        target: `e. the ONNX runtime Worker (${onnx.config}; report)`,
        measured: `${onnx.totalKiB} KiB, gzip ${onnx.gzipKiB} KiB`,
        met: undefined,
      });
  }
  return out;
}

const COLORS = {
  web: '#d62728',
  ortweb: '#ff7f0e',
  native: '#1f77b4',
  nativeAll: '#aec7e8',
  wrangler: '#ff9896',
  bare: '#d62728',
  'bare-no-liftoff': '#8c564b',
  python: '#2ca02c',
};

/** Two panels: part b medians (log ms) and part c requests/s (POST /v1/recommend) by concurrency. */
export function svg(res) {
  const cold = res.cold?.isolate?.length ? res.cold.isolate : undefined;
  const W = cold ? 1400 : 980;
  const H = 420;
  const top = 50;
  const plotH = 270;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  const bar = (x, y, w, h, color, title) =>
    out.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${color}"><title>${title}</title></rect>`,
    );
  const legend = (x, y, items) =>
    items.forEach(([color, label], i) => {
      out.push(
        `<rect x="${x}" y="${y + i * 16 - 10}" width="12" height="12" fill="${color}"/>`,
        `<text x="${x + 16}" y="${y + i * 16}">${label}</text>`,
      );
    });
  const b = res.compute;
  if (b) {
    const x0 = 60;
    const pw = 380;
    const series = [
      ['web', 'Worker path (tower + scan kernels)'],
      ['ortweb', 'Worker path, ORT-web tower'],
      ['native', 'native tower + scan kernel'],
      ['nativeAll', 'all native'],
    ];
    const vals = b.artifacts.flatMap((a) => series.map(([id]) => a.results.plain?.[id]?.median)).filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.min(...vals)));
    const hi = Math.ceil(Math.log10(Math.max(...vals)));
    const y = (v) => top + plotH - ((Math.log10(v) - lo) / Math.max(1, hi - lo)) * plotH;
    out.push(
      `<text x="${x0 + pw / 2}" y="${top - 20}" text-anchor="middle" font-size="14">b. /v1/recommend computation, median ms (log), 8 events, k=10</text>`,
    );
    for (let e = lo; e <= hi; e++)
      out.push(
        `<line x1="${x0}" x2="${x0 + pw}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/>`,
        `<text x="${x0 - 6}" y="${y(10 ** e) + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`,
      );
    const gw = pw / b.artifacts.length;
    const bw = (gw - 20) / series.length;
    b.artifacts.forEach((a, g) => {
      series.forEach(([id], s) => {
        const v = a.results.plain?.[id]?.median;
        if (v > 0) bar(x0 + g * gw + 10 + s * bw, y(v), bw - 2, top + plotH - y(v), COLORS[id], `${sizeName(a.items)} ${id}: ${fmt(v)} ms`);
      });
      out.push(`<text x="${x0 + g * gw + gw / 2}" y="${top + plotH + 16}" text-anchor="middle">${sizeName(a.items)} items</text>`);
    });
    out.push(`<line x1="${x0}" x2="${x0}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
    legend(
      x0,
      top + plotH + 40,
      series.map(([id, label]) => [COLORS[id], label]),
    );
  }
  const c = res.http ?? httpRuns(res)[0];
  if (c) {
    const x0 = 560;
    const pw = 380;
    const ts = [...c.targets, 'python'];
    const vals = ts.flatMap((t) => c.concurrencies.map((conc) => c.results[t]?.recommend?.[conc]?.rps ?? 0));
    const max = Math.max(...vals) * 1.1;
    const y = (v) => top + plotH - (v / max) * plotH;
    out.push(
      `<text x="${x0 + pw / 2}" y="${top - 20}" text-anchor="middle" font-size="14">c. POST /v1/recommend, requests/s (p99 ms above bars)</text>`,
    );
    const step = 10 ** Math.floor(Math.log10(max / 2));
    for (let v = 0; v <= max; v += step * Math.ceil(max / step / 6))
      out.push(
        `<line x1="${x0}" x2="${x0 + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`,
      );
    const gw = pw / c.concurrencies.length;
    const bw = (gw - 20) / ts.length;
    c.concurrencies.forEach((conc, g) => {
      ts.forEach((t, s) => {
        const r = c.results[t]?.recommend?.[conc];
        if (!r) return;
        const bx = x0 + g * gw + 10 + s * bw;
        bar(
          bx,
          y(r.rps),
          bw - 2,
          top + plotH - y(r.rps),
          COLORS[t],
          `${t} c=${conc}: ${r.rps.toFixed(0)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`,
        );
        out.push(`<text x="${bx + (bw - 2) / 2}" y="${y(r.rps) - 3}" text-anchor="middle" font-size="10">${fmt(r.p99)}</text>`);
      });
      out.push(`<text x="${x0 + g * gw + gw / 2}" y="${top + plotH + 16}" text-anchor="middle">concurrency ${conc}</text>`);
    });
    out.push(`<line x1="${x0}" x2="${x0}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
    legend(
      x0,
      top + plotH + 40,
      ts.map((t) => [COLORS[t], TARGET_LABELS[t].replace(/`/g, '')]),
    );
  }
  if (cold) {
    const x0 = 1060;
    const pw = 300;
    const labels = cold[0].bundles.map((b) => b.label);
    const colors = ['#7f7f7f', '#d62728', '#ff7f0e'];
    const max = Math.max(300, ...cold.flatMap((c) => c.bundles.map((b) => coldRange(b)[1]))) * 1.1;
    const y = (v) => top + plotH - (v / max) * plotH;
    out.push(`<text x="${x0 + pw / 2}" y="${top - 20}" text-anchor="middle" font-size="14">d. new isolate to first answer, ms</text>`);
    for (let v = 0; v <= max; v += 100)
      out.push(
        `<line x1="${x0}" x2="${x0 + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`,
      );
    out.push(
      `<line x1="${x0}" x2="${x0 + pw}" y1="${y(300)}" y2="${y(300)}" stroke="#333" stroke-dasharray="5,4"/>`,
      `<text x="${x0 + 4}" y="${y(300) - 4}" font-size="10">target 300 ms</text>`,
    );
    const gw = pw / cold.length;
    const bw = (gw - 20) / labels.length;
    cold.forEach((c, g) => {
      c.bundles.forEach((b, s) => {
        const bx = x0 + g * gw + 10 + s * bw;
        const [lo, hi] = coldRange(b);
        bar(
          bx,
          y(b.coldMs),
          bw - 2,
          top + plotH - y(b.coldMs),
          colors[s % colors.length],
          `${sizeName(c.items)} items, ${b.label}: median ${fmt(b.coldMs)} ms (${fmt(lo)}-${fmt(hi)})`,
        );
        const mid = bx + (bw - 2) / 2;
        out.push(`<line x1="${mid}" x2="${mid}" y1="${y(hi)}" y2="${y(lo)}" stroke="#333"/>`);
      });
      out.push(`<text x="${x0 + g * gw + gw / 2}" y="${top + plotH + 16}" text-anchor="middle">${sizeName(c.items)} items</text>`);
    });
    out.push(`<line x1="${x0}" x2="${x0}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
    legend(
      x0,
      top + plotH + 40,
      labels.map((l, i) => [colors[i % colors.length], l.replace(/ \(.*\)$/, '')]),
    );
    out.push(
      `<text x="${x0}" y="${top + plotH + 40 + labels.length * 16}" font-size="10">bars: medians; lines: the range over trials</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
