#!/usr/bin/env bash
# Set up, then fill the hole at the cursor of a fixture file with the embedded default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
echo '--- fixtures/demo/stats.py, hole at line 8, column 12 (after "return "):'
sed -n '1,10p' fixtures/demo/stats.py
echo "--- fill:"
infill-engine infill --file fixtures/demo/stats.py --line 8 --col 12 --max-tokens 24 --candidates 3
echo "--- the language server's own check:"
infill-ls --check
