/** Lowercase hex of some bytes (a digest, an HMAC). */
export const hex = (bytes: ArrayBuffer | ArrayBufferView): string =>
  [...(ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
