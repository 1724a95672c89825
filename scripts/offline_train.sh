#!/usr/bin/env bash
# Fine-tunes a checkpoint (the embedded model by default) on a machine that reaches no package index, from a bundle
# made by scripts/offline_bundle.sh: the bundle's corpus, grown with this machine's own permissively licensed
# packages (`corpus --extends`, so the bundle's held-out packages, files and near copies stay unseen), for a given
# number of minutes. It ends with the candidate checkpoint staged in RESULTS/candidate exactly as it would ship
# (bfloat16, shards of at most 16 MiB), the run's log and metrics, and the time each stage took.
#
#   bash scripts/offline_train.sh BUNDLE RESULTS [MINUTES]      # MINUTES of training (default 6)
#
# Run again on the same machine, it resumes: a stage that finished is skipped, and training goes on from
# $RUN/last towards the run's planned steps for MINUTES more (set STEPS to plan more once it has reached them).
# Settings, from the environment:
#   MODEL      checkpoint to start from (default engine/default_model)
#   GROW       1: grow the corpus with this machine's packages (default); 0: the bundle's corpus alone
#   GROW_ARGS  more `infill-engine corpus` options, e.g. "--no-stdlib --site-dir DIR"
#   BATCH, LR, WARMUP, EVAL_EVERY, SEED    training settings (512, 1e-3, 200, 500, 4)
#   SECONDS_PER_STEP  sets the schedule's length from MINUTES (default 0.22: an H100 at batch 512)
#   STEPS      the schedule's length, instead of MINUTES / SECONDS_PER_STEP
#   WORKERS    processes for corpus, pretokenize and batches (default: the cores less two)
#   DEVICE     auto, cuda or cpu;  TRAIN_ARGS  more `infill-engine train` options
#   WORK, RUN  where the data and the run are written (data/offline, runs/offline)
#   DEADLINE_S the most seconds the whole command may take (default 570: a device command's 600, less a margin);
#              training stops in time to evaluate, save and stage the candidate before it
#   PYTHON     the interpreter (default .venv/bin/python when there is one, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: bash scripts/offline_train.sh BUNDLE RESULTS [MINUTES]" >&2
    exit 2
fi
bundle=$1 results=$2 minutes=${3:-6}
model=${MODEL:-engine/default_model}
work=${WORK:-data/offline} run=${RUN:-runs/offline}
cores=$(nproc)
workers=${WORKERS:-$((cores > 3 ? cores - 2 : 1))}
if [ -n "${PYTHON:-}" ]; then py=$PYTHON; elif [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
export TOKENIZERS_PARALLELISM=false

fail() { echo "offline_train: $*" >&2; exit 2; }
# Numbers that go into Python's source below: anything else is refused, not run.
number='^[0-9]+([.][0-9]+)?$'
[[ $minutes =~ $number ]] || fail "MINUTES $minutes: give a number of minutes"
[[ ${SECONDS_PER_STEP:-0.22} =~ $number ]] || fail "SECONDS_PER_STEP ${SECONDS_PER_STEP}: give a number of seconds"
[[ ${DEADLINE_S:-570} =~ ^[0-9]+$ ]] || fail "DEADLINE_S ${DEADLINE_S}: give a whole number of seconds"
[ -f "$bundle/corpus.tar.xz" ] || fail "$bundle/corpus.tar.xz: not found (make the bundle with scripts/offline_bundle.sh)"
[ -f "$model/tokenizer.json" ] || fail "$model/tokenizer.json: not found (MODEL must be a checkpoint directory)"
(cd "$bundle" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1 || fail "$bundle: a file differs from SHA256SUMS (copied in part?)"
mkdir -p "$work" "$results"
stages="$results/stages.txt"
deadline=${DEADLINE_S:-570}
reserve=60  # after training: its final evaluation and save, and staging the candidate

# The run's log and metrics, copied to RESULTS while it trains and whenever the script ends: a command killed at
# its time limit, or a training that fails, still brings back what it wrote (only RESULTS comes back).
keep_results() { cp "$run/log.txt" "$run/metrics.jsonl" "$results/" 2>/dev/null || true; }
copier=
on_exit() {
    if [ -n "$copier" ]; then kill "$copier" 2>/dev/null || true; fi
    keep_results
}
trap on_exit EXIT

# stage NAME COMMAND...: runs COMMAND once; a later run skips it. The time it took goes to stages.txt.
stage() {
    local name=$1; shift
    if [ -f "$work/$name.done" ]; then
        echo "offline_train: $name: done before" | tee -a "$stages"
        return
    fi
    local started=$SECONDS
    echo "offline_train: $name"
    echo "offline_train: $name: started at $started s" >> "$stages"  # where a killed command was
    "$@"
    touch "$work/$name.done"
    echo "offline_train: $name: $((SECONDS - started)) s" | tee -a "$stages"
}
engine() { "$py" -m engine.cli "$@"; }

install_wheels() {
    "$py" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile --target "$work/site" \
        "$bundle"/wheels/*.whl
}
unpack() {
    # Python's own xz reader: the other machine need not have xz installed.
    "$py" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="data")' \
        "$bundle/corpus.tar.xz" "$work/corpus"
}
# pretokenize CORPUS OUT: with the starting checkpoint's tokenizer, which the fine-tune must read the data with.
pretokenize() {
    engine pretokenize --corpus "$1" --tokenizer "$model/tokenizer.json" --out "$2" --workers "$workers"
}
grow() {
    # shellcheck disable=SC2086  # GROW_ARGS is a list of options
    engine corpus --extends "$work/corpus" --out "$work/more" --workers "$workers" ${GROW_ARGS:-}
    if [ -s "$work/more/train.jsonl" ]; then
        pretokenize "$work/more" "$work/more-tokens"
        engine merge-tokens "$work/tokens" "$work/more-tokens" --out "$work/all-tokens"
    else
        echo "offline_train: this machine adds no files to the corpus; training on the bundle's alone"
    fi
}

if compgen -G "$bundle/wheels/*.whl" >/dev/null; then
    stage wheels install_wheels
    export PYTHONPATH="$(cd "$work/site" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
fi
stage unpack unpack
stage pretokenize pretokenize "$work/corpus" "$work/tokens"
data=$work/tokens
if [ "${GROW:-1}" = 1 ]; then
    stage grow grow
    [ -d "$work/all-tokens" ] && data=$work/all-tokens
fi

train_started=$SECONDS
left=$((deadline - SECONDS - reserve))
[ "$left" -ge 30 ] || fail "the data took until ${SECONDS} s: under 30 s left to train before DEADLINE_S (${deadline} s)"
# MINUTES, or what is left before the deadline when that is less; a new schedule is sized to it, so that it cools.
train_minutes=$("$py" -c "print(round(min($minutes * 60, $left) / 60, 2))")
echo "offline_train: train: started at $SECONDS s, for at most $train_minutes minutes" >> "$stages"
(while sleep 15; do keep_results; done) &
copier=$!
if [ -f "$run/last/train_state.safetensors" ]; then
    echo "offline_train: resuming $run"
    # shellcheck disable=SC2086
    engine train --out "$run" --max-minutes "$train_minutes" ${STEPS:+--steps "$STEPS"} ${TRAIN_ARGS:-}
else
    steps=${STEPS:-$("$py" -c "print(max(1, round($train_minutes * 60 / ${SECONDS_PER_STEP:-0.22})))")}
    # Dense experts on CUDA: no host sync per layer (docs/training.md "On a GPU"); `auto` picks it there.
    # shellcheck disable=SC2086
    engine train --out "$run" --init-from "$model" --data "$data" --device "${DEVICE:-auto}" \
        --batch-size "${BATCH:-512}" --lr "${LR:-1e-3}" --warmup-steps "${WARMUP:-200}" --steps "$steps" \
        --eval-every "${EVAL_EVERY:-500}" --seed "${SEED:-4}" --workers "$workers" --save-every-s 60 \
        --max-minutes "$train_minutes" ${TRAIN_ARGS:-}
fi
kill "$copier" 2>/dev/null || true
copier=
echo "offline_train: train: $((SECONDS - train_started)) s" | tee -a "$stages"

keep_results
if [ -d "$run/best" ]; then
    "$py" scripts/ship_model.py "$run/best" --out "$results/candidate"
    echo "offline_train: candidate in $results/candidate (from $run/best; evaluate it before shipping)"
else
    echo "offline_train: no step beat the starting checkpoint's held-out loss, so there is no candidate" \
        | tee -a "$stages"
fi
