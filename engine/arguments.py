"""argparse types for the command lines: a value out of range is refused with the flag named, before any work."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from pathlib import Path


def dtype_help(default: str) -> str:
    """The --dtype option's help, one for every command that loads a model. float16 is said to be slow on a CPU:
    picked there for half the memory, it ran the embedded model about four times slower than float32 (75 against
    17 ms a denoising step on one thread; `infill-engine bench --device cpu --dtype ...`)."""
    return (f"auto, float32, bfloat16 or float16 (default: {default}); float16 is for a GPU: on a CPU it runs "
            "several times slower than float32")


def int_at_least(minimum: int) -> Callable[[str], int]:
    return int_between(minimum, None)


def int_between(minimum: int, maximum: int | None) -> Callable[[str], int]:
    """An integer from `minimum` to `maximum` (None: no bound above)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if maximum is None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)
# torch.Generator's seeds: a larger one fails with a traceback, and a negative one is read as the seed 2**64 above it.
seed_int = int_between(0, 2 ** 64 - 1)


def fraction(low_open: bool, high_open: bool) -> Callable[[str], float]:
    """A number between 0 and 1; `low_open` / `high_open` leave out 0 / 1."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        low_ok = value > 0 if low_open else value >= 0
        high_ok = value < 1 if high_open else value <= 1
        if not (low_ok and high_ok):
            bounds = f"{'above' if low_open else 'at least'} 0 and {'below' if high_open else 'at most'} 1"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def user_path(text: str) -> str:
    """A path option's value, a leading `~` expanded: the shell expands it in `--out ~/run` but not in `--out=~/run`,
    nor in a quoted value, and a run would write a folder named `~`, or read one there is not. Every path option of
    the commands takes its value through here (or `user_path_object`), so that all read it alike."""
    return os.path.expanduser(text)


def user_path_object(text: str) -> Path:
    return Path(user_path(text))


def add_model_option(p: argparse._ActionsContainer, model_type: Callable[[str], object] | None = None) -> None:
    """`--model`, as every command that loads a checkpoint takes it (the server, its bench and evaluations, and
    infill-engine's through `add_model_options`). `p`: the parser, or a group whose options exclude each other
    (the bench's `--model` or `--tiny`); `model_type`: what its value is read as (None: the text given). An empty
    one is refused: `--model "$MODEL"` with MODEL unset ran the embedded model without a word, or (read as a path)
    the current folder."""
    read = model_type or str

    def model(text: str) -> object:
        if not text.strip():
            raise argparse.ArgumentTypeError("is empty (an unset variable?); leave it out for the embedded model")
        return read(text)

    model.__name__ = "checkpoint directory"  # argparse names the type in its messages
    p.add_argument("--model", type=model, metavar="DIR", help="checkpoint directory (default: the embedded model)")


def add_model_options(p: argparse.ArgumentParser, dtype: str = "auto",
                      model_type: Callable[[str], object] = user_path) -> None:
    """`--model`, `--device`, `--dtype` and `--no-memory-check`, as every infill-engine command that loads a
    checkpoint takes them. `dtype`: the command's default weight type (logits': float32); `model_type`: what
    `--model` is read as (evaluate's paths are `Path`s)."""
    add_model_option(p, model_type)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--dtype", default=dtype, help=dtype_help(dtype))
    add_memory_check_option(p)


def add_memory_check_option(p: argparse.ArgumentParser) -> None:
    """`--no-memory-check`, beside the option of every command that loads a checkpoint (`--model`, train's
    `--init-from`, grow's `--from`): the refusal it turns off names it, so each command that makes one offers it. The
    check refuses, before a weight is read, a checkpoint its device has no room for (engine.checkpoint.check_memory).
    The room is the system's count of memory free, which leaves out swap; a load past it may run, slowly, where swap
    takes the rest."""
    p.add_argument("--no-memory-check", dest="memory_check", action="store_false",
                   help="load the checkpoint even where the device has too little memory free for its weights (as "
                        "the system counts it, swap left out)")


def given_flags(args: argparse.Namespace, names: Iterable[str]) -> list[str]:
    """The options among `names` (their dests) that the command line gave, as flags (`max_cases` is
    `--max-cases`): those whose value is not their default of None or False. For options of one mode that another
    mode would take and ignore."""
    return ["--" + name.replace("_", "-") for name in names if getattr(args, name) not in (None, False)]
