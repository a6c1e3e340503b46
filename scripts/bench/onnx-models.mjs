/**
 * The retrieval graphs the ONNX Runtime baselines run, written as ONNX protobuf directly (no Python
 * needed): scores for every item, an optional allowed mask, then TopK, all inside the runtime.
 *
 *   int8: DynamicQuantizeLinear(u) -> MatMulInteger(uq, W int8 [D, N], uz) -> Cast -> * us -> * scale[N]
 *   fp32: MatMul(u, W float [D, N]) with W the dequantized table
 *   filtered variants: Where(mask[N], scores, -inf) before TopK
 *
 * W is the item table transposed to [D, N] (ONNX MatMul's B layout); ORT prepacks constant weights.
 */

// --- minimal protobuf writer ---------------------------------------------------------------
class Writer {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(bytes) {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
  varint(n) {
    let v = BigInt(n);
    const out = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v) b |= 0x80;
      out.push(b);
    } while (v);
    this.push(Uint8Array.from(out));
  }
  tag(field, wire) {
    this.varint((field << 3) | wire);
  }
  int(field, n) {
    this.tag(field, 0);
    this.varint(n);
  }
  float(field, x) {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.push(b);
  }
  bytes(field, bytes) {
    this.tag(field, 2);
    this.varint(bytes.length);
    this.push(bytes);
  }
  string(field, s) {
    this.bytes(field, new TextEncoder().encode(s));
  }
  message(field, fill) {
    const w = new Writer();
    fill(w);
    this.bytes(field, w.finish());
  }
  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const DT = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };

function tensor(w, name, type, dims, raw) {
  for (const d of dims) w.int(1, d);
  w.int(2, DT[type]);
  w.string(8, name);
  w.bytes(9, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
}

function valueInfo(w, name, type, dims) {
  w.string(1, name);
  w.message(2, (t) =>
    t.message(1, (tt) => {
      tt.int(1, DT[type]);
      tt.message(2, (s) => {
        for (const d of dims) s.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function node(w, op, inputs, outputs, attrs = {}) {
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, `${op}_${outputs[0]}`);
  w.string(4, op);
  for (const [name, value] of Object.entries(attrs)) {
    w.message(5, (a) => {
      a.string(1, name);
      a.int(3, value);
      a.int(20, 2); // INT
    });
  }
}

/**
 * ONNX bytes of the retrieval graph over a table (`q` int8 [N, D] row-major, `scales` [N]).
 * @param {{q: Int8Array, scales: Float32Array, rows: number, dim: number}} table
 * @param {{precision: 'int8' | 'fp32', k: number, masked: boolean}} opts
 */
export function retrievalModel(table, { precision, k, masked }) {
  const { q, scales, rows: N, dim: D } = table;
  const initializers = [];
  if (precision === 'int8') {
    const wt = new Int8Array(D * N);
    for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) wt[d * N + r] = q[r * D + d];
    initializers.push(['W', 'int8', [D, N], wt], ['scale', 'float', [N], scales.subarray(0, N)]);
  } else {
    const wt = new Float32Array(D * N);
    for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) wt[d * N + r] = q[r * D + d] * scales[r];
    initializers.push(['W', 'float', [D, N], wt]);
  }
  initializers.push(['K', 'int64', [1], BigInt64Array.of(BigInt(Math.min(k, N)))]);
  if (masked) initializers.push(['ninf', 'float', [], Float32Array.of(-Infinity)]);

  const model = new Writer();
  model.int(1, 8); // ir_version
  model.string(2, 'edgerec-bench');
  model.message(8, (o) => {
    o.string(1, '');
    o.int(2, 13);
  });
  model.message(7, (g) => {
    const scores = masked ? 'raw_scores' : 'scores';
    if (precision === 'int8') {
      g.message(1, (n) => node(n, 'DynamicQuantizeLinear', ['u'], ['uq', 'us', 'uz']));
      g.message(1, (n) => node(n, 'MatMulInteger', ['uq', 'W', 'uz'], ['acc']));
      g.message(1, (n) => node(n, 'Cast', ['acc'], ['accf'], { to: DT.float }));
      g.message(1, (n) => node(n, 'Mul', ['accf', 'us'], ['dot']));
      g.message(1, (n) => node(n, 'Mul', ['dot', 'scale'], [scores]));
    } else {
      g.message(1, (n) => node(n, 'MatMul', ['u', 'W'], [scores]));
    }
    if (masked) g.message(1, (n) => node(n, 'Where', ['mask', 'raw_scores', 'ninf'], ['scores']));
    g.message(1, (n) => node(n, 'TopK', ['scores', 'K'], ['values', 'indices'], { axis: 1, largest: 1, sorted: 1 }));
    g.string(2, `retrieval_${precision}`);
    for (const [name, type, dims, raw] of initializers) g.message(5, (t) => tensor(t, name, type, dims, raw));
    g.message(11, (v) => valueInfo(v, 'u', 'float', [1, D]));
    if (masked) g.message(11, (v) => valueInfo(v, 'mask', 'bool', [N]));
    g.message(12, (v) => valueInfo(v, 'values', 'float', [1, Math.min(k, N)]));
    g.message(12, (v) => valueInfo(v, 'indices', 'int64', [1, Math.min(k, N)]));
  });
  return model.finish();
}
