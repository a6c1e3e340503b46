/**
 * The container of the trainer's binary files (`user_tower.bin`, `text_tower.bin`, `items.bin`;
 * docs/ARTIFACTS.md): b"ERTW", a uint32 header length, a JSON header naming every tensor's dtype,
 * shape and 16-byte aligned offset, then the data. Pure.
 */
const MAGIC = 0x57545245; // "ERTW" little-endian
const align16 = (n: number) => (n + 15) & ~15;

/** Bytes per element of the container's dtypes. */
const DTYPE_BYTES: Record<string, number> = { int8: 1, uint8: 1, uint16: 2, uint32: 4, float32: 4 };

export interface TensorSpec {
  dtype: 'int8' | 'uint8' | 'uint16' | 'uint32' | 'float32';
  shape: number[];
  offset: number;
}

/**
 * The container of the trainer's binary files (`user_tower.bin`, `text_tower.bin`, `items.bin`):
 * checks the magic, the JSON header, its format and every tensor's bounds. Returns the header, with
 * every tensor's `offset` made relative to the start of `data`, and `data`: the bytes' own buffer
 * when the data section lies 16-byte aligned in it (no copy of a large catalog), else an aligned copy.
 */
export function readKernelFile<H extends { format: string; tensors: Record<string, TensorSpec>; dataBytes: number }>(
  bytes: Uint8Array,
  file: string,
  format: string,
): { header: H; data: ArrayBuffer; fail: (why: string) => never } {
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  if (bytes.byteLength < 8) fail('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('not an edgerec kernel file (bad magic)');
  const headLen = view.getUint32(4, true);
  if (8 + headLen > bytes.byteLength) fail('truncated header');
  let header: H;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headLen))) as H;
  } catch {
    return fail('header is not JSON');
  }
  if (header.format !== format) fail(`format ${String(header.format)}, this Worker reads ${format}`);
  const start = align16(8 + headLen);
  if (start + header.dataBytes !== bytes.byteLength) fail(`${bytes.byteLength} bytes, the header says ${start + header.dataBytes}`);
  for (const [name, t] of Object.entries(header.tensors ?? {})) {
    const width = DTYPE_BYTES[t.dtype];
    if (width === undefined) fail(`tensor ${name} has an unknown dtype ${String(t.dtype)}`);
    const size = t.shape.reduce((a, b) => a * b, 1) * width!;
    if (!(t.offset % 16 === 0 && t.offset >= 0 && t.offset + size <= header.dataBytes)) fail(`tensor ${name} lies outside the data`);
  }
  let base = bytes.byteOffset + start;
  let data = bytes.buffer as ArrayBuffer;
  if (base % 16 !== 0 || !(data instanceof ArrayBuffer)) {
    data = bytes.slice(start).buffer;
    base = 0;
  }
  for (const t of Object.values(header.tensors ?? {})) t.offset += base;
  return { header, data, fail };
}

const ARRAYS = { int8: Int8Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, float32: Float32Array };
type ArrayOf<D extends TensorSpec['dtype']> = InstanceType<(typeof ARRAYS)[D]>;

/** A typed view of a tensor of a file read by `readKernelFile` (its dtype checked by the caller). */
export function tensorView<D extends TensorSpec['dtype'] = TensorSpec['dtype']>(
  header: { tensors: Record<string, TensorSpec> },
  data: ArrayBuffer,
  name: string,
): ArrayOf<D> {
  const t = header.tensors[name]!;
  return new ARRAYS[t.dtype](
    data,
    t.offset,
    t.shape.reduce((a, b) => a * b, 1),
  ) as ArrayOf<D>;
}

/** Checks a tensor's dtype and shape (-1: any size). */
export function expectTensor(
  header: { tensors: Record<string, TensorSpec> },
  name: string,
  dtype: string,
  shape: number[],
  fail: (why: string) => never,
): void {
  const t = header.tensors?.[name];
  if (!t) fail(`tensor ${name} is missing`);
  if (t!.dtype !== dtype || t!.shape.length !== shape.length || shape.some((s, j) => s >= 0 && t!.shape[j] !== s)) {
    fail(`tensor ${name} is ${t!.dtype} [${t!.shape}], expected ${dtype} [${shape.map((s) => (s < 0 ? '*' : s))}]`);
  }
}
