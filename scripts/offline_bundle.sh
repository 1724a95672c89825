#!/usr/bin/env bash
# Packs what a fine-tune needs on a machine that reaches no package index into one folder: the corpus (texts,
# manifest, near-duplicate signatures) compressed, and wheels of tree-sitter and its grammars for that machine's
# Python. Copy the folder there beside a checkout and run scripts/offline_train.sh.
#
#   bash scripts/offline_bundle.sh [--corpus data/corpus] [--out data/bundle] [--python 3.12]
#                                  [--platform manylinux_2_17_x86_64] [--no-wheels]
#
# The grammar versions are the ones installed here, so both machines cut the same holes. --no-wheels leaves them
# out (the other machine has them already).
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=data/corpus out=data/bundle python_version=3.12 platform=manylinux_2_17_x86_64 wheels=1
while [ $# -gt 0 ]; do
    case "$1" in
        --corpus) corpus=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --python) python_version=$2; shift 2 ;;
        --platform) platform=$2; shift 2 ;;
        --no-wheels) wheels=0; shift ;;
        *) echo "offline_bundle: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -x .venv/bin/python ] && . .venv/bin/activate

files=(train.jsonl heldout.jsonl manifest.jsonl signatures.npy)
for f in "${files[@]}"; do
    if [ ! -f "$corpus/$f" ]; then
        echo "offline_bundle: $corpus/$f: not found (build the corpus first: infill-engine corpus --out $corpus)" >&2
        exit 2
    fi
done
extras=()
for f in heldout_packages.txt packages.json; do [ -f "$corpus/$f" ] && extras+=("$f"); done

rm -rf "$out"
mkdir -p "$out"
echo "offline_bundle: compressing $corpus"
XZ_OPT="-6 -T0" tar -C "$corpus" -cJf "$out/corpus.tar.xz" "${files[@]}" "${extras[@]}"

if [ "$wheels" = 1 ]; then
    # Exactly the versions installed here; --no-deps: tree-sitter and its grammars need nothing else.
    mapfile -t pins < <(python -m pip list --format=freeze --disable-pip-version-check | grep -iE '^tree[-_]sitter')
    [ ${#pins[@]} -gt 0 ] || { echo "offline_bundle: tree-sitter is not installed here" >&2; exit 2; }
    echo "offline_bundle: wheels for Python $python_version on $platform: ${pins[*]}"
    abi=${python_version//./}
    python -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$out/wheels" \
        --python-version "$python_version" --implementation cp --abi "cp$abi" --abi abi3 --abi none \
        --platform "$platform" --platform manylinux2014_x86_64 --platform any "${pins[@]}"
fi

(cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
du -sh "$out"
echo "offline_bundle: wrote $out; on the other machine: bash scripts/offline_train.sh $out RESULTS_DIR"
