#!/usr/bin/env bash
# Runs Python inside the trainer's environment, creating it on first use.
# The environment lives outside the checkout (EDGEREC_CACHE, default ~/.cache/edgerec) and is keyed by
# the hash of scripts/requirements.txt, so a changed pin builds a fresh one and CI reuses the cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${EDGEREC_CACHE:-$HOME/.cache/edgerec}"
key="$(sha256sum "$here/requirements.txt" | cut -c1-12)"
venv="$cache/venv-$key"
bash "$here/cached-venv.sh" "$venv" -r "$here/requirements.txt" > /dev/null
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "$venv/bin/python" "$@"
