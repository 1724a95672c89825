"""Model loading, failures, settings messages and shutdown, over stdio with the real server."""

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_support import SERVER, SERVER_ENV, capabilities, config, init_params, make_client, tiny_model

BROKEN = "/nonexistent/infill-model"
PY = "file:///work/example.py"
SOURCE = "def add(a, b):\n    return \n"


async def _wait_for(predicate, timeout=60.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def _open(client: LanguageClient, uri=PY, text=SOURCE, language="python"):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))
    )


def _inline(line, character, uri=PY):
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character),
    )


@pytest_lsp.fixture(config=config([*SERVER, "--model", BROKEN]))
async def broken(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(progress=True)))
    yield
    await lsp_client.shutdown_session()


async def test_a_broken_model_path_leaves_a_server_that_answers_and_says_why(broken: LanguageClient):
    assert await _wait_for(lambda: any(m.type == types.MessageType.Error for m in broken.messages))
    (error,) = [m for m in broken.messages if m.type == types.MessageType.Error]
    assert BROKEN in error.message and "\n" not in error.message
    # The load was announced and ended with the reason.
    (reports,) = broken.progress_reports.values()
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and BROKEN in reports[-1].message

    _open(broken)
    result = await broken.text_document_inline_completion_async(_inline(1, 11))
    assert result is not None and len(result.items) == 0
    actions = await broken.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=PY),
            range=types.Range(types.Position(0, 0), types.Position(0, 14)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    (rewrite,) = [a for a in actions if a.title == "Rewrite selection"]
    resolved = await broken.code_action_resolve_async(rewrite)
    assert resolved.edit is None
    stats = await broken.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.stats", arguments=[])
    )
    assert stats["model"] is None and BROKEN in stats["model_error"]
    # An editor's status item is told the same.
    (loading, (kind, message)) = broken.statuses
    assert loading == ("loading", f"loading {BROKEN}") and kind == "error" and message in error.message


# Not there when the server starts: the checkpoint is put in place after its load failed.
LATER = str(Path(tempfile.mkdtemp(prefix="infill-ls-later-")) / "model")


async def test_settings_sent_again_with_the_failed_checkpoint_as_it_was_load_nothing(broken: LanguageClient):
    # Neovim and Helix send all their settings for any change: each loaded the checkpoint that had failed, and said
    # its failure again.
    assert await _wait_for(lambda: any(m.type == types.MessageType.Error for m in broken.messages))
    statuses = list(broken.statuses)
    for settings in ({"infill": {}}, {"infill": {"debounceMs": 80}}, {"editor": {"fontSize": 12}}):
        broken.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
    await broken.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats", arguments=[]))
    await asyncio.sleep(0.5)
    assert broken.statuses == statuses
    assert len([m for m in broken.messages if m.type == types.MessageType.Error]) == 1


@pytest_lsp.fixture(config=config([*SERVER, "--model", LATER]))
async def put_in_place_later(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(progress=True)))
    yield
    await lsp_client.shutdown_session()


async def test_settings_sent_again_after_a_failed_load_load_the_model_again(put_in_place_later: LanguageClient):
    # The user fixes the checkpoint on disk and saves the settings again, changing none of the model's: a load that
    # failed is tried again, where the model named was left as it was.
    client = put_in_place_later
    assert await _wait_for(lambda: any(m.type == types.MessageType.Error and LATER in m.message
                                       for m in client.messages))
    shutil.copytree(tiny_model(), LATER)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"infill": {}}))

    async def model() -> str | None:
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="infill.stats", arguments=[]))
        return answer["model"]

    for _ in range(200):
        if await model():
            break
        await asyncio.sleep(0.05)
    assert await model() and client.statuses[-1][0] == "ready"


@pytest_lsp.fixture(config=config())
async def configured(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(progress=True), modelPath=tiny_model(), maxHoleTokens="many", device="cpu")
    )
    yield
    await lsp_client.shutdown_session()


async def test_invalid_settings_are_reported_and_leave_the_setting_as_it_was(configured: LanguageClient):
    assert await _wait_for(lambda: any("infill.maxHoleTokens" in m.message for m in configured.messages))
    assert await _wait_for(
        lambda: any(r and isinstance(r[-1], types.WorkDoneProgressEnd) for r in configured.progress_reports.values())
    )
    (reports,) = configured.progress_reports.values()
    # Once the checkpoint's config and tokenizer are read, the weights load, and the file's own fills are offered.
    reading = f"loading the weights of {tiny_model()}; fills the file spells out meanwhile"
    assert [r.message for r in reports[1:]] == [reading, "ready"]
    stats = await configured.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.stats", arguments=[])
    )
    assert stats["model"] and stats["model_error"] is None
    loaded = stats["model"]
    statuses = [("loading", f"loading {tiny_model()}"), ("loading", reading), ("ready", stats["model"])]
    assert configured.statuses == statuses
    # Threads alone are set on the model loaded: no load, so no "loading" for the editor to show.
    configured.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"infill": {"threads": 1}})
    )

    async def threads() -> int | None:
        answer = await configured.workspace_execute_command_async(
            types.ExecuteCommandParams(command="infill.stats", arguments=[]))
        return answer["model_threads"]

    for _ in range(100):
        if await threads() == 1:
            break
        await asyncio.sleep(0.05)
    assert await threads() == 1 and configured.statuses == statuses

    configured.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"infill": {"debounceMs": -1, "numCandidates": 2}})
    )
    assert await _wait_for(lambda: any("infill.debounceMs" in m.message for m in configured.messages))
    # A model that cannot be loaded on a settings change is reported, and the model loaded before, kept (the path
    # fails the checks made before it is released), goes on filling: the status is a warning, not "ready", which an
    # editor shows as plainly loaded.
    configured.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"modelPath": BROKEN}))
    assert await _wait_for(
        lambda: any(m.type == types.MessageType.Warning and BROKEN in m.message for m in configured.messages)
    )
    (loading, (kind, message)) = configured.statuses[-2:]
    assert loading == ("loading", f"loading {BROKEN}") and kind == "warning" and BROKEN in message
    assert f"keeping the model loaded from {tiny_model()}" in message
    _open(configured)
    result = await configured.text_document_inline_completion_async(_inline(1, 11))
    assert result is not None
    stats = await configured.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.stats", arguments=[])
    )
    assert stats["model"] == loaded and BROKEN in stats["model_error"]
    assert len([m for m in configured.messages if BROKEN in m.message]) == 1


async def test_shutdown_and_exit_end_the_process(configured: LanguageClient):
    from pygls.exceptions import JsonRpcInvalidRequest

    await configured.shutdown_async(None)
    # A request after shutdown is answered with an error, as the protocol asks, not left waiting.
    try:
        await asyncio.wait_for(configured.workspace_execute_command_async(
            types.ExecuteCommandParams(command="infill.stats", arguments=[])), timeout=20)
    except JsonRpcInvalidRequest as error:
        assert "shutting down" in str(error)
    else:
        raise AssertionError("a request after shutdown was answered with a result")
    configured.exit(None)
    server = configured._server
    code = await asyncio.wait_for(server.wait(), timeout=20)
    assert code == 0
    configured.capabilities = None  # already shut down: nothing left for the fixture to do


@pytest_lsp.fixture(config=config())
async def busy(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        # A 256-token canvas: the rewrite of a long selection runs for seconds (a random model is never sure enough
        # to stop early), so it is still running when the editor quits.
        init_params(capabilities(resolve=False), modelPath=tiny_model(canvas_length=256), device="cpu", maxSteps=512,
                    numCandidates=8, maxHoleTokens=512)
    )
    yield
    await lsp_client.shutdown_session()


async def test_quitting_while_an_action_runs_answers_shutdown_and_exits_cleanly(busy: LanguageClient):
    # The editor quits mid-fill: `shutdown` must still be answered, and `exit` must end the process with status 0
    # (the interpreter aborts if it exits while torch still runs in the worker thread).
    text = "def f(x):\n" + "".join(f"    y{i} = x + {i}\n" for i in range(40)) + "    return y0\n"
    _open(busy, text=text)
    selection = types.Range(types.Position(1, 0), types.Position(21, 0))
    running = asyncio.ensure_future(busy.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.rewriteSelection", arguments=[PY, selection, 1])))

    async def model_runs():
        stats = await busy.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
        return stats["model_runs"]

    for _ in range(1200):  # until the rewrite is on the worker
        if await model_runs() >= 1:
            break
        await asyncio.sleep(0.05)
    assert not running.done()
    assert await asyncio.wait_for(busy.shutdown_async(None), timeout=20) is None
    busy.exit(None)
    assert await asyncio.wait_for(busy._server.wait(), timeout=20) == 0
    busy.capabilities = None


async def test_a_request_the_server_cannot_read_is_answered_with_an_error(configured: LanguageClient):
    # pygls drops a request whose params it cannot read; the client must get an answer, not wait for ever.
    from pygls.exceptions import JsonRpcInvalidParams

    _open(configured)
    # Written as raw JSON: the client library would refuse to send it.
    answer = asyncio.get_running_loop().create_future()
    configured.protocol._request_futures["unreadable"] = answer
    configured.protocol._send_data({"jsonrpc": "2.0", "id": "unreadable", "method": "textDocument/inlineCompletion",
                                    "params": {"textDocument": {"uri": PY}, "context": {"triggerKind": 1}}})
    try:
        await asyncio.wait_for(answer, timeout=20)
    except JsonRpcInvalidParams as error:
        assert "textDocument/inlineCompletion" in str(error)
    else:
        raise AssertionError("an unreadable request was answered with a result")
    result = await configured.text_document_inline_completion_async(_inline(1, 11))
    assert result is not None  # and the server goes on answering


async def test_a_request_with_invalid_params_is_answered_with_what_is_wrong_in_one_line(configured, capsys):
    # Answered "Invalid Params" and nothing more, with two tracebacks of 80 to 130 lines each on stderr.
    from pygls.exceptions import JsonRpcInvalidParams

    _open(configured)
    malformed = [
        ({"textDocument": {"uri": PY}, "position": {"line": -1, "character": 0}, "context": {"triggerKind": 1}},
         ["params.position", "line", "-1"]),
        ({"textDocument": {"uri": PY}, "position": {"line": 1, "character": 3}}, ["params.context", "missing"]),
        ({"textDocument": {"uri": PY}, "position": {"line": 1, "character": 3}, "context": {"triggerKind": 7}},
         ["params.context.triggerKind", "7"]),
        # Read as line 1 and character 3: an answer for a place the client never named.
        ({"textDocument": {"uri": PY}, "position": {"line": 1.5, "character": 3}, "context": {"triggerKind": 1}},
         ["params.position.line", "1.5 is not an integer"]),
        ({"textDocument": {"uri": PY}, "position": {"line": 1, "character": "3"}, "context": {"triggerKind": 1}},
         ["params.position.character", "'3' is not an integer"]),
    ]
    capsys.readouterr()
    for n, (params, named) in enumerate(malformed):
        answer = asyncio.get_running_loop().create_future()
        configured.protocol._request_futures[f"invalid-{n}"] = answer
        configured.protocol._send_data({"jsonrpc": "2.0", "id": f"invalid-{n}",
                                        "method": "textDocument/inlineCompletion", "params": params})
        try:
            await asyncio.wait_for(answer, timeout=20)
        except JsonRpcInvalidParams as error:
            message = error.message
        else:
            raise AssertionError("a request with invalid params was answered with a result")
        assert message.startswith("textDocument/inlineCompletion: ") and "\n" not in message, message
        assert all(word in message for word in named), message
    result = await configured.text_document_inline_completion_async(_inline(1, 11))
    assert result is not None  # and the server goes on answering
    logged = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert "Traceback" not in "\n".join(logged), logged
    assert len([line for line in logged if "textDocument/inlineCompletion" in line]) == len(malformed), logged
    assert len(logged) <= len(malformed) + 2, logged


async def test_a_change_the_server_cannot_read_drops_the_document_and_says_so_once(configured: LanguageClient):
    # pygls dropped it with "Error in server: Invalid Params", naming nothing, and went on suggesting for text the
    # editor no longer had.
    uri = "file:///work/unreadable-change.py"
    _open(configured, uri)
    def told():
        return [m for m in configured.messages if uri in m.message]

    for version in (2, 3):  # written as raw JSON: the client library would refuse to send it
        configured.protocol._send_data({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": None, "text": "x = 1\n"}]}})
    assert await _wait_for(lambda: told())
    await asyncio.sleep(0.3)  # the second change: nothing more is said
    (message,) = told()
    assert message.type == types.MessageType.Error and "\n" not in message.message
    assert "opened again" in message.message
    assert "(params.contentChanges[0].range" in message.message  # what is wrong with it, as the log says
    assert not [m for m in configured.messages if "Invalid Params" in m.message]
    result = await configured.text_document_inline_completion_async(_inline(1, 11, uri))
    assert result is not None and not result.items  # nothing for a document out of step
    _open(configured, uri)  # opened again: suggested for once more
    result = await configured.text_document_inline_completion_async(_inline(1, 11, uri))
    assert result is not None and result.items


async def test_a_notification_the_server_cannot_read_is_said_with_what_is_wrong_with_it(configured: LanguageClient):
    configured.protocol._send_data({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": {}})
    def told():
        return [m.message for m in configured.messages if "workspace/didChangeConfiguration" in m.message]

    assert await _wait_for(told)
    assert told() == ["infill-ls: workspace/didChangeConfiguration: a message that does not match the protocol was "
                      "ignored (params.settings: missing)"]


async def test_what_the_server_tells_the_client_stands_once_in_its_log(configured: LanguageClient, capsys):
    # Said as window/logMessage and on stderr too (twice, with the log's own line): an editor writes both to one log
    # (VS Code's output channel, Neovim's lsp.log), where each such line stood two or three times.
    capsys.readouterr()
    configured.protocol._send_data({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {}})

    def told():
        return [m.message for m in configured.log_messages if m.message.startswith("textDocument/didClose: ")]

    assert await _wait_for(told)
    await asyncio.sleep(0.3)  # stderr, read beside the client's messages, catches up
    assert told() == ["textDocument/didClose: a message that does not match the protocol was ignored "
                      "(params.textDocument: missing)"]
    err = capsys.readouterr().err
    assert "textDocument/didClose" not in err, err


async def test_an_answer_the_server_cannot_read_fails_its_command_instead_of_hanging(lsp_client_for_apply_edit):
    client = lsp_client_for_apply_edit
    # A language with no grammar here, whose names go unread: the random model's rewrite is not refused for them, so
    # there is an edit to apply.
    ruby = "file:///work/example.rb"
    _open(client, uri=ruby, text="def add(a, b)\n    return \nend\n", language="ruby")
    selection = {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 11}}
    from pygls.exceptions import JsonRpcException

    try:
        await asyncio.wait_for(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="infill.rewriteSelection", arguments=[ruby, selection, 1])), timeout=30)
    except JsonRpcException as error:
        assert "workspace/applyEdit" in str(error) and "\n" not in str(error)
    else:
        raise AssertionError("a command whose edit got an unreadable answer reported success")


@pytest_lsp.fixture(config=config())
async def lsp_client_for_apply_edit(lsp_client: LanguageClient):
    """A client that answers workspace/applyEdit with null, which the protocol does not allow."""

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        return None

    await lsp_client.initialize_session(init_params(capabilities(), modelPath=tiny_model(), device="cpu"))
    yield
    await lsp_client.shutdown_session()


async def test_a_cancelled_command_stops_the_model(busy: LanguageClient):
    # The command ran as a task of its own, which the cancel never reached: the fill ran on for seconds, holding the
    # model's worker, and then applied its edit.
    from pygls.exceptions import JsonRpcRequestCancelled

    text = "def f(x):\n" + "".join(f"    y{i} = x + {i}\n" for i in range(40)) + "    return y0\n"
    _open(busy, text=text)
    selection = types.Range(types.Position(1, 0), types.Position(21, 0))
    command = types.ExecuteCommandParams(command="infill.rewriteSelection", arguments=[PY, selection, 1])
    running = asyncio.ensure_future(
        busy.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, command, msg_id="long"))

    async def stats():
        return await busy.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))

    for _ in range(1200):  # until the rewrite is on the worker
        if (await stats())["model_runs"] >= 1:
            break
        await asyncio.sleep(0.05)
    assert not running.done()
    busy.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="long"))
    try:
        await asyncio.wait_for(running, timeout=20)
    except JsonRpcRequestCancelled:
        pass
    else:
        raise AssertionError("a cancelled command was answered with a result")
    assert (await stats())["cancelled"] == 1  # told to stop (`should_stop`), where it was left to run


async def test_a_request_the_server_cannot_read_is_not_also_shown_as_an_error(configured: LanguageClient):
    # Answered with InvalidParams, and then shown as "Error in server: Invalid Params" as well, once per keystroke
    # for a client that sends such a request as it types.
    _open(configured)
    for n in range(2):
        answer = asyncio.get_running_loop().create_future()
        configured.protocol._request_futures[f"unreadable-{n}"] = answer
        configured.protocol._send_data({"jsonrpc": "2.0", "id": f"unreadable-{n}",
                                        "method": "textDocument/inlineCompletion",
                                        "params": {"textDocument": {"uri": PY}, "position": {"line": 1}}})
        with contextlib.suppress(Exception):
            await asyncio.wait_for(answer, timeout=20)
    # A message shown with an answer goes out before the next request's answer.
    await configured.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    assert not [m.message for m in configured.messages if "Invalid Params" in m.message or "Error in" in m.message]


async def test_a_message_that_is_not_json_is_answered_with_a_parse_error(configured: LanguageClient):
    # JSON-RPC's answer is a Parse error with a null id; the server sent none and showed "Error in server" instead.
    answers = []
    handle_response = configured.protocol._handle_response

    def record(msg_id, result=None, error=None):
        answers.append((msg_id, error))
        handle_response(msg_id, result, error)

    configured.protocol._handle_response = record
    body = b'{"jsonrpc": "2.0", "id": 99, "method": "shutdown"'
    configured.protocol.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await configured.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    (parse_error,) = [error for msg_id, error in answers if msg_id is None]
    assert parse_error.code == -32700 and "\n" not in parse_error.message
    assert not [msg_id for msg_id, _ in answers if msg_id == 99]
    assert not [m.message for m in configured.messages if "Error in server" in m.message]


LONG = "def f(x):\n" + "".join(f"    y{i} = x + {i}\n" for i in range(40)) + "    return y0\n"


async def _stats(client: LanguageClient) -> dict:
    # Answered after whatever the server sent before it: the messages a test looks for.
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))


async def _rewriting(client: LanguageClient, uri: str) -> asyncio.Future:
    """A rewrite of most of `LONG`, open at `uri`, once it runs on the model's worker."""
    selection = types.Range(types.Position(1, 0), types.Position(21, 0))
    running = asyncio.ensure_future(client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.rewriteSelection", arguments=[uri, selection, 1])))
    for _ in range(1200):
        if (await _stats(client))["model_runs"] >= 1:
            break
        await asyncio.sleep(0.05)
    assert not running.done()
    return running


async def test_a_document_opened_again_stops_what_runs_on_its_old_text(busy: LanguageClient):
    # An editor reloading a file from disk sends didOpen again, with no didClose: the rewrite of the old text ran on
    # for seconds, holding the model's worker while the new text's requests waited, and only then was it dropped.
    _open(busy, text=LONG)
    running = await _rewriting(busy, PY)
    before = await _stats(busy)
    busy.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=PY, language_id="python", version=7, text=SOURCE)))
    assert await asyncio.wait_for(running, timeout=20) == {"applied": False}
    assert (await _stats(busy))["superseded"] == before["superseded"] + 1


async def test_a_notebook_opened_again_stops_what_runs_on_its_cells_old_text(busy: LanguageClient):
    # Its cells still open were opened again (`open_notebook`), and the rewrite of a cell's old text ran on.
    notebook, cell = "file:///work/reloaded.ipynb", "vscode-notebook-cell:/work/reloaded.ipynb#W0"

    def open_notebook(version: int, text: str) -> None:
        busy.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(uri=notebook, notebook_type="jupyter-notebook", version=version,
                                                     cells=[types.NotebookCell(types.NotebookCellKind.Code, cell)]),
            cell_text_documents=[types.TextDocumentItem(uri=cell, language_id="python", version=version, text=text)]))

    open_notebook(1, LONG)
    running = await _rewriting(busy, cell)
    before = await _stats(busy)
    open_notebook(2, SOURCE)
    assert await asyncio.wait_for(running, timeout=20) == {"applied": False}
    assert (await _stats(busy))["superseded"] == before["superseded"] + 1


async def test_an_action_whose_document_is_closed_while_it_runs_says_nothing(busy: LanguageClient):
    # It said "Rewrite selection: the document changed while it ran", of a document the user had left.
    _open(busy, text=LONG)
    running = await _rewriting(busy, PY)
    busy.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=PY)))
    assert await asyncio.wait_for(running, timeout=20) == {"applied": False}
    await _stats(busy)
    assert not [m.message for m in busy.messages if "Rewrite selection" in m.message]


def _change(client: LanguageClient, uri: str, version: int) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                                                text="#")]))


async def test_a_change_for_a_document_the_editor_closed_is_logged_not_shown(configured: LanguageClient):
    # It was shown as an error ("suggestions for it stop until it is opened again"), of a document the user had
    # closed and whose text the server needs no longer.
    uri = "file:///work/closed.py"
    _open(configured, uri)
    configured.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
    for version in (2, 3):
        _change(configured, uri, version)
    await _stats(configured)
    assert not [m.message for m in configured.messages if uri in m.message]
    logged = [m.message for m in configured.log_messages if uri in m.message]
    assert len(logged) == 2 and "the editor closed it" in logged[0] and "\n" not in logged[0], logged
    # One for a document never opened here: the editor holds a text the server never had, said once.
    never = "file:///work/never-opened.py"
    for version in (2, 3):
        _change(configured, never, version)
    await _stats(configured)
    (shown,) = [m for m in configured.messages if never in m.message]
    assert shown.type == types.MessageType.Error and "opened again" in shown.message
    _open(configured, uri)
    result = await configured.text_document_inline_completion_async(_inline(1, 11, uri))
    assert result is not None and result.items


# An environment without tree-sitter-rust: a module of that name that cannot be imported shadows the real one.
NO_RUST = Path(tempfile.mkdtemp(prefix="infill-ls-no-rust-"))
(NO_RUST / "tree_sitter_rust.py").write_text("raise ImportError(\"No module named 'tree_sitter_rust'\")\n")
NO_RUST_PATH = os.pathsep.join(filter(None, [str(NO_RUST), SERVER_ENV.get("PYTHONPATH")]))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, client_factory=make_client,
                                              server_env={**SERVER_ENV, "PYTHONPATH": NO_RUST_PATH}))
async def no_rust(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(), modelPath=tiny_model(), device="cpu"))
    yield
    await lsp_client.shutdown_session()


async def test_a_grammar_that_does_not_load_is_told_once_and_its_files_are_completed_as_plain_text(no_rust):
    # Every didOpen and didChange of a Rust file raised, shown as "Error in server: ImportError: ..." each time.
    client = no_rust
    text = "fn main() {\n    let v = vec![1, 2];\n    println!(\"{}\", v.len());\n}\n"
    uri = "file:///work/src/main.rs"
    _open(client, uri, text, "rust")
    for version, ch in enumerate("x, y", 2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(1, 16 + version), types.Position(1, 16 + version)), text=ch)]))
    result = await client.text_document_inline_completion_async(_inline(1, 20, uri))
    assert result is not None
    _open(client, "file:///work/src/lib.rs", text, "rust")
    _open(client)
    result = await client.text_document_inline_completion_async(_inline(1, 11))
    assert result is not None and result.items
    await _stats(client)
    (told,) = [m for m in client.messages if "rust" in m.message]
    assert told.type == types.MessageType.Warning
    assert told.message == ("infill-ls: rust: its grammar is not installed (pip install tree-sitter-rust); "
                            ".rs files are completed as plain text")
    assert [m for m in client.log_messages if "pip install tree-sitter-rust" in m.message]
    assert not [m for m in client.messages if "Error in server" in m.message]
