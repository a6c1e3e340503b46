/**
 * A Worker for part a's "Worker path, in workerd" row (workerd-kernel.mjs; never deployed): the
 * committed int8 kernel and its wrapper (src/kernel/int8-scan.ts), fed the benchmark's table, filters
 * and queries over HTTP, then timed from outside, since workerd's clock stands still while
 * JavaScript runs.
 *
 *   PUT  /table?rows=R&dim=D   body: int8 rows x dim, then float32 scales (little-endian)
 *   PUT  /filters              body: JSON { queries: number[][], excluded: number[][], allowed: 0/1 string }
 *   POST /scan?j=J&mode=plain|filtered&k=K&n=N   runs N scans: the N - 1 queries after J in turn,
 *        then J; answers J's result (JSON)
 */
import kernel from '../../src/kernel/int8_scan.wasm';
import { createInt8Scanner, type Int8Scanner } from '../../src/kernel/int8-scan';

let scanner: Int8Scanner | undefined;
let queries: Float32Array[] = [];
let excluded: Set<number>[] = [];
let allowed: Uint8Array | undefined;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const num = (name: string) => Number(url.searchParams.get(name));
    if (url.pathname === '/health') return new Response('ok');
    if (url.pathname === '/table') {
      const rows = num('rows');
      const dim = num('dim');
      const bytes = new Uint8Array(await request.arrayBuffer());
      if (bytes.byteLength !== rows * dim + rows * 4) return new Response('bad table size', { status: 400 });
      scanner = createInt8Scanner(kernel, rows, dim);
      scanner.table.q.set(new Int8Array(bytes.buffer, 0, rows * dim));
      new Uint8Array(scanner.table.scales.buffer, scanner.table.scales.byteOffset, rows * 4).set(bytes.subarray(rows * dim));
      return new Response(String(scanner.memoryBytes));
    }
    if (url.pathname === '/filters') {
      const f = (await request.json()) as { queries: number[][]; excluded: number[][]; allowed: string };
      queries = f.queries.map((q) => Float32Array.from(q));
      excluded = f.excluded.map((e) => new Set(e));
      allowed = Uint8Array.from(f.allowed, (c) => (c === '1' ? 1 : 0));
      return new Response('ok');
    }
    if (url.pathname === '/scan' && scanner) {
      const j = num('j');
      const filtered = url.searchParams.get('mode') === 'filtered';
      const k = num('k');
      const n = num('n');
      let out: { row: number; score: number }[] = [];
      // n - 1 scans of the queries after j in turn (counting down), then j's, whose answer goes back.
      for (let i = n - 1; i >= 0; i--) {
        const q = (j + i) % queries.length;
        out = scanner.scanTopK(queries[q]!, k, filtered ? { allowed, excluded: excluded[q] } : {});
      }
      return Response.json(out);
    }
    return new Response('not found', { status: 404 });
  },
} satisfies ExportedHandler;
