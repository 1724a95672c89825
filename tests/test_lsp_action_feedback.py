"""What an action tells the user, over stdio: its work-done progress is cancellable, and its Cancel stops the action
as `$/cancelRequest` does (nothing applied); its end says how it ended; an action that would be refused before its
model runs is offered greyed out with the reason; a command refused for its arguments is one line in the log; an
action offered with its command is resolved to itself with nothing logged. With
the shipped model, whose Rewrite selection takes long enough to be cancelled once its progress has begun."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from lsp_support import applying_edits, capabilities, config, init_params, loaded, position_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT = '''def summary(rows):
    total = 0
    for row in rows:
        total += row.price * row.quantity
    count = len(rows)
    average = total / count if count else 0
    return {"total": total, "count": count, "average": average}
'''


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    applying_edits(lsp_client)
    await lsp_client.initialize_session(
        init_params(capabilities(resolve=False, progress=True, disabled=True), device="cpu", debounceMs=0))
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


def _rewrite(uri: str) -> types.ExecuteCommandParams:
    start, end = TEXT.index("    total = 0"), TEXT.index("    return")
    selection = {"start": _position(start), "end": _position(end)}
    return types.ExecuteCommandParams(command="infill.rewriteSelection", arguments=[uri, selection, 1])


def _position(offset: int) -> dict:
    at = position_of(TEXT, offset)
    return {"line": at.line, "character": at.character}


def _open(client: LanguageClient, uri: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=TEXT)))


async def test_an_actions_progress_is_cancellable_and_its_cancel_applies_nothing(client):
    _open(client, "file:///tmp/cancel-me.py")
    applied_before = len(client.applied)
    pending = asyncio.ensure_future(client.workspace_execute_command_async(_rewrite("file:///tmp/cancel-me.py")))
    begun = None
    for _ in range(400):
        begun = next((token for token, reports in client.progress_reports.items()
                      if str(token).startswith("infill-action") and reports
                      and isinstance(reports[0], types.WorkDoneProgressBegin) and len(reports) == 1), None)
        if begun is not None or pending.done():
            break
        await asyncio.sleep(0.005)
    assert begun is not None, "no progress begun while the action ran"
    (begin,) = client.progress_reports[begun]
    assert begin.cancellable and begin.title == "Infill: Rewrite selection"
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=begun))
    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    for _ in range(100):
        if len(client.progress_reports[begun]) == 2:
            break
        await asyncio.sleep(0.01)
    end = client.progress_reports[begun][-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "cancelled"
    assert len(client.applied) == applied_before
    # The server is up: the same action, not cancelled, runs to its end, and its progress says how it ended.
    _open(client, "file:///tmp/run-me.py")
    await client.workspace_execute_command_async(_rewrite("file:///tmp/run-me.py"))
    last = max((t for t in client.progress_reports if str(t).startswith("infill-action")),
               key=lambda t: int(str(t).rsplit("-", 1)[1]))
    end = client.progress_reports[last][-1]
    assert isinstance(end, types.WorkDoneProgressEnd)
    if len(client.applied) > applied_before:
        assert end.message == "done"
    else:  # no rewrite found: the reason the user is shown
        assert end.message.startswith("Rewrite selection: "), end.message


async def test_a_command_refused_for_its_arguments_is_logged_in_one_line_without_a_traceback(client, capsys):
    # The answer said what was wrong in one line; the server's stderr held 15 lines of traceback besides.
    capsys.readouterr()
    bad = {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 3}}
    for params in (types.ExecuteCommandParams(command="infill.rewriteSelection", arguments=["file:///x.py", bad, 1]),
                   types.ExecuteCommandParams(command="infill.nope", arguments=[])):
        with pytest.raises(Exception):
            await client.workspace_execute_command_async(params)
    await asyncio.sleep(0.2)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    (line,) = [line for line in err.splitlines() if "infill.rewriteSelection: arguments are" in line]
    assert "Exception occurred for message" in line
    assert [line for line in err.splitlines() if "'infill.nope' is not defined" in line]


async def test_a_selection_longer_than_the_model_rewrites_is_offered_greyed_out_with_the_reason(client):
    uri = "file:///tmp/long.py"
    text = TEXT * 3  # about 180 tokens, where the shipped model rewrites 56 at once
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    async def rewrite_offered(start: int, end: int) -> types.CodeAction:
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(position_of(text, start), position_of(text, end)),
            context=types.CodeActionContext(diagnostics=[])))
        (action,) = [a for a in actions if a.title == "Rewrite selection"]
        return action

    long = await rewrite_offered(0, len(text))
    assert long.disabled is not None and long.command is None, long
    assert long.disabled.reason.endswith("and the model rewrites at most 56 at once; select less"), long.disabled
    short = await rewrite_offered(text.index("    count"), text.index("    average"))
    assert short.disabled is None and short.command.command == "infill.rewriteSelection"


async def test_a_selection_of_thousands_of_lines_is_refused_by_its_length_without_counting_its_tokens(client):
    # Tokenized whole at every offer of actions over it (33,000 tokens, 40 ms, for 2,000 lines) to be found past a
    # limit of 56; its length alone tells, as no token stands for more characters than the tokenizer's longest.
    uri = "file:///tmp/thousands.py"
    text = TEXT * 300  # 2,100 lines
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(position_of(text, 0), position_of(text, len(text))),
        context=types.CodeActionContext(diagnostics=[])))
    (action,) = [a for a in actions if a.title == "Rewrite selection"]
    assert action.disabled is not None and action.disabled.reason == (
        f"the selection is {len(text):,} characters, more than 56 tokens hold, and the model "
        "rewrites at most 56 at once; select less"), action.disabled
    # Run all the same (an editor that shows no greyed-out action runs it), it says the same and edits nothing.
    applied = len(client.applied)
    selection = {"start": _position_in(text, 0), "end": _position_in(text, len(text))}
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.rewriteSelection", arguments=[uri, selection, 1]))
    assert len(client.applied) == applied
    assert any(m.message == f"infill-ls: Rewrite selection: {action.disabled.reason}" for m in client.messages), client.messages


def _position_in(text: str, offset: int) -> dict:
    at = position_of(text, offset)
    return {"line": at.line, "character": at.character}


async def test_an_action_offered_with_its_command_resolves_to_itself_with_nothing_logged(client, capsys):
    # Neovim resolves every action that has no edit, also one offered with its command to a client that resolves no
    # edits: each pick logged "codeAction/resolve: data None is not an infill action's", which Neovim's LSP log
    # keeps as an error.
    uri = "file:///tmp/resolve-command.py"
    _open(client, uri)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(position_of(TEXT, TEXT.index("    count")), position_of(TEXT, TEXT.index("    average"))),
        context=types.CodeActionContext(diagnostics=[])))
    (action,) = [a for a in actions if a.title == "Rewrite selection"]
    assert action.command is not None and action.data is None, action
    capsys.readouterr()
    resolved = await client.code_action_resolve_async(action)
    assert resolved == action
    await asyncio.sleep(0.2)
    err = capsys.readouterr().err
    assert "codeAction/resolve" not in err, err
