/**
 * A numeric setting given as a string (a Worker var such as POINTER_TTL_SECONDS): the number it
 * holds when that is finite and not negative, else `fallback` (also when unset).
 */
export function nonNegativeSetting(value: string | undefined, fallback: number): number {
  const n = Number(value ?? fallback);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}
