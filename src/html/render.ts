/**
 * The markup of one item in a slot (and of the demo shop's own cards, so an origin fallback and a
 * filled slot look alike). Every value is escaped. Pure.
 */
import { html, type Html } from './escape';

/** What a slot needs to show an item: the fields of the API's item shape. */
export interface SlotItem {
  itemId: string;
  title?: string;
  categories?: string[];
  price?: number;
}

/**
 * A stable hue for a string, so every item of one category gets the same tile colour: one of 12
 * hues 30 degrees apart, so two categories either share a colour or are clearly told apart.
 */
export function hueOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return ((h >>> 0) % 12) * 30;
}

/** Two letters for the placeholder image: the initials of the title's first two words. */
export function initials(title: string): string {
  const words = title
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  return words
    .slice(0, 2)
    .map((w) => [...w][0]!.toUpperCase())
    .join('');
}

/** `/items/{id}` with the id URL-encoded; undefined when there is no template. */
export function itemHref(template: string | null | undefined, itemId: string): string | undefined {
  return template ? template.replaceAll('{id}', encodeURIComponent(itemId)) : undefined;
}

export function formatPrice(price: number | undefined): string {
  return price === undefined ? '' : `$${price.toFixed(2)}`;
}

/**
 * One item: an element carrying `data-item-id` (API.md) whose text is the item's title and nothing
 * else, so pages, analytics and tests read the title from it as they are. The thumbnail's initials,
 * the category and the price are shown from `data-text` attributes by CSS (`content: attr(data-text)`,
 * src/shop/assets.ts), and the item element carries them as data attributes for the page's own CSS.
 * A link when the slot gives an href template (`data-href="/items/{id}"`), a div otherwise.
 */
export function itemCard(item: SlotItem, hrefTemplate?: string | null): Html {
  const title = item.title ?? item.itemId;
  const path = item.categories ?? [];
  const leaf = path.at(-1) ?? '';
  const price = formatPrice(item.price);
  const body = html`<span class="edgerec-thumb" style="--hue:${hueOf(leaf)}" aria-hidden="true" data-text="${initials(title)}"></span><span class="edgerec-title">${title}</span><span class="edgerec-category" data-text="${leaf}"></span><span class="edgerec-price" data-text="${price}"></span>`;
  const href = itemHref(hrefTemplate, item.itemId);
  const category = path.join('|');
  return href
    ? html`<a class="edgerec-item" href="${href}" data-item-id="${item.itemId}" data-category="${category}" data-price="${price}">${body}</a>`
    : html`<div class="edgerec-item" data-item-id="${item.itemId}" data-category="${category}" data-price="${price}">${body}</div>`;
}

/** A slot's items, in order; each in an `<li>` for a list slot (`<ul>`, `<ol>`), so the page stays valid HTML. */
export function itemCards(items: readonly SlotItem[], hrefTemplate?: string | null, asListItems = false): Html {
  return asListItems
    ? html`${items.map((item) => html`<li>${itemCard(item, hrefTemplate)}</li>`)}`
    : html`${items.map((item) => itemCard(item, hrefTemplate))}`;
}
