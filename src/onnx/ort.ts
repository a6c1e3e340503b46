/**
 * The one place that knows how onnxruntime-web's WASM build is brought up inside workerd.
 *
 * workerd refuses `WebAssembly.instantiate(bytes)` ("Wasm code generation disallowed by embedder"),
 * so ORT's Emscripten loader cannot compile its own binary. Wrangler instead gives us the binary
 * precompiled (`type = "CompiledWasm"` rule), and during ORT's one-time initialisation we route
 * its `WebAssembly.instantiate(bytes, imports)` call to `WebAssembly.instantiate(module, imports)`.
 * A dummy `wasmBinary` keeps ORT from resolving a URL for the .wasm file.
 *
 * Only the ONNX runtime Worker (src/onnx/worker.ts) imports it: workerd compiles every Wasm module of
 * a bundle when it starts an isolate, and ORT's 14 MB one costs ~200 ms there, so the edgerec Worker
 * leaves it out and reaches ORT over a service binding (src/onnx/towers.ts).
 */
import * as ort from 'onnxruntime-web/wasm';
import ortWasmModule from '../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm';

let initialised: Promise<void> | undefined;

async function withPrecompiledWasm<T>(fn: () => Promise<T>): Promise<T> {
  const original = WebAssembly.instantiate;
  const patched = async (source: unknown, imports?: WebAssembly.Imports) => {
    if (source instanceof WebAssembly.Module) return original(source, imports);
    const instance = await original(ortWasmModule as WebAssembly.Module, imports);
    return { module: ortWasmModule, instance };
  };
  (WebAssembly as { instantiate: unknown }).instantiate = patched;
  try {
    return await fn();
  } finally {
    (WebAssembly as { instantiate: unknown }).instantiate = original;
  }
}

/** Creates an ORT session from ONNX bytes, initialising the WASM runtime on first use. */
export async function createSession(model: Uint8Array): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    enableCpuMemArena: false,
  };
  if (!initialised) {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmBinary = new Uint8Array(8);
    const first = withPrecompiledWasm(() => ort.InferenceSession.create(model, options));
    initialised = first.then(
      () => undefined,
      (err) => {
        initialised = undefined;
        throw err;
      },
    );
    // The first caller gets the failure from `first`; this copy is only awaited by callers that came
    // while it ran, so with none it must not become an unhandled rejection.
    initialised.catch(() => undefined);
    return first;
  }
  await initialised;
  return ort.InferenceSession.create(model, options);
}

export const Tensor = ort.Tensor;
