#!/usr/bin/env bash
# `npm test`: every test, Python and TypeScript. Installs what it needs (npm packages, the Python
# environment cached outside the checkout) and fails if any suite fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-node.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false
failed=()
step() {
  local name="$1"; shift
  echo; echo "=== $name: $*"
  if ! "$@"; then failed+=("$name"); fi
}
step "python (pytest)" bash scripts/py.sh -m pytest test/python -q
step "typecheck (tsc)" tsc --noEmit -p .
step "format (prettier, ruff)" bash scripts/format.sh --check
step "worker (vitest in workerd)" vitest run
step "worker, ONNX runtime Worker down (vitest in workerd)" vitest run --config test/onnx-down/vitest.config.ts
step "kernel + bench smoke (Node)" vitest run --config test/bench/vitest.config.ts
step "kernel in workerd" vitest run --config test/bench/vitest.workerd.config.ts
step "e2e (Chromium, wrangler dev)" bash test/e2e/run.sh
step "schemathesis (bounded, wrangler dev)" bash scripts/schemathesis.sh
step "load (10 s, wrangler dev)" node scripts/load/run.mjs --duration 10 --out runs/load/npm-test.json
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
