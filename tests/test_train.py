"""Training: the objective lowers the loss, checkpoints resume to the same run, fine-tuning starts from weights."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import os
import shutil
import signal
import stat
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open

import engine.canvas
import engine.corpus
import engine.languages
from engine.checkpoint import load_checkpoint
from engine.dataset import pretokenize
from engine.errors import EngineError
from engine.train import Trainer, TrainConfig, add_arguments, config_from_args, corrupt, denoising_loss, run
from engine.vocab import train_tokenizer

VOCAB = 512


@pytest.fixture(autouse=True)
def one_thread():
    # A tiny model is all small ops: a second thread only adds synchronisation on a busy machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    corpus = root / "corpus"
    corpus.mkdir()
    sources = {"corpus": engine.corpus, "canvas": engine.canvas, "languages": engine.languages}
    for split, names in (("train", ["corpus", "canvas"]), ("heldout", ["languages"])):
        with open(corpus / f"{split}.jsonl", "w") as fh:
            for name in names:
                doc = {"path": name, "package": name, "language": "python", "text": inspect.getsource(sources[name])}
                fh.write(json.dumps(doc) + "\n")
    tok = train_tokenizer([inspect.getsource(m) for m in sources.values()], vocab_size=VOCAB)
    tok.save(str(root / "tokenizer.json"))
    pretokenize(corpus, root / "tokenizer.json", root / "tokens", workers=1, log=lambda *_: None)
    return root


def _config(root, out, **kw) -> TrainConfig:
    base = dict(data=str(root / "tokens"), tokenizer=str(root / "tokenizer.json"), out=str(out), preset="tiny",
                model_overrides={"vocab_size": VOCAB, "canvas_length": 16}, steps=6, batch_size=4,
                prefix_budgets=[16, 32], warmup_steps=2, lr=3e-3, device="cpu", log_every=1, eval_every=3,
                eval_batches=1, save_every_s=1e9)
    base.update(kw)
    return TrainConfig(**base)


def test_corruption_touches_holes_only():
    target = torch.arange(2 * 40).reshape(2, 40) % 50 + 3
    hole = torch.zeros(2, 40, dtype=torch.bool)
    hole[:, :30] = True
    noisy, t = corrupt(target, hole, 1000, 0.999, torch.Generator().manual_seed(0))
    assert torch.equal(noisy[:, 30:], target[:, 30:])
    assert (noisy[:, :30] != target[:, :30]).float().mean() > 0.9  # t close to 1: nearly all replaced
    assert t.min() >= 0.999


def test_training_lowers_loss_on_a_batch(data_dir, tmp_path):
    trainer = Trainer(_config(data_dir, tmp_path / "run"), log=lambda *_: None)
    batch = trainer.stream.batch(0, 4)

    def loss() -> float:
        with torch.no_grad():
            return float(denoising_loss(trainer.model, batch, torch.Generator().manual_seed(1), 1e-3, 0.0,
                                        False)["loss"])

    before = loss()
    opt = torch.optim.AdamW(trainer.model.parameters(), lr=3e-3)
    for _ in range(15):
        out = denoising_loss(trainer.model, batch, torch.Generator().manual_seed(1), 1e-3, 0.5, False)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    after = loss()
    assert after < before - 0.5, (before, after)


def test_resume_restores_state_and_data_order(data_dir, tmp_path):
    # A warmup of a sixth: a fifth of the run at most, so that it is not cut (`scale_warmup`).
    straight = Trainer(_config(data_dir, tmp_path / "straight", steps=6, warmup_steps=1), log=lambda *_: None)
    straight.run()

    def stop_at_3(line: str) -> None:
        if line.startswith("loss=") and " step=3/6 " in line:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the run saves the step it is on

    first = Trainer(_config(data_dir, tmp_path / "split", steps=6, warmup_steps=1), log=stop_at_3)
    first.run()
    assert first.interrupted == signal.SIGINT and first.progress.step == 3
    state = tmp_path / "split" / "last" / "train_state.safetensors"
    with safe_open(str(state), framework="pt") as fh:
        assert json.loads(fh.metadata()["progress"])["step"] == 3
        assert any(k.endswith(".exp_avg_sq") for k in fh.keys())
    second = Trainer(_config(data_dir, tmp_path / "split", steps=6, warmup_steps=1), log=lambda *_: None)
    assert second.progress.step == 3
    for p in first.model.parameters():
        s_first = first.optimizer.state[p]
        break
    p2 = next(iter(second.model.parameters()))
    assert torch.equal(second.optimizer.state[p2]["exp_avg"], s_first["exp_avg"])
    second.run()
    assert second.progress.step == 6
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), second.model.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert (tmp_path / "split" / "best" / "model.safetensors").is_file()
    # Every file of a checkpoint is as readable as the config beside it (safetensors wrote its files 0600): a server
    # run as another user loads it.
    for folder in ("best", "last"):
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in (tmp_path / "split" / folder).iterdir()}
        assert set(modes.values()) == {modes["config.json"]}, modes
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    saved = config_from_args(parser.parse_args(["--out", str(tmp_path / "split"), "--steps", "9"]))
    assert saved.steps == 9 and saved.batch_size == 4 and saved.data == str(data_dir / "tokens")
    lines = (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines if "loss" in json.loads(x)] == [1, 2, 3, 4, 5, 6]


def test_init_from_fine_tunes_a_checkpoint(data_dir, tmp_path):
    base = Trainer(_config(data_dir, tmp_path / "base", steps=2), log=lambda *_: None)
    base.run()
    ckpt = load_checkpoint(tmp_path / "base" / "last", device="cpu", dtype="float32")
    tuned = Trainer(_config(data_dir, tmp_path / "tuned", steps=2, init_from=str(tmp_path / "base" / "last"),
                            preset="cpu"), log=lambda *_: None)
    assert tuned.progress.step == 0 and tuned.model_cfg.hidden_size == ckpt.config.hidden_size
    for a, b in zip(tuned.model.state_dict().values(), ckpt.model.state_dict().values()):
        assert torch.equal(a, b)
    tuned.run()
    assert load_checkpoint(tmp_path / "tuned" / "last", device="cpu").config.vocab_size == VOCAB


def test_several_canvas_widths_train_and_are_recorded_in_the_checkpoint(data_dir, tmp_path):
    trainer = Trainer(_config(data_dir, tmp_path / "run", steps=4, canvas_lengths=[12, 16]), log=lambda *_: None)
    widths = {trainer.stream.batch(i, 4).target.shape[1] for i in range(12)}
    assert widths == {12, 16}
    trainer.run()
    saved = load_checkpoint(tmp_path / "run" / "last", device="cpu")
    assert saved.config.infill_canvas_lengths == [12, 16] and saved.config.canvas_length == 16


def test_a_fine_tune_trains_every_width_its_checkpoint_knows(data_dir, tmp_path):
    Trainer(_config(data_dir, tmp_path / "base", steps=1, canvas_lengths=[12, 16]), log=lambda *_: None).run()
    tuned = Trainer(_config(data_dir, tmp_path / "tuned", steps=1, init_from=str(tmp_path / "base" / "last")),
                    log=lambda *_: None)
    assert {tuned.stream.batch(i, 4).target.shape[1] for i in range(12)} == {12, 16}


def test_worker_processes_build_the_batches_of_the_same_run(data_dir, tmp_path):
    here = Trainer(_config(data_dir, tmp_path / "here", steps=4, workers=0), log=lambda *_: None)
    here.run()
    pooled = Trainer(_config(data_dir, tmp_path / "pooled", steps=4, workers=2), log=lambda *_: None)
    assert pooled.workers == 2
    pooled.run()
    for (name, a), (_, b) in zip(here.model.state_dict().items(), pooled.model.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name
    # A jump in the step count (a resume, a benchmark) restarts the workers at the new step.
    pooled.progress.step = 9
    assert torch.equal(pooled.next_batch().target, here.stream.batch(9, 4).target)


def test_a_fine_tune_with_batch_workers_runs_to_the_end_with_parallel_tokenizers(data_dir, tmp_path):
    # The starting checkpoint is scored before the first step, with this process tokenizing; the batch workers
    # forked after that hung on the tokenizer's thread pool when TOKENIZERS_PARALLELISM=true.
    Trainer(_config(data_dir, tmp_path / "base", steps=2), log=lambda *_: None).run()
    cmd = [sys.executable, "-m", "engine.cli", "train", "--data", str(data_dir / "tokens"),
           "--tokenizer", str(data_dir / "tokenizer.json"), "--init-from", str(tmp_path / "base" / "last"),
           "--out", str(tmp_path / "tuned"), "--steps", "3", "--batch-size", "4", "--workers", "2",
           "--device", "cpu", "--threads", "1", "--eval-every", "100", "--eval-batches", "2"]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "true"}
    # Its own process group, so that hung batch workers are stopped with it rather than left behind.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the fine-tune with batch workers did not finish in 120 s")
    assert proc.returncode == 0, err[-2000:]
    log = (tmp_path / "tuned" / "log.txt").read_text()
    assert "eval step=0 " in log and "eval step=3 " in log, log


def test_bf16_autocast_step_with_self_conditioning(data_dir, tmp_path):
    # The CUDA path trains under bf16 autocast; on a CPU the same autocast exercises the same mixed dtypes.
    trainer = Trainer(_config(data_dir, tmp_path / "run"), log=lambda *_: None)
    batch = trainer.stream.batch(0, 4)
    out = denoising_loss(trainer.model, batch, torch.Generator().manual_seed(0), 1e-3, 1.0, True)
    out["loss"].backward()
    assert torch.isfinite(out["loss"])
    grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_self_conditioning_temperatures_follow_the_setting(data_dir, tmp_path):
    # The logits fed back in training are scaled as the sampler scales them: a cooler range, sharper inputs.
    trainer = Trainer(_config(data_dir, tmp_path / "run"), log=lambda *_: None)
    batch = trainer.stream.batch(0, 4)

    def loss(temps):
        with torch.no_grad():
            return float(denoising_loss(trainer.model, batch, torch.Generator().manual_seed(0), 1e-3, 1.0, False,
                                        temps)["loss"])

    assert loss((0.4, 0.8)) == loss((0.4, 0.8)) != loss((0.1, 0.2))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"self_conditioning_temperatures": [0.5, 0.1]}))
    with pytest.raises(EngineError, match=r"self_conditioning_temperatures \[0.5, 0.1\]"):
        config_from_args(parser.parse_args(["--config", str(bad), "--out", str(tmp_path / "x")]))


def test_dense_and_grouped_experts_are_the_same_function(data_dir, tmp_path):
    # Dense experts exist to avoid a host sync per layer on a GPU; they must train exactly what the grouped loop
    # (the inference path) computes: same loss, same gradients, with self-conditioning and the router balance.
    cfg = _config(data_dir, tmp_path / "run", expert_dispatch="grouped")
    trainer = Trainer(cfg, log=lambda *_: None)
    with torch.no_grad():  # routing weights far from uniform, so tokens go to different experts
        for block in trainer.model.layers:
            block.router.proj.weight.normal_(0, 1.0, generator=torch.Generator().manual_seed(1))
    batch = trainer.stream.batch(0, 4)

    def loss_and_grads(dispatch):
        trainer.model.set_expert_dispatch(dispatch)
        trainer.model.zero_grad(set_to_none=True)
        trainer.balance.enabled = True
        out = denoising_loss(trainer.model, batch, torch.Generator().manual_seed(0), 1e-3, 1.0, False)
        total = out["loss"] + 0.01 * trainer.balance.take()
        trainer.balance.enabled = False
        total.backward()
        return total.detach(), {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}

    routed = torch.cat([b.router(torch.randn(64, b.router.proj.in_features))[1].flatten()
                        for b in trainer.model.layers])
    assert len(routed.unique()) == trainer.model.cfg.num_experts
    grouped_loss, grouped = loss_and_grads("grouped")
    dense_loss, dense = loss_and_grads("dense")
    torch.testing.assert_close(dense_loss, grouped_loss, rtol=1e-5, atol=1e-6)
    assert dense.keys() == grouped.keys() and any("experts" in n for n in dense)
    for name in dense:
        torch.testing.assert_close(dense[name], grouped[name], rtol=1e-4, atol=1e-6, msg=name)
    with pytest.raises(ValueError, match="expert dispatch 'sparse'"):
        trainer.model.set_expert_dispatch("sparse")


def test_expert_dispatch_setting(data_dir, tmp_path):
    # auto: dense only where it pays, on CUDA with few experts; a CPU keeps the grouped loop.
    trainer = Trainer(_config(data_dir, tmp_path / "run"), log=lambda *_: None)
    assert trainer.expert_dispatch == "grouped"
    assert {b.experts.dispatch for b in trainer.model.layers} == {"grouped"}
    trainer = Trainer(_config(data_dir, tmp_path / "run2", expert_dispatch="dense"), log=lambda *_: None)
    assert {b.experts.dispatch for b in trainer.model.layers} == {"dense"}
    from engine.train import resolve_expert_dispatch
    assert resolve_expert_dispatch("auto", torch.device("cuda"), trainer.model_cfg) == "dense"
    many = dataclasses.replace(trainer.model_cfg, num_experts=128)
    assert resolve_expert_dispatch("auto", torch.device("cuda"), many) == "grouped"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"expert_dispatch": "sparse"}))
    with pytest.raises(EngineError, match="expert_dispatch 'sparse': choose from auto, grouped, dense"):
        config_from_args(parser.parse_args(["--config", str(bad), "--out", str(tmp_path / "x")]))


def test_accumulated_micro_batches_make_one_step_of_their_mean_gradient(data_dir, tmp_path):
    kw = dict(batch_size=2, self_conditioning=0.0, router_aux_weight=0.0, grad_clip=1e9)
    trainer = Trainer(_config(data_dir, tmp_path / "run", accumulate=2, **kw), log=lambda *_: None)
    twin = Trainer(_config(data_dir, tmp_path / "twin", **kw), log=lambda *_: None)  # same seed: same weights
    expected = [torch.zeros_like(q) for q in twin.model.parameters()]
    tokens = 0
    for micro in range(2):
        batch = twin.stream.batch(micro, 2)
        tokens += batch.encoder_ids.numel() + batch.target.numel()
        twin.model.zero_grad()
        denoising_loss(twin.model, batch, trainer._generator(0, micro), 1e-3, 0.0, False)["loss"].backward()
        for e, q in zip(expected, twin.model.parameters()):
            e += q.grad / 2
    trainer.step()
    for (name, q), e in zip(trainer.model.named_parameters(), expected):
        assert torch.allclose(q.grad, e, atol=1e-6), name
    assert trainer.progress.step == 1 and trainer.progress.tokens == tokens
    # The next step reads the next two micro-batches.
    assert torch.equal(trainer.next_batch(1).target, trainer.stream.batch(3, 2).target)


def test_a_fine_tune_keeps_a_best_checkpoint_only_if_it_beats_where_it_started(data_dir, tmp_path):
    base = Trainer(_config(data_dir, tmp_path / "base", steps=30, eval_every=100), log=lambda *_: None)
    base.run()
    lines = []
    # A learning rate this high only makes the trained weights worse.
    tuned = Trainer(_config(data_dir, tmp_path / "tuned", steps=3, eval_every=1, lr=1.0, warmup_steps=1,
                            init_from=str(tmp_path / "base" / "last")), log=lines.append)
    start = tuned.evaluate()
    tuned.run()
    assert any(line.startswith(f"eval step=0 heldout_loss={start:.4f}") for line in lines), lines
    evals = [json.loads(x) for x in (tmp_path / "tuned" / "metrics.jsonl").read_text().splitlines()
             if "heldout_loss" in x]
    assert [e["step"] for e in evals] == [0, 1, 2, 3]
    assert min(e["heldout_loss"] for e in evals[1:]) > start
    assert not (tmp_path / "tuned" / "best").exists()


def test_accumulate_must_be_positive(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(EngineError, match="--accumulate 0"):
        config_from_args(parser.parse_args(["--out", str(tmp_path / "run"), "--accumulate", "0"]))


@pytest.mark.parametrize("argv, expected", [
    (["--batch-size", "0"], "--batch-size 0: give an integer of at least 1"),
    (["--lr", "-1"], "--lr -1.0: give a number of at least 0"),
    (["--lr", "nan"], "--lr nan: give a number of at least 0"),
    (["--max-minutes", "inf"], "--max-minutes inf: give a number of at least 0"),
    (["--canvas-lengths", "0"], "--canvas-lengths [0]: give positive integers"),
    (["--model", "hidden_size=abc"], "--model hidden_size=abc: the value must be JSON"),
    (["--model", 'hidden_size="64"'], "--model: text_config.hidden_size must be a positive integer, got '64'"),
    # A fine-tune's model is its checkpoint's: the preset was ignored, and recorded in the log as if used.
    (["--init-from", "ckpt", "--preset", "base"],
     "--preset base: --init-from ckpt keeps the checkpoint's shape; drop --preset, or train a new model without "
     "--init-from"),
    ([{"preset": "base", "init_from": "ckpt"}], "settings.json: preset base: init_from ckpt keeps the checkpoint's "
                                                "shape; drop preset from "),
    ([{"preset": "base"}, "--init-from", "ckpt"], "settings.json: preset base: init_from ckpt keeps"),
    # Settings only a --config file gives (a dict here), named by their keys there. Each of these ended in a
    # traceback, in the first batch at the latest, or was taken though it is no probability.
    ([{"prefix_budgets": []}], "prefix_budgets []: give one prompt length or more (the default is [64, 128, 256])"),
    ([{"prefix_budgets": [True]}], "prefix_budgets [True]: give positive integers"),
    ([{"mix": {"bogus": 1}}], "mix: unknown key 'bogus'; choose from random_span, syntax_node, syntax_tail, "
                              "continuation, zero_slack, line_end, file_end, multi_hole, language_weights"),
    ([{"mix": []}], "mix []: give an object of sample weights and shares (random_span, "),
    ([{"steps": 2, "mix": {"multi_hole": 5}}], "mix.multi_hole 5: give a share from 0 to 1"),
    ([{"mix": {"continuation": -0.5}}], "mix.continuation -0.5: give a weight of at least 0"),
    ([{"mix": {"random_span": 0, "syntax_node": 0, "syntax_tail": 0, "continuation": 0, "multi_hole": 1}}],
     "every sample kind (random_span, syntax_node, syntax_tail, continuation) is weighted 0; give one a positive "
     "weight"),
    ([{"mix": {"language_weights": {"pyhton": 0.5}}}],
     "mix.language_weights: unknown language 'pyhton' (known: python, javascript, "),
    ([{"mix": {"language_weights": {"python": -1}}}], "mix.language_weights.python -1: give a weight of at least 0"),
    ([{"self_conditioning": 2}], "self_conditioning 2: give a number from 0 to 1"),
    ([{"eps": 2}], "eps 2: give a number from 0 to below 1"),
    ([{"eps": 1}], "eps 1: give a number from 0 to below 1"),
    ([{"grad_clip": -1}], "grad_clip -1: give a number of at least 0"),
])
def test_bad_training_settings_are_one_line_naming_the_setting(tmp_path, argv, expected):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    settings = tmp_path / "settings.json"
    for item in argv:
        if isinstance(item, dict):
            settings.write_text(json.dumps(item))
    argv = [arg for item in argv for arg in (["--config", str(settings)] if isinstance(item, dict) else [item])]
    with pytest.raises(EngineError, match=re.escape(expected)):
        config_from_args(parser.parse_args(["--out", str(tmp_path / "run"), *argv]))


def test_a_bad_config_file_or_a_damaged_run_is_named(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    bad = tmp_path / "bad.json"
    bad.write_text("{steps: 2}")
    with pytest.raises(EngineError, match=re.escape(f"{bad}: not a readable JSON file of training settings")):
        config_from_args(parser.parse_args(["--config", str(bad), "--out", str(tmp_path / "x")]))
    bad.write_text(json.dumps({"steps": "two"}))
    with pytest.raises(EngineError, match=re.escape("--steps 'two': give an integer of at least 0")):
        config_from_args(parser.parse_args(["--config", str(bad), "--out", str(tmp_path / "x")]))
    state = tmp_path / "run" / "last" / "train_state.safetensors"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(EngineError, match=re.escape(f"{state}: not a training state to resume from")):
        config_from_args(parser.parse_args(["--out", str(tmp_path / "run")]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_it_is_one_line(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(EngineError, match="no CUDA device is available"):
        config_from_args(parser.parse_args(["--out", str(tmp_path / "run"), "--device", "cuda"]))


def _cli(*argv) -> list[str]:
    return ["train", *argv, "--device", "cpu", "--threads", "1"]


def test_a_resume_refuses_settings_that_would_change_its_model(data_dir, tmp_path, capsys):
    from engine.cli import main

    run = tmp_path / "run"
    Trainer(_config(data_dir, run, steps=1), log=lambda *_: None).run()
    state = run / "last" / "train_state.safetensors"
    saved = state.read_bytes()
    bigger = {"vocab_size": VOCAB, "canvas_length": 16, "hidden_size": 32}
    with pytest.raises(EngineError, match=re.escape(
            f"{run / 'last'}: --preset/--model would change the model of the run it resumes (hidden_size 64 -> 32); "
            "give a new --out to train that model, or drop those flags to resume the run")):
        Trainer(_config(data_dir, run, steps=2, model_overrides=bigger), log=lambda *_: None)
    with pytest.raises(EngineError, match=r"would change the model .*\(global_head_dim 32 -> 96, head_dim 32 -> 48, "
                                          r"hidden_size 64 -> 192, "):
        Trainer(_config(data_dir, run, steps=2, preset="cpu"), log=lambda *_: None)
    with pytest.raises(EngineError, match=re.escape(
            f"--init-from {run / 'last'} would be ignored: {run} holds a run (begun from scratch) that resumes from "
            "its own weights")):
        Trainer(_config(data_dir, run, steps=2, init_from=str(run / "last")), log=lambda *_: None)
    # The same model said again (a preset that another name gives the same sizes would too) resumes as before.
    same = Trainer(_config(data_dir, run, steps=2, model_overrides={**bigger, "hidden_size": 64}), log=lambda *_: None)
    assert same.progress.step == 1

    # From the command line, nothing is trained or recorded with settings the model does not have.
    assert main(_cli("--out", str(run), "--steps", "2", "--model", "canvas_length=12")) == 2
    assert "train: " + f"{run / 'last'}: --preset/--model would change the model of the run it resumes " \
        "(canvas_length 16 -> 12)" in capsys.readouterr().err
    assert state.read_bytes() == saved
    assert main(_cli("--out", str(run), "--steps", "2", "--eval-every", "100")) == 0
    assert load_checkpoint(run / "last", device="cpu").config.hidden_size == 64
    with safe_open(str(state), framework="pt") as fh:
        assert json.loads(fh.metadata()["progress"])["step"] == 2
        assert json.loads(fh.metadata()["train_config"])["model_overrides"] == {"vocab_size": VOCAB,
                                                                                "canvas_length": 16}


def test_a_fine_tune_takes_model_settings_but_keeps_the_checkpoints_shape(data_dir, tmp_path):
    Trainer(_config(data_dir, tmp_path / "base", steps=1), log=lambda *_: None).run()
    base = tmp_path / "base" / "last"
    shaped = {"vocab_size": VOCAB, "canvas_length": 16, "hidden_size": 32, "num_experts": 8}
    with pytest.raises(EngineError, match=re.escape(
            f"--model hidden_size=32 (64 in {base}), num_experts=8 (4 in {base}): --init-from keeps the checkpoint's "
            "shape; drop the override, or train a new model without --init-from")):
        Trainer(_config(data_dir, tmp_path / "tuned", init_from=str(base), model_overrides=shaped),
                log=lambda *_: None)
    tuned = Trainer(_config(data_dir, tmp_path / "tuned", steps=1, init_from=str(base),
                            model_overrides={"vocab_size": VOCAB, "canvas_length": 12, "sliding_window": 8}),
                    log=lambda *_: None)
    assert tuned.model_cfg.canvas_length == 12 and tuned.model_cfg.sliding_window == 8
    assert [block.window for block in tuned.model.layers] == [8, None]
    ckpt = load_checkpoint(base, device="cpu", dtype="float32")
    for (name, a), b in zip(tuned.model.state_dict().items(), ckpt.model.state_dict().values()):
        assert torch.equal(a, b), name
    tuned.run()
    saved = load_checkpoint(tmp_path / "tuned" / "last", device="cpu").config
    assert (saved.canvas_length, saved.sliding_window, saved.hidden_size) == (12, 8, 64)
    # Resuming the fine-tune with the command that began it goes on from its own weights.
    again = Trainer(_config(data_dir, tmp_path / "tuned", steps=2, init_from=str(base),
                            model_overrides={"vocab_size": VOCAB, "canvas_length": 12, "sliding_window": 8}),
                    log=lambda *_: None)
    assert again.progress.step == 1


def test_optimizer_moments_of_another_shape_are_refused(data_dir, tmp_path):
    from engine.train import load_train_state, save_train_state

    small = Trainer(_config(data_dir, tmp_path / "small", model_overrides={"vocab_size": VOCAB, "canvas_length": 16,
                                                                          "hidden_size": 32}), log=lambda *_: None)
    small.step()
    state = tmp_path / "train_state.safetensors"
    save_train_state(state, small.model, small.optimizer, small.progress, small.cfg)
    other = Trainer(_config(data_dir, tmp_path / "other"), log=lambda *_: None)
    with pytest.raises(EngineError, match=re.escape(f"{state}: the optimizer's ") + r"exp_avg(_sq)? of \S+ has shape "
                       r"\[\d+(, \d+)*\], the parameter \[\d+(, \d+)*\]: this state belongs to a model of another "
                       "shape"):
        load_train_state(state, other.model, other.optimizer)


def test_an_empty_train_split_is_refused_and_an_empty_heldout_split_means_no_evaluation(data_dir, tmp_path, capsys):
    from engine.cli import main

    tokens = tmp_path / "tokens"
    shutil.copytree(data_dir / "tokens", tokens)
    trainer = Trainer(_config(data_dir, tmp_path / "run", data=str(tokens)), log=lambda *_: None)
    assert trainer.eval_stream is not None
    meta = json.loads((tokens / "meta.json").read_text())
    for split in ("train", "heldout"):
        meta["splits"][split] = {"documents": 0, "tokens": 0, "bytes": 0, "spans": 0}
        for name in ("tokens", "text", "spans", "doc_lang"):
            (tokens / f"{split}.{name}").write_bytes(b"")
        for name in ("doc_tokens", "doc_bytes"):
            (tokens / f"{split}.{name}").write_bytes(bytes(8))
        (tokens / "meta.json").write_text(json.dumps(meta))
        if split == "train":
            argv = ["--data", str(tokens), "--tokenizer", str(data_dir / "tokenizer.json"), "--out",
                    str(tmp_path / "empty"), "--preset", "tiny", "--model", f"vocab_size={VOCAB}", "--steps", "1"]
            assert main(_cli(*argv)) == 2
            assert f"train: {tokens}: the train split has no documents" in capsys.readouterr().err
            assert not (tmp_path / "empty" / "last").exists()
            shutil.rmtree(tokens)
            shutil.copytree(data_dir / "tokens", tokens)
            meta = json.loads((tokens / "meta.json").read_text())
    # As `corpus --extends` leaves it: training goes on without evaluation, and without best/.
    # Said, so that a user fine-tuning on a repository whose split left nothing out knows why best/ never comes.
    logged = []
    trainer = Trainer(_config(data_dir, tmp_path / "run", data=str(tokens), steps=1), log=logged.append)
    assert trainer.eval_stream is None
    trainer.run()
    assert (tmp_path / "run" / "last").is_dir() and not (tmp_path / "run" / "best").exists()
    assert f"no held-out split in {tokens}: nothing is evaluated and best/ is never written; " \
           f"use {tmp_path / 'run' / 'last'}" in logged


def test_data_of_another_tokenizer_is_refused_with_a_command_that_remakes_it(data_dir, tmp_path):
    # The hint used to leave out --corpus and --out, so run as written it pretokenized the default corpus into
    # data/tokens, not the directory being trained on.
    other = tmp_path / "other.json"
    train_tokenizer(["def f(x):\n    return x + 1\n"] * 4, vocab_size=300).save(str(other))
    expected = (f"{data_dir / 'tokens'}: pretokenized with a different tokenizer than {other}; run `infill-engine "
                f"pretokenize --corpus CORPUS --tokenizer {other} --out {data_dir / 'tokens'}`")
    with pytest.raises(EngineError, match=re.escape(expected)):
        Trainer(_config(data_dir, tmp_path / "run", tokenizer=str(other)), log=lambda *_: None)


def test_a_new_model_records_the_longest_prompt_it_trains_on_and_a_fine_tune_self_conditions_as_it_samples(
        data_dir, tmp_path):
    from engine.checkpoint import save_checkpoint

    trainer = Trainer(_config(data_dir, tmp_path / "new"), log=lambda *_: None)
    # It said 1024, and was served prompts far longer than any it had seen.
    assert trainer.model_cfg.infill_prompt_tokens == 32
    assert trainer.cfg.self_conditioning_temperatures == [0.4, 0.8]
    base = tmp_path / "base"
    trainer.gen_cfg.t_max, trainer.gen_cfg.t_min = 0.4, 0.1
    save_checkpoint(base, trainer.model, trainer.model_cfg, trainer.gen_cfg, data_dir / "tokenizer.json")
    tuned = Trainer(_config(data_dir, tmp_path / "tuned", init_from=str(base)), log=lambda *_: None)
    # The logits fed back in training as cool as the checkpoint's sampler makes them; a setting still wins.
    assert tuned.cfg.self_conditioning_temperatures == [0.1, 0.4]
    assert tuned.model_cfg.infill_prompt_tokens == 32
    told = Trainer(_config(data_dir, tmp_path / "told", init_from=str(base),
                           self_conditioning_temperatures=[0.3, 0.5]), log=lambda *_: None)
    assert told.cfg.self_conditioning_temperatures == [0.3, 0.5]


def test_a_checkpoint_records_the_packages_it_was_trained_on(data_dir, tmp_path):
    from engine.checkpoint import TRAINING_DATA, read_training_data

    assert _train_packages(data_dir) == ["canvas", "corpus"]
    trainer = Trainer(_config(data_dir, tmp_path / "base", steps=1), log=lambda *_: None)
    trainer.run()
    base = tmp_path / "base" / "last"
    assert read_training_data(base) == read_training_data(tmp_path / "base" / "best")
    record = read_training_data(base)
    assert sorted(record.packages) == ["canvas", "corpus"] and not record.unrecorded
    # A fine-tune inherits its start's record; a start without one was trained on something unknown.
    (base / TRAINING_DATA).unlink()
    tuned = Trainer(_config(data_dir, tmp_path / "tuned", steps=1, init_from=str(base)), log=lambda *_: None)
    assert tuned.training_data.unrecorded and sorted(tuned.training_data.packages) == ["canvas", "corpus"]


def _train_packages(root):
    return json.loads((root / "tokens" / "meta.json").read_text())["splits"]["train"]["packages"]


def _start_settings(data_dir, out, **kw) -> dict:
    return {**dataclasses.asdict(_config(data_dir, out, steps=1)), **kw}


def _rewrite_saved_settings(state, **changes) -> None:
    """The run's saved settings edited in place: a run saved by an earlier version, which kept paths as given."""
    from safetensors.torch import save_file

    with safe_open(str(state), framework="pt") as fh:
        meta = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    meta["train_config"] = json.dumps({**json.loads(meta["train_config"]), **changes})
    save_file(tensors, str(state), metadata=meta)


def test_a_run_resumes_from_any_directory_and_names_a_start_path_that_is_gone(data_dir, tmp_path, monkeypatch,
                                                                               capsys):
    from engine.cli import main

    start, elsewhere = tmp_path / "start", tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(data_dir / "tokens", start / "tokens")
    shutil.copy(data_dir / "tokenizer.json", start / "tokenizer.json")
    (start / "start.json").write_text(json.dumps(_start_settings(data_dir, "run", data="tokens",
                                                                 tokenizer="tokenizer.json")))
    monkeypatch.chdir(start)
    assert main(_cli("--config", "start.json")) == 0
    run, state = start / "run", start / "run" / "last" / "train_state.safetensors"
    with safe_open(str(state), framework="pt") as fh:
        saved = json.loads(fh.metadata()["train_config"])
    assert (saved["data"], saved["tokenizer"]) == (str(start / "tokens"), str(start / "tokenizer.json"))
    monkeypatch.chdir(elsewhere)
    assert main(_cli("--out", str(run), "--steps", "2")) == 0
    capsys.readouterr()
    # Moved away: said to be the path the run was started with, not a directory never pretokenized.
    (start / "tokens").rename(start / "moved")
    assert main(_cli("--out", str(run), "--steps", "3")) == 2
    assert f"train: {run}: --data {start / 'tokens'}, the path this run was started with, has no meta.json; give " \
           "--data DIR" in capsys.readouterr().err
    assert main(_cli("--out", str(run), "--steps", "3", "--data", str(start / "moved"))) == 0
    # A run saved with a relative path reads it from the working directory, as it always did.
    _rewrite_saved_settings(state, data="moved")
    assert main(_cli("--out", str(run), "--steps", "4")) == 2
    assert f"train: {run}: --data moved, the path this run was started with, has no meta.json here " \
           f"({elsewhere})" in capsys.readouterr().err
    monkeypatch.chdir(start)
    assert main(_cli("--out", "run", "--steps", "4")) == 0
    with safe_open(str(state), framework="pt") as fh:
        assert json.loads(fh.metadata()["progress"])["step"] == 4
        assert json.loads(fh.metadata()["train_config"])["data"] == "moved"


def test_a_config_file_given_to_a_resumed_run_applies_on_top_of_its_saved_settings(data_dir, tmp_path, capsys):
    from engine.cli import main

    run = tmp_path / "run"
    Trainer(_config(data_dir, run, steps=1), log=lambda *_: None).run()
    state = run / "last" / "train_state.safetensors"
    more = tmp_path / "more.json"
    more.write_text(json.dumps({"lr": 1e-3, "prefix_budgets": [16], "mix": {"continuation": 0.5},
                                "model_overrides": {"vocab_size": VOCAB}}))
    assert main(_cli("--out", str(run), "--config", str(more), "--steps", "2")) == 0
    printed = capsys.readouterr().out
    assert re.search(r"resumed \S+ at step 1, with changed settings: steps 1 -> 2, lr 0\.003 -> 0\.001, "
                     r"prefix_budgets \[16, 32\] -> \[16\], mix \{\} -> \{\"continuation\": 0\.5\}, threads null -> 1$",
                     printed, re.M), printed
    with safe_open(str(state), framework="pt") as fh:
        saved = json.loads(fh.metadata()["train_config"])
    assert (saved["lr"], saved["prefix_budgets"], saved["mix"]) == (1e-3, [16], {"continuation": 0.5})
    assert saved["model_overrides"] == {"vocab_size": VOCAB, "canvas_length": 16} and saved["batch_size"] == 4
    # What would give the run another model, or another start, is refused, naming the file.
    written = state.read_bytes()
    for settings, expected in (
            ({"preset": "cpu"}, f"train: {more}: preset/model_overrides would change the model of the run in {run} "
                                "(global_head_dim 32 -> 96, "),
            ({"model_overrides": {"hidden_size": 32}}, f"train: {more}: preset/model_overrides would change the model "
                                                       f"of the run in {run} (hidden_size 64 -> 32); give a new --out "
                                                       f"to train that model, or drop them from {more} to resume the "
                                                       "run"),
            ({"init_from": str(run / "last")}, f"train: {more}: init_from {run / 'last'} would be ignored: {run} "
                                               "holds a run (begun from scratch) that resumes from its own weights")):
        more.write_text(json.dumps(settings))
        assert main(_cli("--out", str(run), "--config", str(more), "--steps", "3")) == 2
        assert expected in capsys.readouterr().err
    assert state.read_bytes() == written


# ---------------------------------------------------------------------------------------------------- stopping


def _settings_file(data_dir, tmp_path, **kw):
    """A --config file of the tiny settings, for a run in a real `infill-engine train` process."""
    settings = {**dataclasses.asdict(_config(data_dir, tmp_path / "unused")), **kw}
    settings.pop("out")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings))
    return path


def _metric_steps(run) -> list[int]:
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["step"] for r in records if "loss" in r]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_saves_its_last_step_and_says_how_to_resume(data_dir, tmp_path, sig):
    # Ctrl-C or SIGTERM lost every step since the last save (5 minutes by default) without a word.
    run = tmp_path / "run"
    settings = _settings_file(data_dir, tmp_path, steps=100_000, eval_every=100_000)
    cmd = [sys.executable, "-m", "engine.cli", "train", "--config", str(settings), "--out", str(run),
           "--device", "cpu", "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if re.search(r"\bstep=\d+", line) and "loss=" in line:
                proc.send_signal(sig)
                break
        rest, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the interrupted run did not stop in 120 s")
    assert proc.returncode == 128 + sig, err[-2000:]
    said = re.findall(r"interrupted at step (\d+); resume with: infill-engine train --out (\S+)$", rest, re.M)
    assert len(said) == 1 and said[0][1] == str(run), rest + err
    step = int(said[0][0])
    assert json.loads((run / "last" / "progress.json").read_text())["step"] == step >= 1
    assert not list(run.glob(".*staging")) and _metric_steps(run) == list(range(1, step + 1))
    # The steps logged after the save are trained again on resuming: recorded once, not twice.
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"step": step + 1, "loss": 9.0}) + "\n")
    from engine.cli import main

    assert main(_cli("--out", str(run), "--steps", str(step + 2))) == 0
    assert _metric_steps(run) == list(range(1, step + 3))


@pytest.mark.skipif(sys.platform != "linux", reason="the memory free is read on Linux only")
def test_no_memory_check_is_not_a_setting_of_the_run_and_resumes_weights_the_memory_has_no_room_for(data_dir, tmp_path):
    # The flag is about the machine a command runs on: a run begun with it resumes checked, and its last/ (here given
    # the weights of a checkpoint larger than the memory) is refused by the memory check, or read with the flag.
    from engine.cli import main
    from engine.memory import ADDRESS_SPACE
    from test_memory import NET, oversized_checkpoint, refused

    run = tmp_path / "run"
    assert main(_cli("--out", str(run), "--data", str(data_dir / "tokens"), "--tokenizer",
                     str(data_dir / "tokenizer.json"), "--preset", "tiny", "--model", f"vocab_size={VOCAB}",
                     "--steps", "1", "--no-memory-check")) == 0
    for weights in (run / "last").glob("model*.safetensors*"):
        weights.unlink()
    for file in oversized_checkpoint().iterdir():
        if file.name.startswith("model") or file.name == "config.json":
            (run / "last" / file.name).unlink(missing_ok=True)
            (run / "last" / file.name).symlink_to(file)
    code = NET + "from engine.cli import main\nsys.exit(main(sys.argv[1:]))"
    resume = [sys.executable, "-c", code, *_cli("--out", str(run))]
    result = subprocess.run(resume, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and re.fullmatch(f"train: {refused(run / 'last', ADDRESS_SPACE)}\n",
                                                   result.stderr), result.stderr
    result = subprocess.run([*resume, "--no-memory-check"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "out of memory loading model-" in result.stderr, result.stderr


def test_a_folder_with_a_runs_log_but_nothing_to_resume_is_refused(data_dir, tmp_path, capsys):
    # `train --out runs/NAME`, the documented resume, silently began a new random model where no last/ was saved.
    from engine.cli import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "log.txt").write_text("2024-01-01 00:00:00 config: {}\n")
    argv = _cli("--out", str(run), "--data", str(data_dir / "tokens"), "--tokenizer", str(data_dir / "tokenizer.json"),
                "--preset", "tiny", "--model", f"vocab_size={VOCAB}", "--steps", "1")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"train: {run}: holds a run's log.txt but no last/ to resume from (it stopped before its first "
                   f"save); give the run a new --out, or remove {run} to start it there afresh"]
    assert sorted(p.name for p in run.iterdir()) == ["log.txt"]
    # A fine-tune begins afresh with its --init-from given again, and its metrics are begun anew.
    Trainer(_config(data_dir, tmp_path / "base", steps=1), log=lambda *_: None).run()
    (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 9.0}) + "\n")
    # (Without --preset: a fine-tune's model is its checkpoint's, and a preset given with it is refused.)
    assert main(_cli("--out", str(run), "--data", str(data_dir / "tokens"), "--steps", "1", "--init-from",
                     str(tmp_path / "base" / "last"), "--eval-every", "100")) == 0
    # The start's score, then step 1's training loss (the last step is logged) and its score: the old line is gone.
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [0, 1, 1]


def test_a_new_run_in_a_folder_holding_an_earlier_runs_best_is_refused(data_dir, tmp_path, capsys):
    # A fine-tune begun afresh there left the earlier attempt's best/ in place, and its end named that checkpoint,
    # trained on something else, as the run's result.
    from engine.cli import main

    Trainer(_config(data_dir, tmp_path / "base", steps=1), log=lambda *_: None).run()
    run = tmp_path / "run"
    (run / "best").mkdir(parents=True)
    (run / "best" / "config.json").write_text("{}")
    argv = _cli("--out", str(run), "--data", str(data_dir / "tokens"), "--init-from", str(tmp_path / "base" / "last"),
                "--steps", "1")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"train: {run}: holds an earlier run's best/ but no last/ to resume from; give the run a new "
                   f"--out, or remove {run / 'best'} to start it there afresh"]
    assert sorted(p.name for p in run.iterdir()) == ["best"]


def test_a_failed_start_leaves_no_run_folder(data_dir, tmp_path, capsys, monkeypatch):
    from engine.cli import main

    run = tmp_path / "run"
    assert main(_cli("--out", str(run), "--data", str(tmp_path / "none"), "--tokenizer",
                     str(data_dir / "tokenizer.json"), "--preset", "tiny")) == 2
    assert f"{tmp_path / 'none' / 'meta.json'}: not found" in capsys.readouterr().err
    assert not run.exists()
    # The default tokenizer, where there is none: said as the flag to give.
    monkeypatch.chdir(tmp_path)
    assert main(_cli("--out", str(run), "--data", str(data_dir / "tokens"), "--preset", "tiny")) == 2
    assert capsys.readouterr().err == (f"train: --tokenizer {tmp_path / 'data' / 'tokenizer.json'}: not found; give "
                                       f"--tokenizer FILE, the tokenizer.json {data_dir / 'tokens'} was pretokenized "
                                       "with\n")
    # Neither the default tokenizer nor the default data: the data is said first, not a tokenizer for data not there.
    assert main(_cli("--out", str(run), "--preset", "tiny")) == 2
    assert capsys.readouterr().err == (f"train: {tmp_path / 'data' / 'tokens' / 'meta.json'}: not found (run "
                                       "`infill-engine pretokenize` first)\n")
    assert not run.exists()


def _new_run_argv(data_dir, run, *argv) -> list[str]:
    """A tiny new model's `infill-engine train` command line."""
    return _cli("--out", str(run), "--data", str(data_dir / "tokens"), "--tokenizer", str(data_dir / "tokenizer.json"),
                "--preset", "tiny", "--model", f"vocab_size={VOCAB}", "--model", "canvas_length=16",
                "--batch-size", "2", "--eval-batches", "1", *argv)


def test_a_bad_sample_mix_is_refused_before_the_run_folder_is_written(data_dir, tmp_path, capsys):
    # multi_hole 5 passed every check, and numpy refused its negative shares in the first batch, after log.txt was
    # written: the folder then refused the corrected command.
    from engine.cli import main

    run, settings = tmp_path / "run", tmp_path / "settings.json"
    settings.write_text(json.dumps({"steps": 2, "mix": {"multi_hole": 5}}))
    assert main(_new_run_argv(data_dir, run, "--config", str(settings))) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["train: mix.multi_hole 5: give a share from 0 to 1"]
    assert not run.exists()
    settings.write_text(json.dumps({"steps": 2, "mix": {"multi_hole": 0.5}}))
    assert main(_new_run_argv(data_dir, run, "--config", str(settings))) == 0
    assert json.loads((run / "last" / "progress.json").read_text())["step"] == 2


def test_canvases_and_prompts_that_do_not_fit_the_models_positions_are_refused(data_dir, tmp_path, capsys):
    # A prompt budget of 10^8 failed in the allocator; a canvas wider than the positions ran out of memory.
    from engine.cli import main

    run, settings = tmp_path / "run", tmp_path / "settings.json"
    settings.write_text(json.dumps({"prefix_budgets": [100_000_000]}))
    for argv, expected in (
            (["--config", str(settings)],
             "train: prefix_budgets [100000000]: a canvas of 16 and a prompt of 100000000 tokens (the longest of "
             "prefix_budgets) take 100000016 positions, more than the model's 131072 (max_position_embeddings); give "
             "canvas lengths and prefix budgets whose longest add up to at most 131072"),
            (["--canvas-lengths", "16", "200000"],
             "train: --canvas-lengths 16 200000: a canvas of 200000 and a prompt of 256 tokens (the longest of "
             "prefix_budgets) take 200256 positions, more than the model's 131072 (max_position_embeddings); "),
            # The model's own limit, and its own canvas width where --canvas-lengths gives none.
            (["--model", "max_position_embeddings=300", "--model", "canvas_length=280"],
             "train: canvas width 280 (the model's canvas_length or infill_canvas_lengths): a canvas of 280 and a "
             "prompt of 256 tokens (the longest of prefix_budgets) take 536 positions, more than the model's 300 "
             "(max_position_embeddings); ")):
        assert main(_new_run_argv(data_dir, run, "--steps", "1", *argv)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(expected), err
        assert not run.exists()
    # A canvas and prompt that fill the positions exactly fit them.
    fitted = Trainer(_config(data_dir, tmp_path / "fits", prefix_budgets=[16, 32],
                             model_overrides={"vocab_size": VOCAB, "canvas_length": 16, "max_position_embeddings": 48}),
                     log=lambda *_: None)
    assert fitted.stream.batch(0, 2).target.shape[1] == 16
    # A fine-tune is held to its checkpoint's positions.
    Trainer(_config(data_dir, tmp_path / "base", steps=1), log=lambda *_: None).run()
    with pytest.raises(EngineError, match=re.escape("prefix_budgets [16, 200000]: a canvas of 16 and a prompt of "
                                                    "200000 tokens")):
        Trainer(_config(data_dir, tmp_path / "tuned", init_from=str(tmp_path / "base" / "last"),
                        prefix_budgets=[16, 200_000]), log=lambda *_: None)
    assert not (tmp_path / "tuned").exists()


def test_a_benchmark_takes_one_step_or_more_and_writes_nothing(data_dir, tmp_path, capsys):
    # --benchmark 0 was read as no benchmark, and began a real run of 20,000 steps; -1 printed nonsense.
    from engine.cli import main

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for steps in ("0", "-1"):
        with pytest.raises(SystemExit) as refused:
            parser.parse_args(["--benchmark", steps])
        assert refused.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
            f"error: argument --benchmark: must be at least 1, got {steps}")
    run = tmp_path / "run"
    assert main(_new_run_argv(data_dir, run, "--benchmark", "1")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["preset"] == "tiny" and printed["s_per_step"] > 0
    assert not run.exists()


def test_a_new_model_of_no_steps_writes_nothing_and_a_fine_tune_of_none_scores_its_start(data_dir, tmp_path, capsys):
    # A new model's --steps 0 wrote log.txt and metrics.jsonl and no last/, and the folder then refused the next run.
    from engine.cli import main

    run = tmp_path / "run"
    assert main(_new_run_argv(data_dir, run, "--steps", "0")) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith(
        " result: no step trained (--steps 0), so nothing was saved")
    assert not run.exists()
    assert main(_new_run_argv(data_dir, run, "--steps", "1")) == 0
    assert json.loads((run / "last" / "progress.json").read_text())["step"] == 1
    capsys.readouterr()
    # A fine-tune of no step scores the checkpoint it starts from, as docs/training.md's comparison does.
    tuned = tmp_path / "tuned"
    assert main(_cli("--init-from", str(run / "last"), "--data", str(data_dir / "tokens"), "--out", str(tuned),
                     "--steps", "0", "--batch-size", "2", "--eval-batches", "1")) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r" result: no step trained \(--steps 0\), so nothing was saved; the starting checkpoint's "
                     r"held-out loss is [\d.]+$", last), last
    assert [json.loads(x)["step"] for x in (tuned / "metrics.jsonl").read_text().splitlines()] == [0]
    assert "eval step=0 heldout_loss=" in (tuned / "log.txt").read_text() and not (tuned / "last").exists()


def test_an_out_that_is_a_checkpoint_or_the_embedded_model_is_refused(data_dir, tmp_path, capsys):
    from engine.cli import main
    from engine.infill import DEFAULT_MODEL_DIR

    Trainer(_config(data_dir, tmp_path / "base", steps=1), log=lambda *_: None).run()
    model = tmp_path / "model"
    shutil.copytree(tmp_path / "base" / "last", model)
    written = {p.name: p.read_bytes() for p in model.iterdir()}
    common = ("--data", str(data_dir / "tokens"), "--steps", "1", "--eval-batches", "1")
    for argv, expected in (
            (("--init-from", str(model), "--out", str(model)),
             f"train: --out {model}: is the --init-from checkpoint; a run writes last/, best/ and its log into its "
             "--out: give it a folder of its own (runs/NAME)"),
            (("--init-from", str(tmp_path / "base" / "last"), "--out", str(model)),
             f"train: --out {model}: is a checkpoint directory (it holds config.json); a run writes last/, best/ and "
             "its log into its --out: give it a folder of its own (runs/NAME)"),
            (("--init-from", str(model), "--out", str(model / "run")),
             f"train: --out {model / 'run'}: is inside the --init-from checkpoint {model}; a run writes last/, best/ "
             "and its log into its --out: give it a folder of its own (runs/NAME)")):
        assert main(_cli(*common, *argv)) == 2
        assert capsys.readouterr().err.strip().splitlines() == [expected]
    assert {p.name: p.read_bytes() for p in model.iterdir()} == written
    # The embedded model is packaged with the engine: a run in its folder would ship in every wheel.
    for out in (DEFAULT_MODEL_DIR, DEFAULT_MODEL_DIR / "runs" / "mine"):
        with pytest.raises(EngineError, match=re.escape(f"--out {out}: is in the embedded model's folder "
                                                        f"({DEFAULT_MODEL_DIR.resolve()}), which is packaged with the "
                                                        "engine; give the run a folder of its own (runs/NAME)")):
            Trainer(_config(data_dir, out, init_from=str(model)), log=lambda *_: None)
    assert not (DEFAULT_MODEL_DIR / "runs").exists()


# ---------------------------------------------------------------------------------------------------- telling


def test_progress_lines_give_the_steps_the_time_a_step_and_the_time_left(data_dir, tmp_path):
    lines = []
    Trainer(_config(data_dir, tmp_path / "run", steps=3), log=lines.append).run()
    progress = [line for line in lines if "loss=" in line and "heldout" not in line]
    assert [re.search(r"\bstep=(\S+)", line).group(1) for line in progress] == ["1/3", "2/3", "3/3"]
    assert all(re.search(r"\bs_per_step=[\d.]+ left=\S+", line) for line in progress), progress
    assert re.search(r"\bleft=0s\b", progress[-1]), progress[-1]
    assert _metric_steps(tmp_path / "run") == [1, 2, 3]


def test_the_end_of_a_run_says_where_its_result_is(data_dir, tmp_path):
    lines = []
    run = tmp_path / "run"
    Trainer(_config(data_dir, run, steps=3), log=lines.append).run()
    assert re.fullmatch(rf"result: {re.escape(str(run / 'best'))} \(held-out loss [\d.]+ at step 3, the lowest of "
                        rf"the run\); {re.escape(str(run / 'last'))} is step 3; use it: infill-ls --model "
                        rf"{re.escape(str(run / 'best'))} \(or the editor's modelPath setting\)", lines[-1]), lines[-1]
    # A fine-tune that never beats its start: the start is still the one to use.
    lines.clear()
    tuned = tmp_path / "tuned"
    trainer = Trainer(_config(data_dir, tuned, steps=2, eval_every=1, lr=1.0, init_from=str(run / "last")),
                      log=lines.append)
    start = trainer.evaluate()
    trainer.run()
    assert lines[-1] == (f"result: best/ not written: no step beat the starting checkpoint {run / 'last'} "
                         f"(held-out loss {start:.4f}); it is still the one to use: infill-ls --model {run / 'last'} "
                         f"({tuned / 'last'} holds step 2)")
    # No held-out split: the last save is the result.
    tokens = tmp_path / "tokens"
    shutil.copytree(data_dir / "tokens", tokens)
    meta = json.loads((tokens / "meta.json").read_text())
    del meta["splits"]["heldout"]
    (tokens / "meta.json").write_text(json.dumps(meta))
    lines.clear()
    Trainer(_config(data_dir, tmp_path / "plain", steps=1, data=str(tokens)), log=lines.append).run()
    assert lines[-1] == (f"result: best/ not written: no held-out split in {tokens} to score the steps on; "
                         f"{tmp_path / 'plain' / 'last'} (step 1) is the result: infill-ls --model "
                         f"{tmp_path / 'plain' / 'last'} (or the editor's modelPath setting)")


def test_steps_below_where_a_resumed_run_is_are_refused(data_dir, tmp_path, capsys):
    from engine.cli import main

    run = tmp_path / "run"
    Trainer(_config(data_dir, run, steps=3), log=lambda *_: None).run()
    state = (run / "last" / "train_state.safetensors").read_bytes()
    assert main(_cli("--out", str(run), "--steps", "2")) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"train: --steps 2: the run in {run} is already at step 3; give --steps 3 or more (its weights so far are "
        f"{run / 'last'})"]
    assert (run / "last" / "train_state.safetensors").read_bytes() == state


# ---------------------------------------------------------------------------------------------------- warmup


def test_a_short_run_scales_its_warmup_down_and_says_so(data_dir, tmp_path, capsys):
    from engine.cli import main
    from engine.train import lr_at

    # 10 steps under the default 200-step warmup ended at a twentieth of --lr.
    run = tmp_path / "run"
    every_step = tmp_path / "every_step.json"
    every_step.write_text(json.dumps({"log_every": 1}))
    argv = _cli("--out", str(run), "--data", str(data_dir / "tokens"), "--tokenizer", str(data_dir / "tokenizer.json"),
                "--preset", "tiny", "--model", f"vocab_size={VOCAB}", "--model", "canvas_length=16",
                "--steps", "10", "--batch-size", "2", "--lr", "3e-4", "--eval-batches", "1", "--config",
                str(every_step))
    assert main(argv) == 0
    config = next(line for line in capsys.readouterr().out.splitlines() if " config: " in line)
    assert config.endswith(" (warmup_steps 200 -> 2: at most a fifth of the 10 steps, so that the learning rate "
                           "reaches --lr 0.0003)"), config
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in records if "lr" in r]
    assert max(lrs) == pytest.approx(3e-4)
    # Resumed with a longer schedule, the warmup stays the one it ran with.
    with safe_open(str(run / "last" / "train_state.safetensors"), framework="pt") as fh:
        assert json.loads(fh.metadata()["train_config"])["warmup_steps"] == 2
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    resumed = config_from_args(parser.parse_args(["--out", str(run), "--steps", "40"]))
    assert Trainer(resumed, log=lambda *_: None).cfg.warmup_steps == 2
    # A run long enough for its warmup keeps it: the embedded model's, 300 steps of 2,083, ran as its card says.
    long = Trainer(_config(data_dir, tmp_path / "long", steps=2083, warmup_steps=300, lr=2e-3), log=lambda *_: None)
    assert long.cfg.warmup_steps == 300 and lr_at(299, long.cfg) == 2e-3


def test_a_run_resumed_with_fewer_steps_cuts_its_warmup(data_dir, tmp_path):
    from engine.train import lr_at

    # A 300-step plan warms up over 60 steps; stopped at step 2 and resumed with --steps 10, it trained to its end
    # still warming up, at a sixth of --lr at most.
    def stop_at_2(line: str) -> None:
        if line.startswith("loss=") and " step=2/300 " in line:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the run saves the step it is on

    first = Trainer(_config(data_dir, tmp_path / "run", steps=300, warmup_steps=200, lr=3e-4, eval_every=1000),
                    log=stop_at_2)
    assert first.cfg.warmup_steps == 60
    first.run()
    assert first.progress.step == 2
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    resumed = Trainer(config_from_args(parser.parse_args(["--out", str(tmp_path / "run"), "--steps", "10"])),
                      log=lambda *_: None)
    assert resumed.cfg.warmup_steps == 2 and max(lr_at(s, resumed.cfg) for s in range(2, 10)) == pytest.approx(3e-4)
    assert resumed.warmup_note.startswith("warmup_steps 60 -> 2: at most a fifth of the 10 steps")
    # A warmup given anew is kept as given.
    kept = Trainer(config_from_args(parser.parse_args(["--out", str(tmp_path / "run"), "--steps", "10",
                                                       "--warmup-steps", "8"])), log=lambda *_: None)
    assert kept.cfg.warmup_steps == 8 and kept.warmup_note == ""


def test_a_stop_request_is_acknowledged_at_once(capfd):
    from engine.train import stop_requests

    with stop_requests() as caught:
        os.kill(os.getpid(), signal.SIGINT)
        assert caught == [signal.SIGINT]
        # With --accumulate the step it is on took 80 s, in silence.
        assert "SIGINT received: stopping after the step it is on" in capfd.readouterr().err


def test_a_fine_tunes_settings_name_the_tokenizer_it_reads(data_dir, tmp_path):
    Trainer(_config(data_dir, tmp_path / "base", steps=1), log=lambda *_: None).run()
    base = tmp_path / "base" / "last"
    tuned = Trainer(_config(data_dir, tmp_path / "tuned", init_from=str(base), tokenizer="data/tokenizer.json"),
                    log=lambda *_: None)
    assert tuned.cfg.tokenizer == str(base / "tokenizer.json")


def test_a_save_cut_off_between_its_renames_resumes_from_the_previous_one(data_dir, tmp_path, capsys):
    # A second Ctrl-C (or a kill) between moving last/ aside and moving the new save in left last.old alone.
    from engine.cli import main

    run = tmp_path / "run"
    Trainer(_config(data_dir, run, steps=1), log=lambda *_: None).run()
    (run / "last").rename(run / "last.old")
    assert main(_cli("--out", str(run), "--steps", "2")) == 0
    assert re.search(rf"resumed {re.escape(str(run / 'last'))}\S* at step 1", capsys.readouterr().out)
    assert json.loads((run / "last" / "progress.json").read_text())["step"] == 2 and not (run / "last.old").exists()


# ---------------------------------------------------------------------------------------------------- fitting


def test_fit_steps_replans_a_new_run_as_it_goes_and_a_resume_keeps_the_plan(data_dir, tmp_path, monkeypatch, capsys):
    import engine.train
    from engine.cli import main

    def saved_steps(run) -> int:
        with safe_open(str(run / "last" / "train_state.safetensors"), framework="pt") as fh:
            saved = json.loads(fh.metadata()["train_config"])
        assert saved["fit_steps"] is True
        return saved["steps"]

    # The plans a re-plan wants, by the step it is made at, in place of the ones this machine's pace would give.
    wanted = {2: 12, 3: 13, 4: 13, 6: 40}
    calls = []

    def fitted(step, s_per_step, left_s, eval_s, eval_every):
        calls.append(step)
        assert s_per_step > 0 and 0 < left_s <= 300 and eval_s > 0 and eval_every == 1000
        return wanted[step]

    # A tiny model runs at its pace from the first step: re-plans from step 2 on (3, 4, 6, 9...), not 100.
    monkeypatch.setattr(engine.train, "FIT_FIRST", 2)
    monkeypatch.setattr(engine.train, "fitted_steps", fitted)
    run = tmp_path / "run"
    settings = _settings_file(data_dir, tmp_path, steps=8, warmup_steps=1, eval_every=1000)
    assert main(_cli("--config", str(settings), "--out", str(run), "--max-minutes", "5", "--fit-steps")) == 0
    printed = capsys.readouterr().out
    fitted_lines = re.findall(r" steps fitted to 5 minutes: [\d.]+ s a step over steps (\d+-\d+) and about [\d.]+ s "
                              r"an evaluation -> (.*)", printed)
    # Step 4 keeps the plan: no line. At step 6, 40 steps would raise the learning rate by 45%, 14 raise it by 6%
    # (15: 12%). Step 9 is past 60% of those 14: no re-plan.
    assert calls == [2, 3, 4, 6]
    assert fitted_lines == [("1-2", "12 steps (was 8)"), ("1-3", "13 steps (was 12)"),
                            ("3-6", "14 steps (was 13; 40 would move the learning rate over 10%)")], printed
    assert saved_steps(run) == 14
    assert json.loads((run / "last" / "progress.json").read_text())["step"] == 14
    # A resumed run goes on with the plan it is given and is not fitted again, even through a re-plan's step.
    monkeypatch.setattr(engine.train, "FIT_FIRST", 16)
    assert main(_cli("--out", str(run), "--steps", "20")) == 0
    printed = capsys.readouterr().out
    assert " steps 14->20" in printed and "fitted" not in printed and calls == [2, 3, 4, 6], printed
    assert saved_steps(run) == 20
    # A run that ends before the first re-plan is not fitted, and says why.
    monkeypatch.setattr(engine.train, "FIT_FIRST", 4)
    lines = []
    Trainer(_config(data_dir, tmp_path / "short", steps=3, max_minutes=1.0, fit_steps=True), log=lines.append).run()
    assert "steps not fitted: the 3 steps end before step 4, and steps 2-4 are the first ones timed to fit them" in lines
    assert json.loads((tmp_path / "short" / "last" / "progress.json").read_text())["step"] == 3
    assert calls == [2, 3, 4, 6]


def test_a_replan_moves_the_learning_rate_by_a_tenth_at_most():
    from engine.train import FIT_LR_JUMP, lr_at, steady_steps

    def jump(cfg, step, steps):
        return abs(lr_at(step, dataclasses.replace(cfg, steps=steps)) / lr_at(step, cfg) - 1)

    cfg = TrainConfig(steps=13, warmup_steps=2, lr=1.0, min_lr_ratio=0.1)
    assert steady_steps(cfg, 6, 14) == 14 and jump(cfg, 6, 14) <= FIT_LR_JUMP
    # Longer or shorter, a plan that would move it more is held to the farthest one that does not.
    for wanted in (40, 7):
        held = steady_steps(cfg, 6, wanted)
        step_on = 1 if wanted > cfg.steps else -1
        assert held != wanted and jump(cfg, 6, held) <= FIT_LR_JUMP < jump(cfg, 6, held + step_on), (wanted, held)
    assert steady_steps(cfg, 6, 40) == 15
    # In the warmup the plan moves no learning rate, nor at its last step, where the decay has not begun.
    warm = TrainConfig(steps=100, warmup_steps=50, lr=1.0)
    assert steady_steps(warm, 10, 1000) == 1000 and steady_steps(warm, 50, 1000) == 1000


def test_fit_steps_needs_max_minutes(data_dir, tmp_path, capsys):
    from engine.cli import main

    assert main(_cli("--out", str(tmp_path / "run"), "--fit-steps")) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "train: --fit-steps: give --max-minutes too, the time the steps are fitted to"]
    assert not (tmp_path / "run").exists()
    # Settings built in code are refused alike, before anything is written.
    with pytest.raises(EngineError) as refused:
        Trainer(_config(data_dir, tmp_path / "run", fit_steps=True), log=lambda *_: None)
    assert str(refused.value) == "--fit-steps: give --max-minutes too, the time the steps are fitted to"
    assert not (tmp_path / "run").exists()
    settings = _settings_file(data_dir, tmp_path, fit_steps="yes", max_minutes=1.0)
    assert main(_cli("--config", str(settings), "--out", str(tmp_path / "run"))) == 2
    assert capsys.readouterr().err.strip() == "train: fit_steps 'yes': give true or false"


def test_the_first_replan_corrects_a_guess_far_off_whole(data_dir, tmp_path, monkeypatch):
    import engine.train

    # A machine five times faster than planned: the first re-plan takes the whole of its plan, though it moves the
    # learning rate by more than FIT_LR_JUMP; the later ones want the same and say nothing.
    # At step 4 of 8 the cosine is down to 65% of --lr; a plan of 40 puts it back at 99%.
    monkeypatch.setattr(engine.train, "FIT_FIRST", 4)
    monkeypatch.setattr(engine.train, "fitted_steps", lambda *_: 40)
    lines = []
    cfg = _config(data_dir, tmp_path / "run", steps=8, warmup_steps=1, max_minutes=5.0, fit_steps=True)
    Trainer(cfg, log=lines.append).run()
    fitted = [line for line in lines if "steps fitted" in line]
    assert len(fitted) == 1 and fitted[0].endswith("-> 40 steps (was 8)"), lines
    assert json.loads((tmp_path / "run" / "last" / "progress.json").read_text())["step"] == 40


def test_a_run_resumes_only_on_the_data_it_began_on(data_dir, tmp_path):
    # A corpus built again and pretokenized in place moved train files into the held-out split: the resumed run
    # compared held-out losses on two sets, one holding code it had trained on.
    Trainer(_config(data_dir, tmp_path / "run", steps=2), log=lambda *_: None).run()
    corpus = tmp_path / "corpus"
    shutil.copytree(data_dir / "corpus", corpus)
    with open(corpus / "heldout.jsonl", "a") as fh:
        fh.write(json.dumps({"path": "more", "package": "more", "language": "python",
                             "text": inspect.getsource(engine.canvas)}) + "\n")
    pretokenize(corpus, data_dir / "tokenizer.json", tmp_path / "tokens", workers=1, log=lambda *_: None)
    with pytest.raises(EngineError, match=re.escape(f"{tmp_path / 'tokens'}: not the data the run in "
                                                    f"{tmp_path / 'run'} began on (heldout 1 -> 2 documents); give "
                                                    "a new --out")):
        Trainer(_config(data_dir, tmp_path / "run", steps=4, data=str(tmp_path / "tokens")), log=lambda *_: None)
    # The same data at another path is the same data.
    shutil.copytree(data_dir / "tokens", tmp_path / "moved")
    Trainer(_config(data_dir, tmp_path / "run", steps=3, data=str(tmp_path / "moved")), log=lambda *_: None).run()


def test_a_run_logs_its_last_steps_loss_and_says_when_its_time_ran_out(data_dir, tmp_path):
    lines = []
    Trainer(_config(data_dir, tmp_path / "short", steps=3, log_every=10), log=lines.append).run()
    # The first step is logged too: at 14 s a step of a CPU fine-tune, the first line came 2.4 minutes in.
    assert [word for line in lines for word in line.split() if word.startswith("step=")] == \
        ["step=1/3", "step=3/3", "step=3"]
    lines.clear()
    Trainer(_config(data_dir, tmp_path / "timed", steps=50, max_minutes=0.0), log=lines.append).run()
    assert any(line.startswith("stopped by --max-minutes 0 at step 1 of 50, before its schedule ended;")
               for line in lines), lines


def test_a_fine_tune_given_another_tokenizer_is_refused(tmp_path):
    # A fine-tune reads its checkpoint's tokenizer: --tokenizer was ignored, silently.
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "tokenizer.json").write_text('{"a": 1}')
    (tmp_path / "other.json").write_text('{"b": 2}')
    (tmp_path / "same.json").write_text('{"a": 1}')
    argv = ["--out", str(tmp_path / "run"), "--init-from", str(tmp_path / "ckpt"), "--tokenizer"]
    with pytest.raises(EngineError, match=re.escape(f"--tokenizer {tmp_path / 'other.json'}: --init-from "
                                                    f"{tmp_path / 'ckpt'} trains with its own tokenizer.json")):
        config_from_args(parser.parse_args([*argv, str(tmp_path / "other.json")]))
    assert config_from_args(parser.parse_args([*argv, str(tmp_path / "same.json")])).init_from


def test_a_runs_config_line_names_the_canvas_widths_it_trains(data_dir, tmp_path, capsys):
    # A fine-tune's `"canvas_lengths": []` said nothing of the checkpoint's 40 and 64 it trains.
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--data", str(data_dir / "tokens"), "--tokenizer", str(data_dir / "tokenizer.json"),
                              "--out", str(tmp_path / "run"), "--steps", "1", "--preset", "tiny", "--model",
                              f"vocab_size={VOCAB}", "--model", "canvas_length=16",
                              "--batch-size", "4", "--device", "cpu", "--eval-every", "1000"])
    assert run(args) == 0
    (config,) = [line for line in capsys.readouterr().out.splitlines() if " config: " in line]
    assert '"canvas_lengths": []' in config and " (canvas widths [16], the model's)" in config, config


def test_a_stop_request_is_taken_with_stderr_gone():
    # `train ... 2>&1 | tee log`: the same Ctrl-C ends `tee`, and the handler's word raised BrokenPipeError
    # at whatever point of the step the signal came, with the previous handlers never put back.
    from engine.train import stop_requests

    read, write = os.pipe()
    os.close(read)
    saved = os.dup(2)
    previous = signal.getsignal(signal.SIGINT)
    try:
        os.dup2(write, 2)
        with stop_requests() as caught:
            os.kill(os.getpid(), signal.SIGINT)
            assert caught == [signal.SIGINT]
            assert signal.getsignal(signal.SIGINT) is previous
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write)
