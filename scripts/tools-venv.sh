#!/usr/bin/env bash
# Prints the path of the project's tools environment (schemathesis, pip-audit, ruff), creating it on
# first use. It lives outside the checkout (EDGEREC_CACHE, default ~/.cache/edgerec), keyed by the pins
# below, so a changed pin builds a fresh one; the trainer's environment (scripts/py.sh) is not touched.
set -euo pipefail
TOOLS_PINS=(schemathesis==4.32.5 pip-audit==2.10.1 ruff==0.17.6)
cache="${EDGEREC_CACHE:-$HOME/.cache/edgerec}"
exec bash "$(dirname "${BASH_SOURCE[0]}")/cached-venv.sh" "$cache/tools-venv-$(printf '%s' "${TOOLS_PINS[*]}" | sha256sum | cut -c1-12)" "${TOOLS_PINS[@]}"
