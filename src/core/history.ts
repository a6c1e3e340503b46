/** Turning a request's behaviour history into the user encoder's inputs (docs/ARTIFACTS.md). Pure. */
import type { Catalog } from './catalog';
import { dequantizeRow, type ItemTable } from './item-table';

export const EVENT_NAMES = ['view', 'click', 'cart', 'purchase', 'search'] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export interface HistoryEvent {
  itemId: string;
  event: EventName;
  /** Epoch seconds. */
  ts?: number;
  query?: string;
}

/** A history resolved against the catalog: known items only, oldest first. */
export interface ResolvedHistory {
  rows: number[];
  events: EventName[];
  ts: (number | undefined)[];
  /** Events whose item id the catalog does not know. */
  ignored: number;
}

/**
 * Events oldest first: sorted by `ts` when every event has one (a stable sort: equal times keep their
 * order), else in the order given, which API.md's histories and the session store keep oldest first.
 */
export function chronological(events: readonly HistoryEvent[]): readonly HistoryEvent[] {
  if (events.length < 2 || events.some((e) => e.ts === undefined)) return events;
  for (let i = 1; i < events.length; i++) if (events[i]!.ts! < events[i - 1]!.ts!) return [...events].sort((a, b) => a.ts! - b.ts!);
  return events;
}

/** The history's known items, oldest first (`chronological`); unknown item ids are counted. */
export function resolveHistory(catalog: Catalog, events: readonly HistoryEvent[]): ResolvedHistory {
  const out: ResolvedHistory = { rows: [], events: [], ts: [], ignored: 0 };
  for (const e of chronological(events)) {
    const row = catalog.rowOf(e.itemId);
    if (row === undefined) {
      out.ignored++;
      continue;
    }
    out.rows.push(row);
    out.events.push(e.event);
    out.ts.push(e.ts);
  }
  return out;
}

/** One batch of user encoder inputs, flattened row-major. */
export interface EncoderBatch {
  batch: number;
  maxLen: number;
  dim: number;
  histEmb: Float32Array; // (B, L, D)
  histEvent: BigInt64Array; // (B, L)
  histAge: Float32Array; // (B, L)
}

/**
 * Builds encoder inputs for several variants of one history (variant = list of history positions to
 * keep). The most recent `maxLen` kept events go last; earlier slots stay zero (padding). With
 * `dynamicLength` (an encoder exported with a variable history axis) the batch is only as long as its
 * longest variant: 8 events cost 8 slots, not `maxLen`; the outputs are the same (padding is masked).
 */
export function buildEncoderBatch(
  table: ItemTable,
  history: ResolvedHistory,
  variants: readonly (readonly number[])[],
  opts: { maxLen: number; dynamicLength?: boolean; eventTypes: readonly string[]; nowSeconds: number },
): EncoderBatch {
  const { eventTypes, nowSeconds } = opts;
  const longest = variants.reduce((m, v) => Math.max(m, v.length), 1);
  const maxLen = opts.dynamicLength ? Math.min(opts.maxLen, longest) : opts.maxLen;
  const dim = table.dim;
  const B = variants.length;
  const histEmb = new Float32Array(B * maxLen * dim);
  const histEvent = new BigInt64Array(B * maxLen);
  const histAge = new Float32Array(B * maxLen);
  const fallbackEvent = Math.max(1, eventTypes.indexOf('view'));
  const row = new Float32Array(dim);
  variants.forEach((keep, b) => {
    const kept = keep.slice(-maxLen);
    const offset = maxLen - kept.length;
    kept.forEach((pos, i) => {
      const slot = b * maxLen + offset + i;
      dequantizeRow(table, history.rows[pos]!, row);
      histEmb.set(row, slot * dim);
      const ev = eventTypes.indexOf(history.events[pos]!);
      histEvent[slot] = BigInt(ev > 0 ? ev : fallbackEvent);
      const ts = history.ts[pos];
      histAge[slot] = ts === undefined ? 0 : Math.log1p(Math.max(0, nowSeconds - ts) / 3600);
    });
  });
  return { batch: B, maxLen, dim, histEmb, histEvent, histAge };
}

/** The position lists for the full history and, when asked, for each leave-one-out variant. */
export function historyVariants(length: number, maxLen: number, leaveOneOut: boolean): number[][] {
  const all = Array.from({ length }, (_, i) => i);
  if (!leaveOneOut) return [all];
  const recent = all.slice(-maxLen);
  return [all, ...recent.map((drop) => all.filter((p) => p !== drop))];
}
