"""`infill-engine generate` (and what it shares with `infill`) as a user runs it: text as each canvas is final,
Ctrl-C, a closed pipe, the sampler's flags, prompts from files and the model's context."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine import cli
from engine.cache import CHUNK_TOKENS
from engine.generate import generate
from engine.infill import InfillEngine
from engine.model import DiffusionGemma
from engine.tiny import write_random_checkpoint
from engine.visual import token_cell

PROMPT = "def f("
ENTRY_POINT = Path(sys.executable).with_name("infill-engine")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("generate") / "model", seed=3, weight_std=0.5)


def with_generation(model_dir: Path, directory: Path, **changes) -> Path:
    """A copy of the checkpoint whose generation_config.json has `changes`."""
    shutil.copytree(model_dir, directory)
    path = directory / "generation_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return directory


@pytest.fixture(scope="module")
def endless_dir(model_dir, tmp_path_factory):
    # EOS suppressed: the model writes on to the token budget, as many canvases as asked for.
    eos = json.loads((model_dir / "generation_config.json").read_text())["eos_token_id"]
    return with_generation(model_dir, tmp_path_factory.mktemp("endless") / "model", suppress_tokens=[eos])


def command(*args) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *map(str, args)]


def run_cli(*args, **kwargs) -> subprocess.CompletedProcess:
    # Bytes: the text's own \r must not be read as a line break.
    return subprocess.run(command(*args), capture_output=True, **kwargs)


def expected_text(model_dir: Path, prompt: str, budget: int, ids: list[int] | None = None, **sampler) -> bytes:
    """What generate prints for `prompt`, from the library: the new tokens up to the budget, decoded, a line break."""
    eng = InfillEngine.load(model_dir, device="cpu")
    tok = eng.tokenizer
    ids = ids if ids is not None else [tok.bos_id, *tok.encode(prompt)]
    with torch.inference_mode():
        result = generate(eng.model, torch.tensor([ids]), dataclasses.replace(eng.generation, **sampler), seed=0,
                          max_new_tokens=budget)
    return (tok.decode(result.new_tokens[0, :budget].tolist()) + "\n").encode()


def read_some(stream, timeout: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"nothing came in {timeout} s"
    return os.read(stream.fileno(), 1 << 16)


# -- text as each canvas is final ----------------------------------------------------------------------------------
def test_the_text_comes_canvas_by_canvas_and_ctrl_c_keeps_what_is_final(endless_dir):
    whole = run_cli("generate", "--model", endless_dir, "--prompt", PROMPT, "--max-new-tokens", 96)
    assert whole.returncode == 0, whole.stderr
    proc = subprocess.Popen(command("generate", "--model", endless_dir, "--prompt", PROMPT,
                                    "--max-new-tokens", 32 * 256),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = read_some(proc.stdout, 120)
        # Hundreds of canvases are left to denoise: the text came as the first ones were done, not at the end.
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and b"Traceback" not in err, err
    assert b"steps over" not in err  # the run was cut short: its figures are not said
    printed = (first + rest).decode()
    assert printed.endswith("\n")
    shown, full = printed[:-1], whole.stdout.decode()[:-1]
    assert shown and (full.startswith(shown) or shown.startswith(full))


def test_the_text_printed_as_it_comes_is_the_generations_text(model_dir):
    # Byte-level tokens of a random model cut characters across canvases; a cut one is held back until it is whole.
    for budget in (150, 256):
        result = run_cli("generate", "--model", model_dir, "--prompt", PROMPT, "--max-new-tokens", budget)
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected_text(model_dir, PROMPT, budget)


def test_progress_is_shown_on_a_terminal_and_not_in_a_log(model_dir):
    piped = run_cli("generate", "--model", model_dir, "--prompt", PROMPT, "--max-new-tokens", 64)
    assert piped.returncode == 0
    assert piped.stderr.decode().count("\n") == 1 and piped.stderr.startswith(b"[")  # the figures alone
    primary, secondary = os.openpty()
    proc = subprocess.Popen(command("generate", "--model", model_dir, "--prompt", PROMPT, "--max-new-tokens", 64),
                            stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    terminal = b""
    while True:
        try:
            chunk = os.read(primary, 1 << 16)
        except OSError:  # the terminal's last writer has gone
            break
        if not chunk:
            break
        terminal += chunk
    os.close(primary)
    out = proc.stdout.read()
    assert proc.wait() == 0
    assert out == piped.stdout
    assert re.search(rb"canvas 1/2 +step 1/8", terminal) and re.search(rb"canvas 2/2 +step \d/8", terminal), terminal
    assert b"tokens per forward" in terminal


@pytest.mark.parametrize("changes, head", [
    ({"confidence_threshold": 0}, "result after 8 steps (step limit)"),
    ({"stability_threshold": 0, "confidence_threshold": 1000}, "result after 1 step (stopped)"),
])
def test_visual_ends_each_canvas_with_its_result(model_dir, tmp_path, changes, head):
    directory = with_generation(model_dir, tmp_path / "model", **changes)
    result = run_cli("generate", "--model", directory, "--prompt", PROMPT, "--max-new-tokens", 64, "--visual")
    assert result.returncode == 0, result.stderr
    eng = InfillEngine.load(directory, device="cpu")
    tok = eng.tokenizer
    with torch.inference_mode():
        generation = generate(eng.model, torch.tensor([[tok.bos_id, *tok.encode(PROMPT)]]), eng.generation, seed=0,
                              max_new_tokens=64)
    lines = result.stderr.decode().split("\n")
    for k in (1, 2):
        last = max(n for n, line in enumerate(lines) if line.startswith(f"canvas {k}  "))
        assert lines[last] == f"canvas {k}  {head}"
        canvas = generation.new_tokens[0, (k - 1) * 32:k * 32].tolist()
        assert lines[last + 1] == "".join(token_cell(tok.token_text(i)) for i in canvas)


# -- a pipe closed early, Ctrl-C at startup ------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["generate", "--prompt", PROMPT, "--max-new-tokens", 64],
                                  ["infill", "--file", "a.py", "--line", "2", "--col", "12", "--candidates", "3"]])
def test_a_closed_pipe_ends_the_command_quietly(model_dir, tmp_path, args):
    # `infill-engine ... | head -1`: the reader is gone; git and grep end without a word, and so does this.
    (tmp_path / "a.py").write_text("def add(a, b):\n    return \n")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(command(*args, "--model", model_dir), stdout=write_end, stderr=subprocess.PIPE,
                              cwd=tmp_path)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == b"", done.stderr


def test_ctrl_c_while_starting_up_ends_without_a_traceback(model_dir):
    # Python says which module it has imported, as it does: the signal comes in the middle of torch's import.
    proc = subprocess.Popen([str(ENTRY_POINT), "generate", "--model", str(model_dir), "--prompt", PROMPT],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    try:
        for line in proc.stderr:
            if re.search(r"\|\s+torch\.", line):
                proc.send_signal(signal.SIGINT)
                break
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = [line for line in err.splitlines() if not line.startswith("import time:")]
    assert proc.returncode == 130 and said == [], said


# -- the sampler's flags -------------------------------------------------------------------------------------------
def test_the_sampler_flags_override_the_generation_config(model_dir, tmp_path):
    common = ["generate", "--model", model_dir, "--prompt", PROMPT, "--max-new-tokens", 64]
    result = run_cli(*common, "--steps", 3, "--confidence-threshold", 0)
    assert result.returncode == 0 and b"6 steps over 2 canvases (3, 3)" in result.stderr, result.stderr
    result = run_cli(*common, "--stability-threshold", 0, "--confidence-threshold", 1000)
    assert result.returncode == 0 and b"2 steps over 2 canvases (1, 1)" in result.stderr, result.stderr
    result = run_cli(*common, "--t-max", 0.3, "--t-min", 0.1, "--entropy-bound", 0.5)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected_text(model_dir, PROMPT, 64, t_max=0.3, t_min=0.1, entropy_bound=0.5)
    # infill's too.
    src = tmp_path / "a.py"
    src.write_text("def add(a, b):\n    return \n")
    result = run_cli("infill", "--model", model_dir, "--file", src, "--line", 2, "--col", 12, "--max-tokens", 8,
                     "--steps", 2, "--t-max", 0.3, "--t-min", 0.1, "--entropy-bound", 0.5, "--json")
    assert result.returncode == 0, result.stderr
    eng = InfillEngine.load(model_dir, device="cpu")
    eng.generation = dataclasses.replace(eng.generation, t_max=0.3, t_min=0.1, entropy_bound=0.5)
    expected = eng.infill("def add(a, b):\n    return ", "\n", max_tokens=8, max_steps=2)
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == [c.text for c in expected]


@pytest.mark.parametrize("flags, message", [
    (["--t-min", "0.9"], "--t-min 0.9: t_min must be at most t_max (0.8), got 0.9"),
    (["--steps", "0"], "--steps 0: max_denoising_steps must be a positive integer, got 0"),
    (["--t-max", "inf"], "--t-max inf: t_max must be a positive number of at least 1e-06, got inf"),
    # Cooler, the float32 temperature is 0, and the logits over it no numbers: a traceback, or an empty fill.
    (["--t-max", "1e-50", "--t-min", "0"], "--t-max 1e-50 --t-min 0.0: t_max must be a positive number of at least "
                                           "1e-06, got 1e-50"),
    (["--entropy-bound", "-1", "--steps", "4"],
     "--steps 4 --entropy-bound -1.0: sampler_config.entropy_bound must be a number from 0, got -1.0"),
    (["--stability-threshold", "-1"], "--stability-threshold -1: stability_threshold must be an integer from 0, "
                                      "got -1"),
])
@pytest.mark.parametrize("subcommand", [["generate", "--prompt", PROMPT],
                                        ["infill", "--file", "a.py", "--line", "1", "--col", "1"]])
def test_a_sampler_flag_out_of_range_is_one_line_naming_it(model_dir, tmp_path, flags, message, subcommand):
    (tmp_path / "a.py").write_text("x = 1\n")
    result = run_cli(*subcommand, "--model", model_dir, *flags, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.decode() == f"{subcommand[0]}: {message}\n"


# -- --prompt-file and the model's context -------------------------------------------------------------------------
def test_the_prompt_can_come_from_a_file_or_stdin(model_dir, tmp_path):
    prompt = "def add(a, b):\n    return "
    common = ["generate", "--model", model_dir, "--max-new-tokens", 40]
    by_flag = run_cli(*common, "--prompt", prompt)
    (tmp_path / "p.txt").write_text(prompt)
    by_file = run_cli(*common, "--prompt-file", tmp_path / "p.txt")
    by_stdin = run_cli(*common, "--prompt-file", "-", input=prompt.encode())
    assert by_flag.returncode == by_file.returncode == by_stdin.returncode == 0, by_stdin.stderr
    assert by_file.stdout == by_stdin.stdout == by_flag.stdout
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 = 1\n")
    for args, kwargs, message in (
            (["--prompt-file", tmp_path / "latin1.txt"], {}, f"{tmp_path / 'latin1.txt'}: not UTF-8 text"),
            (["--prompt-file", "-"], {"input": b"caf\xe9"}, "stdin: not UTF-8 text"),
            (["--prompt-file", tmp_path / "none.txt"], {}, f"{tmp_path / 'none.txt'}: file not found")):
        result = run_cli(*common, *args, **kwargs)
        assert result.returncode == 2 and result.stderr.decode() == f"generate: {message}\n"
    result = run_cli(*common, "--prompt", prompt, "--prompt-file", tmp_path / "p.txt")
    assert result.returncode == 2 and b"not allowed with argument" in result.stderr
    result = run_cli(*common)
    assert result.returncode == 2 and b"one of the arguments --prompt --prompt-file is required" in result.stderr


@pytest.fixture(scope="module")
def short_context_dir(tmp_path_factory):
    # 96 positions: three canvases of 32.
    return write_random_checkpoint(tmp_path_factory.mktemp("context") / "model", seed=3, weight_std=0.5,
                                   max_position_embeddings=96)


def test_a_prompt_beyond_the_models_context_keeps_its_end_and_says_so(short_context_dir):
    prompt = "def add(a, b):\n    return a + b\n" * 40
    eng = InfillEngine.load(short_context_dir, device="cpu")
    tokens = eng.tokenizer.encode(prompt)
    # Two canvases of new tokens take 64 positions; <bos> and the prompt's last 31 tokens take the rest.
    result = run_cli("generate", "--model", short_context_dir, "--prompt", prompt, "--max-new-tokens", 40)
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines()[0] == (
        f"generate: --prompt: its first {len(tokens) - 31} of {len(tokens)} tokens are left out: model has 96 "
        "positions, 64 of them for 2 canvases of new tokens")
    assert result.stdout == expected_text(short_context_dir, prompt, 40, ids=[eng.tokenizer.bos_id, *tokens[-31:]])
    result = run_cli("generate", "--model", short_context_dir, "--prompt", "x", "--max-new-tokens", 90)
    assert result.returncode == 2 and result.stderr.decode() == (
        "generate: --max-new-tokens 90: model has 96 positions, too few for <bos>, a prompt and 3 canvases "
        "of 32 new tokens\n")


def test_a_chat_prompt_beyond_the_models_context_is_refused(short_context_dir, tmp_path):
    # Cut from its start, a chat prompt would lose the template's opening of the turn.
    directory = tmp_path / "chat"
    shutil.copytree(short_context_dir, directory)
    (directory / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
    result = run_cli("generate", "--model", directory, "--chat", "--prompt", "x = 1\n" * 40, "--max-new-tokens", 40)
    assert result.returncode == 2 and re.fullmatch(
        r"generate: --prompt: \d+ tokens in the chat template, and 2 canvases of 32 new tokens, take more than "
        r"the 96 positions chat has\n", result.stderr.decode()), result.stderr


# -- --seed --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [str(2 ** 64), "-1"])
@pytest.mark.parametrize("subcommand", [["generate", "--prompt", PROMPT],
                                        ["infill", "--file", "a.py", "--line", "1", "--col", "1"]])
def test_a_seed_out_of_range_is_an_argument_error(model_dir, tmp_path, seed, subcommand):
    (tmp_path / "a.py").write_text("x = 1\n")
    result = run_cli(*subcommand, "--model", model_dir, "--seed", seed, cwd=tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err
    assert err.splitlines()[-1].endswith(f"argument --seed: must be from 0 to {2 ** 64 - 1}, got {seed}"), err
    assert "same seed" in run_cli(subcommand[0], "--help").stdout.decode()


def test_candidates_are_capped(model_dir, tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    result = run_cli("infill", "--model", model_dir, "--file", "a.py", "--line", "1", "--col", "1",
                     "--candidates", "33", cwd=tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 2 and err.splitlines()[-1].endswith("argument --candidates: must be from 1 to 32, "
                                                                     "got 33"), err


def test_a_long_prompt_is_encoded_in_chunks(model_dir, tmp_path, monkeypatch, capsys):
    # A 160 KB prompt file took one allocation of 8.4 GB in a single encoder pass: a traceback, or the process
    # killed. Read in chunks, as infill reads a prefix.
    widest = []
    encode = DiffusionGemma.encode

    def recording(self, input_ids, cache=None, valid=None):
        widest.append(input_ids.shape[1])
        return encode(self, input_ids, cache, valid)

    monkeypatch.setattr(DiffusionGemma, "encode", recording)
    prompt = tmp_path / "prompt.py"
    prompt.write_text("def add(a, b):\n    return a + b\n" * 200)
    assert cli.main(["generate", "--model", str(model_dir), "--prompt-file", str(prompt),
                     "--max-new-tokens", "8", "--device", "cpu"]) == 0
    assert max(widest) <= CHUNK_TOKENS, widest


def test_out_of_memory_while_encoding_is_one_line(model_dir, monkeypatch, capsys):
    # torch's own message of a failed CPU allocation.
    def failing(self, input_ids, cache=None, valid=None):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 8415493696 bytes.\nmore")

    monkeypatch.setattr(DiffusionGemma, "encode", failing)
    assert cli.main(["generate", "--model", str(model_dir), "--prompt", "def f(", "--max-new-tokens", "8",
                     "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--prompt: out of memory on cpu" in err[0], err


def test_the_summary_counts_the_tokens_printed(model_dir):
    # `--max-new-tokens 8` of a wider canvas counted the whole canvas: 4.00 tokens a pass for 8 tokens in 16 passes.
    result = run_cli("generate", "--model", model_dir, "--prompt", PROMPT, "--max-new-tokens", 8)
    found = re.search(rb"\[(\d+) steps over 1 canvas \((\d+)\), ([\d.]+) tokens per forward", result.stderr)
    assert result.returncode == 0 and found, result.stderr
    assert 0 < float(found[3]) <= 8 / int(found[1]) + 0.005, result.stderr
