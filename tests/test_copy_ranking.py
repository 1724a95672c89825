"""Fitting the weights that rank the fills a file spells out: engine.copy_ranking, in-process and as its command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.copy_ranking import Scored, fit, shown_exact
from engine.lookup import RANKING_WEIGHTS, LookupFill


def _hole(exact_at: int, distances: list[int]) -> list[Scored]:
    """Fills alike but for how near each was found; the one at `exact_at` restores the hole."""
    return [Scored(LookupFill(f"fill{i}", 16, 1, distance=d), i == exact_at, True) for i, d in enumerate(distances)]


def test_the_fit_learns_what_marks_the_exact_fill_and_ranks_by_it():
    # The exact fill is always the nearest, though gathered last.
    holes = [_hole(2, [9000, 400 + i, 3 + i % 5]) for i in range(30)]
    weights = fit(holes)
    assert list(weights) == list(RANKING_WEIGHTS)
    assert weights["distance"] < 0
    assert shown_exact(holes, None) == 0  # the first gathered parses, and is shown
    assert shown_exact(holes, weights) == 30


def test_a_hole_with_no_exact_fill_teaches_nothing():
    with pytest.raises(ValueError, match="nothing to fit"):
        fit([_hole(-1, [3, 4])])


def _split(path, texts: dict[str, str]) -> None:
    with open(path, "w") as out:
        for name, text in texts.items():
            out.write(json.dumps({"path": f"/src/pkg/{name}", "package": "pkg", "language": "python", "text": text}))
            out.write("\n")


def _module(n: int) -> str:
    calls = "".join(f"    total_{k} = combine(left_{n}, right_{n})\n" for k in range(4))
    return (f"import os\n\n\ndef step_{n}(left_{n}, right_{n}):\n{calls}    return total_0\n\n\n"
            f"def other_{n}(value):\n    result = combine(value, value)\n    return result\n")


def test_the_command_prints_weights_to_paste_and_the_counts_they_give(tmp_path):
    split = tmp_path / "train.jsonl"
    _split(split, {f"m{n}.py": _module(n) for n in range(6)})
    result = subprocess.run([sys.executable, "-m", "engine.copy_ranking", "--split", str(split), "--heldout",
                             str(split), "--max-cases", "20", "--seeds", "0", "--kinds", "line"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("RANKING_WEIGHTS = {\n")
    assert all(f'    "{name}": ' in out for name in RANKING_WEIGHTS)
    counts = [line for line in out.splitlines() if line.startswith(("training holes:", f"{split}, python:"))]
    assert len(counts) == 2 and all(" holes: " in line for line in counts)


def test_the_command_names_a_split_it_cannot_read(tmp_path):
    missing = tmp_path / "nowhere.jsonl"
    result = subprocess.run([sys.executable, "-m", "engine.copy_ranking", "--split", str(missing)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"{missing}: cannot read training documents" in result.stderr
