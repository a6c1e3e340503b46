/**
 * What the user and text towers share around tower.wasm: one WebAssembly.Memory sized by a plan and
 * never grown (so views of it stay valid), int8 Linear weights dequantized into it once, dense layers
 * (the kernel, or JavaScript for widths that are not a multiple of 4) and GELU. Pure.
 */
const PAGE = 65536;

/** erf(x): Numerical Recipes' erfc approximation (fractional error < 1.2e-7 everywhere). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  const t = 1 / (1 + 0.5 * ax);
  const r =
    t *
    Math.exp(
      -ax * ax -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}
export const align16 = (n: number) => (n + 15) & ~15;

/** A Linear in kernel memory: byte offsets of its float32 [k, m] weights and [m] bias. */
export interface Linear {
  w: number;
  b: number;
  k: number;
  m: number;
}

export interface TowerKernel {
  linear(x: number, w: number, b: number, y: number, n: number, k: number, m: number): void;
  dots(q: number, k: number, stride: number, rows: number, first: number, dh: number, s: number, sStride: number): void;
  mix(p: number, pStride: number, v: number, stride: number, rows: number, first: number, dh: number, o: number, oStride: number): void;
  gelu(p: number, count: number): void;
}

/** Byte offsets of float32 buffers in kernel memory, handed out in order, 16-byte aligned. */
export class MemoryPlan {
  private at = 64;

  floats(n: number): number {
    const p = this.at;
    this.at = align16(this.at + n * 4);
    return p;
  }

  linear(k: number, m: number): Linear {
    return { w: this.floats(k * m), b: this.floats(m), k, m };
  }

  get bytes(): number {
    return this.at;
  }
}

export class DenseMemory {
  readonly mem: Float32Array;
  readonly kernel: TowerKernel;
  readonly bytes: number;

  constructor(module: WebAssembly.Module, plan: MemoryPlan) {
    const pages = Math.ceil(plan.bytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as TowerKernel;
    this.mem = new Float32Array(memory.buffer);
    this.bytes = memory.buffer.byteLength;
  }

  /** W[k, m] = q[k, m] * scale[m] (one float32 rounding, the graph's Cast + Mul); the bias copied. */
  load(lin: Linear, q: Int8Array, scale: Float32Array, bias: Float32Array): void {
    const w = this.mem.subarray(lin.w / 4, lin.w / 4 + lin.k * lin.m);
    for (let r = 0; r < lin.k; r++) for (let c = 0; c < lin.m; c++) w[r * lin.m + c] = q[r * lin.m + c]! * scale[c]!;
    this.mem.set(bias, lin.b / 4);
  }

  /** y = x @ W + b for n rows (byte offsets), in the kernel or here for widths not a multiple of 4. */
  linear(lin: Linear, x: number, y: number, n: number): void {
    if (lin.m % 4 === 0) return this.kernel.linear(x, lin.w, lin.b, y, n, lin.k, lin.m);
    const mem = this.mem;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < lin.m; c++) {
        let acc = mem[lin.b / 4 + c]!;
        for (let r = 0; r < lin.k; r++) acc = Math.fround(acc + Math.fround(mem[x / 4 + i * lin.k + r]! * mem[lin.w / 4 + r * lin.m + c]!));
        mem[y / 4 + i * lin.m + c] = acc;
      }
    }
  }

  /**
   * GELU (erf form) in place on `count` floats from float offset `at`: in the kernel (float32, the
   * same erf approximation) for the multiple-of-4 part, here for the rest.
   */
  gelu(at: number, count: number): void {
    const vec = count & ~3;
    if (vec) this.kernel.gelu(at * 4, vec);
    const mem = this.mem;
    for (let j = at + vec; j < at + count; j++) {
      const v = mem[j]!;
      mem[j] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
    }
  }
}
