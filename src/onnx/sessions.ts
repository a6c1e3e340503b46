/**
 * An artifact's ONNX graphs run in onnxruntime-web: the work of the ONNX runtime Worker
 * (src/onnx/worker.ts), which the edgerec Worker calls over its `ONNX` service binding when a tower
 * has no kernel file, `USER_TOWER=onnx`, or a kernel refuses an input (src/onnx/towers.ts).
 *
 * Graphs are named by their manifest entry, read from the shared R2 bucket here (checksum verified),
 * and started once per isolate: a few sessions are kept, the least recently used released first
 * (after the runs queued on it). A graph that fails to start answers with that failure for
 * ONNX_RETRY_SECONDS (default 15), then is tried again.
 */
import type { EncoderBatch } from '../core/history';
import type { FileEntry } from '../core/manifest';
import type { EncodeFn, EncodeTextFn, EncoderOutput } from '../core/recommend';
import { readBlob, type BlobEnv } from '../model/blob';
import { loadTextEncoder, loadUserEncoder, type Encoder } from './encoder';

/** Which tower a graph is: the user encoder (`user_encoder.onnx`) or the text encoder (`text_encoder.onnx`). */
export type Tower = 'user' | 'text';

/** What the edgerec Worker calls on the ONNX runtime Worker (RPC over the `ONNX` service binding). */
export interface OnnxTowers {
  /** Starts the graph (resolves when it can run; rejects with ORT's error when it cannot). */
  open(tower: Tower, graph: FileEntry): Promise<void>;
  encodeUser(graph: FileEntry, batch: EncoderBatch): Promise<EncoderOutput>;
  encodeText(graph: FileEntry, tokens: BigInt64Array): Promise<Float32Array>;
}

/** Sessions kept per isolate: the user and text graphs of a few versions (serving, candidate, A/B arms). */
const MAX_SESSIONS = 8;

/** Seconds a graph that failed to start answers with that failure before it is tried again. */
export const DEFAULT_RETRY_SECONDS = 15;

type Started = Encoder<EncodeFn> | Encoder<EncodeTextFn>;

export interface OnnxSessionsOptions {
  /** Seconds a failed start is remembered (ONNX_RETRY_SECONDS; tests use 0). */
  retrySeconds?: number;
}

/**
 * Keeps a start alive beyond the call that began it (that call's ctx.waitUntil in the ONNX Worker),
 * so other calls waiting on the same start are not cut off when the first caller goes away.
 */
export type WaitUntil = (p: Promise<unknown>) => void;

export class OnnxSessions implements OnnxTowers {
  private readonly sessions = new Map<string, Promise<Started>>();
  private readonly failed = new Map<string, { error: unknown; at: number }>();

  constructor(
    private readonly env: BlobEnv,
    private readonly options: OnnxSessionsOptions = {},
  ) {}

  async open(tower: Tower, graph: FileEntry, waitUntil?: WaitUntil): Promise<void> {
    if (tower !== 'user' && tower !== 'text') throw new Error(`unknown tower ${String(tower)}`);
    await this.session(tower, graph, waitUntil);
  }

  async encodeUser(graph: FileEntry, batch: EncoderBatch, waitUntil?: WaitUntil): Promise<EncoderOutput> {
    return ((await this.session('user', graph, waitUntil)) as Encoder<EncodeFn>).run(batch);
  }

  async encodeText(graph: FileEntry, tokens: BigInt64Array, waitUntil?: WaitUntil): Promise<Float32Array> {
    return ((await this.session('text', graph, waitUntil)) as Encoder<EncodeTextFn>).run(tokens);
  }

  private session(tower: Tower, graph: FileEntry, waitUntil?: WaitUntil): Promise<Started> {
    const key = `${tower}:${graph.sha256}`;
    const kept = this.sessions.get(key);
    if (kept) {
      this.sessions.delete(key); // most recently used goes last
      this.sessions.set(key, kept);
      return kept;
    }
    const failure = this.failed.get(key);
    const retryMs = (this.options.retrySeconds ?? DEFAULT_RETRY_SECONDS) * 1000;
    if (failure && Date.now() - failure.at < retryMs) return Promise.reject(failure.error);
    const started: Promise<Started> = readBlob(this.env, graph).then((bytes): Promise<Started> =>
      tower === 'user' ? loadUserEncoder(bytes) : loadTextEncoder(bytes),
    );
    this.sessions.set(key, started);
    started.then(
      () => {
        this.failed.delete(key);
        this.evict();
      },
      (error: unknown) => {
        if (this.sessions.get(key) === started) this.sessions.delete(key);
        this.failed.set(key, { error, at: Date.now() });
      },
    );
    waitUntil?.(started.catch(() => undefined));
    return started;
  }

  /** Drops the least recently used sessions beyond MAX_SESSIONS; each is released after the runs queued on it. */
  private evict(): void {
    for (const [key, old] of this.sessions) {
      if (this.sessions.size <= MAX_SESSIONS) break;
      this.sessions.delete(key);
      old.then((s) => s.release()).catch(() => undefined);
    }
  }
}
