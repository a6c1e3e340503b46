/**
 * Reading an R2 body of known length into memory we own (the retrieval kernel's table, a blob's
 * buffer), fast and without holding the bytes twice.
 *
 * Why not `reader.read()` chunk by chunk: workerd hands a body to JS in 4 KiB chunks, and one JS
 * read per chunk made a 64 MB table cost about 500 ms of a 1M-item cold start. A BYOB read with
 * `min` fills a whole 1 MiB buffer per JS round trip (64 of them for that table, about 15 ms).
 * Why not `arrayBuffer()`: it holds a second copy of the table next to the kernel's, and the two
 * together would not fit the isolate's 128 MB; it was also slower in workerd (about 190 ms for 64 MB).
 *
 * readInto's bytes pass through a 1 MiB bounce buffer rather than straight into `target`, because a
 * BYOB read transfers (detaches) its buffer and a WebAssembly memory's buffer cannot be detached.
 * readBytes, which returns a buffer of its own, reads straight into it.
 */

/** Bytes per BYOB read. */
export const READ_CHUNK = 1 << 20;

/**
 * Copies `stream` into `target`, which it must fill exactly: a shorter or longer stream throws.
 * Uses a BYOB reader where the stream is a byte stream (R2 bodies, fetch bodies), plain reads otherwise.
 */
export async function readInto(stream: ReadableStream<Uint8Array>, target: Uint8Array): Promise<void> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: 'byob' });
  } catch {
    // not a byte stream
  }
  const reader = byob ?? stream.getReader();
  const next = byob ? byobReads(byob, target.length) : () => (reader as ReadableStreamDefaultReader<Uint8Array>).read();
  let at = 0;
  try {
    for (;;) {
      const { done, value } = await next(at);
      if (value) {
        if (at + value.length > target.length) throw new Error(`stream longer than ${target.length} bytes`);
        target.set(value, at);
        at += value.length;
      }
      if (done) break;
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  } finally {
    reader.releaseLock();
  }
  if (at !== target.length) throw new Error(`stream has ${at} bytes, expected ${target.length}`);
}

/**
 * A stream of exactly `length` bytes, in a buffer of its own (a shorter or longer stream throws).
 * From a byte stream the bytes land in that buffer directly, READ_CHUNK at a time (each BYOB read
 * transfers the buffer and hands it back), with no bounce buffer and no second copy: an 18 MB
 * items.bin of a 1M-item catalog is copied once instead of twice. Reads stay READ_CHUNK long because
 * one read of all that is left made workerd hold as much again natively while it filled it (the
 * isolate's RSS under wrangler dev grew 14 MiB more on a 1M-item load). Other streams go through readInto.
 */
export async function readBytes(stream: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: 'byob' });
  } catch {
    const target = new Uint8Array(length);
    await readInto(stream, target);
    return target;
  }
  const read = byobRead(reader);
  let buffer = new ArrayBuffer(length);
  let at = 0;
  try {
    while (at < length) {
      const want = Math.min(READ_CHUNK, length - at);
      const { done, value } = await read(new Uint8Array(buffer, at, want), want);
      if (value) {
        buffer = value.buffer as ArrayBuffer;
        at += value.byteLength;
      }
      if (done) break;
    }
    if (at !== length) throw new Error(`stream has ${at} bytes, expected ${length}`);
    // The stream must end here: one more byte would mean the object is longer than the manifest says.
    const { value } = await read(new Uint8Array(1), 1);
    if (value?.byteLength) throw new Error(`stream longer than ${length} bytes`);
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  } finally {
    reader.releaseLock();
  }
  return new Uint8Array(buffer, 0, length);
}

/**
 * The Streams standard's `read(view, { min })` (workerd has it; @cloudflare/workers-types declares
 * only `read(view)`). A runtime without `min` returns what it has: slower, still correct.
 */
function byobRead(reader: ReadableStreamBYOBReader): (view: Uint8Array, min: number) => Promise<ReadableStreamReadResult<Uint8Array>> {
  const read = reader.read.bind(reader) as unknown as (
    view: Uint8Array,
    options: { min: number },
  ) => Promise<ReadableStreamReadResult<Uint8Array>>;
  return (view, min) => read(view, { min });
}

/** Reads of up to READ_CHUNK bytes into one bounce buffer, each filled before it returns. */
function byobReads(reader: ReadableStreamBYOBReader, total: number): (at: number) => Promise<ReadableStreamReadResult<Uint8Array>> {
  const read = byobRead(reader);
  let buffer = new ArrayBuffer(Math.min(READ_CHUNK, Math.max(1, total)));
  return async (at) => {
    // One byte past the end is asked for too, so a longer stream is noticed rather than cut.
    const want = Math.min(buffer.byteLength, Math.max(1, total - at));
    const result = await read(new Uint8Array(buffer, 0, want), want);
    if (result.value) buffer = result.value.buffer as ArrayBuffer;
    return result;
  };
}
