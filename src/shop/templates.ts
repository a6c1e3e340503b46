/**
 * The demo shop's pages, as an ordinary origin would render them: the same HTML for everyone, with
 * personalisation slots (`data-edgerec=...`) holding the shop's own non-personalised content. Every
 * value from the catalog is escaped by the `html` tag.
 */
import type { Catalog } from '../core/catalog';
import { html, type Html } from '../html/escape';
import { formatPrice, hueOf, initials, itemCards } from '../html/render';
import { categoryPath, departments, item, keywordSearch, popularRows, rowsInCategory, subcategories } from './catalog-view';

export const ITEM_HREF = '/items/{id}';
const categoryUrl = (name: string) => `/c/${encodeURIComponent(name)}`;

export interface ShopContext {
  catalog: Catalog;
  version: string;
  /** The current search text, shown in the search box. */
  query?: string;
  /** The department shown as current in the navigation. */
  current?: string;
}

function cards(catalog: Catalog, rows: number[]): Html {
  return itemCards(
    rows.map((r) => item(catalog, r)),
    ITEM_HREF,
  );
}

function layout(title: string, body: Html, opts: { ctx?: ShopContext; head?: Html }): string {
  const ctx = opts.ctx;
  const nav = ctx ? departments(ctx.catalog).slice(0, 10) : [];
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Edge Beauty</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/shop.css">${opts.head ?? ''}
<script src="/assets/shop.js" defer></script>
</head><body>
<header class="top"><div class="wrap"><a class="logo" href="/">Edge<span>Beauty</span></a>
<form class="search" action="/search" method="get" role="search"><input name="q" type="search" placeholder="Search lipstick, serum, shampoo…" value="${ctx?.query ?? ''}" aria-label="Search"><button type="submit">Search</button></form></div></header>
${nav.length ? html`<nav class="nav"><div class="wrap">${nav.map((d) => html`<a href="${categoryUrl(d.name)}"${d.name === ctx?.current ? html` class="on"` : ''}>${d.name}</a>`)}</div></nav>` : ''}
<main class="wrap">${body}</main>
<footer class="foot"><div class="wrap"><span>A demo shop served through edgerec: pages come from a shared edge cache; the rails marked <span class="badge">for you</span> are filled at the edge for each visitor.</span>
<span>${ctx ? html`Model ${ctx.version} · ${ctx.catalog.rows} items · ` : ''}<a href="/docs">API</a> · <a href="/_edgerec/forget">Start over</a></span></div></footer>
</body></html>`.value;
}

export function homePage(ctx: ShopContext): string {
  const { catalog } = ctx;
  const depts = departments(catalog).slice(0, 8);
  return layout(
    'Home',
    html`<section class="hero"><h1>Beauty, picked at the edge</h1><p>Browse a few products and come back: the rail below follows what you look at. The page is cached and shared; only the marked rails are filled for you, next to you, by the edge function.</p></section>
<section class="rail"><div class="rail-head"><h2>Recommended for you<span class="badge">for you</span></h2><span class="hint">Follows what you browse</span></div>
<div class="grid" id="for-you" data-edgerec="recommend" data-k="8" data-href="${ITEM_HREF}">${cards(catalog, popularRows(catalog, 8))}</div></section>
${depts.map(
  (
    d,
  ) => html`<section class="rail department" data-department="${d.name}"><div class="rail-head"><h2>${d.name}</h2><a href="${categoryUrl(d.name)}">See all ${d.rows.length} →</a></div>
<div class="grid">${cards(catalog, d.rows.slice(0, 4))}</div></section>`,
)}`,
    { ctx },
  );
}

export function itemPage(ctx: ShopContext, row: number): string {
  const { catalog } = ctx;
  const it = item(catalog, row);
  const path = it.categories ?? [];
  const leaf = path.at(-1);
  const title = it.title ?? it.itemId;
  const sameCategory = leaf
    ? rowsInCategory(catalog, leaf)
        .filter((r) => r !== row)
        .slice(0, 4)
    : [];
  return layout(
    title,
    html`<nav class="crumbs"><a href="/">Home</a>${path.map((c) => html` / <a href="${categoryUrl(c)}">${c}</a>`)}</nav>
<article class="product">
<div class="edgerec-thumb" style="--hue:${hueOf(leaf ?? '')}" aria-hidden="true">${initials(title)}</div>
<div>${it.brand ? html`<p class="brand">${it.brand}</p>` : ''}<h1>${title}</h1><p class="price">${formatPrice(it.price)}</p>
<button class="btn" type="button" data-edgerec-event="cart" data-item-id="${it.itemId}">Add to bag</button>
<ul class="facts"><li>Category: ${path.join(' › ') || '—'}</li><li>Item ${it.itemId}</li><li>Free delivery on orders over $40</li></ul></div>
</article>
<section class="rail"><div class="rail-head"><h2>Similar items</h2></div>
<div class="grid" id="similar" data-edgerec="similar" data-item-id="${it.itemId}" data-k="4" data-href="${ITEM_HREF}">${sameCategory.length ? cards(catalog, sameCategory) : html`<p class="empty">More from this range soon.</p>`}</div></section>
<section class="rail"><div class="rail-head"><h2>For you<span class="badge">for you</span></h2></div>
<div class="grid" id="for-you" data-edgerec="recommend" data-k="4" data-exclude-item-ids="${it.itemId}" data-href="${ITEM_HREF}">${cards(catalog, popularRows(catalog, 4, [row]))}</div></section>`,
    { ctx: { ...ctx, current: path[0] }, head: html`<meta name="edgerec:item-id" content="${it.itemId}">` },
  );
}

export function categoryPage(ctx: ShopContext, name: string): string | undefined {
  const { catalog } = ctx;
  const rows = rowsInCategory(catalog, name);
  if (!rows.length) return undefined;
  const path = categoryPath(catalog, name);
  const label = path.at(-1) ?? name;
  const subs = subcategories(catalog, name);
  return layout(
    label,
    html`<nav class="crumbs"><a href="/">Home</a>${path.map((c) => html` / <a href="${categoryUrl(c)}">${c}</a>`)}</nav>
<h1 class="page-title">${label}</h1><p class="sub">${rows.length} items</p>
${subs.length ? html`<div class="chips">${subs.map((s) => html`<a href="${categoryUrl(s.name)}">${s.name} (${s.count})</a>`)}</div>` : ''}
<section class="rail"><div class="rail-head"><h2>${label} for you<span class="badge">for you</span></h2></div>
<div class="grid" id="for-you" data-edgerec="recommend" data-k="4" data-category="${label}" data-href="${ITEM_HREF}">${cards(catalog, rows.slice(0, 4))}</div></section>
<section class="rail"><div class="rail-head"><h2>All ${label}</h2><span class="hint">Bestsellers first</span></div>
<div class="grid wide">${cards(catalog, rows.slice(0, 48))}</div></section>`,
    { ctx: { ...ctx, current: label } },
  );
}

export function searchPage(ctx: ShopContext, query: string): string {
  const { catalog } = ctx;
  if (!query) {
    return layout('Search', html`<h1 class="page-title">Search</h1><p class="sub">Type a product, a brand or a category.</p>`, { ctx });
  }
  const rows = keywordSearch(catalog, query, 24);
  return layout(
    `“${query}”`,
    html`<h1 class="page-title">Results for “${query}”</h1><p class="sub">Ordered for you at the edge when it knows you.</p>
<div class="grid wide" id="results" data-edgerec="search" data-query="${query}" data-k="24" data-href="${ITEM_HREF}">${rows.length ? cards(catalog, rows) : html`<p class="empty">No products match “${query}”.</p>`}</div>`,
    { ctx: { ...ctx, query } },
  );
}

export function notFoundPage(ctx: ShopContext | undefined, what: string): string {
  return layout('Not found', html`<h1 class="page-title">Not found</h1><p class="sub">${what}</p><p><a href="/">Back to the shop</a></p>`, {
    ctx,
  });
}

/** The shop without a catalog (no model published yet): the slot keeps its text. */
export function unavailablePage(): string {
  return layout(
    'Opening soon',
    html`<section class="notice"><h1 class="page-title">The shop is opening soon</h1><p>Its catalog comes from the active recommendation model, and none is published yet (<code>node scripts/publish.mjs push models/default --local</code>).</p></section>
<section class="rail"><div class="rail-head"><h2>Recommended for you</h2></div>
<div class="grid" id="for-you" data-edgerec="recommend" data-k="8" data-href="${ITEM_HREF}"><p class="empty">Recommendations appear here once a model is published.</p></div></section>`,
    {},
  );
}
