/**
 * The user tower kernel against a plain float64 implementation of the same model (written here from
 * docs/ARTIFACTS.md, like scripts/edgerec/tower.py), on random weights and shapes: widths that are
 * not multiples of 4 take the JavaScript paths (dense layers, attention), the others the WASM ones.
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EncoderBatch } from '../../src/core/history';
import { createUserTower, erf } from '../../src/kernel/tower';
import { rng } from './rng';
// @ts-expect-error: a plain .mjs script without types
import { binaryFile } from '../../scripts/bench/artifact.mjs';

const root = `${resolve(import.meta.dirname, '../..')}/`;
const ModuleFromBytes = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;
const kernel = new ModuleFromBytes(readFileSync(`${root}src/kernel/tower.wasm`));

type Tensors = Record<string, { dtype: 'int8' | 'float32'; shape: number[]; data: Int8Array | Float32Array }>;

/** A random model of the given shape, and its user_tower.bin. */
function randomTower(
  d: number,
  heads: number,
  layers: number,
  ffn: number,
  L: number,
  C: number,
  seed: number,
  flags = { events: true, recency: true },
) {
  const r = rng(seed);
  const t: Tensors = {};
  const f = (name: string, shape: number[], scale = 0.3) => {
    const n = shape.reduce((a, b) => a * b, 1);
    t[name] = { dtype: 'float32', shape, data: Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale) };
  };
  const q = (name: string, k: number, m: number) => {
    t[`${name}.w`] = { dtype: 'int8', shape: [k, m], data: Int8Array.from({ length: k * m }, () => Math.round((r() * 2 - 1) * 127)) };
    f(`${name}.s`, [m], 0.004);
    f(`${name}.b`, [m], 0.1);
  };
  f('event_emb', [6, d]);
  f('age_w', [d]);
  f('age_b', [d]);
  f('pos_emb', [L, d]);
  for (let i = 0; i < layers; i++) {
    for (const n of ['ln1', 'ln2']) {
      t[`b${i}.${n}.w`] = { dtype: 'float32', shape: [d], data: Float32Array.from({ length: d }, () => 1 + (r() - 0.5) * 0.2) };
      f(`b${i}.${n}.b`, [d], 0.05);
    }
    q(`b${i}.qkv`, d, 3 * d);
    q(`b${i}.out`, d, d);
    q(`b${i}.ffn1`, d, ffn);
    q(`b${i}.ffn2`, ffn, d);
  }
  t['lnf.w'] = { dtype: 'float32', shape: [d], data: new Float32Array(d).fill(1) };
  f('lnf.b', [d], 0.05);
  f('interest.w', [d, C]);
  f('interest.b', [C], 0.1);
  const header = {
    format: 'edgerec-tower/1',
    dim: d,
    heads,
    layers,
    ffn,
    maxLen: L,
    categories: C,
    eps: 1e-5,
    lnfEps: 1e-5,
    ...flags,
    gelu: 'erf',
  };
  const bytes = new Uint8Array(
    binaryFile(header, Object.fromEntries(Object.entries(t).map(([name, x]) => [name, [x.dtype, x.shape, x.data]]))),
  );
  return { bytes, t };
}

/** The model in float64, one history at a time (real slots only, as the ONNX graph's last slot sees them). */
function reference(
  t: Tensors,
  d: number,
  heads: number,
  layers: number,
  C: number,
  b: EncoderBatch,
  bi: number,
  flags = { events: true, recency: true },
) {
  const L = b.maxLen;
  const get = (n: string) => t[n]!.data;
  const W = (n: string) => {
    const w = get(`${n}.w`);
    const s = get(`${n}.s`);
    const m = t[`${n}.s`]!.shape[0]!;
    return { w: Array.from(w, (v, i) => Math.fround(v * s[i % m]!)), b: get(`${n}.b`), k: t[`${n}.w`]!.shape[0]!, m };
  };
  const lin = (x: number[][], l: ReturnType<typeof W>) =>
    x.map((row) => Array.from({ length: l.m }, (_, j) => row.reduce((a, v, k) => a + v * l.w[k * l.m + j]!, l.b[j]!)));
  const ln = (x: number[][], w: ArrayLike<number>, bb: ArrayLike<number>) =>
    x.map((row) => {
      const mu = row.reduce((a, v) => a + v, 0) / row.length;
      const va = row.reduce((a, v) => a + (v - mu) ** 2, 0) / row.length;
      return row.map((v, j) => ((v - mu) / Math.sqrt(va + 1e-5)) * w[j]! + bb[j]!);
    });
  const real: number[] = [];
  for (let s = 0; s < L; s++) if (b.histEvent[bi * L + s]! > 0n) real.push(s);
  const n = real.length;
  let x =
    n === 0
      ? [new Array(d).fill(0)]
      : real.map((slot, i) =>
          Array.from({ length: d }, (_, j) => {
            const ev = Number(b.histEvent[bi * L + slot]!);
            const age = b.histAge[bi * L + slot]!;
            const event = flags.events ? get('event_emb')[ev * d + j]! : 0;
            const recency = flags.recency ? age * get('age_w')[j]! + get('age_b')[j]! : 0;
            return b.histEmb[(bi * L + slot) * d + j]! + event + recency + get('pos_emb')[(n - 1 - i) * d + j]!;
          }),
        );
  const dh = d / heads;
  let attLast: number[] = [];
  for (let l = 0; l < layers; l++) {
    const h = ln(x, get(`b${l}.ln1.w`), get(`b${l}.ln1.b`));
    const qkv = lin(h, W(`b${l}.qkv`));
    attLast = new Array(x.length).fill(0);
    const y = x.map(() => new Array(d).fill(0));
    for (let hd = 0; hd < heads; hd++) {
      for (let i = 0; i < x.length; i++) {
        const sc = Array.from({ length: i + 1 }, (_, j) => {
          let dot = 0;
          for (let e = 0; e < dh; e++) dot += qkv[i]![hd * dh + e]! * qkv[j]![d + hd * dh + e]!;
          return dot / Math.sqrt(dh);
        });
        const mx = Math.max(...sc);
        const ex = sc.map((v) => Math.exp(v - mx));
        const sum = ex.reduce((a, v) => a + v, 0);
        ex.forEach((p, j) => {
          for (let e = 0; e < dh; e++) y[i]![hd * dh + e] += (p / sum) * qkv[j]![2 * d + hd * dh + e]!;
          if (i === x.length - 1) attLast[j] = attLast[j]! + p / sum / heads;
        });
      }
    }
    x = x.map((row, i) => row.map((v, j) => v + lin([y[i]!], W(`b${l}.out`))[0]![j]!));
    const f1 = lin(ln(x, get(`b${l}.ln2.w`), get(`b${l}.ln2.b`)), W(`b${l}.ffn1`)).map((row) =>
      row.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
    );
    const f2 = lin(f1, W(`b${l}.ffn2`));
    x = x.map((row, i) => row.map((v, j) => v + f2[i]![j]!));
  }
  const u = ln([x[x.length - 1]!], get('lnf.w'), get('lnf.b'))[0]!;
  const logits = Array.from({ length: C }, (_, c) => u.reduce((a, v, j) => a + v * get('interest.w')[j * C + c]!, get('interest.b')[c]!));
  const mx = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, v) => a + v, 0);
  const attention = new Array(L).fill(0);
  if (n === 0) attention.fill(layers ? 1 / L : 0);
  else real.forEach((slot, i) => (attention[slot] = layers ? attLast[i]! : 0));
  return { u, interests: e.map((v) => v / s), attention };
}

function batch(d: number, L: number, lengths: number[], seed: number): EncoderBatch {
  const r = rng(seed);
  const B = lengths.length;
  const b: EncoderBatch = {
    batch: B,
    maxLen: L,
    dim: d,
    histEmb: new Float32Array(B * L * d),
    histEvent: new BigInt64Array(B * L),
    histAge: new Float32Array(B * L),
  };
  lengths.forEach((n, bi) => {
    for (let s = L - n; s < L; s++) {
      for (let j = 0; j < d; j++) b.histEmb[(bi * L + s) * d + j] = (r() - 0.5) * 0.8;
      b.histEvent[bi * L + s] = BigInt(1 + Math.floor(r() * 4));
      b.histAge[bi * L + s] = r() * 6;
    }
  });
  return b;
}

describe('user tower kernel vs a float64 reference', () => {
  it.each([
    // d, heads, layers, ffn, event types, recency: WASM paths (multiples of 4) and JavaScript ones
    // (odd widths, head size 9), with and without the event and recency inputs
    [64, 2, 2, 64, true, true],
    [18, 2, 2, 22, true, true],
    [30, 3, 1, 30, false, true],
    [12, 1, 3, 48, true, false],
    [16, 4, 0, 16, false, false],
  ])('d=%i heads=%i layers=%i ffn=%i events=%s recency=%s', (d, heads, layers, ffn, events, recency) => {
    const L = 12;
    const C = 5;
    const flags = { events, recency };
    const { bytes, t } = randomTower(d, heads, layers, ffn, L, C, d * 31 + layers, flags);
    const tower = createUserTower(kernel, bytes);
    const b = batch(d, L, [12, 5, 1, 0, 7], d + heads);
    const got = tower.encode(b);
    for (let bi = 0; bi < b.batch; bi++) {
      const want = reference(t, d, heads, layers, C, b, bi, flags);
      want.u.forEach((v, j) => expect(Math.abs(got.userEmb[bi * d + j]! - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
      want.interests.forEach((v, c) => expect(Math.abs(got.interests[bi * C + c]! - v)).toBeLessThan(1e-5));
      want.attention.forEach((v, s) => expect(Math.abs(got.attention[bi * L + s]! - v)).toBeLessThan(1e-5));
    }
  });
});
