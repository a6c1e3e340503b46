/** The user encoder as an ORT session behind the pure `EncodeFn` interface. */
import type { EncoderBatch } from '../core/history';
import type { EncodeFn, EncoderOutput } from '../core/recommend';
import type { Tensor } from 'onnxruntime-web/wasm';
import { onnxRuntime } from '../runtime/onnx';

/** Serialises runs: one ORT WASM session runs one inference at a time. */
function serial<A, R>(fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (a: A) => {
    const run = tail.then(() => fn(a));
    tail = run.catch(() => undefined);
    return run;
  };
}

export async function loadUserEncoder(bytes: Uint8Array): Promise<EncodeFn> {
  const ort = onnxRuntime();
  const session = await ort.createSession(bytes);
  const inputs = session.inputNames.filter((name) => name in { hist_emb: 1, hist_event: 1, hist_age: 1 });
  if (!inputs.includes('hist_emb')) throw new Error(`user encoder lacks the hist_emb input (has ${session.inputNames.join(', ')})`);
  return serial(async (b: EncoderBatch): Promise<EncoderOutput> => {
    const feeds: Record<string, Tensor> = {
      hist_emb: new ort.Tensor('float32', b.histEmb, [b.batch, b.maxLen, b.dim]),
      hist_event: new ort.Tensor('int64', b.histEvent, [b.batch, b.maxLen]),
      hist_age: new ort.Tensor('float32', b.histAge, [b.batch, b.maxLen]),
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

/** The text tower: token ids (one padded row) -> a vector in the item embedding space. */
export type EncodeTextFn = (tokens: BigInt64Array) => Promise<Float32Array>;

export async function loadTextEncoder(bytes: Uint8Array): Promise<EncodeTextFn> {
  const ort = onnxRuntime();
  const session = await ort.createSession(bytes);
  return serial(async (tokens: BigInt64Array) => {
    const out = await session.run({ tokens: new ort.Tensor('int64', tokens, [1, tokens.length]) });
    return out.text_emb!.data as Float32Array;
  });
}
