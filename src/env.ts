/** Bindings and settings of the Worker, as declared in wrangler.toml (one typed Env, passed around). */
export interface Env {
  /** KV: the active-version pointer (`active`) and small control records. */
  EDGEREC_KV: KVNamespace;
  /** R2: content-addressed artifact blobs (`blobs/sha256/<hex>`) and manifests (`manifests/<version>.json`). */
  EDGEREC_R2: R2Bucket;
  /** Per-user session stores (recent events), one Durable Object per hashed user id. */
  USER_SESSIONS: DurableObjectNamespace<import('./model/session-store').UserSession>;
  /** HMAC key for user ids before anything is stored (a Worker secret; `.dev.vars` locally). */
  USER_ID_SECRET?: string;
  /** Most events kept per user. */
  SESSION_MAX_EVENTS?: string;
  /** Days a user's events are kept after their last event. */
  SESSION_RETENTION_DAYS?: string;
  /** Bearer token for /admin (a Worker secret; `.dev.vars` locally). */
  ADMIN_TOKEN?: string;
  /** A/B exposures (Workers Analytics Engine); without the binding they are logged. */
  EXPOSURES?: AnalyticsEngineDataset;
  /** "true": also log each exposure (set in .dev.vars for local development). */
  LOG_EXPOSURES?: string;
  /** Quality gate: the int8 metric compared and the allowed relative drop. */
  GATE_METRIC?: string;
  GATE_MARGIN?: string;
  /** Seconds the active-version pointer is cached per isolate before KV is read again. */
  POINTER_TTL_SECONDS?: string;
  /** Seconds before a version that failed to load is tried again (default 15; tests use 0). */
  MODEL_RETRY_SECONDS?: string;
  /** Origins allowed to call the API from a browser, comma or space separated; "*" = any; unset = none. */
  CORS_ORIGINS?: string;
  /** Per-client rate limiter (`[[ratelimits]]` in wrangler.toml); unbound = no limiting. */
  RATE_LIMITER?: RateLimit;
  /** "off": no rate limiting (the local load and schemathesis runs, which send all from one address). */
  RATE_LIMIT?: string;
  /** The origin whose pages the Worker personalises (https://shop.example); unset or "self": the embedded demo shop. */
  ORIGIN_URL?: string;
  /**
   * The ONNX runtime Worker (`edgerec-onnx`, wrangler.onnx.toml; RPC): onnxruntime-web for towers
   * without kernel files. Unbound, such artifacts get the popularity fallback with /health saying why.
   */
  ONNX?: import('./onnx/sessions').OnnxTowers;
  /** "onnx": run the user and text towers in onnxruntime-web even when the artifact has kernel files (user_tower.bin, text_tower.bin). */
  USER_TOWER?: string;
  /** Milliseconds a page's slots have before they keep the origin's content. */
  PERSONALISE_BUDGET_MS?: string;
}

/** Hono generics for this app: bindings plus per-request variables set by middleware. */
export interface AppEnv {
  Bindings: Env;
  Variables: { requestId: string };
}
