"""`infill-engine evaluate`: fill held-out holes and test problems, report quality and speed.

Two inputs, either or both in one run:
- source files (the held-out split): holes cut at tree-sitter node boundaries (engine.holes), scored by exact
  match, edit similarity and parse validity of the filled file, with tokens per forward, denoising steps per
  canvas and latency;
- a JSONL of `{prefix, suffix, canonical_solution, test, entry_point}` problems: the fill is run against the
  problem's `check(candidate)` test in a subprocess with a time limit; pass@1 is the fraction that pass.

`--oracle` fills every hole with its reference: every score must then be perfect, which checks the metrics,
the hole cutting and the test harness without a model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from engine.arguments import add_model_options, given_flags, user_path, user_path_object
from engine.closers import close_to_pass
from engine.errors import EngineError
from engine.eval_inputs import (
    EvaluationInputError,
    Problem,
    add_languages_argument,
    documents_from_globs,
    documents_from_heldout,
    documents_from_manifest,
    documents_from_split_dir,
    in_languages,
    load_problems,
    repository_packages,
)
from engine.holes import KINDS, HoleCase, SourceDocument, is_parse_valid, sample_cases

# Hole budgets in tokens, near what the language server asks for (24 for a line, 48 for a multi-line hole);
# a case whose reference needs more is left out and counted rather than scored as a certain miss.
DEFAULT_MAX_TOKENS: dict[str, int] = {"line": 24, "statement": 48, "block": 128, "closing": 32}
DEFAULT_PROBLEM_MAX_TOKENS = 160
DEFAULT_TIMEOUT = 5.0  # seconds for one problem's test
DEFAULT_PREFIX_TOKENS = 1024
DEFAULT_MAX_CASES = 100  # holes of each kind
DEFAULT_PER_FILE = 2  # holes of a kind from one file
# As the language server sizes them: the suffix window is what the canvas holds beside the hole.
MIN_SUFFIX_TOKENS = 32


# ---------------------------------------------------------------- metrics


def normalize(text: str) -> str:
    """Text with trailing whitespace removed from every line and from the end."""
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def exact_match(fill: str, reference: str) -> bool:
    return normalize(fill) == normalize(reference)


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(fill: str, reference: str) -> float:
    """1 - Levenshtein distance / length of the longer text, on normalized texts."""
    a, b = normalize(fill), normalize(reference)
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


# ---------------------------------------------------------------- context windows


def context_window(
    prefix: str, suffix: str, count_tokens: Callable[[str], int], prefix_tokens: int, suffix_tokens: int
) -> tuple[str, str]:
    """The last whole lines of `prefix` and the first whole lines of `suffix` that fit the token budgets.

    The hole's own line (the text before and after the hole on it) is always kept.
    """
    head, newline, current = prefix.rpartition("\n")
    kept = [current]
    used = count_tokens(current)
    for line in reversed((head + newline).splitlines(keepends=True)):
        used += count_tokens(line)
        if used > prefix_tokens:
            break
        kept.append(line)
    window_prefix = "".join(reversed(kept))

    rest, newline, tail = suffix.partition("\n")
    kept = [rest + newline]
    used = count_tokens(kept[0])
    for line in tail.splitlines(keepends=True):
        used += count_tokens(line)
        if used > suffix_tokens:
            break
        kept.append(line)
    return window_prefix, "".join(kept)


# ---------------------------------------------------------------- fillers


@dataclass(frozen=True)
class FillRequest:
    prefix: str
    suffix: str
    suffix_is_end: bool  # the suffix window runs to the end of the file
    max_tokens: int
    reference: str  # only the oracle reads it
    # Whether the whole file parses with a given fill in the hole, as the server checks its candidates.
    parses: Callable[[str], bool] | None = None
    # The whole file before and after the hole, where the server looks for fills the file spells out elsewhere.
    around: tuple[str, str] | None = None
    # Other files searched for such fills too, as the server searches the files beside the one being edited.
    elsewhere: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fill:
    text: str
    steps_per_canvas: float
    tokens_per_forward: float
    source: str = "model"  # or "file" / "beside" (Candidate.source), or "none": nothing was offered


Filler = Callable[[FillRequest], Fill]


def oracle_filler(request: FillRequest) -> Fill:
    return Fill(request.reference, math.nan, math.nan)  # no model pass: nothing to count


def _as_the_server_picks(found: list, request: FillRequest, close: bool = False):
    """The first of several candidates after which the file parses, else the first; a lone one as it is.
    `close` (the server's rule, while typing and invoked alike): where none parses, the first closed so that it
    does (`engine.closers`), a lone one too."""
    if request.parses is None or (len(found) < 2 and not close):
        return found[0]
    passing = next((c for c in found if request.parses(c.text)), None)
    if passing is not None:
        return passing
    # The whole text on either side, as the server scans it: the model's window may begin mid-line.
    before, after = request.around or (request.prefix, request.suffix)
    closed = close_to_pass(before, [c.text for c in found], request.parses, after=after) if close else None
    if closed is None:
        return found[0]
    index, text = closed
    return replace(found[index], text=text) if index >= 0 else replace(found[0], text=text, source="closers")


def engine_filler(engine, *, seed: int = 0, max_steps: int | None = None, one_size: bool = False,
                  candidates: int = 1, lookup: bool = True) -> Filler:
    """Fills with the engine's best candidate; `one_size`: one canvas row of the full budget, as the server's
    requests while typing, instead of the engine's default sizes. `candidates` > 1: that many seeds per size, and
    the fill is chosen as the server chooses among its suggestions: the first after which the file parses.
    `lookup`: fills the file spells out elsewhere come first, and where no fill leaves the file parsing the first
    is closed so that it does, as the server shows them while typing; off, the model alone (closed only with
    `candidates` > 1, as completion invoked)."""

    def fill(request: FillRequest) -> Fill:
        found = engine.infill(
            request.prefix, request.suffix, max_tokens=request.max_tokens, num_candidates=candidates,
            max_steps=max_steps, seed=seed, suffix_is_end=request.suffix_is_end,
            sizes=[request.max_tokens] if one_size else None, around=request.around if lookup else None,
            elsewhere=request.elsewhere, accepts=request.parses,
        )
        best = _as_the_server_picks(found, request, close=lookup or candidates > 1)
        # An infill denoises one canvas, so its steps are the steps per canvas.
        return Fill(best.text, float(best.steps), best.tokens_per_forward, best.source)

    return fill


def lookup_filler(engine, *, candidates: int = 1) -> Filler:
    """The fills the file spells out (`engine.lookup`) alone, with no model: the strongest, or with `candidates` > 1
    the first of that many after which the file parses; an empty fill where the file spells out none."""

    def fill(request: FillRequest) -> Fill:
        found = [] if request.around is None else engine.copies(*request.around, max_tokens=request.max_tokens,
                                                                 limit=candidates, elsewhere=request.elsewhere)
        if not found:
            return Fill("", math.nan, math.nan, "none")
        best = _as_the_server_picks(found, request)
        return Fill(best.text, math.nan, math.nan, best.source)  # no model pass: nothing to count

    return fill


# ---------------------------------------------------------------- held-out holes


@dataclass
class CaseResult:
    kind: str
    language: str
    path: str
    exact_match: bool
    edit_similarity: float
    parse_valid: bool
    steps_per_canvas: float
    tokens_per_forward: float
    latency_ms: float
    fill: str
    reference: str
    source: str = "model"  # where the fill came from: the model, or elsewhere in the file


@dataclass
class KindSummary:
    kind: str
    cases: int
    skipped_over_budget: int
    exact_match: float
    edit_similarity: float
    parse_valid: float
    tokens_per_forward: float
    steps_per_canvas: float
    latency_ms_p50: float
    latency_ms_mean: float
    from_file: float = math.nan  # share of fills the file spells out elsewhere (engine.lookup)
    from_beside: float = math.nan  # share of fills one of the files beside it spells out (`--neighbors`)


@dataclass(frozen=True)
class EvalSettings:
    max_tokens: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_TOKENS))
    prefix_tokens: int = DEFAULT_PREFIX_TOKENS
    suffix_tokens: int | None = None  # None: the canvas length less the hole budget, at least MIN_SUFFIX_TOKENS
    canvas_length: int = 64

    def suffix_budget(self, hole_tokens: int) -> int:
        if self.suffix_tokens is not None:
            return self.suffix_tokens
        return max(MIN_SUFFIX_TOKENS, self.canvas_length - hole_tokens)


def evaluate_cases(
    cases: Sequence[HoleCase],
    filler: Filler,
    count_tokens: Callable[[str], int],
    settings: EvalSettings = EvalSettings(),
    progress: Callable[[int, int], None] | None = None,
    neighbors: Callable[[HoleCase], tuple[str, ...]] | None = None,
) -> tuple[list[CaseResult], dict[str, int]]:
    """Fill every case; returns the results and, per kind, how many cases were over the token budget.
    `neighbors`: the other files searched for fills beside a case's own (`directory_neighbors`)."""
    results: list[CaseResult] = []
    skipped = {kind: 0 for kind in KINDS}
    for index, case in enumerate(cases):
        if progress is not None and index:
            progress(index, len(cases))
        budget = settings.max_tokens[case.kind]
        if count_tokens(case.middle) > budget:
            skipped[case.kind] += 1
            continue
        prefix, suffix = context_window(
            case.prefix, case.suffix, count_tokens, settings.prefix_tokens, settings.suffix_budget(budget)
        )

        def parses(text: str, case: HoleCase = case) -> bool:
            return is_parse_valid(case.prefix + text + case.suffix, case.language)

        started = time.perf_counter()
        fill = filler(FillRequest(prefix, suffix, len(suffix) == len(case.suffix), budget, case.middle, parses,
                                  (case.prefix, case.suffix), neighbors(case) if neighbors is not None else ()))
        latency_ms = (time.perf_counter() - started) * 1000.0
        results.append(CaseResult(
            kind=case.kind, language=case.language, path=case.path,
            exact_match=exact_match(fill.text, case.middle),
            edit_similarity=edit_similarity(fill.text, case.middle),
            parse_valid=is_parse_valid(case.prefix + fill.text + case.suffix, case.language),
            steps_per_canvas=fill.steps_per_canvas, tokens_per_forward=fill.tokens_per_forward,
            latency_ms=latency_ms, fill=fill.text, reference=case.middle, source=fill.source,
        ))
    if progress is not None and cases:
        progress(len(cases), len(cases))
    return results, skipped


def directory_neighbors(documents: Sequence[SourceDocument]) -> Callable[[HoleCase], tuple[str, ...]]:
    """For a case, the texts of the other documents in its directory and language, in the order given: the files
    the server searches beside the one being edited (those in its directory). Each is read once, when first asked
    for."""
    by_directory: dict[tuple[str, str], list[SourceDocument]] = {}
    for doc in documents:
        by_directory.setdefault((os.path.dirname(doc.path), doc.language), []).append(doc)
    texts: dict[str, str | None] = {}

    def neighbors(case: HoleCase) -> tuple[str, ...]:
        out = []
        for doc in by_directory.get((os.path.dirname(case.path), case.language), ()):
            if doc.path != case.path:
                if doc.path not in texts:
                    texts[doc.path] = doc.read()
                if texts[doc.path] is not None:
                    out.append(texts[doc.path])
        return tuple(out)

    return neighbors


def trained_package(document: SourceDocument, packages: frozenset[str]) -> str | None:
    """The package of ``document`` among ``packages`` (those a model was trained on), if it is of one: its corpus
    package, or for a file without one (read by its path), a name the corpus gives it from any folder above it."""
    if document.package is not None:
        return document.package if document.package in packages else None
    return next((name for name in repository_packages(document.path) if name in packages), None)


def _named(packages: set[str]) -> str:
    return ", ".join(sorted(packages)[:5]) + (", ..." if len(packages) > 5 else "")


def unseen(documents: list[SourceDocument], model_dir: Path | None) -> tuple[list[SourceDocument], str]:
    """The documents of packages the checkpoint in ``model_dir`` was not trained on (`TRAINING_DATA`), and a line
    that says what was left out, or that the record is incomplete ("" where there is nothing to say)."""
    from engine.checkpoint import read_training_data  # with torch, which `evaluate --help` does without

    record = read_training_data(model_dir) if model_dir is not None else None
    if record is None:
        return documents, ""
    trained = [trained_package(d, record.packages) for d in documents]
    kept = [d for d, package in zip(documents, trained) if package is None]
    said = []
    if len(kept) < len(documents):
        packages = {p for p in trained if p is not None}
        # Files named by path are of no split: they were never held out.
        files = "held-out files" if all(d.package is not None for d in documents) else "files"
        said.append(f"Left out {len(documents) - len(kept)} {files} of {len(packages)} packages the model was "
                    f"trained on ({_named(packages)}).")
    if record.unrecorded:
        said.append("Part of the model's training data is not recorded: the files evaluated may still hold code it "
                    "saw.")
    return kept, " ".join(said)


def not_held_out(model_dir: Path | None) -> str:
    """Why files read by their path may hold code the model in ``model_dir`` was trained on, though none is of a
    package its record names ("" where the record is whole, or there is no model)."""
    from engine.checkpoint import read_training_data

    if model_dir is None:
        return ""
    record = read_training_data(model_dir)
    if record is None:
        return "the model has no training_data.json"
    return "part of the model's training is unrecorded" if record.unrecorded else ""


def documents_digest(documents: Sequence[SourceDocument]) -> str:
    """A short digest of the documents' texts, whatever their paths: tables measured on the same files print the
    same one. The held-out split is built from the installed environment, so another environment's split (another
    set of packages, other versions) samples other holes, and its figures are not comparable."""
    texts = sorted(hashlib.sha256((d.read() or "").encode("utf-8", "surrogatepass")).digest() for d in documents)
    return hashlib.sha256(b"".join(texts)).hexdigest()[:12]


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def tokens_per_forward(results: Sequence[CaseResult]) -> float:
    """The tokens the fills hold over the model passes that wrote them, all cases together: a mean of each case's
    own rate let one copy checked in one pass (20 tokens a forward) outweigh many slow fills. Cases with no model
    pass (`--oracle`, `--lookup-only`) count for nothing; NaN where none had one."""
    ran = [r for r in results if r.steps_per_canvas > 0]
    if not ran:
        return math.nan
    return sum(r.tokens_per_forward * r.steps_per_canvas for r in ran) / sum(r.steps_per_canvas for r in ran)


def summarize(results: Sequence[CaseResult], skipped: dict[str, int], kinds: Sequence[str]) -> list[KindSummary]:
    """One row per kind that was asked for, then an `all` row."""
    rows = []
    for kind in [*kinds, "all"]:
        chosen = [r for r in results if kind in ("all", r.kind)]
        latencies = [r.latency_ms for r in chosen]
        rows.append(KindSummary(
            kind=kind,
            cases=len(chosen),
            skipped_over_budget=sum(skipped.values()) if kind == "all" else skipped.get(kind, 0),
            exact_match=_mean([float(r.exact_match) for r in chosen]),
            edit_similarity=_mean([r.edit_similarity for r in chosen]),
            parse_valid=_mean([float(r.parse_valid) for r in chosen]),
            tokens_per_forward=tokens_per_forward(chosen),
            steps_per_canvas=_mean([r.steps_per_canvas for r in chosen if r.steps_per_canvas > 0]),
            latency_ms_p50=statistics.median(latencies) if latencies else math.nan,
            latency_ms_mean=_mean(latencies),
            from_file=_mean([float(r.source == "file") for r in chosen]),
            from_beside=_mean([float(r.source == "beside") for r in chosen]),
        ))
    return rows


def markdown_table(rows: Sequence[KindSummary]) -> str:
    lines = [
        "| hole kind | cases | over budget | exact match | edit similarity | parse-valid | tokens/forward "
        "| steps/canvas | latency p50 (ms) | latency mean (ms) | from the file | from files beside |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.kind} | {r.cases} | {r.skipped_over_budget} | {_pct(r.exact_match)} | {_num(r.edit_similarity, 3)} | {_pct(r.parse_valid)} "
            f"| {_num(r.tokens_per_forward, 2)} | {_num(r.steps_per_canvas, 1)} | {_num(r.latency_ms_p50, 0)} "
            f"| {_num(r.latency_ms_mean, 0)} | {_pct(r.from_file)} | {_pct(r.from_beside)} |"
        )
    return "\n".join(lines)


def _pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{100.0 * value:.1f}%"


def _num(value: float, digits: int) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


# ---------------------------------------------------------------- problems (pass@1)


@dataclass
class ProblemResult:
    task_id: str
    passed: bool
    outcome: str  # "passed", "failed", "timeout"
    detail: str  # last line of the program's error output
    exact_match: bool
    latency_ms: float
    fill: str


def build_program(problem: Problem, middle: str) -> str:
    """The filled solution followed by its test, which defines `check(candidate)`."""
    return f"{problem.prefix}{middle}{problem.suffix}\n{problem.test}\ncheck({problem.entry_point})\n"


# How each program is started: its CPU seconds capped (soft and hard, so that it cannot lift them), as well as the
# time waited for it, then the program run as a script (its own `from __future__` lines first, as they must be).
# Not a sandbox: run only problems and models you trust.
_START = ("import resource, runpy; resource.setrlimit(resource.RLIMIT_CPU, ({0}, {0})); "
          "runpy.run_path('program.py', run_name='__main__')")


def run_program(source: str, timeout: float) -> tuple[str, str]:
    """Run Python source in a fresh interpreter in a temporary directory: (outcome, detail). It gets no more of the
    environment than it needs to run (no tokens or keys in variables), its home is the directory, and its CPU time
    is capped a second past `timeout`."""
    with tempfile.TemporaryDirectory(prefix="infill-eval-") as tmp:
        program = Path(tmp) / "program.py"
        program.write_text(source, encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": tmp, "LANG": "C.UTF-8"}
        # stderr goes to a file, not a pipe: a process the program leaves running holds a pipe open, and waiting
        # for its end scored a program that had passed as timed out. A new session lets anything the program
        # started be taken down with it.
        with open(Path(tmp) / "stderr.txt", "w+b") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _START.format(math.ceil(timeout) + 1)], cwd=tmp, env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
            )
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return "timeout", f"no result within {timeout:g} s"
            finally:
                _kill_group(proc)
            stderr.seek(0)
            errors = stderr.read().decode("utf-8", "replace").strip().splitlines()
    if proc.returncode == 0:
        return "passed", ""
    return "failed", errors[-1] if errors else f"exit status {proc.returncode}"


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
    proc.communicate()


def evaluate_problems(
    problems: Sequence[Problem],
    filler: Filler,
    count_tokens: Callable[[str], int],
    *,
    max_tokens: int = DEFAULT_PROBLEM_MAX_TOKENS,
    timeout: float = 5.0,
    settings: EvalSettings = EvalSettings(),
) -> list[ProblemResult]:
    results = []
    for problem in problems:
        prefix, suffix = context_window(
            problem.prefix, problem.suffix, count_tokens, settings.prefix_tokens, settings.suffix_budget(max_tokens)
        )
        def parses(text: str, problem: Problem = problem) -> bool:
            return is_parse_valid(problem.prefix + text + problem.suffix, "python")

        started = time.perf_counter()
        fill = filler(FillRequest(prefix, suffix, len(suffix) == len(problem.suffix), max_tokens,
                                  problem.canonical_solution, parses, (problem.prefix, problem.suffix)))
        latency_ms = (time.perf_counter() - started) * 1000.0
        outcome, detail = run_program(build_program(problem, fill.text), timeout)
        results.append(ProblemResult(
            problem.task_id, outcome == "passed", outcome, detail,
            exact_match(fill.text, problem.canonical_solution), latency_ms, fill.text,
        ))
    return results


def pass_at_1(results: Sequence[ProblemResult]) -> float:
    return _mean([float(r.passed) for r in results])


# ---------------------------------------------------------------- command line


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a model on held-out holes and/or test problems",
        description="Fill holes cut at tree-sitter node boundaries in held-out source files (exact match, edit "
        "similarity, parse-valid rate, tokens per forward, steps per canvas, latency) and/or a JSONL of "
        "{prefix, suffix, canonical_solution, test, entry_point} problems (pass@1). Prints a Markdown table.",
    )
    add_model_options(p, model_type=user_path_object)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for the model (default: the torch default)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--split-dir", type=user_path_object, metavar="DIR",
                        help="evaluate every source file under DIR")
    source.add_argument("--files", type=user_path, nargs="+", metavar="GLOB",
                        help="evaluate the files matching these globs")
    source.add_argument("--heldout", type=user_path_object, metavar="FILE.jsonl",
                        help="evaluate a corpus split file: one {path, language, text} document a line "
                        "(e.g. data/corpus/heldout.jsonl)")
    source.add_argument("--heldout-manifest", type=user_path_object, metavar="PATH",
                        help="evaluate the files of the held-out split listed by a corpus manifest.jsonl "
                        "({path, split} a line), read from disk")
    add_languages_argument(p)
    # None where not given: with --problems alone, a hole's flag given is refused, not ignored (`run`).
    p.add_argument("--kinds", nargs="+", choices=KINDS, default=None, help="hole kinds (default: all)")
    p.add_argument("--max-cases", type=int, default=None, metavar="N",
                   help=f"cases per hole kind (default: {DEFAULT_MAX_CASES})")
    p.add_argument("--per-file", type=int, default=None, metavar="N",
                   help=f"at most N cases of a kind from one file (default: {DEFAULT_PER_FILE})")
    p.add_argument("--seed", type=int, default=0, help="seed for choosing holes and for sampling (default: 0)")
    p.add_argument("--max-tokens", type=int, default=None, metavar="N",
                   help="hole budget in tokens for every kind (default: "
                   + ", ".join(f"{k} {v}" for k, v in DEFAULT_MAX_TOKENS.items())
                   + "; each at most what one canvas of the model holds)")
    p.add_argument("--max-steps", type=int, default=None, metavar="N", help="denoising steps per canvas at most")
    p.add_argument("--one-size", action="store_true",
                   help="one hole size per fill (the full budget), as the server's requests while typing")
    p.add_argument("--candidates", type=int, default=1, metavar="N",
                   help="N seeds per hole size; the fill is the most confident after which the file parses, as the "
                   "server picks among its suggestions (default: 1, the most confident fill; closed where it leaves "
                   "the file unparsed, as the server shows it while typing, unless --no-lookup)")
    lookup = p.add_mutually_exclusive_group()
    lookup.add_argument("--no-lookup", action="store_true",
                        help="the model's fills only: no fills found elsewhere in the file (which the server offers "
                        "first by default), and with one candidate none closed where it leaves the file unparsed")
    lookup.add_argument("--lookup-only", action="store_true",
                        help="the fills found elsewhere in the file only, with no model (an empty fill where there "
                        "is none)")
    p.add_argument("--neighbors", action="store_true",
                   help="search the other files of a hole's directory for fills too, as the server searches the "
                   "files beside the one being edited (default: the hole's own file only)")
    p.add_argument("--confidence-threshold", type=float, default=None, metavar="H",
                   help="stop a canvas once stable and its mean hole entropy is below H (default: the model's)")
    p.add_argument("--prefix-tokens", type=int, default=DEFAULT_PREFIX_TOKENS, metavar="N",
                   help=f"context before a hole, in tokens (default: {DEFAULT_PREFIX_TOKENS})")
    p.add_argument("--suffix-tokens", type=int, default=None, metavar="N",
                   help="context after a hole, in tokens (default: what the canvas holds beside the hole, "
                   f"at least {MIN_SUFFIX_TOKENS})")
    p.add_argument("--problems", type=user_path_object, metavar="FILE.jsonl",
                   help="problems to run for pass@1: {prefix, suffix, canonical_solution, test, entry_point}; "
                   "without source files, only they run, and the flags of holes in files (--languages, --kinds, "
                   "--max-cases, --per-file, --max-tokens, --neighbors) are refused")
    p.add_argument("--problem-max-tokens", type=int, metavar="N",
                   help=f"hole budget for a problem's fill (default: {DEFAULT_PROBLEM_MAX_TOKENS}, or what one "
                   "canvas of the model holds if less)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help=f"time limit for one problem's test (default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--oracle", action="store_true",
                   help="fill with the reference instead of a model: checks the harness, every score is perfect")
    p.add_argument("--out", type=user_path_object, metavar="PATH",
                   help="write the full report as JSON here (whole or not at all; never over an input)")
    p.set_defaults(func=run)


def _documents(args) -> list[SourceDocument] | None:
    if args.split_dir is not None:
        found, source = documents_from_split_dir(args.split_dir), str(args.split_dir)
    elif args.files:
        found, source = documents_from_globs(args.files), " ".join(args.files)
    elif args.heldout is not None:
        found, source = documents_from_heldout(args.heldout), str(args.heldout)
    elif args.heldout_manifest is not None:
        found, source = documents_from_manifest(args.heldout_manifest), str(args.heldout_manifest)
    else:
        return None
    return in_languages(found, args.languages, source)


def _readable(documents: list[SourceDocument]) -> list[SourceDocument]:
    """The documents whose text can be read; those that cannot (not UTF-8, unreadable, over the size limit) said in
    one line, the first named: they were left out without a word, and a run of them alone said only that its files
    yield no holes."""
    unread = [d for d in documents if d.text is None and d.read() is None]
    if unread:
        more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
        from engine.rejection import MAX_FILE_BYTES

        print(f"evaluate: left out {unread[0].path}{more}: not UTF-8 text, unreadable or over "
              f"{MAX_FILE_BYTES:,} bytes", file=sys.stderr)
    left_out = {id(d) for d in unread}
    return [d for d in documents if id(d) not in left_out]


def _has_sources(args) -> bool:
    """Whether the run was given source files to cut holes from."""
    return any(given is not None for given in (args.split_dir, args.files, args.heldout, args.heldout_manifest))


def _command(args) -> str:
    """The command line that reproduces this run."""
    words = ["infill-engine", "evaluate"]
    if args.model is not None:
        words += ["--model", str(args.model)]
    if args.device != "auto":
        words += ["--device", args.device]
    if args.dtype != "auto":
        words += ["--dtype", args.dtype]
    if not args.memory_check:
        words.append("--no-memory-check")
    if args.threads is not None:
        words += ["--threads", str(args.threads)]
    if args.split_dir is not None:
        words += ["--split-dir", str(args.split_dir)]
    if args.files:
        words += ["--files", *args.files]
    if args.heldout is not None:
        words += ["--heldout", str(args.heldout)]
    if args.heldout_manifest is not None:
        words += ["--heldout-manifest", str(args.heldout_manifest)]
    if args.languages:
        words += ["--languages", *args.languages]
    if args.problems is not None:
        words += ["--problems", str(args.problems), "--problem-max-tokens", str(args.problem_max_tokens),
                  "--timeout", f"{args.timeout:g}"]
    if _has_sources(args):  # the problems alone draw no holes
        words += ["--kinds", *args.kinds, "--max-cases", str(args.max_cases), "--per-file", str(args.per_file)]
    words += ["--seed", str(args.seed), "--prefix-tokens", str(args.prefix_tokens)]
    if args.suffix_tokens is not None:
        words += ["--suffix-tokens", str(args.suffix_tokens)]
    if args.max_tokens is not None:
        words += ["--max-tokens", str(args.max_tokens)]
    if args.max_steps is not None:
        words += ["--max-steps", str(args.max_steps)]
    if args.one_size:
        words.append("--one-size")
    if args.candidates != 1:
        words += ["--candidates", str(args.candidates)]
    if args.no_lookup:
        words.append("--no-lookup")
    if args.lookup_only:
        words.append("--lookup-only")
    if args.neighbors:
        words.append("--neighbors")
    if args.confidence_threshold is not None:
        words += ["--confidence-threshold", f"{args.confidence_threshold:g}"]
    if args.oracle:
        words.append("--oracle")
    return shlex.join(words)


def hole_budgets(given: int | None, capacity: int | None,
                 kinds: Sequence[str] = tuple(DEFAULT_MAX_TOKENS)) -> tuple[dict[str, int], str]:
    """Each kind's budget (`given`, or its default cut to `capacity` where there is one), and which defaults of
    ``kinds`` (those evaluated) were cut ("" if none)."""
    limit = capacity or max(DEFAULT_MAX_TOKENS.values())
    budgets = {k: given or min(v, limit) for k, v in DEFAULT_MAX_TOKENS.items()}
    capped = [f"{k} {v} -> {budgets[k]}" for k, v in DEFAULT_MAX_TOKENS.items()
              if budgets[k] != (given or v) and k in kinds]
    return budgets, ", ".join(capped)


class _Progress:
    """Says how far the holes have gone, every tenth of them; and, at a Ctrl-C, how far they went."""

    def __init__(self) -> None:
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        self.done = done
        if done == total or done % max(1, total // 10) == 0:
            print(f"evaluate: {done}/{total} holes", file=sys.stderr, flush=True)

    def interrupted(self, total: int) -> str:
        return f"evaluate: interrupted after {self.done}/{total} holes; no table is printed and nothing is written"


def run(args) -> int:
    for name in ("max_cases", "per_file", "prefix_tokens", "suffix_tokens", "problem_max_tokens", "max_tokens",
                 "max_steps", "threads", "candidates"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            print(f"evaluate: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    if args.timeout is not None and (not math.isfinite(args.timeout) or args.timeout <= 0):
        print("evaluate: --timeout must be a positive number of seconds", file=sys.stderr)
        return 2
    if args.problems is None:
        # Else ignored without a word.
        for flag, given in (("--problem-max-tokens", args.problem_max_tokens), ("--timeout", args.timeout)):
            if given is not None:
                print(f"evaluate: {flag}: only with --problems", file=sys.stderr)
                return 2
    elif args.timeout is None:
        args.timeout = DEFAULT_TIMEOUT
    if args.problems is not None and not _has_sources(args):
        # Else ignored without a word (a problem's budget is --problem-max-tokens), and yet written into the report's
        # command line, beside a line on hole budgets cut for holes that never ran.
        stray = given_flags(args, ("languages", "kinds", "max_cases", "per_file", "max_tokens", "neighbors"))
        if stray:
            print(f"evaluate: {', '.join(stray)}: only with source files (--heldout, --heldout-manifest, --split-dir "
                  "or --files); --problems alone runs the problems", file=sys.stderr)
            return 2
    args.kinds = args.kinds or list(KINDS)
    args.max_cases = DEFAULT_MAX_CASES if args.max_cases is None else args.max_cases
    args.per_file = DEFAULT_PER_FILE if args.per_file is None else args.per_file
    if args.neighbors and args.no_lookup:
        print("evaluate: --neighbors searches other files for fills, which --no-lookup turns off", file=sys.stderr)
        return 2
    try:
        documents = _documents(args)
        problems = load_problems(args.problems) if args.problems is not None else None
    except EvaluationInputError as err:
        print(f"evaluate: {err}", file=sys.stderr)
        return 2
    if documents:
        documents = _readable(documents)
    if documents is None and problems is None:
        print("evaluate: give source files (--heldout, --heldout-manifest, --split-dir or --files) "
              "and/or --problems", file=sys.stderr)
        return 2
    if args.out is not None:
        from engine.cli import check_not_an_input, check_writable

        try:
            check_writable(args.out)  # before the run, whose report would otherwise be lost at its end
            check_not_an_input(args.out, _inputs(args, documents))
        except EngineError as err:
            print(f"evaluate: {err}", file=sys.stderr)
            return 2

    import torch

    from engine.infill import InfillEngine

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    try:
        engine = InfillEngine.load(args.model, device=args.device, dtype=args.dtype, memory_check=args.memory_check)
    except EngineError as err:
        print(f"evaluate: {err}", file=sys.stderr)
        return 2
    # A hole is one canvas, as the server asks: a wider one would run on a canvas the model was never trained on.
    # (No canvas runs for the reference's fills or the file's own.)
    capacity = None if args.oracle or args.lookup_only else engine.hole_capacity
    for flag, given in (("--max-tokens", args.max_tokens), ("--problem-max-tokens", args.problem_max_tokens)):
        if capacity is not None and given is not None and given > capacity:
            print(f"evaluate: {flag} {given}: {engine.model_dir.name} fills at most {capacity} tokens in one canvas",
                  file=sys.stderr)
            return 2
    if args.problem_max_tokens is None:
        args.problem_max_tokens = min(DEFAULT_PROBLEM_MAX_TOKENS, capacity or DEFAULT_PROBLEM_MAX_TOKENS)
    if args.confidence_threshold is not None:
        from engine.cli import with_sampler_flags

        engine.generation = with_sampler_flags(engine.generation, args)  # checked as `infill`'s and `generate`'s
    if args.oracle:
        filler = oracle_filler
    elif args.lookup_only:
        filler = lookup_filler(engine, candidates=args.candidates)
    else:
        filler = engine_filler(engine, seed=args.seed, max_steps=args.max_steps, one_size=args.one_size,
                               candidates=args.candidates, lookup=not args.no_lookup)
    # One untimed fill first: latency is per hole, not the first call's one-time setup.
    filler(FillRequest("x = ", "\n", True, 8, "1"))
    budgets, capped = hole_budgets(args.max_tokens, capacity, args.kinds)
    settings = EvalSettings(budgets, args.prefix_tokens, args.suffix_tokens, engine.canvas_length)

    report: dict = {
        "model": ("oracle (reference fills)" if args.oracle
                  else "the file's own fills (engine.lookup), no model" if args.lookup_only else engine.description),
        "command": _command(args),
        "settings": asdict(settings),
    }
    out: list[str] = [f"Model: {report['model']}", f"Command: `{report['command']}`", ""]
    if capped and documents is not None:
        out += [f"Hole budgets cut to the {capacity} tokens one canvas of this model holds: {capped} "
                "(a case needing more is counted over budget)", ""]
    if documents is not None:
        given = documents
        by_path = args.split_dir is not None or bool(args.files)
        scored = None if args.oracle or args.lookup_only else engine.model_dir
        try:
            documents, left_out = unseen(documents, scored)
            # A split's held-out files are held out; files named by path only where nothing says they may be seen.
            seen = not_held_out(scored) if by_path else ""
        except EngineError as err:
            print(f"evaluate: {err}", file=sys.stderr)
            return 2
        if given and not documents:
            # Else "no holes" below, which sends one looking for files that do not parse.
            from engine.checkpoint import read_training_data

            trained = read_training_data(engine.model_dir).packages
            named = _named({trained_package(d, trained) for d in given})
            files = "files given" if by_path else "held-out files"
            print(f"evaluate: all {len(given)} {files} are of packages the model was trained on ({named}) and "
                  "were left out, leaving nothing to evaluate; give it files of packages it was not trained on",
                  file=sys.stderr)
            return 2
        if left_out:
            report["left_out"] = left_out
            out += [left_out, ""]
        cases = sample_cases(documents, kinds=args.kinds, max_cases=args.max_cases, seed=args.seed,
                             per_file=args.per_file)
        if not cases:
            print("evaluate: the source files yield no holes (none parse cleanly in a known language)",
                  file=sys.stderr)
            return 2
        progress = _Progress()
        try:
            results, skipped = evaluate_cases(cases, filler, engine.count_tokens, settings, progress,
                                              directory_neighbors(documents) if args.neighbors else None)
        except EngineError as err:
            print(f"evaluate: {err}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            # Ctrl-C minutes into a run ended it without a word.
            print(progress.interrupted(len(cases)), file=sys.stderr)
            return 130
        rows = summarize(results, skipped, args.kinds)
        # The files holes were cut from: one too large or unreadable on disk is listed but not read.
        report["documents"] = sum(d.read() is not None for d in documents)
        report["documents_digest"] = documents_digest(documents)
        report["holes"] = [asdict(r) for r in rows]
        report["cases"] = [asdict(r) for r in results]
        counted = f"{report['documents']} files, digest {report['documents_digest']}"
        report["held_out"] = not seen
        title = f"Holes in files not known to be held out ({seen}; {counted})" if seen else \
            f"Held-out holes ({counted})"
        out += [f"{title}:", "", markdown_table(rows), ""]
    if problems is not None:
        try:
            presults = evaluate_problems(problems, filler, engine.count_tokens, max_tokens=args.problem_max_tokens,
                                         timeout=args.timeout, settings=settings)
        except EngineError as err:
            print(f"evaluate: {err}", file=sys.stderr)
            return 1
        score = pass_at_1(presults)
        report["problems"] = {
            "file": str(args.problems), "count": len(presults), "pass_at_1": score,
            "timeouts": sum(r.outcome == "timeout" for r in presults),
            "results": [asdict(r) for r in presults],
        }
        out.append(f"Problems ({args.problems.name}): pass@1 {_pct(score)} "
                   f"({sum(r.passed for r in presults)}/{len(presults)}, "
                   f"{report['problems']['timeouts']} timed out)")
    print("\n".join(out).rstrip())
    if args.out is not None:  # its folder made as it is written (`replaced`)
        from engine.cli import replaced

        try:
            with replaced(args.out) as temp:
                temp.write_text(json.dumps(_without_nan(report), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        except EngineError as err:
            print(f"evaluate: {err}", file=sys.stderr)
            return 2
    return 0


def _inputs(args, documents: list[SourceDocument] | None) -> list[tuple[Path | str, str]]:
    """The files the run reads, which `--out` must not name: (path, what it is to the run)."""
    inputs = [(path, f"the {flag} input") for flag, path in (("--heldout", args.heldout),
                                                              ("--heldout-manifest", args.heldout_manifest),
                                                              ("--problems", args.problems)) if path is not None]
    # Documents with a text of their own (a split file's) are not read from their paths.
    inputs += [(d.path, "one of the source files evaluated") for d in documents or () if d.text is None]
    from engine.cli import folder_files
    from engine.config import DEFAULT_MODEL_DIR

    return inputs + folder_files(args.model or DEFAULT_MODEL_DIR, "the checkpoint")


def _without_nan(value):
    """JSON has no NaN: a mean over no cases is written as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nan(v) for v in value]
    return value
