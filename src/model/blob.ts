/**
 * Content-addressed blobs in R2 (`blobs/sha256/<hex>`), read as the manifest describes them: exactly
 * `entry.bytes` long and checked against `entry.sha256`. Shared by the Worker (src/model/store.ts) and
 * the ONNX runtime Worker (src/onnx/worker.ts), which reads the ONNX graphs itself.
 */
import type { FileEntry } from '../core/manifest';
import { errorMessage } from '../core/error-message';
import { hex } from '../core/hex';
import { readBytes, readInto } from '../core/read-stream';

/** The R2 binding a blob is read from (both Workers bind the same bucket as EDGEREC_R2). */
export interface BlobEnv {
  EDGEREC_R2: R2Bucket;
}

export const blobKey = (sha256: string) => `blobs/sha256/${sha256}`;

/** Throws unless the bytes hash to the manifest's sha256. */
async function verifyChecksum(entry: FileEntry, bytes: ArrayBuffer | Uint8Array): Promise<void> {
  if (hex(await crypto.subtle.digest('SHA-256', bytes)) !== entry.sha256) throw new Error(`blob ${entry.path} failed its checksum`);
}

/** A blob's bytes (as many as the manifest says: a longer or shorter object fails), checksum verified. */
export function readBlob(env: BlobEnv, entry: FileEntry): Promise<Uint8Array> {
  return fetchBlob(env, entry, (body) => readBytes(body, entry.bytes));
}

/**
 * Checks a blob without keeping it: against the checksum and size R2 stored with it (its body is not
 * read), or, for an object stored without one, by reading and hashing it. For the ONNX graphs, which
 * only the ONNX runtime Worker runs, so that a version with a broken file is never switched to.
 */
export async function verifyBlob(env: BlobEnv, entry: FileEntry): Promise<void> {
  await fetchBlob(env, entry, (body) => readBytes(body, entry.bytes), { checkOnly: true });
}

/**
 * Streams a blob straight into `target` (the retrieval kernel's memory), so large tables are never
 * held twice, checksum verified.
 */
export async function readBlobInto(env: BlobEnv, entry: FileEntry, target: Uint8Array): Promise<void> {
  if (entry.bytes !== target.byteLength)
    throw new Error(`blob ${entry.path}: ${entry.bytes} bytes in the manifest, ${target.byteLength} expected`);
  await fetchBlob(env, entry, async (body) => (await readInto(body, target), target));
}

/**
 * A blob from R2, its body read by `read`, and checked against the manifest's sha256.
 *
 * The check: an object put with a sha256 (scripts/publish.mjs puts every blob so) was hashed and
 * verified by R2 as it was stored, and R2 hands that checksum back with it; the stored checksum must
 * then equal the manifest's (the body is cancelled when it is not), and the bytes are not hashed
 * again (64 ms of a 1M-item cold start). An object stored without one (put by other tools, or
 * remotely through the wrangler CLI) is hashed here. Either way a blob of the wrong length fails
 * while it is read.
 */
async function fetchBlob(
  env: BlobEnv,
  entry: FileEntry,
  read: (body: ReadableStream<Uint8Array>) => Promise<Uint8Array>,
  { checkOnly = false } = {},
): Promise<Uint8Array> {
  const obj = await env.EDGEREC_R2.get(blobKey(entry.sha256));
  if (!obj) throw new Error(`blob ${entry.path} (${entry.sha256.slice(0, 12)}) is missing from R2`);
  const stored = obj.checksums?.sha256;
  if (stored && hex(stored) !== entry.sha256) {
    await obj.body.cancel().catch(() => undefined);
    throw new Error(`blob ${entry.path} failed its checksum (R2 stored sha256 ${hex(stored).slice(0, 12)})`);
  }
  if (stored && checkOnly) {
    await obj.body.cancel().catch(() => undefined);
    if (obj.size !== entry.bytes) throw new Error(`blob ${entry.path}: ${obj.size} bytes in R2, ${entry.bytes} in the manifest`);
    return new Uint8Array(0);
  }
  let bytes: Uint8Array;
  try {
    bytes = await read(obj.body);
  } catch (err) {
    throw new Error(`blob ${entry.path}: ${errorMessage(err)}`);
  }
  if (!stored) await verifyChecksum(entry, bytes);
  return bytes;
}

export async function readJsonBlob(env: BlobEnv, entry: FileEntry): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await readBlob(env, entry)));
}
