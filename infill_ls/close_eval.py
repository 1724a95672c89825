"""How well the "Close structure" action restores what a held-out file loses at a closing span.

    python -m infill_ls.close_eval [--model DIR] [--heldout FILE.jsonl] [--max-cases N] [--seed S] [--threads N]

The spans are the model evaluation's `closing` holes (engine.holes: a closing bracket with up to two tokens
before it, or a block's last statement through the block's end), drawn the same way. Each is cut out of its file,
the cursor put where it stood, and the action run as the server runs it: the model's fills and the mechanical
closers, the one after which the file parses first. Printed: how often tree-sitter sees a problem near the cursor
(the action is on offer), how often the edited file parses, how often the original text comes back, and latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.eval_inputs import EvaluationInputError, documents_from_heldout
from engine.evaluate import exact_match
from engine.holes import HoleCase, sample_cases

from .actions import close_structure, nearest_problem
from .eval_cases import cut_out
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
    offered = nearest_problem(parsed, offset) is not None
    started = time.perf_counter()
    edit = close_structure(engine, parsed, offset, settings, lambda: False) if offered else None
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

    def share(rows: list[CloseResult], name: str) -> float | None:
        return sum(getattr(r, name) for r in rows) / len(rows) if rows else None

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


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infill_ls.close_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", metavar="DIR", help="checkpoint directory (default: the embedded model)")
    parser.add_argument("--heldout", type=Path, default=Path("data/corpus/heldout.jsonl"), metavar="FILE.jsonl",
                        help="corpus split file, one {path, language, text} a line (default: %(default)s)")
    parser.add_argument("--max-cases", type=int, default=50, metavar="N", help="closing spans (default: 50)")
    parser.add_argument("--per-file", type=int, default=2, metavar="N", help="at most N from one file (default: 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed for choosing spans (default: 0)")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads for the model")
    parser.add_argument("--out", type=Path, metavar="PATH", help="write every case as JSON here")
    args = parser.parse_args(argv)
    if args.max_cases < 1 or args.per_file < 1 or (args.threads is not None and args.threads < 1):
        print("close_eval: --max-cases, --per-file and --threads must be at least 1", file=sys.stderr)
        return 2

    import torch

    from engine.errors import EngineError
    from engine.infill import InfillEngine

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        documents = documents_from_heldout(args.heldout)
        engine = InfillEngine.load(args.model)
    except (EvaluationInputError, EngineError) as err:
        print(f"close_eval: {err}", file=sys.stderr)
        return 2
    cases = sample_cases(documents, kinds=["closing"], max_cases=args.max_cases, seed=args.seed,
                         per_file=args.per_file)
    if not cases:
        print(f"close_eval: {args.heldout}: no closing spans (no file parses cleanly in a known language)",
              file=sys.stderr)
        return 2
    settings = Settings()
    results = [close_case(engine, case, settings) for case in cases]
    summary = summarize(results)
    print(f"model: {engine.description}")
    print(f"closing spans: {summary['cases']}; action on offer: {summary['offered']}")
    print(f"when on offer: parses {_pct(summary['parses_when_offered'])}, "
          f"original restored {_pct(summary['restored_when_offered'])}, latency p50 "
          f"{summary['latency_ms_p50']:.0f} ms" if summary["offered"] else "when on offer: –")
    print(f"all spans: parses {_pct(summary['parses_all'])}, original restored {_pct(summary['restored_all'])}")
    if args.out is not None:
        args.out.write_text(json.dumps({"summary": summary, "cases": [asdict(r) for r in results]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
