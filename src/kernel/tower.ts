/**
 * The user tower without onnxruntime: the trainer's `user_tower.bin` (the int8 weights of
 * `user_encoder.int8.onnx`, same values, in a flat layout; docs/ARTIFACTS.md) run by a small WASM SIMD
 * kernel (tower.wat: the dense layers and attention's dot products) and TypeScript (layer norm,
 * softmax, GELU).
 *
 * It computes what onnxruntime computes on the ONNX file, float32 throughout with weights dequantized
 * once at load (`q * scale`, the graph's Cast + Mul), up to summation order (~1e-6): the int8
 * tower is weight-only, so there is no activation rounding step that two runtimes could take
 * differently. And it does less work than the graph:
 *  - only real history slots run. Padding slots are masked keys, so they cannot change a real slot's
 *    output; the graph runs every slot it is given (50 for a fixed-length export).
 *  - in the last block only the final slot's query runs (keys and values need every slot; the
 *    attention, projection and feed-forward of the other slots' last layer feed nothing).
 *  - a batch's histories (an explained request's leave-one-out variants) share each dense-layer call.
 *
 * Pure: imports nothing from hono, `cloudflare:*` or onnxruntime-web; the compiled kernel is injected
 * (workerd: `import tower from './tower.wasm'`, Node: `new WebAssembly.Module(readFileSync(...))`).
 */
import { expectTensor, readKernelFile, tensorView, type TensorSpec } from '../core/binary-file';
import type { EncoderBatch } from '../core/history';
import type { EncoderOutput } from '../core/recommend';
import { DenseMemory, MemoryPlan, type Linear } from './dense';

export { erf } from './dense';

export const TOWER_FORMAT = 'edgerec-tower/1';

/** The JSON header of `user_tower.bin`. */
export interface TowerHeader {
  format: string;
  dim: number;
  heads: number;
  layers: number;
  ffn: number;
  maxLen: number;
  categories: number;
  eps: number;
  lnfEps: number;
  events: boolean;
  recency: boolean;
  gelu: string;
  tensors: Record<string, TensorSpec>;
  dataBytes: number;
}

export interface UserTower {
  readonly header: TowerHeader;
  /** Bytes of WebAssembly memory held (dequantized weights and activation buffers). */
  readonly memoryBytes: number;
  /** Same inputs and outputs as the ONNX user encoder (EncodeFn), synchronously. */
  encode(batch: EncoderBatch): EncoderOutput;
}

interface Block {
  ln1w: Float32Array;
  ln1b: Float32Array;
  ln2w: Float32Array;
  ln2b: Float32Array;
  qkv: Linear;
  out: Linear;
  ffn1: Linear;
  ffn2: Linear;
}

/** Rows (history slots, over all histories of a batch) run together. */
const ROWS = 256;

/** Reads and checks `user_tower.bin`; returns its header and data section. */
export function parseTower(bytes: Uint8Array): { header: TowerHeader; data: ArrayBuffer } {
  const { header, data, fail } = readKernelFile<TowerHeader>(bytes, 'user_tower.bin', TOWER_FORMAT);
  const { dim: d, heads, layers, ffn, maxLen, categories: c } = header;
  const ints = { dim: d, heads, layers: layers + 1, ffn, maxLen, categories: c + 1 };
  for (const [k, v] of Object.entries(ints)) if (!Number.isInteger(v) || v < 1) fail(`bad ${k}`);
  if (d % heads !== 0) fail(`dim ${d} is not a multiple of heads ${heads}`);
  if (header.gelu !== 'erf') fail(`GELU "${header.gelu}" is not supported`);
  const want: Record<string, [string, number[]]> = {
    event_emb: ['float32', [-1, d]],
    age_w: ['float32', [d]],
    age_b: ['float32', [d]],
    pos_emb: ['float32', [maxLen, d]],
    'lnf.w': ['float32', [d]],
    'lnf.b': ['float32', [d]],
    'interest.w': ['float32', [d, c]],
    'interest.b': ['float32', [c]],
  };
  for (let i = 0; i < layers; i++) {
    for (const ln of ['ln1', 'ln2']) for (const p of ['w', 'b']) want[`b${i}.${ln}.${p}`] = ['float32', [d]];
    for (const [name, k, m] of [
      ['qkv', d, 3 * d],
      ['out', d, d],
      ['ffn1', d, ffn],
      ['ffn2', ffn, d],
    ] as const) {
      want[`b${i}.${name}.w`] = ['int8', [k, m]];
      want[`b${i}.${name}.s`] = ['float32', [m]];
      want[`b${i}.${name}.b`] = ['float32', [m]];
    }
  }
  for (const [name, [dtype, shape]] of Object.entries(want)) expectTensor(header, name, dtype, shape, fail);
  return { header, data };
}

/**
 * Builds the tower: one WebAssembly.Memory sized exactly (weights + buffers for maxLen slots), never
 * grown. Synchronous; throws a clear error on a malformed or unsupported `user_tower.bin`.
 */
export function createUserTower(module: WebAssembly.Module, bytes: Uint8Array): UserTower {
  const { header: h, data } = parseTower(bytes);
  const d = h.dim;
  const heads = h.heads;
  const dh = d / heads;
  const L = h.maxLen;
  const C = h.categories;
  const wide = Math.max(3 * d, h.ffn);

  const f32 = (name: string) => tensorView<'float32'>(h, data, name);
  // Memory plan: weights, then activation buffers.
  const plan = new MemoryPlan();
  const blocks: Block[] = [];
  for (let i = 0; i < h.layers; i++) {
    blocks.push({
      ln1w: f32(`b${i}.ln1.w`),
      ln1b: f32(`b${i}.ln1.b`),
      ln2w: f32(`b${i}.ln2.w`),
      ln2b: f32(`b${i}.ln2.b`),
      qkv: plan.linear(d, 3 * d),
      out: plan.linear(d, d),
      ffn1: plan.linear(d, h.ffn),
      ffn2: plan.linear(h.ffn, d),
    });
  }
  // Several histories (an explained request's leave-one-out variants) run together, up to R rows: one
  // dense-layer call per layer for all of them.
  const R = Math.max(L, ROWS);
  const X = plan.floats(R * d); // residual stream
  const H = plan.floats(R * d); // layer-norm output
  const Q = plan.floats(R * wide); // qkv, then the feed-forward hidden layer
  const A = plan.floats(R * d); // attention output (heads concatenated)
  const O = plan.floats(R * d); // projection / feed-forward output
  const XL = plan.floats(R * d); // the last block's final slots, one per history
  const S = plan.floats(L * L); // attention scores, then weights, of one head
  const dense = new DenseMemory(module, plan);
  const { mem, kernel } = dense;

  // The int8 weights, dequantized once.
  blocks.forEach((block, i) => {
    for (const name of ['qkv', 'out', 'ffn1', 'ffn2'] as const) {
      dense.load(block[name], tensorView<'int8'>(h, data, `b${i}.${name}.w`), f32(`b${i}.${name}.s`), f32(`b${i}.${name}.b`));
    }
  });
  const eventEmb = f32('event_emb');
  const nEvents = h.tensors.event_emb!.shape[0]!;
  const ageW = f32('age_w');
  const ageB = f32('age_b');
  const pos = f32('pos_emb');
  const lnfW = f32('lnf.w');
  const lnfB = f32('lnf.b');
  const interestW = f32('interest.w');
  const interestB = f32('interest.b');
  const scores = new Float64Array(L);
  const probs = new Float64Array(L);
  const acc = new Float64Array(dh);

  const linear = (lin: Linear, x: number, y: number, n: number) => dense.linear(lin, x, y, n);

  /** Layer norm of n rows of width d from `src` into `dst` (float32 offsets in floats). */
  const layerNorm = (src: number, dst: number, n: number, w: Float32Array, b: Float32Array, eps: number) => {
    for (let i = 0; i < n; i++) {
      const s = src + i * d;
      let mean = 0;
      for (let j = 0; j < d; j++) mean += mem[s + j]!;
      mean /= d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (mem[s + j]! - mean) ** 2;
      const inv = 1 / Math.sqrt(v / d + eps);
      for (let j = 0; j < d; j++) mem[dst + i * d + j] = (mem[s + j]! - mean) * inv * w[j]! + b[j]!;
    }
  };

  /**
   * Causal self-attention within one history: its n slots are the qkv rows [base, base + n) of Q;
   * queries [first, n) over keys [0, i] write A rows out, out + 1, ... `att`, when given, receives the
   * final query's weights averaged over heads.
   */
  function attend(base: number, first: number, n: number, out: number, att: Float32Array | undefined): void {
    if (dh % 4 === 0) return attendKernel(base, first, n, out, att);
    const scale = 1 / Math.sqrt(dh);
    const q3 = Q / 4 + base * 3 * d;
    const stride = 3 * d;
    for (let i = first; i < n; i++) {
      const a = A / 4 + (out + i - first) * d;
      for (let hd = 0; hd < heads; hd++) {
        const q = q3 + i * stride + hd * dh;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          const k = q3 + j * stride + d + hd * dh;
          let dot = 0;
          for (let e = 0; e < dh; e++) dot += mem[q + e]! * mem[k + e]!;
          const sc = Math.fround(dot) * scale;
          scores[j] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) {
          const p = Math.exp(scores[j]! - max);
          probs[j] = p;
          sum += p;
        }
        const out = a + hd * dh;
        for (let e = 0; e < dh; e++) acc[e] = 0;
        for (let j = 0; j <= i; j++) {
          const pj = Math.fround(probs[j]! / sum);
          const v = q3 + j * stride + 2 * d + hd * dh;
          for (let e = 0; e < dh; e++) acc[e] = acc[e]! + pj * mem[v + e]!;
          if (att && i === n - 1) att[j] = att[j]! + pj / heads;
        }
        for (let e = 0; e < dh; e++) mem[out + e] = acc[e]!;
      }
    }
  }

  /** attend() with the dot products and the weighted sums in the kernel, the softmax here. */
  function attendKernel(base: number, first: number, n: number, out: number, att: Float32Array | undefined): void {
    const scale = 1 / Math.sqrt(dh);
    const rows = n - first;
    const q = Q + base * 3 * d * 4;
    for (let hd = 0; hd < heads; hd++) {
      kernel.dots(q + hd * dh * 4, q + (d + hd * dh) * 4, 3 * d, rows, first, dh, S, L);
      for (let i = 0; i < rows; i++) {
        const keys = first + i + 1;
        const row = S / 4 + i * L;
        let max = -Infinity;
        for (let j = 0; j < keys; j++) {
          const sc = mem[row + j]! * scale;
          scores[j] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        for (let j = 0; j < keys; j++) {
          const p = Math.exp(scores[j]! - max);
          probs[j] = p;
          sum += p;
        }
        for (let j = 0; j < keys; j++) mem[row + j] = probs[j]! / sum;
        if (att && keys === n) for (let j = 0; j < keys; j++) att[j] = att[j]! + mem[row + j]! / heads;
      }
      kernel.mix(S, L, q + (2 * d + hd * dh) * 4, 3 * d, rows, first, dh, A + (out * d + hd * dh) * 4, d);
    }
  }

  interface Segment {
    bi: number; // the history's index in the batch
    s0: number; // its first real slot
    n: number; // rows it runs (real slots, or 1 for an empty history)
    empty: boolean;
    start: number; // its first row in X
  }

  /** The histories of `group` (consecutive rows of X), through every block; user_emb etc. into `out`. */
  const run = (batch: EncoderBatch, group: Segment[], out: EncoderOutput) => {
    const Lb = batch.maxLen;
    const x = X / 4;
    let total = 0;
    for (const seg of group) {
      seg.start = total;
      total += seg.n;
      for (let t = 0; t < seg.n; t++) {
        const row = x + (seg.start + t) * d;
        if (seg.empty) {
          // No event at all: every slot is an identical zero row attending uniformly to all of them,
          // which is one zero row attending to itself.
          mem.fill(0, row, row + d);
          continue;
        }
        const slot = seg.bi * Lb + seg.s0 + t;
        const ev = Number(batch.histEvent[slot]!);
        if (h.events && ev >= nEvents) throw new Error(`user tower: event index ${ev} out of range`);
        const age = batch.histAge[slot]!;
        const p = (seg.n - 1 - t) * d; // positions count from the most recent slot
        for (let j = 0; j < d; j++) {
          let v = batch.histEmb[slot * d + j]!;
          if (h.events) v = Math.fround(v + eventEmb[ev * d + j]!);
          if (h.recency) v = Math.fround(v + Math.fround(Math.fround(age * ageW[j]!) + ageB[j]!));
          mem[row + j] = v + pos[p + j]!;
        }
      }
    }
    const G = group.length;
    const xl = XL / 4;
    // Without blocks, the final slots are the embeddings themselves.
    if (!blocks.length) group.forEach((seg, g) => mem.copyWithin(xl + g * d, x + (seg.start + seg.n - 1) * d, x + (seg.start + seg.n) * d));
    for (let l = 0; l < blocks.length; l++) {
      const block = blocks[l]!;
      const final = l === blocks.length - 1;
      layerNorm(x, H / 4, total, block.ln1w, block.ln1b, h.eps);
      linear(block.qkv, H, Q, total);
      if (!final) {
        for (const seg of group) attend(seg.start, 0, seg.n, seg.start, undefined);
        linear(block.out, A, O, total);
        for (let j = 0; j < total * d; j++) mem[x + j] = mem[x + j]! + mem[O / 4 + j]!;
        layerNorm(x, H / 4, total, block.ln2w, block.ln2b, h.eps);
        linear(block.ffn1, H, Q, total);
        dense.gelu(Q / 4, total * h.ffn);
        linear(block.ffn2, Q, O, total);
        for (let j = 0; j < total * d; j++) mem[x + j] = mem[x + j]! + mem[O / 4 + j]!;
        continue;
      }
      // The last block: only each history's final slot goes on (keys and values need every slot).
      group.forEach((seg, g) => {
        const att = seg.empty ? undefined : out.attention.subarray(seg.bi * Lb + seg.s0, (seg.bi + 1) * Lb);
        attend(seg.start, seg.n - 1, seg.n, g, att);
      });
      linear(block.out, A, O, G);
      group.forEach((seg, g) => {
        const from = x + (seg.start + seg.n - 1) * d;
        for (let j = 0; j < d; j++) mem[xl + g * d + j] = mem[from + j]! + mem[O / 4 + g * d + j]!;
      });
      layerNorm(xl, H / 4, G, block.ln2w, block.ln2b, h.eps);
      linear(block.ffn1, H, Q, G);
      dense.gelu(Q / 4, G * h.ffn);
      linear(block.ffn2, Q, O, G);
      for (let j = 0; j < G * d; j++) mem[xl + j] = mem[xl + j]! + mem[O / 4 + j]!;
    }
    // Final layer norm of each last slot -> user_emb; interests = softmax(user_emb @ W + b).
    layerNorm(xl, H / 4, G, lnfW, lnfB, h.lnfEps);
    const logits = new Float64Array(C);
    group.forEach((seg, g) => {
      const bi = seg.bi;
      if (seg.empty && blocks.length) out.attention.fill(1 / Lb, bi * Lb, (bi + 1) * Lb);
      const u = out.userEmb.subarray(bi * d, (bi + 1) * d);
      u.set(mem.subarray(H / 4 + g * d, H / 4 + (g + 1) * d));
      let max = -Infinity;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let j = 0; j < d; j++) acc += u[j]! * interestW[j * C + c]!;
        logits[c] = Math.fround(acc + interestB[c]!);
        if (logits[c]! > max) max = logits[c]!;
      }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += logits[c] = Math.exp(logits[c]! - max);
      for (let c = 0; c < C; c++) out.interests[bi * C + c] = logits[c]! / sum;
    });
  };

  const encode = (batch: EncoderBatch): EncoderOutput => {
    const { batch: B, maxLen: Lb } = batch;
    if (batch.dim !== d) throw new Error(`user tower: batch dim ${batch.dim}, the tower has ${d}`);
    if (Lb > L) throw new Error(`user tower: ${Lb} history slots, the tower has ${L} positions`);
    const out: EncoderOutput = {
      userEmb: new Float32Array(B * d),
      interests: new Float32Array(B * C),
      attention: new Float32Array(B * Lb),
    };
    let group: Segment[] = [];
    let rows = 0;
    for (let bi = 0; bi < B; bi++) {
      // Real slots (event > 0) are a suffix: the batch is left-padded.
      let s0 = Lb;
      while (s0 > 0 && batch.histEvent[bi * Lb + s0 - 1]! > 0n) s0--;
      for (let j = 0; j < s0; j++) if (batch.histEvent[bi * Lb + j]! > 0n) throw new Error('user tower: history slots must be left-padded');
      const empty = s0 === Lb;
      const n = empty ? 1 : Lb - s0;
      if (rows + n > R) {
        run(batch, group, out);
        group = [];
        rows = 0;
      }
      group.push({ bi, s0, n, empty, start: 0 });
      rows += n;
    }
    if (group.length) run(batch, group, out);
    return out;
  };

  return { header: h, memoryBytes: dense.bytes, encode };
}
