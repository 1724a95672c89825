"""How the "Rewrite selection" action treats held-out code: each hole's own text selected and rewritten.

    python -m infill_ls.rewrite_eval [--model DIR] [--heldout FILE.jsonl] [--kinds line statement block]
                                     [--max-cases N] [--seed S] [--threads N] [--out PATH]

The selections are the model evaluation's holes (engine.holes: an expression on a line, a whole statement, a block's
body), drawn the same way but left in their file; the action runs on each as the server runs it. Printed per kind:
how often it offers an edit, how often the file parses after it, how close the rewrite is to the selected text (edit
similarity: a rewrite that keeps to what the code does stays near it), latency, and why it offered none, by the
action's own message (its numbers left out).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace

from engine.evaluate import edit_similarity
from engine.holes import HoleCase

from .actions import ActionEdit, Request, rewrite_selection
from .eval_cases import SetupError, add_heldout_arguments, cut_out, engine_and_cases, percent, share
from .settings import Settings
from .syntax import apply_replacements, parses_cleanly

KINDS = ("line", "statement", "block")


@dataclass
class RewriteResult:
    kind: str
    language: str
    path: str
    offered: bool  # the action had an edit
    parses: bool  # the file parses after the edit (or, where none was offered, as it stands)
    similarity: float  # of what the edit writes in the selection's place to the selection; 0 where none
    latency_ms: float
    written: str
    selected: str
    reason: str  # why no edit was offered; "" where one was


def rewrite_case(engine, case: HoleCase, settings: Settings, uri: str = "file:///held-out") -> RewriteResult:
    """Select the case's middle in its whole file, run the action, and score what it would leave."""
    parsed, start = cut_out(replace(case, middle="", suffix=case.middle + case.suffix), uri)
    end = start + len(case.middle)
    started = time.perf_counter()
    edit = rewrite_selection(parsed, start, end, Request(engine, settings))
    latency_ms = (time.perf_counter() - started) * 1000.0
    text = parsed.snapshot.text
    if not isinstance(edit, ActionEdit):
        return RewriteResult(case.kind, case.language, case.path, False, parses_cleanly(parsed.spec, text), 0.0,
                             latency_ms, "", case.middle, edit.reason)
    after = apply_replacements(text, list(edit.replacements))
    written = after[start:len(after) - (len(text) - end)]
    return RewriteResult(case.kind, case.language, case.path, True, parses_cleanly(parsed.spec, after),
                         edit_similarity(written, case.middle), latency_ms, written, case.middle, "")


def summarize(results: list[RewriteResult]) -> dict:
    offered = [r for r in results if r.offered]
    return {
        "cases": len(results),
        "offered": share(results, "offered"),
        "parses_when_offered": share(offered, "parses"),
        "similarity_when_offered": statistics.mean(r.similarity for r in offered) if offered else None,
        "latency_ms_p50": statistics.median(r.latency_ms for r in results) if results else None,
        "reasons": dict(Counter(re.sub(r"\d+", "N", r.reason) for r in results if not r.offered).most_common()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infill_ls.rewrite_eval", description=__doc__.split("\n\n")[0])
    add_heldout_arguments(parser, max_cases=40, per_file=2, seed=1, cases_help="selections per kind")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                        help="hole kinds to select (default: all three)")
    args = parser.parse_args(argv)
    try:
        engine, _, cases = engine_and_cases(args, args.kinds, "no holes")
    except SetupError as err:
        print(f"rewrite_eval: {err}", file=sys.stderr)
        return 2
    settings = Settings()
    results = [rewrite_case(engine, case, settings) for case in cases]
    print(f"model: {engine.description}")
    print("| selection | cases | edit offered | parses when offered | edit similarity when offered | latency p50 |")
    print("|---|---:|---:|---:|---:|---:|")
    kinds = [k for k in args.kinds if any(r.kind == k for r in results)]
    for name, rows in [(k, [r for r in results if r.kind == k]) for k in kinds] + [("all", results)]:
        s = summarize(rows)
        similarity = "–" if s["similarity_when_offered"] is None else f"{s['similarity_when_offered']:.3f}"
        print(f"| {name} | {s['cases']} | {percent(s['offered'])} | {percent(s['parses_when_offered'])} | "
              f"{similarity} | {s['latency_ms_p50']:.0f} ms |")
    print("no edit offered, by reason:")
    for reason, count in summarize(results)["reasons"].items():
        print(f"  {count:4d}  {reason}")
    if args.out is not None:
        report = {"summary": {k: summarize([r for r in results if r.kind == k]) for k in kinds}
                  | {"all": summarize(results)}, "cases": [asdict(r) for r in results]}
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
