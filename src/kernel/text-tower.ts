/**
 * The text tower without onnxruntime: the trainer's `text_tower.bin` (the int8 weights of
 * `text_encoder.int8.onnx`, same values) run in TypeScript plus the tower kernel's dense layer.
 * Tokens -> mean of their int8 embedding rows (`q[t] * scale[t]`) -> residual MLP (Linear, GELU,
 * Linear) -> a vector in the item embedding space; a row without tokens encodes to zero. Same
 * outputs as the ONNX graph up to float rounding (weight-only int8, float32 activations).
 *
 * Pure: the compiled kernel (tower.wasm) is injected, as for the user tower.
 */
import { expectTensor, readKernelFile, tensorView, type TensorSpec } from '../core/binary-file';
import { DenseMemory, MemoryPlan } from './dense';

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
  const f32 = (name: string) => tensorView<'float32'>(h, data, name);
  const tokQ = tensorView<'int8'>(h, data, 'tok.w');
  const tokS = f32('tok.s');

  // Kernel memory: the two Linears (dequantized once) and three rows of d floats.
  const plan = new MemoryPlan();
  const [mlp1, mlp2] = [plan.linear(d, d), plan.linear(d, d)] as const;
  const X = plan.floats(d);
  const Hd = plan.floats(d);
  const Y = plan.floats(d);
  const dense = new DenseMemory(module, plan);
  const { mem } = dense;
  dense.load(mlp1, tensorView<'int8'>(h, data, 'mlp1.w'), f32('mlp1.s'), f32('mlp1.b'));
  dense.load(mlp2, tensorView<'int8'>(h, data, 'mlp2.w'), f32('mlp2.s'), f32('mlp2.b'));
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
    dense.linear(mlp1, X, Hd, 1);
    dense.gelu(Hd / 4, d);
    dense.linear(mlp2, Hd, Y, 1);
    for (let j = 0; j < d; j++) out[j] = mem[x + j]! + mem[Y / 4 + j]!;
    return out;
  };
  return { header: h, encode };
}
