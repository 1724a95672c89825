"""pygls wiring: capabilities, handlers, progress and messages.

Handlers stay thin: find the document, call one plain function, build the protocol type.
The document store changes only here, on the event loop; inference runs on the worker over
an immutable snapshot, and a result for a version that has moved on is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, default_converter, lsp_method

from . import __version__
from .actions import ActionEdit, ActionKind, available, run_action
from .completion import Suggestion, cache_key, complete, typed_through
from .documents import DocumentError, DocumentStore, Position, PositionEncoding, Range, Snapshot, TextChange
from .model_loader import LoadResult, ModelLoader
from .scheduler import Scheduler, Superseded
from .settings import SECTION, Settings, model_changed, parse_settings
from .syntax import SyntaxIndex

log = logging.getLogger(__name__)
_CONVERTER = default_converter()

NAME = "infill-ls"
STATS_COMMAND = "infill.stats"
_ACTION_KINDS: dict[ActionKind, str] = {
    ActionKind.REWRITE_SELECTION: types.CodeActionKind.RefactorRewrite,
    # A sub-kind, so a client asking for "refactor.rewrite" still finds the rewrite first.
    ActionKind.FILL_PLACEHOLDERS: types.CodeActionKind.RefactorRewrite + ".placeholders",
    ActionKind.CLOSE_STRUCTURE: types.CodeActionKind.QuickFix,
}


class InfillProtocol(LanguageServerProtocol):
    """Leaves document text to the server's own store instead of keeping a second copy."""

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


# --- protocol <-> domain ------------------------------------------------------------------


def to_position(p: types.Position) -> Position:
    return Position(p.line, p.character)


def to_range(r: types.Range) -> Range:
    return Range(to_position(r.start), to_position(r.end))


def from_range(snapshot: Snapshot, start: int, end: int, encoding: PositionEncoding) -> types.Range:
    r = snapshot.range_at(start, end, encoding)
    return types.Range(
        types.Position(r.start.line, r.start.character), types.Position(r.end.line, r.end.character)
    )


def to_change(change: types.TextDocumentContentChangeEvent) -> TextChange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        return TextChange(to_range(change.range), change.text)
    return TextChange(None, change.text)


class InfillServer(LanguageServer):
    def __init__(self, settings: Settings | None = None, default_model: str | None = None) -> None:
        super().__init__(
            NAME,
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=InfillProtocol,
        )
        self.settings = settings or Settings()
        # What an empty modelPath means: the command line's --model, else the embedded model.
        self.default_model = default_model
        self.documents = DocumentStore()
        self.syntax = SyntaxIndex()
        self.scheduler = Scheduler()
        self.model = ModelLoader(self.scheduler)
        self.encoding = PositionEncoding.UTF16
        self.pending_messages: list[str] = []
        self.wants_progress = False
        self.uses_document_changes = False
        self.resolves_edits = False

    # --- messages to the user -------------------------------------------------------------

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """One line on stderr and in the client's log, and shown to the user."""
        print(f"{NAME}: {message}", file=sys.stderr, flush=True)
        self.window_log_message(types.LogMessageParams(type=kind, message=message))
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"{NAME}: {message}"))

    # --- the model ------------------------------------------------------------------------

    def start_loading(self) -> None:
        token = f"infill-load-{self.model.generation + 1}"
        progress = self.work_done_progress if self.wants_progress else None
        where = self.settings.model_path or self.default_model or "embedded model"

        async def announce() -> None:
            if progress is None:
                return
            try:
                await progress.create_async(token)
                progress.begin(token, types.WorkDoneProgressBegin(title="Loading infill model", message=where))
            except Exception:  # noqa: BLE001 - a client that refuses progress still gets a model
                log.debug("progress refused", exc_info=True)

        announcing = asyncio.ensure_future(announce())

        def done(result: LoadResult) -> None:
            async def finish() -> None:
                await announcing
                if progress is not None and token in progress.tokens:
                    progress.end(token, types.WorkDoneProgressEnd(message=result.error or "ready"))
                if result.error:
                    self.tell(result.error, types.MessageType.Error)
                elif result.engine is not None:
                    self.window_log_message(
                        types.LogMessageParams(
                            type=types.MessageType.Info,
                            message=f"loaded {result.engine.description} in {result.seconds:.2f}s",
                        )
                    )

            asyncio.ensure_future(finish())

        self.scheduler.cache.clear()
        self.model.load(replace(self.settings, model_path=self.settings.model_path or self.default_model), done)

    def apply_settings(self, raw: Any) -> None:
        new, problems = parse_settings(raw, self.settings)
        for problem in problems:
            self.tell(problem)
        old, self.settings = self.settings, new
        if model_changed(old, new):
            self.start_loading()

    # --- requests -------------------------------------------------------------------------

    def snapshot(self, uri: str) -> Snapshot | None:
        return self.documents.get(uri)

    def is_current(self, snapshot: Snapshot) -> bool:
        current = self.documents.get(snapshot.uri)
        return current is not None and current.version == snapshot.version

    async def suggest(self, uri: str, position: types.Position, explicit: bool) -> tuple[Snapshot, list[Suggestion]]:
        """Suggestions at a position, or none when the document moved on meanwhile."""
        snapshot = self.snapshot(uri)
        if snapshot is None or not self.settings.language_enabled(snapshot.language_id):
            return snapshot, []
        offset = snapshot.offset_at(to_position(position), self.encoding)
        self.scheduler.stats.requests += 1
        ticket = self.scheduler.enter((uri, "complete"))
        try:
            rests = self.scheduler.typing.continuation(snapshot, offset)
            if rests:
                self.scheduler.stats.typing_through_hits += 1
                suggestions = typed_through(snapshot, offset, rests)
                self.scheduler.typing.remember(snapshot, offset, [s.text for s in suggestions])
                return snapshot, suggestions
            engine = await self.model.engine()
            if ticket.should_stop():
                self.scheduler.stats.superseded += 1  # overtaken while the model was loading
                return snapshot, []
            if engine is None:
                return snapshot, []
            settings = self.settings
            key: Hashable = cache_key(snapshot, offset, explicit, settings, self.model.generation)
            parsed_for = self.syntax.parse

            def work(should_stop):
                return complete(
                    engine, parsed_for(snapshot), offset, settings, explicit=explicit, should_stop=should_stop
                )

            try:
                suggestions = await self.scheduler.run(
                    ticket, work, key=key, debounce_s=0 if explicit else settings.debounce_ms / 1000
                )
            except Superseded:
                return snapshot, []
        except asyncio.CancelledError:
            ticket.cancel()
            raise
        finally:
            self.scheduler.leave(ticket)
        if not self.is_current(snapshot):
            return snapshot, []
        self.scheduler.typing.remember(snapshot, offset, [s.text for s in suggestions])
        return snapshot, suggestions

    async def action_edit(self, kind: ActionKind, uri: str, selection: types.Range, version: int | None) -> ActionEdit | None:
        snapshot = self.snapshot(uri)
        if snapshot is None:
            raise ValueError(f"{kind.title}: {uri} is not open")
        if version is not None and version != snapshot.version:
            return None  # the document changed since the action was offered
        engine = await self.model.engine()
        if engine is None:
            self.tell(f"{kind.title}: no model loaded" + (f" ({self.model.error})" if self.model.error else ""))
            return None
        r = to_range(selection)
        start = snapshot.offset_at(r.start, self.encoding)
        end = snapshot.offset_at(r.end, self.encoding)
        settings = self.settings
        parsed_for = self.syntax.parse
        ticket = self.scheduler.enter((uri, "action"))
        try:
            edit = await self.scheduler.run(
                ticket,
                lambda should_stop: run_action(kind, engine, parsed_for(snapshot), start, end, settings, should_stop),
            )
        except Superseded:
            return None
        if not self.is_current(snapshot):
            return None  # computed for text that has changed since
        if edit is None:
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Info, message=f"{kind.title}: nothing to change here")
            )
        return edit

    def workspace_edit(self, edit: ActionEdit) -> types.WorkspaceEdit:
        snapshot = self.snapshot(edit.uri)
        assert snapshot is not None
        edits = [
            types.TextEdit(range=from_range(snapshot, r.start, r.end, self.encoding), new_text=r.text)
            for r in edit.replacements
        ]
        if self.uses_document_changes:
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=edit.uri, version=edit.version),
                        edits=edits,
                    )
                ]
            )
        return types.WorkspaceEdit(changes={edit.uri: edits})


def create_server(settings: Settings | None = None, default_model: str | None = None) -> InfillServer:
    ls = InfillServer(settings, default_model)
    _register(ls)
    return ls


def _register(ls: InfillServer) -> None:
    @ls.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        ls.encoding = PositionEncoding.parse(ls.workspace.position_encoding)
        caps = params.capabilities
        window = caps.window
        ls.wants_progress = bool(window and window.work_done_progress)
        workspace_edit = caps.workspace.workspace_edit if caps.workspace else None
        ls.uses_document_changes = bool(workspace_edit and workspace_edit.document_changes)
        code_action = caps.text_document.code_action if caps.text_document else None
        resolve = code_action.resolve_support if code_action else None
        ls.resolves_edits = bool(resolve and "edit" in resolve.properties)
        if params.initialization_options is not None:
            settings, problems = parse_settings(params.initialization_options, ls.settings)
            ls.settings = settings
            ls.pending_messages.extend(problems)
        inline = caps.text_document.inline_completion if caps.text_document else None
        if inline is None:
            # Clients without inline completion get the fill as an ordinary completion item.
            ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())(completion)

    @ls.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        for message in ls.pending_messages:
            ls.tell(message)
        ls.pending_messages.clear()
        ls.start_loading()

    @ls.feature(types.SHUTDOWN)
    def shutdown(params: None) -> None:
        ls.scheduler.close()

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        snapshot = ls.documents.open(doc.uri, doc.language_id, doc.version, doc.text)
        ls.syntax.opened(snapshot)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        doc = params.text_document
        try:
            snapshot = ls.documents.change(
                doc.uri, doc.version, [to_change(c) for c in params.content_changes], ls.encoding
            )
        except DocumentError as error:
            ls.tell(str(error), types.MessageType.Error)
            return
        ls.syntax.changed(snapshot)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.documents.close(uri)
        ls.syntax.closed(uri)
        ls.scheduler.supersede((uri, "complete"))
        ls.scheduler.supersede((uri, "action"))
        ls.scheduler.typing.forget(uri)

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        if raw is None:
            caps = ls.client_capabilities.workspace
            if not (caps and caps.configuration):
                return
            (raw,) = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
            )
        ls.apply_settings(raw)

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(params: types.InlineCompletionParams) -> types.InlineCompletionList:
        explicit = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        snapshot, suggestions = await ls.suggest(params.text_document.uri, params.position, explicit)
        return types.InlineCompletionList(
            items=[
                types.InlineCompletionItem(
                    insert_text=s.text, range=from_range(snapshot, s.start, s.end, ls.encoding)
                )
                for s in suggestions
            ]
        )

    async def completion(params: types.CompletionParams) -> types.CompletionList:
        explicit = bool(params.context and params.context.trigger_kind == types.CompletionTriggerKind.Invoked)
        snapshot, suggestions = await ls.suggest(params.text_document.uri, params.position, explicit)
        items = []
        for s in suggestions[:1]:
            label = s.text.strip().splitlines()[0]
            items.append(
                types.CompletionItem(
                    label=label if len(label) <= 60 else label[:57] + "...",
                    kind=types.CompletionItemKind.Text,
                    detail="infill",
                    filter_text=s.text,
                    insert_text_format=types.InsertTextFormat.PlainText,
                    text_edit=types.TextEdit(range=from_range(snapshot, s.start, s.end, ls.encoding), new_text=s.text),
                )
            )
        # Incomplete: the next keystroke asks again rather than filtering a stale fill.
        return types.CompletionList(is_incomplete=True, items=items)

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=sorted(set(_ACTION_KINDS.values())), resolve_provider=True  # type: ignore[arg-type]
        ),
    )
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        snapshot = ls.snapshot(uri)
        if snapshot is None:
            return []
        r = to_range(params.range)
        start = snapshot.offset_at(r.start, ls.encoding)
        end = snapshot.offset_at(r.end, ls.encoding)
        # Parsing is not inference, but a first parse of a large file still stays off the loop.
        kinds = await asyncio.to_thread(lambda: available(ls.syntax.parse(snapshot), start, end))
        only = params.context.only
        actions = []
        for kind in kinds:
            code_kind = _ACTION_KINDS[kind]
            if only and not any(code_kind == o or code_kind.startswith(o + ".") for o in only):
                continue
            arguments = [uri, _CONVERTER.unstructure(params.range), snapshot.version]
            action = types.CodeAction(title=kind.title, kind=code_kind)
            if ls.resolves_edits:
                action.data = {"kind": kind.value, "arguments": arguments}
            else:
                action.command = types.Command(title=kind.title, command=kind.command, arguments=arguments)
            actions.append(action)
        return actions

    @ls.feature(types.CODE_ACTION_RESOLVE)
    async def resolve_code_action(action: types.CodeAction) -> types.CodeAction:
        data = action.data or {}
        kind = ActionKind(data["kind"])
        uri, selection, version = data["arguments"]
        edit = await ls.action_edit(kind, uri, _CONVERTER.structure(selection, types.Range), version)
        if edit is not None:
            action.edit = ls.workspace_edit(edit)
        return action

    def action_command(kind: ActionKind):
        async def execute(uri: str, selection: types.Range, version: int | None) -> dict[str, Any]:
            edit = await ls.action_edit(kind, uri, selection, version)
            if edit is None:
                return {"applied": False, "parses": False}
            workspace_edit = ls.workspace_edit(edit)
            result = await ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=workspace_edit, label=kind.title)
            )
            return {"applied": bool(result.applied), "parses": edit.parses}

        return execute

    for kind in ActionKind:
        ls.command(kind.command)(action_command(kind))

    @ls.command(STATS_COMMAND)
    def stats() -> dict[str, Any]:
        last = ls.model.last
        return {
            **ls.scheduler.stats.as_dict(),
            "full_parses": ls.syntax.stats.full_parses,
            "incremental_parses": ls.syntax.stats.incremental_parses,
            "model": last.engine.description if last and last.engine else None,
            "model_error": last.error if last else None,
            "model_load_seconds": last.seconds if last else None,
        }
