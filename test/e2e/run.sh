#!/usr/bin/env bash
# End-to-end: the Worker under `wrangler dev` (real workerd, with KV/R2/Durable Object state of its
# own in a temporary --persist-to dir, on a free port), the default model published into it, and the
# demo shop driven by Debian's Chromium through playwright-core (test/e2e/*.e2e.mjs, node's test
# runner). Screenshots and logs go to test-results/e2e/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "e2e: no Chromium at $CHROMIUM_PATH (Debian: apt-get update && apt-get install -y chromium)" >&2
  exit 1
fi

out=test-results/e2e
mkdir -p "$out"
work="$(mktemp -d -t edgerec-e2e-XXXXXX)"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill -TERM -- "-$server" 2>/dev/null || kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port="$(free_port)"
inspector="$(free_port)"

export EDGEREC_MODEL_DIR="$work/model"
export EDGEREC_MARKUP_ITEM="$(node test/e2e/prepare-model.mjs "${EDGEREC_E2E_MODEL:-models/default}" "$EDGEREC_MODEL_DIR")"
# The publisher's --persist-to means what wrangler dev's does (state under DIR/v3).
if ! node scripts/publish.mjs push "$EDGEREC_MODEL_DIR" --local --persist-to "$work/state" >"$out/publish.log" 2>&1; then
  cat "$out/publish.log" >&2
  exit 1
fi

# Its own process group, so the cleanup stops wrangler and the workerd it starts, and nothing else.
setsid wrangler dev -c wrangler.toml -c wrangler.onnx.toml --port "$port" --ip 127.0.0.1 --inspector-port "$inspector" --persist-to "$work/state" \
  --show-interactive-dev-session=false >"$out/wrangler.log" 2>&1 &
server=$!

export EDGEREC_URL="http://127.0.0.1:$port"
status=0
node --test --test-reporter=spec test/e2e/*.e2e.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- wrangler dev log (tail) ---" >&2
  tail -n 40 "$out/wrangler.log" >&2
fi
exit "$status"
