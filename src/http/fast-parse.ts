/**
 * Hand-written parsers for the hot request bodies (POST /v1/recommend and /v1/search), in front of
 * their zod schemas.
 *
 * Workers forbid `new Function`, so zod v4 runs without its compiled fast path there: validating one
 * 8-event recommendation request cost ~60 us of CPU in workerd, about as much as the recommendation
 * itself. Each parser here returns exactly what the zod schema returns for an input that is plainly
 * valid (defaults filled in, unknown keys dropped) and `undefined` for anything else; zod then
 * decides and writes the errors. So the fast path can only ever accept what zod accepts, and the
 * schemas stay the one description of the contract (and of /openapi.json).
 * test/property/fast-parse.test.ts checks both halves against zod on random and hostile input.
 */
import type * as z from '../core/zod';
import { EVENT_NAMES, type EventName } from '../core/history';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** zod's `.optional()` reads a key that is there but undefined like a missing one, but keeps it in its output: leave those to zod. */
const hasUndefined = (o: Obj, key: string): boolean => o[key] === undefined && Object.hasOwn(o, key);
const isString = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;
const isId = (v: unknown): v is string => isString(v, 1, 512);
const isInt = (v: unknown, min: number, max: number): v is number =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const isNumber = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
const EVENTS: ReadonlySet<string> = new Set(EVENT_NAMES);

export interface ParsedEvent {
  itemId: string;
  event: EventName;
  ts?: number;
  query?: string;
}

export interface ParsedFilters {
  categories?: string[];
  excludeItemIds?: string[];
  priceMin?: number;
  priceMax?: number;
}

/** eventSchema (src/http/schemas.ts). */
export function fastEvent(v: unknown): ParsedEvent | undefined {
  if (!isObject(v)) return undefined;
  const { itemId, event, ts, query } = v;
  if (!isId(itemId)) return undefined;
  if (event === undefined ? hasUndefined(v, 'event') : !(typeof event === 'string' && EVENTS.has(event))) return undefined;
  if (ts === undefined ? hasUndefined(v, 'ts') : !isInt(ts, 0, 1e11)) return undefined;
  if (query === undefined ? hasUndefined(v, 'query') : !isString(query, 0, 256)) return undefined;
  const out: ParsedEvent = { itemId, event: (event as EventName | undefined) ?? 'view' };
  if (ts !== undefined) out.ts = ts as number;
  if (query !== undefined) out.query = query as string;
  return out;
}

/** `z.array(eventSchema).max(200)`. */
function fastHistory(v: unknown): ParsedEvent[] | undefined {
  if (!Array.isArray(v) || v.length > 200) return undefined;
  const out: ParsedEvent[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const e = fastEvent(v[i]);
    if (!e) return undefined;
    out[i] = e;
  }
  return out;
}

/** `z.array(element).max(max)` of strings `min`..`maxLength` long. */
function fastStrings(v: unknown, max: number, min: number, maxLength: number): string[] | undefined {
  if (!Array.isArray(v) || v.length > max) return undefined;
  for (let i = 0; i < v.length; i++) if (!isString(v[i], min, maxLength)) return undefined;
  return v.slice();
}

/** filtersSchema. */
const FILTER_KEYS = new Set(['categories', 'excludeItemIds', 'priceMin', 'priceMax']);

export function fastFilters(v: unknown): ParsedFilters | undefined {
  if (!isObject(v)) return undefined;
  // filtersSchema is strict: any other key is left to zod, which names it.
  for (const key in v) if (!FILTER_KEYS.has(key)) return undefined;
  const { categories, excludeItemIds, priceMin, priceMax } = v;
  const out: ParsedFilters = {};
  if (categories !== undefined) {
    const c = fastStrings(categories, 50, 1, 128);
    if (!c) return undefined;
    out.categories = c;
  } else if (hasUndefined(v, 'categories')) return undefined;
  if (excludeItemIds !== undefined) {
    const ids = fastStrings(excludeItemIds, 500, 1, 512);
    if (!ids) return undefined;
    out.excludeItemIds = ids;
  } else if (hasUndefined(v, 'excludeItemIds')) return undefined;
  if (priceMin !== undefined) {
    if (!isNumber(priceMin, 0, Infinity)) return undefined;
    out.priceMin = priceMin;
  } else if (hasUndefined(v, 'priceMin')) return undefined;
  if (priceMax !== undefined) {
    if (!isNumber(priceMax, 0, Infinity)) return undefined;
    out.priceMax = priceMax;
  } else if (hasUndefined(v, 'priceMax')) return undefined;
  if (out.priceMin !== undefined && out.priceMax !== undefined && out.priceMin > out.priceMax) return undefined;
  return out;
}

/** The shared tail of recommend and search: userId, history, k, filters. */
function fastCommon(v: Obj): { userId?: string; history: ParsedEvent[]; k: number; filters?: ParsedFilters } | undefined {
  const { userId, history, k, filters } = v;
  if (userId === undefined ? hasUndefined(v, 'userId') : !isId(userId)) return undefined;
  let events: ParsedEvent[] = [];
  if (history !== undefined) {
    const h = fastHistory(history);
    if (!h) return undefined;
    events = h;
  } else if (hasUndefined(v, 'history')) return undefined;
  if (k === undefined ? hasUndefined(v, 'k') : !isInt(k, 1, 100)) return undefined;
  let f: ParsedFilters | undefined;
  if (filters !== undefined) {
    f = fastFilters(filters);
    if (!f) return undefined;
  } else if (hasUndefined(v, 'filters')) return undefined;
  return {
    ...(userId !== undefined ? { userId: userId as string } : {}),
    history: events,
    k: (k as number | undefined) ?? 10,
    ...(f ? { filters: f } : {}),
  };
}

/** recommendRequestSchema. */
export function fastRecommendRequest(v: unknown) {
  if (!isObject(v)) return undefined;
  const common = fastCommon(v);
  if (!common) return undefined;
  const { excludeSeen, diversity, explain } = v;
  if (excludeSeen === undefined ? hasUndefined(v, 'excludeSeen') : typeof excludeSeen !== 'boolean') return undefined;
  if (diversity === undefined ? hasUndefined(v, 'diversity') : !isNumber(diversity, 0, 1)) return undefined;
  if (explain === undefined ? hasUndefined(v, 'explain') : typeof explain !== 'boolean') return undefined;
  return {
    ...common,
    excludeSeen: (excludeSeen as boolean | undefined) ?? true,
    diversity: (diversity as number | undefined) ?? 0,
    explain: (explain as boolean | undefined) ?? false,
  };
}

/** searchRequestSchema (src/routes/items.ts): the query is trimmed, then 1-256 characters. */
export function fastSearchRequest(v: unknown) {
  if (!isObject(v) || typeof v.query !== 'string') return undefined;
  const query = v.query.trim();
  if (query.length < 1 || query.length > 256) return undefined;
  const common = fastCommon(v);
  return common && { query, ...common };
}

/**
 * `schema` with `fast` in front of its safeParse (what `validate` in src/http/openapi.ts calls) and
 * safeParseAsync:
 * an input `fast` accepts is answered from it; anything else goes to zod unchanged.
 */
export function withFastPath<S extends z.ZodMiniType>(schema: S, fast: (input: unknown) => z.output<S> | undefined): S {
  const safeParse = schema.safeParse.bind(schema);
  const safeParseAsync = schema.safeParseAsync.bind(schema);
  Object.assign(schema, {
    safeParse: (data: unknown, params?: Parameters<S['safeParse']>[1]) => {
      const out = fast(data);
      return out === undefined ? safeParse(data, params) : { success: true, data: out };
    },
    safeParseAsync: async (data: unknown, params?: Parameters<S['safeParseAsync']>[1]) => {
      const out = fast(data);
      return out === undefined ? safeParseAsync(data, params) : { success: true, data: out };
    },
  });
  return schema;
}
