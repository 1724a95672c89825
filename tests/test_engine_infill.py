"""Anchored infilling, the prefix cache and load errors, on small random checkpoints written by the engine."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch

from engine import canvas as canvases
from engine.checkpoint import load_checkpoint
from engine.errors import Cancelled, CheckpointError
from engine.generate import denoise, generate, make_generator
from engine.infill import InfillEngine
from engine.config import GenerationConfig, ModelConfig
from engine.tiny import tiny_config, write_random_checkpoint


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    # Larger weights than a fresh init, so the model is opinionated and voids actually appear.
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model", seed=3, weight_std=0.5)


@pytest.fixture(scope="module")
def engine(model_dir):
    return InfillEngine.load(model_dir, device="cpu", dtype="float32")


def test_anchors_are_identical_after_every_step(engine):
    tok = engine.tokenizer
    suffix = tok.encode("\n    return total\n")
    canvas = canvases.infill(suffix, [4, 8, 12], tok.eos_id, tok.void_id, suffix_room=10)
    cache = engine.model.encode(torch.tensor([[tok.bos_id] + tok.encode("def f(x):\n    total = ")]))
    steps = list(denoise(engine.model, cache, canvas, engine.generation, make_generator(0, engine.model.device)))
    assert steps
    for step in steps:
        for view in (step.current, step.argmax):
            assert torch.equal(view[canvas.anchor], canvas.ids[canvas.anchor])
    # Hole positions were really denoised: they changed from step to step.
    assert any(not torch.equal(a.current[~canvas.anchor], b.current[~canvas.anchor]) for a, b in zip(steps, steps[1:]))


def test_canvas_rows_share_a_width_and_put_eos_after_the_file_end():
    c = canvases.with_holes([[7, 8, 9]], [2, 5], eos_id=1, void_id=0, suffix_room=6, at_end=True)
    assert c.ids.shape == (2, 11)
    assert c.ids[0].tolist() == [0, 0, 7, 8, 9, 1, 0, 0, 0, 0, 0]
    assert c.ids[1].tolist()[5:] == [7, 8, 9, 1, 0, 0]
    assert c.holes == (((0, 2),), ((0, 5),))
    cut = canvases.with_holes([[7, 8, 9]], [2], eos_id=1, void_id=0, suffix_room=6, at_end=False)
    assert 1 not in cut.ids[0].tolist()  # a window cut from the file does not end it


def test_a_draft_row_starts_from_its_fills_followed_by_voids():
    c = canvases.with_holes([[7, 8, 9]], [2, 5], eos_id=1, void_id=0, suffix_room=6, at_end=True)
    # A 3-token fill needs the 5-long hole, a 1-token fill takes the 2-long one, a 6-token fill fits no row.
    d = canvases.with_drafts(c, [[[4, 4, 4]], [[5]], [[6] * 6]], void_id=0)
    assert d.ids.shape == (4, 11)
    assert d.ids[:2].tolist() == c.ids.tolist()
    assert d.ids[2].tolist() == [4, 4, 4, 0, 0, 7, 8, 9, 1, 0, 0]
    assert d.ids[3].tolist() == [5, 0, 7, 8, 9, 1, 0, 0, 0, 0, 0]
    assert d.holes == c.holes + (((0, 5),), ((0, 2),))
    assert torch.equal(d.anchor[2], c.anchor[1]) and torch.equal(d.anchor[3], c.anchor[0])
    assert d.drafted.tolist() == [False, False, True, True]
    assert canvases.with_drafts(c, [], void_id=0) is c


def test_a_draft_written_back_surely_is_stable_after_one_pass():
    from engine.sampler import StableAndConfident

    previous = torch.tensor([[5, 6, 7], [-1, -1, -1], [5, 6, 7]])  # drafted, noise, drafted
    argmax = torch.tensor([[5, 6, 7], [5, 6, 7], [5, 6, 8]])
    holes = torch.ones(3, 3, dtype=torch.bool)
    sure, unsure = torch.zeros(3, 3), torch.full((3, 3), 0.1)
    assert StableAndConfident(1, 0.005, previous)(argmax, sure, holes).tolist() == [True, False, False]
    assert not StableAndConfident(1, 0.005, previous)(argmax, unsure, holes).any()
    assert not StableAndConfident(1, 0.005)(argmax, sure, holes).any()  # with no draft, two passes at least


def test_voids_never_reach_the_output(model_dir):
    engine = InfillEngine.load(model_dir, device="cpu", dtype="float32")
    tok = engine.tokenizer
    with torch.no_grad():
        # A long void embedding (tied to the output) makes voids win at some positions and lose at others.
        engine.model.embed_tokens.weight[tok.void_id] *= 40
    segments = ["def add(a, b):\n    return ", "\n"]
    last = None
    for last in engine.infill_steps(segments, max_tokens=16, num_candidates=4):
        pass
    fills = [f for row in range(last.canvas.shape[0]) for f in last.canvas.fills(last.step.argmax, row)]
    assert any(tok.void_id in f for f in fills), "the check needs a fill that holds voids"
    assert any(set(f) - {tok.void_id} for f in fills), "the check needs a fill that holds more than voids"
    for cand in engine.rank(last, num_candidates=8):
        assert "<pad>" not in cand.fills[0] and "<eos>" not in cand.fills[0]
    for cand in engine.infill(*segments, max_tokens=16, num_candidates=4):
        assert "<pad>" not in cand.text


def test_batched_lengths_return_the_most_confident_candidate(engine):
    last = None
    for last in engine.infill_steps(["x = compute(", ")\nprint(x)\n"], max_tokens=24, num_candidates=2):
        pass
    ranked = engine.rank(last, num_candidates=6)
    logp = torch.log_softmax(last.step.logits, -1).gather(-1, last.step.argmax[..., None])[..., 0]
    holes = ~last.canvas.anchor
    per_row = ((logp * holes).sum(-1) / holes.sum(-1)).tolist()
    assert ranked[0].confidence == pytest.approx(max(per_row))
    assert [c.confidence for c in ranked] == sorted((c.confidence for c in ranked), reverse=True)
    assert engine.infill("x = compute(", ")\nprint(x)\n", max_tokens=24, num_candidates=2)[0].text == ranked[0].fills[0]


def test_several_holes_fill_in_one_canvas(engine):
    found = engine.infill_holes(["def f(x):\n    ", "\n\ndef g(y):\n    ", "\n"], max_tokens=8, num_candidates=2)
    assert found and all(len(c.fills) == 2 for c in found)


def test_a_lone_surrogate_in_the_text_is_read_as_a_replacement_character(engine):
    # An editor buffer can hold half of a UTF-16 pair; the tokenizer refuses such a string outright.
    tok = engine.tokenizer
    assert tok.encode("s = '\udc80'\n") == tok.encode("s = '\ufffd'\n")
    assert engine.infill("s = '\udc80'\nx = compute(", ")\n", max_tokens=8)


def test_special_tokens_a_model_writes_are_not_text_but_code_that_spells_them_is(engine):
    tok = engine.tokenizer
    code = "marker = '<bos>' + \"<eos>\"\n"
    assert tok.decode(tok.encode(code)) == code
    a, b = tok.encode("x"), tok.encode("y")
    assert tok.decode([*a, tok.bos_id, *b]) == "xy"
    assert tok.decode([*a, tok.eos_id, *b]) == "x"


def test_auto_dtype_keeps_a_large_checkpoint_in_bfloat16_on_a_cpu(model_dir, monkeypatch):
    import engine.checkpoint as checkpoint

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert checkpoint.resolve_dtype("auto", cpu, parameters=5_000_000) == torch.float32
    assert checkpoint.resolve_dtype("auto", cpu, parameters=25_200_000_000) == torch.bfloat16
    assert checkpoint.resolve_dtype("auto", cuda, parameters=5_000_000) == torch.bfloat16
    assert checkpoint.resolve_dtype("float32", cpu, parameters=25_200_000_000) == torch.float32
    assert load_checkpoint(model_dir, device="cpu").model.embed_tokens.weight.dtype == torch.float32
    monkeypatch.setattr(checkpoint, "CPU_FLOAT32_MAX_PARAMETERS", 1000)
    assert next(load_checkpoint(model_dir, device="cpu").model.parameters()).dtype == torch.bfloat16


def test_the_prompt_keeps_as_much_of_the_prefix_as_asked_within_the_models_positions(tmp_path):
    engine = InfillEngine.load(write_random_checkpoint(tmp_path / "m", infill_prompt_tokens=48,
                                                       max_position_embeddings=300), device="cpu")
    tok = engine.tokenizer
    prefix = "".join(f"value_{i} = compute({i}, other_{i})\n" for i in range(200))
    ids = tok.encode(prefix)
    assert len(ids) > 400

    def prompt_after(**options) -> list[int]:
        engine.infill(prefix, "\nprint(done)\n", max_tokens=8, **options)
        return engine.prefix_cache.ids

    # The checkpoint's own length by default, <bos> first and the text nearest the hole kept.
    assert prompt_after() == [tok.bos_id] + ids[-47:]
    assert prompt_after(prompt_tokens=120) == [tok.bos_id] + ids[-119:]
    # Never so long that the widest canvas (32) after it would pass the model's 300 positions.
    assert engine.prompt_room(10_000) == 300 - 32
    assert prompt_after(prompt_tokens=10_000) == [tok.bos_id] + ids[-267:]
    # A prefix shorter than the room is kept whole.
    short = "x = 1\n"
    engine.infill(short, "", max_tokens=8, prompt_tokens=120)
    assert engine.prefix_cache.ids == [tok.bos_id] + tok.encode(short)


def test_seeded_infill_is_deterministic(engine):
    a = engine.infill("import os\npath = os.", "\n", max_tokens=8, seed=7)
    b = engine.infill("import os\npath = os.", "\n", max_tokens=8, seed=7)
    assert a == b


def test_should_stop_cancels_between_steps(engine):
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        engine.infill("a = ", "\n", max_tokens=8, should_stop=stop)
    assert len(calls) == 3


def test_reused_prefix_logits_equal_a_full_recompute(engine):
    tok, model = engine.tokenizer, engine.model
    base = [tok.bos_id] + tok.encode("def parse(line):\n    name, _, value = line.partition(':')\n")
    typed = base + tok.encode("    return name")
    canvas = torch.tensor([tok.encode(" ( value ) \n\n")[:8]])
    engine.prefix_cache.ids = []
    engine.prefix_cache.encode(base)
    reused = engine.prefix_cache.encode(typed)
    assert engine.prefix_cache.reused_tokens == len(base)
    full = model.encode(torch.tensor([typed]))
    with torch.inference_mode():
        a = model.decode(canvas, reused)
        b = model.decode(canvas, full)
    assert (a - b).abs().max() <= 1e-5
    # Editing inside the prefix reuses only what is still shared.
    edited = base[:5] + tok.encode("X") + base[6:]
    engine.prefix_cache.encode(edited)
    assert engine.prefix_cache.reused_tokens == 5


def test_a_long_prompt_is_encoded_in_chunks_a_cancelled_request_stops_between_and_keeps(engine):
    # One pass over a long prompt could not be stopped: a superseded keystroke's request ran it to the end.
    from engine.cache import CHUNK_TOKENS

    tok, model = engine.tokenizer, engine.model
    prompt = [tok.bos_id] + tok.encode("def parse(line):\n    name, _, value = line.partition(':')\n" * 80)
    assert len(prompt) > 2 * CHUNK_TOKENS
    canvas = torch.tensor([tok.encode(" ( value ) \n\n")[:8]])
    engine.prefix_cache.ids = []
    asked = []
    with pytest.raises(Cancelled):
        engine.prefix_cache.encode(prompt, should_stop=lambda: asked.append(1) or len(asked) > 1)
    assert engine.prefix_cache.ids == prompt[:CHUNK_TOKENS]  # the chunk encoded before the stop is kept
    chunked = engine.prefix_cache.encode(prompt)
    assert engine.prefix_cache.reused_tokens == CHUNK_TOKENS and engine.prefix_cache.ids == prompt
    with torch.inference_mode():
        a = model.decode(canvas, chunked)
        b = model.decode(canvas, model.encode(torch.tensor([prompt])))
    assert (a - b).abs().max() <= 1e-4


# -- load errors: one line naming the file, exit status 2 ----------------------------------------------------------
def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True)


def broken_copy(model_dir, tmp_path, name):
    import shutil

    target = tmp_path / name
    shutil.copytree(model_dir, target)
    return target


@pytest.mark.parametrize("damage, expected", [
    ("truncate", "not a readable safetensors file"),
    ("corrupt", "not a readable safetensors file"),
    ("missing_file", "no model.safetensors"),
    ("wrong_shape", "has shape"),
    ("missing_tensor", "missing tensor"),
    ("architecture", "unknown architecture"),
    ("tokenizer", "tokenizer has"),
])
def test_bad_checkpoints_give_one_line_and_status_2(model_dir, tmp_path, damage, expected):
    from safetensors.torch import load_file, save_file

    target = broken_copy(model_dir, tmp_path, damage)
    weights = target / "model.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "corrupt":
        weights.write_bytes(b"\x00garbage" * 100)
    elif damage == "missing_file":
        weights.unlink()
    elif damage in ("wrong_shape", "missing_tensor"):
        tensors = load_file(str(weights))
        name = "model.decoder.layers.0.mlp.up_proj.weight"
        if damage == "wrong_shape":
            tensors[name] = torch.zeros(3, 3)
        else:
            del tensors[name]
        save_file(tensors, str(weights))
    elif damage == "architecture":
        cfg = json.loads((target / "config.json").read_text())
        cfg["architectures"], cfg["model_type"] = ["LlamaForCausalLM"], "llama"
        (target / "config.json").write_text(json.dumps(cfg))
    elif damage == "tokenizer":
        cfg = json.loads((target / "config.json").read_text())
        cfg["text_config"]["vocab_size"] = 100
        (target / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=expected):
        load_checkpoint(target, device="cpu")
    result = run_cli("infill", "--model", str(target), "--file", str(model_dir / "config.json"),
                     "--line", "1", "--col", "1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and str(target) in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("file, key, value, expected", [
    ("config.json", "per_layer_config", [1, 2], "text_config.per_layer_config must be"),
    ("config.json", "rope_parameters", None, "text_config.rope_parameters must be"),
    ("config.json", "hidden_size", "192", "text_config.hidden_size must be a positive integer, got '192'"),
    ("config.json", "top_k_experts", 8, "text_config.top_k_experts must be at most num_experts (4)"),
    ("config.json", "eos_token_id", 99999, "text_config.eos_token_id must be a token id below vocab_size"),
    ("config.json", "eos_token_id", [1, 99999], "eos_token_id must list token ids below vocab_size"),
    ("config.json", "tie_word_embeddings", False, "tie_word_embeddings=false (an output layer of its own)"),
    ("config.json", "rms_norm_eps", None, "text_config.rms_norm_eps must be a positive number"),
    ("config.json", "hidden_activation", "relu", "text_config.hidden_activation must be \"gelu_pytorch_tanh\""),
    ("config.json", "layer_types", ["sliding_attention", "dense"], "text_config.layer_types must be"),
    ("generation_config.json", "max_denoising_steps", -1, "max_denoising_steps must be a positive integer"),
    ("generation_config.json", "t_max", "hot", "t_max must be a positive number"),
    ("generation_config.json", "t_min", -0.1, "t_min must be a number from 0"),
    ("generation_config.json", "sampler_config", {"entropy_bound": "abc"}, "sampler_config.entropy_bound must be"),
])
def test_bad_config_values_are_named_at_loading(model_dir, tmp_path, file, key, value, expected):
    # A hand-edited or foreign config fails when it is read, in one line naming the file and the key, rather than
    # with a traceback from deep inside a forward pass.
    target = broken_copy(model_dir, tmp_path, "cfg")
    data = json.loads((target / file).read_text())
    (data["text_config"] if file == "config.json" else data)[key] = value
    (target / file).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=re.escape(expected)) as caught:
        load_checkpoint(target, device="cpu")
    assert str(target / file) in str(caught.value) and "\n" not in str(caught.value)


def test_a_config_that_cannot_be_read_is_named(model_dir, tmp_path):
    target = broken_copy(model_dir, tmp_path, "dir")
    (target / "config.json").unlink()
    (target / "config.json").mkdir()
    result = run_cli("infill", "--model", str(target), "--file", str(model_dir / "tokenizer.json"),
                     "--line", "1", "--col", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"infill: {target / 'config.json'}: a folder, not a file"


def test_infill_cli_fills_a_cursor_and_a_jsonl_batch(model_dir, tmp_path):
    src = tmp_path / "a.py"
    src.write_text("def add(a, b):\n    return a + b\n")
    result = run_cli("infill", "--model", str(model_dir), "--file", str(src), "--line", "2", "--col", "12",
                     "--max-tokens", "8")
    assert result.returncode == 0, result.stderr
    records = [{"prefix": "x = ", "suffix": "\n", "id": 1}, {"prefix": "def f(", "suffix": "):\n    pass\n", "id": 2}]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    result = run_cli("infill", "--model", str(model_dir), "--jsonl", str(tmp_path / "in.jsonl"),
                     "--out", str(tmp_path / "out.jsonl"), "--max-tokens", "8")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in out] == [1, 2] and all(isinstance(r["middle"], str) for r in out)
    (tmp_path / "bad.jsonl").write_text('{"prefix": "a"}\n')
    result = run_cli("infill", "--model", str(model_dir), "--jsonl", str(tmp_path / "bad.jsonl"),
                     "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2 and "bad.jsonl:1" in result.stderr
    # An output that cannot be written is refused before the model runs; a lone surrogate is written as read.
    result = run_cli("infill", "--model", str(model_dir), "--jsonl", str(tmp_path / "in.jsonl"), "--out", str(tmp_path))
    assert result.returncode == 2 and result.stderr.strip() == f"infill: --out {tmp_path}: is a directory"
    (tmp_path / "odd.jsonl").write_text('{"prefix": "s = \'\\udc80\'\\nx = ", "suffix": "\\n"}\n')
    result = run_cli("infill", "--model", str(model_dir), "--jsonl", str(tmp_path / "odd.jsonl"),
                     "--out", str(tmp_path / "odd-out.jsonl"), "--max-tokens", "4")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "odd-out.jsonl").read_text())["prefix"] == "s = '\udc80'\nx = "
    result = run_cli("infill", "--model", str(model_dir), "--file", str(src), "--line", "1", "--col", "1",
                     "--max-tokens", "0")
    assert result.returncode == 2 and "--max-tokens: must be at least 1, got 0" in result.stderr
    result = run_cli("infill", "--model", str(model_dir), "--file", str(src), "--line", "1", "--col", "1",
                     "--max-tokens", "100000")
    assert result.returncode == 2 and "--max-tokens 100000: " in result.stderr and "tokens in one canvas" in result.stderr


def test_generate_visual_draws_every_step(model_dir):
    result = run_cli("generate", "--model", str(model_dir), "--prompt", "def f(", "--max-new-tokens", "40",
                     "--visual")
    assert result.returncode == 0, result.stderr
    # The frames on stderr, without colour off a terminal; the text alone on stdout, for a pipe.
    frames = result.stderr.count("canvas ")
    assert frames >= 2 and "step 1 " in result.stderr and "\x1b[" not in result.stderr
    assert "canvas " not in result.stdout and result.stdout.strip()
    assert "tokens per forward" in result.stderr and "canvases" in result.stderr


def test_generate_prints_no_more_tokens_than_asked():
    # The last canvas is denoised whole; its tokens past the budget were printed too (64 for a budget of 8).
    result = run_cli("generate", "--prompt", "def area(width, height):\n", "--max-new-tokens", "5")
    assert result.returncode == 0, result.stderr
    printed = result.stdout[:-1]  # the line break print() adds
    assert printed and len(InfillEngine.load(None, device="cpu").tokenizer.encode(printed)) <= 5, printed
    logits_help = run_cli("logits", "--help").stdout
    assert "(default: float32)" in " ".join(logits_help.split()), logits_help


def test_every_subcommand_has_help():
    for command in ("generate", "infill", "logits", "bench", "corpus", "tokenizer", "pretokenize", "train",
                    "evaluate"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, command


def test_bench_prints_its_figures(model_dir):
    result = run_cli("bench", "--model", str(model_dir), "--repeats", "1", "--warmup", "0", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in ("encoder_ms", "ms_per_step", "steps_per_canvas", "tokens_per_forward", "tokens_per_s"):
        assert figures[key] >= 0
    # No prompt is no prompt: `--prompt-chars 0` took all 11,000 tokens of the text it cuts from.
    result = run_cli("bench", "--model", str(model_dir), "--repeats", "1", "--warmup", "0", "--json",
                     "--prompt-chars", "0")
    assert result.returncode == 0 and json.loads(result.stdout)["prompt_tokens"] < 20, result.stdout
    # More than the text it cuts from is all of it (it was a few characters).
    result = run_cli("bench", "--model", str(model_dir), "--repeats", "1", "--warmup", "0", "--json",
                     "--prompt-chars", "1000000")
    assert result.returncode == 0 and json.loads(result.stdout)["prefix_tokens"] > 5000, result.stdout


@pytest.mark.parametrize("argv, expected", [
    (["--fixed-steps", "2"], "--fixed-steps: only with --config CONFIG_JSON (the fixed-steps mode)"),
    (["--batch", "2", "--reference"], "--batch, --reference: only with --config CONFIG_JSON (the fixed-steps mode)"),
    (["--config", "c.json", "--hole", "8"], "--hole: only without --config (the infill mode)"),
])
def test_bench_flags_of_the_other_mode_are_refused_not_ignored(argv, expected):
    result = run_cli("bench", *argv)
    assert result.returncode == 2 and result.stderr.strip() == f"bench: {expected}", result.stderr


def test_left_padding_in_a_batch_is_never_attended(engine):
    """Training batches left-pad short prompts: a padded row must score its canvas as the prompt alone does."""
    model, tok = engine.model, engine.tokenizer
    short = [tok.bos_id] + tok.encode("def f(x):\n    return x")
    long = [tok.bos_id] + tok.encode("import os\nimport sys\n\n\ndef main(argv):\n    return len(argv)\n")
    pad = len(long) - len(short)
    ids = torch.tensor([[tok.pad_id] * pad + short, long])
    valid = torch.tensor([[False] * pad + [True] * len(short), [True] * len(long)])
    canvas = torch.tensor([tok.encode(" + 1\n\nprint(f(2))\n")[:8]] * 2)
    with torch.inference_mode():
        batched = model.decode(canvas, model.encode(ids, valid=valid))
        # RoPE is relative: the padded row's prompt sits `pad` positions later, as does its canvas.
        alone_cache = model.encode(torch.tensor([[tok.pad_id] * pad]))
        alone_cache.valid = torch.zeros(1, pad, dtype=torch.bool)
        alone = model.decode(canvas[:1], model.encode(torch.tensor([short]), alone_cache))
        unpadded = model.decode(canvas[:1], model.encode(torch.tensor([short])))
        second = model.decode(canvas[1:], model.encode(torch.tensor([long])))
    assert (batched[0] - alone[0]).abs().max() <= 1e-4
    assert (batched[0] - unpadded[0]).abs().max() <= 1e-3
    assert (batched[1] - second[0]).abs().max() <= 1e-4


def test_logits_at_some_positions_match_the_full_pass(engine):
    model, tok = engine.model, engine.tokenizer
    cache = model.encode(torch.tensor([[tok.bos_id] + tok.encode("def f(x):\n    return ")]))
    canvas = torch.randint(3, model.cfg.vocab_size, (2, 12), generator=torch.Generator().manual_seed(0))
    at = torch.zeros(2, 12, dtype=torch.bool)
    at[0, :5], at[1, 3:9] = True, True
    with torch.no_grad():
        full = model.decode(canvas, cache)
        assert torch.allclose(model.decode(canvas, cache, at=at), full[at], atol=1e-5)
        # Self-conditioning in the packed layout is the same pass as in the full one when every position is asked.
        sc = torch.randn(2, 12, model.cfg.vocab_size, generator=torch.Generator().manual_seed(1))
        everywhere = torch.ones(2, 12, dtype=torch.bool)
        assert torch.allclose(model.decode(canvas, cache, sc.view(24, -1), at=everywhere),
                              model.decode(canvas, cache, sc).view(24, -1), atol=1e-5)
        # Positions outside `at` get no self-conditioning at all.
        packed = model.decode(canvas, cache, sc[at], at=at)
        zeroed = torch.where(at[..., None], sc, torch.zeros(()))
        assert not torch.allclose(packed, model.decode(canvas, cache, zeroed)[at], atol=1e-5)


def test_a_short_hole_uses_the_narrowest_trained_canvas(tmp_path):
    path = write_random_checkpoint(tmp_path / "model", seed=1)
    config = json.loads((path / "config.json").read_text())
    config["infill_canvas_lengths"] = [24, 32]
    (path / "config.json").write_text(json.dumps(config))
    engine = InfillEngine.load(path, device="cpu")
    assert engine.canvas_widths() == [24, 32]
    for sizes, width in (([8], 24), ([4, 8], 24), ([12], 32), ([20], 32), ([40], 48)):
        last = None
        for last in engine.infill_steps(["x = ", "\nprint(x)\n" * 20], max_tokens=max(sizes), sizes=sizes):
            pass
        assert last.canvas.shape == (len(sizes), width), sizes
    config["infill_canvas_lengths"] = [24, "wide"]
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="config.json: infill_canvas_lengths"):
        InfillEngine.load(path, device="cpu")


def test_max_steps_runs_a_shorter_schedule_to_the_end(engine, monkeypatch):
    import dataclasses

    from engine import sampler

    tok = engine.tokenizer
    canvas = canvases.infill(tok.encode("\nprint(x)\n"), [6], tok.eos_id, tok.void_id, suffix_room=6)
    cache = engine.model.encode(torch.tensor([[tok.bos_id] + tok.encode("x = ")]))
    never_stops = dataclasses.replace(engine.generation, confidence_threshold=0.0, max_denoising_steps=12)
    temperatures = []
    real = sampler.temperature
    monkeypatch.setattr(sampler, "temperature", lambda *a: temperatures.append(float(real(*a))) or real(*a))
    steps = list(denoise(engine.model, cache, canvas, never_stops, make_generator(0, engine.model.device),
                         max_steps=3))
    assert [s.step for s in steps] == [1, 2, 3]
    # A 3-step schedule from t_max down, not the first 3 steps of the 12-step one.
    g = never_stops
    assert temperatures == pytest.approx([g.t_min + (g.t_max - g.t_min) * k / 3 for k in (3, 2, 1)])
    # t_min 0 is allowed, as in the reference: the schedule stops short of it.

    cold = GenerationConfig.from_hf({"t_min": 0.0, "t_max": 0.8})
    temperatures.clear()
    list(denoise(engine.model, cache, canvas, dataclasses.replace(never_stops, t_min=cold.t_min),
                 make_generator(0, engine.model.device), max_steps=2))
    assert temperatures == pytest.approx([0.8, 0.4])


def test_the_fast_draw_has_the_multinomials_distribution():
    from engine import sampler

    probs = torch.tensor([[0.0, 0.5, 0.2, 0.3, 0.0], [0.9, 0.0, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 0.0, 1.0]])
    g = torch.Generator().manual_seed(0)
    n = 20000
    counts = torch.zeros_like(probs)
    for _ in range(n // 1000):
        draws = torch.stack([sampler.draw(probs, g) for _ in range(1000)])  # (1000, 3)
        counts += torch.nn.functional.one_hot(draws, probs.shape[1]).sum(0)
    freq = counts / n
    assert torch.all(freq[probs == 0] == 0), "a zero-probability token was drawn"
    assert torch.allclose(freq, probs, atol=0.015)


def test_the_entropys_logsumexp_matches_torchs_to_the_bit():
    from engine import sampler

    g = torch.Generator().manual_seed(0)
    inf = float("inf")
    # Logits at a cool temperature put most of the vocabulary below exp's underflow: the clamped terms must vanish.
    rows = [torch.randn(16, 8192, generator=g) * scale for scale in (0.1, 1.0, 30.0, 300.0)]
    odd = torch.randn(5, 64, generator=g) * 30
    odd[0] = -inf  # all -inf: -inf
    odd[1, :32] = -inf  # some -inf
    odd[2, 3] = inf
    odd[3] = inf
    rows += [odd, torch.randn(2, 3, 8192, generator=g, dtype=torch.float64) * 200]
    for x in rows:
        ours, torchs = sampler.logsumexp(x), torch.logsumexp(x, dim=-1, keepdim=True)
        assert torch.equal(torch.isnan(ours), torch.isnan(torchs))
        assert torch.equal(ours.nan_to_num(), torchs.nan_to_num())
    logits = torch.randn(36, 8192, generator=g) * 8 / 0.1
    expected = torch.distributions.Categorical(logits=logits).entropy()
    assert torch.equal(sampler.token_entropy(logits), expected)


CHAT = ("{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|model|>{% endif %}")


def test_chat_template_writes_the_turns_and_its_markers_are_special_tokens(model_dir, tmp_path):
    from engine.chat import read_chat_template, render_chat
    from engine.tokenizer import Tokenizer

    tok = Tokenizer.from_file(model_dir / "tokenizer.json")
    tok.inner.add_special_tokens(["<|user|>"])
    marker = tok.inner.token_to_id("<|user|>")
    text = render_chat(CHAT, [{"role": "user", "content": "hi"}], tok.special_tokens())
    assert text == "<bos><|user|>hi\n<|model|>"
    ids = tok.encode_markup(text)
    assert ids[:2] == [tok.bos_id, marker]
    # Code that spells a marker stays ordinary text, also after a chat prompt was encoded.
    assert marker not in tok.encode("s = '<|user|>'") and tok.bos_id not in tok.encode("'<bos>'")

    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": [{"name": "default",
                                                                                  "template": CHAT}]}))
    assert read_chat_template(tmp_path) == CHAT
    with pytest.raises(CheckpointError, match="no chat template"):
        read_chat_template(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="only user turns"):
        render_chat("{{ raise_exception('only user turns') }}", [], {})
    with pytest.raises(CheckpointError, match="chat template: .*unsafe|chat template: .*not safely"):
        render_chat("{{ ''.__class__.__mro__[1].__subclasses__() }}", [], {})


def test_generate_chat_sends_the_prompt_as_a_turn(model_dir, tmp_path):
    import shutil

    chat = tmp_path / "chat"
    shutil.copytree(model_dir, chat)
    command = [sys.executable, "-m", "engine.cli", "generate", "--model", str(chat), "--device", "cpu",
               "--prompt", "def f():", "--max-new-tokens", "8", "--chat"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"generate: {chat}: no chat template (chat_template.jinja, or chat_template in tokenizer_config.json); "
        "leave out --chat to send the prompt as it is"]
    (chat / "chat_template.jinja").write_text(CHAT)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "steps over 1 canvas" in done.stderr


@pytest.mark.parametrize("argument", [{"max_steps": -1}, {"max_steps": 0}, {"max_tokens": 0}, {"num_candidates": 0},
                                      {"prompt_tokens": 0}, {"max_tokens": True}])
def test_sizes_that_are_not_positive_are_refused_by_name(argument):
    # max_steps=-1 failed deep in ranking with an AttributeError; 0 quietly meant the default.
    engine = InfillEngine.load(device="cpu")
    (name, value), = argument.items()
    with pytest.raises(ValueError, match=f"^{name} must be a positive integer"):
        engine.infill("x = ", "\n", **argument)


def test_a_bidirectional_encoder_encodes_the_whole_prompt_each_time(model_dir, tmp_path):
    # Each position's keys depend on the tokens after it, so a cached prefix is stale once the prompt changes.
    target = broken_copy(model_dir, tmp_path, "bidir")
    config = json.loads((target / "config.json").read_text())
    config["text_config"]["use_bidirectional_attention"] = "all"
    (target / "config.json").write_text(json.dumps(config))
    engine = InfillEngine.load(target, device="cpu", dtype="float32")
    tok, model = engine.tokenizer, engine.model
    assert model.cfg.encoder_bidirectional
    base = [tok.bos_id] + tok.encode("def parse(line):\n    name, _, value = line.partition(':')\n")
    canvas = torch.tensor([tok.encode(" ( value ) \n\n")[:8]])
    engine.prefix_cache.encode(base)
    for prompt in (base + tok.encode("    return name"), base[:12]):  # text typed, then text deleted
        got = engine.prefix_cache.encode(prompt)
        assert engine.prefix_cache.reused_tokens == 0
        with torch.inference_mode():
            a = model.decode(canvas, got)
            b = model.decode(canvas, model.encode(torch.tensor([prompt])))
        assert (a - b).abs().max() <= 1e-5
    # The same prompt again (a re-request at the same cursor) is the same encoding.
    assert engine.prefix_cache.encode(base[:12]) is got and engine.prefix_cache.reused_tokens == 12


def test_a_bidirectional_encoder_survives_saving_its_config():
    # to_hf wrote use_bidirectional_attention null: a shipped copy of such a checkpoint loaded with a causal
    # encoder and the halved window.
    hf = tiny_config().to_hf()
    hf["text_config"].update(use_bidirectional_attention="all", sliding_window=30)
    config = ModelConfig.from_hf(hf)
    assert config.encoder_bidirectional and config.sliding_window == 16
    saved = config.to_hf()["text_config"]
    assert saved["use_bidirectional_attention"] == "all" and saved["sliding_window"] == 30
    assert ModelConfig.from_hf(config.to_hf()) == config
    assert tiny_config().to_hf()["text_config"]["use_bidirectional_attention"] is None


def test_a_checkpoints_suppressed_tokens_are_never_written(tmp_path):
    # generation_config.json's suppress_tokens: here every byte that is only part of a character.
    plain = load_checkpoint(write_random_checkpoint(tmp_path / "plain"), device="cpu", dtype="float32")
    whole = load_checkpoint(write_random_checkpoint(tmp_path / "whole", whole_characters=True), device="cpu",
                            dtype="float32")
    suppressed = set(whole.generation.suppress_tokens)
    assert len(suppressed) == 128 and not plain.generation.suppress_tokens
    prompt = torch.tensor([[2, *whole.tokenizer.encode("def f(x):\n    return")]])
    written = {}
    for name, loaded in (("plain", plain), ("whole", whole)):
        ids = generate(loaded.model, prompt, loaded.generation, seed=3, max_new_tokens=64).sequences
        written[name] = set(ids[0, prompt.shape[1]:].tolist())
    assert written["plain"] & suppressed  # random weights write them often
    assert not written["whole"] & suppressed
    assert GenerationConfig.from_hf(whole.generation.to_hf()).suppress_tokens == whole.generation.suppress_tokens
    with pytest.raises(CheckpointError, match=r"^g.json: suppress_tokens must be a list of token ids in the "
                                              r"vocabulary, got \[5, 9999\]$"):
        GenerationConfig.from_hf({"suppress_tokens": [5, 9999]}, whole.config, source="g.json")
