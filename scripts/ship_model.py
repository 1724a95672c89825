"""Copy a trained checkpoint into the package as the embedded default model.

    python scripts/ship_model.py runs/gpu/best [--steps 16] [--prompt-tokens N] [--temperatures 0.4 0.1]
        [--new-lines | --no-new-lines] [--out DIR]

Weights are stored as bfloat16 (half the package size; loading on a CPU widens them to float32 again), in
safetensors shards of at most 16 MiB. The model card beside them is kept. `--out DIR` writes the same files
elsewhere, to evaluate a candidate exactly as it would ship (`infill-engine evaluate --model DIR`) before it does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.arguments import add_memory_check_option  # noqa: E402
from engine.checkpoint import (TRAINING_DATA, load_checkpoint, read_training_data, save_checkpoint,  # noqa: E402
                               write_training_data)
from engine.errors import CheckpointError  # noqa: E402

TARGET = ROOT / "engine" / "default_model"
# `TRAINING_DATA` goes along: `evaluate` leaves the packages it names out of the held-out files.
CHECKPOINT_FILES = ("config.json", "generation_config.json", "tokenizer.json", TRAINING_DATA)
LIMIT_FILE, LIMIT_TOTAL = 16 * 1024 * 1024, 64 * 1024 * 1024


def checkpoint_files(directory: Path) -> list[Path]:
    return [*directory.glob("model*.safetensors*"), *(p for n in CHECKPOINT_FILES if (p := directory / n).is_file())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    add_memory_check_option(parser)
    parser.add_argument("--steps", type=int, default=16, help="max denoising steps per canvas (default: 16)")
    parser.add_argument("--prompt-tokens", type=int,
                        help="longest prefix sent to the encoder (default: the checkpoint's, the longest it was "
                             "trained on)")
    parser.add_argument("--temperatures", type=float, nargs=2, metavar=("T_MAX", "T_MIN"),
                        help="sampler temperature at the first and last step (default: the checkpoint's)")
    parser.add_argument("--new-lines", action=argparse.BooleanOptionalAction, default=None,
                        help="whether the server shows the model's guess of a blank line while typing "
                             "(generation_config.json's infill_new_lines; default: the checkpoint's). Decide by "
                             "`python -m infill_ls.typing_eval --model DIR --kinds statement`: docs/training.md")
    parser.add_argument("--out", type=Path, default=TARGET, help="where to write it (default: the package's model)")
    args = parser.parse_args()
    try:
        ck = load_checkpoint(args.checkpoint, device="cpu", dtype="float32", memory_check=args.memory_check,
                             ways=frozenset())
        trained_on = read_training_data(args.checkpoint)
    except CheckpointError as err:
        print(f"ship_model: {err}", file=sys.stderr)
        return 2
    if args.prompt_tokens is not None:
        ck.config.infill_prompt_tokens = args.prompt_tokens
    ck.generation.max_denoising_steps = args.steps
    if args.temperatures:
        ck.generation.t_max, ck.generation.t_min = args.temperatures
    if args.new_lines is not None:
        ck.generation.infill_new_lines = args.new_lines
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = args.checkpoint / "tokenizer.json"
    # Only what a checkpoint consists of: older shards would be read with the new ones; anything else stays. Shipped
    # in place (new sampler settings for the same weights), the tokenizer is its own source and stays.
    for old in checkpoint_files(out):
        if old.resolve() != tokenizer.resolve():
            old.unlink()
    save_checkpoint(out, ck.model.to(torch.bfloat16), ck.config, ck.generation, tokenizer)
    if trained_on is not None:
        write_training_data(out, trained_on)
    sizes = {p.name: p.stat().st_size for p in checkpoint_files(out)}
    assert max(sizes.values()) <= LIMIT_FILE and sum(sizes.values()) <= LIMIT_TOTAL, sizes
    for name, size in sorted(sizes.items()):
        print(f"{size / 2**20:8.2f} MiB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
