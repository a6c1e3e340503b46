#!/usr/bin/env bash
# Rebuilds models/default: the synthetic beauty shop (deterministic, seed 7) -> the trainer -> the
# artifact, plus test/fixtures/reference.json (the Python served-path top 10 for fixed histories),
# which the Worker's parity test compares against.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bash scripts/py.sh -m edgerec.synth --seed 7 --out "$work/shop"
rm -rf models/default.new
bash scripts/py.sh -m edgerec.cli train --events "$work/shop/events.csv" --items "$work/shop/items.csv" \
  --out models/default.new --seed 7 --config scripts/default-model.yaml "$@"
rm -rf models/default && mv models/default.new models/default
rm -rf models/default/report/*.pt
bash scripts/py.sh -m edgerec.default_reference --artifact models/default --out test/fixtures/reference.json
du -sh models/default
