"""Held-out evaluation: hole cutting, metrics, the pass@1 harness and `infill-engine evaluate` end to end."""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from engine.eval_inputs import (
    EvaluationInputError,
    documents_from_heldout,
    documents_from_manifest,
    documents_from_split_dir,
    load_problems,
)
from engine.evaluate import (
    Fill,
    build_program,
    context_window,
    edit_similarity,
    evaluate_cases,
    evaluate_problems,
    exact_match,
    levenshtein,
    oracle_filler,
    pass_at_1,
    register,
    run_program,
    summarize,
)
from engine.holes import KINDS, SourceDocument, cut_holes, is_parse_valid, sample_cases

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
HELDOUT = FIXTURES / "heldout"
PROBLEMS = FIXTURES / "problems.jsonl"

PY = '''def área(x, y=2):
    """Doc — ünïcode."""
    z = compute(x, "é", y)
    if z > 0:
        return [z, "ü"]
    for i in range(3):
        z += i
    return z
'''


def middles(text: str, language: str) -> dict[str, list[str]]:
    return {kind: [c.middle for c in cases] for kind, cases in cut_holes(text, language).items()}


def words(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------- holes


def test_python_holes_of_every_kind_at_node_boundaries():
    found = middles(PY, "python")
    assert 'compute(x, "é", y)' in found["line"]  # right side of an assignment
    assert '(x, "é", y)' in found["line"]  # a call's arguments
    assert '[z, "ü"]' in found["line"]  # a return value
    assert "z > 0" in found["line"]  # a condition before its colon
    assert 'z = compute(x, "é", y)' in found["statement"]
    assert "z += i" in found["statement"]
    assert 'return [z, "ü"]' in found["statement"]
    body = '"""Doc — ünïcode."""\n    z = compute(x, "é", y)'
    assert any(m.startswith(body) and m.endswith("    return z") for m in found["block"])
    assert {")", "y)", ", y)", "]"} <= set(found["closing"])  # brackets and up to two tokens before them
    assert '"]' not in found["closing"]  # a closing span never starts in a string literal
    assert "return z" in found["closing"]  # the last line of a block
    # Nothing in the middle of a line or a literal is a `line` hole; no comment or string piece either.
    assert "x" not in found["line"] and '"é"' not in found["line"]


def test_cases_split_the_text_exactly_on_character_offsets():
    # Multi-byte characters before every hole: a byte offset used as a str offset would shift the cut.
    for kind, cases in cut_holes(PY, "python", "a.py").items():
        assert cases, kind
        for case in cases:
            assert case.prefix + case.middle + case.suffix == PY
            assert case.kind == kind and case.language == "python" and case.path == "a.py"
    line = next(c for c in cut_holes(PY, "python")["line"] if c.middle == '[z, "ü"]')
    assert line.prefix.endswith("        return ") and line.suffix.startswith("\n    for i")


@pytest.mark.parametrize("name,language", [("counter.js", "javascript"), ("stack.go", "go"),
                                           ("intervals.py", "python"), ("units.py", "python")])
def test_fixture_files_yield_every_kind(name, language):
    text = (HELDOUT / name).read_text(encoding="utf-8")
    found = cut_holes(text, language, name)
    for kind in KINDS:
        assert found[kind], f"{name}: no {kind} holes"
        for case in found[kind]:
            assert case.prefix + case.middle + case.suffix == text
            assert case.middle.strip()
            if kind in ("line", "statement"):
                assert "\n" not in case.middle
            if kind == "block":
                assert "\n" in case.middle


def test_brace_languages_keep_the_braces_around_a_block_hole():
    found = middles((HELDOUT / "stack.go").read_text(), "go")
    pop_body = "if len(s.items) == 0 {\n\t\treturn 0, ErrEmpty\n\t}\n\tlast := s.items[len(s.items)-1]"
    assert any(m.startswith(pop_body) and m.endswith("return last, nil") for m in found["block"])
    assert "return last, nil\n}" in found["closing"]
    js = middles("function f(a) {\n  g(a, [1, 2]);\n  return a;\n}\n", "javascript")
    assert "g(a, [1, 2]);\n  return a;" in js["block"]
    assert {"]);", "]"} & set(js["closing"]) == {"]"} and "2])" in js["closing"]


def test_comments_are_context_not_holes():
    js = middles("function f(a) {\n  // start\n  g(a);\n  return a; // done\n}\n", "javascript")
    assert "g(a);\n  return a;" in js["block"]
    assert "return a; // done\n}" in js["closing"]
    assert not any("//" in m for kind in ("line", "statement", "block") for m in js[kind])


def test_documents_are_read_with_one_newline_convention(tmp_path):
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(b"def f(x):\r\n    y = g(x)\r\n    return y\r\n")
    (doc,) = documents_from_split_dir(tmp_path)
    text = doc.read()
    assert text == "def f(x):\n    y = g(x)\n    return y\n"
    assert "g(x)" in middles(text, "python")["line"]


def test_a_file_that_does_not_parse_yields_no_holes():
    text = (HELDOUT / "broken.py").read_text()
    assert not is_parse_valid(text, "python")
    assert all(not cases for cases in cut_holes(text, "python").values())


def test_parse_valid_rejects_error_and_missing_nodes():
    assert is_parse_valid("x = f(1, 2)\n", "python")
    assert not is_parse_valid("x = f(1, 2\n", "python")  # ERROR node
    assert not is_parse_valid("f(1, 2;\n", "javascript")  # MISSING ")"
    assert not is_parse_valid("if (x) { y();\n", "javascript")  # MISSING "}"


def test_sampling_is_seeded_and_bounded():
    docs = documents_from_split_dir(HELDOUT)
    assert {Path(d.path).name for d in docs} == {"broken.py", "counter.js", "intervals.py", "stack.go", "units.py"}
    first = sample_cases(docs, max_cases=5, seed=3, per_file=2)
    assert first == sample_cases(list(reversed(docs)), max_cases=5, seed=3, per_file=2)
    assert first != sample_cases(docs, max_cases=5, seed=4, per_file=2)
    for kind in KINDS:
        chosen = [c for c in first if c.kind == kind]
        assert 0 < len(chosen) <= 5
        per_path = {c.path: sum(o.path == c.path for o in chosen) for c in chosen}
        assert max(per_path.values()) <= 2
    only = sample_cases(docs, kinds=["closing"], max_cases=3, seed=0)
    assert len(only) == 3 and {c.kind for c in only} == {"closing"}


def test_a_kinds_holes_do_not_depend_on_the_other_kinds_asked_for_and_one_place_is_tested_once():
    docs = documents_from_split_dir(HELDOUT)
    every = sample_cases(docs, max_cases=6, seed=1, per_file=3)
    for kind in KINDS:
        alone = sample_cases(docs, kinds=[kind], max_cases=6, seed=1, per_file=3)
        assert alone == [c for c in every if c.kind == kind]
    # `)`, `b)` and `(a, b)` end at one place: at most one of them is a case.
    ends = [(c.kind, c.path, len(c.prefix) + len(c.middle)) for c in every]
    assert len(ends) == len(set(ends))


# ---------------------------------------------------------------- metrics and windows


def test_exact_match_ignores_trailing_whitespace_only():
    assert exact_match("return x  \n", "return x")
    assert exact_match("a \nb\n\n", "a\nb")
    assert not exact_match(" return x", "return x")
    assert not exact_match("return y", "return x")


def test_edit_similarity():
    assert levenshtein("kitten", "sitting") == 3
    assert edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert edit_similarity("same", "same  ") == 1.0
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("", "abc") == 0.0


def test_context_window_keeps_whole_lines_within_budget():
    prefix = "".join(f"line {i} a b\n" for i in range(10)) + "    x = "
    suffix = "  # tail\n" + "".join(f"after {i} c\n" for i in range(10))
    p, s = context_window(prefix, suffix, words, prefix_tokens=10, suffix_tokens=8)
    assert p == "line 8 a b\nline 9 a b\n    x = "  # 2 + 2 * 4 words fit in 10, a third line would not
    assert s == "  # tail\nafter 0 c\nafter 1 c\n"
    assert prefix.endswith(p) and suffix.startswith(s)
    # The hole's own line stays even when it alone is over budget.
    p, s = context_window("a\nb c d e", "f g h\ni", words, prefix_tokens=1, suffix_tokens=1)
    assert (p, s) == ("b c d e", "f g h\n")


# ---------------------------------------------------------------- held-out inputs


def test_heldout_jsonl_and_manifest_from_the_corpus(tmp_path):
    names = ["intervals.py", "counter.js", "stack.go"]
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text("".join(
        json.dumps({"path": f"/pkg/{n}", "package": "pkg", "language": lang, "text": (HELDOUT / n).read_text()}) + "\n"
        for n, lang in zip(names, ["python", "javascript", "go"])))
    docs = documents_from_heldout(heldout)
    assert [(Path(d.path).name, d.language) for d in docs] == list(zip(names, ["python", "javascript", "go"]))
    assert docs[0].read() == (HELDOUT / "intervals.py").read_text()

    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(
        json.dumps({"path": str(HELDOUT / n), "split": split, "language": "python"}) + "\n"
        for n, split in [("intervals.py", "heldout"), ("units.py", "train")]))
    docs = documents_from_manifest(manifest)
    assert [Path(d.path).name for d in docs] == ["intervals.py"] and docs[0].read().startswith('"""Merging')

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"path": "a.py", "text": "x = 1\\n"}\n{"path": "b.py"}\n')
    with pytest.raises(EvaluationInputError, match=r"bad.jsonl:2: .*'text'"):
        documents_from_heldout(bad)


# ---------------------------------------------------------------- problems (pass@1)


def test_problem_fixture_passes_with_canonical_solutions_only():
    problems = load_problems(PROBLEMS)
    assert len(problems) == 4
    results = evaluate_problems(problems, oracle_filler, words, timeout=10)
    assert pass_at_1(results) == 1.0 and all(r.outcome == "passed" and r.exact_match for r in results)

    def wrong(request):
        return Fill("    pass\n", 1, 1.0)

    results = evaluate_problems(problems, wrong, words, timeout=10)
    assert pass_at_1(results) == 0.0
    assert all(r.outcome == "failed" and r.detail for r in results)
    assert any("AssertionError" in r.detail for r in results)


def test_a_test_that_runs_forever_is_stopped_at_the_time_limit():
    started = time.monotonic()
    outcome, detail = run_program("import time\nwhile True:\n    time.sleep(0.01)\n", timeout=0.5)
    assert outcome == "timeout" and "0.5 s" in detail
    assert time.monotonic() - started < 5


def test_a_program_that_passes_and_leaves_a_process_running_has_passed(tmp_path):
    # A program that passes but leaves a process running (holding its stderr) has passed, and the process is
    # taken down: waiting for the end of its stderr scored it as timed out.
    marker = tmp_path / "still-running"
    child = f"import time; time.sleep(2); open({str(marker)!r}, 'w')"
    leaves_one = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {child!r}])\n"
    assert run_program(leaves_one, timeout=20) == ("passed", "")
    time.sleep(3)
    assert not marker.exists()
    assert run_program("import sys\nsys.exit('bad answer')\n", timeout=20) == ("failed", "bad answer")


def test_a_program_gets_no_secrets_from_the_environment_and_capped_cpu(monkeypatch):
    # It inherited the whole environment (HF_TOKEN and the like), and a child it started past the wait ran on.
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    leaks = "import os, sys\nsys.exit('token=' + os.environ.get('HF_TOKEN', 'none'))\n"
    assert run_program(leaks, timeout=20) == ("failed", "token=none")
    limits = "import resource, sys\nsys.exit('cpu=%d' % resource.getrlimit(resource.RLIMIT_CPU)[1])\n"
    assert run_program(limits, timeout=2.5) == ("failed", "cpu=4")
    assert run_program("from __future__ import annotations\nx: int = 1\n", timeout=20) == ("passed", "")


def test_program_is_prefix_fill_suffix_then_test_and_check():
    problem = load_problems(PROBLEMS)[2]
    program = build_program(problem, "MIDDLE\n")
    assert program.startswith(problem.prefix + "MIDDLE\n" + problem.suffix)
    assert program.endswith("\n" + problem.test + "\ncheck(chunks)\n")


def test_bad_problem_files_are_named_in_one_line(tmp_path):
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"prefix": "", "suffix": "", "canonical_solution": "", "test": ""}\n')
    with pytest.raises(EvaluationInputError, match=r"^\S*p.jsonl:1: field 'entry_point' is missing or not a string$"):
        load_problems(bad)
    bad.write_text("{not json\n")
    with pytest.raises(EvaluationInputError, match=r"p.jsonl:1: not JSON"):
        load_problems(bad)
    with pytest.raises(EvaluationInputError, match="missing.jsonl: cannot read problems"):
        load_problems(tmp_path / "missing.jsonl")


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path):
    for name, read in (("problems.jsonl", load_problems), ("heldout.jsonl", documents_from_heldout),
                       ("manifest.jsonl", documents_from_manifest)):
        bad = tmp_path / name
        bad.write_bytes(b"\n \n\xff\xfe\n")
        with pytest.raises(EvaluationInputError, match=rf"^\S*{name}:3: not UTF-8$"):
            read(bad)


# ---------------------------------------------------------------- scoring held-out holes


def test_oracle_scores_perfectly_and_a_blank_fill_does_not():
    cases = sample_cases(documents_from_split_dir(HELDOUT), max_cases=6, seed=0)
    results, skipped = evaluate_cases(cases, oracle_filler, words)
    rows = {r.kind: r for r in summarize(results, skipped, KINDS)}
    assert rows["all"].cases == len(cases) == sum(rows[k].cases for k in KINDS)
    for row in rows.values():
        assert (row.exact_match, row.edit_similarity, row.parse_valid) == (1.0, 1.0, 1.0)

    results, _ = evaluate_cases(cases, lambda request: Fill("", 1, 1.0), words)
    rows = {r.kind: r for r in summarize(results, skipped, KINDS)}
    assert rows["all"].exact_match == 0.0 and rows["all"].edit_similarity == 0.0
    assert rows["closing"].parse_valid < 1.0  # an unclosed bracket does not parse


def test_cases_over_the_token_budget_are_counted_not_scored():
    from engine.evaluate import EvalSettings

    cases = sample_cases(documents_from_split_dir(HELDOUT), kinds=["block"], max_cases=4, seed=0)
    results, skipped = evaluate_cases(cases, oracle_filler, words, EvalSettings({"block": 1}))
    assert results == [] and skipped["block"] == len(cases) == 4
    row = summarize(results, skipped, ["block"])[0]
    assert row.cases == 0 and row.skipped_over_budget == 4 and math.isnan(row.exact_match)


def parse_cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="infill-engine")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["evaluate", *argv])


def test_cli_rejects_bad_input_in_one_line(tmp_path, capsys):
    assert parse_cli([]).func(parse_cli([])) == 2
    assert "give source files" in capsys.readouterr().err
    args = parse_cli(["--problems", str(tmp_path / "none.jsonl")])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evaluate: ") and "none.jsonl" in err and "\n" not in err


# ---------------------------------------------------------------- end to end with a tiny random model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from engine.tiny import write_random_checkpoint

    return write_random_checkpoint(tmp_path_factory.mktemp("eval") / "model", seed=0)


@pytest.fixture
def one_thread():
    # A tiny model is all small ops: a second thread only adds synchronisation on a busy machine.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    args = parse_cli(argv)
    status = args.func(args)
    return status, capsys.readouterr().out


def test_evaluate_reports_every_metric_for_a_model(tiny_model, one_thread, tmp_path, capsys):
    out = tmp_path / "report.json"
    status, printed = run_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--max-cases", "1",
                               "--max-tokens", "24", "--max-steps", "4", "--problems", str(PROBLEMS),
                               "--problem-max-tokens", "16", "--threads", "1", "--out", str(out)], capsys)
    assert status == 0
    assert "| hole kind | cases | over budget | exact match | edit similarity | parse-valid |" in printed
    assert "pass@1" in printed and "infill-engine evaluate --model" in printed
    report = json.loads(out.read_text())
    assert report["command"].startswith("infill-engine evaluate --model")
    assert "--threads 1" in report["command"] and "--max-steps 4" in report["command"]
    assert f"files, digest {report['documents_digest']}):" in printed
    rows = {row["kind"]: row for row in report["holes"]}
    assert list(rows) == [*KINDS, "all"]
    assert rows["all"]["cases"] + rows["all"]["skipped_over_budget"] == len(KINDS)
    assert rows["all"]["cases"] == len(report["cases"]) > 0
    scored = [row for row in rows.values() if row["cases"]]
    for row in scored:
        for name in ("exact_match", "edit_similarity", "parse_valid"):
            assert 0.0 <= row[name] <= 1.0
        assert row["tokens_per_forward"] > 0 and row["steps_per_canvas"] >= 1
        assert 0 < row["latency_ms_p50"] and 0 < row["latency_ms_mean"]
    for case in report["cases"]:
        assert isinstance(case["fill"], str) and case["reference"]
        assert 1 <= case["steps_per_canvas"] <= 4
    problems = report["problems"]
    assert problems["count"] == 4 and len(problems["results"]) == 4
    assert 0.0 <= problems["pass_at_1"] <= 1.0
    assert {r["outcome"] for r in problems["results"]} <= {"passed", "failed", "timeout"}


def test_an_unwritable_report_path_or_a_broken_model_is_refused_before_the_run(tiny_model, tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    common = ["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--max-cases", "1"]
    for out, reason in ((tmp_path, "is a directory"), (tmp_path / "a-file" / "r.json", "cannot create its folder")):
        args = parse_cli([*common, "--out", str(out)])
        assert args.func(args) == 2
        assert capsys.readouterr().err.strip().startswith(f"evaluate: --out {out}: {reason}")
    args = parse_cli(["--model", str(tmp_path / "none"), "--split-dir", str(HELDOUT)])
    assert args.func(args) == 2
    assert str(tmp_path / "none") in capsys.readouterr().err


def test_with_candidates_the_fill_is_the_most_confident_after_which_the_file_parses(tiny_model, one_thread):
    from engine.evaluate import FillRequest, engine_filler
    from engine.infill import InfillEngine

    engine = InfillEngine.load(tiny_model, device="cpu")
    prefix, suffix = "def f(x):\n    return g(", "\n\nprint(f(1))\n"
    found = engine.infill(prefix, suffix, max_tokens=8, num_candidates=4, max_steps=3)
    assert len(found) > 1  # a random model's seeds disagree
    asked: list[str] = []

    def only_the_last(text: str) -> bool:
        asked.append(text)
        return text == found[-1].text

    fill = engine_filler(engine, max_steps=3, candidates=4)
    chosen = fill(FillRequest(prefix, suffix, True, 8, ")", only_the_last))
    assert chosen.text == found[-1].text and asked == [c.text for c in found]
    # When none parses, the first closed so that it does (engine.closers; here the bracket alone), else the most
    # confident fill.
    assert fill(FillRequest(prefix, suffix, True, 8, ")", lambda text: text == ")")).text == ")"
    assert fill(FillRequest(prefix, suffix, True, 8, ")", lambda text: False)).text == found[0].text
    # One candidate, as the server shows while typing: the lone fill is closed too where it leaves the file unparsed;
    # the model alone (no lookup) is scored as it wrote it, with nothing parsed.
    first = engine.infill(prefix, suffix, max_tokens=8, max_steps=3)[0].text
    closes = FillRequest(prefix, suffix, True, 8, ")", lambda text: text.endswith(")") and text.count(")") == 1)
    single = engine_filler(engine, max_steps=3)(closes)
    assert first.count(")") == 0 and (single.text, single.source) == (first + ")", "model")
    asked.clear()
    alone = engine_filler(engine, max_steps=3, lookup=False)(FillRequest(prefix, suffix, True, 8, ")", only_the_last))
    assert asked == [] and alone.text == first


def test_fills_the_file_spells_out_come_first_unless_told_not_to(tiny_model, one_thread):
    from engine.evaluate import FillRequest, engine_filler
    from engine.infill import InfillEngine

    engine = InfillEngine.load(tiny_model, device="cpu")
    before, after = "x = self.compute(a, b)\nprint(x)\ny = self.compute(", ")\nprint(y)\n"
    request = FillRequest(before, after, True, 8, "a, b", None, (before, after))
    found = engine_filler(engine, max_steps=3)(request)
    assert (found.text, found.steps_per_canvas, found.source) == ("a, b", 3.0, "file")
    alone = engine_filler(engine, max_steps=3, lookup=False)(request)
    assert alone.source == "model" and alone.text == engine.infill(before, after, max_tokens=8, max_steps=3)[0].text
    rows = {r.kind: r for r in summarize([_result("line", "file"), _result("line", "model")], {}, ["line"])}
    assert rows["line"].from_file == 0.5


def test_the_files_fills_alone_are_scored_without_the_model(tiny_model, tmp_path, capsys, one_thread):
    from engine.evaluate import FillRequest, lookup_filler
    from engine.infill import InfillEngine

    engine = InfillEngine.load(tiny_model, device="cpu")
    before, after = "f(a)\nf(b)\nf(b)\nf(", ")\n"
    # "b" is found in the most places; with two candidates, the first after which the file parses.
    request = FillRequest(before, after, True, 8, "a", lambda text: text == "a", (before, after))
    found = lookup_filler(engine)(request)
    # No model pass: nothing to count, and the table says so ("–"), not 0 tokens a forward.
    assert (found.text, found.source) == ("b", "file") and math.isnan(found.tokens_per_forward)
    assert lookup_filler(engine, candidates=2)(request).text == "a"
    none = lookup_filler(engine)(FillRequest("x = ", "\n", True, 8, "1"))
    assert (none.text, none.source) == ("", "none") and math.isnan(none.steps_per_canvas)

    out = tmp_path / "lookup.json"
    status, printed = run_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--max-cases", "3",
                               "--lookup-only", "--out", str(out)], capsys)
    assert status == 0 and "--lookup-only" in printed
    report = json.loads(out.read_text())
    assert report["model"].startswith("the file's own fills")
    for case in report["cases"]:
        assert case["source"] in ("file", "none") and (case["source"] == "file") == bool(case["fill"])


def test_with_neighbors_the_other_files_of_a_holes_directory_are_searched_too(tiny_model, tmp_path, capsys,
                                                                              one_thread):
    from engine.evaluate import FillRequest, directory_neighbors, engine_filler, lookup_filler, markdown_table
    from engine.holes import HoleCase, SourceDocument
    from engine.infill import InfillEngine

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "disk.py").write_text("on disk\n")
    docs = [SourceDocument(str(tmp_path / "a" / "hole.py"), "python", "hole"),
            SourceDocument(str(tmp_path / "a" / "other.py"), "python", "other"),
            SourceDocument(str(tmp_path / "a" / "disk.py"), "python"),
            SourceDocument(str(tmp_path / "a" / "other.go"), "go", "go"),
            SourceDocument(str(tmp_path / "b.py"), "python", "elsewhere")]
    case = HoleCase("line", "python", str(tmp_path / "a" / "hole.py"), "", "", "")
    assert directory_neighbors(docs)(case) == ("other", "on disk\n")

    engine = InfillEngine.load(tiny_model, device="cpu")
    before, after = "total = add(", ")\n"
    request = FillRequest(before, after, True, 8, "x, y", None, (before, after), ("a = add(x, y)\n",))
    fill = engine_filler(engine, max_steps=3)(request)
    assert fill.text == "x, y" and fill.source == "beside"
    assert (lookup_filler(engine)(request).text, lookup_filler(engine)(request).source) == ("x, y", "beside")
    # The file's own fill, where it spells one out, is counted as the file's.
    own = FillRequest("s = add(u, v)\n" + before, after, True, 8, "u, v", None, ("s = add(u, v)\n" + before, after),
                      ("a = add(x, y)\n",))
    assert (lookup_filler(engine)(own).text, lookup_filler(engine)(own).source) == ("u, v", "file")
    rows = {r.kind: r for r in summarize([_result("line", "file"), _result("line", "beside"),
                                          _result("line", "model"), _result("line", "beside")], {}, ["line"])}
    assert (rows["line"].from_file, rows["line"].from_beside) == (0.25, 0.5)
    assert "| from files beside |" in markdown_table(list(rows.values()))
    status, printed = run_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--max-cases", "2",
                               "--kinds", "line", "--lookup-only", "--neighbors"], capsys)
    assert status == 0 and "--neighbors" in printed
    args = parse_cli(["--split-dir", str(HELDOUT), "--neighbors", "--no-lookup"])
    assert args.func(args) == 2 and "--neighbors" in capsys.readouterr().err


def _result(kind: str, source: str):
    from engine.evaluate import CaseResult

    return CaseResult(kind, "python", "f.py", False, 0.0, True, 1.0, 1.0, 1.0, "x", "y", source)


def test_oracle_run_scores_perfectly_through_the_command(tiny_model, tmp_path, capsys):
    out = tmp_path / "oracle.json"
    status, printed = run_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--max-cases", "3",
                               "--max-tokens", "100000", "--problems", str(PROBLEMS), "--oracle",
                               "--out", str(out)], capsys)
    assert status == 0
    report = json.loads(out.read_text())
    assert report["model"].startswith("oracle")
    for row in report["holes"]:
        assert row["cases"] == (12 if row["kind"] == "all" else 3)
        assert (row["exact_match"], row["edit_similarity"], row["parse_valid"]) == (1.0, 1.0, 1.0)
    assert report["problems"]["pass_at_1"] == 1.0
    assert "pass@1 100.0% (4/4" in printed


def test_infill_engine_evaluate_help_lists_the_options():
    command = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())", "evaluate", "--help"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    for option in ("--model", "--split-dir", "--files", "--heldout", "--heldout-manifest", "--kinds", "--max-cases",
                   "--seed", "--problems", "--timeout", "--out", "--oracle", "--candidates"):
        assert option in done.stdout


def test_the_digest_names_the_texts_whatever_their_paths_or_order():
    from engine.evaluate import documents_digest

    docs = [SourceDocument("/a/x.py", "python", "x = 1\n"), SourceDocument("/a/y.py", "python", "y = 2\n")]
    moved = [SourceDocument("/b/y.py", "python", "y = 2\n"), SourceDocument("/b/x.py", "python", "x = 1\n")]
    edited = [docs[0], SourceDocument("/a/y.py", "python", "y = 3\n")]
    assert documents_digest(docs) == documents_digest(moved) != documents_digest(edited)
    assert len(documents_digest(docs)) == 12


def test_hole_budgets_stay_within_one_canvas_of_the_model(tiny_model, one_thread, tmp_path, capsys):
    # The block budget (128) and the problems' (160) ran on canvases wider than any the model was trained on.
    from engine.infill import InfillEngine

    capacity = InfillEngine.load(tiny_model, device="cpu").hole_capacity
    assert capacity < 128
    out = tmp_path / "report.json"
    status, printed = run_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--max-cases", "1",
                               "--kinds", "block", "line", "--max-steps", "2", "--problems", str(PROBLEMS),
                               "--threads", "1", "--out", str(out)], capsys)
    assert status == 0
    assert f"Hole budgets cut to the {capacity} tokens one canvas of this model holds: " in printed
    report = json.loads(out.read_text())
    assert report["settings"]["max_tokens"]["block"] == capacity and report["settings"]["max_tokens"]["line"] == 24
    assert f"--problem-max-tokens {capacity}" in report["command"]
    for flag in ("--max-tokens", "--problem-max-tokens"):
        args = parse_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--problems", str(PROBLEMS), flag,
                          str(capacity + 1)])
        assert args.func(args) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"evaluate: {flag} {capacity + 1}: model fills at most {capacity} tokens in one canvas"
    args = parse_cli(["--problems", str(PROBLEMS), "--timeout", "nan"])
    assert args.func(args) == 2 and "--timeout" in capsys.readouterr().err


def test_a_copys_tokens_count_as_the_models_only_where_the_model_wrote_it_back(tiny_model, one_thread):
    from engine.infill import HolesCandidate, InfillEngine

    engine = InfillEngine.load(tiny_model, device="cpu")
    before, after = "x = self.compute(a, b)\nprint(x)\ny = self.compute(", ")\nprint(y)\n"
    copy_tokens = engine.count_tokens("a, b")
    for rows, expected in (([HolesCandidate(["a, b"], -0.1, 2, copy_tokens)], copy_tokens / 2),
                           ([HolesCandidate(["zz"], -0.1, 4, 1)], 1 / 4)):
        engine.infill_holes = lambda *args, rows=rows, **kwargs: rows
        first = engine.infill(before, after, max_tokens=8, around=(before, after))[0]
        assert (first.text, first.source, first.steps) == ("a, b", "file", rows[0].steps)
        assert first.tokens_per_forward == expected


def test_tokens_per_forward_is_all_tokens_over_all_passes_and_cases_without_a_pass_count_for_nothing():
    fast = replace(_result("line", "file"), tokens_per_forward=20.0, steps_per_canvas=1.0)
    slow = replace(_result("line", "model"), tokens_per_forward=0.5, steps_per_canvas=8.0)
    looked_up = replace(_result("line", "file"), tokens_per_forward=math.nan, steps_per_canvas=math.nan)
    (row, _) = summarize([fast, slow, looked_up], {}, ["line"])
    assert row.tokens_per_forward == (20.0 + 4.0) / 9.0  # a mean of the rates gave 10.25
    assert row.steps_per_canvas == 4.5
    (row, _) = summarize([looked_up], {}, ["line"])
    assert math.isnan(row.tokens_per_forward) and math.isnan(row.steps_per_canvas)


def _trained_on(tiny_model, tmp_path, packages: tuple[str, str], trained: set[str]):
    """A copy of the model that records training on ``trained``, and a held-out file of each of ``packages``."""
    from engine.checkpoint import TrainingData, write_training_data

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text("".join(
        json.dumps({"path": f"/{package}/{n}", "package": package, "language": "python",
                    "text": (HELDOUT / n).read_text()}) + "\n"
        for n, package in zip(("intervals.py", "units.py"), packages)))
    write_training_data(model, TrainingData(frozenset(trained)))
    return model, heldout


def test_held_out_files_of_packages_the_model_was_trained_on_are_left_out(tiny_model, tmp_path, capsys):
    from engine.checkpoint import TrainingData, write_training_data

    model, heldout = _trained_on(tiny_model, tmp_path, ("seen", "unseen"), {"seen", "elsewhere"})
    out = tmp_path / "report.json"
    status, printed = run_cli(["--model", str(model), "--heldout", str(heldout), "--kinds", "line", "--max-cases", "3",
                               "--max-steps", "2", "--out", str(out)], capsys)
    report = json.loads(out.read_text())
    assert status == 0 and "Left out 1 held-out files of 1 packages the model was trained on (seen)" in printed
    assert {Path(c["path"]).name for c in report["cases"]} == {"units.py"} and report["documents"] == 1
    # A record that misses part of the training says so: the embedded model's own history was not kept.
    write_training_data(model, TrainingData(frozenset(), unrecorded=True))
    status, printed = run_cli(["--model", str(model), "--heldout", str(heldout), "--kinds", "line", "--max-cases", "3",
                               "--max-steps", "2"], capsys)
    assert status == 0 and "Part of the model's training data is not recorded" in printed


def test_held_out_files_all_of_packages_the_model_was_trained_on_are_said_to_be_left_out(tiny_model, tmp_path,
                                                                                       capsys):
    model, heldout = _trained_on(tiny_model, tmp_path, ("seen", "also"), {"seen", "also", "elsewhere"})
    args = parse_cli(["--model", str(model), "--heldout", str(heldout), "--kinds", "line", "--max-cases", "3"])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err == ("evaluate: all 2 held-out files are of packages the model was trained on (also, seen) and were "
                   "left out, leaving nothing to evaluate; give it files of packages it was not trained on\n")


def run_evaluate(*argv, limit_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    import resource
    import signal

    def limit():
        # Writes past the limit fail (EFBIG) instead of killing the process: a disk that fills up midway.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.run([sys.executable, "-m", "engine.cli", "evaluate", *map(str, argv)], capture_output=True,
                          text=True, timeout=300, preexec_fn=limit if limit_file_bytes else None,
                          cwd=Path(__file__).resolve().parent.parent)


def test_an_out_that_is_an_input_is_refused_and_the_input_kept(tiny_model, tmp_path):
    problems = tmp_path / "problems.jsonl"
    shutil.copy(PROBLEMS, problems)
    sources = tmp_path / "src"
    shutil.copytree(HELDOUT, sources)
    source = next(p for p in sorted(sources.iterdir()) if p.suffix == ".py")
    before = {p: p.read_bytes() for p in (problems, source)}
    for argv, out, flag in ((["--problems", problems], problems, "the --problems input"),
                            (["--files", f"{sources}/*"], source, "one of the source files evaluated"),
                            (["--split-dir", sources], source, "one of the source files evaluated")):
        done = run_evaluate("--model", tiny_model, "--oracle", *argv, "--out", out)
        assert done.returncode == 2 and done.stderr.strip() == f"evaluate: --out {out}: is {flag}; it would be " \
                                                                "overwritten", done.stderr
    assert {p: p.read_bytes() for p in before} == before


def test_a_report_that_cannot_be_written_whole_keeps_what_was_there(tiny_model, tmp_path):
    out = tmp_path / "report.json"
    out.write_text("{}\n")
    common = ["--model", tiny_model, "--oracle", "--split-dir", HELDOUT, "--max-cases", "1", "--out", out]
    done = run_evaluate(*common, limit_file_bytes=1000)
    last = done.stderr.strip().splitlines()[-1]  # after the progress lines
    assert done.returncode == 2 and last == f"evaluate: --out {out}: cannot be written (File too large)", done.stderr
    assert out.read_text() == "{}\n" and [p.name for p in tmp_path.iterdir()] == ["report.json"]
    done = run_evaluate(*common)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["model"].startswith("oracle")


@pytest.mark.parametrize("argv", [["--timeout", "9"], ["--problem-max-tokens", "16"]])
def test_problem_flags_without_problems_are_refused_not_ignored(tiny_model, argv):
    done = run_evaluate("--model", tiny_model, "--oracle", "--split-dir", HELDOUT, *argv)
    assert done.returncode == 2 and done.stderr.strip() == f"evaluate: {argv[0]}: only with --problems", done.stderr


def test_problems_alone_run_and_report_the_problems_only_and_refuse_the_flags_of_holes(tiny_model, tmp_path):
    # The flags of holes were taken and ignored (--max-tokens is not a problem's budget), and the report's command
    # and a line on budgets cut spoke of holes that never ran.
    out = tmp_path / "report.json"
    done = run_evaluate("--model", tiny_model, "--problems", PROBLEMS, "--max-steps", "2", "--out", out)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["problems"]["count"] == 4 and "holes" not in report and "cases" not in report
    assert "--kinds" not in report["command"] and "--max-cases" not in report["command"], report["command"]
    assert "Hole budgets" not in done.stdout and "Problems (problems.jsonl): pass@1" in done.stdout, done.stdout
    for argv in (["--max-tokens", "8"], ["--kinds", "line", "--per-file", "1"], ["--languages", "python"],
                 ["--max-cases", "3"], ["--neighbors"]):
        done = run_evaluate("--model", tiny_model, "--oracle", "--problems", PROBLEMS, *argv)
        flags = ", ".join(a for a in argv if a.startswith("--"))
        assert done.returncode == 2 and done.stderr == (
            f"evaluate: {flags}: only with source files (--heldout, --heldout-manifest, --split-dir or --files); "
            "--problems alone runs the problems\n"), done.stderr
    done = run_evaluate("--model", tiny_model, "--oracle", "--problems", PROBLEMS, "--split-dir", HELDOUT,
                        "--kinds", "line", "--max-cases", "1")
    assert done.returncode == 0 and "Problems (problems.jsonl): pass@1 100.0%" in done.stdout, done.stderr


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_a_confidence_threshold_infill_would_refuse_is_refused(tiny_model, value):
    # It ran, and wrote NaN into the report's command.
    done = run_evaluate("--model", tiny_model, "--split-dir", HELDOUT, "--max-cases", "1", "--kinds", "line",
                        "--confidence-threshold", value)
    assert done.returncode == 2 and done.stderr.strip().endswith(
        f"--confidence-threshold {float(value)}: confidence_threshold must be a number from 0, got {float(value)}"), \
        done.stderr


def test_a_source_file_that_is_not_utf8_is_named_as_left_out(tiny_model, tmp_path):
    # It was dropped without a word; alone, the run said only that the files yield no holes.
    bad, good = tmp_path / "bad.py", tmp_path / "good.py"
    bad.write_bytes(b"def f():\n    return '\xe9t\xe9'\n")
    good.write_text("def f(x):\n    y = x + 1\n    return y\n")
    done = run_evaluate("--model", tiny_model, "--files", bad, good, "--max-cases", "1", "--kinds", "line")
    assert done.returncode == 0, done.stderr
    assert f"evaluate: left out {bad}: not UTF-8 text, unreadable or over 1,000,000 bytes" in done.stderr.splitlines()
    done = run_evaluate("--model", tiny_model, "--files", bad, "--max-cases", "1")
    assert done.returncode == 2 and done.stderr.splitlines()[0].startswith(f"evaluate: left out {bad}: not UTF-8")


def test_a_held_out_file_reads_the_same_from_disk_as_from_the_split_file(tmp_path):
    # The corpus keeps files up to its own size limit, and `--heldout-manifest` reads them from disk where
    # `--heldout` reads the split's copy: both routes must cut the same holes from the same files.
    from engine.rejection import MAX_FILE_BYTES as CORPUS_MAX_FILE_BYTES
    from engine.evaluate import documents_digest

    text = "def f(x):\n    return x + 1\n\n" * (CORPUS_MAX_FILE_BYTES // 40)  # most of the corpus's limit
    path = tmp_path / "pkg" / "big.py"
    path.parent.mkdir()
    path.write_text(text)
    on_disk, in_split = SourceDocument(str(path), "python"), SourceDocument(str(path), "python", text)
    assert on_disk.read() == in_split.read() == text
    assert documents_digest([on_disk]) == documents_digest([in_split])
    path.write_text("x = 1\n" * (CORPUS_MAX_FILE_BYTES // 6 + 1))  # over it: not one the corpus holds
    assert on_disk.read() is None


def test_the_table_counts_the_held_out_files_that_were_read(tiny_model, tmp_path, capsys):
    (tmp_path / "units.py").write_text((HELDOUT / "units.py").read_text())
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"path": name, "split": "heldout", "language": "python"}) + "\n"
                                for name in ("units.py", "gone.py")))  # gone.py was deleted since
    out = tmp_path / "report.json"
    status, printed = run_cli(["--model", str(tiny_model), "--heldout-manifest", str(manifest), "--kinds", "line",
                               "--max-cases", "2", "--max-steps", "2", "--out", str(out)], capsys)
    assert status == 0 and "Held-out holes (1 files, digest" in printed
    assert json.loads(out.read_text())["documents"] == 1


def _repository(tmp_path) -> Path:
    """A repository as `infill-engine corpus --repo` reads it: packages mixed/core and mixed/web."""
    repo = tmp_path / "mixed"
    for folder, name in (("core", "intervals.py"), ("web", "units.py")):
        (repo / folder).mkdir(parents=True)
        shutil.copy(HELDOUT / name, repo / folder / name)
    return repo


def test_files_read_by_path_of_folders_the_model_was_trained_on_are_left_out(tiny_model, tmp_path, capsys):
    # `evaluate --split-dir` over the repository a model was fine-tuned on scored every file as "Held-out holes".
    from engine.checkpoint import TrainingData, write_training_data

    repo = _repository(tmp_path)
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    write_training_data(model, TrainingData(frozenset({"mixed/core", "elsewhere"})))
    common = ["--model", str(model), "--kinds", "line", "--max-cases", "3", "--max-steps", "2"]
    out = tmp_path / "report.json"
    for source in (["--split-dir", str(repo)], ["--files", f"{repo}/*/*.py"]):
        status, printed = run_cli([*common, *source, "--out", str(out)], capsys)
        assert status == 0 and "Left out 1 files of 1 packages the model was trained on (mixed/core)." in printed
        assert {Path(c["path"]).name for c in json.loads(out.read_text())["cases"]} == {"units.py"}
        assert "Held-out holes (1 files, digest" in printed
    # Given as a folder inside the repository, the file is still named as the corpus named it.
    args = parse_cli([*common, "--split-dir", str(repo / "core")])
    assert args.func(args) == 2
    assert capsys.readouterr().err == ("evaluate: all 1 files given are of packages the model was trained on "
                                       "(mixed/core) and were left out, leaving nothing to evaluate; give it files of "
                                       "packages it was not trained on\n")
    # A model whose record is incomplete (the embedded model's), or that has none, may have seen any file.
    write_training_data(model, TrainingData(frozenset(), unrecorded=True))
    status, printed = run_cli([*common, "--split-dir", str(repo)], capsys)
    assert status == 0 and "Held-out" not in printed
    assert "Holes in files not known to be held out (part of the model's training is unrecorded; 2 files, digest " \
        in printed
    (model / "training_data.json").unlink()
    status, printed = run_cli([*common, "--split-dir", str(repo)], capsys)
    assert status == 0 and "Holes in files not known to be held out (the model has no training_data.json; 2 files" \
        in printed


def test_a_manifests_held_out_files_keep_their_package(tmp_path):
    # Read from disk, they were matched to the model's training by their path alone.
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"path": str(HELDOUT / "units.py"), "split": "heldout",
                                    "package": "mixed/web/units.py", "language": "python"}) + "\n")
    assert [d.package for d in documents_from_manifest(manifest)] == ["mixed/web/units.py"]


def test_languages_keeps_the_files_of_those_languages_only(tiny_model, tmp_path, capsys):
    # A corpus built with npm packages holds out JavaScript beside Python: each is measured on its own.
    out = tmp_path / "js.json"
    status, printed = run_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--languages", "javascript",
                               "go", "--max-cases", "3", "--oracle", "--out", str(out)], capsys)
    assert status == 0
    report = json.loads(out.read_text())
    assert report["documents"] == 2
    assert {(Path(c["path"]).name, c["language"]) for c in report["cases"]} == {("counter.js", "javascript"),
                                                                                ("stack.go", "go")}
    assert "--languages javascript go" in report["command"]
    args = parse_cli(["--model", str(tiny_model), "--split-dir", str(HELDOUT), "--languages", "rust", "--oracle"])
    assert args.func(args) == 2
    assert capsys.readouterr().err == (f"evaluate: {HELDOUT}: no document in rust (it holds go, javascript, "
                                       "python)\n")


def test_only_the_kinds_evaluated_are_said_to_have_their_budgets_cut():
    from engine.evaluate import hole_budgets

    budgets, capped = hole_budgets(None, 40, ["line", "closing"])
    assert budgets["block"] == 40 and capped == ""  # `--kinds line closing` printed "block 128 -> 40"
    assert "block 128 -> 40" in hole_budgets(None, 40, ["block"])[1]


def test_a_ctrl_c_says_how_far_the_holes_went(tiny_model):
    # Ctrl-C minutes into a run ended it with status 130 and not a word.
    command = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())", "evaluate",
               "--model", str(tiny_model), "--files", *map(str, sorted(HELDOUT.glob("*.py"))), "--max-cases", "40",
               "--per-file", "20", "--threads", "1"]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parent.parent)
    said = []
    for line in child.stderr:
        said.append(line)
        if line.startswith("evaluate: ") and " holes" in line:
            child.send_signal(signal.SIGINT)
            break
    _, rest = child.communicate(timeout=120)
    assert child.returncode == 130
    last = rest.strip().splitlines()[-1]
    assert re.fullmatch(r"evaluate: interrupted after \d+/\d+ holes; no table is printed and nothing is written",
                        last), said + [rest]
