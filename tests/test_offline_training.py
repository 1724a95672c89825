"""scripts/offline_bundle.sh and scripts/offline_train.sh, run as a user runs them: a real corpus, a bundle, then a
fine-tune from that bundle grown with another environment's code, resumed, on the CPU with a tiny checkpoint."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors import safe_open

import engine.canvas
import engine.corpus
import engine.dataset
import engine.generate
import engine.holes
import engine.infill
import engine.lookup
import engine.sampler
import engine.train
from engine.checkpoint import load_checkpoint
from engine.tiny import write_random_checkpoint
from lsp_support import run_module

ROOT = Path(__file__).resolve().parent.parent
MODULES = [engine.canvas, engine.corpus, engine.dataset, engine.generate, engine.holes, engine.infill,
           engine.lookup, engine.sampler]


def _script(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts" / name), *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable, **(env or {})}, timeout=600)


def _manifest(corpus: Path) -> list[dict]:
    return [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, Path]:
    """A corpus of eight packages (two held out) and the bundle made from it."""
    root = tmp_path_factory.mktemp("offline")
    repo = root / "repo"
    for module in MODULES:
        name = module.__name__.split(".")[-1]
        (repo / name).mkdir(parents=True)
        (repo / name / f"{name}.py").write_text(inspect.getsource(module))
    built = run_module("engine.cli", "corpus", "--repo", str(repo), "--out", str(root / "corpus"), "--workers", "1",
                       "--heldout-fraction", "0.25")
    assert built.returncode == 0, built.stderr
    assert {r["split"] for r in _manifest(root / "corpus")} == {"train", "heldout"}
    made = _script("offline_bundle.sh", "--no-wheels", "--corpus", str(root / "corpus"), "--out", str(root / "bundle"))
    assert made.returncode == 0, made.stderr
    return root, root / "bundle"


def test_a_bundle_grown_with_new_code_fine_tunes_a_checkpoint_and_stages_a_candidate(bundle):
    root, bundle_dir = bundle
    assert sorted(p.name for p in bundle_dir.iterdir()) == ["SHA256SUMS", "corpus.tar.xz"]
    base = _manifest(root / "corpus")
    held = next(r for r in base if r["split"] == "heldout")
    # This machine's code: a new package, plus a copy of a held-out file that must stay unseen.
    other = root / "other"
    (other / "fresh").mkdir(parents=True)
    (other / "fresh" / "train.py").write_text(inspect.getsource(engine.train))
    (other / "fresh" / "copied.py").write_text(Path(held["path"]).read_text())
    model = write_random_checkpoint(root / "model", vocab_size=512)
    work, run, results = root / "work", root / "run", root / "results"
    env = {"MODEL": str(model), "GROW_ARGS": f"--repo {other}", "WORK": str(work), "RUN": str(run), "BATCH": "4",
           "STEPS": "3", "WARMUP": "1", "LR": "3e-3", "EVAL_EVERY": "3", "WORKERS": "1", "DEVICE": "cpu",
           "TRAIN_ARGS": "--threads 1 --eval-batches 1"}

    done = _script("offline_train.sh", str(bundle_dir), str(results), "1", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    stages = (results / "stages.txt").read_text()
    for name in ("unpack", "pretokenize", "grow", "train"):
        assert f"offline_train: {name}: " in stages and f"{name}: done before" not in stages
        assert f"offline_train: {name}: started at " in stages  # where a command killed at its limit was
    # Grown: the new file in train, the copy of held-out code left out, the held-out split the bundle's own.
    meta = json.loads((work / "all-tokens" / "meta.json").read_text())
    base_train = sum(r["split"] == "train" for r in base)
    assert meta["splits"]["train"]["documents"] == base_train + 1
    assert meta["splits"]["heldout"]["documents"] == sum(r["split"] == "heldout" for r in base)
    dropped = [json.loads(line) for line in (work / "more" / "dropped.jsonl").read_text().splitlines()]
    assert [Path(d["path"]).name for d in dropped] == ["copied.py"]
    log = (results / "log.txt").read_text()
    assert "eval step=0 heldout_loss=" in log and "eval step=3 heldout_loss=" in log
    # A random start is beaten at once, so the candidate is staged as it would ship.
    candidate = load_checkpoint(results / "candidate", device="cpu")
    assert candidate.config.vocab_size == 512 and candidate.generation.max_denoising_steps == 16
    with safe_open(str(results / "candidate" / "model.safetensors"), "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"BF16"}
    assert (results / "candidate" / "tokenizer.json").read_bytes() == (model / "tokenizer.json").read_bytes()

    # Again on the same machine: the data stages are skipped and training resumes where it stopped.
    again = _script("offline_train.sh", str(bundle_dir), str(results), "1", env={**env, "STEPS": "4"})
    assert again.returncode == 0, again.stdout + again.stderr
    for name in ("unpack", "pretokenize", "grow"):
        assert f"{name}: done before" in (results / "stages.txt").read_text()
    assert "resumed" in (results / "log.txt").read_text()
    assert json.loads((run / "last" / "progress.json").read_text())["step"] == 4

    # Other inputs on the same machine are refused, not ignored: the data and run were made from the first ones.
    corpus2 = root / "corpus2"
    shutil.copytree(root / "corpus", corpus2)
    with open(corpus2 / "heldout_packages.txt", "a") as fh:
        fh.write("\n")
    bundle2 = root / "bundle2"
    assert _script("offline_bundle.sh", "--no-wheels", "--corpus", str(corpus2), "--out", str(bundle2)).returncode == 0
    model2 = write_random_checkpoint(root / "model2", seed=1, vocab_size=512)  # the same but for its weights
    afresh = f"to start afresh, set a new WORK and RUN, or remove {work} and {run}"
    for args, changed, differs in [((bundle2,), {}, "bundle"), ((bundle_dir,), {"MODEL": str(model2)}, "MODEL"),
                                   ((bundle_dir,), {"GROW": "0"}, "GROW"),
                                   ((bundle2,), {"MODEL": str(model2)}, "bundle, MODEL")]:
        other = _script("offline_train.sh", str(args[0]), str(results), "1", env={**env, **changed})
        assert other.returncode == 2 and other.stderr.strip() == (
            f"offline_train: {work} was made from another {differs} ({work}/inputs.txt); {afresh}"), other.stderr
    # A new WORK beside the old RUN: the run would resume on its first model.
    new_work = root / "work2"
    other = _script("offline_train.sh", str(bundle_dir), str(results), "1",
                    env={**env, "WORK": str(new_work), "MODEL": str(model2)})
    assert other.returncode == 2 and other.stderr.strip() == (
        f"offline_train: {run} was made from another MODEL ({run}/inputs.txt); "
        f"to start afresh, set a new WORK and RUN, or remove {new_work} and {run}"), other.stderr
    assert json.loads((run / "last" / "progress.json").read_text())["step"] == 4


def test_a_training_that_fails_or_has_no_time_left_still_brings_back_what_it_wrote(bundle, tmp_path):
    # Only RESULTS comes back from the machine: a failed training left its log (and its error) behind, and so did
    # a command killed at its time limit, which training did not know of.
    _, bundle_dir = bundle
    model = write_random_checkpoint(tmp_path / "model", vocab_size=512)
    env = {"MODEL": str(model), "GROW": "0", "WORK": str(tmp_path / "work"), "RUN": str(tmp_path / "run"),
           "BATCH": "4", "STEPS": "2", "WORKERS": "1", "DEVICE": "cpu",
           "TRAIN_ARGS": "--threads 1 --eval-batches 1 --model hidden_size=96"}
    failed = _script("offline_train.sh", str(bundle_dir), str(tmp_path / "results"), "1", env=env)
    assert failed.returncode == 2
    log = (tmp_path / "results" / "log.txt").read_text()
    assert "--init-from keeps the checkpoint's shape" in log, log
    late = _script("offline_train.sh", str(bundle_dir), str(tmp_path / "late"), "1",
                   env={**env, "TRAIN_ARGS": "--threads 1", "DEADLINE_S": "60"})
    assert late.returncode == 2 and "under 30 s left to train before DEADLINE_S (60 s)" in late.stderr


def test_layers_grows_the_checkpoint_before_training_and_a_run_keeps_its_depth(bundle, tmp_path):
    _, bundle_dir = bundle
    model = write_random_checkpoint(tmp_path / "model", vocab_size=512)  # 2 layers
    work, run, results = tmp_path / "work", tmp_path / "run", tmp_path / "results"
    env = {"MODEL": str(model), "GROW": "0", "WORK": str(work), "RUN": str(run), "BATCH": "4", "STEPS": "2",
           "WARMUP": "1", "LR": "3e-3", "EVAL_EVERY": "2", "WORKERS": "1", "DEVICE": "cpu", "LAYERS": "3",
           "TRAIN_ARGS": "--threads 1 --eval-batches 1"}
    done = _script("offline_train.sh", str(bundle_dir), str(results), "1", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "offline_train: deepen-3: " in (results / "stages.txt").read_text()
    assert load_checkpoint(work / "deepened-3", device="cpu").config.num_hidden_layers == 3
    assert load_checkpoint(results / "candidate", device="cpu").config.num_hidden_layers == 3
    afresh = f"to start afresh, set a new WORK and RUN, or remove {work} and {run}"
    # The data serve any depth; the run resumes at its own only.
    again = _script("offline_train.sh", str(bundle_dir), str(results), "1", env={**env, "LAYERS": "4"})
    assert again.returncode == 2 and again.stderr.strip() == (
        f"offline_train: {run} was made from another LAYERS ({run}/inputs.txt); {afresh}"), again.stderr
    bad = _script("offline_train.sh", str(bundle_dir), str(results), "1", env={**env, "LAYERS": "six"})
    assert bad.returncode == 2 and bad.stderr.strip() == "offline_train: LAYERS six: give a whole number of layers"


def test_a_damaged_bundle_or_a_missing_corpus_is_one_line_naming_it(bundle, tmp_path):
    root, bundle_dir = bundle
    damaged = tmp_path / "damaged"
    shutil.copytree(bundle_dir, damaged)
    with open(damaged / "corpus.tar.xz", "r+b") as fh:
        fh.truncate(100)
    out = _script("offline_train.sh", str(damaged), str(tmp_path / "results"), env={"WORK": str(tmp_path / "w")})
    assert out.returncode == 2 and out.stderr.strip() == (
        f"offline_train: {damaged}: a file differs from SHA256SUMS (copied in part?)")
    missing = _script("offline_bundle.sh", "--no-wheels", "--corpus", str(tmp_path / "nothing"),
                      "--out", str(tmp_path / "b"))
    assert missing.returncode == 2 and missing.stderr.strip() == (
        f"offline_bundle: {tmp_path / 'nothing'}/train.jsonl: not found "
        f"(build the corpus first: infill-engine corpus --out {tmp_path / 'nothing'})")
    usage = _script("offline_train.sh")
    assert usage.returncode == 2 and usage.stderr.startswith("usage:")
    # MINUTES goes into Python source: code there was run.
    marker = tmp_path / "ran"
    injected = _script("offline_train.sh", str(bundle_dir), str(tmp_path / "r"),
                       f'__import__("pathlib").Path("{marker}").touch() or 1', env={"WORK": str(tmp_path / "w")})
    assert injected.returncode == 2 and "give a number of minutes" in injected.stderr and not marker.exists()


def test_a_command_killed_while_training_brings_back_its_best_checkpoint_so_far(bundle, tmp_path):
    # A machine may end the command sooner than DEADLINE_S: the best checkpoint is staged while training goes on,
    # whole, so a kill at any moment leaves a candidate that loads.
    _, bundle_dir = bundle
    model = write_random_checkpoint(tmp_path / "model", vocab_size=512)
    results = tmp_path / "results"
    results.mkdir()
    (results / "notes.txt").write_text("a ninth file")
    env = {"MODEL": str(model), "GROW": "0", "WORK": str(tmp_path / "work"), "RUN": str(tmp_path / "run"),
           "BATCH": "4", "STEPS": "100000", "WARMUP": "1", "LR": "3e-3", "EVAL_EVERY": "2", "WORKERS": "1",
           "DEVICE": "cpu", "TRAIN_ARGS": "--threads 1 --eval-batches 1", "DEADLINE_S": "3600",
           "PYTHON": sys.executable}
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "offline_train.sh"), str(bundle_dir), str(results), "30"],
                            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        # The candidate comes within a copy's 15 s of the first best/, long before the 30 minutes planned end.
        for _ in range(960):
            if (results / "candidate" / "model.safetensors").exists() or proc.poll() is not None:
                break
            time.sleep(0.25)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # as a machine's time limit ends the command, mid-copy or not
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    stages = (results / "stages.txt").read_text()
    assert "offline_train: train: started at" in stages and "offline_train: train: " not in stages.replace(
        "offline_train: train: started at", ""), stages  # staged while training went on
    candidate = load_checkpoint(results / "candidate", device="cpu")
    assert candidate.config.vocab_size == 512
    assert sorted(str(p.relative_to(results)) for p in results.rglob("*") if p.is_file()) == [
        "candidate/config.json", "candidate/generation_config.json", "candidate/model.safetensors",
        "candidate/tokenizer.json", "candidate/training_data.json", "log.txt", "metrics.jsonl", "notes.txt",
        "stages.txt"]
    assert "RESULTS holds 9 files" in stages


def test_a_bundle_is_written_only_to_a_folder_of_its_own(bundle, tmp_path):
    root, _ = bundle
    data = tmp_path / "data"
    shutil.copytree(root / "corpus", data / "corpus")
    held = _script("offline_bundle.sh", "--no-wheels", "--corpus", str(data / "corpus"), "--out", str(data))
    assert held.returncode == 2 and held.stderr.strip() == (
        f"offline_bundle: --out {data} holds the corpus {data / 'corpus'}: give a folder of its own, such as "
        f"data/bundle"), held.stderr
    assert sorted(p.name for p in data.iterdir()) == ["corpus"] and (data / "corpus" / "train.jsonl").is_file()
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    held = _script("offline_bundle.sh", "--no-wheels", "--corpus", str(root / "corpus"), "--out", str(home),
                   env={"HOME": str(home)})
    assert held.returncode == 2 and f"--out {home} holds HOME {home}" in held.stderr and (home / "notes").is_dir()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    refused = _script("offline_bundle.sh", "--no-wheels", "--corpus", str(root / "corpus"), "--out", str(mine))
    assert refused.returncode == 2 and refused.stderr.strip() == (
        f"offline_bundle: --out {mine}: a folder that is not empty and holds no bundle (no SHA256SUMS this script "
        f"wrote); give an empty or new folder"), refused.stderr
    assert (mine / "notes.txt").read_text() == "mine"
    # A bundle made before is made again in place: its own files replaced, anything else left.
    again = tmp_path / "again"
    assert _script("offline_bundle.sh", "--no-wheels", "--corpus", str(root / "corpus"), "--out",
                   str(again)).returncode == 0
    (again / "wheels").mkdir()
    (again / "wheels" / "old-0-py3-none-any.whl").write_text("an older wheel")
    (again / "README.txt").write_text("how to copy it")
    remade = _script("offline_bundle.sh", "--no-wheels", "--corpus", str(root / "corpus"), "--out", str(again))
    assert remade.returncode == 0, remade.stderr
    assert sorted(p.name for p in again.iterdir()) == ["README.txt", "SHA256SUMS", "corpus.tar.xz"]
    assert [line.split()[1] for line in (again / "SHA256SUMS").read_text().splitlines()] == ["./corpus.tar.xz"]
