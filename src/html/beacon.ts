/**
 * The behaviour beacon the Worker adds to every page it personalises (served at BEACON_SCRIPT_PATH).
 * It reports, to BEACON_EVENTS_PATH on the same origin (the HttpOnly identity cookie goes along):
 * - `view` for the page's item (`<meta name="edgerec:item-id" content="...">`),
 * - `click` for a click on an element with `data-item-id`, or `search` (with the query) when it sits
 *   in a `data-edgerec="search"` slot or an element with `data-edgerec-query`,
 * - `cart` / `purchase` for a click on an element with `data-edgerec-event="cart"` and `data-item-id`.
 * `window.edgerec.track(itemId, event, query)` reports anything else.
 */
export const BEACON_SCRIPT_PATH = '/_edgerec/beacon.js';
export const BEACON_EVENTS_PATH = '/v1/events/beacon';

export const BEACON_SCRIPT = `(() => {
  'use strict';
  const endpoint = ${JSON.stringify(BEACON_EVENTS_PATH)};
  const now = () => Math.floor(Date.now() / 1000);
  function send(events) {
    const body = JSON.stringify({ events });
    try {
      // sendBeacon survives the navigation a click starts; the JSON type is allowed same-origin.
      if (navigator.sendBeacon && navigator.sendBeacon(endpoint, new Blob([body], { type: 'application/json' }))) return;
    } catch (e) {}
    fetch(endpoint, { method: 'POST', body, keepalive: true, credentials: 'same-origin', headers: { 'content-type': 'application/json' } }).catch(() => {});
  }
  function track(itemId, event, query) {
    if (!itemId) return;
    const e = { itemId: String(itemId), event: event || 'view', ts: now() };
    if (query) e.query = String(query).slice(0, 256);
    send([e]);
  }
  window.edgerec = { track };
  const page = document.querySelector('meta[name="edgerec:item-id"]');
  if (page && page.content) track(page.content, 'view');
  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    const action = target && target.closest('[data-edgerec-event][data-item-id]');
    if (action) return track(action.getAttribute('data-item-id'), action.getAttribute('data-edgerec-event'));
    const item = target && target.closest('[data-item-id]:not([data-edgerec])');
    if (!item) return;
    const search = item.closest('[data-edgerec="search"][data-query], [data-edgerec-query]');
    const query = search && (search.getAttribute('data-query') || search.getAttribute('data-edgerec-query'));
    track(item.getAttribute('data-item-id'), query ? 'search' : 'click', query);
  }, true);
})();
`;
