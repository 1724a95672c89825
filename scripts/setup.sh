#!/usr/bin/env bash
# Creates .venv and installs infill-ls with its test dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
# The CPU build first: a plain `torch` requirement would otherwise pull a CUDA build of several GB.
python -m pip install -q --disable-pip-version-check torch==2.13.0
python -m pip install -q --disable-pip-version-check -e ".[test]"
