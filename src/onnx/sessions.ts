/**
 * An artifact's ONNX graphs run in onnxruntime-web: the work of the ONNX runtime Worker
 * (src/onnx/worker.ts), which the edgerec Worker calls over its `ONNX` service binding when a tower
 * has no kernel file, `USER_TOWER=onnx`, or a kernel refuses an input (src/onnx/towers.ts).
 *
 * Graphs are named by their manifest entry, read from the shared R2 bucket here (checksum verified),
 * and started once per isolate: a few sessions are kept, the least recently used released first. A
 * graph that fails to start is tried again by the next call.
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

/** Sessions kept per isolate: the user and text graphs of the serving version and of a candidate, with room to spare. */
const MAX_SESSIONS = 6;

type Started = Encoder<EncodeFn> | Encoder<EncodeTextFn>;

export class OnnxSessions implements OnnxTowers {
  private readonly sessions = new Map<string, Promise<Started>>();

  constructor(private readonly env: BlobEnv) {}

  async open(tower: Tower, graph: FileEntry): Promise<void> {
    if (tower !== 'user' && tower !== 'text') throw new Error(`unknown tower ${String(tower)}`);
    await this.session(tower, graph);
  }

  async encodeUser(graph: FileEntry, batch: EncoderBatch): Promise<EncoderOutput> {
    return ((await this.session('user', graph)) as Encoder<EncodeFn>).run(batch);
  }

  async encodeText(graph: FileEntry, tokens: BigInt64Array): Promise<Float32Array> {
    return ((await this.session('text', graph)) as Encoder<EncodeTextFn>).run(tokens);
  }

  private session(tower: Tower, graph: FileEntry): Promise<Started> {
    const key = `${tower}:${graph.sha256}`;
    const kept = this.sessions.get(key);
    if (kept) {
      this.sessions.delete(key); // most recently used goes last
      this.sessions.set(key, kept);
      return kept;
    }
    const started: Promise<Started> = readBlob(this.env, graph).then((bytes): Promise<Started> => (tower === 'user' ? loadUserEncoder(bytes) : loadTextEncoder(bytes)));
    this.sessions.set(key, started);
    started.catch(() => {
      if (this.sessions.get(key) === started) this.sessions.delete(key);
    });
    for (const [oldKey, old] of this.sessions) {
      if (this.sessions.size <= MAX_SESSIONS) break;
      this.sessions.delete(oldKey);
      old.then((s) => s.release()).catch(() => undefined);
    }
    return started;
  }
}
