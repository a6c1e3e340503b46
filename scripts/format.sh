#!/usr/bin/env bash
# One formatter per language: Prettier for TypeScript and JavaScript (.prettierrc.json), ruff format
# for Python (ruff.toml, from the tools environment of scripts/tools-venv.sh).
#
#   scripts/format.sh          rewrite the files in place (`npm run format`)
#   scripts/format.sh --check  change nothing; fail naming each file that is not formatted (`npm test`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case "${1:-}" in
  --check) prettier_mode=--check; ruff_mode=(--check) ;;
  "") prettier_mode=--write; ruff_mode=() ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
export PATH="$PWD/node_modules/.bin:$PATH"
venv="$(bash scripts/tools-venv.sh)"
status=0
prettier "$prettier_mode" --log-level warn '**/*.{ts,mts,mjs,js}' || status=1
"$venv/bin/ruff" format "${ruff_mode[@]}" scripts test || status=1
[ "$status" -eq 0 ] && echo "format: every TypeScript, JavaScript and Python file is formatted"
exit "$status"
