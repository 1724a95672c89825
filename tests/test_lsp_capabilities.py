"""What the server advertises, as a real client sees it in the initialize result."""

import json
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_support import SERVER, applying_edits, capabilities, config, init_params

# No model is needed to answer initialize; a missing one also keeps these starts cheap.
CONFIG = config([*SERVER, "--model", "/nonexistent/infill-model"])


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_inline_capable_client(client: LanguageClient):
    result = await client.initialize_session(init_params(capabilities(inline=True)))
    caps = result.capabilities
    assert result.server_info.name == "infill-ls"
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is None  # the fallback is only for clients without inline
    sync = caps.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental and sync.open_close
    assert caps.position_encoding == types.PositionEncodingKind.Utf16
    assert caps.notebook_document_sync is None  # a client that has no notebooks is told of none
    assert caps.code_action_provider.resolve_provider is True
    assert types.CodeActionKind.QuickFix in caps.code_action_provider.code_action_kinds
    assert types.CodeActionKind.RefactorRewrite in caps.code_action_provider.code_action_kinds
    assert set(caps.execute_command_provider.commands) >= {
        "infill.rewriteSelection",
        "infill.fillPlaceholders",
        "infill.closeStructure",
    }


async def test_the_editor_docs_name_every_command_the_server_and_the_extension_offer(client: LanguageClient):
    result = await client.initialize_session(init_params(capabilities(inline=True)))
    editors = Path(__file__).resolve().parent.parent / "editors"
    server = result.capabilities.execute_command_provider.commands
    readme = (editors / "README.md").read_text(encoding="utf-8")
    assert not [c for c in server if f"`{c}`" not in readme]
    vscode = editors / "vscode"
    contributed = [c["command"] for c in json.loads((vscode / "package.json").read_text())["contributes"]["commands"]]
    readme = (vscode / "README.md").read_text(encoding="utf-8")
    assert contributed and not [c for c in contributed if f"`{c}`" not in readme]


async def test_a_client_with_notebooks_is_asked_for_every_notebooks_cells(client: LanguageClient):
    result = await client.initialize_session(init_params(capabilities(notebooks=True)))
    # Every cell of every notebook, so that a cell reads the cells around it.
    (notebooks,) = result.capabilities.notebook_document_sync.notebook_selector
    assert notebooks.notebook == "*" and not notebooks.cells


async def test_client_without_inline_completion_gets_the_completion_fallback(client: LanguageClient):
    result = await client.initialize_session(init_params(capabilities(inline=False, encodings=["utf-8", "utf-16"])))
    caps = result.capabilities
    assert caps.completion_provider is not None
    assert caps.inline_completion_provider is not None  # still answered if asked
    # UTF-16 where offered (Neovim lists UTF-8 first): a stray non-UTF-8 byte is read as U+FFFD, three UTF-8
    # bytes where the client counts one, which put every position after it on its line out of place.
    assert caps.position_encoding == types.PositionEncodingKind.Utf16


@pytest.mark.parametrize("preferred, chosen", [(["utf-32"], "utf-32"), (["latin-1"], "utf-16"),
                                               (["utf-8"], "utf-8"), (["utf-8", "utf-32", "utf-16"], "utf-16")])
async def test_position_encoding_follows_the_client_preference(client: LanguageClient, preferred, chosen):
    result = await client.initialize_session(init_params(capabilities(encodings=preferred)))
    assert result.capabilities.position_encoding == chosen


async def test_before_initialize_requests_are_refused_and_notifications_dropped(client: LanguageClient):
    # pygls served them: a document opened before the client said how it counts positions, and a `shutdown` sent
    # first left a session that refused `initialize`.
    from pygls.exceptions import JsonRpcException

    uri, text = "file:///early/opened.py", "def f(x):\n    return (x\n"
    selection = types.Range(types.Position(0, 0), types.Position(1, 13))
    client.capabilities = types.ClientCapabilities()  # lets the client library send before initialize
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    asked = types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
                                   context=types.CodeActionContext(diagnostics=[]))
    for method, params in ((types.TEXT_DOCUMENT_CODE_ACTION, asked), (types.SHUTDOWN, None)):
        with pytest.raises(JsonRpcException) as refused:
            await client.protocol.send_request_async(method, params)
        assert refused.value.code == types.ErrorCodes.ServerNotInitialized and method in str(refused.value)
    result = await client.initialize_session(init_params(capabilities()))
    assert result.server_info.name == "infill-ls"
    assert list(await client.text_document_code_action_async(asked)) == []  # the early opening was dropped
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    assert [a.title for a in await client.text_document_code_action_async(asked)]


async def test_a_client_without_code_action_literals_or_apply_edit_gets_commands_and_is_told_why_they_fail(
        client: LanguageClient):
    applied = applying_edits(client)

    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(code_action=types.CodeActionClientCapabilities()),
        workspace=types.WorkspaceClientCapabilities(apply_edit=False),
    )
    await client.initialize_session(init_params(caps))
    uri, text = "file:///plain/commands.py", "def add(a, b):\n    total = (a + b\n    return total\n"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    cursor = types.Position(1, 18)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(cursor, cursor),
        context=types.CodeActionContext(diagnostics=[])))
    # Command[]: a client without codeActionLiteralSupport cannot read a CodeAction.
    assert actions and all(isinstance(a, types.Command) for a in actions), actions
    close = next(a for a in actions if a.command == "infill.closeStructure")
    for _ in range(2):
        with pytest.raises(Exception) as refused:
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=close.command, arguments=close.arguments))
        assert "the editor cannot apply edits" in str(refused.value)
    assert applied == []
    told = [m.message for m in client.messages if "cannot apply edits" in m.message]
    assert len(told) == 1, told
