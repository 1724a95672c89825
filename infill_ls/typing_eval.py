"""The ghost text a user sees while typing, scored against held-out files.

    python -m infill_ls.typing_eval [--model DIR] [--heldout FILE.jsonl] [--kinds line ...] [--max-cases N]
                                    [--per-file N] [--seed S] [--threads N] [--no-lookup | --neighbors]
                                    [--mid-word | --at-header] [--out PATH]

The holes are the model evaluation's (engine.holes), drawn the same way. Each is cut out of its file, the cursor put
where it stood, and completion run as the server runs it for a keystroke: the typing step budget, one hole size,
a fill the file spells out elsewhere offered before the model's (off with `--no-lookup`; with `--neighbors`, the
other files of the hole's directory searched too, as the server does), the fill fitted to the
line, a suggestion dropped if it leaves more tree-sitter ERROR nodes than the file has without it (a fill from
the file that passes is shown without running the model), and where the file parses with none of them, one closed
so that it does put first (`parsing_first`). Printed per hole kind, before ("unchecked") and after ("served") those
last checks:
how often a suggestion is shown, how often it restores the original file, how close it is to the original text
(edit similarity, 0 where nothing is shown), how often the file parses afterwards, and latency; then how often the
file's fill was shown without the model. With `--mid-word`, the first half of the name a hole starts with is typed
already, so the cursor stands inside a name, as it does at most keystrokes; holes that start with no name of two
or more characters are left out. With `--at-header`, the cursor ends the header's line above a block hole, before
Enter (`def total(items):|`), and the line break and indentation are part of the hole; other holes are left out.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from engine.evaluate import directory_neighbors, edit_similarity, exact_match
from engine.holes import KINDS, HoleCase

from .completion import complete, from_file_alone, suggest
from .suggestions import Suggestion
from .typing_filter import no_worse, parsing_first_kept
from .eval_cases import SetupError, add_heldout_arguments, cut_out, engine_and_cases, percent, share
from .settings import Settings
from .syntax import ParsedSnapshot, Replacement, apply_replacements, parses_cleanly


@dataclass
class Shown:
    """One way of answering a hole: what the editor would show, scored."""

    shown: bool
    restored: bool  # the file with the suggestion is the original, trailing whitespace aside
    similarity: float  # edit similarity of the inserted text to the cut-out text; 0 when nothing is shown
    parses: bool  # the file parses with the suggestion (or, when nothing is shown, as it stands)
    text: str


@dataclass
class TypingResult:
    kind: str
    language: str
    path: str
    reference: str
    latency_ms: float  # completion as the server runs it for a keystroke, the check included
    check_ms: float  # the check alone, over everything offered: an incremental re-parse per suggestion or variant
    unchecked: Shown  # the first suggestion as it comes out of post-processing
    served: Shown  # after dropping a suggestion that adds a syntax error
    without_model: bool = False  # the file's fill passed the check, so the model did not run


_NAME = re.compile(r"\w{2,}")


def half_typed(case: HoleCase) -> HoleCase | None:
    """The case with the first half of the name its middle starts with moved to the prefix (typed already); None
    where the middle starts with no name of two or more characters."""
    name = _NAME.match(case.middle)
    if name is None:
        return None
    typed = (len(name.group()) + 1) // 2
    return replace(case, prefix=case.prefix + case.middle[:typed], middle=case.middle[typed:])


# The line break and indentation the hole's own prefix ends with, after a header's line (`def f(x):`, `if (ok) {`).
_AFTER_HEADER = re.compile(r"(?<=[:{])[ \t]*\r?\n[ \t]*\Z")


def at_header_end(case: HoleCase) -> HoleCase | None:
    """The case with the cursor at the end of the header's line above its block, Enter not pressed yet: the line
    break and indentation before the block moved into the middle (`def total(items):|`); None where the hole is no
    block, or its prefix does not end a line that ends with `:` or `{`."""
    found = _AFTER_HEADER.search(case.prefix) if case.kind == "block" else None
    if found is None:
        return None
    return replace(case, prefix=case.prefix[:found.start()], middle=found.group() + case.middle)


# Where `--mid-word` and `--at-header` put the cursor instead: each case moved (None: left out), what is said of the
# cases kept ({kept} of {drawn}), and why none is.
CURSOR_MOVES: dict[str, tuple[Callable[[HoleCase], HoleCase | None], str, str]] = {
    "mid_word": (half_typed, "mid-word: {} of {} holes start with a name, its first half typed",
                 "no hole starts with a name to type half of"),
    "at_header": (at_header_end, "at a header's end: {} of {} holes are blocks below a line that ends with : or {{",
                  "no block hole below a header's line (--kinds block draws them)"),
}


def _score(parsed: ParsedSnapshot, case: HoleCase, suggestions: list[Suggestion]) -> Shown:
    text = parsed.snapshot.text
    if not suggestions:
        return Shown(False, False, 0.0, parses_cleanly(parsed.spec, text), "")
    s = suggestions[0]
    after = apply_replacements(text, [Replacement(s.start, s.end, s.text)])
    return Shown(True, exact_match(after, case.prefix + case.middle + case.suffix),
                 edit_similarity(s.text, case.middle), parses_cleanly(parsed.spec, after), s.text)


def typing_case(engine, case: HoleCase, settings: Settings, elsewhere: tuple[str, ...] = ()) -> TypingResult:
    """`elsewhere`: the files beside the case's, as the server reads them (`infill_ls.neighbors`)."""
    parsed, offset = cut_out(case)
    started = time.perf_counter()
    served = complete(engine, parsed, offset, settings, explicit=False, should_stop=lambda: False,
                      elsewhere=elsewhere)
    latency_ms = (time.perf_counter() - started) * 1000.0
    # Everything offered before the check, the model's fill included, for the unchecked row.
    raw = suggest(engine, parsed, offset, settings, explicit=False, should_stop=lambda: False, elsewhere=elsewhere)
    checking = time.perf_counter()
    parsing_first_kept(parsed, offset, no_worse(parsed, raw))
    check_ms = (time.perf_counter() - checking) * 1000.0
    return TypingResult(case.kind, case.language, case.path, case.middle, latency_ms, check_ms,
                        _score(parsed, case, raw), _score(parsed, case, served), from_file_alone(served))


def summarize(results: list[TypingResult], which: str) -> dict:
    rows = [getattr(r, which) for r in results]
    shown = [s for s in rows if s.shown]
    return {
        "cases": len(rows),
        "shown": share(rows, "shown"),
        "restored": share(rows, "restored"),
        "restored_when_shown": share(shown, "restored"),
        "similarity": statistics.mean(s.similarity for s in rows) if rows else None,
        "similarity_when_shown": statistics.mean(s.similarity for s in shown) if shown else None,
        "parses_when_shown": share(shown, "parses"),
    }


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown_table(results: list[TypingResult], kinds: list[str]) -> str:
    lines = ["| hole kind | cases | suggestions | shown | exact (all) | exact (shown) | edit sim. (all) "
             "| edit sim. (shown) | parses (shown) | latency p50 |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in [*kinds, "all"] if len(kinds) > 1 else kinds:
        rows = [r for r in results if kind in ("all", r.kind)]
        if not rows:
            continue
        p50 = statistics.median(r.latency_ms for r in rows)
        for which, label in (("unchecked", "unchecked"), ("served", "served")):
            s = summarize(rows, which)
            lines.append(f"| {kind} | {s['cases']} | {label} | {percent(s['shown'])} | {percent(s['restored'])} "
                         f"| {percent(s['restored_when_shown'])} | {_num(s['similarity'])} "
                         f"| {_num(s['similarity_when_shown'])} | {percent(s['parses_when_shown'])} | {p50:.0f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infill_ls.typing_eval", description=__doc__.split("\n\n")[0])
    add_heldout_arguments(parser, max_cases=100, per_file=3, seed=1, cases_help="holes per kind")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=["line"], help="hole kinds (default: line)")
    parser.add_argument("--no-lookup", action="store_true",
                        help="the model's fills only: no fills found elsewhere in the file")
    parser.add_argument("--neighbors", action="store_true",
                        help="search the other held-out files of a hole's directory for fills too, as the server "
                        "searches the files beside the one being edited")
    parser.add_argument("--mid-word", action="store_true",
                        help="type the first half of the name each hole starts with, so the cursor stands inside it "
                        "(holes that start with no name are left out)")
    parser.add_argument("--at-header", action="store_true",
                        help="put the cursor at the end of each block hole's header line, Enter not pressed yet "
                        "(`def f(x):|`; other holes are left out)")
    args = parser.parse_args(argv)
    if args.mid_word and args.at_header:
        print("typing_eval: --mid-word and --at-header each put the cursor somewhere else: give one", file=sys.stderr)
        return 2
    if args.neighbors and args.no_lookup:
        print("typing_eval: --neighbors searches other files for fills, which --no-lookup turns off", file=sys.stderr)
        return 2
    try:
        engine, documents, cases = engine_and_cases(args, args.kinds, "no holes")
    except SetupError as err:
        print(f"typing_eval: {err}", file=sys.stderr)
        return 2
    for flag, (move, kept, none) in CURSOR_MOVES.items():
        if getattr(args, flag):
            drawn = len(cases)
            cases = [c for c in map(move, cases) if c is not None]
            print(kept.format(len(cases), drawn))
            if not cases:
                print(f"typing_eval: {none}", file=sys.stderr)
                return 2
    settings = Settings(file_lookup=not args.no_lookup)
    beside = directory_neighbors(documents) if args.neighbors else (lambda case: ())
    # One untimed completion first: latency is per keystroke, not the first call's one-time setup.
    typing_case(engine, cases[0], settings, beside(cases[0]))
    results = [typing_case(engine, case, settings, beside(case)) for case in cases]
    print(f"model: {engine.description}")
    print(markdown_table(results, args.kinds))
    print(f"the check: {statistics.median(r.check_ms for r in results):.2f} ms p50, "
          f"{max(r.check_ms for r in results):.2f} ms at most")
    by_kind = ", ".join(f"{kind} {percent(share([r for r in results if r.kind == kind], 'without_model'))}"
                        for kind in args.kinds)
    print(f"shown from the file or a file beside it, without running the model: {by_kind}")
    if args.out is not None:
        report = {"summary": {which: summarize(results, which) for which in ("unchecked", "served")},
                  "cases": [asdict(r) for r in results]}
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
