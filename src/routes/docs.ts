import { Hono } from 'hono';
import type { AppEnv } from '../env';

/** A readable, self-contained API reference rendered from /openapi.json (no CDN scripts). */
export const docs = new Hono<AppEnv>();

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>edgerec API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{margin-bottom:0}.op{border:1px solid #d8dde6;border-radius:8px;margin:1rem 0;padding:.8rem 1rem}
.m{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}.get{color:#0a7}.post{color:#06c}
code,pre{background:#f4f6f9;border-radius:4px;padding:.1em .3em}pre{padding:.6em;overflow:auto;font-size:13px}
details summary{cursor:pointer;color:#555}
</style></head><body>
<h1>edgerec API</h1><p>Rendered from <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1), generated from the schemas that validate requests.</p>
<div id="ops">Loading…</div>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  const out = [];
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const body = op.requestBody?.content?.['application/json']?.schema;
    out.push('<div class="op"><span class="m ' + method + '">' + method + '</span> <code>' + esc(path) + '</code><p>' + esc(op.summary || '') + '</p>'
      + (body ? '<details><summary>request body</summary><pre>' + esc(JSON.stringify(body, null, 2)) + '</pre></details>' : '')
      + '<details><summary>responses: ' + Object.keys(op.responses).join(', ') + '</summary><pre>' + esc(JSON.stringify(op.responses, null, 2)) + '</pre></details></div>');
  }
  out.push('<h2>Schemas</h2><pre>' + esc(JSON.stringify(doc.components?.schemas ?? {}, null, 2)) + '</pre>');
  document.getElementById('ops').innerHTML = out.join('');
});
</script></body></html>`;

docs.get('/docs', (c) => c.html(PAGE));
