/** A/B assignment: a stable hash of the user id splits users between two model versions. Pure. */
import { fnv1a32 } from './tokenizer';

export interface Experiment {
  id: string;
  /** Version for the control arm; the active version when absent. */
  control?: string;
  treatment: string;
  /** Share of users in the treatment arm, 0..1. */
  ratio: number;
}

export type Variant = 'control' | 'treatment';

/** Uniform in [0, 1) and the same for a user every time (per experiment, so experiments are independent). */
export function bucket(experimentId: string, userId: string): number {
  return fmix32(fnv1a32(`${experimentId}\u0000${userId}`)) / 2 ** 32;
}

/** MurmurHash3's finaliser: FNV-1a alone mixes the high bits of similar short ids poorly. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function assignVariant(experiment: Experiment, userId: string): Variant {
  return bucket(experiment.id, userId) < experiment.ratio ? 'treatment' : 'control';
}
