#!/usr/bin/env bash
# Creates .venv and installs infill-ls with its test dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
# torch first, at the version the package is tested with: the CPU build where the index holds it (PyPI's Linux
# torch is the CUDA build: see the README for its CPU index).
python -m pip install -q --disable-pip-version-check torch==2.13.0
python -m pip install -q --disable-pip-version-check -e ".[test]"
