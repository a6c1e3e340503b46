/**
 * The kernel-only Worker: src/worker.ts without onnxruntime-web, ~0.2 MB gzipped instead of ~3.8 MB
 * (the free plan's limit is 3 MB). It serves artifacts with kernel files (`user_tower.bin`, what the
 * trainer writes); others get the popularity fallback and a /health error naming the full build.
 *
 *   npx wrangler deploy src/index-lite.ts
 */
export { default, UserSession } from './worker';
