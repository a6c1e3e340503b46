/**
 * The trainer's tokenizer (scripts/edgerec/text.py), re-implemented exactly: lowercase, runs of
 * letters/digits, vocabulary ids from 1, unknown tokens hashed (32-bit FNV-1a) into buckets. Pure.
 */
export interface VocabFile {
  tokens: string[];
  buckets: number;
  maxTokens: number;
  lowercase?: boolean;
}

export function tokenize(text: string | undefined | null): string[] {
  if (!text) return [];
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

const encoder = new TextEncoder();

export function fnv1a32(token: string): number {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(token)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export class Vocab {
  private readonly index = new Map<string, number>();

  constructor(readonly file: VocabFile) {
    file.tokens.forEach((t, i) => this.index.set(t, i + 1));
  }

  get maxTokens(): number {
    return this.file.maxTokens;
  }

  /** Whether the token is in the vocabulary (not hashed). */
  has(token: string): boolean {
    return this.index.has(token);
  }

  /** `[maxTokens]` ids, right-padded with 0: exactly what `text_encoder` takes as one `tokens` row. */
  encode(text: string): BigInt64Array {
    const out = new BigInt64Array(this.file.maxTokens);
    const n = this.file.tokens.length;
    tokenize(text)
      .slice(0, this.file.maxTokens)
      .forEach((t, i) => {
        out[i] = BigInt(this.index.get(t) ?? n + 1 + (fnv1a32(t) % this.file.buckets));
      });
    return out;
  }
}
