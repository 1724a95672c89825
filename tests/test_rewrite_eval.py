"""`python -m infill_ls.rewrite_eval`: the Rewrite selection action run on held-out code selected in its file."""

from __future__ import annotations

import json

from lsp_support import heldout_split, run_module, tiny_model


def test_each_hole_is_selected_in_its_file_and_rewritten(tmp_path):
    split = heldout_split(tmp_path / "heldout.jsonl")
    out = tmp_path / "rewrite.json"
    done = run_module("infill_ls.rewrite_eval", "--model", tiny_model(), "--heldout", str(split), "--kinds", "line",
                      "statement", "--max-cases", "4", "--per-file", "2", "--threads", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "| selection | cases | edit offered |" in done.stdout and "no edit offered, by reason:" in done.stdout
    report = json.loads(out.read_text())
    cases = report["cases"]
    assert {c["kind"] for c in cases} == {"line", "statement"} and report["summary"]["all"]["cases"] == len(cases)
    texts = {json.loads(line)["path"]: json.loads(line)["text"] for line in split.read_text().splitlines()}
    for c in cases:
        assert c["selected"] and c["selected"] in texts[c["path"]]  # the hole's own text, left in its file
        assert c["offered"] == (c["reason"] == "") and 0.0 <= c["similarity"] <= 1.0
        # A rewrite never writes the selection back, and what it writes is scored.
        assert not c["offered"] or (c["written"] != c["selected"] and c["written"].strip())
    reasons = report["summary"]["all"]["reasons"]
    assert sum(reasons.values()) == sum(not c["offered"] for c in cases)
    assert all(not any(ch.isdigit() for ch in reason) for reason in reasons)


def test_a_missing_split_file_is_named_in_one_line(tmp_path):
    done = run_module("infill_ls.rewrite_eval", "--heldout", str(tmp_path / "none.jsonl"))
    assert done.returncode == 2
    assert done.stderr.startswith("rewrite_eval: ") and "none.jsonl" in done.stderr
    assert done.stderr.count("\n") == 1
