"""scripts/offline_bundle.sh and scripts/offline_train.sh, run as a user runs them: a real corpus, a bundle, then a
fine-tune from that bundle grown with another environment's code, resumed, on the CPU with a tiny checkpoint."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
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
