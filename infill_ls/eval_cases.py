"""Held-out holes as the server meets them, for the server-side evaluations (`close_eval`, `typing_eval`): their
shared command line, the model and the cases it loads, and each case's file with the hole's text cut out, open and
parsed, the cursor where the text stood."""

from __future__ import annotations

import argparse
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Sequence

from engine.arguments import add_memory_check_option, add_model_option
from engine.eval_inputs import (EvaluationInputError, add_languages_argument, documents_from_heldout,
                                in_languages)
from engine.holes import HoleCase, SourceDocument, sample_cases

from .documents import DocumentStore
from .syntax import LANGUAGES, ParsedSnapshot, SyntaxIndex

if TYPE_CHECKING:
    from engine.infill import InfillEngine

_LANGUAGE_IDS = {spec.name: spec.language_ids[0] for spec in LANGUAGES}


class SetupError(Exception):
    """A bad argument, input file or model: the evaluation prints it on one line and exits with 2."""


def add_heldout_arguments(parser: argparse.ArgumentParser, *, max_cases: int, per_file: int, seed: int,
                          cases_help: str) -> None:
    add_model_option(parser)
    add_memory_check_option(parser)
    parser.add_argument("--heldout", type=Path, default=Path("data/corpus/heldout.jsonl"), metavar="FILE.jsonl",
                        help="corpus split file, one {path, language, text} a line (default: %(default)s)")
    add_languages_argument(parser)
    parser.add_argument("--max-cases", type=int, default=max_cases, metavar="N",
                        help=f"{cases_help} (default: {max_cases})")
    parser.add_argument("--per-file", type=int, default=per_file, metavar="N",
                        help=f"at most N from one file (default: {per_file})")
    parser.add_argument("--seed", type=int, default=seed, help=f"seed for choosing the cases (default: {seed})")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads for the model")
    parser.add_argument("--out", type=Path, metavar="PATH", help="write every case as JSON here")


def engine_and_cases(args: argparse.Namespace, kinds: Sequence[str],
                     none_found: str) -> tuple[InfillEngine, list[SourceDocument], list[HoleCase]]:
    """The model, the held-out documents and the cases the arguments ask for among them; `none_found` says what the
    split lacks if there are none."""
    if args.max_cases < 1 or args.per_file < 1 or (args.threads is not None and args.threads < 1):
        raise SetupError("--max-cases, --per-file and --threads must be at least 1")

    import torch

    from engine.errors import EngineError
    from engine.infill import InfillEngine

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        documents = in_languages(documents_from_heldout(args.heldout), args.languages, str(args.heldout))
        # No --dtype here: a refusal names a GPU, where `auto` would put the model, not a dtype.
        engine = InfillEngine.load(args.model, memory_check=args.memory_check, ways=frozenset({"device"}))
    except (EvaluationInputError, EngineError) as err:
        raise SetupError(str(err)) from err
    cases = sample_cases(documents, kinds=list(kinds), max_cases=args.max_cases, seed=args.seed,
                         per_file=args.per_file)
    if not cases:
        raise SetupError(f"{args.heldout}: {none_found} (no file parses cleanly in a known language)")
    return engine, documents, cases


def cut_out(case: HoleCase, uri: str = "file:///held-out") -> tuple[ParsedSnapshot, int]:
    """The parsed file without the case's middle, and the cursor offset where the middle was."""
    language_id = _LANGUAGE_IDS.get(case.language, case.language)
    return parsed_document(uri + PurePosixPath(case.path).suffix, language_id, case.prefix + case.suffix), \
        len(case.prefix)


def parsed_document(uri: str, language_id: str, text: str) -> ParsedSnapshot:
    """``text`` opened as a document and parsed, as the server's syntax index parses it."""
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(uri, language_id, 1, text)
    index.opened(snapshot)
    return index.parse(snapshot)


def share(rows: Sequence[object], name: str) -> float | None:
    """The fraction of rows whose boolean field `name` is set; None for no rows."""
    return sum(getattr(r, name) for r in rows) / len(rows) if rows else None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"
