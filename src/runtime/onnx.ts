/**
 * The ONNX runtime behind the WASM kernels, when the build has one. Importing src/runtime/ort.ts
 * registers onnxruntime-web (src/index.ts does). The kernel-only build (src/index-lite.ts) leaves it
 * out: 3.6 MB less gzipped upload, so the Worker fits the free plan's 3 MB. With that build an
 * artifact without kernel files (`user_tower.bin`) cannot load, and the popularity fallback serves
 * with /health saying why.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web/wasm';

export interface OnnxRuntime {
  createSession(model: Uint8Array): Promise<InferenceSession>;
  Tensor: typeof Tensor;
}

let registered: OnnxRuntime | undefined;

export function registerOnnxRuntime(runtime: OnnxRuntime): void {
  registered = runtime;
}

/** The registered runtime; throws in a build without one. */
export function onnxRuntime(): OnnxRuntime {
  if (!registered) {
    throw new Error('onnxruntime-web is not in this build (the kernel-only src/index-lite.ts): this artifact needs its ONNX graphs run; deploy src/index.ts');
  }
  return registered;
}
