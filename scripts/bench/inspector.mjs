/**
 * A Chrome DevTools Protocol session with a Worker's isolate, through workerd's inspector (bare
 * `workerd serve --inspector-addr`) or wrangler's inspector proxy, which accepts local origins only.
 * `call` resolves with the result, or with undefined when no answer came within `timeoutMs`.
 */
export async function inspector(port, { timeoutMs = 5000 } = {}) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl.replace('localhost', '127.0.0.1'), { headers: { origin: 'http://localhost' } });
  await new Promise((ok, fail) => ((ws.onopen = ok), (ws.onerror = (e) => fail(new Error(`inspector: ${e.message}`)))));
  let id = 0;
  const pending = new Map();
  ws.onmessage = (m) => {
    if (m.data.startsWith('{"method":"HeapProfiler.addHeapSnapshotChunk"')) return; // a snapshot's body, unread
    const msg = JSON.parse(m.data);
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  };
  return {
    call: (method, params = {}) =>
      new Promise((ok) => {
        const callId = ++id;
        pending.set(callId, ok);
        ws.send(JSON.stringify({ id: callId, method, params }));
        setTimeout(() => pending.has(callId) && (pending.delete(callId), ok(undefined)), timeoutMs);
      }),
    close: () => ws.close(),
  };
}
