"""`infill-engine infill`, `generate` and `bench` as a user runs them: what they read, what they write where."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys

import pytest

from engine.cli import check_not_an_input, split_at_cursor
from engine.config import DEFAULT_MODEL_DIR
from engine.infill import InfillEngine
from engine.tiny import tiny_config, write_random_checkpoint

RECORDS = [{"id": n, "prefix": f"value_{n} = ", "suffix": "\n"} for n in range(6)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("cli") / "model", seed=3, weight_std=0.5)


def run_cli(*args, limit_file_bytes: int | None = None):
    def limit():
        # Writes past the limit fail (EFBIG) instead of killing the process: a disk that fills up midway.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True, text=True,
                          preexec_fn=limit if limit_file_bytes else None)


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# -- --out --------------------------------------------------------------------------------------------------------
def test_an_out_of_a_dash_is_stdout(model_dir, tmp_path, monkeypatch):
    # As `--prompt-file -` is stdin: it wrote a file named `-`.
    monkeypatch.chdir(tmp_path)
    holes = write_jsonl(tmp_path / "holes.jsonl", RECORDS[:2])
    result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", "-", "--max-tokens", "4")
    assert result.returncode == 0 and result.stderr.endswith("wrote 2 fills to stdout\n"), result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [0, 1]
    assert not (tmp_path / "-").exists()


def test_an_out_that_is_the_jsonl_input_is_refused_and_the_input_kept(model_dir, tmp_path):
    holes = write_jsonl(tmp_path / "holes.jsonl", RECORDS)
    before = holes.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(holes)
    for out in (holes, tmp_path / "link.jsonl"):
        result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", out, "--max-tokens", "4")
        assert result.returncode == 2 and result.stderr.strip() == (
            f"infill: --out {out}: is the --jsonl input; it would be overwritten"), result.stderr
        assert holes.read_bytes() == before


def test_an_out_that_is_a_file_of_the_checkpoint_or_the_corpus_is_refused_and_the_file_kept(model_dir, tmp_path):
    # Each was written with exit 0, and the checkpoint (or the corpus) failed at its next load.
    model = shutil.copytree(model_dir, tmp_path / "model")
    holes = write_jsonl(tmp_path / "holes.jsonl", RECORDS)
    source = tmp_path / "a.py"
    source.write_text("def f(x):\n    return x + 1\n\n\ndef g(y):\n    return f(y) * 2\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split in ("train", "heldout"):
        write_jsonl(corpus / f"{split}.jsonl", [{"path": "a.py", "language": "python", "text": source.read_text()}])
    runs = [
        (model / "model.safetensors", ["logits", "--model", model, "--prompt-ids", "2,10", "--canvas-ids", "5,6"]),
        (model / "tokenizer.json", ["infill", "--model", model, "--jsonl", holes, "--max-tokens", "4"]),
        (model / "config.json", ["evaluate", "--model", model, "--files", source, "--max-cases", "1"]),
        (corpus / "train.jsonl", ["tokenizer", "--corpus", corpus, "--vocab-size", "300"]),
    ]
    for out, argv in runs:
        before = out.read_bytes()
        result = run_cli(*argv, "--out", out)
        what = "the corpus" if out.parent == corpus else "the checkpoint"
        assert result.returncode == 2 and result.stderr.strip().endswith(
            f"--out {out}: is a file of {what} {out.parent}; it would be overwritten"), (argv, result.stderr)
        assert out.read_bytes() == before


def test_an_out_that_cannot_be_written_whole_keeps_what_was_there(model_dir, tmp_path):
    holes = write_jsonl(tmp_path / "holes.jsonl", RECORDS)
    out = tmp_path / "filled.jsonl"
    out.write_text("the last run's fills\n")
    result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", out, "--max-tokens", "4",
                     limit_file_bytes=200)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"infill: --out {out}: cannot be written (File too large)"), result.stderr
    assert out.read_text() == "the last run's fills\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["filled.jsonl", "holes.jsonl"]
    # Written whole, it replaces the old file, whose permissions it keeps.
    out.chmod(0o640)
    result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", out, "--max-tokens", "4")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == list(range(6))
    assert out.stat().st_mode & 0o777 == 0o640


def test_a_read_only_out_is_refused_before_the_run(model_dir, tmp_path):
    holes = write_jsonl(tmp_path / "holes.jsonl", RECORDS)
    out = tmp_path / "kept.jsonl"
    out.write_text("keep\n")
    out.chmod(0o444)
    result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", out, "--max-tokens", "4")
    assert result.returncode == 2 and result.stderr.strip() == f"infill: --out {out}: is read-only"
    assert out.read_text() == "keep\n"


def test_an_out_that_is_a_pipe_is_written_into_and_stays_a_pipe(model_dir, tmp_path):
    # `--out` a named pipe (or /dev/stdout, /dev/null): the reader gets the fills; no file takes the pipe's place.
    holes = write_jsonl(tmp_path / "holes.jsonl", RECORDS)
    pipe = tmp_path / "fills.pipe"
    os.mkfifo(pipe)
    # Held open for reading and writing, the pipe lets the command open it without a reader waiting, and what it
    # wrote stays in the pipe's buffer to read once it is done.
    reader = os.open(pipe, os.O_RDWR | os.O_NONBLOCK)
    try:
        result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", pipe, "--max-tokens", "4")
        assert result.returncode == 0, result.stderr
        assert stat.S_ISFIFO(os.stat(pipe).st_mode)
        try:
            received = os.read(reader, 1 << 16).decode("utf-8")
        except BlockingIOError:
            received = ""
    finally:
        os.close(reader)
    assert [json.loads(line)["id"] for line in received.splitlines()] == list(range(6))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fills.pipe", "holes.jsonl"]


def test_a_terminal_may_be_the_input_and_the_out_alike():
    # `--jsonl /dev/stdin --out /dev/stdout` at a terminal: one device, but nothing on it is overwritten.
    primary, secondary = os.openpty()
    try:
        terminal = os.ttyname(secondary)
        check_not_an_input(terminal, [(terminal, "the --jsonl input")])
    finally:
        os.close(primary)
        os.close(secondary)


# -- --line and --col ---------------------------------------------------------------------------------------------
def test_lines_are_counted_as_editors_count_them():
    # A form feed, a vertical tab, U+2028 and \x1c are characters of a line, not line breaks; \r\n and \r are.
    text = "a = 1\n\x0c\n# \x0b \u2028 \x1c\nb = 2\r\nc = 3\rd = 4"
    assert split_at_cursor(text, 4, 1, "t.py") == ("a = 1\n\x0c\n# \x0b \u2028 \x1c\n", "b = 2\r\nc = 3\rd = 4")
    assert split_at_cursor(text, 5, 3, "t.py") == ("a = 1\n\x0c\n# \x0b \u2028 \x1c\nb = 2\r\nc ", "= 3\rd = 4")
    assert split_at_cursor(text, 6, 6, "t.py") == (text, "")
    with pytest.raises(Exception, match=r"^t\.py: line 7 is outside the file, which has 6 lines \(1\.\.6\)$"):
        split_at_cursor(text, 7, 1, "t.py")
    # After a final line break the cursor can be on the empty line that follows, as in an editor.
    assert split_at_cursor("x\n", 2, 1, "t.py") == ("x\n", "")
    with pytest.raises(Exception, match=r"^t\.py: line 3 is outside the file, which has 1 line \(1\.\.2, the "
                                        r"last the empty one after the final line break\)$"):
        split_at_cursor("x\n", 3, 1, "t.py")


def test_the_cursor_is_placed_by_the_files_lines_and_not_after_a_byte_order_mark(model_dir, tmp_path):
    src = tmp_path / "m.py"
    src.write_bytes("\ufeffimport os\n\x0c\ndef f():\n    return os.sep\n".encode("utf-8"))
    # Line 4 is `    return os.sep` (17 columns and the end): a form feed is no line break.
    result = run_cli("infill", "--model", model_dir, "--file", src, "--line", "4", "--col", "99")
    assert result.returncode == 2 and result.stderr.strip() == (
        f"infill: {src}: column 99 is outside line 4 (1..18)"), result.stderr
    # The mark is no column of line 1.
    result = run_cli("infill", "--model", model_dir, "--file", src, "--line", "1", "--col", "10", "--max-tokens", "4")
    assert result.returncode == 0, result.stderr
    result = run_cli("infill", "--model", model_dir, "--file", src, "--line", "1", "--col", "11")
    assert result.returncode == 2 and "column 11 is outside line 1 (1..10)" in result.stderr
    result = run_cli("infill", "--model", model_dir, "--file", src, "--line", "9", "--col", "1")
    assert result.returncode == 2 and result.stderr.strip() == (
        f"infill: {src}: line 9 is outside the file, which has 4 lines (1..5, the last the empty one "
        "after the final line break)"), result.stderr


# -- --candidates and --json ---------------------------------------------------------------------------------------
def test_json_candidates_can_be_told_apart(model_dir, tmp_path):
    src = tmp_path / "t.py"
    src.write_text("def total(xs):\n    s = 0\n    for x in xs:\n\n    return s\n")
    result = run_cli("infill", "--model", model_dir, "--device", "cpu", "--dtype", "float32", "--file", src,
                     "--line", "4", "--col", "1", "--candidates", "3", "--max-tokens", "12", "--json")
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    engine = InfillEngine.load(model_dir, device="cpu", dtype="float32")
    text = src.read_text()
    at = text.index("xs:\n") + 4
    expected = engine.infill(text[:at], text[at:], max_tokens=12, num_candidates=3)
    assert [p["text"] for p in printed] == [c.text for c in expected]
    assert all(set(p) == {"text", "confidence", "source"} for p in printed)


# -- flags of the other mode ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, expected", [
    (["--file", "m.py", "--line", "1", "--col", "1", "--out", "o.jsonl"], "--out: only with --jsonl (the batch mode)"),
    (["--jsonl", "h.jsonl", "--out", "o.jsonl", "--candidates", "3", "--line", "9", "--col", "9"],
     "--line, --col, --candidates: only with --file (the cursor mode)"),
    (["--jsonl", "h.jsonl", "--out", "o.jsonl", "--json"], "--json: only with --file (the cursor mode)"),
])
def test_infill_flags_of_the_other_mode_are_refused_not_ignored(model_dir, tmp_path, argv, expected):
    (tmp_path / "m.py").write_text("x = 1\n")
    write_jsonl(tmp_path / "h.jsonl", RECORDS[:1])
    argv = [str(tmp_path / a) if a.endswith((".py", ".jsonl")) else a for a in argv]
    result = run_cli("infill", "--model", model_dir, "--max-tokens", "4", *argv)
    assert result.returncode == 2 and result.stderr.strip() == f"infill: {expected}", result.stderr
    assert not (tmp_path / "o.jsonl").exists()


# -- --jsonl -------------------------------------------------------------------------------------------------------
def test_jsonl_blank_lines_are_skipped_and_said_and_a_byte_order_mark_is_read(model_dir, tmp_path):
    holes = tmp_path / "holes.jsonl"
    holes.write_bytes(b"\xef\xbb\xbf" + b'{"id": 1, "prefix": "a = ", "suffix": "\\n"}\n\n  \n'
                      + b'{"id": 2, "prefix": "b = ", "suffix": "\\n"}\n')
    out = tmp_path / "out.jsonl"
    result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", out, "--max-tokens", "4")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [1, 2]
    assert result.stderr.strip() == f"wrote 2 fills to {out} (2 blank lines of {holes} skipped)"
    # Errors name the line of the file, blank lines counted.
    holes.write_text('\n{"id": 1, "prefix": "a = ", "suffix": "\\n"}\n\n{"prefix": 1}\n')
    result = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", out)
    assert result.returncode == 2 and f"{holes}:4: expected an object" in result.stderr, result.stderr


# -- generate --visual ---------------------------------------------------------------------------------------------
def test_generate_visual_draws_on_stderr_and_prints_the_text_alone(model_dir):
    plain = run_cli("generate", "--model", model_dir, "--prompt", "def f(", "--max-new-tokens", "40")
    drawn = run_cli("generate", "--model", model_dir, "--prompt", "def f(", "--max-new-tokens", "40", "--visual")
    assert plain.returncode == drawn.returncode == 0, drawn.stderr
    assert drawn.stdout == plain.stdout
    assert drawn.stderr.count("canvas 1  step ") >= 2 and "step 1 " in drawn.stderr
    assert "\x1b" not in drawn.stderr  # no colour codes in a log
    assert "tokens per forward" in drawn.stderr


# -- bench ---------------------------------------------------------------------------------------------------------
def test_bench_says_the_prompt_the_encoder_reads_and_refuses_a_hole_wider_than_a_canvas(model_dir):
    engine = InfillEngine.load(model_dir, device="cpu")
    common = ["bench", "--model", model_dir, "--repeats", "1", "--warmup", "0", "--threads", "1"]
    result = run_cli(*common, "--json", "--prompt-chars", "1000000")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["prompt_tokens"] == engine.prompt_room() < figures["prefix_tokens"]
    result = run_cli(*common, "--prompt-chars", "1000000")
    assert (f"prompt tokens: {engine.prompt_room()} (the most the model reads; the prefix has "
            f"{figures['prefix_tokens']:,})") in result.stdout, result.stdout
    hole = engine.hole_capacity + 1
    result = run_cli(*common, "--hole", hole)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"bench: --hole {hole}: model fills at most {engine.hole_capacity} tokens in one canvas")


def test_bench_without_hole_times_what_a_narrow_canvas_holds(tmp_path):
    # The default of 16 was refused on a checkpoint whose canvas holds fewer, naming a flag never given.
    narrow = write_random_checkpoint(tmp_path / "narrow", canvas_length=16)
    assert InfillEngine.load(narrow, device="cpu").hole_capacity < 16
    result = run_cli("bench", "--model", narrow, "--repeats", "1", "--warmup", "0", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr


# -- --max-tokens, --model and the chat template as a checkpoint has them ----------------------------------------
def test_infill_without_max_tokens_fills_as_much_as_the_canvas_holds_and_a_larger_budget_is_refused(model_dir,
                                                                                                    tmp_path):
    # The tiny checkpoint's canvas is 32 wide: its holes take at most 24 tokens, under the default budget of 32,
    # which infill refused of itself.
    src = tmp_path / "a.py"
    src.write_text("def add(a, b):\n    return \n")
    engine = InfillEngine.load(model_dir, device="cpu")
    assert engine.hole_capacity < 32
    result = run_cli("infill", "--model", model_dir, "--file", src, "--line", "2", "--col", "12")
    assert result.returncode == 0, result.stderr
    result = run_cli("infill", "--model", model_dir, "--file", src, "--line", "2", "--col", "12", "--max-tokens", 32)
    assert result.returncode == 2 and result.stderr == (
        f"infill: --max-tokens 32: {model_dir.name} fills at most {engine.hole_capacity} tokens in one "
        "canvas\n"), result.stderr


@pytest.mark.parametrize("command", [["infill", "--file", "a.py", "--line", "1", "--col", "1"],
                                     ["generate", "--prompt", "x"],
                                     ["logits", "--prompt-ids", "1", "--canvas-ids", "1", "--out", "l.safetensors"],
                                     ["bench"], ["evaluate", "--files", "a.py"]])
def test_an_empty_model_is_refused_not_read_as_the_embedded_one(tmp_path, command):
    # `--model "$MODEL"` with MODEL unset ran the embedded model without a word (evaluate's, read as a path, the
    # current folder).
    (tmp_path / "a.py").write_text("x = 1\n")
    command = [str(tmp_path / a) if a.endswith((".py", ".safetensors")) else a for a in command]
    result = run_cli(*command, "--model", "")
    assert result.returncode == 2 and result.stdout == "" and result.stderr.splitlines()[-1] == (
        f"infill-engine {command[0]}: error: argument --model: is empty (an unset variable?); leave it out for the "
        "embedded model"), result.stderr


def test_a_chat_template_that_does_not_parse_is_named_by_its_file(model_dir, tmp_path):
    directory = tmp_path / "chat"
    shutil.copytree(model_dir, directory)
    (directory / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content ")
    result = run_cli("generate", "--model", directory, "--chat", "--prompt", "hi", "--max-new-tokens", "4")
    assert result.returncode == 2 and result.stderr.startswith(
        f"generate: {directory / 'chat_template.jinja'}: ") and result.stderr.count("\n") == 1, result.stderr


# -- ~ in paths ----------------------------------------------------------------------------------------------------
PATH_OPTIONS = [  # (argv the command needs besides, the option, where it lands)
    (["generate", "--prompt", "x"], "--model", "model"),
    (["generate"], "--prompt-file", "prompt_file"),
    (["infill"], "--model", "model"),
    (["infill"], "--file", "file"),
    (["infill"], "--jsonl", "jsonl"),
    (["infill"], "--out", "out"),
    (["logits", "--prompt-ids", "1", "--canvas-ids", "1", "--out", "o"], "--model", "model"),
    (["logits", "--prompt-ids", "1", "--canvas-ids", "1", "--out", "o"], "--self-conditioning", "self_conditioning"),
    (["logits", "--prompt-ids", "1", "--canvas-ids", "1"], "--out", "out"),
    (["bench"], "--model", "model"),
    (["bench"], "--config", "config"),
    (["corpus"], "--out", "out"),
    (["corpus"], "--site-dir", "site_dir"),
    (["corpus"], "--repo", "repo"),
    (["corpus"], "--node-modules", "node_modules"),
    (["corpus"], "--extends", "extends"),
    (["tokenizer"], "--corpus", "corpus"),
    (["tokenizer"], "--out", "out"),
    (["pretokenize"], "--corpus", "corpus"),
    (["pretokenize"], "--tokenizer", "tokenizer"),
    (["pretokenize"], "--out", "out"),
    (["merge-tokens", "a"], "--out", "out"),
    (["train"], "--config", "config"),
    (["train"], "--data", "data"),
    (["train"], "--tokenizer", "tokenizer"),
    (["train"], "--out", "out"),
    (["train"], "--init-from", "init_from"),
    (["grow", "--layers", "3", "--out", "o"], "--from", "source"),
    (["grow", "--layers", "3", "--from", "f"], "--out", "out"),
    (["evaluate"], "--model", "model"),
    (["evaluate"], "--split-dir", "split_dir"),
    (["evaluate"], "--files", "files"),
    (["evaluate"], "--heldout", "heldout"),
    (["evaluate"], "--heldout-manifest", "heldout_manifest"),
    (["evaluate"], "--problems", "problems"),
    (["evaluate"], "--out", "out"),
]


@pytest.mark.parametrize("argv, option, dest", PATH_OPTIONS, ids=[f"{a[0]} {o}" for a, o, _ in PATH_OPTIONS])
def test_every_path_option_expands_a_leading_tilde(monkeypatch, tmp_path, argv, option, dest):
    # The shell leaves `--out=~/run` as it is: some commands expanded it, others read or wrote a folder named `~`.
    from engine.cli import build_parser

    monkeypatch.setenv("HOME", str(tmp_path))
    value = getattr(build_parser().parse_args([*argv, f"{option}=~/x"]), dest)
    assert str(value[-1] if isinstance(value, list) else value) == str(tmp_path / "x")


def test_merge_tokens_expands_a_leading_tilde_in_its_directories(monkeypatch, tmp_path):
    from engine.cli import build_parser

    monkeypatch.setenv("HOME", str(tmp_path))
    assert build_parser().parse_args(["merge-tokens", "~/a", "~/b", "--out", "o"]).dirs == [
        str(tmp_path / "a"), str(tmp_path / "b")]


def test_the_paths_of_a_train_config_file_expand_a_leading_tilde(monkeypatch, tmp_path):
    # No shell reads the file: `"out": "~/run"` trained into a folder named `~` under the working directory.
    import argparse

    from engine.errors import EngineError
    from engine.train import add_arguments, config_from_args

    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / "train.json"
    config.write_text(json.dumps({"out": "~/run", "preset": "~"}))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(EngineError, match=r"--preset ~: unknown"):  # not a path: read as written
        config_from_args(parser.parse_args(["--config", str(config)]))
    config.write_text(json.dumps({"data": "~/tokens", "tokenizer": "~/tokenizer.json", "out": "~/run",
                                  "init_from": "~/model"}))
    cfg = config_from_args(parser.parse_args(["--config", str(config)]))
    assert (cfg.data, cfg.tokenizer, cfg.out, cfg.init_from) == (
        str(tmp_path / "tokens"), str(tmp_path / "tokenizer.json"), str(tmp_path / "run"), str(tmp_path / "model"))


def test_a_checkpoint_and_an_out_under_tilde_are_read_and_written_there(model_dir, tmp_path):
    shutil.copytree(model_dir, tmp_path / "m")
    env = {**os.environ, "HOME": str(tmp_path)}
    for argv in (["logits", "--model=~/m", "--prompt-ids", "2", "--canvas-ids", "5", "--out=~/l.safetensors"],
                 ["grow", "--from=~/m", "--layers", "3", "--out=~/grown"]):
        result = subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True, text=True, env=env,
                                cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "l.safetensors").is_file() and (tmp_path / "grown" / "config.json").is_file()
    assert not (tmp_path / "~").exists()


# -- positions -----------------------------------------------------------------------------------------------------
def test_logits_past_the_models_positions_are_refused(tmp_path):
    # They were computed without a word, where generate cuts its prompt or refuses.
    short = write_random_checkpoint(tmp_path / "short", max_position_embeddings=48)
    out = tmp_path / "l.safetensors"
    fits = run_cli("logits", "--model", short, "--prompt-ids", ",".join(["5"] * 45), "--canvas-ids", "6,7,8",
                   "--out", out)
    assert fits.returncode == 0, fits.stderr
    result = run_cli("logits", "--model", short, "--prompt-ids", ",".join(["5"] * 46), "--canvas-ids", "6,7,8",
                     "--out", out)
    assert result.returncode == 2 and result.stderr == (
        "logits: --prompt-ids, --canvas-ids: 46 prompt and 3 canvas ids take 49 positions, more than the 48 "
        "short has (max_position_embeddings)\n"), result.stderr


def test_bench_fixed_steps_past_the_configs_positions_are_refused(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(max_position_embeddings=48).to_hf()))
    result = run_cli("bench", "--config", config, "--prompt-tokens", "17", "--repeats", "1", "--warmup", "0")
    assert result.returncode == 2 and result.stderr == (
        "bench: --prompt-tokens: a prompt of 17 tokens and a canvas of 32 take 49 positions, more than the "
        f"48 {config} has (max_position_embeddings)\n"), result.stderr


def test_a_folder_that_is_no_checkpoint_is_said_to_be_none(tmp_path):
    # `--init-from ~/src/myproject`, the repository the corpus is of, said "myproject/config.json: file not found".
    project = tmp_path / "myproject"
    project.mkdir()
    (project / "app.py").write_text("x = 1\n")
    result = run_cli("generate", "--model", project, "--prompt", "x")
    assert result.returncode == 2 and result.stderr == (
        f"generate: {project}: not a checkpoint directory (it holds no config.json nor weights)\n")
    result = run_cli("train", "--init-from", project, "--data", tmp_path, "--out", tmp_path / "run", "--steps", "1")
    assert result.returncode == 2 and result.stderr == (
        f"train: {project}: not a checkpoint directory (it holds no config.json nor weights)\n"), result.stderr


@pytest.mark.parametrize("flag", ["--init-from", "--data", "--out"])
def test_an_empty_path_for_train_is_refused(tmp_path, flag):
    # `--init-from "$MODEL"` with MODEL unset read the working directory as the checkpoint.
    args = {"--init-from": str(tmp_path), "--data": str(tmp_path), "--out": str(tmp_path / "run"), flag: ""}
    result = run_cli("train", *[a for pair in args.items() for a in pair], "--steps", "1")
    assert result.returncode == 2 and result.stderr == f"train: {flag} is empty (an unset variable?)\n", result.stderr
    assert not (tmp_path / "run").exists()


def test_a_checkpoints_folder_as_the_tokenizer_names_its_tokenizer_json(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.jsonl").write_text("")
    result = run_cli("pretokenize", "--corpus", corpus, "--tokenizer", DEFAULT_MODEL_DIR, "--out", tmp_path / "tok")
    assert result.returncode == 2 and result.stderr == (
        f"pretokenize: {DEFAULT_MODEL_DIR}: a folder, not a file (give its tokenizer.json)\n"), result.stderr


def test_a_file_of_a_checkpoint_as_the_model_names_its_directory(model_dir):
    # `--model ckpt/config.json` was taken for a Hugging Face repo id.
    result = run_cli("generate", "--model", model_dir / "config.json", "--prompt", "x")
    assert result.returncode == 2 and result.stderr == (
        f"generate: {model_dir / 'config.json'}: a file of a checkpoint, not its directory; give {model_dir}\n"
    ), result.stderr


# -- one command's lines read alike ---------------------------------------------------------------------------------
def test_a_commands_errors_begin_with_its_name_wherever_they_are_raised(model_dir, tmp_path):
    # A command's own checks said "evaluate: ..." and "pretokenize: ...", what reached the command line's handler
    # "infill-engine: ...": one pretokenize run could say either, and a script's grep for one missed the other.
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "tokenizer.json").unlink()
    (tmp_path / "a.py").write_text("x = 1\n")
    said = {}
    for command in (["generate", "--prompt", "x"], ["infill", "--file", tmp_path / "a.py", "--line", 1, "--col", 1],
                    ["bench", "--repeats", 1], ["logits", "--prompt-ids", 1, "--canvas-ids", 1,
                                                "--out", tmp_path / "l.safetensors"]):
        result = run_cli(*command, "--model", broken)
        said[command[0]] = (result.returncode, result.stderr)
    assert said == {name: (2, f"{name}: {broken / 'tokenizer.json'}: file not found\n")
                    for name in ("generate", "infill", "bench", "logits")}, said
    (tmp_path / "corpus").mkdir()
    missing = run_cli("pretokenize", "--corpus", tmp_path / "corpus", "--out", tmp_path / "tokens")
    assert missing.stderr == f"pretokenize: {tmp_path / 'corpus' / 'train.jsonl'}: not found\n", missing.stderr
    (tmp_path / "corpus" / "train.jsonl").write_text('{"path": "a.py", "language": "python", "text": "x = 1\\n"}\n')
    (tmp_path / "taken").write_text("")
    taken = run_cli("pretokenize", "--corpus", tmp_path / "corpus", "--tokenizer", model_dir / "tokenizer.json",
                    "--out", tmp_path / "taken" / "tokens")
    assert taken.returncode == 2 and taken.stderr.splitlines()[-1].startswith("pretokenize: "), taken.stderr


# -- an --out's folder ------------------------------------------------------------------------------------------------
def test_an_outs_new_folder_is_made_only_as_the_output_is_written(model_dir, tmp_path):
    # It was made before the command read its other inputs, and stood empty after a command that failed on one.
    holes = write_jsonl(tmp_path / "holes.jsonl", RECORDS[:1])
    failed = [run_cli("logits", "--model", tmp_path / "none", "--prompt-ids", "1", "--canvas-ids", "1",
                      "--out", tmp_path / "logits" / "deep" / "l.safetensors"),
              run_cli("logits", "--model", model_dir, "--prompt-ids", "1", "--canvas-ids", "x",
                      "--out", tmp_path / "ids" / "l.safetensors"),
              run_cli("infill", "--model", tmp_path / "none", "--jsonl", holes, "--out", tmp_path / "fills" / "o.jsonl"),
              # A write that fails midway takes back the folders it made, as it leaves no file.
              run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", tmp_path / "big" / "o.jsonl",
                      "--max-tokens", "4", limit_file_bytes=10)]
    assert [r.returncode for r in failed] == [2, 2, 2, 2], [r.stderr for r in failed]
    assert failed[3].stderr.strip().endswith("cannot be written (File too large)"), failed[3].stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holes.jsonl"]
    done = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", tmp_path / "new" / "deep" / "o.jsonl",
                   "--max-tokens", "4")
    assert done.returncode == 0 and (tmp_path / "new" / "deep" / "o.jsonl").is_file(), done.stderr
    (tmp_path / "a-file").write_text("")
    refused = run_cli("infill", "--model", model_dir, "--jsonl", holes, "--out", tmp_path / "a-file" / "o.jsonl")
    assert refused.returncode == 2 and refused.stderr == (
        f"infill: --out {tmp_path / 'a-file' / 'o.jsonl'}: cannot create its folder (Not a directory)\n"), refused.stderr


# -- --dtype's help ---------------------------------------------------------------------------------------------------
def test_every_dtype_option_says_float16_is_for_a_gpu(capsys):
    # Picked on a CPU for half the memory, it ran the embedded model about four times slower than float32, and no help
    # said so.
    from engine.cli import main

    said = "float16 is for a GPU: on a CPU it runs several times slower than float32"
    for command in ("generate", "infill", "logits", "bench", "evaluate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert said in " ".join(capsys.readouterr().out.split()), command
    server = subprocess.run([sys.executable, "-m", "infill_ls", "--help"], capture_output=True, text=True)
    assert server.returncode == 0 and said in " ".join(server.stdout.split()), server.stdout
