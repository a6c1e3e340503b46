/** The ONNX towers as onnxruntime-web sessions behind the pure `EncodeFn` / `EncodeTextFn` interfaces. */
import type { EncoderBatch } from '../core/history';
import type { EncodeFn, EncodeTextFn, EncoderOutput } from '../core/recommend';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web/wasm';
import { createSession, Tensor } from './ort';

/** A started session: `run` it, `release` its WASM memory when it is evicted. */
export interface Encoder<F> {
  run: F;
  release(): Promise<void>;
}

/** Serialises runs: one ORT WASM session runs one inference at a time. */
function serial<A, R>(fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (a: A) => {
    const run = tail.then(() => fn(a));
    tail = run.catch(() => undefined);
    return run;
  };
}

const releasing = (session: InferenceSession) => () => session.release();

export async function loadUserEncoder(bytes: Uint8Array): Promise<Encoder<EncodeFn>> {
  const session = await createSession(bytes);
  const inputs = session.inputNames.filter((name) => name in { hist_emb: 1, hist_event: 1, hist_age: 1 });
  if (!inputs.includes('hist_emb')) {
    await session.release();
    throw new Error(`user encoder lacks the hist_emb input (has ${session.inputNames.join(', ')})`);
  }
  const run = serial(async (b: EncoderBatch): Promise<EncoderOutput> => {
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
  return { run, release: releasing(session) };
}

export async function loadTextEncoder(bytes: Uint8Array): Promise<Encoder<EncodeTextFn>> {
  const session = await createSession(bytes);
  const run = serial(async (tokens: BigInt64Array) => {
    const out = await session.run({ tokens: new Tensor('int64', tokens, [1, tokens.length]) });
    return out.text_emb!.data as Float32Array;
  });
  return { run, release: releasing(session) };
}
