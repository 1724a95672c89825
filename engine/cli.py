"""`infill-engine`: generate, infill, logits, bench, and the data/training/evaluation pipeline."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import importlib
import json
import logging
import math
import os
import re
import stat
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterable, Iterator, TextIO

# Nothing heavy here (torch, the subcommands' modules): `main` imports them, and a Ctrl-C meanwhile ends as one later.
from engine.arguments import add_model_options, given_flags, int_between, positive_int, seed_int, user_path
from engine.config import DEFAULT_MODEL_DIR, new_file_mode
from engine.errors import EngineError

# Modules that add their own subcommand through `register(subparsers)`.
SUBCOMMANDS = ["engine.bench", "engine.corpus", "engine.vocab", "engine.dataset", "engine.train", "engine.grow",
               "engine.evaluate"]


class UsageError(EngineError):
    pass


def check_writable(path: Path, flag: str = "--out") -> None:
    """Fail before the work, not after it, when `path` cannot be written (a directory, or under a file or an
    unwritable folder): the model's work would be lost."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a directory")
    parent = path.parent
    # Its folder is made as the output is written (`replaced`), not here: made here, it stood empty after a command
    # that went on to fail on another input (a checkpoint that is none, an id that is no number). What would stop it
    # being made is found on the nearest folder that exists.
    missing = _missing_folders(parent)
    existing = missing[-1].parent if missing else parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: cannot create its folder ({os.strerror(errno.ENOTDIR)})")
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == parent:
            raise UsageError(f"{flag} {path}: its folder {parent} is not writable")
        raise UsageError(f"{flag} {path}: cannot create its folder ({os.strerror(errno.EACCES)})")
    # A file its owner made read-only is kept so, even where the folder would let it be replaced (or by root).
    if path.is_file() and not (os.stat(path).st_mode & 0o222 and os.access(path, os.W_OK)):
        raise UsageError(f"{flag} {path}: is read-only")


def check_not_an_input(path: Path, inputs: Iterable[tuple[str | Path, str]], flag: str = "--out") -> None:
    """Refuse an output that is one of the command's inputs, by whatever name (a link, another spelling): the
    input would be lost. `inputs`: (path, what it is to the command)."""
    try:
        written = os.stat(path)
    except OSError:
        return  # not there yet: no input
    if not stat.S_ISREG(written.st_mode):
        return  # a pipe or a terminal is written as it is, and one may serve as input and output alike
    for source, what in inputs:
        try:
            same = os.path.samestat(written, os.stat(source))
        except OSError:
            continue
        if same:
            raise UsageError(f"{flag} {path}: is {what}; it would be overwritten")


def folder_files(folder: str | Path, what: str) -> list[tuple[Path, str]]:
    """The files of ``folder`` (a checkpoint, a corpus) as inputs for `check_not_an_input`, each named as one of
    ``what``: a command reads some of them now, and the rest later (an output over the weights or a split is
    found when the checkpoint or the corpus is next loaded)."""
    try:
        return [(f, f"a file of {what} {folder}") for f in Path(folder).iterdir() if f.is_file()]
    except OSError:
        return []


@contextmanager
def replaced(path: Path, flag: str = "--out") -> Iterator[Path]:
    """A temporary file beside `path` to write, moved over `path` once whole: a failure midway (a full disk, an
    interrupt) leaves what was there. Through a link, the file it names is replaced, not the link. A pipe or a
    device (/dev/stdout, /dev/null) is written as it is: put in its place, a file would take the output from the
    reader, or stand for /dev/null where root runs this."""
    try:
        existing = os.stat(path)
    except OSError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        try:
            yield Path(path)
        except OSError as err:
            raise UsageError(f"{flag} {path}: cannot be written ({err.strerror or err})") from None
        return
    target = Path(os.path.realpath(path))
    made = _missing_folders(target.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as err:
        _remove_folders(made)
        # Its folder there already, what failed is the file (a quota, a file system made read-only since the check).
        what = "cannot create its folder" if made else "cannot be written"
        raise UsageError(f"{flag} {path}: {what} ({err.strerror or err})") from None
    os.close(handle)
    try:
        yield Path(temp)
        # After the writing: a writer may make the file anew (safetensors does), with permissions of its own.
        os.chmod(temp, _file_mode(target))
        os.replace(temp, target)
    except BaseException as err:
        try:
            os.unlink(temp)
        except OSError:
            pass
        _remove_folders(made)  # what was there is left, and nothing else
        if isinstance(err, OSError):
            raise UsageError(f"{flag} {path}: cannot be written ({err.strerror or err})") from None
        raise


def _missing_folders(folder: Path) -> list[Path]:
    """The folders of `folder`'s path that do not exist yet, deepest first."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_folders(folders: list[Path]) -> None:
    """Remove the folders a failed write made (deepest first); one that holds something now is kept."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _file_mode(target: Path) -> int:
    """The permissions the file written over `target` gets: its own where it exists, else a new file's."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return new_file_mode()


def load_engine(args):
    from engine.infill import InfillEngine

    eng = InfillEngine.load(args.model, device=args.device, dtype=args.dtype, memory_check=args.memory_check)
    eng.generation = with_sampler_flags(eng.generation, args)
    return eng


# The generation config's sampler settings a run may change: (flag's dest, GenerationConfig field).
SAMPLER_FLAGS = (("steps", "max_denoising_steps"), ("t_max", "t_max"), ("t_min", "t_min"),
                 ("entropy_bound", "entropy_bound"), ("stability_threshold", "stability_threshold"),
                 ("confidence_threshold", "confidence_threshold"))


def add_sampler_options(p: argparse.ArgumentParser) -> None:
    default = "(default: the generation config's {})".format
    p.add_argument("--steps", type=int, metavar="N",
                   help="denoising passes per canvas at most; the temperature cools over them " +
                        default("max_denoising_steps"))
    p.add_argument("--t-max", type=float, metavar="T", help="the first pass's temperature " + default("t_max"))
    p.add_argument("--t-min", type=float, metavar="T",
                   help="the temperature the passes cool toward " + default("t_min"))
    p.add_argument("--entropy-bound", type=float, metavar="H",
                   help="entropy the tokens kept after a pass may add up to; more keeps more a pass " +
                        default("sampler_config.entropy_bound"))
    p.add_argument("--stability-threshold", type=int, metavar="N",
                   help="passes a canvas's tokens must come back unchanged before it may stop " +
                        default("stability_threshold"))
    p.add_argument("--confidence-threshold", type=float, metavar="H",
                   help="mean entropy a canvas must be under to stop before the last pass; 0: it never does " +
                        default("confidence_threshold"))


def with_sampler_flags(generation, args):
    """The generation config with the sampler flags given (of those a command has), checked as a
    generation_config.json is: a value it could not run with is named with the flags, in one line."""
    given = [(dest, field, getattr(args, dest)) for dest, field in SAMPLER_FLAGS
             if getattr(args, dest, None) is not None]
    if not given:
        return generation
    changed = dataclasses.replace(generation, **{field: value for _, field, value in given})
    changed.check(" ".join(f"--{dest.replace('_', '-')} {value}" for dest, _, value in given))
    return changed


# -- infill --------------------------------------------------------------------------------------------------------
# Only \n, \r\n and \r end a line, as in editors, grep -n and compilers: str.splitlines also breaks at form feeds,
# \v, \x1c-\x1e, \x85 and U+2028/9, so a line number counted by it named another line.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def editor_lines(text: str) -> list[str]:
    """The lines of `text`, each with its line break; after a final line break, the empty line a cursor can be on."""
    lines, start = [], 0
    for found in LINE_BREAK.finditer(text):
        lines.append(text[start:found.end()])
        start = found.end()
    return [*lines, text[start:]]


def split_at_cursor(text: str, line: int, col: int, source: str) -> tuple[str, str]:
    """Prefix and suffix around a 1-based line and column (counted in characters)."""
    lines = editor_lines(text)
    if not 1 <= line <= len(lines):
        raise UsageError(f"{source}: line {line} is outside the file, which has {_line_count(lines)}")
    before = "".join(lines[:line - 1])
    current = lines[line - 1]
    body = current.rstrip("\r\n")
    if not 1 <= col <= len(body) + 1:
        raise UsageError(f"{source}: column {col} is outside line {line} (1..{len(body) + 1})")
    return before + body[:col - 1], current[col - 1:] + "".join(lines[line:])


def _line_count(lines: list[str]) -> str:
    if len(lines) > 1 and lines[-1] == "":
        n = len(lines) - 1
        return f"{n} line{'s' * (n != 1)} (1..{n + 1}, the last the empty one after the final line break)"
    return f"{len(lines)} line{'s' * (len(lines) != 1)} (1..{len(lines)})"


# Each mode's own flags: given to the other mode, a flag was ignored without a word.
CURSOR_FLAGS = ("line", "col", "candidates", "json")
BATCH_FLAGS = ("out",)


def check_mode_flags(args) -> None:
    theirs, mode = (BATCH_FLAGS, "--jsonl (the batch mode)") if args.file else (CURSOR_FLAGS,
                                                                                  "--file (the cursor mode)")
    if stray := given_flags(args, theirs):
        raise UsageError(f"{', '.join(stray)}: only with {mode}")


def cmd_infill(args) -> int:
    if bool(args.file) == bool(args.jsonl):
        raise UsageError("give either --file PATH --line L --col C, or --jsonl IN --out OUT")
    check_mode_flags(args)
    if args.file:
        if args.line is None or args.col is None:
            raise UsageError("--file needs --line and --col")
        text = read_text(Path(args.file))
        prefix, suffix = split_at_cursor(text, args.line, args.col, args.file)
        eng = load_engine(args)
        options = infill_options(args, eng)
        print_candidates(eng.infill(prefix, suffix, **options), options["num_candidates"], args.json)
        return 0
    if not args.out:
        raise UsageError("--jsonl needs --out")
    blank: list[int] = []
    problems = read_jsonl(Path(args.jsonl), blank)
    to_stdout = args.out == "-"  # as `--prompt-file -` reads stdin: it made a file named `-`
    if not to_stdout:
        check_writable(Path(args.out))
        check_not_an_input(Path(args.out), [(args.jsonl, "the --jsonl input"),
                                            *folder_files(args.model or DEFAULT_MODEL_DIR, "the checkpoint")])
    eng = load_engine(args)
    options = infill_options(args, eng)
    with nullcontext(sys.stdout) if to_stdout else _written(Path(args.out)) as out:
        for record in problems:
            record["middle"] = eng.infill(record["prefix"], record["suffix"], **options)[0].text
            out.write(_json_line(record))
            out.flush()
    skipped = f" ({len(blank)} blank line{'s' * (len(blank) != 1)} of {args.jsonl} skipped)" if blank else ""
    print(f"wrote {len(problems)} fills to {'stdout' if to_stdout else args.out}{skipped}", file=sys.stderr)
    return 0


@contextmanager
def _written(path: Path) -> Iterator[TextIO]:
    """A text file at `path`, written whole or not at all (`replaced`)."""
    with replaced(path) as temp, open(temp, "w", encoding="utf-8") as out:
        yield out


def print_candidates(candidates, asked: int, as_json: bool) -> None:
    """Each fill as text (one asked for: as it is; several: each followed by a line break, which a fill that holds
    line breaks blurs), or with `as_json` one JSON object a line, which any fill survives."""
    for cand in candidates:
        if as_json:
            confidence = cand.confidence if math.isfinite(cand.confidence) else None
            sys.stdout.write(_json_line({"text": cand.text, "confidence": confidence, "source": cand.source}))
        else:
            sys.stdout.write(cand.text + ("\n" if asked > 1 else ""))
    if asked == 1 and not as_json:
        sys.stdout.write("\n")


DEFAULT_MAX_TOKENS = 32


def infill_options(args, eng) -> dict:
    """`eng.infill`'s options from the command line. Without --max-tokens, the default budget is cut to what the
    checkpoint's canvas holds (as evaluate and the server do); a budget asked for beyond it is refused."""
    if args.max_tokens is None:
        max_tokens = min(DEFAULT_MAX_TOKENS, eng.hole_capacity)
    else:
        check_budget(eng, args.max_tokens)
        max_tokens = args.max_tokens
    return dict(max_tokens=max_tokens, num_candidates=args.candidates or 1, seed=args.seed,
                prompt_tokens=args.prefix_tokens)


def check_budget(eng, max_tokens: int) -> None:
    """A hole is one canvas: a budget beyond what the model's holds would run on a canvas wider than any it was
    trained on, slowly, and come back no longer."""
    if max_tokens > eng.hole_capacity:
        raise UsageError(f"--max-tokens {max_tokens}: {eng.model_dir.name} fills at most {eng.hole_capacity} "
                         "tokens in one canvas")


def _json_line(record: dict) -> str:
    """One JSONL line, in UTF-8 where it can be: a record holding a lone surrogate (JSON allows `\\udc80`, UTF-8
    has no such character) is written with escapes instead, as it was read."""
    try:
        line = json.dumps(record, ensure_ascii=False)
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line + "\n"


def read_text(path: Path) -> str:
    # A byte order mark is no character of line 1: its columns count from after it, and the model never sees it.
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None


def read_jsonl(path: Path, blank: list[int] | None = None) -> list[dict]:
    # The evaluation inputs' reader: the same line-numbered one-line errors for JSONL files. `blank`: gets the
    # numbers of the blank lines skipped.
    from engine.eval_inputs import EvaluationInputError, jsonl_records

    records = []
    try:
        for n, record in jsonl_records(path, "prefix/suffix records", blank):
            if not isinstance(record.get("prefix"), str) or not isinstance(record.get("suffix"), str):
                raise UsageError(f"{path}:{n}: expected an object with string fields prefix and suffix")
            records.append(record)
    except EvaluationInputError as err:
        raise UsageError(str(err)) from None
    return records


# -- logits --------------------------------------------------------------------------------------------------------
def parse_ids(text: str, flag: str, vocab: int) -> list[int]:
    try:
        ids = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"{flag}: expected comma-separated integers, got {text!r}") from None
    bad = [i for i in ids if not 0 <= i < vocab]
    if not ids or bad:
        raise UsageError(f"{flag}: ids must be in 0..{vocab - 1}" + (f" (got {bad[0]})" if bad else " (none given)"))
    return ids


def cmd_logits(args) -> int:
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    from engine.checkpoint import load_checkpoint
    from engine.infill_lookup import model_directory

    check_writable(Path(args.out))
    check_not_an_input(Path(args.out), folder_files(args.model or DEFAULT_MODEL_DIR, "the checkpoint"))
    ck = load_checkpoint(model_directory(args.model), device=args.device, dtype=args.dtype,
                         memory_check=args.memory_check)
    model, vocab = ck.model, ck.config.vocab_size
    prompt = parse_ids(args.prompt_ids, "--prompt-ids", vocab)
    canvas = parse_ids(args.canvas_ids, "--canvas-ids", vocab)
    # Refused, not cut as generate cuts a text prompt: these logits are compared with another implementation's for
    # the same ids, and a prompt cut to fit would make them another run's.
    refuse_past_positions("--prompt-ids, --canvas-ids", f"{len(prompt)} prompt and {len(canvas)} canvas ids",
                          len(prompt) + len(canvas), ck.config.max_position_embeddings, ck.directory.name)
    sc = None
    if args.self_conditioning:
        try:
            sc = load_file(args.self_conditioning).get("logits")
        except (SafetensorError, OSError) as err:
            raise UsageError(f"{args.self_conditioning}: not a readable safetensors file ({err})") from None
        if sc is None or sc.numel() != len(canvas) * vocab or tuple(sc.shape[-2:]) != (len(canvas), vocab):
            raise UsageError(f"{args.self_conditioning}: needs a tensor 'logits' of shape [{len(canvas)}, {vocab}]")
        sc = sc.reshape(1, len(canvas), vocab).to(model.device)
    with torch.inference_mode():
        cache = model.encode(torch.tensor([prompt], device=model.device))
        logits = model.decode(torch.tensor([canvas], device=model.device), cache, sc)
    with replaced(Path(args.out)) as temp:
        save_file({"logits": logits[0].float().cpu().contiguous()}, str(temp))
    print(f"wrote logits [{len(canvas)}, {vocab}] to {args.out}", file=sys.stderr)
    return 0


def refuse_past_positions(flags: str, what: str, needed: int, limit: int, model: str) -> None:
    """Refuse a pass over more positions than the model has, as generate refuses a canvas that does not fit: past
    max_position_embeddings the rotary positions are ones it was never trained on, and what it computes there
    means nothing."""
    if needed > limit:
        raise UsageError(f"{flags}: {what} take {needed} positions, more than the {limit} {model} has "
                         "(max_position_embeddings)")


# -- wiring --------------------------------------------------------------------------------------------------------
SEED_HELP = f"random seed, 0 to {2 ** 64 - 1}: the same seed, model and input give the same text (default: 0)"
MAX_CANDIDATES = 32


def build_parser() -> argparse.ArgumentParser:
    # Not at the top: engine.generate_cli imports this module's helpers, defined by the time a parser is built.
    from engine.generate_cli import cmd_generate

    parser = argparse.ArgumentParser(prog="infill-engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="generate text after a prompt, canvas by canvas",
                       description="Denoise canvases after a prompt until EOS or the token budget.")
    add_model_options(p)
    prompt = p.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", help="prompt text")
    prompt.add_argument("--prompt-file", type=user_path, metavar="PATH",
                        help="read the prompt from a UTF-8 file (-: stdin), as it is, a final line break included")
    p.add_argument("--chat", action="store_true",
                   help="send the prompt as a user turn in the checkpoint's chat template (instruction-tuned models)")
    p.add_argument("--max-new-tokens", type=positive_int, default=None,
                   help="most new tokens printed; the last canvas is denoised whole, then cut (default: the "
                        "generation config's); a prompt too long for the model's positions beside them is cut "
                        "from its start, with a warning")
    add_sampler_options(p)
    p.add_argument("--seed", type=seed_int, default=0, help=SEED_HELP)
    p.add_argument("--visual", action="store_true",
                   help="draw the canvas at every denoising step on stderr (redrawn in place, in colour, on a "
                        "terminal); stdout gets the text alone")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("infill", help="fill the hole at a cursor, or a batch of holes",
                       description="Fill the hole at --file/--line/--col (1-based, columns in characters, lines ended "
                                   "by \\n, \\r\\n or \\r), or each "
                                   '{"prefix": ..., "suffix": ...} line of --jsonl into --out with "middle" added.')
    add_model_options(p)
    p.add_argument("--file", type=user_path, help="source file (cursor mode)")
    p.add_argument("--line", type=int, help="1-based line of the cursor")
    p.add_argument("--col", type=int, help="1-based column of the cursor")
    p.add_argument("--jsonl", type=user_path,
                   help="input JSONL of prefix/suffix records (batch mode; blank lines are skipped)")
    p.add_argument("--out", type=user_path,
                   help="output JSONL (batch mode): a file is written whole or not at all, never over --jsonl; a "
                        "named pipe, or stdout for -, as the fills come")
    p.add_argument("--max-tokens", type=positive_int, default=None,
                   help=f"largest hole to try, in tokens (default: {DEFAULT_MAX_TOKENS}, or as many as the "
                        "checkpoint's canvas holds where that is fewer)")
    p.add_argument("--candidates", type=int_between(1, MAX_CANDIDATES), default=None,
                   help=f"candidates to print, with --file (default: 1; at most {MAX_CANDIDATES}: each is one more row "
                        "of the batch for every hole length tried)")
    p.add_argument("--json", action="store_true",
                   help="with --file: each candidate as one JSON line, {text, confidence, source}")
    p.add_argument("--prefix-tokens", type=positive_int, default=None, metavar="N",
                   help="tokens of the text before the hole the model reads (default: the checkpoint's "
                        "infill_prompt_tokens, else 1024)")
    add_sampler_options(p)
    p.add_argument("--seed", type=seed_int, default=0, help=SEED_HELP)
    p.set_defaults(func=cmd_infill)

    p = sub.add_parser("logits", help="one decoder pass, logits written as safetensors",
                       description="Encode the prompt ids, run one decoder pass over the canvas ids (positions "
                                   "following the prompt's) and write a float32 tensor 'logits' [canvas_len, vocab].")
    add_model_options(p, dtype="float32")
    p.add_argument("--prompt-ids", required=True, help="comma-separated token ids")
    p.add_argument("--canvas-ids", required=True, help="comma-separated token ids")
    p.add_argument("--self-conditioning", type=user_path, metavar="FILE",
                   help="safetensors file with the previous step's 'logits' [canvas_len, vocab]")
    p.add_argument("--out", type=user_path, required=True, help="output safetensors file")
    p.set_defaults(func=cmd_logits)

    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


class _Warnings(logging.Handler):
    """The engine's warnings (a checkpoint read otherwise than its files may suggest) as lines of the command's own,
    begun with its name as its errors are; sys.stderr looked up as each is written, whatever stands for it then."""

    def __init__(self, said_as: str) -> None:
        super().__init__(logging.WARNING)
        self.said_as = said_as

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{self.said_as}: {record.getMessage()}", file=sys.stderr)


def say_warnings(said_as: str) -> None:
    """The engine's warnings on stderr, each line begun with `said_as`, in place of those of a command run before
    in this process."""
    engine_log = logging.getLogger("engine")
    for handler in [h for h in engine_log.handlers if isinstance(h, _Warnings)]:
        engine_log.removeHandler(handler)
    engine_log.addHandler(_Warnings(said_as))
    engine_log.propagate = False


def main(argv: list[str] | None = None) -> int:
    # What begins each line the command says on stderr, an error or a warning: the subcommand's name once it is
    # known, as evaluate, train and corpus name themselves on their own lines ("evaluate: ..."), so that one
    # command's lines read alike wherever in it they were raised.
    said_as = "infill-engine"
    say_warnings(said_as)
    try:
        # The subcommands' modules import torch: seconds, in which a Ctrl-C ends the command as it does later.
        args = build_parser().parse_args(argv)
        said_as = args.command
        say_warnings(said_as)
        status = args.func(args)
        sys.stdout.flush()  # here, where a reader gone is met as below
        return status
    except BrokenPipeError:
        # The reader has gone (`| head`): the command ends without a word, as git and grep do, with the status a
        # SIGPIPE gives. What stdout still holds goes nowhere, else Python writes it at exit and says it could not.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except EngineError as err:
        print(f"{said_as}: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        # A path the command could not read or write (an --out that is a file where a folder goes, a full disk):
        # one line naming it, whichever subcommand met it.
        where = f"{err.filename}: " if err.filename else ""
        print(f"{said_as}: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
