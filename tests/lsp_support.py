"""Shared pieces of the language server's end-to-end tests: a tiny checkpoint, client
capabilities, applying the server's edits on the client side, and the held-out fixture split and
subprocess runner of the server-side evaluations.

Positions are converted here independently of the server's own code, so a test compares
the server against a second implementation rather than against itself.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Union

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

from engine.infill import HolesCandidate
from engine.infill_lookup import Candidate

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "lsp"
# The latency bench's scripted session (shipped with the package), typed in by tests too.
SESSION = ROOT / "infill_ls" / "bench_session"
HELDOUT = ROOT / "fixtures" / "eval" / "heldout"
SERVER = [sys.executable, "-m", "infill_ls", "--stdio"]
# One torch thread: the tiny model is faster that way, and test runs share a few cores.
SERVER_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

_keep: list[tempfile.TemporaryDirectory] = []


def read_message(stream) -> dict:
    """The next message the server wrote to ``stream`` (its stdout, or a socket's file), its headers read."""
    length = None
    while (line := stream.readline().strip()) != b"":
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return json.loads(stream.read(length))


def messages_in(output: bytes) -> list[dict]:
    """Every message in ``output``, all a server wrote to its stdout."""
    return [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in output.split(b"Content-Length: ")[1:]]


@functools.lru_cache(maxsize=None)
def tiny_model(canvas_length: int | None = None) -> str:
    """A random-weight checkpoint, written once per test process (and canvas length: by default the tiny one's)."""
    from engine.tiny import write_random_checkpoint

    holder = tempfile.TemporaryDirectory(prefix="infill-ls-tiny-")
    _keep.append(holder)
    wide = {} if canvas_length is None else {"canvas_length": canvas_length, "infill_canvas_lengths": [canvas_length]}
    return str(write_random_checkpoint(Path(holder.name) / "model", seed=0, whole_characters=True, **wide))


def heldout_split(path: Path) -> Path:
    """A corpus split file of three held-out fixtures, two languages, for the server-side evaluations."""
    with path.open("w") as fh:
        for name, language in (("intervals.py", "python"), ("units.py", "python"), ("counter.js", "javascript")):
            fh.write(json.dumps({"path": name, "language": language, "text": (HELDOUT / name).read_text()}) + "\n")
    return path


def run_module(module: str, *argv: str) -> subprocess.CompletedProcess:
    """``python -m module argv...`` from the repository root, as a user runs an evaluation."""
    return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def _converter():
    """lsprotocol reads every code action that carries a command as a bare Command; tell the
    two apart by the type of ``command``, as the specification does."""
    converter = default_converter()

    def action_or_command(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], action_or_command)
    return converter


def config(command: list[str] | None = None, factory=None) -> ClientServerConfig:
    """How each test module starts the real server."""
    return ClientServerConfig(
        server_command=command or SERVER, client_factory=factory or make_client, server_env=SERVER_ENV
    )


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_converter)
    register_lsp_features(client)
    client.statuses = []  # the server's infill/didChangeStatus notifications, as (kind, message)

    @client.feature("infill/didChangeStatus")
    def status(params) -> None:
        client.statuses.append((params.kind, params.message))

    return client


async def loaded(client: LanguageClient, timeout_s: float = 120) -> None:
    """Once the server's model load has ended (its status "ready", "warning" or "error"). Before, a request the file
    answers is answered from the file alone, without the model's pass or its candidates: a test counting those waits."""
    for _ in range(int(timeout_s / 0.05)):
        if client.statuses and client.statuses[-1][0] != "loading":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the model did not load in {timeout_s} s: {client.statuses}")


def capabilities(
    *,
    inline: bool = True,
    resolve: bool = True,
    progress: bool = False,
    encodings: list[str] | None = None,
    configuration: bool = False,
    notebooks: bool = False,
    disabled: bool = False,
) -> types.ClientCapabilities:
    text_document = types.TextDocumentClientCapabilities(
        synchronization=types.TextDocumentSyncClientCapabilities(),
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(
                    value_set=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite]
                )
            ),
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None,
            data_support=resolve,
            disabled_support=disabled or None,
        ),
        inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
        completion=types.CompletionClientCapabilities(),
    )
    return types.ClientCapabilities(
        text_document=text_document,
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            configuration=configuration,
        ),
        window=types.WindowClientCapabilities(work_done_progress=progress),
        general=types.GeneralClientCapabilities(position_encodings=encodings) if encodings else None,
        notebook_document=types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities()) if notebooks else None,
    )


def applying_edits(client: LanguageClient) -> list[types.ApplyWorkspaceEditParams]:
    """The edits the server asks ``client`` to apply (`workspace/applyEdit`), each applied as far as the server is
    told; also kept as ``client.applied``."""
    applied: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    client.applied = applied
    return applied


def init_params(caps: types.ClientCapabilities, **options) -> types.InitializeParams:
    return types.InitializeParams(capabilities=caps, initialization_options=options or None)


# --- client-side text arithmetic ------------------------------------------------------------


def _unit_width(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end of content) per line; breaks are \\r\\n, \\r or \\n."""
    spans, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "\r\n":
            end = i
            i += 2 if text.startswith("\r\n", i) else 1
            spans.append((start, end))
            start = i
        else:
            i += 1
    spans.append((start, len(text)))
    return spans


def offset_of(text: str, position: types.Position, encoding: str = "utf-16") -> int:
    start, end = _lines(text)[position.line]
    units = 0
    for i in range(start, end):
        if units >= position.character:
            return i
        units += _unit_width(text[i], encoding)
    return end


def position_of(text: str, offset: int, encoding: str = "utf-16") -> types.Position:
    for line, (start, end) in enumerate(_lines(text)):
        if start <= offset <= end:
            return types.Position(line, sum(_unit_width(c, encoding) for c in text[start:offset]))
    raise ValueError(f"offset {offset} is inside a line break")


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    spans = sorted(
        ((offset_of(text, e.range.start, encoding), offset_of(text, e.range.end, encoding), e.new_text) for e in edits),
        reverse=True,
    )
    for (a, b, _), (c, _, _) in zip(spans[1:], spans):
        assert b <= c, "edits overlap"
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def edits_of(edit: types.WorkspaceEdit, uri: str) -> tuple[list[types.TextEdit], int | None]:
    if edit.document_changes:
        (change,) = edit.document_changes
        assert change.text_document.uri == uri
        return list(change.edits), change.text_document.version
    return list(edit.changes[uri]), None


def replace_change(text: str, start: int, end: int, new: str, encoding: str = "utf-16"):
    """A didChange content change replacing ``start..end`` of ``text``."""
    return types.TextDocumentContentChangePartial(
        range=types.Range(position_of(text, start, encoding), position_of(text, end, encoding)), text=new
    )


def tree_nodes(tree) -> list[tuple]:
    """Every node of a tree-sitter tree with its type, bytes and points, in document order: two trees compare
    equal where they read the text alike."""
    out, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        out.append((node.type, node.start_byte, node.end_byte, tuple(node.start_point), tuple(node.end_point)))
        stack.extend(reversed(node.children))
    return out


class WritesFills:
    """An engine whose model writes exactly `fills` (one list per candidate, one fill per hole; the first fill where
    the model fills one hole), with the shipped tokenizer, whose vocabulary tells words."""

    canvas_length, hole_capacity = 256, 200

    def __init__(self, *fills):
        self.fills = list(fills)

    @property
    def tokenizer(self):
        return _shipped().tokenizer

    @property
    def generation(self):
        return _shipped().generation

    def count_tokens(self, text):
        return max(1, len(text) // 3) if text else 0

    def prompt_room(self, requested=None):
        return requested or 128

    def copies(self, before, after, **kw):
        return []

    def infill_holes(self, segments, **kw):
        return [HolesCandidate(list(f), -0.5, 1, 1) for f in self.fills]

    def infill(self, prefix, suffix, **kw):
        return [Candidate(f[0], -0.5, 1, 1.0) for f in self.fills]


@functools.cache
def _shipped():
    from engine.infill_lookup import InfillLookup, default_model_dir

    return InfillLookup.read(default_model_dir())


def parsed_text(language_id: str, text: str, uri: str | None = None):
    """``text`` opened as a document of ``language_id`` (at ``uri``, else one named for the language) and parsed, as
    the server's syntax index parses it."""
    from infill_ls.documents import DocumentStore
    from infill_ls.syntax import SyntaxIndex

    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(uri or f"file:///t.{language_id}", language_id, 1, text)
    index.opened(snapshot)
    return index.parse(snapshot)


def kept_while_typing(language_id: str, marked: str, fill: str) -> bool:
    """Whether the typing filter (`no_worse`) keeps ``fill`` at the `|` of ``marked``."""
    from infill_ls.suggestions import Suggestion
    from infill_ls.typing_filter import no_worse

    at = marked.index("|")
    parsed = parsed_text(language_id, marked.replace("|", "", 1))
    return bool(no_worse(parsed, [Suggestion(fill, at, at, -0.1, "file")]))


async def shown_while_typing(client, uri: str, language: str, marked: str) -> list[str]:
    """What the server over stdio shows at the `|` of ``marked``, opened as ``uri``, for an Automatic request."""
    at = marked.index("|")
    text = marked.replace("|", "", 1)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, at)))
    return [item.insert_text for item in (result.items if result else [])]
