/**
 * The edgerec Worker's side of ORT: an artifact's ONNX towers run by the ONNX runtime Worker
 * (src/onnx/worker.ts) over the `ONNX` service binding, behind the same `EncodeFn` / `EncodeTextFn`
 * as the kernels. Nothing here imports onnxruntime-web.
 */
import { errorMessage } from '../core/error-message';
import type { FileEntry } from '../core/manifest';
import type { EncodeFn, EncodeTextFn } from '../core/recommend';
import type { OnnxTowers } from './sessions';

export interface OnnxEnv {
  ONNX?: OnnxTowers;
}

function towers(env: OnnxEnv): OnnxTowers {
  if (!env.ONNX) {
    throw new Error(
      'this artifact needs its ONNX graphs run and the ONNX service binding is not bound: deploy the edgerec-onnx Worker (wrangler.onnx.toml) and bind it as ONNX',
    );
  }
  return env.ONNX;
}

/** A call to the ONNX runtime Worker; its error (ORT's own, or the binding's) says what failed on which graph. */
async function inOnnxWorker<R>(graph: FileEntry, failed: 'could not start' | 'failed running', run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (err) {
    throw new Error(`the ONNX runtime Worker (edgerec-onnx) ${failed} ${graph.path}: ${errorMessage(err)}`);
  }
}

/**
 * The user encoder, started in the ONNX runtime Worker before this resolves (so a broken graph fails
 * here). A later call may reach another of its isolates, which starts the graph on that call.
 */
export async function onnxUserEncoder(env: OnnxEnv, graph: FileEntry): Promise<EncodeFn> {
  const onnx = towers(env);
  await inOnnxWorker(graph, 'could not start', () => onnx.open('user', graph));
  return (batch) => inOnnxWorker(graph, 'failed running', () => onnx.encodeUser(graph, batch));
}

/** The text encoder, likewise. */
export async function onnxTextEncoder(env: OnnxEnv, graph: FileEntry): Promise<EncodeTextFn> {
  const onnx = towers(env);
  await inOnnxWorker(graph, 'could not start', () => onnx.open('text', graph));
  return (tokens) => inOnnxWorker(graph, 'failed running', () => onnx.encodeText(graph, tokens));
}
