/**
 * A bench-only entry (never deployed): the edgerec Worker with onnxruntime-web imported into its own
 * bundle, the layout before ORT moved to the ONNX runtime Worker (src/onnx/worker.ts). Part d starts
 * it beside the real bundle, so the cost of carrying ORT's Wasm is measured in the same run.
 */
import '../../src/onnx/ort';

export { default, UserSession } from '../../src/index';
