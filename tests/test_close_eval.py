"""`python -m infill_ls.close_eval`: the Close structure action scored on held-out closing spans."""

from __future__ import annotations

import json

from lsp_support import heldout_split, run_module, tiny_model


def test_closing_spans_are_cut_out_and_closed_again(tmp_path):
    split = heldout_split(tmp_path / "heldout.jsonl")
    out = tmp_path / "close.json"
    done = run_module("infill_ls.close_eval", "--model", tiny_model(), "--heldout", str(split),
                      "--max-cases", "8", "--per-file", "3", "--threads", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "action on offer" in done.stdout and "original restored" in done.stdout
    report = json.loads(out.read_text())
    summary, cases = report["summary"], report["cases"]
    assert summary["cases"] == len(cases) == 8
    offered = [c for c in cases if c["offered"]]
    assert summary["offered"] == len(offered) > 0
    # A random model is never more confident than a mechanical closer, and a closer at the cursor puts a lone
    # bracket back where it was.
    lone = [c for c in offered if c["reference"] in (")", "]", "}")]
    assert lone and all(c["restored"] and c["parses"] for c in lone), lone
    for c in cases:
        assert c["restored"] <= c["parses"]  # the original parsed, so a restored file does
        assert c["latency_ms"] >= 0 and isinstance(c["inserted"], str)


def test_a_missing_split_file_is_named_in_one_line(tmp_path):
    done = run_module("infill_ls.close_eval", "--heldout", str(tmp_path / "none.jsonl"))
    assert done.returncode == 2
    assert done.stderr.startswith("close_eval: ") and "none.jsonl" in done.stderr
    assert done.stderr.count("\n") == 1
