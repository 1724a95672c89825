"""`python -m infill_ls.typing_eval`: the ghost text shown while typing, scored on held-out holes."""

from __future__ import annotations

import json

from lsp_support import heldout_split, run_module, tiny_model


def test_line_holes_are_cut_out_and_completed_as_while_typing(tmp_path):
    # The model's suggestions alone, so the first suggestion is the one the check keeps or drops.
    split = heldout_split(tmp_path / "heldout.jsonl")
    out = tmp_path / "typing.json"
    done = run_module("infill_ls.typing_eval", "--model", tiny_model(), "--heldout", str(split),
                      "--kinds", "line", "closing", "--max-cases", "6", "--threads", "1", "--no-lookup",
                      "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "| line | 6 | unchecked |" in done.stdout and "| all | 12 | served |" in done.stdout
    report = json.loads(out.read_text())
    cases = report["cases"]
    assert len(cases) == 12 and report["summary"]["served"]["cases"] == 12
    for c in cases:
        model, served = c["unchecked"], c["served"]
        # The check takes a suggestion away, or closes it (or puts the brackets alone in its place) so that the
        # file parses; a suggestion restores the file only if shown.
        if served["text"] not in ("", model["text"]):
            assert served["parses"] and served["text"].rstrip(")]}") in ("", model["text"].rstrip(")]}"))
        for shown in (model, served):
            assert shown["restored"] <= shown["shown"] and shown["restored"] <= shown["parses"]
            assert 0.0 <= shown["similarity"] <= 1.0 and (shown["shown"] or shown["similarity"] == 0.0)
        assert c["latency_ms"] >= c["check_ms"] >= 0
    # A random model writes junk, so some suggestions are dropped; each of those breaks a file that parses.
    dropped = [c for c in cases if c["unchecked"]["shown"] and not c["served"]["shown"]]
    assert dropped
    assert all(not c["unchecked"]["parses"] for c in dropped)


def test_a_missing_split_file_is_named_in_one_line(tmp_path):
    done = run_module("infill_ls.typing_eval", "--heldout", str(tmp_path / "none.jsonl"))
    assert done.returncode == 2
    assert done.stderr.startswith("typing_eval: ") and "none.jsonl" in done.stderr
    assert done.stderr.count("\n") == 1
