"""Training and fine-tuning: the uniform-state denoising objective the sampler inverts, in the anchored infill
format, with self-conditioning, a cosine schedule, and checkpoints that resume with the same data order.

Per sample: t ~ U(eps, 1); each hole position is replaced by a uniform random token with probability t (anchors
never); cross-entropy on hole positions (voids included). With probability `self_conditioning` a first pass without
gradient gives logits that the second pass reads as self-conditioning.

A run directory holds `last/` (Hugging Face layout + `train_state.safetensors`, the resume point), `best/` (the
checkpoint with the lowest held-out loss so far; a fine-tune's must beat the checkpoint it started from), `log.txt`
and `metrics.jsonl`. SIGINT or SIGTERM stops a run after its current step, with `last/` saved.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open

from engine.arguments import add_memory_check_option, positive_int, user_path
from engine.checkpoint import (TrainingData, load_checkpoint, read_training_data, resolve_device, save_checkpoint,
                               save_tensors, write_training_data)
from engine.config import DEFAULT_MODEL_DIR, GenerationConfig, ModelConfig
from engine.dataset import Batch, MissingSplit, SampleStream, TokenData, read_meta, sample_mix
from engine.errors import EngineError
from engine.model import EXPERT_DISPATCH, DiffusionGemma
from engine.vocab import load_tokenizer

# Named model sizes. `cpu` is what one CPU thread trains in a day (~5M parameters, 4M active per token); `base`
# suits a GPU run; `tiny` runs the whole path in seconds.
PRESETS: dict[str, dict] = {
    "tiny": dict(vocab_size=8192, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                 num_key_value_heads=1, head_dim=32, global_head_dim=32, num_global_key_value_heads=1,
                 num_experts=4, top_k_experts=2, moe_intermediate_size=64, sliding_window=128),
    "cpu": dict(vocab_size=8192, hidden_size=192, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
                num_key_value_heads=2, head_dim=48, global_head_dim=96, num_global_key_value_heads=1,
                num_experts=4, top_k_experts=2, moe_intermediate_size=192, sliding_window=512),
    "base": dict(vocab_size=8192, hidden_size=256, intermediate_size=512, num_hidden_layers=6, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=64, global_head_dim=128, num_global_key_value_heads=1,
                 num_experts=8, top_k_experts=2, moe_intermediate_size=256, sliding_window=512),
}

# ModelConfig fields that size the weights: a fine-tune cannot change them, its checkpoint's weights would not fit.
SHAPE_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "global_head_dim", "num_global_key_value_heads", "layer_types",
                "per_layer_config", "num_experts", "moe_intermediate_size")


SELF_CONDITIONING_TEMPERATURES = [0.4, 0.8]  # DiffusionGemma's cooling


@dataclass
class TrainConfig:
    data: str = "data/tokens"
    tokenizer: str = "data/tokenizer.json"
    out: str = "runs/default"
    preset: str = "cpu"
    model_overrides: dict = field(default_factory=dict)  # ModelConfig fields over the preset
    init_from: str | None = None
    steps: int = 20_000
    batch_size: int = 16
    # Micro-batches of `batch_size` whose gradients make one optimizer step: a GPU-sized batch on a CPU, where a
    # step of 16 samples is too noisy to refine a model trained at 256.
    accumulate: int = 1
    lr: float = 1.5e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eps: float = 1e-3
    self_conditioning: float = 0.5
    # Range the self-conditioning logits' temperature is drawn from: the sampler's cooling range (t_min, t_max).
    # None: the --init-from checkpoint's own range (the embedded model samples at 0.4 -> 0.1), else
    # `SELF_CONDITIONING_TEMPERATURES`.
    self_conditioning_temperatures: list[float] | None = None
    router_aux_weight: float = 0.01  # load balance across experts (Switch-style)
    prefix_budgets: list[int] = field(default_factory=lambda: [64, 128, 256])
    canvas_lengths: list[int] = field(default_factory=list)  # per batch, one of these; empty: the checkpoint's
    mix: dict = field(default_factory=dict)  # SampleMix fields
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    workers: int | None = None  # processes building batches; None: 0 on CPU, most cores on CUDA
    # How the experts run (engine.model.EXPERT_DISPATCH); "auto": dense on CUDA for up to 8 experts, else grouped.
    expert_dispatch: str = "auto"
    log_every: int = 10
    eval_every: int = 250
    eval_batches: int = 8
    save_every_s: float = 300.0
    max_minutes: float | None = None
    # A machine's speed is not known ahead of time: a new run re-plans `steps` from its own time per step, so that
    # its schedule ends (and cools) within `max_minutes` rather than stopping early or cut off (--fit-steps).
    fit_steps: bool = False


# ---------------------------------------------------------------------------------------------------- batches


class _StepBatches(torch.utils.data.Dataset):
    """Batch `i` of the stream as item `i`, so worker processes build the next batches while the GPU trains."""

    def __init__(self, stream: SampleStream, batch_size: int):
        self.stream, self.batch_size = stream, batch_size

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, index: int) -> Batch:
        return self.stream.batch(index, self.batch_size)


def _as_is(batch: Batch) -> Batch:
    return batch


def _init_batch_worker(_worker_id: int) -> None:
    # A worker forked after this process's tokenizer thread pool has run would hang in it when
    # TOKENIZERS_PARALLELISM=true (as --threads 2 or more sets); each worker is one core's share anyway.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # Ctrl-C reaches the terminal's whole process group: a worker it stopped would fail the step the trainer
    # finishes before it saves. The trainer ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def resolve_expert_dispatch(setting: str, device: torch.device, model_cfg: ModelConfig) -> str:
    """Dense experts avoid a host sync per layer, which is what bounds a small model's step on a GPU; on a CPU
    the grouped loop does half the work and is faster (measured: `--benchmark` with either)."""
    if setting != "auto":
        return setting
    return "dense" if device.type == "cuda" and model_cfg.num_experts <= 8 else "grouped"


def default_workers(device: torch.device) -> int:
    # On a CPU the batch builders would take cores from the model; a GPU step is faster than one core builds a batch.
    return 0 if device.type == "cpu" else max(1, min(12, (os.cpu_count() or 2) - 2))


# ---------------------------------------------------------------------------------------------------- objective


def corrupt(target: torch.Tensor, hole_mask: torch.Tensor, vocab_size: int, eps: float,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace each hole position by a uniform random token with probability t ~ U(eps, 1) drawn per sample."""
    B, L = target.shape
    dev = target.device
    t = eps + (1 - eps) * torch.rand(B, generator=generator, device=dev)
    replace = (torch.rand(B, L, generator=generator, device=dev) < t[:, None]) & hole_mask
    noise = torch.randint(0, vocab_size, (B, L), generator=generator, device=dev)
    return torch.where(replace, noise, target), t


class RouterBalance:
    """Collects, during a forward pass, the Switch load-balancing term E * sum_e f_e * P_e of every router."""

    def __init__(self, model: DiffusionGemma):
        self.terms: list[torch.Tensor] = []
        self.enabled = False
        self.handles = [block.router.register_forward_hook(self._hook) for block in model.layers]

    def _hook(self, router, inputs, output) -> None:
        if not (self.enabled and torch.is_grad_enabled()):  # not the self-conditioning pass
            return
        (x,) = inputs
        _, index = output
        h = router.norm(x) * router.scale * x.shape[-1] ** -0.5
        probs = F.softmax(router.proj(h), dim=-1, dtype=torch.float32)
        E = probs.shape[-1]
        share = torch.bincount(index.reshape(-1), minlength=E).float() / index.numel()
        self.terms.append(E * (share * probs.mean(0)).sum())

    def take(self) -> torch.Tensor | None:
        terms, self.terms = self.terms, []
        return torch.stack(terms).mean() if terms else None


def denoising_loss(model: DiffusionGemma, batch: Batch, generator: torch.Generator, eps: float,
                   self_conditioning: float, autocast: bool,
                   sc_temperatures: tuple[float, float] = (0.4, 0.8)) -> dict[str, torch.Tensor]:
    """Loss of one batch; the self-conditioning first pass runs without gradient on the rows that use it."""
    V = model.cfg.vocab_size
    hole = batch.hole_mask
    noisy, _ = corrupt(batch.target, hole, V, eps, generator)
    sc_mask = torch.rand(batch.target.shape[0], generator=generator, device=batch.target.device) < self_conditioning
    with torch.autocast(batch.target.device.type, dtype=torch.bfloat16, enabled=autocast):
        cache = model.encode(batch.encoder_ids, valid=batch.encoder_valid)
        sc_logits = None
        if bool(sc_mask.any()):
            rows = sc_mask.nonzero().squeeze(1)
            with torch.no_grad():
                first = model.decode(noisy[rows], cache.rows(rows), at=hole[rows])  # (N_rows, V)
            # The sampler feeds back temperature-scaled logits (t in [t_min, t_max]); train on the same inputs.
            low, high = sc_temperatures
            temp = low + (high - low) * torch.rand(len(rows), 1, generator=generator, device=first.device)
            # Logits and self-conditioning exist only at hole positions, as in the sampler.
            row_of = hole.nonzero()[:, 0]  # (N,)
            sc_logits = torch.zeros(len(row_of), V, dtype=torch.float32, device=first.device)
            sc_logits[sc_mask[row_of]] = first.float() / temp[hole[rows].nonzero()[:, 0]]
        logits = model.decode(noisy, cache, self_conditioning=sc_logits,
                              sc_mask=sc_mask if sc_logits is not None else None, at=hole)  # (N, V)
    per_token = F.cross_entropy(logits.float(), batch.target[hole], reduction="none")
    cont = torch.tensor([k == "continuation" for k in batch.kinds], device=hole.device)[:, None].expand_as(hole)[hole]
    out = {"loss": per_token.mean()}
    if bool(cont.any()):
        out["loss_continuation"] = per_token[cont].mean().detach()
    if bool((~cont).any()):
        out["loss_infill"] = per_token[~cont].mean().detach()
    return out


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


# A warmup is at most this share of the run: one of 200 steps in a 10-step run ended at a twentieth of --lr. A fifth
# leaves every recorded run as it ran (the embedded model's longest warmup: 300 steps of 2,083).
MAX_WARMUP_SHARE = 5


def scale_warmup(cfg: TrainConfig) -> str:
    """Cut a new run's warmup to a fifth of its steps; what was cut, said for its config line ("" if nothing).
    The cut value is saved with the run, so a resumed one keeps the warmup it ran with."""
    most = cfg.steps // MAX_WARMUP_SHARE
    if cfg.steps == 0 or cfg.warmup_steps <= most:
        return ""
    said = (f"warmup_steps {cfg.warmup_steps} -> {most}: at most a fifth of the {cfg.steps} steps, so that the "
            f"learning rate reaches --lr {cfg.lr:g}")
    cfg.warmup_steps = most
    return said


def shorten_warmup(cfg: TrainConfig, saved: TrainConfig | None, step: int) -> str:
    """A run resumed with fewer --steps than it was saved with (and its warmup not given again) cuts its warmup to
    a fifth of them, as a new run's, but not below the step it is at: else a 300-step run's 60-step warmup, resumed
    with --steps 10, would train to its end still warming up, never near --lr. What was cut, or ""."""
    if saved is None or cfg.steps >= saved.steps or cfg.warmup_steps != saved.warmup_steps:
        return ""
    cut = min(cfg.warmup_steps, max(cfg.steps // MAX_WARMUP_SHARE, step))
    if cut == cfg.warmup_steps:
        return ""
    said = (f"warmup_steps {cfg.warmup_steps} -> {cut}: at most a fifth of the {cfg.steps} steps (not below step "
            f"{step}), so that the learning rate reaches --lr {cfg.lr:g}")
    cfg.warmup_steps = cut
    return said


# The step of a --fit-steps run's first re-plan; each later one comes half as many steps again after the one before
# (150, 225, 337...), and each times the steps since half its step. On an H200 the first ten steps took over a second
# each and the next twenty about 0.3 s, while batch workers and the GPU warmed up, and they went on speeding up for
# hundreds of steps: 0.23 s a step over steps 50-100, 0.21 over 100-200, 0.18 over 200-400, 0.15 over 400-800, 0.14
# later. The latest half of the run is recent enough to follow that and long enough to even out ten-step windows a
# fifth apart. Re-plans at doubling steps fell behind it: the one at step 800 wanted a plan a quarter longer, a jump
# of 14% in the learning rate, and held to `FIT_LR_JUMP` the run ended 40 s short of its 7.05 minutes; at these steps
# it ends 10 s short, no re-plan moving the rate more than 4.2%. The first ends inside a warmup of 100 steps or more
# (offline_train.sh's is 200), where a longer plan moves no learning rate.
FIT_FIRST = 100
# No re-plan past this share of the plan: the later a plan changes, the more it moves the learning rate. Past it the
# cosine (to a tenth of --lr) is at about 40% of --lr and falling at its steepest, so that a plan 1% longer raises
# the rate 2% there, against 0.4% at 30% and 3.6% at 80%. By then the time a step takes has settled (that H200's
# by step 700 of 2,400), and what it drifts over the rest the margin covers. Half as many steps again from one re-plan
# to the next puts the last one between 40% and 60% of the plan.
FIT_UNTIL = 0.6
# The share of the time left that a fitted plan leaves over: step times drift, and periodic saves are not counted.
FIT_MARGIN = 0.03
# The most a re-plan after the first moves the learning rate of the step the run is at, as a share of it. The cosine
# itself moves it a fraction of a percent a step; a sudden rise enlarges every Adam update at once, which can set the
# loss back, and a sudden fall drops the rate the steps so far were tuned at. A re-plan held to it leaves the rest of
# its change to the next ones.
FIT_LR_JUMP = 0.10
# A re-plan that moves the plan by less than this share of it is made without a log line.
FIT_QUIET = 0.01
# A held-out batch in training steps, where no evaluation was timed yet: on that H200 one of 512 took 0.55 s
# against 0.15 s a step, as it is built in this process rather than by the batch workers.
EVAL_BATCH_STEPS = 4


def fitted_steps(step: int, s_per_step: float, left_s: float, eval_s: float, eval_every: int) -> int:
    """The last step of a schedule that, from `step`, fills `left_s` seconds (less `FIT_MARGIN`) with steps of
    `s_per_step` and the evaluations due every `eval_every` steps before its last, of `eval_s` each; at least one
    step more."""
    budget = left_s * (1 - FIT_MARGIN)
    # Counted for the plan without evaluations, they are at least as many as the shorter plan holds.
    evals = max(0, (step + int(budget // s_per_step) - 1) // eval_every - step // eval_every)
    return step + max(1, int((budget - evals * eval_s) // s_per_step))


def steady_steps(cfg: TrainConfig, step: int, wanted: int) -> int:
    """`wanted` as the run's steps, or the plan nearest to it from `cfg.steps` that moves the learning rate of
    `step` by at most `FIT_LR_JUMP`; in the warmup, which no plan changes, `wanted`."""
    if step < cfg.warmup_steps:
        return wanted
    now = lr_at(step, cfg)

    def steady(steps: int) -> bool:
        return abs(lr_at(step, dataclasses.replace(cfg, steps=steps)) - now) <= FIT_LR_JUMP * now

    # The rate moves one way with the plan: the steady plans are one stretch around the current one.
    near, far = cfg.steps, wanted
    if steady(far):
        return far
    while abs(far - near) > 1:
        mid = (near + far) // 2
        near, far = (mid, far) if steady(mid) else (near, mid)
    return near


def make_optimizer(model: DiffusionGemma, cfg: TrainConfig) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    other = [p for p in model.parameters() if p.ndim < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)


# ---------------------------------------------------------------------------------------------------- state


@dataclass
class Progress:
    step: int = 0
    tokens: int = 0  # encoder + canvas tokens processed
    hole_tokens: int = 0
    seconds: float = 0.0
    best_eval: float | None = None
    # The data the run began on (`data_summary`): held-out scores compare, and `best/` is chosen, on that data only.
    data: dict | None = None


def save_train_state(path: Path, model: DiffusionGemma, optimizer: torch.optim.Optimizer, progress: Progress,
                     cfg: TrainConfig) -> None:
    """Optimizer moments, progress and RNG in safetensors; the batch order and noise follow from the step."""
    names = {id(p): n for n, p in model.named_parameters()}
    tensors: dict[str, torch.Tensor] = {"rng.cpu": torch.get_rng_state()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            for key, value in optimizer.state.get(p, {}).items():
                value = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"optimizer.{names[id(p)]}.{key}"] = value.detach().to("cpu").contiguous()
    meta = {"progress": json.dumps(asdict(progress)), "train_config": json.dumps(asdict(cfg))}
    save_tensors(tensors, path, metadata=meta)


def load_train_state(path: Path, model: DiffusionGemma, optimizer: torch.optim.Optimizer) -> Progress:
    params = dict(model.named_parameters())
    with safe_open(str(path), framework="pt", device="cpu") as fh:
        meta = fh.metadata()
        for key in fh.keys():
            if key == "rng.cpu":
                torch.set_rng_state(fh.get_tensor(key))
                continue
            _, rest = key.split(".", 1)
            name, slot = rest.rsplit(".", 1)
            if name not in params:
                raise EngineError(f"{path}: optimizer state for unknown parameter {name}")
            p = params[name]
            value = fh.get_tensor(key)
            if slot != "step" and value.shape != p.shape:
                raise EngineError(f"{path}: the optimizer's {slot} of {name} has shape {list(value.shape)}, the "
                                  f"parameter {list(p.shape)}: this state belongs to a model of another shape; "
                                  f"move {path.parent} away to start the run afresh")
            optimizer.state[p][slot] = value if slot == "step" else value.to(p.device)
    return Progress(**json.loads(meta["progress"]))


def data_summary(meta: dict) -> dict:
    """What tells a pretokenized directory's data from another's (its `meta.json`): each split's documents and
    tokens."""
    return {split: {"documents": d.get("documents"), "tokens": d.get("tokens")} for split, d in meta["splits"].items()}


def _replace_dir(staging: Path, final: Path) -> None:
    """Swap a finished staging directory in, so a crash mid-save leaves the previous checkpoint intact."""
    old = final.with_name(final.name + ".old")
    _recover_dir(final)
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old)


def _recover_dir(final: Path) -> None:
    """A save stopped between its two renames (a second Ctrl-C, a kill) left the previous checkpoint as `.old`:
    put it back, so that the run resumes from it."""
    old = final.with_name(final.name + ".old")
    if old.is_dir() and not final.exists():
        old.rename(final)


def check_out(cfg: TrainConfig, resuming: bool) -> None:
    """Refuse an --out a run would damage: a checkpoint's folder (its own files, the embedded model's, packaged
    with the engine), and for a new run the folder of an earlier one that saved nothing to resume from."""
    out, real = Path(cfg.out), Path(cfg.out).resolve()
    own = "a run writes last/, best/ and its log into its --out: give it a folder of its own (runs/NAME)"
    embedded = DEFAULT_MODEL_DIR.resolve()
    if real == embedded or embedded in real.parents:
        raise EngineError(f"--out {out}: is in the embedded model's folder ({embedded}), which is packaged with the "
                          "engine; give the run a folder of its own (runs/NAME)")
    start = Path(cfg.init_from).resolve() if cfg.init_from else None
    if real == start:
        raise EngineError(f"--out {out}: is the --init-from checkpoint; {own}")
    if (out / "config.json").exists():
        raise EngineError(f"--out {out}: is a checkpoint directory (it holds config.json); {own}")
    if resuming:
        return
    if start is not None and start in real.parents:
        raise EngineError(f"--out {out}: is inside the --init-from checkpoint {cfg.init_from}; {own}")
    if start is not None and real in start.parents:
        raise EngineError(f"--init-from {cfg.init_from}: is inside --out {out}, whose last/ and best/ the run "
                          "replaces; give the run another --out")
    if (out / "best").exists():
        # Its end would name that checkpoint, of another run, as this one's result.
        raise EngineError(f"{out}: holds an earlier run's best/ but no last/ to resume from; give the run a new "
                          f"--out, or remove {out / 'best'} to start it there afresh")
    if start is None and any((out / name).exists() for name in ("log.txt", "metrics.jsonl")):
        # `train --out DIR`, the resume, would begin a new model from scratch here.
        raise EngineError(f"{out}: holds a run's log.txt but no last/ to resume from (it stopped before its first "
                          f"save); give the run a new --out, or remove {out} to start it there afresh")


def _trim_metrics(path: Path, step: int | None) -> None:
    """Drop the records after `step` (None: all), which a resumed run writes again: the steps after the last save,
    or an earlier start's that saved nothing."""
    if not path.is_file():
        return

    def kept(line: str) -> bool:
        try:
            return step is not None and json.loads(line)["step"] <= step
        except (ValueError, KeyError, TypeError):
            return False  # a line cut off by a kill

    lines = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if kept(line)]
    staging = path.with_name(path.name + ".part")
    staging.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines), encoding="utf-8")
    os.replace(staging, path)


@contextmanager
def stop_requests():
    """SIGINT and SIGTERM as requests to stop after the current step: the list gets the signal's number. A second
    one while the run saves acts at once (the previous handlers are back)."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught  # signals reach the main thread only
        return
    kinds = (signal.SIGINT, signal.SIGTERM)
    previous = {kind: signal.getsignal(kind) for kind in kinds}

    def request(signum, _frame) -> None:
        caught.append(signum)
        for kind in kinds:
            signal.signal(kind, previous[kind])
        # Said at once: with --accumulate the step it is on can take minutes, and a second Ctrl-C pressed in the
        # silence stops the run without saving it. Straight to the descriptor: a handler that prints through
        # sys.stderr while the run is writing to it raises "reentrant call" in the middle of that write.
        try:
            os.write(2, f"train: {signal.Signals(signum).name} received: stopping after the step it is on, then "
                        "saving last/ (a second one stops at once, without saving)\n".encode())
        except OSError:
            pass  # stderr gone with the same Ctrl-C (`train ... 2>&1 | tee log`): the run still saves

    for kind in kinds:
        signal.signal(kind, request)
    try:
        yield caught
    finally:
        for kind in kinds:
            signal.signal(kind, previous[kind])


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


# ---------------------------------------------------------------------------------------------------- loop


# What a refusal of the memory check may name to a run (engine.checkpoint.WAYS): its --device, not a dtype (it trains
# float32 weights).
_DEVICE_ONLY = frozenset({"device"})


class Trainer:
    def __init__(self, cfg: TrainConfig, log=print, memory_check: bool = True):
        """``memory_check``: refuse a checkpoint to resume or fine-tune whose weights the device has no room for
        (engine.checkpoint.check_memory). Not a setting of the run's: it is about this machine, and a run resumed on
        another is checked there."""
        # The command line checks its settings before they get here; settings built in code are checked the same.
        check_config(cfg)
        self.cfg = cfg
        self.log = log
        self.out = Path(cfg.out)
        self.device = resolve_device(cfg.device)
        self.autocast = self.device.type == "cuda"
        self.eval_seconds: float | None = None  # the last evaluation's time: --fit-steps allows for those to come
        resume = self.out / "last" / "train_state.safetensors"
        _recover_dir(self.out / "last")
        check_out(cfg, resuming=resume.is_file())
        saved = saved_config(self.out) if resume.is_file() else None
        if saved is not None:
            self._check_saved_data(saved)
        self._resolve_paths(saved)
        if resume.is_file():
            ckpt = load_checkpoint(self.out / "last", device=str(self.device), dtype="float32",
                                   memory_check=memory_check, ways=_DEVICE_ONLY)
            self._check_resume(ckpt.config, saved)
            check_positions(cfg, ckpt.config, self._canvas_widths(ckpt.config))
            self.model_cfg, self.gen_cfg, self.tokenizer_path = ckpt.config, ckpt.generation, self.out / "last" / "tokenizer.json"
            self.model = ckpt.model
            # What the run trained on so far; a checkpoint without a record was trained on something unknown.
            trained = read_training_data(self.out / "last") or TrainingData(unrecorded=True)
        elif cfg.init_from:
            ckpt = load_checkpoint(cfg.init_from, device=str(self.device), dtype="float32", memory_check=memory_check,
                                   ways=_DEVICE_ONLY)
            trained = read_training_data(cfg.init_from) or TrainingData(unrecorded=True)
            self.model_cfg, self.gen_cfg = self._fine_tune_config(ckpt.config), ckpt.generation
            check_positions(cfg, self.model_cfg, self._canvas_widths(self.model_cfg))
            self.tokenizer_path = Path(cfg.init_from) / "tokenizer.json"
            # The tokenizer a fine-tune reads is its checkpoint's, whatever --tokenizer says: recorded as such.
            cfg.tokenizer = str(self.tokenizer_path)
            self.model = ckpt.model
            if self.model_cfg != ckpt.config:
                # Windows and rope are fixed when the modules are built: build them anew around the same weights.
                self.model = DiffusionGemma(self.model_cfg)
                self.model.load_state_dict(ckpt.model.state_dict())
                self.model.to(self.device)
        else:
            self.model_cfg = ModelConfig(**{**PRESETS[cfg.preset], **cfg.model_overrides})
            check_positions(cfg, self.model_cfg, self._canvas_widths(self.model_cfg))
            self.gen_cfg = GenerationConfig(eos_token_id=self.model_cfg.eos_token_id,
                                            pad_token_id=self.model_cfg.pad_token_id)
            self.tokenizer_path = Path(cfg.tokenizer)
            if not self.tokenizer_path.exists():
                read_meta(Path(cfg.data))  # with no data either, that is said first: the line below names it as there
                raise EngineError(f"--tokenizer {cfg.tokenizer}: not found; give --tokenizer FILE, the tokenizer.json "
                                  f"{cfg.data} was pretokenized with")
            # Prompts as long as it is trained on, and no longer: a checkpoint that said 1024 was served prompts four
            # times the longest it had seen.
            self.model_cfg.infill_prompt_tokens = max(cfg.prefix_budgets)
            trained = TrainingData()
            self.model = DiffusionGemma(self.model_cfg)
            self.model.init_weights(seed=cfg.seed)
            self.model.to(self.device)
        if cfg.self_conditioning_temperatures is None:
            # A fine-tune's self-conditioning as its checkpoint samples: the logits it feeds back are that cool.
            cfg.self_conditioning_temperatures = ([self.gen_cfg.t_min, self.gen_cfg.t_max] if cfg.init_from
                                                  else list(SELF_CONDITIONING_TEMPERATURES))
        self.model.train().requires_grad_(True)
        self.expert_dispatch = resolve_expert_dispatch(cfg.expert_dispatch, self.device, self.model_cfg)
        self.model.set_expert_dispatch(self.expert_dispatch)
        self.tokenizer = load_tokenizer(self.tokenizer_path)
        self.train_data = TokenData(Path(cfg.data), "train")
        self._check_tokenizer()
        # Every run's packages, so that `evaluate` can leave them out of its held-out files: a fine-tune inherits its
        # start's record, a resumed run its own.
        self.training_data = trained.with_run(self.train_data.meta["splits"]["train"].get("packages"))
        mix = sample_mix(cfg.mix)
        L = self._canvas_widths(self.model_cfg)
        if cfg.canvas_lengths:
            # Checkpoints say which widths they know, so inference may pick a narrower canvas for a short hole.
            self.model_cfg.infill_canvas_lengths = sorted(set(cfg.canvas_lengths))
        self.stream = SampleStream(self.train_data, self.tokenizer, L, cfg.prefix_budgets, mix, cfg.seed)
        try:
            heldout = TokenData(Path(cfg.data), "heldout")
        except MissingSplit:
            heldout = None
        # An empty held-out split (`corpus --extends` leaves one) is as good as none: nothing to evaluate on.
        self.eval_stream = None if heldout is None or heldout.num_documents == 0 else \
            SampleStream(heldout, self.tokenizer, L, cfg.prefix_budgets, mix, cfg.seed + 7919)
        self.optimizer = make_optimizer(self.model, cfg)
        self.balance = RouterBalance(self.model)
        self.progress = Progress()
        self.resumed_from = resume if resume.is_file() else None
        self.warmup_note = ""
        if self.resumed_from:
            self.progress = load_train_state(resume, self.model, self.optimizer)
            self._check_same_data()
            if cfg.steps < self.progress.step:
                raise EngineError(f"--steps {cfg.steps}: the run in {self.out} is already at step "
                                  f"{self.progress.step}; give --steps {self.progress.step} or more (its weights so "
                                  f"far are {self.out / 'last'})")
            self.warmup_note = shorten_warmup(cfg, saved, self.progress.step)
        else:
            self.warmup_note = scale_warmup(cfg)
            self.progress.data = data_summary(self.train_data.meta)
        self.interrupted: int | None = None  # the signal that stopped the run early
        self.timed_out = False  # --max-minutes stopped it before its last step
        self.workers = default_workers(self.device) if cfg.workers is None else cfg.workers
        self._batches = None  # (next micro-batch index, iterator) when workers build the batches
        # Said when the run resumes: what its flags and --config file changed of the settings it was saved with.
        self.changed_settings = [] if saved is None else [
            f"{f.name} {json.dumps(getattr(saved, f.name))} -> {json.dumps(getattr(cfg, f.name))}"
            for f in dataclasses.fields(TrainConfig)
            if f.name != "out" and getattr(saved, f.name) != getattr(cfg, f.name)]

    @property
    def canvas_widths(self) -> list[int]:
        """The canvas widths the run trains (`_canvas_widths`)."""
        return self._canvas_widths(self.model_cfg)

    def _canvas_widths(self, model_cfg: ModelConfig) -> list[int]:
        """The widths the run trains: --canvas-lengths, else every width the model says it knows (a fine-tune keeps
        training them all: inference still picks among them)."""
        return list(self.cfg.canvas_lengths or model_cfg.infill_canvas_lengths or [model_cfg.canvas_length])

    @property
    def trains_nothing(self) -> bool:
        """Whether the run has nothing to do: a new model asked for no step has nothing to save and no start to
        score. It writes nothing, as a log alone would leave a folder that no `--out` resumes and that refuses a
        new run."""
        return self.resumed_from is None and not self.cfg.init_from and self.cfg.steps == 0

    def _check_same_data(self) -> None:
        """A resumed run reads the data it began on: pretokenized anew from a corpus built again (files added, the
        split drawn anew), its held-out files may be ones it trained on, and its scores, and `best/`, would compare
        losses on two held-out sets. A run saved before this was recorded resumes unchecked."""
        began, now = self.progress.data, data_summary(self.train_data.meta)
        if began is None or began == now:
            return
        changed = ", ".join(f"{split} {began.get(split, {}).get('documents', 0)} -> "
                            f"{now.get(split, {}).get('documents', 0)} documents" for split in sorted({*began, *now})
                            if began.get(split) != now.get(split))
        raise EngineError(f"{self.cfg.data}: not the data the run in {self.out} began on ({changed}); give a new "
                          f"--out to train on it (--init-from {self.out / 'last'} to go on from its weights), or "
                          f"--data the directory it began on")

    def _check_saved_data(self, saved: TrainConfig) -> None:
        """The data a resumed run reads unless told otherwise is the directory it was started with: when that is
        gone, it is said so, rather than that it was never pretokenized."""
        data = Path(saved.data)
        if self.cfg.data != saved.data or (data / "meta.json").is_file():
            return
        here = "" if data.is_absolute() else f" here ({Path.cwd()})"
        raise EngineError(f"{self.out}: --data {saved.data}, the path this run was started with, has no meta.json"
                          f"{here}; give --data DIR to resume it on that pretokenized directory where it is now")

    def _resolve_paths(self, saved: TrainConfig | None) -> None:
        """Paths made absolute, so that the saved settings resume the run from any directory. One the run was
        saved with stays as it is: a run saved with relative paths reads them from the working directory."""
        for name in ("data", "tokenizer", "init_from"):
            value = getattr(self.cfg, name)
            if value is not None and not (saved is not None and value == getattr(saved, name)):
                setattr(self.cfg, name, os.path.abspath(value))

    def _check_resume(self, model_cfg: ModelConfig, saved: TrainConfig) -> None:
        """A resumed run goes on with its own model: settings that would have made another are refused, since they
        would be ignored (and then recorded in train_state as if they had been used)."""
        cfg, last = self.cfg, self.out / "last"
        if cfg.init_from and not same_start(cfg, saved):
            began = f"from {saved.init_from}" if saved.init_from else "from scratch"
            raise EngineError(f"{last}: --init-from {cfg.init_from} would be ignored: {self.out} holds a run (begun "
                              f"{began}) that resumes from its own weights; give a new --out to fine-tune "
                              f"{cfg.init_from}, or drop --init-from to resume the run")
        changes = model_changes(saved, cfg, model_cfg)
        if changes:
            raise EngineError(f"{last}: --preset/--model would change the model of the run it resumes "
                              f"({', '.join(changes)}); give a new --out to train that model, or drop those flags "
                              f"to resume the run")

    def _fine_tune_config(self, base: ModelConfig) -> ModelConfig:
        """The checkpoint's config with the --model overrides, which may change anything but the weights' shape."""
        overrides = self.cfg.model_overrides
        sized = [f"{k}={json.dumps(overrides[k])} ({json.dumps(getattr(base, k))} in {self.cfg.init_from})"
                 for k in SHAPE_FIELDS if k in overrides and overrides[k] != getattr(base, k)]
        if sized:
            raise EngineError(f"--model {', '.join(sized)}: --init-from keeps the checkpoint's shape; drop the "
                              f"override, or train a new model without --init-from")
        if not overrides:
            return base
        try:
            cfg = dataclasses.replace(base, **overrides)
            cfg.check("--model")
        except (TypeError, ValueError) as err:
            raise EngineError(f"--model: {err}") from None
        return cfg

    def next_batch(self, micro: int = 0) -> Batch:
        """Micro-batch `micro` of the current step: the same whether built here or by worker processes."""
        index = self.progress.step * self.cfg.accumulate + micro
        if self.workers == 0:
            return self.stream.batch(index, self.cfg.batch_size)
        if self._batches is None or self._batches[0] != index:
            loader = torch.utils.data.DataLoader(
                _StepBatches(self.stream, self.cfg.batch_size), batch_size=None, sampler=range(index, 2**62),
                num_workers=self.workers, collate_fn=_as_is, prefetch_factor=4, persistent_workers=False,
                worker_init_fn=_init_batch_worker)
            self._batches = (index, iter(loader))
        batch = next(self._batches[1])
        self._batches = (index + 1, self._batches[1])
        return batch

    def _check_tokenizer(self) -> None:
        sha = hashlib.sha256(self.tokenizer_path.read_bytes()).hexdigest()
        if sha != self.train_data.meta["tokenizer_sha256"]:
            raise EngineError(f"{self.cfg.data}: pretokenized with a different tokenizer than {self.tokenizer_path}; "
                              f"run `infill-engine pretokenize --corpus CORPUS --tokenizer {self.tokenizer_path} "
                              f"--out {self.cfg.data}` (CORPUS: the corpus directory it was made from)")
        if self.tokenizer.get_vocab_size() > self.model_cfg.vocab_size:
            raise EngineError(f"{self.tokenizer_path}: {self.tokenizer.get_vocab_size()} ids exceed the model's "
                              f"vocabulary of {self.model_cfg.vocab_size}")

    def _generator(self, *key: int) -> torch.Generator:
        """Noise as a function of (seed, step): a resumed run corrupts its batches exactly as before."""
        digest = hashlib.blake2b(repr((self.cfg.seed, *key)).encode(), digest_size=8).digest()
        return torch.Generator(device=self.device).manual_seed(int.from_bytes(digest, "little") >> 1)

    def step(self) -> dict[str, float]:
        cfg, p = self.cfg, self.progress
        lr = lr_at(p.step, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        sums: dict[str, list[float]] = {}
        for micro in range(cfg.accumulate):
            batch = self.next_batch(micro).to(self.device)
            # Keyed by the step alone without accumulation, so runs saved before it resume with the same noise.
            generator = self._generator(p.step) if cfg.accumulate == 1 else self._generator(p.step, micro)
            self.balance.enabled = cfg.router_aux_weight > 0
            losses = denoising_loss(self.model, batch, generator, cfg.eps, cfg.self_conditioning,
                                    self.autocast, tuple(cfg.self_conditioning_temperatures))
            self.balance.enabled = False
            total = losses["loss"]
            aux = self.balance.take()
            if aux is not None:
                total = total + cfg.router_aux_weight * aux
                losses["router_balance"] = aux
            (total / cfg.accumulate).backward()  # the mean over micro-batches, as one batch of them all
            for key, value in losses.items():
                sums.setdefault(key, []).append(float(value.detach()))
            p.tokens += batch.encoder_ids.numel() + batch.target.numel()
            p.hole_tokens += int(batch.hole_mask.sum())
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        p.step += 1
        out = {k: sum(v) / len(v) for k, v in sums.items()}
        out.update(lr=lr, grad_norm=float(grad_norm), router_balance=out.pop("router_balance", 0.0))
        return out

    @torch.no_grad()
    def evaluate(self) -> float | None:
        """Held-out loss on fixed batches with fixed noise, without self-conditioning."""
        if self.eval_stream is None:
            return None
        began = time.time()
        self.model.eval()
        total = 0.0
        for i in range(self.cfg.eval_batches):
            batch = self.eval_stream.batch(i, self.cfg.batch_size).to(self.device)
            total += float(denoising_loss(self.model, batch, self._generator(-1, i), self.cfg.eps, 0.0,
                                          self.autocast)["loss"])
        self.model.train()
        self.eval_seconds = time.time() - began
        return total / self.cfg.eval_batches

    def save(self, name: str, with_state: bool) -> Path:
        staging = self.out / f".{name}.staging"
        if staging.exists():
            shutil.rmtree(staging)
        save_checkpoint(staging, self.model, self.model_cfg, self.gen_cfg, self.tokenizer_path)
        write_training_data(staging, self.training_data)
        if with_state:
            save_train_state(staging / "train_state.safetensors", self.model, self.optimizer, self.progress, self.cfg)
        (staging / "progress.json").write_text(json.dumps(asdict(self.progress), indent=1))
        _replace_dir(staging, self.out / name)
        if name == "last":
            self.tokenizer_path = self.out / "last" / "tokenizer.json"
        return self.out / name

    def run(self) -> Progress:
        with stop_requests() as caught:
            self._train(caught)
        self.log(self._outcome())
        return self.progress

    def _train(self, caught: list[int]) -> None:
        """Train to the last step, or to a stop request (`caught`), which saves the step it was on."""
        cfg, p = self.cfg, self.progress
        if self.trains_nothing:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        _trim_metrics(self.out / "metrics.jsonl", p.step if self.resumed_from else None)
        total, active = self.model.num_parameters()
        if self.resumed_from:
            changed = f", with changed settings: {', '.join(self.changed_settings)}" if self.changed_settings else ""
            self.log(f"resumed {self.resumed_from} at step {p.step}{changed}")
        self.log(f"model: {total / 1e6:.2f}M parameters ({active / 1e6:.2f}M active), device {self.device}, "
                 f"{self.expert_dispatch} experts, "
                 f"{self.train_data.meta['splits']['train']['tokens']} train tokens; steps {p.step}->{cfg.steps}")
        if self.eval_stream is None:
            self.log(f"no held-out split in {cfg.data}: nothing is evaluated and best/ is never written; "
                     f"use {self.out / 'last'}")
        start = time.time()
        fit_at = FIT_FIRST if self._fits_steps() else None  # the step of the next re-plan
        step_s = []  # each step's training time, while re-plans are due
        base_seconds = p.seconds
        last_save = time.time()
        window_t, window_tokens, window_holes, window_steps = time.time(), 0, 0, 0
        saved_at, done = None, p.step >= cfg.steps
        # Logged too, whatever --log-every: at 14 s a step of a CPU fine-tune, the first line came 2.4 minutes in
        # (13 on a busy machine), with no speed nor time left until then.
        first = p.step + 1
        with open(self.out / "metrics.jsonl", "a") as metrics:
            if cfg.init_from and not self.resumed_from and p.step == 0 and p.best_eval is None:
                # The bar a fine-tune must clear: `best/` is written only for a checkpoint that beats its start.
                loss = self.evaluate()
                if loss is not None:
                    self.log(f"eval step=0 heldout_loss={loss:.4f} (the starting checkpoint, {cfg.init_from})")
                    metrics.write(json.dumps({"step": 0, "heldout_loss": loss}) + "\n")
                    p.best_eval = loss
            while p.step < cfg.steps and not caught:
                tokens_before, holes_before = p.tokens, p.hole_tokens
                began = time.time()
                stats = self.step()
                if fit_at is not None:
                    step_s.append(time.time() - began)
                    if p.step == fit_at:
                        since = fit_at // 2
                        self._fit_schedule(sum(step_s[since:]) / (fit_at - since), since, time.time() - start,
                                           self.eval_seconds)
                        fit_at += max(1, fit_at // 2)
                        if fit_at > FIT_UNTIL * cfg.steps:
                            fit_at = None
                window_tokens += p.tokens - tokens_before
                window_holes += p.hole_tokens - holes_before
                window_steps += 1
                p.seconds = base_seconds + time.time() - start
                timed_out = cfg.max_minutes is not None and time.time() - start > 60 * cfg.max_minutes
                done = p.step >= cfg.steps or timed_out
                # The last step is logged too: a run shorter than --log-every said nothing of its training loss.
                if p.step % cfg.log_every == 0 or p.step == first or done or caught:
                    dt = max(time.time() - window_t, 1e-9)
                    stats.update(step=p.step, tokens=p.tokens, tok_s=round(window_tokens / dt, 1),
                                 hole_tok_s=round(window_holes / dt, 1), elapsed_s=round(p.seconds),
                                 s_per_step=round(dt / window_steps, 3))
                    self.log(self._progress_line(stats, time.time() - start))
                    metrics.write(json.dumps(stats) + "\n")
                    metrics.flush()
                    window_t, window_tokens, window_holes, window_steps = time.time(), 0, 0, 0
                if p.step % cfg.eval_every == 0 or done:
                    loss = self.evaluate()
                    if loss is not None:
                        improved = p.best_eval is None or loss < p.best_eval
                        self.log(f"eval step={p.step} heldout_loss={loss:.4f}" + (" (best)" if improved else ""))
                        metrics.write(json.dumps({"step": p.step, "heldout_loss": loss}) + "\n")
                        if improved:
                            p.best_eval = loss
                            self.save("best", with_state=False)
                if done or caught or time.time() - last_save > cfg.save_every_s:
                    self.save("last", with_state=True)
                    saved_at, last_save = p.step, time.time()
                    # Saving is not training time.
                    window_t, window_tokens, window_holes, window_steps = time.time(), 0, 0, 0
                if done:
                    self.timed_out = p.step < cfg.steps
                    break
        if caught and not done:
            if saved_at != p.step:  # stopped before its first step (scoring its start, say)
                self.save("last", with_state=True)
            self.interrupted = caught[0]

    def _fits_steps(self) -> bool:
        """Whether this command re-plans the run's steps (--fit-steps): a new run's; a resumed run goes on with the
        schedule it was fitted to, saved with its settings."""
        cfg = self.cfg
        if not cfg.fit_steps or self.resumed_from:
            return False
        if cfg.steps < FIT_FIRST:
            self.log(f"steps not fitted: the {cfg.steps} steps end before step {FIT_FIRST}, and steps "
                     f"{FIT_FIRST // 2}-{FIT_FIRST} are the first ones timed to fit them")
            return False
        return True

    def _fit_schedule(self, s_per_step: float, since: int, trained_s: float, eval_s: float | None) -> None:
        """Re-plan `steps` to end within --max-minutes at `s_per_step`, the time a step took since step `since`,
        `trained_s` seconds into the run; `eval_s`: the last evaluation's time, if one was timed."""
        cfg, step = self.cfg, self.progress.step
        if self.eval_stream is None:
            eval_s, said = 0.0, ""
        elif eval_s is None:
            eval_s = cfg.eval_batches * EVAL_BATCH_STEPS * s_per_step / cfg.accumulate
            said = f" and about {eval_s:.1f} s an evaluation"
        else:
            said = f" and {eval_s:.1f} s an evaluation"
        was, warmup = cfg.steps, cfg.warmup_steps
        wanted = fitted_steps(step, s_per_step, 60 * cfg.max_minutes - trained_s, eval_s, cfg.eval_every)
        # The first re-plan corrects a guess, which can be off several times over (a machine five times faster than
        # planned); held to FIT_LR_JUMP, the later ones would close too little of that before FIT_UNTIL, and the run
        # would end minutes early. It comes while the rate is still near its peak, where a longer plan moves it least.
        cfg.steps = wanted if step == FIT_FIRST else steady_steps(cfg, step, wanted)
        # At most a fifth of a shorter plan, as a new run's (`scale_warmup`), but not ended before the step the run
        # is at: that would drop it from part of its warmup into the decay at once. Never raised: a longer warmup
        # would drop the rate of a step part way through it.
        cfg.warmup_steps = min(warmup, max(cfg.steps // MAX_WARMUP_SHARE, step))
        if abs(cfg.steps - was) <= FIT_QUIET * was and cfg.steps == wanted and cfg.warmup_steps == warmup:
            return
        held = f"; {wanted:,} would move the learning rate over {FIT_LR_JUMP:.0%}" if cfg.steps != wanted else ""
        cut = f"; warmup_steps {warmup} -> {cfg.warmup_steps}" if cfg.warmup_steps != warmup else ""
        self.log(f"steps fitted to {cfg.max_minutes:g} minutes: {s_per_step:.3f} s a step over steps {since}-{step}"
                 f"{said} -> {cfg.steps:,} steps (was {was:,}{held}){cut}")

    def _progress_line(self, stats: dict, trained_s: float) -> str:
        """A progress record as a log line: the step of all, and the time a step takes and what is left."""
        cfg, p = self.cfg, self.progress
        left = stats["s_per_step"] * (cfg.steps - p.step)
        if cfg.max_minutes is not None:
            left = min(left, max(0.0, 60 * cfg.max_minutes - trained_s))
        shown = {**stats, "step": f"{p.step}/{cfg.steps}", "left": duration(left)}
        return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())

    def _outcome(self) -> str:
        """Where the run's result is and how to use it, or, stopped early, how to go on."""
        cfg, p, last, best = self.cfg, self.progress, self.out / "last", self.out / "best"
        if self.interrupted is not None:
            return f"interrupted at step {p.step}; resume with: infill-engine train --out {shlex.quote(cfg.out)}"
        if self.timed_out:
            # Its schedule was planned for --steps: the learning rate had not cooled, so say so before the result.
            self.log(f"stopped by --max-minutes {cfg.max_minutes:g} at step {p.step} of {cfg.steps}, before its "
                     f"schedule ended; `infill-engine train --out {shlex.quote(cfg.out)}` goes on for as long again "
                     f"(--max-minutes gives another limit)")
        use = "(or the editor's modelPath setting)"
        scored = _saved_progress(best)
        if scored is not None and scored.get("best_eval") is not None:
            return (f"result: {best} (held-out loss {scored['best_eval']:.4f} at step {scored['step']}, the lowest of "
                    f"the run); {last} is step {p.step}; use it: infill-ls --model {best} {use}")
        if not last.is_dir():
            start = f"; the starting checkpoint's held-out loss is {p.best_eval:.4f}" if p.best_eval is not None else ""
            return f"result: no step trained (--steps {cfg.steps}), so nothing was saved{start}"
        if self.eval_stream is None:
            return (f"result: best/ not written: no held-out split in {cfg.data} to score the steps on; {last} "
                    f"(step {p.step}) is the result: infill-ls --model {last} {use}")
        if cfg.init_from and p.best_eval is not None:
            return (f"result: best/ not written: no step beat the starting checkpoint {cfg.init_from} (held-out loss "
                    f"{p.best_eval:.4f}); it is still the one to use: infill-ls --model {cfg.init_from} ({last} holds "
                    f"step {p.step})")
        return f"result: {last} is step {p.step}; use it: infill-ls --model {last} {use}"


def benchmark(trainer: Trainer, steps: int, warmup: int | None = None) -> dict[str, float]:
    """Training throughput of the configured model on real batches; nothing is written."""
    if warmup is None:
        # On CUDA the first steps also start the batch workers and warm the GPU up: a 2-step warm-up read half speed.
        warmup = 2 if trainer.device.type == "cpu" else 10
    for _ in range(warmup):
        trainer.step()
    p = trainer.progress
    tokens, holes, start = p.tokens, p.hole_tokens, time.time()
    for _ in range(steps):
        trainer.step()
    dt = time.time() - start
    total, active = trainer.model.num_parameters()
    return {"parameters_m": round(total / 1e6, 2), "active_m": round(active / 1e6, 2),
            "s_per_step": round(dt / steps, 3), "tok_s": round((p.tokens - tokens) / dt, 1),
            "hole_tok_s": round((p.hole_tokens - holes) / dt, 1), "threads": torch.get_num_threads(),
            "expert_dispatch": trainer.expert_dispatch}


# ---------------------------------------------------------------------------------------------------- CLI


def saved_config(out: Path) -> TrainConfig | None:
    """The settings a run in `out` was last saved with, so that `--out DIR` alone resumes it."""
    _recover_dir(out / "last")
    state = out / "last" / "train_state.safetensors"
    if not state.is_file():
        return None
    try:
        with safe_open(str(state), framework="pt", device="cpu") as fh:
            return TrainConfig(**json.loads((fh.metadata() or {})["train_config"]))
    except Exception as err:  # noqa: BLE001 - a damaged or foreign file, whatever the reader raises
        raise EngineError(f"{state}: not a training state to resume from ({type(err).__name__}: {err}); "
                          f"move {out / 'last'} away to start the run afresh") from None


def same_start(cfg: TrainConfig, saved: TrainConfig) -> bool:
    """Whether `cfg` names the checkpoint the run saved with `saved` was begun from (a path from anywhere)."""
    return bool(saved.init_from) and Path(cfg.init_from).resolve() == Path(saved.init_from).resolve()


def model_changes(saved: TrainConfig, asked: TrainConfig, model_cfg: ModelConfig) -> list[str]:
    """What the preset and model overrides of `asked` would change in the model (`model_cfg`) of the run saved with
    `saved`, one "key was -> asked" each."""

    def described(c: TrainConfig) -> dict:
        # A fine-tune's model is its checkpoint's, whatever the preset.
        return {**({} if saved.init_from else PRESETS.get(c.preset, {})), **c.model_overrides}

    old, new = described(saved), described(asked)
    changes = []
    for key in sorted({*old, *new}):
        was, wanted = old.get(key, getattr(model_cfg, key, None)), new.get(key, getattr(model_cfg, key, None))
        if was != wanted:
            changes.append(f"{key} {json.dumps(was)} -> {json.dumps(wanted)}")
    return changes


# (setting, the least it may be, whether it must be an integer): checked once, so that a bad value is one line
# naming it rather than a traceback from inside the first step.
_LIMITS = [("steps", 0, True), ("batch_size", 1, True), ("accumulate", 1, True), ("lr", 0, False),
           ("min_lr_ratio", 0, False), ("warmup_steps", 0, True), ("weight_decay", 0, False), ("grad_clip", 0, False),
           ("eps", 0, False), ("self_conditioning", 0, False), ("router_aux_weight", 0, False), ("seed", 0, True),
           ("threads", 1, True), ("workers", 0, True), ("log_every", 1, True), ("eval_every", 1, True),
           ("eval_batches", 1, True), ("save_every_s", 0, False), ("max_minutes", 0, False)]
# Settings that are probabilities, with the most they may be and whether that is left out: self_conditioning is the
# share of samples that get a first pass, and t ~ U(eps, 1) is drawn above eps, which at 1 leaves nothing to draw.
_AT_MOST = {"self_conditioning": (1, False), "eps": (1, True)}
# Settings only a --config file gives: a message names them by their key there, as no flag exists to name.
CONFIG_ONLY = frozenset({"min_lr_ratio", "weight_decay", "grad_clip", "eps", "self_conditioning",
                         "router_aux_weight", "log_every", "prefix_budgets", "mix"})


def setting_name(name: str) -> str:
    """How a message names a TrainConfig field: its flag, or its key in a --config file where it has no flag."""
    return name if name in CONFIG_ONLY else f"--{name.replace('_', '-')}"


def check_config(cfg: TrainConfig) -> None:
    for name, least, integer in _LIMITS:
        value = getattr(cfg, name)
        if value is None and name in ("threads", "workers", "max_minutes"):
            continue
        kind = int if integer else (int, float)
        most, below = _AT_MOST.get(name, (math.inf, False))
        # NaN passes any comparison, and trains a model of NaNs.
        if isinstance(value, bool) or not isinstance(value, kind) or value < least \
                or isinstance(value, float) and not math.isfinite(value) or value > most or below and value == most:
            wanted = f"{'an integer' if integer else 'a number'} of at least {least}" if most == math.inf else \
                f"a number from {least} to {'below ' if below else ''}{most}"
            raise EngineError(f"{setting_name(name)} {value!r}: give {wanted}")
    if cfg.lr == 0:
        raise EngineError("--lr 0: give a positive learning rate")
    if not isinstance(cfg.fit_steps, bool):
        raise EngineError(f"fit_steps {cfg.fit_steps!r}: give true or false")
    if cfg.fit_steps and cfg.max_minutes is None:
        raise EngineError("--fit-steps: give --max-minutes too, the time the steps are fitted to")
    for name in ("canvas_lengths", "prefix_budgets"):
        values = getattr(cfg, name)
        if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                                   for v in values):
            raise EngineError(f"{setting_name(name)} {values!r}: give positive integers")
    if not cfg.prefix_budgets:
        # Each batch draws its prompt length from them: none leaves nothing to draw (canvas_lengths [], by contrast,
        # means the checkpoint's widths).
        raise EngineError("prefix_budgets []: give one prompt length or more (the default is [64, 128, 256])")
    sample_mix(cfg.mix)
    resolve_device(cfg.device)


def check_positions(cfg: TrainConfig, model_cfg: ModelConfig, widths: list[int]) -> None:
    """Refuse canvas widths and prompt lengths that do not fit the model's positions together (a prompt and its
    canvas share them): a width far beyond them ran out of memory before its first step, a prompt beyond them failed
    in the allocator."""
    limit, canvas, prompt = model_cfg.max_position_embeddings, max(widths), max(cfg.prefix_budgets)
    if canvas + prompt <= limit:
        return
    if prompt >= canvas:
        named = f"prefix_budgets {cfg.prefix_budgets}"
    elif cfg.canvas_lengths:
        named = f"--canvas-lengths {' '.join(map(str, cfg.canvas_lengths))}"
    else:
        named = f"canvas width {canvas} (the model's canvas_length or infill_canvas_lengths)"
    raise EngineError(f"{named}: a canvas of {canvas} and a prompt of {prompt} tokens (the longest of prefix_budgets) "
                      f"take {canvas + prompt} positions, more than the model's {limit} (max_position_embeddings); "
                      f"give canvas lengths and prefix budgets whose longest add up to at most {limit}")


def _same_file_bytes(a: str, b: str) -> bool:
    """Whether two files hold the same bytes; an unreadable one is left to the reader that needs it to say so."""
    try:
        return Path(a).read_bytes() == Path(b).read_bytes()
    except OSError:
        return True


_PATH_SETTINGS = ("data", "tokenizer", "out", "init_from")


def read_config_file(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EngineError(f"{path}: not a readable JSON file of training settings ({err})") from None
    if not isinstance(data, dict):
        raise EngineError(f"{path}: expected a JSON object of training settings")
    unknown = set(data) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise EngineError(f"{path}: unknown training settings {sorted(unknown)}")
    # As the flags take them (`user_path`): no shell expands a `~` written in a file.
    return {key: user_path(value) if key in _PATH_SETTINGS and isinstance(value, str) else value
            for key, value in data.items()}


def resumed_with_file(saved: TrainConfig, data: dict, path: str, out: Path) -> TrainConfig:
    """The saved settings of the run in `out` with those of the --config file `path` over them, as flags go over
    them; its model overrides add to the run's, as --model does. A file that would give the run another model or
    another start is refused: the run goes on from its own checkpoint."""
    if not isinstance(data.get("model_overrides", {}), dict):
        raise EngineError(f"{path}: model_overrides must be an object of model settings")
    cfg = dataclasses.replace(saved, **{**data, "model_overrides": {**saved.model_overrides,
                                                                     **data.get("model_overrides", {})}})
    if cfg.init_from != saved.init_from and not (cfg.init_from and same_start(cfg, saved)):
        began = f"from {saved.init_from}" if saved.init_from else "from scratch"
        raise EngineError(f"{path}: init_from {cfg.init_from or 'null'} would be ignored: {out} holds a run (begun "
                          f"{began}) that resumes from its own weights; give a new --out to start that run, or drop "
                          f"init_from from {path} to resume the run")
    if "preset" in data or "model_overrides" in data:
        changes = model_changes(saved, cfg, ModelConfig.load(out / "last" / "config.json"))
        if changes:
            raise EngineError(f"{path}: preset/model_overrides would change the model of the run in {out} "
                              f"({', '.join(changes)}); give a new --out to train that model, or drop them from "
                              f"{path} to resume the run")
    return cfg


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the --config file, then explicit flags; a resumed run's saved settings stand for the
    defaults."""
    data = read_config_file(args.config) if args.config else {}
    out = Path(args.out or data.get("out") or TrainConfig.out)
    saved = saved_config(out)
    if saved is None:
        cfg = TrainConfig(**data)
    else:
        cfg = resumed_with_file(saved, data, args.config, out) if data else saved
    for name in ("data", "tokenizer", "init_from", "out"):
        if getattr(args, name, None) == "":
            # `--init-from "$MODEL"` with MODEL unset read the working directory as the checkpoint.
            raise EngineError(f"--{name.replace('_', '-')} is empty (an unset variable?)")
    for f in dataclasses.fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None and f.name not in ("model_overrides", "mix"):
            setattr(cfg, f.name, value)
    if args.preset is not None and cfg.init_from:
        # A fine-tune's model is its checkpoint's: the preset would be ignored, yet recorded with the run.
        raise EngineError(f"--preset {args.preset}: --init-from {cfg.init_from} keeps the checkpoint's shape; drop "
                          "--preset, or train a new model without --init-from")
    if getattr(args, "tokenizer", None) is not None and saved is None and cfg.init_from and \
            not _same_file_bytes(args.tokenizer, os.path.join(cfg.init_from, "tokenizer.json")):
        # A fine-tune reads its checkpoint's tokenizer, whose ids its embeddings are: the flag was ignored.
        raise EngineError(f"--tokenizer {args.tokenizer}: --init-from {cfg.init_from} trains with its own "
                          f"tokenizer.json; drop --tokenizer (and pretokenize --data with that one)")
    if args.preset is None and saved is None and "preset" in data and cfg.init_from:
        raise EngineError(f"{args.config}: preset {data['preset']}: init_from {cfg.init_from} keeps the checkpoint's "
                          f"shape; drop preset from {args.config}, or train a new model without init_from")
    for item in args.model or []:
        key, _, value = item.partition("=")
        if key not in {f.name for f in dataclasses.fields(ModelConfig)}:
            raise EngineError(f"--model {item}: {key!r} is not a model setting")
        try:
            cfg.model_overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            raise EngineError(f"--model {item}: the value must be JSON (a number, a string in quotes, a list)") from None
    if cfg.accumulate < 1:
        raise EngineError(f"--accumulate {cfg.accumulate}: give 1 or more micro-batches per step")
    if cfg.preset not in PRESETS:
        raise EngineError(f"--preset {cfg.preset}: unknown; choose from {', '.join(PRESETS)}")
    temps = cfg.self_conditioning_temperatures
    if temps is not None and (not isinstance(temps, list) or len(temps) != 2 or not 0 < temps[0] <= temps[1]):
        raise EngineError(f"self_conditioning_temperatures {temps}: give [low, high] with 0 < low <= high")
    if cfg.expert_dispatch not in ("auto", *EXPERT_DISPATCH):
        raise EngineError(f"expert_dispatch {cfg.expert_dispatch!r}: choose from auto, {', '.join(EXPERT_DISPATCH)}")
    check_config(cfg)
    if cfg.model_overrides:
        try:
            ModelConfig(**{**PRESETS[cfg.preset], **cfg.model_overrides}).check("--model")
        except (TypeError, ValueError) as err:
            raise EngineError(f"--model: {err}") from None
    return cfg


def run(args: argparse.Namespace) -> int:
    try:
        cfg = config_from_args(args)
    except (EngineError, json.JSONDecodeError, OSError) as err:
        print(f"train: {err}", file=sys.stderr)
        return 2
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false" if cfg.threads == 1 else "true")
    if args.benchmark is not None:
        try:
            trainer = Trainer(cfg, log=lambda *_: None, memory_check=args.memory_check)
        except (EngineError, FileNotFoundError) as err:
            print(f"train: {err}", file=sys.stderr)
            return 2
        print(json.dumps({"preset": cfg.preset, **cfg.model_overrides, "batch_size": cfg.batch_size,
                          **benchmark(trainer, args.benchmark)}))
        return 0
    try:
        # Before the run's folder is made: a run refused leaves nothing behind.
        trainer = Trainer(cfg, memory_check=args.memory_check)
    except (EngineError, FileNotFoundError) as err:
        print(f"train: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("train: interrupted before the first step; nothing was written", file=sys.stderr)
        return 130
    out = Path(cfg.out)
    log_file = None
    if not trainer.trains_nothing:
        out.mkdir(parents=True, exist_ok=True)
        log_file = open(out / "log.txt", "a")

    def log(line: str) -> None:
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}"
        print(stamped, flush=True)
        if log_file is not None:
            log_file.write(stamped + "\n")
            log_file.flush()

    trainer.log = log
    try:
        # `"canvas_lengths": []` says "the model's": which they are.
        note = "" if cfg.canvas_lengths else f" (canvas widths {trainer.canvas_widths}, the model's)"
        note += f" ({trainer.warmup_note})" if trainer.warmup_note else ""
        log(f"config: {json.dumps(asdict(cfg))}{note}")
        trainer.run()
    except (EngineError, FileNotFoundError) as err:
        log(f"train: {err}")
        return 2
    except KeyboardInterrupt:
        # A second Ctrl-C while the first one's save was being written.
        log(f"train: stopped at once by a second interrupt; {_last_save(out)}")
        return 130
    finally:
        if log_file is not None:
            log_file.close()
    return 128 + trainer.interrupted if trainer.interrupted else 0


def _saved_progress(checkpoint: Path) -> dict | None:
    """The progress a run saved with a checkpoint of its (`progress.json`), None where there is none."""
    try:
        saved = json.loads((checkpoint / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and isinstance(saved.get("step"), int) else None


def _last_save(out: Path) -> str:
    _recover_dir(out / "last")
    saved = _saved_progress(out / "last")
    if saved is None:
        return "no step was saved"
    return f"{out / 'last'} holds step {saved['step']}; resume with: infill-engine train --out {shlex.quote(str(out))}"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train or fine-tune a model on a pretokenized corpus (resumes from OUT/last)",
        description=DESCRIPTION,
    )
    add_arguments(p)


DESCRIPTION = (
    "Train the denoiser on the anchored infill objective with self-conditioning. A run resumes from OUT/last with "
    "its saved settings when it exists (a --config file and flags given again override them); --init-from fine-tunes "
    "an existing checkpoint (e.g. on your own repository: corpus --repo, then pretokenize with the checkpoint's "
    "tokenizer.json)."
)


_DEFAULT = TrainConfig()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=user_path, help="JSON file of training settings (the fields of TrainConfig)")
    p.add_argument("--data", type=user_path, help="pretokenized directory (default data/tokens)")
    p.add_argument("--tokenizer", type=user_path,
                   help="tokenizer.json the data was pretokenized with (default data/tokenizer.json)")
    p.add_argument("--out", type=user_path, help="run directory (default runs/default)")
    p.add_argument("--preset", help=f"model size: {', '.join(PRESETS)} (default cpu)")
    p.add_argument("--model", action="append", metavar="KEY=VALUE", help="override a model setting (JSON value)")
    p.add_argument("--init-from", dest="init_from", type=user_path, help="checkpoint directory to fine-tune")
    add_memory_check_option(p)  # for --init-from and a resumed run's last/; not saved with the run's settings
    p.add_argument("--steps", type=int, help=f"optimizer steps of the whole run (default {_DEFAULT.steps})")
    p.add_argument("--batch-size", dest="batch_size", type=int,
                   help=f"samples per micro-batch (default {_DEFAULT.batch_size})")
    p.add_argument("--accumulate", type=int, metavar="N",
                   help="micro-batches of --batch-size per optimizer step (default 1)")
    p.add_argument("--lr", type=float, help=f"peak learning rate (default {_DEFAULT.lr:g}, for training from "
                                             "scratch; a fine-tune wants less)")
    p.add_argument("--warmup-steps", dest="warmup_steps", type=int,
                   help=f"steps the learning rate rises over (default {_DEFAULT.warmup_steps})")
    p.add_argument("--seed", type=int, help=f"seed of the batches and the noise (default {_DEFAULT.seed})")
    p.add_argument("--canvas-lengths", dest="canvas_lengths", type=int, nargs="+", metavar="L",
                   help="canvas widths to train on, one per batch (default: those the checkpoint was trained on, "
                        "else its canvas_length)")
    p.add_argument("--device", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--workers", type=int, help="processes building batches (default: 0 on CPU, most cores on CUDA)")
    p.add_argument("--expert-dispatch", dest="expert_dispatch", choices=("auto", *EXPERT_DISPATCH),
                   help="run each expert on its routed tokens (grouped) or every expert on every token (dense); "
                        "default auto: dense on CUDA for up to 8 experts")
    p.add_argument("--log-every", dest="log_every", type=int,
                   help=f"steps between logged training losses (default {_DEFAULT.log_every}; the first and last are "
                        "logged too)")
    p.add_argument("--eval-every", dest="eval_every", type=int,
                   help=f"steps between held-out evaluations (default {_DEFAULT.eval_every}; the last is evaluated "
                        "too)")
    p.add_argument("--eval-batches", dest="eval_batches", type=int, metavar="N",
                   help="held-out batches (of --batch-size) each evaluation averages (default 8)")
    p.add_argument("--save-every-s", dest="save_every_s", type=float,
                   help=f"seconds between saves of last/ (default {_DEFAULT.save_every_s:g})")
    p.add_argument("--max-minutes", dest="max_minutes", type=float, help="stop (and save) after this long")
    # None when absent, so that a --config file's or a resumed run's setting stands.
    p.add_argument("--fit-steps", dest="fit_steps", action="store_true", default=None,
                   help=f"for a new run: re-plan --steps at steps {FIT_FIRST}, {FIT_FIRST * 3 // 2}, "
                        f"{FIT_FIRST * 9 // 4}... (until {FIT_UNTIL:.0%}% through the plan), each from the time the "
                        "latest half of the steps took, so that the schedule ends within --max-minutes")
    p.add_argument("--benchmark", type=positive_int, metavar="STEPS",
                   help="print training throughput over STEPS steps (1 or more) and exit without writing anything")
    p.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.train", description=DESCRIPTION)
    add_arguments(p)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
