"""Keystroke-to-completion latency of the real server, driven over stdio.

    python -m infill_ls.bench [--model DIR | --tiny] [--no-memory-check] [--lines N] [--debounce-ms MS]
                              [--threads N] [--setting KEY=JSON ...]

Starts ``infill-ls --stdio``, opens fixture files, clears some lines and types them again one
character at a time, asking for an inline completion after every keystroke the way an editor
does. Along the way the scripted typist sometimes mistypes and backspaces (the state before
the typo comes back: a cache hit) and sometimes types along with the suggestion on screen
(typing-through). Prints p50/p95 latency, over all requests, by hole shape (the rest of a
line, or a block after an opener) and by whether the model ran for the answer (the server's own
count, asked after each answer), the hit rates, and the time from start to the first completion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from engine.arguments import add_memory_check_option, add_model_option, int_between, nonnegative_int, positive_int
from infill_ls.context import shape_at
from infill_ls.documents import DocumentStore, PositionEncoding, TextChange
from infill_ls.server import STATUS_NOTIFICATION
from infill_ls.settings import DEVICES, MAX_THREADS, refused_settings
from infill_ls.syntax import SyntaxIndex, language_for

# The scripted session's files ship with the package, so the bench runs wherever it is installed.
FIXTURES = Path(__file__).resolve().parent / "bench_session"
SCRIPT = (("inventory.py", "python"), ("cart.ts", "typescript"), ("stack.go", "go"))
TYPO_EVERY = 7  # every so many keystrokes the typist hits a wrong key first
ALONG_EVERY = 5  # every so many suggestions the typist types two characters of it


@dataclass
class Measurements:
    latencies_ms: list[float] = field(default_factory=list)
    by_shape: dict[str, list[float]] = field(default_factory=dict)  # the same latencies by the hole's shape
    along_ms: list[float] = field(default_factory=list)  # requests while typing along a shown suggestion
    # The same latencies by the answer's kind: one the model ran for, and one it did not (a cache, typing through,
    # a fill from the file): p50 over all falls between the two and swings with their shares.
    by_answer: dict[str, list[float]] = field(default_factory=dict)
    runs: int = 0  # the server's count of model runs after the last answer (`_model_runs`)
    first_completion_s: float | None = None
    empty: int = 0


class Typist:
    """One open document, the client's view of its text, and that text parsed as the server parses it (for the shape
    of each hole), kept up to date by the edits the server gets: a fresh parse of the whole text before each request
    took the client 85 ms at 1 MB, on the cores the server runs on."""

    def __init__(self, client: LanguageClient, uri: str, language: str, text: str) -> None:
        self.client, self.uri = client, uri
        self._store, self._index = DocumentStore(), SyntaxIndex()
        self.snapshot = self._store.open(uri, language, 1, text)
        self._index.opened(self.snapshot)
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))
        )

    @property
    def text(self) -> str:
        return self.snapshot.text

    def position(self, offset: int) -> types.Position:
        position = self.snapshot.position_at(offset, PositionEncoding.UTF16)
        return types.Position(position.line, position.character)

    def replace(self, start: int, end: int, new: str) -> None:
        span = self.snapshot.range_at(start, end, PositionEncoding.UTF16)
        edits_wanted = self._index.parses(self.snapshot)  # as the server has them: none where no tree takes them
        self.snapshot = self._store.change(self.uri, self.snapshot.version + 1, [TextChange(span, new)],
                                           PositionEncoding.UTF16, edits_wanted)
        self._index.changed(self.snapshot)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(span.start.line, span.start.character),
                              types.Position(span.end.line, span.end.character)), text=new
        )
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.snapshot.version), [change]
            )
        )

    def shape(self, offset: int) -> str:
        """The shape the server gives the hole at ``offset``, worked out here with the same code."""
        return shape_at(self._index.parse(self.snapshot), offset).value

    async def complete(self, offset: int) -> list[str]:
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                position=self.position(offset),
            )
        )
        items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
        return [item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value for item in items]


def _target_lines(text: str, count: int) -> list[tuple[int, int]]:
    """Spans of the longest indented code lines: the ones worth completing."""
    spans, start = [], 0
    for line in text.split("\n"):
        body = line.strip()
        if line[:1] in (" ", "\t") and len(body) > 12 and not body.startswith(("//", "#", "/*", "*")):
            indent = len(line) - len(line.lstrip())
            spans.append((start + indent, start + len(line)))
        start += len(line) + 1
    spans.sort(key=lambda s: s[1] - s[0], reverse=True)
    return sorted(spans[:count], reverse=True)  # back to front: earlier offsets stay valid


async def _timed(typist: Typist, offset: int, m: Measurements, started: float) -> list[str]:
    shape = typist.shape(offset)
    sent = time.perf_counter()
    fills = await typist.complete(offset)
    m.latencies_ms.append((time.perf_counter() - sent) * 1000)
    m.by_shape.setdefault(shape, []).append(m.latencies_ms[-1])
    runs = _model_runs(await _stats(typist.client))
    m.by_answer.setdefault(MODEL_RUN if runs > m.runs else NO_MODEL_RUN, []).append(m.latencies_ms[-1])
    m.runs = runs
    if fills and m.first_completion_s is None:
        m.first_completion_s = time.perf_counter() - started
    m.empty += not fills
    return fills


MODEL_RUN, NO_MODEL_RUN = "a model run", "no model run"


async def _stats(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats",
                                                                                   arguments=[]))


def _model_runs(stats: dict) -> int:
    """The requests that ran the model so far, by the server's count: those that reached its worker, less those it
    answered there with no model pass (a fill from the file, nothing in the middle of a word, a blank line's guess
    not run)."""
    return stats["model_runs"] - stats["without_model"]


async def type_line(typist: Typist, start: int, end: int, m: Measurements, started: float, count: list[int]) -> None:
    target = typist.text[start:end]
    typist.replace(start, end, "")
    cursor = start
    for ch in target:
        count[0] += 1
        if count[0] % TYPO_EVERY == 0:
            typist.replace(cursor, cursor, "§")
            await _timed(typist, cursor + 1, m, started)
            typist.replace(cursor, cursor + 1, "")
            await _timed(typist, cursor, m, started)  # the state before the typo again
        typist.replace(cursor, cursor, ch)
        cursor += 1
        fills = await _timed(typist, cursor, m, started)
        if fills and count[0] % ALONG_EVERY == 0 and len(fills[0]) > 2 and "\n" not in fills[0][:2]:
            along = fills[0][:2]
            for i, c in enumerate(along):
                typist.replace(cursor + i, cursor + i, c)
                await _timed(typist, cursor + i + 1, m, started)
                m.along_ms.append(m.latencies_ms[-1])
            typist.replace(cursor, cursor + len(along), "")


async def run(
    model: str, lines_per_file: int, debounce_ms: int, device: str, files: list[tuple[Path, str]], threads: int | None,
    settings: dict | None = None, memory_check: bool = True,
) -> dict:
    client = LanguageClient("infill-ls-bench", "1")
    messages: list[str] = []
    client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: messages.append(params.message))
    client.feature(types.WINDOW_SHOW_MESSAGE)(lambda params: messages.append(params.message))
    # The model's state as the server tells editors: the figures time the first completion instead.
    client.feature(STATUS_NOTIFICATION)(lambda params: None)
    started = time.perf_counter()
    model_args = ["--model", model] if model else []
    thread_args = ["--threads", str(threads)] if threads else []
    check_args = [] if memory_check else ["--no-memory-check"]
    await client.start_io(
        sys.executable, "-m", "infill_ls", "--stdio", *model_args, *thread_args, *check_args, "--device", device
    )
    drain = asyncio.ensure_future(_drain(client))
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                text_document=types.TextDocumentClientCapabilities(
                    inline_completion=types.InlineCompletionClientCapabilities()
                )
            ),
            initialization_options={**(settings or {}), "debounceMs": debounce_ms},
        )
    )
    client.initialized(types.InitializedParams())
    m = Measurements()
    count = [0]
    for path, language in files:
        text = path.read_text(encoding="utf-8")
        typist = Typist(client, path.as_uri(), language, text)
        for start, end in _target_lines(text, lines_per_file):
            await type_line(typist, start, end, m, started, count)
    stats = await _stats(client)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    drain.cancel()
    return {"measurements": m, "stats": stats, "keystrokes": count[0]}


async def _drain(client: LanguageClient) -> None:
    """Keep the server's stderr moving so it never blocks on a full pipe."""
    server = client._server
    while server is not None and server.stderr is not None and await server.stderr.readline():
        pass


def _percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile of `values`, in milliseconds to a tenth; None for none."""
    if len(values) <= 1:
        return round(values[0], 1) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


def _latency_rows(groups: dict[str, list[float]]) -> dict[str, dict]:
    """Requests, p50 and p95 of each group of latencies, by name."""
    return {name: {"requests": len(ms), "p50_ms": _percentile(ms, 50), "p95_ms": _percentile(ms, 95)}
            for name, ms in sorted(groups.items())}


def report(result: dict, model: str) -> dict:
    m: Measurements = result["measurements"]
    stats = result["stats"]
    requests = max(1, stats["requests"])
    summary = {
        "model": stats["model"] or model,
        "keystrokes": result["keystrokes"],
        "requests": stats["requests"],
        "model_runs": stats["model_runs"],
        "file_fills": stats["file_fills"],
        "without_model": stats["without_model"],
        "p50_ms": _percentile(m.latencies_ms, 50),
        "p95_ms": _percentile(m.latencies_ms, 95),
        "by_shape": _latency_rows(m.by_shape),
        "by_answer": _latency_rows(m.by_answer),
        "cache_hit_rate": round(stats["cache_hits"] / requests, 3),
        "typing_through_hit_rate": round(stats["typing_through_hits"] / requests, 3),
        # Requests made while typing the first characters of a shown suggestion: what typing-through serves.
        "typing_along_p50_ms": _percentile(m.along_ms, 50),
        "typing_along_max_ms": round(max(m.along_ms), 1) if m.along_ms else None,
        "empty_answers": m.empty,
        "first_completion_s": round(m.first_completion_s, 2) if m.first_completion_s else None,
        "model_load_s": round(stats["model_load_seconds"], 2) if stats["model_load_seconds"] else None,
    }
    return summary


def _setting(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    try:
        if not sep or not key:
            raise ValueError
        return key, json.loads(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=JSON, e.g. typingMaxSteps=12") from None


def _typed_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """Each file with the languageId its extension stands for (plain text where none does)."""
    found = []
    for path in paths:
        spec = language_for("", path.resolve().as_uri())
        found.append((path.resolve(), spec.language_ids[0] if spec else "plaintext"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infill_ls.bench", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    add_model_option(source)
    source.add_argument("--tiny", action="store_true", help="a random-weight test checkpoint made on the spot")
    add_memory_check_option(parser)  # the server's
    parser.add_argument("--lines", type=positive_int, default=2, help="lines retyped per fixture file (default: 2)")
    parser.add_argument("--debounce-ms", type=nonnegative_int, default=0, help="server debounce (default: 0)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    # The server's range: past it the server refused its command line, and the bench ended in a traceback.
    parser.add_argument("--threads", type=int_between(1, MAX_THREADS), help="the server's CPU threads for the model (default: the server's, half the cores)")
    files = parser.add_mutually_exclusive_group()
    files.add_argument("--fixtures", type=Path, default=FIXTURES,
                       help=f"directory holding the scripted session's files ({', '.join(n for n, _ in SCRIPT)})")
    files.add_argument("--files", type=Path, nargs="+", metavar="FILE",
                       help="type in these files instead, each read as the language of its extension")
    parser.add_argument("--setting", action="append", default=[], type=_setting, metavar="KEY=JSON",
                        help="a server setting, e.g. typingMaxSteps=null (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    # Checked here as the server checks them: a misspelt key there is one warning in its log, unseen, and the bench
    # ran with the default it meant to change.
    if problems := refused_settings(dict(args.setting)):
        parser.error(f"--setting: {'; '.join(problems)}")
    files = _typed_files(args.files) if args.files else [(args.fixtures / name, lang) for name, lang in SCRIPT]
    typed = 0
    for path, _ in files:
        try:
            typed += len(_target_lines(path.read_text(encoding="utf-8"), 1))
        except (OSError, UnicodeDecodeError) as error:
            parser.error(f"{path}: cannot be read as UTF-8 text ({error})")
    if not typed:
        parser.error(f"{', '.join(str(path) for path, _ in files)}: no indented code line of more than 12 characters "
                     "to type again")

    with tempfile.TemporaryDirectory(prefix="infill-bench-") as scratch:
        model = args.model or ""
        if args.tiny:
            from engine.tiny import write_random_checkpoint

            model = str(write_random_checkpoint(Path(scratch) / "tiny", seed=0))
        result = asyncio.run(run(model, args.lines, args.debounce_ms, args.device, files, args.threads,
                                 dict(args.setting), args.memory_check))
    if result["stats"]["model_error"]:
        print(f"infill-ls bench: {result['stats']['model_error']}", file=sys.stderr)
        return 2
    summary = report(result, model)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"model                      {summary['model']}")
    print(f"server debounce, threads   {args.debounce_ms} ms, {args.threads or 'default'}")
    if args.setting:
        print(f"settings                   {json.dumps(dict(args.setting))}")
    print(f"keystrokes / requests      {summary['keystrokes']} / {summary['requests']}")
    # The server counts the requests its worker took: it answers some there with no model pass, most with a fill
    # from the file.
    print(f"requests on the worker     {summary['model_runs']} ({summary['without_model']} answered with no model "
          f"pass, {summary['file_fills']} of them from the file or a file beside it; "
          f"{summary['model_runs'] - summary['without_model']} with one)")
    print(f"keystroke->completion p50  {summary['p50_ms']} ms")
    print(f"keystroke->completion p95  {summary['p95_ms']} ms")
    for shape, row in summary["by_shape"].items():
        print(f"  {shape + ' holes':<24} p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms ({row['requests']} requests)")
    for kind, row in summary["by_answer"].items():
        print(f"  {'with ' + kind:<24} p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms ({row['requests']} requests)")
    print(f"cache hit rate             {summary['cache_hit_rate']:.1%}")
    print(f"typing-through hit rate    {summary['typing_through_hit_rate']:.1%}")
    print(f"typing along a suggestion  p50 {summary['typing_along_p50_ms']} ms, max {summary['typing_along_max_ms']} ms")
    print(f"empty answers              {summary['empty_answers']}")
    print(f"first completion after start {summary['first_completion_s']} s (model load {summary['model_load_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
