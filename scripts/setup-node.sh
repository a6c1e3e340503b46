#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than package-lock.json.
# onnxruntime-node's install script would download CUDA binaries from outside: skip it (its CPU
# binding ships in the package).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export ONNXRUNTIME_NODE_INSTALL=skip npm_config_onnxruntime_node_install=skip
stamp=node_modules/.edgerec-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "edgerec: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi
