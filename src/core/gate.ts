/**
 * The quality gate: a candidate model is promoted only if its offline metrics (from its manifest)
 * are not worse than the active model's by more than a margin. Pure; the publisher (Node) and the
 * scheduled handler (Worker) both use it.
 */
export interface GateOptions {
  /** Metric compared, in `metrics.int8` of the manifests (the served model's numbers). */
  metric: string;
  /** Allowed relative drop, e.g. 0.02 = the candidate may be at most 2% worse. */
  margin: number;
}

export interface GateDecision {
  promote: boolean;
  reason: string;
  candidate?: number;
  active?: number;
}

type Metrics = { int8?: Record<string, number>; fp32?: Record<string, number> } | undefined;

export const DEFAULT_GATE: GateOptions = { metric: 'ndcg@10', margin: 0.02 };

export function qualityGate(candidate: Metrics, active: Metrics, { metric, margin }: GateOptions = DEFAULT_GATE): GateDecision {
  const c = candidate?.int8?.[metric];
  const a = active?.int8?.[metric];
  if (typeof c !== 'number' || !Number.isFinite(c)) {
    return { promote: false, reason: `candidate has no int8 ${metric} in its manifest` };
  }
  if (typeof a !== 'number' || !Number.isFinite(a)) {
    return { promote: true, reason: `no active model to compare with (candidate int8 ${metric} ${c.toFixed(4)})`, candidate: c };
  }
  const floor = a * (1 - margin);
  if (c >= floor) {
    return {
      promote: true,
      reason: `int8 ${metric} ${c.toFixed(4)} >= ${floor.toFixed(4)} (active ${a.toFixed(4)} minus ${margin * 100}%)`,
      candidate: c,
      active: a,
    };
  }
  return {
    promote: false,
    reason: `int8 ${metric} ${c.toFixed(4)} < ${floor.toFixed(4)} (active ${a.toFixed(4)} minus ${margin * 100}%)`,
    candidate: c,
    active: a,
  };
}
