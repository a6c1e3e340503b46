/** HTML escaping for every value the Worker or the demo shop writes into a page. Pure. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for an HTML text node or a quoted attribute value: `<script>` in a title stays text,
 * and a quote in an id cannot end the attribute it sits in.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A template literal tag that escapes every interpolated value unless it is already `Html`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += toHtml(v) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Markup that is already safe (built by `html` or escaped); plain strings are always escaped. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Marks trusted markup (constant strings of this code base only) as `Html`. */
export function raw(markup: string): Html {
  return new Html(markup);
}

function toHtml(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(toHtml).join('');
  if (v === undefined || v === null || v === false) return '';
  return escapeHtml(v);
}
