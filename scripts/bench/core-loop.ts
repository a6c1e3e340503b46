/**
 * `recommend()` and its two heavy parts, the user tower (`model.encode`) and retrieval
 * (`model.scan`), as loops over prepared requests: the same code times them inside workerd
 * (isolate-loop-entry.ts) and in Node (isolate-loop.mjs --node), so the two runtimes can be put side
 * by side on the same Wasm kernels and the same inputs.
 */
import type { EncoderBatch } from '../../src/core/history';
import type { ScanFilter } from '../../src/core/item-table';
import { recommend, type RecommendRequest, type ScoringModel } from '../../src/core/recommend';

export const CORE_MODES = ['core', 'encode', 'scan'] as const;
export type CoreMode = (typeof CORE_MODES)[number];

/** A request body of the bench (scripts/bench/artifact.mjs requestBodies) as recommend() takes it. */
export function coreRequest(b: {
  history: RecommendRequest['history'];
  k?: number;
  filters?: RecommendRequest['filters'];
  diversity?: number;
  explain?: boolean;
}): RecommendRequest {
  return {
    history: b.history,
    k: b.k ?? 10,
    filters: b.filters,
    excludeSeen: true,
    diversity: b.diversity ?? 0,
    explain: b.explain ?? false,
    nowSeconds: 1_800_000_000,
  };
}

/**
 * Runs recommend() once per body with the model's encode and scan recorded, then returns a loop per
 * mode: `core` runs recommend() on the bodies in turn, `encode` and `scan` replay the recorded calls.
 * Each loop returns a number derived from the answers, so nothing is optimised away.
 */
export async function coreLoops(model: ScoringModel, bodies: string[]): Promise<Record<CoreMode, (n: number) => Promise<number>>> {
  if (!model.scan) throw new Error('the model has no scan kernel');
  const scan = model.scan;
  const encodes: EncoderBatch[] = [];
  const scans: [Float32Array, number, ScanFilter][] = [];
  const recording: ScoringModel = {
    ...model,
    encode: (batch) => (encodes.push(batch), model.encode(batch)),
    scan: (u, k, filter) => (scans.push([u.slice(), k, filter]), scan(u, k, filter)),
  };
  const requests = bodies.map((b) => coreRequest(JSON.parse(b)));
  for (const r of requests) await recommend(recording, r);
  if (!encodes.length || !scans.length) throw new Error('no request reached the user tower and the scan');
  return {
    core: async (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (await recommend(model, requests[i % requests.length]!)).items.length;
      return sum;
    },
    encode: async (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (await model.encode(encodes[i % encodes.length]!)).userEmb[0]!;
      return sum;
    },
    scan: async (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += scan(...scans[i % scans.length]!).length;
      return sum;
    },
  };
}
