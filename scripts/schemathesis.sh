#!/usr/bin/env bash
# Schemathesis (property-based API testing from /openapi.json) against the real Worker in
# `wrangler dev`, on a fresh local state with the default model published.
#
#   scripts/schemathesis.sh              bounded run for `npm test` (25 examples an operation, about a minute)
#   scripts/schemathesis.sh --long       the long run (400 examples an operation, every phase; 10-20 minutes)
#   scripts/schemathesis.sh --pip-audit  no API run: pip-audit over the trainer's Python environment (CI)
#
# Checks: every schemathesis check except positive_data_acceptance (the document cannot express
# cross-field rules such as priceMin <= priceMax, or "a query that is not only whitespace"), plus
# edgerec_error_shape: every 4xx/5xx is JSON {"error": {"code", "message", "details"?}} without a
# stack trace. not_a_server_error is among them: any 5xx fails the run.
#
# Tools live in their own cached venv (scripts/tools-venv.sh); scripts/requirements.txt (the
# trainer's) is not touched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="${EDGEREC_CACHE:-$HOME/.cache/edgerec}"
venv="$(bash scripts/tools-venv.sh)"

mode=short
case "${1:-}" in
  --long) mode=long ;;
  --pip-audit) mode=audit ;;
  "") ;;
  *) echo "usage: $0 [--long | --pip-audit]" >&2; exit 2 ;;
esac

if [ "$mode" = audit ]; then
  # The trainer's environment, as scripts/py.sh builds it (created here if missing).
  trainer="$cache/venv-$(sha256sum scripts/requirements.txt | cut -c1-12)"
  [ -f "$trainer/.complete" ] || bash scripts/py.sh -c 'pass'
  site=("$trainer"/lib/python3*/site-packages)
  report="$(mktemp)"
  set +e
  "$venv/bin/pip-audit" --path "${site[0]}" --progress-spinner off --format json -o "$report" 2> "$report.err"
  rc=$?
  # pip-audit skips (and does not fail on) packages the vulnerability service cannot answer for;
  # say how many were really audited, so an unreachable service never reads as "no vulnerabilities".
  "$venv/bin/python" - "$report" "$rc" <<'PY'
import json, sys
deps = json.load(open(sys.argv[1])).get("dependencies", [])
audited = [d for d in deps if "skip_reason" not in d]
vulns = [(d["name"], d["version"], v["id"], ",".join(v.get("fix_versions", []))) for d in audited for v in d.get("vulns", [])]
for name, version, vid, fix in vulns:
    print(f"  {name} {version}: {vid} (fixed in {fix or 'no release yet'})")
print(f"pip-audit: {len(audited)} of {len(deps)} packages of the trainer environment audited, {len(vulns)} known vulnerabilities")
if deps and not audited:
    print("pip-audit: WARNING: no vulnerability service answered (PyPI's per-version JSON API and OSV are"
          " unreachable from here); nothing was audited")
sys.exit(1 if vulns or (int(sys.argv[2]) not in (0, 1)) else 0)
PY
  status=$?
  set -e
  [ "$status" -eq 0 ] || cat "$report.err" >&2
  rm -f "$report" "$report.err"
  exit "$status"
fi

export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false
port=""
for p in 8791 8792 8793 8794 8795 8796 8797 8798 8799; do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "schemathesis: no free port in 8791-8799" >&2; exit 1; }
work="$(mktemp -d)"
wrangler_pid=""
cleanup() {
  if [ -n "$wrangler_pid" ]; then kill -TERM -- "-$wrangler_pid" 2>/dev/null || true; wait "$wrangler_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

token="st-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
node scripts/publish.mjs push models/default --local --persist-to "$work/state" > "$work/publish.log" 2>&1 || { cat "$work/publish.log"; exit 1; }
# Its own process group, so cleanup ends wrangler and both workerd processes, and nothing else.
setsid wrangler dev -c wrangler.toml -c wrangler.onnx.toml --port "$port" --ip 127.0.0.1 --persist-to "$work/state" --show-interactive-dev-session=false \
  --var RATE_LIMIT:off --var "ADMIN_TOKEN:$token" --var MODEL_RETRY_SECONDS:15 > "$work/wrangler.log" 2>&1 &
wrangler_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -sf "$base/health" > /dev/null 2>&1 && break
  kill -0 "$wrangler_pid" 2>/dev/null || { cat "$work/wrangler.log"; exit 1; }
  sleep 0.5
done
curl -sf "$base/health" | grep -q '"loaded":true' || { echo "schemathesis: wrangler dev is not serving the model" >&2; tail -20 "$work/wrangler.log"; exit 1; }

cat > "$work/edgerec_st_hooks.py" <<'PY'
import re
import schemathesis

STACK = re.compile(r"\n\s+at .+:\d+|Traceback \(most recent call last\)")


@schemathesis.check
def edgerec_error_shape(ctx, response, case):
    """Every 4xx/5xx is JSON {"error": {"code", "message", "details"?}} without a stack trace."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except Exception:
        raise AssertionError(f"{response.status_code} is not JSON: {response.text[:200]!r}")
    err = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(err, dict) and isinstance(err.get("code"), str) and re.fullmatch(r"[a-z][a-z0-9_]*", err["code"])
            and isinstance(err.get("message"), str)):
        raise AssertionError(f"{response.status_code} is not in the error shape: {response.text[:200]!r}")
    if STACK.search(response.text):
        raise AssertionError(f"{response.status_code} carries a stack trace")
    return None
PY

# Every check (schemathesis' and edgerec_error_shape) runs, but positive_data_acceptance (see the top).
cat > "$work/schemathesis.toml" <<'TOML'
[checks]
positive_data_acceptance.enabled = false
# An oversized invalid body is refused with 413 before it is validated: a refusal too.
negative_data_rejection.expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]

TOML

if [ "$mode" = long ]; then
  args=(--max-examples 400 --phases examples,coverage,fuzzing,stateful)
else
  # A fixed seed: the bounded run in `npm test` is reproducible; --long explores new inputs each time.
  args=(--max-examples 25 --phases examples,coverage,fuzzing,stateful --seed 20261129)
fi
echo "schemathesis ($mode) against $base/openapi.json"
set +e
# Run inside the temporary folder: schemathesis keeps a cache (.schemathesis/) in its working directory.
(cd "$work" && SCHEMATHESIS_HOOKS=edgerec_st_hooks PYTHONPATH="$work" "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  -H "Authorization: Bearer $token" --request-timeout 30 --no-color --generation-database :memory: "${args[@]}" 2>&1) | tee "$work/schemathesis.log" | sed -n '/^=* \(FAILURES\|SUMMARY\) =*$/,$p'
status=${PIPESTATUS[0]}
set -e
if grep -q '\[5[0-9][0-9]\]' "$work/schemathesis.log"; then echo "schemathesis: a 5xx was answered (see above)" >&2; status=1; fi
# A closing line in the plain form test harnesses read.
cases=$(grep -oE '[0-9]+ generated' "$work/schemathesis.log" | tail -1 | cut -d' ' -f1 || true)
failed=$(grep -oE '[0-9]+ unique failures?' "$work/schemathesis.log" | tail -1 | cut -d' ' -f1 || true)
if [ "$status" -eq 0 ]; then echo "schemathesis: ${cases:-0} passed, 0 failed"; else echo "schemathesis: $(( ${cases:-0} - ${failed:-1} )) passed, ${failed:-1} failed"; fi
exit "$status"
