/// <reference types="@cloudflare/vitest-plugin/types" />
/**
 * readInto and readBytes in workerd, on the bodies they read in production: R2 object bodies and
 * Response bodies (byte streams, read with BYOB reads) and a plain ReadableStream (read chunk by
 * chunk); readInto into a WebAssembly memory like the retrieval kernel's table and into a plain
 * buffer, readBytes into a buffer of its own.
 */
import { describe, expect, it } from 'vitest';
import { READ_CHUNK, readBytes, readInto } from '../../src/core/read-stream';
import { testEnv } from './helpers';

const bytes = (n: number, seed = 1) => {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
};

const plainStream = (data: Uint8Array, chunk = 1000) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < data.length; i += chunk) c.enqueue(data.slice(i, i + chunk));
      c.close();
    },
  });

/** Where two byte arrays first differ (-1: equal); vitest's toEqual walks a MiB array far slower. */
const firstDifference = (a: Uint8Array, b: Uint8Array) => {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
};

/** A target inside a WebAssembly memory, as the kernel's table is (its buffer cannot be detached). */
const wasmTarget = (n: number, offset = 64) =>
  new Uint8Array(new WebAssembly.Memory({ initial: Math.ceil((n + offset) / 65536) }).buffer, offset, n);

describe('readInto', () => {
  const sizes = [0, 1, 4095, 4097, READ_CHUNK - 1, READ_CHUNK, READ_CHUNK + 1, 3 * READ_CHUNK + 12345];

  it.each(sizes)('copies a %i-byte Response body exactly into WebAssembly memory', async (n) => {
    const data = bytes(n, n + 1);
    const target = wasmTarget(n);
    await readInto(new Response(data).body ?? new ReadableStream(), target);
    expect(firstDifference(target, data)).toBe(-1);
  });

  it('copies an R2 object body, and fills a plain buffer too', async () => {
    const data = bytes(2 * READ_CHUNK + 777, 5);
    await testEnv.EDGEREC_R2.put('test/read-stream', data);
    const target = new Uint8Array(data.length);
    await readInto((await testEnv.EDGEREC_R2.get('test/read-stream'))!.body, target);
    expect(firstDifference(target, data)).toBe(-1);
    await testEnv.EDGEREC_R2.delete('test/read-stream');
  });

  it('copies a stream that is not a byte stream, chunk by chunk', async () => {
    const data = bytes(10_000, 9);
    const target = wasmTarget(10_000);
    await readInto(plainStream(data), target);
    expect(firstDifference(target, data)).toBe(-1);
  });

  it.each([
    ['a byte stream', (d: Uint8Array) => new Response(d).body!],
    ['a plain stream', (d: Uint8Array) => plainStream(d)],
  ])('refuses %s shorter or longer than its target, without writing past it', async (_, stream) => {
    const data = bytes(READ_CHUNK + 100, 3);
    await expect(readInto(stream(data.subarray(0, READ_CHUNK + 99)), new Uint8Array(READ_CHUNK + 100))).rejects.toThrow(
      `stream has ${READ_CHUNK + 99} bytes, expected ${READ_CHUNK + 100}`,
    );
    const memory = new WebAssembly.Memory({ initial: 20 });
    const target = new Uint8Array(memory.buffer, 0, READ_CHUNK + 99);
    const after = new Uint8Array(memory.buffer, READ_CHUNK + 99, 16);
    await expect(readInto(stream(data), target)).rejects.toThrow(`stream longer than ${READ_CHUNK + 99} bytes`);
    expect(after).toEqual(new Uint8Array(16));
    await expect(readInto(stream(bytes(1)), new Uint8Array(0))).rejects.toThrow('stream longer than 0 bytes');
  });
});

describe('readBytes', () => {
  it.each([0, 1, 4097, READ_CHUNK + 1, 3 * READ_CHUNK + 12345])('returns a %i-byte Response body and an R2 body exactly', async (n) => {
    const data = bytes(n, n + 7);
    const got = await readBytes(new Response(data).body!, n);
    expect(got.byteLength).toBe(n);
    expect(firstDifference(got, data)).toBe(-1);
    await testEnv.EDGEREC_R2.put('test/read-bytes', data);
    const fromR2 = await readBytes((await testEnv.EDGEREC_R2.get('test/read-bytes'))!.body, n);
    expect(firstDifference(fromR2, data)).toBe(-1);
    await testEnv.EDGEREC_R2.delete('test/read-bytes');
  });

  it('reads a stream that is not a byte stream', async () => {
    const data = bytes(10_000, 11);
    expect(firstDifference(await readBytes(plainStream(data), 10_000), data)).toBe(-1);
  });

  it.each([
    ['a byte stream', (d: Uint8Array) => new Response(d).body!],
    ['a plain stream', (d: Uint8Array) => plainStream(d)],
  ])('refuses %s shorter or longer than the length asked for', async (_, stream) => {
    const data = bytes(READ_CHUNK + 100, 4);
    await expect(readBytes(stream(data.subarray(0, READ_CHUNK + 99)), READ_CHUNK + 100)).rejects.toThrow(
      `stream has ${READ_CHUNK + 99} bytes, expected ${READ_CHUNK + 100}`,
    );
    await expect(readBytes(stream(data), READ_CHUNK + 99)).rejects.toThrow(`stream longer than ${READ_CHUNK + 99} bytes`);
    await expect(readBytes(stream(bytes(1)), 0)).rejects.toThrow('stream longer than 0 bytes');
  });
});
