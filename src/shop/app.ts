/**
 * The demo shop: the origin the Worker sits in front of when ORIGIN_URL is unset or "self". It is
 * an ordinary origin that happens to run in the same Worker: it renders the same page for every
 * visitor, says how long shared caches may keep it, and knows nothing about who is looking. Its
 * products are the active model's catalog (titles, categories, prices, brands).
 */
import { Hono } from 'hono';
import type { Catalog } from '../core/catalog';
import type { Env } from '../env';
import { waitUntilOf } from '../http/factory';
import { getModelState } from '../model/store';
import { SHOP_CSS, SHOP_JS } from './assets';
import { categoryPage, homePage, itemPage, notFoundPage, searchPage, unavailablePage, type ShopContext } from './templates';

/** Pages may be shared for a minute (a new model's catalog shows within that), assets for an hour. */
const PAGE_CACHE = 'public, max-age=60';
const ASSET_CACHE = 'public, max-age=3600';

export const shop = new Hono<{ Bindings: Env; Variables: { shop?: ShopContext } }>();

shop.get('/assets/shop.css', (c) => c.body(SHOP_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': ASSET_CACHE }));
shop.get('/assets/shop.js', (c) =>
  c.body(SHOP_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': ASSET_CACHE }),
);

/** The catalog of the serving model (or, while no model can load, the active version's catalog). */
shop.use('*', async (c, next) => {
  const s = await getModelState(c.env, waitUntilOf(c));
  const source: { version: string; catalog: Catalog } | undefined = s.model ?? s.fallbackCatalog;
  if (!source) return c.html(unavailablePage(), 200, { 'cache-control': 'no-store' });
  c.set('shop', { catalog: source.catalog, version: source.version });
  await next();
});

shop.get('/', (c) => c.html(homePage(c.var.shop!), 200, { 'cache-control': PAGE_CACHE }));

shop.get('/items/:id', (c) => {
  const ctx = c.var.shop!;
  const row = ctx.catalog.rowOf(c.req.param('id'));
  if (row === undefined) return c.html(notFoundPage(ctx, 'We have no product with this id.'), 404, { 'cache-control': PAGE_CACHE });
  return c.html(itemPage(ctx, row), 200, { 'cache-control': PAGE_CACHE });
});

shop.get('/c/:name', (c) => {
  const ctx = c.var.shop!;
  const page = categoryPage(ctx, c.req.param('name'));
  if (!page) return c.html(notFoundPage(ctx, 'We have no such category.'), 404, { 'cache-control': PAGE_CACHE });
  return c.html(page, 200, { 'cache-control': PAGE_CACHE });
});

shop.get('/search', (c) => {
  const query = (c.req.query('q') ?? '').trim().slice(0, 256);
  return c.html(searchPage(c.var.shop!, query), 200, { 'cache-control': PAGE_CACHE });
});

shop.notFound((c) => c.html(notFoundPage(c.var.shop, 'This page does not exist.'), 404, { 'cache-control': PAGE_CACHE }));
