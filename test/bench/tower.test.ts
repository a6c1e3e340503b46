/**
 * The user tower kernel (src/kernel/tower.ts + tower.wasm) against onnxruntime-node (native MLAS) on
 * the same artifact: models/default's user_tower.bin vs its user_encoder.int8.onnx. Both compute the
 * weight-only int8 tower in float32, so they agree to float rounding, for any history length, padding
 * and batch (the explain path runs leave-one-out variants, one of them possibly empty).
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EncoderBatch } from '../../src/core/history';
import { createUserTower, erf, parseTower, type UserTower } from '../../src/kernel/tower';
import { rng } from './rng';

const root = `${resolve(import.meta.dirname, '../..')}/`;
const ModuleFromBytes = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;
const kernel = new ModuleFromBytes(readFileSync(`${root}src/kernel/tower.wasm`));
const towerBytes = new Uint8Array(readFileSync(`${root}models/default/user_tower.bin`));

let tower: UserTower;
let session: ortNode.InferenceSession;

beforeAll(async () => {
  tower = createUserTower(kernel, towerBytes);
  session = await ortNode.InferenceSession.create(`${root}models/default/user_encoder.int8.onnx`, { intraOpNumThreads: 1 });
});

/** A left-padded batch: variant b has lengths[b] events in the last slots of L. */
function batch(lengths: number[], L: number, seed: number): EncoderBatch {
  const r = rng(seed);
  const D = tower.header.dim;
  const B = lengths.length;
  const histEmb = new Float32Array(B * L * D);
  const histEvent = new BigInt64Array(B * L);
  const histAge = new Float32Array(B * L);
  lengths.forEach((n, b) => {
    for (let s = L - n; s < L; s++) {
      for (let j = 0; j < D; j++) histEmb[(b * L + s) * D + j] = (r() - 0.5) * 0.8;
      histEvent[b * L + s] = BigInt(1 + Math.floor(r() * 4));
      histAge[b * L + s] = r() * 8;
    }
  });
  return { batch: B, maxLen: L, dim: D, histEmb, histEvent, histAge };
}

async function native(b: EncoderBatch) {
  const feeds: Record<string, ortNode.Tensor> = {
    hist_emb: new ortNode.Tensor('float32', b.histEmb, [b.batch, b.maxLen, b.dim]),
    hist_event: new ortNode.Tensor('int64', b.histEvent, [b.batch, b.maxLen]),
    hist_age: new ortNode.Tensor('float32', b.histAge, [b.batch, b.maxLen]),
  };
  const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]!])));
  return {
    userEmb: out.user_emb!.data as Float32Array,
    interests: out.interests!.data as Float32Array,
    attention: out.attention!.data as Float32Array,
  };
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('user tower kernel vs onnxruntime-node', () => {
  it.each([
    ['8 events', [8], 8],
    ['8 events padded to 50', [8], 50],
    ['a full history', [50], 50],
    ['one event', [1], 50],
    ['mixed lengths, one empty', [50, 3, 0, 17], 50],
    ['explain: a history and its leave-one-out variants', [6, 5, 5, 5, 5, 5, 5], 6],
    ['no events at all', [0, 0], 4],
  ])('%s: same user_emb, interests and attention', async (_name, lengths, L) => {
    const b = batch(lengths as number[], L as number, 11 + (L as number));
    const got = tower.encode(b);
    const want = await native(b);
    expect(got.userEmb.length).toBe(want.userEmb.length);
    expect(got.attention.length).toBe(want.attention.length);
    expect(maxDiff(got.userEmb, want.userEmb)).toBeLessThan(2e-5); // |user_emb| is ~6
    expect(maxDiff(got.interests, want.interests)).toBeLessThan(1e-5);
    expect(maxDiff(got.attention, want.attention)).toBeLessThan(1e-5);
  });

  it('the kernel holds little memory', () => {
    expect(tower.memoryBytes).toBeLessThan(1 << 20);
  });
});

describe('user_tower.bin parsing', () => {
  const header = parseTower(towerBytes).header;

  it('reads the header the trainer wrote', () => {
    expect(header.format).toBe('edgerec-tower/1');
    expect(header.dim).toBe(64);
    expect(header.layers).toBeGreaterThan(0);
    expect(header.tensors['b0.qkv.w']!.dtype).toBe('int8');
  });

  const broken: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    ['bad magic', (b) => Uint8Array.from(b, (x, i) => (i === 0 ? 0 : x)), /bad magic/],
    ['truncated', (b) => b.slice(0, b.length - 16), /bytes, the header says/],
    ['too short', () => new Uint8Array(3), /too short/],
    [
      'wrong shape',
      (b) => {
        const len = new DataView(b.buffer, b.byteOffset).getUint32(4, true);
        const text = new TextDecoder()
          .decode(b.subarray(8, 8 + len))
          .replace('"b0.qkv.w":{"dtype":"int8","shape":[64,192]', '"b0.qkv.w":{"dtype":"int8","shape":[64,191]');
        const out = b.slice();
        out.set(new TextEncoder().encode(text), 8);
        return out;
      },
      /b0\.qkv\.w is int8 \[64,191\]/,
    ],
  ];
  it.each(broken)('%s: a clear error', (_name, mutate, message) => {
    expect(() => createUserTower(kernel, mutate(towerBytes))).toThrow(message);
  });

  it('erf is accurate to float32', () => {
    // Reference values of erf (Abramowitz & Stegun table 7.1).
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.112462916],
      [0.5, 0.5204998778],
      [1, 0.8427007929],
      [2, 0.995322265],
      [3, 0.9999779095],
    ];
    for (const [x, want] of table) {
      expect(Math.abs(erf(x) - want)).toBeLessThan(2e-7);
      expect(Math.abs(erf(-x) + want)).toBeLessThan(2e-7);
    }
  });

  it("the kernel's GELU (float32, its own exp) matches GELU by erf in float64 and writes nothing past count", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const k = new WebAssembly.Instance(kernel, { env: { memory } }).exports as unknown as { gelu(p: number, n: number): void };
    const r = rng(41);
    const xs = [0, -0, 1e-30, -1e-30, 1e-3, -1e-3, 0.5, -0.5, 1, -1, 3, -3, 6, -6, 9, -9, 40, -40, 100, -100, 1e30, -1e30];
    while (xs.length < 4096) xs.push((r() - 0.5) * 16);
    const mem = new Float32Array(memory.buffer);
    mem.set(xs, 16);
    k.gelu(64, xs.length);
    const gelu = (x: number) => 0.5 * x * (1 + erf(x * Math.SQRT1_2));
    let worst = 0;
    xs.forEach((x, i) => {
      const want = gelu(Math.fround(x));
      worst = Math.max(worst, Math.abs(mem[16 + i]! - want) / Math.max(1, Math.abs(want)));
    });
    expect(worst).toBeLessThan(1e-6);
    expect(Number.isFinite(mem[16 + xs.indexOf(-1e30)]!)).toBe(true);
    // Past count the kernel writes nothing.
    mem.fill(7, 16, 16 + 12);
    k.gelu(64, 8);
    expect([...mem.subarray(24, 28)]).toEqual([7, 7, 7, 7]);
  });
});

describe('text tower kernel vs onnxruntime-node', () => {
  it('same text_emb for token rows: real text, padding, no tokens, repeated tokens', async () => {
    const { createTextTower } = await import('../../src/kernel/text-tower');
    const text = createTextTower(kernel, new Uint8Array(readFileSync(`${root}models/default/text_tower.bin`)));
    const onnx = await ortNode.InferenceSession.create(`${root}models/default/text_encoder.int8.onnx`, { intraOpNumThreads: 1 });
    const T = text.header.maxTokens;
    const r = rng(5);
    const rows: number[][] = [[], [1], [5, 5, 5], Array.from({ length: T }, () => 1 + Math.floor(r() * (text.header.vocab - 1)))];
    for (let i = 0; i < 20; i++)
      rows.push(Array.from({ length: 1 + Math.floor(r() * 8) }, () => 1 + Math.floor(r() * (text.header.vocab - 1))));
    for (const row of rows) {
      const tokens = new BigInt64Array(T);
      row.forEach((t, i) => (tokens[i] = BigInt(t)));
      const got = text.encode(tokens);
      const want = (await onnx.run({ tokens: new ortNode.Tensor('int64', tokens, [1, T]) })).text_emb!.data as Float32Array;
      expect(maxDiff(got, want)).toBeLessThan(1e-5);
      if (row.length === 0) expect(got.every((v) => v === 0)).toBe(true);
    }
    expect(() => text.encode(BigInt64Array.from([BigInt(text.header.vocab)]))).toThrow(/outside the vocabulary/);
  });
});
