/**
 * The per-user session store: one Durable Object per (hashed) user id holding that user's recent
 * events. A Durable Object, not KV: KV is eventually consistent and takes about one write per second
 * per key, while the next /v1/recommend must see the events just accepted (read-your-writes), and a
 * busy session writes several events a second. The object lives near the user and is the single
 * writer for its history.
 */
import { DurableObject } from 'cloudflare:workers';
import { errorMessage } from '../core/error-message';
import { hex } from '../core/hex';
import type { HistoryEvent } from '../core/history';
import type { Env } from '../env';

export interface StoredEvent extends HistoryEvent {
  ts: number;
}

export interface AppendResult {
  /** Events of the batch now stored. */
  accepted: number;
  /** Events of the batch not stored: older than the retention time, or than the newest SESSION_MAX_EVENTS. */
  dropped: number;
  duplicate: boolean;
  /** The idempotency key was used before for a different batch: nothing stored. */
  keyReused?: boolean;
}

/** A batch's idempotency key, and a fingerprint of the batch as the client sent it. */
export interface Idempotency {
  key: string;
  fingerprint: string;
}

/** A key remembered with its batch's fingerprint (a bare key: stored before fingerprints were kept). */
type SeenKey = string | [key: string, fingerprint: string];

const EVENTS_KEY = 'events';
const KEYS_KEY = 'idempotency';

export class UserSession extends DurableObject<Env> {
  private settings() {
    const maxEvents = Number(this.env.SESSION_MAX_EVENTS ?? 200);
    const retentionDays = Number(this.env.SESSION_RETENTION_DAYS ?? 30);
    return { maxEvents, retentionMs: retentionDays * 86_400_000 };
  }

  /**
   * Appends events (oldest first). A batch whose idempotency key was seen with the same batch is not
   * stored again (`duplicate`); a key seen with another batch is refused (`keyReused`), so a client
   * that reuses keys learns it instead of losing the new batch.
   */
  async append(events: StoredEvent[], idempotency?: Idempotency): Promise<AppendResult> {
    const { maxEvents, retentionMs } = this.settings();
    // One read, then one write with no await in between: concurrent batches cannot interleave.
    const stored = await this.ctx.storage.get<unknown>([KEYS_KEY, EVENTS_KEY]);
    const seen = (stored.get(KEYS_KEY) as SeenKey[] | undefined) ?? [];
    const before = idempotency && seen.find((s) => (typeof s === 'string' ? s : s[0]) === idempotency.key);
    if (before !== undefined) {
      const same = typeof before === 'string' || before[1] === idempotency!.fingerprint;
      return same ? { accepted: 0, dropped: 0, duplicate: true } : { accepted: 0, dropped: 0, duplicate: false, keyReused: true };
    }
    const now = Date.now();
    const kept = this.fresh((stored.get(EVENTS_KEY) as StoredEvent[] | undefined) ?? [], now);
    const batch = new Set(this.fresh(events, now));
    const merged = [...kept, ...batch].sort((a, b) => a.ts - b.ts).slice(-maxEvents);
    const accepted = merged.reduce((n, e) => n + (batch.has(e) ? 1 : 0), 0);
    // The events and the idempotency key in one atomic write: a batch whose write fails is not
    // remembered as seen, so its retry is stored instead of being answered "duplicate".
    const writes: Record<string, unknown> = { [EVENTS_KEY]: merged };
    if (idempotency) writes[KEYS_KEY] = [...seen, [idempotency.key, idempotency.fingerprint] satisfies SeenKey].slice(-100);
    await this.ctx.storage.put(writes);
    // Everything about the user is deleted once the retention time passes without new events.
    await this.ctx.storage.setAlarm(now + retentionMs);
    return { accepted, dropped: events.length - accepted, duplicate: false };
  }

  /** The user's events within the retention time, oldest first. */
  async recent(): Promise<StoredEvent[]> {
    return this.fresh((await this.ctx.storage.get<StoredEvent[]>(EVENTS_KEY)) ?? [], Date.now());
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  private fresh(events: StoredEvent[], nowMs: number): StoredEvent[] {
    const cutoff = (nowMs - this.settings().retentionMs) / 1000;
    return events.filter((e) => e.ts >= cutoff);
  }
}

/**
 * The Durable Object of a user. The id is keyed with HMAC-SHA-256 under USER_ID_SECRET, so raw user
 * ids are never stored and object names cannot be guessed from them.
 */
export async function userSession(env: Env, userId: string): Promise<DurableObjectStub<UserSession>> {
  const secret = env.USER_ID_SECRET || 'edgerec-dev-only-secret';
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(userId));
  const name = hex(mac);
  return env.USER_SESSIONS.get(env.USER_SESSIONS.idFromName(name));
}

/** The user's event store failed: its Durable Object threw, or could not be reached. */
export class SessionStoreUnavailable extends Error {
  constructor(readonly reason: unknown) {
    super(`the session store failed: ${errorMessage(reason)}`);
  }
}

/**
 * A call to the user's Durable Object. Any failure of it is a SessionStoreUnavailable (a 503 the
 * client retries: src/app.ts), so a batch of events is never answered 202 unless it was stored, and
 * no other failure (an origin, a client that went away) is mistaken for one.
 */
export async function withSession<T>(env: Env, userId: string, call: (stub: DurableObjectStub<UserSession>) => Promise<T>): Promise<T> {
  try {
    return await call(await userSession(env, userId));
  } catch (err) {
    throw new SessionStoreUnavailable(err);
  }
}

/**
 * The user's stored events followed by the request's own (which are the most recent). Reading is
 * best effort: when the session store fails, answers go on with the inline history rather than fail
 * (writes, in /v1/events, never pretend to succeed).
 */
export async function historyFor(env: Env, userId: string | undefined, inline: HistoryEvent[]): Promise<HistoryEvent[]> {
  if (!userId) return inline;
  try {
    const stored = await withSession(env, userId, (session) => session.recent());
    return [...stored, ...inline];
  } catch (err) {
    console.error('edgerec: session store read failed; answering from the inline history', err);
    return inline;
  }
}
