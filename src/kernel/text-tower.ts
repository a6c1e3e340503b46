/**
 * The text tower without onnxruntime: the trainer's `text_tower.bin` (the int8 weights of
 * `text_encoder.int8.onnx`, same values) run in TypeScript plus the tower kernel's dense layer.
 * Tokens -> mean of their int8 embedding rows (`q[t] * scale[t]`) -> residual MLP (Linear, GELU,
 * Linear) -> a vector in the item embedding space; a row without tokens encodes to zero. Same
 * outputs as the ONNX graph up to float rounding (weight-only int8, float32 activations).
 *
 * Pure: the compiled kernel (tower.wasm) is injected, as for the user tower.
 */
import { expectTensor, readKernelFile, type TensorSpec } from '../core/binary-file';
import { erf } from './tower';

export const TEXT_FORMAT = 'edgerec-text/1';

export interface TextTowerHeader {
  format: string;
  dim: number;
  vocab: number;
  maxTokens: number;
  gelu: string;
  tensors: Record<string, TensorSpec>;
  dataBytes: number;
}

export interface TextTower {
  readonly header: TextTowerHeader;
  /** One row of token ids (0 = padding) -> text_emb [dim]. */
  encode(tokens: BigInt64Array): Float32Array;
}

interface KernelExports {
  linear(x: number, w: number, b: number, y: number, n: number, k: number, m: number): void;
}

const PAGE = 65536;

export function createTextTower(module: WebAssembly.Module, bytes: Uint8Array): TextTower {
  const { header: h, data, fail } = readKernelFile<TextTowerHeader>(bytes, 'text_tower.bin', TEXT_FORMAT);
  const d = h.dim;
  if (!Number.isInteger(d) || d < 1 || !Number.isInteger(h.vocab) || h.vocab < 1) fail('bad dim or vocab');
  if (h.gelu !== 'erf') fail(`GELU "${h.gelu}" is not supported`);
  expectTensor(h, 'tok.w', 'int8', [h.vocab, d], fail);
  expectTensor(h, 'tok.s', 'float32', [h.vocab], fail);
  for (const name of ['mlp1', 'mlp2']) {
    expectTensor(h, `${name}.w`, 'int8', [d, d], fail);
    expectTensor(h, `${name}.s`, 'float32', [d], fail);
    expectTensor(h, `${name}.b`, 'float32', [d], fail);
  }
  const view = (name: string) => new Float32Array(data, h.tensors[name]!.offset, h.tensors[name]!.shape.reduce((a, b) => a * b, 1));
  const tokQ = new Int8Array(data, h.tensors['tok.w']!.offset, h.vocab * d);
  const tokS = view('tok.s');

  // Kernel memory: two dequantized d x d weights with biases, and three d-float rows.
  const align16 = (n: number) => (n + 15) & ~15;
  let at = 64;
  const take = (floats: number) => {
    const p = at;
    at = align16(at + floats * 4);
    return p;
  };
  const lin = ['mlp1', 'mlp2'].map((name) => ({ name, w: take(d * d), b: take(d) }));
  const X = take(d);
  const Hd = take(d);
  const Y = take(d);
  const pages = Math.ceil(at / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  const mem = new Float32Array(memory.buffer);
  for (const l of lin) {
    const q = new Int8Array(data, h.tensors[`${l.name}.w`]!.offset, d * d);
    const s = view(`${l.name}.s`);
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) mem[l.w / 4 + r * d + c] = q[r * d + c]! * s[c]!;
    mem.set(view(`${l.name}.b`), l.b / 4);
  }
  const linear = (l: (typeof lin)[number], x: number, y: number) => {
    if (d % 4 === 0) return kernel.linear(x, l.w, l.b, y, 1, d, d);
    for (let c = 0; c < d; c++) {
      let acc = mem[l.b / 4 + c]!;
      for (let r = 0; r < d; r++) acc = Math.fround(acc + Math.fround(mem[x / 4 + r]! * mem[l.w / 4 + r * d + c]!));
      mem[y / 4 + c] = acc;
    }
  };
  const pooledRow = new Float64Array(d);

  const encode = (tokens: BigInt64Array): Float32Array => {
    pooledRow.fill(0);
    let count = 0;
    for (const t of tokens) {
      if (t <= 0n) continue;
      const id = Number(t);
      if (id >= h.vocab) throw new Error(`text tower: token ${id} is outside the vocabulary (${h.vocab})`);
      const s = tokS[id]!;
      for (let j = 0; j < d; j++) pooledRow[j] = pooledRow[j]! + Math.fround(tokQ[id * d + j]! * s);
      count++;
    }
    const out = new Float32Array(d);
    if (count === 0) return out; // no tokens: the zero vector, as the model
    const x = X / 4;
    for (let j = 0; j < d; j++) mem[x + j] = pooledRow[j]! / count;
    linear(lin[0]!, X, Hd);
    for (let j = Hd / 4; j < Hd / 4 + d; j++) {
      const v = mem[j]!;
      mem[j] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
    }
    linear(lin[1]!, Hd, Y);
    for (let j = 0; j < d; j++) out[j] = mem[x + j]! + mem[Y / 4 + j]!;
    return out;
  };
  return { header: h, encode };
}
