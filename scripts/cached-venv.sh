#!/usr/bin/env bash
# cached-venv.sh VENV PIP_INSTALL_ARGS...: creates the Python environment VENV with
# `pip install PIP_INSTALL_ARGS` unless it is already complete, and prints its path. Callers keep
# VENV outside the checkout (EDGEREC_CACHE) and name it by a hash of what they install, so a changed
# pin builds a fresh one and CI reuses it (scripts/py.sh: the trainer; scripts/tools-venv.sh: tools).
set -euo pipefail
venv="$1"
shift
if [ ! -f "$venv/.complete" ]; then
  echo "edgerec: creating the Python environment in $venv (first run only)" >&2
  mkdir -p "$(dirname "$venv")"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q "$@" >&2
  touch "$venv/.complete"
fi
echo "$venv"
