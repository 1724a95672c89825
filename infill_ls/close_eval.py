"""How well the "Close structure" action restores what a held-out file loses at a closing span.

    python -m infill_ls.close_eval [--model DIR] [--heldout FILE.jsonl] [--max-cases N] [--seed S] [--threads N]
                                   [--no-lookup] [--out PATH]

The spans are the model evaluation's `closing` holes (engine.holes: a closing bracket with up to two tokens
before it, or a block's last statement through the block's end), drawn the same way. Each is cut out of its file,
the cursor put where it stood, and the action run as the server runs it: the fills the file spells out in the same
surroundings (none with `--no-lookup`), the mechanical closers and the model's fills, the one after which the file
parses first. Printed: how often tree-sitter sees a problem near the cursor (the action is on offer), how often the
edited file parses, how often the original text comes back, and latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass

from engine.evaluate import exact_match
from engine.holes import HoleCase

from .actions import ActionEdit, Request, close_structure, problem_to_close
from .eval_cases import SetupError, add_heldout_arguments, cut_out, engine_and_cases, percent, share
from .settings import Settings
from .syntax import apply_replacements, parses_cleanly


@dataclass
class CloseResult:
    language: str
    path: str
    offered: bool  # a parse problem near the cursor once the span is cut out
    parses: bool  # the file parses after the action (or, where none was offered, as it stands)
    restored: bool  # the file is the original again, trailing whitespace aside
    latency_ms: float
    inserted: str
    reference: str


def close_case(engine, case: HoleCase, settings: Settings, uri: str = "file:///held-out") -> CloseResult:
    """Cut the case's span out, run the action at the cursor, and score the edited file."""
    parsed, offset = cut_out(case, uri)
    text = parsed.snapshot.text
    offered = problem_to_close(parsed, offset) is not None
    started = time.perf_counter()
    edit = close_structure(parsed, offset, Request(engine, settings)) if offered else None
    edit = edit if isinstance(edit, ActionEdit) else None
    latency_ms = (time.perf_counter() - started) * 1000.0
    after = apply_replacements(text, list(edit.replacements)) if edit is not None else text
    inserted = "".join(r.text for r in edit.replacements) if edit is not None else ""
    return CloseResult(
        language=case.language, path=case.path, offered=offered,
        parses=parses_cleanly(parsed.spec, after),
        restored=exact_match(after, case.prefix + case.middle + case.suffix),
        latency_ms=latency_ms, inserted=inserted, reference=case.middle,
    )


def summarize(results: list[CloseResult]) -> dict:
    offered = [r for r in results if r.offered]
    latencies = [r.latency_ms for r in offered]
    return {
        "cases": len(results),
        "offered": len(offered),
        "parses_when_offered": share(offered, "parses"),
        "restored_when_offered": share(offered, "restored"),
        "parses_all": share(results, "parses"),
        "restored_all": share(results, "restored"),
        "latency_ms_p50": statistics.median(latencies) if latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infill_ls.close_eval", description=__doc__.split("\n\n")[0])
    add_heldout_arguments(parser, max_cases=50, per_file=2, seed=0, cases_help="closing spans")
    parser.add_argument("--no-lookup", action="store_true",
                        help="the mechanical closers and the model's fills only: none the file spells out")
    args = parser.parse_args(argv)
    try:
        engine, _, cases = engine_and_cases(args, ["closing"], "no closing spans")
    except SetupError as err:
        print(f"close_eval: {err}", file=sys.stderr)
        return 2
    settings = Settings(file_lookup=not args.no_lookup)
    results = [close_case(engine, case, settings) for case in cases]
    summary = summarize(results)
    print(f"model: {engine.description}")
    print(f"closing spans: {summary['cases']}; action on offer: {summary['offered']}")
    print(f"when on offer: parses {percent(summary['parses_when_offered'])}, "
          f"original restored {percent(summary['restored_when_offered'])}, latency p50 "
          f"{summary['latency_ms_p50']:.0f} ms" if summary["offered"] else "when on offer: –")
    print(f"all spans: parses {percent(summary['parses_all'])}, original restored {percent(summary['restored_all'])}")
    if args.out is not None:
        args.out.write_text(json.dumps({"summary": summary, "cases": [asdict(r) for r in results]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
