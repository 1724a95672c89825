"""pygls wiring: capabilities, handlers, progress and messages.

Handlers stay thin: translate the message, call the service, build the protocol type. The
service (``service.py``) owns documents, parsing, scheduling and the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, NoReturn

from cattrs.v import format_exception, transform_error
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.feature_manager import is_thread_function
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCProtocol, LanguageServerProtocol, default_converter, lsp_method
from pygls.protocol.language_server import _prepare_command_arguments

from . import __version__
from .actions import ActionEdit, ActionKind
from .suggestions import Suggestion
from .documents import LINE_BREAK, DocumentError, Position, PositionEncoding, Range, Snapshot, TextChange
from .model_loader import LoadResult
from .parent import WATCH_S, process_alive
from .notebooks import NotebookError
from .service import CellDocument, ChangeAfterClose, InfillService
from .settings import SECTION, Settings, as_json

log = logging.getLogger(__name__)


def _whole_number(value: Any, kind: type) -> int:
    if kind is not int:  # bool, an IntEnum: read as cattrs reads them, by calling the class
        return kind(value)
    # JSON has one kind of number: 3.0 is the integer 3, but 1.5 and "1" are no integer at all.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"{value!r} is not an integer")


def _string(value: Any, kind: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value if kind is str else kind(value)  # an enum of strings, read as cattrs reads it


def converter() -> Any:
    """pygls's, but an integer of the protocol (a position's line and character, a version) is refused unless it is
    one: cattrs read a position of 1.5 as 1, and "2" as 2, and the server answered for a place the client never
    named. So is a string that is none: cattrs read a change's text of null as "None", and the document held four
    characters the editor's had not."""
    made = default_converter()
    made.register_structure_hook(int, _whole_number)  # taken for int's subclasses too
    made.register_structure_hook(str, _string)
    return made


_CONVERTER = converter()

NAME = "infill-ls"
STATS_COMMAND = "infill.stats"
# The model's state, for an editor's status item: {"kind": "loading" | "ready" | "warning" | "error", "message": one
# line}; "warning": a model that failed to load, the one before kept and serving.
# Sent when a load starts and when it ends; a client that does not know it ignores it.
STATUS_NOTIFICATION = "infill/didChangeStatus"
_ACTION_KINDS: dict[ActionKind, str] = {
    ActionKind.REWRITE_SELECTION: types.CodeActionKind.RefactorRewrite,
    # A sub-kind, so a client asking for "refactor.rewrite" still finds the rewrite first.
    ActionKind.FILL_PLACEHOLDERS: types.CodeActionKind.RefactorRewrite + ".placeholders",
    ActionKind.CLOSE_STRUCTURE: types.CodeActionKind.QuickFix,
}


# What `InfillProtocol.structure_message` reads a message it cannot read as, once it has dealt with it.
UNREADABLE = object()


class _NoTraceback(logging.Filter):
    """pygls logs the whole of cattrs' error for a message it cannot read, 80 to 130 lines, and a traceback of a
    dozen for a body that is not JSON; the server says what is wrong in one line instead
    (`InfillProtocol.structure_message`, `InfillServer.report_server_error`). Any other failure to handle a message
    keeps its traceback, but an error the server answers on purpose (a command's arguments of the wrong shape, an
    unknown command): the answer says what is wrong, and the log says it in one line, not after 15 of traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Unable to deserialize message"):
            return False
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, JsonRpcException):
            record.msg, record.args = f"{record.getMessage()}: {error.message}", ()
            record.exc_info = record.exc_text = None
            return True
        return not (str(record.msg).startswith("Unable to handle message") and isinstance(error, json.JSONDecodeError))


# The protocol's logger, and the loops that read the messages: pygls's for stdio, its default for a TCP connection.
for _logger in ("pygls.protocol.json_rpc", "pygls.server", "pygls.io_"):
    logging.getLogger(_logger).addFilter(_NoTraceback())

# Notifications the server takes no action on, and says nothing of: those the protocol lets any server ignore ("$/"),
# and those a client sends whatever the server registered (Neovim and Helix send saves; VS Code watched files) for
# features this server does not have. A notification outside these that it has no handler for is still said.
_IGNORED_NOTIFICATIONS = frozenset({
    types.TEXT_DOCUMENT_DID_SAVE, types.TEXT_DOCUMENT_WILL_SAVE, types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
    types.WORKSPACE_DID_CREATE_FILES, types.WORKSPACE_DID_RENAME_FILES, types.WORKSPACE_DID_DELETE_FILES,
    types.NOTEBOOK_DOCUMENT_DID_SAVE,
})


def what_is_wrong(error: JsonRpcException) -> str:
    """What pygls found wrong with a message, in one line: each field, as the protocol spells it, and why."""
    cause = error.__cause__
    if cause is None:
        return error.message or "invalid request"
    problems = []
    for problem in transform_error(cause, path="", format_exception=_why):
        why, _, where = problem.rpartition(" @ ")
        field = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), where.lstrip("."))
        problems.append(f"{field}: {why}" if field else why)
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    line = " ".join(("; ".join(problems[:3]) + more).split()) or "invalid request"
    return line if len(line) <= 400 else line[:397] + "..."  # a value quoted whole may be megabytes


def _check_command_arguments(data: dict[str, Any]) -> None:
    """Raise `JsonRpcInvalidParams` for a `workspace/executeCommand` whose arguments are not a list: pygls reads an
    object's keys as the arguments, and the command then says that a key is a wrong value."""
    params = data.get("params")
    if data.get("method") != types.WORKSPACE_EXECUTE_COMMAND or not isinstance(params, dict):
        return
    arguments = params.get("arguments")
    if arguments is not None and not isinstance(arguments, list):
        sent = json.dumps(arguments)
        raise JsonRpcInvalidParams(f"params.arguments: a list, got {sent if len(sent) <= 80 else sent[:77] + '...'}")


def _why(error: BaseException, cls: type | None) -> str:
    if isinstance(error, KeyError):
        return "missing"
    if isinstance(error, ValueError) and str(error):
        return str(error).rstrip(".")  # lsprotocol's own: "Position.line should be in range ..., but was -1"
    return format_exception(error, cls)


def _handed_on(method: str):
    """A document notification's handler in `InfillProtocol`: the server's own, called directly (named as pygls's,
    which it replaces)."""

    @lsp_method(method)
    def hand_on(self: LanguageServerProtocol, params: Any) -> None:
        if (handler := self.fm.features.get(method)) is not None:
            handler(params)

    return hand_on


class InfillProtocol(LanguageServerProtocol):
    """Leaves document text to the service's own store instead of keeping a second copy.

    The document handlers call the server's own (plain functions) directly, where pygls's yield to them: pygls
    files the future of a generator handler under a made-up id and, for a notification, never takes it out again,
    about 2 KB held for every keystroke for as long as the server runs."""

    lsp_text_document__did_open = _handed_on(types.TEXT_DOCUMENT_DID_OPEN)
    lsp_text_document__did_change = _handed_on(types.TEXT_DOCUMENT_DID_CHANGE)
    lsp_text_document__did_close = _handed_on(types.TEXT_DOCUMENT_DID_CLOSE)
    lsp_notebook_document__did_open = _handed_on(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    lsp_notebook_document__did_change = _handed_on(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    lsp_notebook_document__did_close = _handed_on(types.NOTEBOOK_DOCUMENT_DID_CLOSE)

    @lsp_method(types.SET_TRACE)
    def lsp_set_trace(self, params: types.SetTraceParams) -> None:
        """As pygls's, but a plain function: pygls's generator left an entry in its table of requests each time."""
        self.trace = params.value

    lsp_initialized = _handed_on(types.INITIALIZED)

    @lsp_method(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def lsp_workspace__did_change_workspace_folders(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        """As pygls's (a multi-root client sends one for each folder added or removed), but a plain function."""
        for folder in params.event.removed or []:
            self.workspace.remove_folder(folder.uri)
        for folder in params.event.added or []:
            self.workspace.add_folder(folder)
        if (handler := self.fm.features.get(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)) is not None:
            handler(params)

    @lsp_method(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def lsp_work_done_progress_cancel(self, params: types.WorkDoneProgressCancelParams) -> None:
        """As pygls's (the progress's future is cancelled), but a plain function."""
        if (future := self.progress.tokens.get(params.token)) is not None:
            future.cancel()

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        """As pygls's, but UTF-16 positions wherever the client offers them, whatever it lists first: a byte that is
        not UTF-8 (a Latin-1 file opened as it is) is read as U+FFFD, one unit in UTF-16 as in the client's count,
        but three in UTF-8 where the client counts one, and every position after it on the line was off."""
        general = params.capabilities.general
        if general is not None and general.position_encodings and \
                types.PositionEncodingKind.Utf16 in general.position_encodings:
            general.position_encodings = [types.PositionEncodingKind.Utf16]
        try:
            result = yield from super().lsp_initialize(params)
        except BaseException:
            self.initialize_received = False  # answered with the error: the client may send it again
            raise
        self.initialize_answered = True
        return result

    def structure_message(self, data: dict[str, Any]):
        """As pygls's, but for a message it cannot read (a field missing, or of the wrong type), where pygls only
        logs and drops it: a request is answered with the error, naming what is wrong, else the client waits for
        the answer for ever; the server's own request that such an answer was for fails, else it waits for ever;
        and a notification is said in one line naming it, a change to a document also dropping the document, now
        out of step. Each is one line in the log, where pygls wrote two tracebacks of a hundred lines."""
        try:
            _check_command_arguments(data)
            return super().structure_message(data)
        except JsonRpcException as error:
            method = data.get("method")
            why = what_is_wrong(error)
            if "id" in data and method:
                message = f"{method}: {why}"
                log.warning("%s", message)
                self._send_response(data["id"], error=types.ResponseError(code=error.code, message=message))
            elif "id" in data:
                log.warning("the answer to %s: %s", data["id"], why)
                future = self._request_futures.pop(data["id"], None)
                if future is None or future.done():
                    return UNREADABLE
                future.set_exception(JsonRpcInvalidParams("the answer does not match the protocol"))
            elif isinstance(method, str) and self.ignores(method):
                log.debug("%s: %s; ignored", method, why)  # one without params, as JSON-RPC allows
            elif isinstance(method, str):
                # Said to the client, and so in its log, by `unreadable_notification`: not on stderr too.
                self._server.unreadable_notification(method, data.get("params"), why)
            else:
                raise
            return UNREADABLE

    # Set once `initialize` has been answered: before that, the protocol allows no other request, and no notification
    # but `exit`.
    initialize_answered = False
    # Set once `initialize` has come: the protocol allows one. pygls ran each again, with the new request's
    # capabilities and folders in place of the session's, and failed the third on its features registered twice.
    initialize_received = False

    def handle_message(self, message):
        """As pygls's, but a request after `shutdown` is answered with InvalidRequest, as the protocol asks, where
        pygls drops it and leaves the client waiting; and before `initialize` is answered, a request is answered with
        ServerNotInitialized and a notification dropped, where pygls served them (a document opened before the
        client said which positions it counts), and a `shutdown` sent first left a session that refused
        `initialize`; and an `initialize` after the first is answered with InvalidRequest."""
        if message is UNREADABLE:
            return  # answered, or said, already
        if getattr(message, "jsonrpc", None) != JsonRPCProtocol.VERSION:
            self._not_a_message(message)
            return
        method = getattr(message, "method", None)
        if method == types.INITIALIZE and getattr(message, "id", None) is not None:
            if self.initialize_received:
                error = types.ResponseError(code=JsonRpcInvalidRequest.CODE,
                                            message="initialize: the server is initialized already")
                self._send_response(message.id, error=error)
                return
            self.initialize_received = True
        if not self.initialize_answered and method not in (None, types.INITIALIZE, types.EXIT):
            if getattr(message, "id", None) is not None:
                error = types.ResponseError(code=JsonRpcServerNotInitialized.CODE,
                                            message=f"{method}: the server is not initialized")
                self._send_response(message.id, error=error)
            else:
                log.warning("%s before initialize: ignored", method)
            return
        if self._shutdown and method not in (None, types.EXIT) and getattr(message, "id", None) is not None:
            error = types.ResponseError(code=JsonRpcInvalidRequest.CODE, message=f"{method}: the server is shutting down")
            self._send_response(message.id, error=error)
            return
        super().handle_message(message)

    def _not_a_message(self, body: Any) -> None:
        """A body that is JSON but no JSON-RPC 2.0 message (`[1, 2]`, `null`, a batch, an object without `jsonrpc` or
        of another version): said in one line, and, unless it reads as an answer, answered with InvalidRequest, with
        its id where it has one, as JSON-RPC asks. pygls failed on it with a traceback and a message to the user, or
        dropped it, and the client waited for ever for the answer to a request it held."""
        if isinstance(body, dict):
            msg_id, answer = body.get("id"), "result" in body or "error" in body
        else:
            msg_id, answer = getattr(body, "id", None), hasattr(body, "result") or hasattr(body, "error")
        if not isinstance(msg_id, (int, str)) or isinstance(msg_id, bool):
            msg_id = None
        shown = json.dumps(body, default=repr)
        log.warning("not a JSON-RPC 2.0 message, ignored: %s", shown if len(shown) <= 200 else shown[:197] + "...")
        if answer:
            return
        self._send_data({"jsonrpc": JsonRPCProtocol.VERSION, "id": msg_id, "error": {
            "code": JsonRpcInvalidRequest.CODE, "message": "Invalid Request: not a JSON-RPC 2.0 request"}})

    def _handle_response(self, msg_id, result=None, error=None):
        """As pygls's, but the answer to a request of the server's whose wait has been given up (the client
        cancelled the request it was made for) is dropped: pygls set it on the cancelled future, and the error that
        raised was shown to the user."""
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():
            del self._request_futures[msg_id]
            log.debug("answer to %s arrived after its wait was given up", msg_id)
            return
        super()._handle_response(msg_id, result, error)

    def _handle_notification(self, method_name: str, params: Any) -> None:
        """As pygls's, but without a warning for a notification the server may ignore (`_IGNORED_NOTIFICATIONS`, and
        any "$/" one), nor for a cancel whose request is no longer pending: one the client sent as the answer was
        on its way, as the protocol expects it may."""
        if method_name == types.CANCEL_REQUEST:
            if params.id not in self._request_futures:
                log.debug("cancel for %s: not pending", params.id)
                return
        elif self.ignores(method_name):
            log.debug("%s: ignored", method_name)
            return
        super()._handle_notification(method_name, params)

    def ignores(self, method: str) -> bool:
        """Whether a notification is one the server may ignore and has no handler for."""
        return (method.startswith("$/") or method in _IGNORED_NOTIFICATIONS) and \
            method not in self.fm.builtin_features and method not in self.fm.features

    def _execute_handler(self, msg_id, handler: Callable[..., Any], callback: Callable[[Future], None],
                         args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None) -> None:
        """As pygls's, but a plain handler may return a coroutine, which then runs as the task of an async handler
        does (filed under the request, for `$/cancelRequest` to reach). The handler itself runs as the message
        arrives, where an async handler's first line runs only once the loop starts its task: over TCP, pygls's
        reader hands on every message it has read already first, so a change sent after a request was applied
        before the request read its document, and the request answered at its position in the changed text."""
        if asyncio.iscoroutinefunction(handler) or inspect.isgeneratorfunction(handler) or \
                is_thread_function(handler):
            super()._execute_handler(msg_id, handler, callback, args, kwargs)
            return
        done: Future = Future()
        done.add_done_callback(callback)
        try:
            result = handler(*(args or ()), **(kwargs or {}))
        except Exception as error:  # noqa: BLE001 - the request's answer, as pygls makes it
            done.set_exception(error)
            return
        if not inspect.isawaitable(result):
            done.set_result(result)
            return
        task = asyncio.ensure_future(result)
        self._request_futures[msg_id] = task
        task.add_done_callback(callback)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Any:
        """As pygls's, but the command called directly, as the request arrives: pygls's generator yields to it, and
        runs what it returns to await as a task of its own, which a `$/cancelRequest` never reaches (a cancelled
        action went on to run the model and apply its edit). That runs as this request's task instead
        (`_execute_handler`)."""
        if (handler := self.fm.commands.get(params.command)) is None:
            raise JsonRpcInvalidParams.of(ValueError(f"Command name {params.command!r} is not defined"))
        try:
            args, kwargs = _prepare_command_arguments(handler, params, self._converter)
        except Exception as exc:  # noqa: BLE001 - as pygls: any argument it cannot pass
            raise JsonRpcInvalidParams(f"{params.command}: {exc}") from None
        return handler(*args, **kwargs)

    # Set by `exit`: the status the process ends with, 0 after `shutdown` and 1 without. pygls's own sys.exit is
    # swallowed by its loop, so the command line ends the process with this (`InfillServer.end`).
    exit_status: int | None = None

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args):
        """As pygls's, but keeping the status, and sending nothing from here on: the model's load or a fill that
        ends before the process does would write to the closed stream, and pygls reports each failed write with a
        message that fails too, megabytes of tracebacks on stderr for an editor closed while loading."""
        self.exit_status = 0 if self._shutdown else 1
        yield from super().lsp_exit(*args)

    def _send_data(self, data: Any) -> None:
        if self.exit_status is not None:
            log.debug("not sent after exit: %.200s", data)
            return
        super()._send_data(data)

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args):
        """As pygls's, but cancelling the other pending requests from a copy of its table: a cancelled request
        leaves the table at once, and pygls's own loop over it failed the shutdown request whenever a fill or
        an action was still running."""
        if (handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None


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


ACTION_ARGUMENTS = ("arguments are [document URI, range, document version or null], and where the server offered the "
                    "action, the document's opening it offered it in")


def action_arguments(arguments: Any) -> tuple[str, types.Range, int | None, int | None]:
    """The document, range, version and opening (None where not given) of an action's arguments, as `code_action`
    writes them. The opening is the server's own (`DocumentStore.opening`), written after the three an editor may
    make up from its own selection: an editor counts the versions of a document closed and opened again from 1 again,
    and an action offered for the text before would run on the text after.

    Checked here rather than converted by pygls from annotations, so that the message says what the arguments are; a
    version is an integer as the protocol's are (`_whole_number`: "1", 1.5 or true is none, and would pass the check
    that the document has not changed as 1)."""
    if not isinstance(arguments, (list, tuple)) or len(arguments) not in (3, 4):
        raise TypeError(f"{ACTION_ARGUMENTS}; got {as_json(arguments, 80)}")
    uri, selection, version, *opened = arguments
    opening = None
    if opened:
        try:
            opening = _whole_number(opened[0], int)
        except ValueError:
            raise TypeError(f"{ACTION_ARGUMENTS}; the opening is {as_json(opened[0], 80)}") from None
    if not isinstance(uri, str):
        raise TypeError(f"{ACTION_ARGUMENTS}; the URI is {as_json(uri, 80)}")
    if version is not None:
        try:
            version = _whole_number(version, int)
        except ValueError:
            raise TypeError(f"{ACTION_ARGUMENTS}; the version is {as_json(version, 80)}") from None
    try:
        return uri, _CONVERTER.structure(selection, types.Range), version, opening
    except Exception:  # noqa: BLE001 - cattrs' errors name no field the user could act on
        raise TypeError(f"{ACTION_ARGUMENTS}; the range is {as_json(selection, 80)}, not "
                        '{"start": {"line", "character"}, "end": {...}} with numbers from 0') from None


def _resolve_data(data: Any) -> tuple[ActionKind, str, types.Range, int | None, int | None]:
    """The action, document, range, version and opening a code action's `data` holds (as `code_action` writes
    it)."""
    return ActionKind(data["kind"]), *action_arguments(data["arguments"])


def cell_document(item: types.TextDocumentItem) -> CellDocument:
    return CellDocument(item.uri, item.language_id, item.version, item.text)


# Every notebook, every cell: a code cell reads the cells of its language around it, and the client sends a
# notebook's cells only to a server that takes the notebook.
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithNotebook(notebook="*")]
)


def completion_item(snapshot: Snapshot, s: Suggestion, encoding: PositionEncoding) -> types.CompletionItem:
    widened = s.with_word_typed(snapshot.text)
    # Named by the word it completes (`weight`); but a fill that begins on a line below by that line (`x = 1`, not
    # the `return` typed before it).
    goes_on = bool(LINE_BREAK.split(s.text, maxsplit=1)[0].strip())
    named = (widened.text if goes_on else s.text).strip()
    label = named.splitlines()[0] if named else s.text
    return types.CompletionItem(
        label=label if len(label) <= 60 else label[:57] + "...",
        kind=types.CompletionItemKind.Text,
        detail="infill",
        filter_text=widened.text,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=from_range(snapshot, widened.start, widened.end, encoding),
                                 new_text=widened.text),
    )


class InfillServer(LanguageServer):
    def __init__(self, settings: Settings | None = None, default_model: str | None = None) -> None:
        super().__init__(
            NAME,
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=NOTEBOOK_SYNC,
            protocol_cls=InfillProtocol,
            converter_factory=converter,
        )
        self.service = InfillService(settings or Settings(), default_model)
        self.encoding = PositionEncoding.UTF16
        self.pending_messages: list[str] = []
        self.wants_progress = False
        self.uses_document_changes = False
        self.resolves_edits = False
        self.literal_actions = False  # code actions as CodeAction literals, else as bare Commands
        self.shows_disabled = False  # the client greys out a CodeAction marked disabled, with its reason
        self.applies_edits = False  # the client takes `workspace/applyEdit`
        self.told_cannot_apply = False
        self.actions_run = 0  # names each action's progress
        self.out_of_step: set[str] = set()  # documents whose changes failed, told once until opened again
        self.reporting = False  # within report_server_error
        self.editor_watch: asyncio.Future | None = None  # ends the process when the editor's has (`watch_editor`)
        self.pulls: set[asyncio.Task] = set()  # settings asked of the client (`workspace/configuration`)
        self.settings_problems: list[str] = []  # those of the last settings read
        # The kind of run-time failure the status last said (`say_failure`), and the kinds shown to the user, each
        # once per model loaded.
        self.failure_said: str | None = None
        self.failures_shown: set[str] = set()

    def end(self, status: int) -> NoReturn:
        """End the process with `status` now: the model's work told to stop, what was written flushed, and no
        teardown of the interpreter. That took 0.6 to 1.5 s (torch's among it) once the client had gone, and, as it
        aborts (SIGABRT) while torch runs in another thread, exiting first waited up to 3 s for the model's worker,
        which a load never leaves early."""
        self.service.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # stdout is closed after `exit`
                stream.flush()
        os._exit(status)

    def watch_editor(self, pid: int) -> None:
        """End the process, as `exit` without `shutdown` does, once the editor's process `pid` has ended (`parent`).
        Not where no process `pid` runs now: the editor's id on another machine or in another container."""
        if pid == os.getpid() or not process_alive(pid):
            log.info("processId %d names no process here: not watched", pid)
            return

        async def watch() -> None:
            while process_alive(pid):
                await asyncio.sleep(WATCH_S)
            log.warning("the editor's process %d has ended: the server ends with it", pid)
            self.end(1)

        self.editor_watch = asyncio.ensure_future(watch())

    def report_server_error(self, error: Exception, source: Any) -> None:
        """As pygls's (a message to the user), but never for a failure to send that message itself: pygls reports a
        failed write by writing, and a closed stream failed each report again, recursing until Python's limit."""
        if isinstance(error, json.JSONDecodeError):
            # Nothing of the message can be known, its id neither: JSON-RPC answers with a Parse error whose id is
            # null. (Written as it goes out: lsprotocol leaves a null id out of the answer.)
            log.error("a message that is not JSON was ignored: %s", error)
            self.protocol._send_data({"jsonrpc": "2.0", "id": None,
                                      "error": {"code": JsonRpcParseError.CODE, "message": f"Parse error: {error}"}})
            return
        if self.reporting:
            log.error("%s", error)
            return
        self.reporting = True
        try:
            super().report_server_error(error, source)
        finally:
            self.reporting = False

    def lost_step(self, uri: str, why: str, closed: bool = False, notebook: str | None = None) -> None:
        """A change to `uri` that could not be applied, so the service has dropped it: said once per document, as a
        client out of step with the server sends one such change per keystroke. ``closed``: the change was for a
        document the client had closed, where no text of the editor's is missed: logged only. A notebook's cell
        (``notebook``: the notebook the change came with) is named by its notebook and place, not by its URI, and
        comes back when the notebook is opened again: the user cannot open a cell alone."""
        until = "until it is opened again"
        if (label := self.service.notebooks.label(uri, notebook)) is not None:
            why, until = f"{label}: {why.removeprefix(f'{uri}: ')}", "until the notebook is closed and reopened"
        if uri in self.out_of_step:
            log.warning("%s", why)
        elif closed:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Warning, message=why))
        else:
            self.out_of_step.add(uri)
            self.tell(f"{why}; suggestions for it stop {until}", types.MessageType.Error)

    def unreadable_notification(self, method: str, params: Any, why: str) -> None:
        """A notification that does not match the protocol, ``why`` (`what_is_wrong`). A lost change leaves the
        document (or notebook) out of step with the editor, so it is dropped as for a change that cannot be
        applied."""
        field = {types.TEXT_DOCUMENT_DID_CHANGE: "textDocument",
                 types.NOTEBOOK_DOCUMENT_DID_CHANGE: "notebookDocument",
                 types.NOTEBOOK_DOCUMENT_DID_OPEN: "notebookDocument"}.get(method)
        document = params.get(field) if field and isinstance(params, dict) else None
        uri = document.get("uri") if isinstance(document, dict) else None
        if not isinstance(uri, str):
            self.tell(f"{method}: a message that does not match the protocol was ignored ({why})",
                      types.MessageType.Error)
        elif field == "notebookDocument":
            # Its cells' own changes fail from now on: said once, for the notebook (an opening it could not read
            # too: each of its cells' edits was told as a change to a document that is not open).
            opening = method == types.NOTEBOOK_DOCUMENT_DID_OPEN
            opened = params.get("cellTextDocuments") if opening else None
            cells = [d["uri"] for d in opened if isinstance(d, dict) and isinstance(d.get("uri"), str)] \
                if isinstance(opened, list) else []
            self.out_of_step.update(self.service.close_notebook(uri, cells))
            what = "opening" if opening else "change"
            self.lost_step(uri, f"{uri}: a notebook {what} that does not match the protocol ({why})")
        else:
            self.service.close(uri)
            self.lost_step(uri, f"{uri}: a change that does not match the protocol ({why})")

    def new_settings_problems(self, problems: list[str]) -> list[str]:
        """The problems of settings just read that those read before did not have: a client sends the same settings
        again (as initializationOptions and then as its section, Neovim from 0.10; the whole section on every
        change), and each problem was said every time. One fixed and made again is new again."""
        new = [problem for problem in problems if problem not in self.settings_problems]
        self.settings_problems = problems
        return new

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """One line in the client's log, and shown to the user. Not on stderr besides: editors write the server's
        stderr to the same log as its window/logMessage (VS Code's output channel, Neovim's lsp.log), where the line
        stood twice."""
        self.window_log_message(types.LogMessageParams(type=kind, message=message))
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"{NAME}: {message}"))

    async def begin_progress(self, token: str, title: str, message: str | None = None,
                             cancellable: bool = False) -> Future | None:
        """Work-done progress under `token`, where the client shows it: the future a cancel from the client's
        progress (`window/workDoneProgress/cancel`) cancels, None where none was begun. A token stays among pygls's
        only once begun, so that `end_progress` ends no progress the client never saw begin."""
        if not self.wants_progress:
            return None
        try:
            await self.work_done_progress.create_async(token)
            self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, message=message,
                                                                             cancellable=cancellable))
        except BaseException as error:  # a client that refuses progress still gets the work done
            self.work_done_progress.tokens.pop(token, None)
            if not isinstance(error, Exception):
                raise  # the request cancelled while the client created it
            log.debug("progress refused", exc_info=True)
            return None
        return self.work_done_progress.tokens.get(token)

    def end_progress(self, token: str, message: str) -> None:
        # Taken out as it ends: pygls keeps every token it was given for as long as the server runs.
        if self.work_done_progress.tokens.pop(token, None) is not None:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    def status(self, kind: str, message: str) -> None:
        self.protocol.notify(STATUS_NOTIFICATION, {"kind": kind, "message": message})

    def say_failure(self, show: bool = True) -> None:
        """The model's run-time failure (`ModelLoader.failure`) as the status, once it begins and once it ends, and
        shown to the user the first time each is met (``show``: not where the request's answer says it already, as an
        action's does); not as each request's error, which an editor shows at every keystroke."""
        model = self.service.model
        failure, kind, last = model.failure, model.failure_kind, model.last
        if kind == self.failure_said or last is None or last.engine is None or last.generation != model.generation:
            return  # said already; or a load is under way, whose end says how it is
        self.failure_said = kind
        if failure is None:
            # Back to what the load said: "ready", or the warning that the model asked for was not loaded.
            self.status("warning" if last.error else "ready", last.error or last.engine.description)
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Info,
                                                           message=f"fills work again: {last.engine.description}"))
            return
        # A warning, as for a model kept after another failed to load: one is loaded, which editors show as "no model"
        # for an error. The same failure met again with other details (the prompt's length) is not said again.
        self.status("warning", failure)
        if show and kind not in self.failures_shown:
            self.failures_shown.add(kind)
            self.tell(failure, types.MessageType.Error)
        else:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=failure))

    def start_loading(self) -> None:
        """Load the model in the background, shown as work-done progress where the client can, and as the status."""
        token = f"infill-load-{self.service.model.generation + 1}"
        self.failure_said = None  # the load starts afresh: what failed is said again of the model it loads
        self.failures_shown.clear()
        self.status("loading", f"loading {self.service.model_source}")
        announcing = asyncio.ensure_future(
            self.begin_progress(token, "Loading infill model", self.service.model_source)
        )

        def finish(result: LoadResult) -> None:
            if result.generation != self.service.model.generation:
                # Overtaken by a newer load, which says how that one ends: what this one ended with is no longer so.
                self.end_progress(token, "replaced by a newer load")
                return
            self.end_progress(token, result.error or "ready")
            # A model that failed its checks keeps the one loaded before: the server still fills, and says why the
            # new one did not load, as a warning rather than "ready", which an editor shows as the model asked for.
            kept = result.error is not None and result.engine is not None
            self.status("warning" if kept else "error" if result.error else "ready",
                        result.error or (result.engine.description if result.engine else "no model"))
            if result.error:
                self.tell(result.error, types.MessageType.Warning if kept else types.MessageType.Error)
            elif result.engine is not None:
                message = f"loaded {result.engine.description} in {result.seconds:.2f}s"
                self.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=message))

        def read() -> None:
            # Torch and the weights are the most of a load (minutes, for a large checkpoint): the file's fills are
            # offered meanwhile.
            message = f"loading the weights of {self.service.model_source}; fills the file spells out meanwhile"
            self.status("loading", message)
            if token in self.work_done_progress.tokens:
                self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))

        def once_announced(then: Callable[[], None]) -> None:
            # A callback on the announcement rather than a task awaiting it: a load that ends as the event loop
            # closes (the editor gone, `exit` sent) made a task that never ran, reported on stderr as destroyed
            # while pending. Once the loop cancels the announcement, nothing is left to say.
            announcing.add_done_callback(lambda done: None if done.cancelled() else then())

        self.service.load_model(lambda result: once_announced(lambda: finish(result)),
                                lambda: once_announced(read))

    def workspace_edit(self, edit: ActionEdit) -> types.WorkspaceEdit:
        snapshot = self.service.documents.get(edit.uri)
        assert snapshot is not None and snapshot.version == edit.version
        edits = [
            types.TextEdit(range=from_range(snapshot, r.start, r.end, self.encoding), new_text=r.text)
            for r in edit.replacements
        ]
        if not self.uses_document_changes:
            return types.WorkspaceEdit(changes={edit.uri: edits})
        document = types.OptionalVersionedTextDocumentIdentifier(uri=edit.uri, version=edit.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)])

    async def action_edit(
        self, kind: ActionKind, uri: str, snapshot: Snapshot | None, selection: types.Range, version: int | None,
        opening: int | None,
    ) -> types.WorkspaceEdit | None:
        """The edit of an action on `snapshot`, the document `uri` as the request found it."""
        # A fill can take seconds (longer on a large checkpoint): say so where the client shows progress.
        self.actions_run += 1
        token = f"infill-action-{self.actions_run}"
        ending = "cancelled"
        try:
            # Its Cancel button stops the request as a `$/cancelRequest` does: the model stops, nothing is applied.
            cancelled = await self.begin_progress(token, f"Infill: {kind.title}", cancellable=True)
            if cancelled is not None:
                request = asyncio.current_task()
                cancelled.add_done_callback(lambda future: request.cancel() if future.cancelled() else None)
            outcome = await self.service.action_in(kind, uri, snapshot, to_range(selection), self.encoding, version,
                                                   opening)
            ending = outcome.reason or ("done" if outcome.edit else "no edit")
        finally:
            self.end_progress(token, ending)
        self.say_failure(show=False)
        if outcome.reason:
            # Named as every other message of the server's: a popup alone does not say whose it is.
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Info,
                                                             message=f"{NAME}: {outcome.reason}"))
        return self.workspace_edit(outcome.edit) if outcome.edit else None


def create_server(settings: Settings | None = None, default_model: str | None = None) -> InfillServer:
    ls = InfillServer(settings, default_model)
    _register(ls)
    return ls


def _register(ls: InfillServer) -> None:
    service = ls.service

    @ls.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        ls.encoding = PositionEncoding.parse(ls.workspace.position_encoding)
        caps = params.capabilities
        ls.wants_progress = bool(caps.window and caps.window.work_done_progress)
        workspace_edit = caps.workspace.workspace_edit if caps.workspace else None
        ls.uses_document_changes = bool(workspace_edit and workspace_edit.document_changes)
        code_action = caps.text_document.code_action if caps.text_document else None
        resolve = code_action.resolve_support if code_action else None
        ls.resolves_edits = bool(resolve and "edit" in resolve.properties)
        ls.literal_actions = bool(code_action and code_action.code_action_literal_support)
        ls.shows_disabled = bool(code_action and code_action.disabled_support)
        ls.applies_edits = bool(caps.workspace and caps.workspace.apply_edit)
        if params.process_id is not None:
            ls.watch_editor(params.process_id)
        # pygls has made rootPath a rootUri.
        root = ls.workspace.root_uri
        service.set_folders([f.uri for f in params.workspace_folders or ()] or ([root] if root else []))
        if params.initialization_options is not None:
            problems, _ = service.configure(params.initialization_options)
            ls.pending_messages.extend(ls.new_settings_problems(problems))
        if not (caps.text_document and caps.text_document.inline_completion):
            # Clients without inline completion get the fill as an ordinary completion item.
            ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())(completion)

    @ls.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        for message in ls.pending_messages:
            ls.tell(message)
        ls.pending_messages.clear()
        ls.start_loading()

    @ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        event = params.event
        service.change_folders([f.uri for f in event.added or ()], [f.uri for f in event.removed or ()])

    @ls.feature(types.SHUTDOWN)
    def shutdown(params: None) -> None:
        service.shutdown()

    @ls.feature(types.EXIT)
    def exit_(params: None) -> None:
        # Stopped without waiting for the worker: the process ends without the interpreter (`InfillServer.end`).
        service.shutdown()

    def tell_notices() -> None:
        for notice in service.notices():
            ls.tell(notice)

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.out_of_step.discard(doc.uri)
        service.open(doc.uri, doc.language_id, doc.version, doc.text)
        tell_notices()

    def change_text(doc: types.VersionedTextDocumentIdentifier,
                    changes: Sequence[types.TextDocumentContentChangeEvent], notebook: str | None = None) -> None:
        try:
            service.change(doc.uri, doc.version, [to_change(c) for c in changes], ls.encoding)
        except DocumentError as error:
            ls.lost_step(doc.uri, str(error), closed=isinstance(error, ChangeAfterClose), notebook=notebook)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        change_text(params.text_document, params.content_changes)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        service.close(params.text_document.uri)
        ls.out_of_step.discard(params.text_document.uri)

    def without_text(notebook: str, cells: list[str]) -> None:
        """Cells the client listed without their text: logged once each, as the notebook lists them, and their edits
        (each a change to a document not open) logged only, where the first popped up an error about a cell the
        user had done nothing to."""
        for cell in cells:
            ls.out_of_step.add(cell)
            message = (f"{service.notebooks.label(cell, notebook)} ({cell}): the editor listed the cell without its "
                       "text; nothing is suggested in it until the notebook is closed and reopened")
            ls.window_log_message(types.LogMessageParams(type=types.MessageType.Warning, message=message))

    @ls.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def did_open_notebook(params: types.DidOpenNotebookDocumentParams) -> None:
        notebook = params.notebook_document
        ls.out_of_step.difference_update([notebook.uri, *(d.uri for d in params.cell_text_documents)])
        without_text(notebook.uri, service.open_notebook(notebook.uri, [cell.document for cell in notebook.cells],
                                                         [cell_document(d) for d in params.cell_text_documents]))
        tell_notices()

    @ls.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def did_change_notebook(params: types.DidChangeNotebookDocumentParams) -> None:
        cells = params.change.cells
        if cells is None or params.notebook_document.uri in ls.out_of_step:
            return  # the notebook's metadata alone, or a notebook dropped until it is opened again
        if (structure := cells.structure) is not None:
            ls.out_of_step.difference_update(d.uri for d in structure.did_open or ())
            array = structure.array
            try:
                missing = service.change_notebook_cells(
                    params.notebook_document.uri, array.start, array.delete_count,
                    [cell.document for cell in array.cells or ()],
                    [cell_document(d) for d in structure.did_open or ()],
                    [d.uri for d in structure.did_close or ()],
                )
            except NotebookError as error:
                uri = params.notebook_document.uri
                ls.out_of_step.update(service.close_notebook(uri, [d.uri for d in structure.did_open or ()]))
                ls.lost_step(uri, str(error))
                return
            without_text(params.notebook_document.uri, missing)
            tell_notices()
        closed = {d.uri for d in (structure.did_close or ())} if structure is not None else set()
        for content in cells.text_content or ():
            if content.document.uri not in closed:  # a cell the same change removes: its edit goes with it
                change_text(content.document, content.changes, params.notebook_document.uri)

    @ls.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def did_close_notebook(params: types.DidCloseNotebookDocumentParams) -> None:
        closed = service.close_notebook(params.notebook_document.uri, [d.uri for d in params.cell_text_documents])
        ls.out_of_step.difference_update({params.notebook_document.uri, *closed})

    def configure(raw: Any) -> None:
        problems, reload = service.configure(raw)
        for problem in ls.new_settings_problems(problems):
            ls.tell(problem)
        if reload:
            ls.start_loading()

    async def pull_settings() -> None:
        try:
            answer = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
            )
        except JsonRpcException as error:
            # The client's to refuse: the settings stay as they are. (Raised on, it ended a task nothing awaits.)
            log.warning("workspace/configuration: the client answered with an error: %s", error.message)
            return
        # One item asked for, one answered (pygls hands it over as a tuple); a client that answers otherwise has no
        # settings to give.
        raw = answer[0] if isinstance(answer, (list, tuple)) and len(answer) == 1 else None
        if raw is not None:
            configure(raw)

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        # A plain function: pygls files the future of an async handler under a made-up id, and for a notification
        # never takes it out again, one entry for every change for as long as the server runs.
        if params.settings is not None:
            configure(params.settings)
            return
        caps = ls.client_capabilities.workspace
        if caps and caps.configuration:
            task = asyncio.ensure_future(pull_settings())
            ls.pulls.add(task)  # held until done: the loop keeps only a weak reference to a task
            task.add_done_callback(ls.pulls.discard)

    # The request handlers below read the document as the request arrives, and return the rest to run as its task
    # (`InfillProtocol._execute_handler`): the answer is for that text, or none once the document has moved on.

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    def inline_completion(params: types.InlineCompletionParams) -> Coroutine[Any, Any, types.InlineCompletionList]:
        snapshot = service.documents.get(params.text_document.uri)
        explicit = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        # Sent while the editor's completion list is open (VS Code): an item that does not go on from the one
        # selected there, over its range, is not shown.
        info = params.context.selected_completion_info
        selected = TextChange(to_range(info.range), info.text) if info is not None else None

        async def answer() -> types.InlineCompletionList:
            suggestions = await service.suggest_in(snapshot, to_position(params.position), ls.encoding, explicit,
                                                   selected)
            ls.say_failure()
            return types.InlineCompletionList(items=[
                types.InlineCompletionItem(insert_text=s.text, range=from_range(snapshot, s.start, s.end, ls.encoding))
                for s in suggestions
            ])

        return answer()

    def completion(params: types.CompletionParams) -> Coroutine[Any, Any, types.CompletionList]:
        snapshot = service.documents.get(params.text_document.uri)

        async def answer() -> types.CompletionList:
            # Always a typing request: "Invoked" covers both a key pressed for completion and the popup an editor
            # opens as an identifier is typed (Helix sends it on every word character), and nothing in the request
            # tells them apart. Read as explicit, the popup would fill mid-word and wait for the model where the
            # file's fill is instant.
            suggestions = await service.suggest_in(snapshot, to_position(params.position), ls.encoding, False)
            ls.say_failure()
            # Incomplete: the next keystroke asks again rather than filtering a stale fill.
            return types.CompletionList(
                is_incomplete=True, items=[completion_item(snapshot, s, ls.encoding) for s in suggestions[:1]]
            )

        return answer()

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=sorted(set(_ACTION_KINDS.values())), resolve_provider=True  # type: ignore[arg-type]
        ),
    )
    def code_action(params: types.CodeActionParams) -> Coroutine[Any, Any, list[types.CodeAction | types.Command]]:
        snapshot = service.documents.get(params.text_document.uri)

        async def answer() -> list[types.CodeAction | types.Command]:
            kinds = await service.actions_in(snapshot, to_range(params.range), ls.encoding)
            # Still the document the request found (`actions_in` offers nothing otherwise): its opening is this one.
            return offered(params, snapshot.version, service.documents.opening(snapshot.uri), kinds) \
                if snapshot is not None else []

        return answer()

    def offered(params: types.CodeActionParams, version: int, opening: int | None,
                kinds: list[tuple[ActionKind, str | None]]) -> list[types.CodeAction | types.Command]:
        uri = params.text_document.uri
        only = params.context.only
        actions = []
        for kind, refused in kinds:
            code_kind = _ACTION_KINDS[kind]
            if only and not any(code_kind == o or code_kind.startswith(o + ".") for o in only):
                continue
            arguments = [uri, _CONVERTER.unstructure(params.range), version, opening]
            if not ls.literal_actions:
                # A client that reads no CodeAction takes the command alone, and runs it with executeCommand.
                actions.append(types.Command(title=kind.title, command=kind.command, arguments=arguments))
                continue
            action = types.CodeAction(title=kind.title, kind=code_kind)
            if refused is not None and ls.shows_disabled:
                # Greyed out with its reason in the menu, where running it would only say the same after a wait.
                action.disabled = types.CodeActionDisabled(reason=refused)
            elif ls.resolves_edits:
                action.data = {"kind": kind.value, "arguments": arguments}
            else:
                action.command = types.Command(title=kind.title, command=kind.command, arguments=arguments)
            actions.append(action)
        return actions

    @ls.feature(types.CODE_ACTION_RESOLVE)
    def resolve_code_action(action: types.CodeAction) -> types.CodeAction | Coroutine[Any, Any, types.CodeAction]:
        if action.data is None:
            # Offered with its command, to a client that resolves no edits: nothing to add. Neovim asks all the same,
            # for every action that has no edit.
            return action
        try:
            kind, uri, selection, version, opening = _resolve_data(action.data)
        except Exception:  # noqa: BLE001 - any malformed data
            # Not one of ours (the server's own data always has this shape): nothing to add.
            log.warning("codeAction/resolve: data %r is not an infill action's", action.data)
            return action
        snapshot = service.documents.get(uri)

        async def answer() -> types.CodeAction:
            action.edit = await ls.action_edit(kind, uri, snapshot, selection, version, opening)
            return action

        return answer()

    def action_command(kind: ActionKind):
        def execute(*arguments: Any) -> Coroutine[Any, Any, dict[str, Any]]:
            try:
                uri, selection, version, opening = action_arguments(arguments)
            except TypeError as error:
                raise JsonRpcInvalidParams(f"{kind.command}: {error}") from None
            if not ls.applies_edits:
                # Refused before the model runs: the edit could only be sent to a client that does not take it.
                why = "the editor cannot apply edits (its capabilities lack workspace.applyEdit)"
                if not ls.told_cannot_apply:
                    ls.told_cannot_apply = True
                    ls.tell(f"{kind.title}: {why}")
                raise JsonRpcException(f"{kind.command}: {why}", code=types.LSPErrorCodes.RequestFailed)
            return apply_action(kind, uri, service.documents.get(uri), selection, version, opening)

        return execute

    async def apply_action(kind: ActionKind, uri: str, snapshot: Snapshot | None, selection: types.Range,
                           version: int | None, opening: int | None) -> dict[str, Any]:
        edit = await ls.action_edit(kind, uri, snapshot, selection, version, opening)
        if edit is None:
            return {"applied": False}
        try:
            result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=kind.title))
        except JsonRpcException as error:
            raise JsonRpcInternalError(f"{kind.command}: workspace/applyEdit: {error.message}") from None
        if not result.applied:
            # The client's reason is the user's only clue why nothing changed.
            ls.tell(f"{kind.title}: {result.failure_reason or 'the editor did not apply the edit'}")
        return {"applied": bool(result.applied)}

    for kind in ActionKind:
        ls.command(kind.command)(action_command(kind))

    @ls.command(STATS_COMMAND)
    def stats() -> dict[str, Any]:
        # What the protocol holds besides: requests not yet answered (not this one, answered as it arrives), both
        # ways.
        return {**service.stats(), "requests_open": len(ls.protocol._request_futures),
                "progress_open": len(ls.work_done_progress.tokens)}
