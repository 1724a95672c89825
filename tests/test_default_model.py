"""The model that ships with the package: it loads with no arguments and fills a hole in a fixture file."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from engine.infill import DEFAULT_MODEL_DIR, InfillEngine

ROOT = Path(__file__).resolve().parent.parent
LIMIT_FILE, LIMIT_TOTAL = 16 * 1024 * 1024, 64 * 1024 * 1024


def test_the_shipped_files_fit_the_package_limits():
    files = {p.name: p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"config.json", "generation_config.json", "tokenizer.json", "MODEL_CARD.md"} <= set(files)
    assert any(name.endswith(".safetensors") for name in files)
    assert max(files.values()) <= LIMIT_FILE and sum(files.values()) <= LIMIT_TOTAL
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert config["architectures"] == ["DiffusionGemmaForBlockDiffusion"]


def test_the_default_model_loads_and_fills_a_hole():
    engine = InfillEngine.load(None, device="cpu")
    assert engine.model_dir == DEFAULT_MODEL_DIR
    text = (ROOT / "fixtures/demo/stats.py").read_text()
    cut = text.index("    return \n") + len("    return ")
    found = engine.infill(text[:cut], text[cut:], max_tokens=16, num_candidates=2)
    assert found and all(isinstance(c.text, str) for c in found)
    assert found[0].steps <= engine.generation.max_denoising_steps
    assert "<pad>" not in found[0].text


def test_the_demo_command_runs_on_the_default_model():
    result = subprocess.run([sys.executable, "-m", "engine.cli", "infill", "--file", "fixtures/demo/stats.py",
                             "--line", "8", "--col", "12", "--max-tokens", "16"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_request_stops_once_its_most_confident_rows_have():
    from engine.infill import row_confidence

    engine = InfillEngine.load(None, device="cpu")
    text = (ROOT / "fixtures/demo/stats.py").read_text()
    cuts = [i + len("return ") for i in range(len(text)) if text.startswith("return ", i)]
    cuts += [i + 1 for i in range(len(text)) if text.startswith("(", i)]
    ended_early = 0
    for cut in cuts:
        steps = list(engine.infill_steps([text[:cut], text[cut:]], max_tokens=16, num_candidates=2))
        for n, item in enumerate(steps, 1):
            finished = item.step.finished
            leaders = row_confidence(item.step, item.canvas).topk(2).indices
            done = bool(finished.all()) or bool(finished[leaders].all())
            last = n == len(steps)
            assert done == last or (last and n == engine.generation.max_denoising_steps), f"cut {cut}, step {n}"
        ended_early += not bool(steps[-1].step.finished.all())
    assert ended_early, "no request ended before its last row"


def test_a_fill_from_the_file_that_the_model_writes_back_ends_the_request_after_one_pass():
    engine = InfillEngine.load(None, device="cpu")
    text = ("def mean(values):\n    total = sum(values)\n    return total / len(values)\n\n\n"
            "def scaled_mean(values, k):\n    total = sum(values)\n    return k * total / len(values)\n")
    cut = text.rindex("total = ") + len("total = ")
    prefix, suffix = text[:cut], text[text.index("\n", cut):]
    ask = dict(max_tokens=16, around=(prefix, suffix))
    # With no test of the caller's, the copy comes first and the model's own fill, from a full run, after it.
    plain = engine.infill(prefix, suffix, **ask)
    assert (plain[0].text, plain[0].source) == ("sum(values)", "file") and plain[0].steps > 1
    assert [c.source for c in plain[1:]] == ["model"] * (len(plain) - 1) and len(plain) > 1
    # A copy the caller accepts is also a draft; the model writes it back surely after one pass, and that ends it.
    checked = engine.infill(prefix, suffix, accepts=lambda fill: True, **ask)
    assert [(c.text, c.source, c.steps) for c in checked] == [("sum(values)", "file", 1)]
    assert engine.infill(prefix, suffix, accepts=lambda fill: False, **ask) == plain


def test_a_weaker_copy_that_passes_the_callers_test_comes_before_a_stronger_one_that_does_not():
    engine = InfillEngine.load(None, device="cpu")
    text = "def f(a, b):\n    g(a)\n    g(a)\n    g(a, b)\n    pass\n    g()\n"  # no copy of the line above
    at = text.rindex("g(") + len("g(")
    prefix, suffix = text[:at], text[at:]
    assert [c.text for c in engine.copies(prefix, suffix, limit=3)] == ["a", "a, b"]
    tested = []

    def two_arguments(fill: str) -> bool:
        tested.append(fill)
        return "," in fill

    found = engine.infill(prefix, suffix, max_tokens=16, around=(prefix, suffix), accepts=two_arguments)
    assert found[0].text == "a, b" and [c.text for c in found if c.source == "file"] == ["a, b"]
    assert sorted(tested) == ["a", "a, b"]
    # With no test, the strongest copy comes first, as before.
    plain = engine.infill(prefix, suffix, max_tokens=16, around=(prefix, suffix))
    assert (plain[0].text, plain[0].source) == ("a", "file")
    # Once as many copies have passed as will be listed, the weaker ones are not tested (each test is a parse).
    for wanted, expected in ((1, ["a"]), (2, ["a", "a, b"])):
        tested.clear()
        found = engine.infill(prefix, suffix, max_tokens=16, around=(prefix, suffix), num_candidates=wanted,
                              accepts=lambda fill: tested.append(fill) is None)
        assert tested == expected and [c.text for c in found if c.source == "file"] == expected


def test_a_draft_the_model_does_not_write_back_is_only_one_more_row():
    engine = InfillEngine.load(None, device="cpu")
    text = (ROOT / "fixtures/demo/stats.py").read_text()
    cut = text.index("return ") + len("return ")
    segments = [text[:cut], text[text.index("\n", cut):]]
    junk = "))) lambda :"
    steps = list(engine.infill_steps(segments, max_tokens=16, drafts=[[junk]]))
    assert steps[0].canvas.drafted.tolist() == [False, False, True]
    assert len(steps) > 1
    assert engine.rank(steps[-1])[0].fills != [junk]
    # The line's own text, drafted, is written back and ends the request after one pass.
    line = text[cut:text.index("\n", cut)]
    steps = list(engine.infill_steps(segments, max_tokens=16, drafts=[[line]]))
    assert len(steps) == 1 and engine.rank(steps[-1])[0].fills == [line]


def test_ship_model_stages_a_candidate_elsewhere_as_it_would_ship(tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "notes.txt").write_text("kept")
    (staged / "model-00009-of-00009.safetensors").write_bytes(b"stale shard")
    shipped = {p.name: p.stat().st_mtime_ns for p in DEFAULT_MODEL_DIR.iterdir()}
    result = subprocess.run([sys.executable, "scripts/ship_model.py", str(DEFAULT_MODEL_DIR), "--out", str(staged),
                             "--temperatures", "0.5", "0.2", "--steps", "12", "--new-lines"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in DEFAULT_MODEL_DIR.iterdir()} == shipped
    assert (staged / "notes.txt").read_text() == "kept"
    assert not (staged / "model-00009-of-00009.safetensors").exists()
    generation = json.loads((staged / "generation_config.json").read_text())
    assert generation["max_denoising_steps"] == 12
    # The embedded model's guesses of a blank line are not shown while typing; this candidate's are.
    assert generation["infill_new_lines"] is True
    assert json.loads((DEFAULT_MODEL_DIR / "generation_config.json").read_text())["infill_new_lines"] is False
    candidate, default = InfillEngine.load(staged, device="cpu"), InfillEngine.load(None, device="cpu")
    assert (candidate.generation.t_max, candidate.generation.t_min) == (0.5, 0.2)
    for (name, a), b in zip(candidate.model.state_dict().items(), default.model.state_dict().values()):
        assert a.equal(b), name


def test_ship_model_in_place_keeps_the_tokenizer_and_says_what_is_missing(tmp_path):
    # Shipped onto itself (new sampler settings for the same weights), it deleted its own tokenizer.json before
    # copying it, and the checkpoint could no longer be served.
    staged = tmp_path / "staged"
    ship = [sys.executable, "scripts/ship_model.py"]
    assert subprocess.run([*ship, str(DEFAULT_MODEL_DIR), "--out", str(staged)], cwd=ROOT).returncode == 0
    result = subprocess.run([*ship, str(staged), "--out", str(staged), "--steps", "10"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (staged / "tokenizer.json").read_bytes() == (DEFAULT_MODEL_DIR / "tokenizer.json").read_bytes()
    assert InfillEngine.load(staged, device="cpu").generation.max_denoising_steps == 10
    # The record of what it was trained on goes along (in place too), for `evaluate` to leave those packages out.
    from engine.checkpoint import TrainingData, read_training_data, write_training_data

    write_training_data(staged, TrainingData(frozenset({"a-package"})))
    again = tmp_path / "again"
    assert subprocess.run([*ship, str(staged), "--out", str(again)], cwd=ROOT).returncode == 0
    assert subprocess.run([*ship, str(staged), "--out", str(staged)], cwd=ROOT).returncode == 0
    assert read_training_data(again) == read_training_data(staged) == TrainingData(frozenset({"a-package"}))
    result = subprocess.run([*ship, str(tmp_path / "nowhere")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "nowhere" in result.stderr


def test_loading_builds_the_network_without_drawing_weights_it_replaces():
    # A random init on the meta device imports torch's compiler stack (torch._dynamo), which took longer than
    # reading the weights: the server's first suggestion waited for it.
    probe = ("import sys; from engine.infill import InfillEngine; InfillEngine.load(None, device='cpu'); "
             "print('torch._dynamo' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# The docs, against the tool they describe: every command they give runs as written.
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), DEFAULT_MODEL_DIR / "MODEL_CARD.md"]
# Folders the documented steps write (the corpus, runs, a fine-tune's results): a command may name them unmade.
MADE_BY_THE_STEPS = ("data/", "runs/", "results/")


def shell_lines(text: str) -> list[tuple[str, str]]:
    """(command, comment) for each line of the Markdown text's shell blocks, continued lines joined and variables
    set in the block (`H="..."`) put in."""
    lines = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, re.S):
        values: dict[str, str] = {}
        for line in block.replace("\\\n", " ").splitlines():
            command, _, comment = line.partition("#")
            if assigned := re.fullmatch(r'(\w+)="(.*)"', command.strip()):
                values[assigned[1]] = assigned[2]
                continue
            for name, value in values.items():
                command = command.replace("$" + name, value)
            lines.append((" ".join(command.split()), comment.strip()))
    return lines


def commands(text: str, program: str = "infill-engine") -> list[str]:
    """The `program` command lines of a Markdown text: its shell blocks' and its inline code's."""
    inline = re.findall(rf"`({program} [^`]*)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return [c for c, _ in shell_lines(text) if c.startswith(program + " ")] + [" ".join(c.split()) for c in inline]


def parsed(command: str) -> argparse.Namespace:
    from engine.cli import build_parser

    try:
        return build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit:
        raise AssertionError(f"`{command}` does not parse") from None


def test_the_engine_api_examples_run_as_written(tmp_path: Path):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "engine-api.md").read_text(), re.S)
    assert blocks
    for n, block in enumerate(blocks, 1):
        result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
        assert result.returncode == 0, f"docs/engine-api.md, python block {n}:\n{result.stderr}"


def test_the_evaluate_commands_in_the_docs_parse_and_name_files_there():
    for doc in DOCS:
        for command in commands(doc.read_text()):
            if command.startswith("infill-engine evaluate "):
                parsed(command)
                paths = [w for w in shlex.split(command) if "/" in w or w.endswith((".json", ".jsonl"))]
                missing = [p for p in paths if not p.startswith(MADE_BY_THE_STEPS) and not (ROOT / p).exists()]
                assert not missing, f"{doc.name}: `{command}` names {missing}"


def test_the_canonical_evaluation_is_written_out_where_it_is_named():
    # The card's figures are the canonical command's; the evaluation guide refers to it by that name.
    found = {}
    for doc in (ROOT / "docs" / "evaluation.md", DEFAULT_MODEL_DIR / "MODEL_CARD.md"):
        marked = [c for c, comment in shell_lines(doc.read_text()) if comment.startswith("canonical")]
        assert len(marked) == 1, f"{doc.name}: {len(marked)} commands marked canonical"
        found[doc.name] = vars(parsed(marked[0]))
    assert found["evaluation.md"] == found["MODEL_CARD.md"]


def test_the_cards_training_commands_are_the_training_guides():
    # Both give the embedded model's first GPU run: they are one run, with one set of flags.
    def first_run(doc: Path) -> list[list[str]]:
        runs = [c for c in commands(doc.read_text()) if c.startswith("infill-engine train --out runs/gpu ")]
        return sorted(sorted(map(repr, vars(parsed(c)).items())) for c in runs)

    assert first_run(ROOT / "docs" / "training.md") == first_run(DEFAULT_MODEL_DIR / "MODEL_CARD.md") != []


def test_the_user_docs_describe_the_tool_as_it_is():
    # How the tool came to be so is docs/model-history.md's.
    history = ("used to", "before this default", "not adopted", "no longer", "until the change", "old → new",
               ", before and after", "from now on")
    for doc in (ROOT / "docs" / "training.md", ROOT / "docs" / "evaluation.md", DEFAULT_MODEL_DIR / "MODEL_CARD.md"):
        text = " ".join(doc.read_text().lower().split())
        assert not [phrase for phrase in history if phrase in text], doc.name


def test_the_readme_names_every_option_of_the_server_and_its_bench():
    readme = (ROOT / "README.md").read_text()
    for module in ("infill_ls", "infill_ls.bench"):
        usage = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True)
        options = set(re.findall(r"(--[a-z][\w-]*)", usage.stdout)) - {"--help"}
        assert options and not [o for o in options if not re.search(rf"{o}(?![\w-])", readme)], module
