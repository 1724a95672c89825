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
# WORK and RUN record what they were made from (the bundle, MODEL, GROW and GROW_ARGS, and for RUN LAYERS, in
# inputs.txt): a run from other inputs is refused rather than resumed on the first ones; new WORK and RUN folders
# start afresh.
# The candidate is staged again whenever $RUN/best changes, while training too: a command ended early still
# brings back the best checkpoint so far. RESULTS must hold at most 8 files to come back whole; it is checked.
# Settings, from the environment:
#   MODEL      checkpoint to start from (default engine/default_model)
#   LAYERS     grow MODEL to this many layers first (`infill-engine grow`: the grown model computes what MODEL
#              does, and its new layers learn from there); unset, MODEL's own. Recorded for RUN alone: the data
#              in WORK serve either
#   GROW       1: grow the corpus with this machine's packages (default); 0: the bundle's corpus alone
#   GROW_ARGS  more `infill-engine corpus` options, e.g. "--no-stdlib --site-dir DIR"
#   BATCH, LR, WARMUP, EVAL_EVERY, SEED    training settings (512, 1e-3, 200, 500, 4)
#   SECONDS_PER_STEP  sets the schedule's length from MINUTES (default 0.22: an H100 at batch 512). Unset, with
#              STEPS unset too, that is only the first plan: a new run re-plans it from its own step times as it
#              trains (`train --fit-steps`), as a machine's speed is not known ahead of time and drifts
#   STEPS      the schedule's length, instead of MINUTES / SECONDS_PER_STEP
#   WORKERS    processes for corpus, pretokenize and batches (default: the cores less two)
#   DEVICE     auto, cuda or cpu;  TRAIN_ARGS  more `infill-engine train` options
#   WORK, RUN  where the data and the run are written (data/offline, runs/offline)
#   DEADLINE_S the most seconds the whole command may take: the machine's time limit for this command, less
#              about 30 s (default 570, for 600); training stops in time to evaluate, save and stage the candidate
#              before it. Set it from the limit the command really gets, which can be less than the one asked for.
#   PYTHON     the interpreter (default .venv/bin/python when there is one, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: bash scripts/offline_train.sh BUNDLE RESULTS [MINUTES]" >&2
    exit 2
fi
bundle=$1 results=${2%/} minutes=${3:-6}
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
[[ ${LAYERS:-1} =~ ^[1-9][0-9]*$ ]] || fail "LAYERS ${LAYERS}: give a whole number of layers"
[ -f "$bundle/corpus.tar.xz" ] || fail "$bundle/corpus.tar.xz: not found (make the bundle with scripts/offline_bundle.sh)"
[ -f "$model/tokenizer.json" ] || fail "$model/tokenizer.json: not found (MODEL must be a checkpoint directory)"
(cd "$bundle" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1 || fail "$bundle: a file differs from SHA256SUMS (copied in part?)"
afresh="to start afresh, set a new WORK and RUN, or remove $work and $run"

# What WORK and RUN are made from. Stages are skipped and runs resumed by name alone, so inputs.txt there must
# name these inputs: other ones are refused, not silently replaced by the first.
inputs() {
    local grow=${GROW:-1}
    echo "bundle $(sha256sum < "$bundle/SHA256SUMS" | cut -c1-64)"
    echo "MODEL $(cd "$model" && sha256sum config.json tokenizer.json model*.safetensors* 2>/dev/null | sha256sum \
        | cut -c1-64)"
    echo "GROW $grow"
    echo "GROW_ARGS $([ "$grow" != 1 ] || echo "${GROW_ARGS:-}")"
}
# check_inputs DIR MADE WANTED: DIR's inputs.txt, written on its first use as WANTED; MADE is a path there that an
# earlier command made (before inputs were recorded, a folder with it has unknown inputs).
check_inputs() {
    local dir=$1 made=$2 wanted=$3 differs=() line
    if [ ! -f "$dir/inputs.txt" ]; then
        if compgen -G "$made" >/dev/null; then fail "$dir was made before its inputs were recorded; $afresh"; fi
        mkdir -p "$dir"
        echo "$wanted" > "$dir/inputs.txt"
        return
    fi
    while IFS= read -r line; do
        # Another GROW is the reason its GROW_ARGS differ.
        if [ "${line%% *}" = GROW_ARGS ] && [ "${differs[*]: -1}" = GROW ]; then continue; fi
        grep -qxF -- "$line" "$dir/inputs.txt" || differs+=("${line%% *}")
    done <<< "$wanted"
    if [ ${#differs[@]} -gt 0 ]; then
        fail "$dir was made from another $(IFS=,; echo "${differs[*]}" | sed 's/,/, /g') ($dir/inputs.txt); $afresh"
    fi
}
check_inputs "$work" "$work/*.done" "$(inputs)"
check_inputs "$run" "$run/last" "$(inputs; echo "LAYERS ${LAYERS:-}")"
mkdir -p "$results"
stages="$results/stages.txt"
deadline=${DEADLINE_S:-570}
reserve=60  # after training: its final evaluation and save, and staging the candidate

# The run's log and metrics, copied to RESULTS while it trains and whenever the script ends: a command killed at
# its time limit, or a training that fails, still brings back what it wrote (only RESULTS comes back). What training
# said on stderr follows its log there: a run refused before its first step writes no log.
train_errors=$work/train_errors.txt
keep_results() {
    cp "$run/metrics.jsonl" "$results/" 2>/dev/null || true
    if [ -f "$run/log.txt" ] || [ -s "$train_errors" ]; then
        cat "$run/log.txt" "$train_errors" 2>/dev/null > "$results/log.txt.part" || true
        mv -f "$results/log.txt.part" "$results/log.txt"
    fi
}

# A machine that brings back at most 8 files from RESULTS leaves the rest behind: said in stages.txt as a
# candidate is staged, and the command fails at its end.
# results_files [CANDIDATE]: the files in RESULTS, with CANDIDATE's in place of its candidate/'s.
results_files() {
    { find "$results" -type f ! -path "$results/candidate/*"; find "${1:-$results/candidate}" -type f 2>/dev/null \
        || true; } | wc -l
}
warn_results() {
    local n message
    n=$(results_files "$@")
    message="offline_train: RESULTS holds $n files; a machine that brings back 8 leaves some behind"
    [ "$n" -le 8 ] || grep -qxF "$message" "$stages" 2>/dev/null || echo "$message" | tee -a "$stages" >&2
}

# The candidate, staged from $RUN/best whenever that changes, while training too: a command its machine ends early
# still brings back the best weights so far. Shipped beside RESULTS, then moved in whole: a kill mid-copy leaves
# the previous candidate or this one, never part of one, and no stray file in RESULTS.
next="$(dirname "$results")/.$(basename "$results").candidate"
staged="$work/candidate.staged"  # which best/ (inode and time) RESULTS/candidate was staged from
rm -f "$staged"
stage_candidate() {
    local stamp
    stamp=$(stat -c '%i %y' "$run/best" 2>/dev/null) || return 0
    [ "$stamp" != "$(cat "$staged" 2>/dev/null)" ] || return 0
    rm -rf "$next.new" "$next.old"
    "$py" scripts/ship_model.py "$run/best" --out "$next.new" >/dev/null || return
    # best/ was replaced while it was read: the next call stages the new one.
    [ "$stamp" = "$(stat -c '%i %y' "$run/best" 2>/dev/null)" ] || return 0
    warn_results "$next.new"  # said first: a command ended once the candidate is there brings the warning back
    if [ -d "$results/candidate" ]; then mv "$results/candidate" "$next.old" || return; fi
    mv "$next.new" "$results/candidate" || return
    rm -rf "$next.old"
    echo "$stamp" > "$staged"
    echo "offline_train: candidate staged from $run/best at $SECONDS s" >> "$stages"
}
# Every 15 s while training; stopped with TERM, it ends a copy it began first.
copy_while_training() {
    local stopping=0
    trap 'stopping=1' TERM
    while [ "$stopping" = 0 ]; do
        sleep 15 &
        wait $! || true
        kill $! 2>/dev/null || true
        [ "$stopping" = 0 ] || break
        keep_results
        stage_candidate || true
    done
}
copier= training=
stop_copier() {
    if [ -n "$copier" ]; then
        kill "$copier" 2>/dev/null || true
        wait "$copier" 2>/dev/null || true
        copier=
    fi
}
on_exit() {
    stop_copier
    keep_results
    # A training that failed may have written best/ since the last copy.
    if [ -n "$training" ]; then stage_candidate || true; fi
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
start=$model
if [ -n "${LAYERS:-}" ]; then
    start=$work/deepened-$LAYERS
    # `grow` writes its folder whole or not at all: one there is done, though the command ended before its stage was.
    deepen() { [ -d "$start" ] || engine grow --from "$model" --layers "$LAYERS" --out "$start"; }
    stage "deepen-$LAYERS" deepen
fi

train_started=$SECONDS
left=$((deadline - SECONDS - reserve))
[ "$left" -ge 30 ] || fail "the data took until ${SECONDS} s: under 30 s left to train before DEADLINE_S (${deadline} s)"
# MINUTES, or what is left before the deadline when that is less; a new schedule is sized to it, so that it cools.
train_minutes=$("$py" -c "print(round(min($minutes * 60, $left) / 60, 2))")
echo "offline_train: train: started at $SECONDS s, for at most $train_minutes minutes" >> "$stages"
warn_results
training=1
copy_while_training &
copier=$!
if [ -f "$run/last/train_state.safetensors" ]; then
    echo "offline_train: resuming $run"
    # On this WORK's data: the same inputs (inputs.txt), wherever WORK is now.
    # shellcheck disable=SC2086
    engine train --out "$run" --data "$data" --max-minutes "$train_minutes" ${STEPS:+--steps "$STEPS"} \
        ${TRAIN_ARGS:-} 2> >(tee "$train_errors" >&2)
else
    steps=${STEPS:-$("$py" -c "print(max(1, round($train_minutes * 60 / ${SECONDS_PER_STEP:-0.22})))")}
    # A length or pace the user gave is kept as given.
    fit=
    [ -n "${STEPS:-}${SECONDS_PER_STEP:-}" ] || fit=--fit-steps
    # Dense experts on CUDA: no host sync per layer (docs/training.md "On a GPU"); `auto` picks it there.
    # shellcheck disable=SC2086
    engine train --out "$run" --init-from "$start" --data "$data" --device "${DEVICE:-auto}" \
        --batch-size "${BATCH:-512}" --lr "${LR:-1e-3}" --warmup-steps "${WARMUP:-200}" --steps "$steps" \
        --eval-every "${EVAL_EVERY:-500}" --seed "${SEED:-4}" --workers "$workers" --save-every-s 60 \
        --max-minutes "$train_minutes" $fit ${TRAIN_ARGS:-} 2> >(tee "$train_errors" >&2)
fi
stop_copier
echo "offline_train: train: $((SECONDS - train_started)) s" | tee -a "$stages"

keep_results
if [ -d "$run/best" ]; then
    stage_candidate
    echo "offline_train: candidate in $results/candidate (from $run/best; evaluate it before shipping)"
else
    echo "offline_train: no step beat the starting checkpoint's held-out loss, so there is no candidate" \
        | tee -a "$stages"
fi
n=$(results_files)
[ "$n" -le 8 ] || fail "$results holds $n files: a machine that brings back 8 leaves some behind (keep others elsewhere)"
