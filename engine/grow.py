"""Grow a checkpoint deeper: more layers, computing exactly what it did.

A small model that has stopped gaining at its size is grown rather than trained afresh, so that what it learned is
kept (block expansion, as LLaMA Pro grows a model): each new layer starts as a copy of the layer before it, right
after it, with the two norms that scale its attention and feed-forward outputs into the residual stream set to
zero. Those outputs then add nothing, so the grown model's logits are the checkpoint's; training moves the scales up
from zero, and the copies become layers of their own. Zeroing the output projections instead would not keep it so
past the first step: a post-norm rescales any output that is not exactly zero to full size.

    infill-engine grow --from engine/default_model --layers 6 --out runs/grown6
    infill-engine train --init-from runs/grown6 ...
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import torch

from engine.arguments import add_memory_check_option, user_path_object
from engine.checkpoint import TRAINING_DATA, load_checkpoint, save_checkpoint
from engine.config import MAX_LAYERS, ModelConfig
from engine.errors import EngineError
from engine.model import DiffusionGemma

# The norms a layer's two branches end with, before they join the residual stream.
BRANCH_OUTPUT_NORMS = ("post_attention_layernorm.weight", "post_feedforward_layernorm.weight")
# Constants the layer's output is multiplied by (the encoder's and the decoder's): 1 in a copy, which must pass the
# stream on unchanged.
LAYER_SCALARS = ("layer_scalar", "encoder_layer_scalar")


def layer_sources(old: int, new: int) -> list[int]:
    """For each layer of a model grown from `old` layers to `new`, the layer it starts from: the old layers in order,
    each followed by its copies. The copies are spread evenly, each the last layer of one of `new - old` runs of
    layers: [0, 1, 1, 2, 3, 3] for 4 -> 6, so the last layer (a full-attention one) stays last."""
    if not 0 < old <= new:
        raise ValueError(f"cannot grow {old} layers to {new}")
    added = new - old
    # Layer i ends the runs whose ends fall in [i, i + 1) of `old` spread over `added` runs.
    copies = [(i + 1) * added // old - i * added // old for i in range(old)]
    return [source for i in range(old) for source in [i] * (1 + copies[i])]


def grown_config(cfg: ModelConfig, sources: list[int]) -> ModelConfig:
    """`cfg` with a layer for each of `sources`, each of its source's kind and per-layer settings."""
    per_layer = {str(i): dict(cfg.per_layer_config[str(s)]) for i, s in enumerate(sources)
                 if str(s) in cfg.per_layer_config}
    return dataclasses.replace(cfg, num_hidden_layers=len(sources),
                               layer_types=[cfg.layer_types[s] for s in sources], per_layer_config=per_layer)


def grow_model(model: DiffusionGemma, layers: int) -> DiffusionGemma:
    """A model of `layers` layers whose outputs are `model`'s (`layer_sources`; a copy's branch output norms zero)."""
    sources = layer_sources(model.cfg.num_hidden_layers, layers)
    state = model.state_dict()
    grown_state: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if not name.startswith("layers."):
            grown_state[name] = tensor.clone()
    for index, source in enumerate(sources):
        copy = index > 0 and sources[index - 1] == source
        prefix = f"layers.{source}."
        for name, tensor in state.items():
            if not name.startswith(prefix):
                continue
            part = name[len(prefix):]
            if copy and part in BRANCH_OUTPUT_NORMS:
                tensor = torch.zeros_like(tensor)
            elif copy and part in LAYER_SCALARS:
                tensor = torch.ones_like(tensor)
            grown_state[f"layers.{index}.{part}"] = tensor.clone()
    with torch.device("meta"):
        grown = DiffusionGemma(grown_config(model.cfg, sources))
    grown.load_state_dict(grown_state, assign=True)  # every weight and buffer, on the source's device
    return grown


def grow_checkpoint(source: Path, layers: int, out: Path, memory_check: bool = True) -> str:
    """Write `source` grown to `layers` layers into `out` (with its generation config, tokenizer and record of training
    data; in the dtype a CPU loads it in: float32, or bfloat16 for a checkpoint over 2B parameters, which widened would
    need twice its memory); returns what was done, in one line. ``memory_check``: refuse a source whose weights the
    memory free has no room for (engine.checkpoint.check_memory)."""
    if not 1 <= layers <= MAX_LAYERS:
        raise EngineError(f"--layers {layers}: give a number of layers from 1 to {MAX_LAYERS}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EngineError(f"--out {out}: exists and is not an empty folder; give a new one")
    ck = load_checkpoint(source, device="cpu", memory_check=memory_check, ways=frozenset())  # CPU and dtype fixed
    old = ck.config.num_hidden_layers
    if layers <= old:
        raise EngineError(f"--layers {layers}: {source} has {old} layers already; give more")
    grown = grow_model(ck.model, layers)
    # Written beside `out` and moved there whole: a command stopped midway leaves no part of a checkpoint in it.
    part = out.parent / f".{out.name}.part-{os.getpid()}"
    try:
        save_checkpoint(part, grown, grown.cfg, ck.generation, source / "tokenizer.json")
        if (source / TRAINING_DATA).is_file():
            shutil.copyfile(source / TRAINING_DATA, part / TRAINING_DATA)  # the copies were trained on the same data
        if out.exists():
            out.rmdir()
        part.rename(out)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    total, active = grown.num_parameters()
    before, _ = ck.model.num_parameters()
    return (f"grow: wrote {out}: {old} -> {layers} layers (sources {layer_sources(old, layers)}), "
            f"{before / 1e6:.1f}M -> {total / 1e6:.1f}M params ({active / 1e6:.1f}M active)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "grow", help="grow a checkpoint to more layers that compute what it did, to train on from there",
        description="Write a checkpoint with more layers than SOURCE whose outputs are SOURCE's: each new layer "
                    "starts as a copy of the one before it, with its attention and feed-forward output norms at "
                    "zero, so it adds nothing until training moves them. Train on from it with "
                    "`infill-engine train --init-from OUT`.")
    p.add_argument("--from", dest="source", type=user_path_object, required=True, metavar="SOURCE",
                   help="checkpoint directory to grow")
    p.add_argument("--layers", type=int, required=True, metavar="N", help="layers of the grown model")
    p.add_argument("--out", type=user_path_object, required=True,
                   help="new or empty folder to write the grown checkpoint to")
    add_memory_check_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    print(grow_checkpoint(args.source, args.layers, args.out, memory_check=args.memory_check))
    return 0
