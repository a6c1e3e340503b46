#!/usr/bin/env bash
# `npm start`: the edge function on the embedded default. Installs what it needs, publishes the
# default model into the local (Miniflare) KV/R2 state if nothing is active yet, then runs the real
# workerd through `wrangler dev` on http://localhost:${PORT:-8787}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-node.sh
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false
if [ ! -f .dev.vars ]; then
  # Local secrets only; .dev.vars is gitignored. Production sets them with `wrangler secret put`.
  printf 'ADMIN_TOKEN=%s\nUSER_ID_SECRET=%s\nLOG_EXPOSURES=true\n' "$(openssl rand -hex 16)" "$(openssl rand -hex 32)" > .dev.vars
  echo "edgerec: wrote .dev.vars with a local ADMIN_TOKEN" >&2
fi
node scripts/publish.mjs push "${EDGEREC_MODEL_DIR:-models/default}" --local --if-absent
# Both Workers in one workerd: edgerec, and the ONNX runtime Worker its ONNX service binding calls.
exec wrangler dev -c wrangler.toml -c wrangler.onnx.toml --port "${PORT:-8787}" --ip "${HOST:-127.0.0.1}" "$@"
