#!/usr/bin/env bash
# Packs what a fine-tune needs on a machine that reaches no package index into one folder: the corpus (texts,
# manifest, near-duplicate signatures) compressed, and wheels of tree-sitter and its grammars for that machine's
# Python. Copy the folder there beside a checkout and run scripts/offline_train.sh.
#
#   bash scripts/offline_bundle.sh [--corpus data/corpus] [--out data/bundle] [--python 3.12]
#                                  [--platform manylinux_2_17_x86_64] [--no-wheels]
#
# The grammar versions are the ones installed here, so both machines cut the same holes. --no-wheels leaves them
# out (the other machine has them already). --out is a new or empty folder, or a bundle made before: then only the
# files this script writes (corpus.tar.xz, wheels/*.whl, SHA256SUMS) are replaced.
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

fail() { echo "offline_bundle: $*" >&2; exit 2; }
# The folder is written into and its old bundle deleted: one that holds the corpus, the checkout or HOME is refused.
# holds WHAT PATH: refuses an --out that is PATH or a folder above it.
holds() {
    local above; above=$(realpath -m "$out")
    case "$(realpath -m "$2")/" in
        "${above%/}/"*) fail "--out $out holds $1 $2: give a folder of its own, such as data/bundle" ;;
    esac
}
holds "the corpus" "$corpus"
holds "the repository" "$PWD"
[ -z "${HOME:-}" ] || holds HOME "$HOME"
[ ! -e "$out" ] || [ -d "$out" ] || fail "--out $out: not a folder"
# A bundle this script wrote: its SHA256SUMS lists the corpus and wheels alone (empty while one is being written).
is_bundle() {
    [ -f "$out/SHA256SUMS" ] && ! grep -qvE '^[0-9a-f]{64}  \./(corpus\.tar\.xz|wheels/[^/]+\.whl)$' "$out/SHA256SUMS"
}
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && ! is_bundle; then
    fail "--out $out: a folder that is not empty and holds no bundle (no SHA256SUMS this script wrote);" \
        "give an empty or new folder"
fi
mkdir -p "$out"
rm -f "$out/corpus.tar.xz" "$out"/wheels/*.whl
[ ! -d "$out/wheels" ] || rmdir --ignore-fail-on-non-empty "$out/wheels"
: > "$out/SHA256SUMS"  # a bundle being written: one cut off is still one to write again
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

# Only what this script wrote: the other machine installs every wheel there, and anything else stays unchecked.
(cd "$out" && shopt -s nullglob && sha256sum ./corpus.tar.xz ./wheels/*.whl > SHA256SUMS)
du -sh "$out"
echo "offline_bundle: wrote $out; on the other machine: bash scripts/offline_train.sh $out RESULTS_DIR"
