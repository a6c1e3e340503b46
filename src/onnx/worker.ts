/**
 * The ONNX runtime Worker (`edgerec-onnx`, wrangler.onnx.toml): onnxruntime-web behind an RPC
 * entrypoint that the edgerec Worker (src/index.ts) reaches through its `ONNX` service binding.
 *
 * Why a second Worker: workerd compiles every Wasm module of a bundle when it starts an isolate, and
 * onnxruntime-web's 14 MB Wasm costs ~200 ms there, whether a request uses it or not. The trainer's
 * artifacts run their towers in our own kernels, so only artifacts without kernel files (and
 * `USER_TOWER=onnx`, and an input a kernel refuses) need ORT; with ORT in its own Worker only they
 * pay its start, and the edgerec Worker's bundle drops from ~3.8 MB to ~0.15 MB gzipped.
 *
 * It has no routes and no public URL (`workers_dev = false`); fetch answers 404 in the API's error shape.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import type { EncoderBatch } from '../core/history';
import type { FileEntry } from '../core/manifest';
import type { EncoderOutput } from '../core/recommend';
import type { BlobEnv } from '../model/blob';
import { nonNegativeSetting } from '../core/setting';
import { DEFAULT_RETRY_SECONDS, OnnxSessions, type OnnxTowers, type Tower } from './sessions';

export interface OnnxWorkerEnv extends BlobEnv {
  /** Seconds a graph that failed to start answers with that failure before it is tried again (default 15). */
  ONNX_RETRY_SECONDS?: string;
}

let sessions: OnnxSessions | undefined;

export default class OnnxRuntimeWorker extends WorkerEntrypoint<OnnxWorkerEnv> implements OnnxTowers {
  /** One set of sessions per isolate. */
  private get sessions(): OnnxSessions {
    return (sessions ??= new OnnxSessions(this.env, {
      retrySeconds: nonNegativeSetting(this.env.ONNX_RETRY_SECONDS, DEFAULT_RETRY_SECONDS),
    }));
  }

  /** A session's start outlives the call that began it: other calls may be waiting on it. */
  private readonly waitUntil = (p: Promise<unknown>) => this.ctx.waitUntil(p);

  open(tower: Tower, graph: FileEntry): Promise<void> {
    return this.sessions.open(tower, graph, this.waitUntil);
  }

  encodeUser(graph: FileEntry, batch: EncoderBatch): Promise<EncoderOutput> {
    return this.sessions.encodeUser(graph, batch, this.waitUntil);
  }

  encodeText(graph: FileEntry, tokens: BigInt64Array): Promise<Float32Array> {
    return this.sessions.encodeText(graph, tokens, this.waitUntil);
  }

  override fetch(): Response {
    const message = 'edgerec-onnx has no HTTP API: the edgerec Worker calls it over its ONNX service binding';
    return Response.json({ error: { code: 'not_found', message, details: null } }, { status: 404 });
  }
}
