/**
 * Filling an origin page's personalisation slots (API.md, "HTML personalisation slots") while it
 * streams through HTMLRewriter. Where the items come from is passed in (`SlotFiller`), so the same
 * rewriting runs against the real recommender, a failing one or a slow one.
 *
 * Every slot races one deadline per page: a slot that is not ready in time, or whose filler throws,
 * keeps the origin's own content, and the page renders either way.
 */
import { escapeHtml } from './escape';
import { itemCards, type SlotItem } from './render';

/** Slots whose children must be list items: each item card goes inside an `<li>`. */
const listTags = new Set(['ul', 'ol']);

export type SlotKind = 'recommend' | 'similar' | 'search';

/** What one slot element asks for, read from its data attributes. */
export interface SlotRequest {
  kind: SlotKind;
  /** `data-k`: how many items (1..50, default 8). */
  k: number;
  /** `data-item-id` of a `similar` slot. */
  itemId?: string;
  /** `data-query` of a `search` slot. */
  query?: string;
  /** `data-exclude-item-ids`: space-separated ids never to show (e.g. the item on the page). */
  excludeItemIds: string[];
  /** `data-category`: only items of this category (any level of the path). */
  category?: string;
}

/** Items for a slot and whether they were chosen for this user, or why the origin's content stays. */
export type SlotOutcome = { items: SlotItem[]; personalised: boolean } | { keep: string };

export type SlotFiller = (slot: SlotRequest) => Promise<SlotOutcome>;

export interface PersonaliseOptions {
  fill: SlotFiller;
  /** Time every slot of the page has, from the start of the response, before it keeps the origin's content. */
  budgetMs: number;
  /** A script the page should load (the behaviour beacon), appended to `<head>`. */
  scriptSrc?: string;
  /** Keeps work that outlives a slot's deadline (e.g. a model load) running after the response. */
  waitUntil?: (p: Promise<unknown>) => void;
}

const KINDS = new Set<string>(['recommend', 'similar', 'search']);
export const DEFAULT_K = 8;
export const MAX_K = 50;

/** Reads a slot's attributes; a string is the reason the slot cannot be filled. */
export function parseSlot(attr: (name: string) => string | null): SlotRequest | string {
  const kind = attr('data-edgerec') ?? '';
  if (!KINDS.has(kind)) return 'unknown-kind';
  const kText = attr('data-k');
  const k = kText === null ? DEFAULT_K : Number(kText);
  if (!Number.isInteger(k) || k < 1) return 'invalid-k';
  const excludeItemIds = (attr('data-exclude-item-ids') ?? '').split(/\s+/).filter(Boolean).slice(0, 100);
  const category = attr('data-category')?.trim() || undefined;
  const slot: SlotRequest = { kind: kind as SlotKind, k: Math.min(k, MAX_K), excludeItemIds, category };
  if (kind === 'similar') {
    const itemId = attr('data-item-id')?.trim();
    if (!itemId) return 'missing-item-id';
    slot.itemId = itemId;
  }
  if (kind === 'search') {
    const query = attr('data-query')?.trim();
    if (!query || query.length > 256) return 'invalid-query';
    slot.query = query;
  }
  return slot;
}

const TIMED_OUT = Symbol('timed out');

/** One timer per page: every slot races the same deadline. */
function deadline(ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function keep(el: Element, reason: string): void {
  el.setAttribute('data-edgerec-status', 'kept');
  el.setAttribute('data-edgerec-reason', reason);
}

/**
 * Rewrites an HTML response: fills each `[data-edgerec]` slot and adds the beacon script. Other
 * responses pass through unchanged. The caller sets the response's caching headers.
 */
export function personaliseHtml(response: Response, { fill, budgetMs, scriptSrc, waitUntil }: PersonaliseOptions): Response {
  if (!/^text\/html\b/i.test(response.headers.get('content-type') ?? '')) return response;
  const due = deadline(budgetMs);
  let rewriter = new HTMLRewriter().on('[data-edgerec]', {
    async element(el) {
      const slot = parseSlot((name) => el.getAttribute(name));
      if (typeof slot === 'string') return keep(el, slot);
      const work = fill(slot);
      // A slot that misses the deadline leaves its work running (e.g. the first model load of an isolate).
      waitUntil?.(work.catch(() => undefined));
      let outcome: SlotOutcome | typeof TIMED_OUT;
      try {
        outcome = await Promise.race([work, due.promise]);
      } catch (err) {
        console.error(`edgerec: ${slot.kind} slot failed, keeping the origin's content`, err);
        return keep(el, 'error');
      }
      if (outcome === TIMED_OUT) return keep(el, 'timeout');
      if ('keep' in outcome) return keep(el, outcome.keep);
      if (outcome.items.length === 0) return keep(el, 'empty');
      el.setInnerContent(itemCards(outcome.items, el.getAttribute('data-href'), listTags.has(el.tagName)).value, { html: true });
      el.setAttribute('data-edgerec-status', outcome.personalised ? 'personalised' : 'generic');
    },
  });
  if (scriptSrc) {
    rewriter = rewriter.on('head', {
      element(el) {
        el.append(`<script src="${escapeHtml(scriptSrc)}" defer></script>`, { html: true });
      },
    });
  }
  rewriter = rewriter.onDocument({ end: () => due.cancel() });
  return rewriter.transform(response);
}
