/** The ONNX towers as onnxruntime-web sessions behind the pure `EncodeFn` / `EncodeTextFn` interfaces. */
import type { EncoderBatch } from '../core/history';
import type { EncodeFn, EncodeTextFn, EncoderOutput } from '../core/recommend';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web/wasm';
import { createSession, Tensor } from './ort';

/** A started session: `run` it, `release` its WASM memory when it is evicted (after the runs queued before). */
export interface Encoder<F> {
  run: F;
  release(): Promise<void>;
}

/**
 * One ORT WASM session runs one inference at a time: runs are queued, and the release joins the
 * queue, so an evicted session is freed after the runs already waiting on it; a run asked for after
 * its release fails instead of touching a freed session.
 */
function queued<A, R>(session: InferenceSession, fn: (a: A) => Promise<R>): { run: (a: A) => Promise<R>; release: () => Promise<void> } {
  let tail: Promise<unknown> = Promise.resolve();
  let released = false;
  const enqueue = <T>(step: () => Promise<T>): Promise<T> => {
    const next = tail.then(step);
    tail = next.catch(() => undefined);
    return next;
  };
  return {
    run: (a) => enqueue(() => (released ? Promise.reject(new Error('this ONNX session was released')) : fn(a))),
    release: () =>
      enqueue(async () => {
        if (released) return;
        released = true;
        await session.release();
      }),
  };
}

export async function loadUserEncoder(bytes: Uint8Array): Promise<Encoder<EncodeFn>> {
  const session = await createSession(bytes);
  const inputs = session.inputNames.filter((name) => name in { hist_emb: 1, hist_event: 1, hist_age: 1 });
  if (!inputs.includes('hist_emb')) {
    await session.release();
    throw new Error(`user encoder lacks the hist_emb input (has ${session.inputNames.join(', ')})`);
  }
  return queued(session, async (b: EncoderBatch): Promise<EncoderOutput> => {
    const feeds: Record<string, OrtTensor> = {
      hist_emb: new Tensor('float32', b.histEmb, [b.batch, b.maxLen, b.dim]),
      hist_event: new Tensor('int64', b.histEvent, [b.batch, b.maxLen]),
      hist_age: new Tensor('float32', b.histAge, [b.batch, b.maxLen]),
    };
    // An exported graph drops inputs it does not use (e.g. recency on data without timestamps).
    const out = await session.run(Object.fromEntries(inputs.map((name) => [name, feeds[name]!])));
    return {
      userEmb: out.user_emb!.data as Float32Array,
      interests: out.interests!.data as Float32Array,
      attention: out.attention!.data as Float32Array,
    };
  });
}

export async function loadTextEncoder(bytes: Uint8Array): Promise<Encoder<EncodeTextFn>> {
  const session = await createSession(bytes);
  return queued(session, async (tokens: BigInt64Array) => {
    const out = await session.run({ tokens: new Tensor('int64', tokens, [1, tokens.length]) });
    return out.text_emb!.data as Float32Array;
  });
}
