/**
 * The shopper's identity at the edge: a random first-party cookie the Worker sets. It names the
 * user's session store (a Durable Object keyed by an HMAC of the id, see model/session-store.ts); the
 * page's script never sees it (HttpOnly), so events come in through a same-origin endpoint that reads it.
 */

export const IDENTITY_COOKIE = 'edgerec_uid';
const ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
const ONE_YEAR_SECONDS = 365 * 86_400;

export interface Identity {
  /** The cookie's value. */
  id: string;
  /** The user id for the session store and the recommender (`web:` + the cookie value). */
  userId: string;
  /** True when this request had no (valid) cookie: the response must set it. */
  isNew: boolean;
}

/** One cookie's value from a Cookie header, or undefined. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Cookie header without one cookie (what an origin gets: it has no business with our id). */
export function withoutCookie(header: string | null | undefined, name: string): string {
  return (header ?? '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith(`${name}=`))
    .join('; ');
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** The request's identity, or a new one when it has no well-formed cookie. */
export function identify(request: Request): Identity {
  const existing = readCookie(request.headers.get('cookie'), IDENTITY_COOKIE);
  const id = existing && ID_PATTERN.test(existing) ? existing : undefined;
  const value = id ?? randomId();
  return { id: value, userId: `web:${value}`, isNew: !id };
}

/** Loopback hosts are served over plain http in development: a Secure cookie would not come back. */
function isLocalhost(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '127.0.0.1' || hostname === '[::1]' || hostname === '::1'
  );
}

/** The Set-Cookie value for an identity: HttpOnly, SameSite=Lax, Secure outside localhost, one year. */
export function identityCookie(identity: Identity, requestUrl: string): string {
  const secure = !isLocalhost(new URL(requestUrl).hostname);
  return `${IDENTITY_COOKIE}=${identity.id}; Path=/; Max-Age=${ONE_YEAR_SECONDS}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
