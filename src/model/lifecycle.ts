/**
 * Model lifecycle at the edge: scheduled promotion of a published candidate through the quality
 * gate, and A/B experiments between two versions.
 *
 * KV keys: `active` (the serving pointer), `candidate` (a published version waiting for the gate),
 * `decisions` (the last gate decisions, newest first), `experiment` (the running A/B test, if any).
 */
import { errorMessage } from '../core/error-message';
import { assignVariant, type Experiment, type Variant } from '../core/ab';
import { DEFAULT_GATE, qualityGate, type GateDecision } from '../core/gate';
import { recommend } from '../core/recommend';
import type { Env } from '../env';
import { ACTIVE_KEY, ensureLoaded, readActiveVersion, readManifest, type LoadedModel } from './store';

export const CANDIDATE_KEY = 'candidate';
export const DECISIONS_KEY = 'decisions';
export const EXPERIMENT_KEY = 'experiment';

export interface Decision extends GateDecision {
  at: string;
  version: string;
  against: string | null;
  by: string;
}

function gateOptions(env: Env) {
  const margin = Number(env.GATE_MARGIN ?? DEFAULT_GATE.margin);
  return { metric: env.GATE_METRIC ?? DEFAULT_GATE.metric, margin: Number.isFinite(margin) ? margin : DEFAULT_GATE.margin };
}

async function recordDecision(env: Env, decision: Decision): Promise<void> {
  const past = (await env.EDGEREC_KV.get<Decision[]>(DECISIONS_KEY, 'json')) ?? [];
  await env.EDGEREC_KV.put(DECISIONS_KEY, JSON.stringify([decision, ...past].slice(0, 50)));
  console.log(`edgerec: gate ${decision.promote ? 'promoted' : 'refused'} ${decision.version}: ${decision.reason}`);
}

/** A real request through the loaded candidate: it must answer k finite scores. */
async function smokeTest(model: LoadedModel): Promise<void> {
  const history = model.catalog.popular.popular.slice(0, 3).map((p) => ({ itemId: model.catalog.idOf(p.row), event: 'view' as const }));
  const out = await recommend(model, { history, k: 10, excludeSeen: true, diversity: 0, explain: false, nowSeconds: 0 });
  if (out.items.length === 0 || out.items.some((i) => !Number.isFinite(i.score)))
    throw new Error('smoke recommendation returned no or non-finite scores');
}

/**
 * Looks for a published candidate, warms and validates it in this isolate (checksums, ORT session,
 * a smoke request), and promotes it if the gate agrees. Every decision is logged to KV.
 */
export async function promoteCandidate(env: Env, by = 'scheduled'): Promise<Decision | undefined> {
  const candidate = (await env.EDGEREC_KV.get<{ version?: string }>(CANDIDATE_KEY, 'json'))?.version;
  const active = (await env.EDGEREC_KV.get<{ version?: string }>(ACTIVE_KEY, 'json'))?.version ?? null;
  if (!candidate || candidate === active) return undefined;
  const base = { at: new Date().toISOString(), version: candidate, against: active, by };
  let decision: Decision;
  try {
    const model = await ensureLoaded(env, candidate);
    await smokeTest(model);
    const activeMetrics = active ? (await readManifest(env, active).catch(() => undefined))?.metrics : undefined;
    decision = { ...base, ...qualityGate(model.manifest.metrics as never, activeMetrics as never, gateOptions(env)) };
  } catch (err) {
    decision = { ...base, promote: false, reason: `candidate failed validation: ${errorMessage(err)}` };
  }
  if (decision.promote) {
    await env.EDGEREC_KV.put(ACTIVE_KEY, JSON.stringify({ version: candidate, activatedAt: decision.at, previous: active }));
  }
  await env.EDGEREC_KV.delete(CANDIDATE_KEY);
  await recordDecision(env, decision);
  return decision;
}

let experimentCache: { value: Experiment | null; readAt: number } | undefined;

/** The running experiment, cached like the active pointer. */
export async function readExperiment(env: Env): Promise<Experiment | null> {
  const ttl = Number(env.POINTER_TTL_SECONDS ?? '10') * 1000;
  if (experimentCache && Date.now() - experimentCache.readAt < ttl) return experimentCache.value;
  const raw = await env.EDGEREC_KV.get<Experiment>(EXPERIMENT_KEY, 'json').catch(() => null);
  const valid = raw && typeof raw.id === 'string' && typeof raw.treatment === 'string' && raw.ratio >= 0 && raw.ratio <= 1 ? raw : null;
  experimentCache = { value: valid, readAt: Date.now() };
  return valid;
}

export interface Arm {
  model: LoadedModel;
  experiment?: { id: string; variant: Variant };
}

/**
 * The model for this user under the running experiment (or the serving model). An arm whose version
 * cannot load serves the control model and is reported as control.
 */
export async function armFor(env: Env, serving: LoadedModel, userId: string | undefined): Promise<Arm> {
  const experiment = userId ? await readExperiment(env) : null;
  if (!experiment || !userId) return { model: serving };
  const variant = assignVariant(experiment, userId);
  const version =
    variant === 'treatment' ? experiment.treatment : (experiment.control ?? (await readActiveVersion(env)) ?? serving.version);
  let model = serving;
  let served: Variant = variant;
  if (version !== serving.version) {
    try {
      model = await ensureLoaded(env, version);
    } catch {
      served = 'control';
    }
  }
  logExposure(env, experiment.id, served, model.version);
  return { model, experiment: { id: experiment.id, variant: served } };
}

function logExposure(env: Env, experimentId: string, variant: Variant, version: string): void {
  env.EXPOSURES?.writeDataPoint({ blobs: [experimentId, variant, version], doubles: [1], indexes: [experimentId] });
  if (!env.EXPOSURES || env.LOG_EXPOSURES === 'true') {
    // Local development: a visible line per exposure (the user id itself is never logged).
    console.log(JSON.stringify({ exposure: { experiment: experimentId, variant, version } }));
  }
}

/** Clears the experiment cache (tests). */
export function resetExperimentCache(): void {
  experimentCache = undefined;
}
