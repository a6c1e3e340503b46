#!/usr/bin/env bash
# The retraining job: train on a given log, compare with the active model through the quality gate,
# and publish the result as a candidate. The Worker's cron (every 15 min) warms, validates and
# promotes the candidate if the gate agrees; `--promote` runs the same gate here at once.
#
#   scripts/retrain.sh --events EVENTS [--items ITEMS] [--local|--remote] [--promote] [-- TRAIN ARGS...]
#
# Examples:
#   scripts/retrain.sh --events logs/events.parquet --items logs/items.parquet --local --promote
#   scripts/retrain.sh --events logs/events.parquet --remote -- --device cuda      (the scheduled GPU job)
#
# The gate compares the int8 offline metrics in the two manifests (GATE_MARGIN, default 2%). When the
# log changes between runs, those metrics come from different test splits: the gate then guards
# against a broken or much worse model, not a small regression.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
events="" items="" target="--local" promote=0 train_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --items) items="$2"; shift 2 ;;
    --local|--remote) target="$1"; shift ;;
    --promote) promote=1; shift ;;
    --) shift; train_args=("$@"); break ;;
    *) echo "retrain: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$events" ] || { echo "usage: scripts/retrain.sh --events EVENTS [--items ITEMS] [--local|--remote] [--promote] [-- TRAIN ARGS]" >&2; exit 2; }
bash scripts/setup-node.sh
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false
out="runs/retrain-$(date -u +%Y%m%dT%H%M%SZ)"
bash scripts/py.sh -m edgerec.cli train --events "$events" ${items:+--items "$items"} --out "$out" "${train_args[@]}"
node scripts/publish.mjs push "$out" --candidate "$target"
node scripts/publish.mjs list "$target"
if [ "$promote" = 1 ]; then
  node scripts/publish.mjs promote "$target"
fi
