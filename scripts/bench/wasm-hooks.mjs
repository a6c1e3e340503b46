/**
 * Lets Node import the Worker's `.wasm` modules the way wrangler's `CompiledWasm` rule gives them to
 * workerd: the default export is a compiled `WebAssembly.Module`. With ts-hooks.mjs this runs
 * src/model/store.ts, src/onnx/encoder.ts and src/onnx/ort.ts unchanged in Node. Import first.
 */
import '../ts-hooks.mjs';
import { registerHooks } from 'node:module';

registerHooks({
  load(url, context, next) {
    if (!url.startsWith('file:') || !url.endsWith('.wasm')) return next(url, context);
    const source = `import { readFileSync } from 'node:fs';\nexport default new WebAssembly.Module(readFileSync(new URL(import.meta.url)));\n`;
    return { format: 'module', source, shortCircuit: true };
  },
});
