#!/usr/bin/env bash
# Set up, then run every test (the engine against the reference implementation, the language server over stdio,
# headless Neovim when it is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
python -m pytest -q "$@"
