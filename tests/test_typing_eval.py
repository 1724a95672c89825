"""`python -m infill_ls.typing_eval`: the ghost text shown while typing, scored on held-out holes."""

from __future__ import annotations

import json
from pathlib import Path

from engine.infill_lookup import InfillLookup
from infill_ls.prose import garbled
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
    # A random model writes junk, so some suggestions are dropped; each of those breaks a file that parses, or
    # writes a name of a word neither its vocabulary nor the file knows.
    dropped = [c for c in cases if c["unchecked"]["shown"] and not c["served"]["shown"]]
    assert dropped
    holds_word = InfillLookup.read(Path(tiny_model())).tokenizer.holds_word
    texts = {doc["path"]: doc["text"] for doc in map(json.loads, split.read_text().splitlines())}
    assert all(not c["unchecked"]["parses"] or garbled("", c["unchecked"]["text"], texts[c["path"]], holds_word,
                                                       code=True) for c in dropped)
    assert any(c["unchecked"]["parses"] for c in dropped) and any(not c["unchecked"]["parses"] for c in dropped)


def test_a_missing_split_file_is_named_in_one_line(tmp_path):
    done = run_module("infill_ls.typing_eval", "--heldout", str(tmp_path / "none.jsonl"))
    assert done.returncode == 2
    assert done.stderr.startswith("typing_eval: ") and "none.jsonl" in done.stderr
    assert done.stderr.count("\n") == 1


def _scores_the_moved_holes(tmp_path, kind: str, flag: str, said: str):
    """`typing_eval --kinds kind flag` on the tiny split: some of the 6 holes drawn kept, as the line beginning with
    `said` counts them, and those scored. Returns the split."""
    split = heldout_split(tmp_path / "heldout.jsonl")
    done = run_module("infill_ls.typing_eval", "--model", tiny_model(), "--heldout", str(split), "--kinds", kind,
                      "--max-cases", "6", "--threads", "1", flag)
    assert done.returncode == 0, done.stderr
    drawn = next(line for line in done.stdout.splitlines() if line.startswith(said))
    scored = int(drawn[len(said):].split()[0])
    assert 0 < scored <= 6 and f"| {kind} | {scored} | unchecked |" in done.stdout
    return split


def test_mid_word_types_the_first_half_of_the_name_a_hole_starts_with(tmp_path):
    from engine.holes import HoleCase
    from infill_ls.typing_eval import half_typed

    case = HoleCase("line", "python", "a.py", "x = ", "total_count + 1", "\n")
    typed = half_typed(case)
    assert (typed.prefix, typed.middle, typed.suffix) == ("x = total_", "count + 1", "\n")
    assert typed.prefix + typed.middle + typed.suffix == case.prefix + case.middle + case.suffix
    assert half_typed(HoleCase("closing", "python", "a.py", "f(a", ")", "\n")) is None
    assert half_typed(HoleCase("line", "python", "a.py", "x = ", "y", "\n")) is None
    _scores_the_moved_holes(tmp_path, "line", "--mid-word", "mid-word: ")


def test_at_header_puts_the_cursor_at_the_end_of_a_block_holes_header_line(tmp_path):
    from engine.holes import HoleCase
    from infill_ls.typing_eval import at_header_end

    case = HoleCase("block", "python", "a.py", "def total(items):\n    ", "return sum(items)\n", "\n")
    moved = at_header_end(case)
    assert (moved.prefix, moved.middle) == ("def total(items):", "\n    return sum(items)\n")
    assert moved.prefix + moved.middle + moved.suffix == case.prefix + case.middle + case.suffix
    braced = at_header_end(HoleCase("block", "go", "a.go", "func f() {  \r\n\t", "return\n", "}\n"))
    assert (braced.prefix, braced.middle) == ("func f() {", "  \r\n\treturn\n")
    # A line hole, and a block below a line that is no header, are left out.
    assert at_header_end(HoleCase("line", "python", "a.py", "def f():\n    ", "pass", "\n")) is None
    assert at_header_end(HoleCase("block", "python", "a.py", "x = 1\n", "y = 2\n", "")) is None
    split = _scores_the_moved_holes(tmp_path, "block", "--at-header", "at a header's end: ")
    both = run_module("infill_ls.typing_eval", "--heldout", str(split), "--at-header", "--mid-word")
    assert both.returncode == 2 and both.stderr.count("\n") == 1, both.stderr


def test_languages_keeps_the_files_of_those_languages_only(tmp_path):
    split = heldout_split(tmp_path / "heldout.jsonl")
    out = tmp_path / "typing.json"
    done = run_module("infill_ls.typing_eval", "--model", tiny_model(), "--heldout", str(split), "--languages",
                      "javascript", "--kinds", "line", "--max-cases", "6", "--threads", "1", "--no-lookup",
                      "--out", str(out))
    assert done.returncode == 0, done.stderr
    cases = json.loads(out.read_text())["cases"]
    assert cases and {(c["path"], c["language"]) for c in cases} == {("counter.js", "javascript")}
    done = run_module("infill_ls.typing_eval", "--model", tiny_model(), "--heldout", str(split), "--languages", "go")
    assert done.returncode == 2
    assert done.stderr == f"typing_eval: {split}: no document in go (it holds javascript, python)\n"
