/**
 * The Worker: src/worker.ts with onnxruntime-web registered as the ONNX runtime behind the kernels
 * (artifacts without kernel files, USER_TOWER=onnx, and an input a kernel refuses).
 * `npx wrangler deploy src/index-lite.ts` deploys the same Worker without it (src/runtime/onnx.ts).
 */
import './runtime/ort';

export { default, UserSession } from './worker';
