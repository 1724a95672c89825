"""Code actions end to end: offered where they apply, resolved to edits that apply cleanly."""

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from infill_ls.syntax import language_for, parse_text
from lsp_support import (FIXTURES, SESSION, apply_text_edits, applying_edits, capabilities, config, edits_of,
                          init_params, position_of, tiny_model)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(resolve=True), modelPath=tiny_model(), numCandidates=3, device="cpu")
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(scope="module", config=config())
async def shipped(lsp_client: LanguageClient):
    """The embedded model: an edit is applied only when it adds no syntax error, which a random model's seldom do."""
    await lsp_client.initialize_session(init_params(capabilities(resolve=True), numCandidates=3, device="cpu"))
    yield
    await lsp_client.shutdown_session()


def _open(client, name, language, uri=None, folder=FIXTURES):
    text = (folder / name).read_text()
    uri = uri or (folder / name).as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    return uri, text


async def _actions(client, uri, text, start, end):
    return await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(position_of(text, start), position_of(text, end)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )


async def _resolve(client, actions, title):
    (action,) = [a for a in actions if a.title == title]
    assert action.edit is None and action.command is None and action.data  # resolved lazily
    return await client.code_action_resolve_async(action)


async def _closed_at(client, uri, text, cursor, language="python"):
    """`text`, opened as a document of `language` (Python) at `uri`, after Close structure at `cursor`."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))
    )
    resolved = await _resolve(client, await _actions(client, uri, text, cursor, cursor), "Close structure")
    edits, _ = edits_of(resolved.edit, uri)
    return apply_text_edits(text, edits)


async def test_rewrite_selection_replaces_exactly_the_selection(shipped):
    client = shipped
    uri, text = _open(client, "inventory.py", "python", folder=SESSION)
    start = text.index("total += item.price")
    end = text.index("\n", start)
    resolved = await _resolve(client, await _actions(client, uri, text, start, end), "Rewrite selection")
    edits, version = edits_of(resolved.edit, uri)
    assert version == 1
    (edit,) = edits
    assert edit.range == types.Range(position_of(text, start), position_of(text, end))
    new = apply_text_edits(text, edits)
    assert new.startswith(text[:start]) and new.endswith(text[end:])
    assert new[start : len(new) - len(text) + end].strip() == edit.new_text.strip() != ""


async def test_fill_placeholders_fills_every_placeholder_of_the_function_at_once(shipped):
    client = shipped
    uri, text = _open(client, "placeholders.py", "python")
    cursor = text.index("key, _, value")
    resolved = await _resolve(client, await _actions(client, uri, text, cursor, cursor), "Fill placeholders")
    assert resolved.kind == "refactor.rewrite.placeholders"
    edits, version = edits_of(resolved.edit, uri)
    placeholders = [
        types.Range(position_of(text, a), position_of(text, a + len(p)))
        for p in ("pass", "# TODO: strip whitespace around both parts")
        for a in [text.index(p)]
    ]
    assert edits and all(e.range in placeholders for e in edits)
    # A fill over several lines goes on at the depth of its placeholder's line.
    lines = text.split("\n")
    for e in edits:
        line = lines[e.range.start.line]
        indent = line[: len(line) - len(line.lstrip())]
        assert all(row.startswith(indent) for row in e.new_text.split("\n")[1:] if row.strip()), e
    new = apply_text_edits(text, edits)
    untouched = text[text.index("def untouched") :]
    assert new.endswith(untouched)  # the other function keeps its placeholder
    assert new.startswith(text[: text.index("key, _, value")])


async def test_close_structure_leaves_a_file_that_parses(client):
    uri, text = _open(client, "unclosed.js", "javascript")
    cursor = text.index("shape.r * shape.r;") + len("shape.r * shape.r;")
    actions = await _actions(client, uri, text, cursor, cursor)
    (action,) = [a for a in actions if a.title == "Close structure"]
    assert action.kind == types.CodeActionKind.QuickFix
    resolved = await client.code_action_resolve_async(action)
    edits, _ = edits_of(resolved.edit, uri)
    new = apply_text_edits(text, edits)
    assert parse_text(language_for("javascript", ""), text).root_node.has_error
    assert not parse_text(language_for("javascript", ""), new).root_node.has_error
    # Only insertions: nothing the user wrote is lost.
    assert all(e.range.start == e.range.end for e in edits)


async def test_close_structure_closes_at_the_cursor_when_that_is_where_the_structure_ends(client):
    # Tree-sitter places this `)` nowhere useful (the end of the line would leave `-> float:)`); the cursor says
    # where the parameters end.
    text = "import math\n\n\ndef area(radius -> float:\n    return math.pi * radius * radius\n"
    cursor = text.index("radius -> float") + len("radius")
    assert await _closed_at(client, "file:///close/area.py", text, cursor) == text[:cursor] + ")" + text[cursor:]


async def test_close_structure_at_a_cursor_before_the_brackets_content_closes_after_it(client):
    # The lightbulb's request: a zero-width range where the cursor stands, right after the `[` left open. Closed
    # there, the items followed an empty list (`values = [];add(1, 2), add(3, 4)`), which parses.
    text = "values = [add(1, 2), add(3, 4)\nprint(values)\n"
    cursor = text.index("[") + 1
    assert await _closed_at(client, "file:///close/values.py", text, cursor) == (
        "values = [add(1, 2), add(3, 4)]\nprint(values)\n")


async def test_close_structure_where_the_cursor_stands_among_the_items_closes_after_them(client):
    # The lightbulb's zero-width range on an earlier item's line, or between two items: closed at the cursor, the
    # items after it were left outside the bracket (`)` above `    beta`, `compute(a, );b`), which parses.
    text = "result = compute(\n    alpha,\n    beta\n\nprint(result)\n"
    closed = text.replace("beta\n", "beta)\n")
    assert await _closed_at(client, "file:///close/items.py", text, text.index("alpha,") + 6) == closed
    text = "def main():\n    result = compute(a, b\n    print(result)\n"
    assert await _closed_at(client, "file:///close/between.py", text, text.index(", b") + 2) == (
        text.replace("a, b", "a, b)"))


async def test_close_structure_closes_with_the_bracket_alone_where_that_parses(client):
    text = "total = add(first, second)\nprint(total)\ncount = add(first, \nprint(count)\n"
    cursor = text.rindex("add(first, ") + len("add(first, ")
    # The file spells out `second)` there; what the user meant to pass, it cannot say.
    assert await _closed_at(client, "file:///close/totals.py", text, cursor) == text[:cursor] + ")" + text[cursor:]


async def test_close_structure_closes_with_the_bracket_alone_where_another_error_stays(client):
    # Another function left open too: the file parsed after no closer, and the fill the file spells out there won.
    # The closer comes with the `;` the file ends its statements with, as where the other is closed.
    text = ("const total = add(first, second);\nconst count = add(first, \nconsole.log(count);\n\n"
            "function g() {\n  return [1, 2;\n}\n")
    cursor = text.index("add(first, \n") + len("add(first, ")
    assert await _closed_at(client, "file:///close/totals.js", text, cursor, "javascript") == (
        text[:cursor] + ");" + text[cursor:])
    # The `(` left open and the next function's `[` one ERROR, the `)` left the `[`'s alone, one syntax problem
    # before and after, where the count of problems judged it: the closer was refused.
    text = "def to_ascii(label):\n    return encode(label\n\n\ndef to_unicode(label: Union[bytes, str) -> str:\n" \
        "    return decode(label)\n"
    cursor = text.index("(label\n") + len("(label")
    assert await _closed_at(client, "file:///close/ascii.py", text, cursor) == text[:cursor] + ")" + text[cursor:]


async def test_close_structure_puts_back_what_the_file_spells_out_where_the_bracket_alone_does_not_parse(client):
    text = "total = add(first, second=2)\nprint(total)\ncount = add(first, second=\nprint(count)\n"
    cursor = text.rindex("second=") + len("second=")
    assert await _closed_at(client, "file:///close/totals2.py", text, cursor) == text[:cursor] + "2)" + text[cursor:]


async def test_close_structure_gives_a_python_header_missing_its_colon_the_colon_alone(client):
    # The model's `:` and a `return` above the body, as sure as the closers, left the body dead code.
    text = "import os\n\n\ndef area(radius)\n    value = compute(item)\n\n\nprint(os.name)\n"
    cursor = text.index("(radius)") + len("(radius)")
    assert await _closed_at(client, "file:///close/colon.py", text, cursor) == text[:cursor] + ":" + text[cursor:]


async def test_close_structure_closes_a_bracket_where_it_opened_when_the_error_runs_on(client):
    # The parse error runs from `(y + 1` into `def h():`; a `)` there, or anything at the cursor, leaves the file
    # broken, and such an edit is never applied.
    text = "def f(x):\n    ...\n\ndef g(y):\n    return (y + 1\n\ndef h():\n    pass\n"
    closed = text.replace("(y + 1", "(y + 1)")
    assert await _closed_at(client, "file:///close/far.py", text, 0) == closed
    assert await _closed_at(client, "file:///close/far2.py", text, text.index("\ndef g")) == closed


def _reason(client, title):
    """The one message the last `title` action showed instead of an edit, named as the server's."""
    messages = [m.message for m in client.messages if m.message.startswith(f"infill-ls: {title}: ")]
    assert messages, [m.message for m in client.messages]
    return messages[-1]


async def test_a_selection_longer_than_the_model_writes_is_refused_with_its_size(client):
    uri, text = _open(client, "inventory.py", "python", uri="file:///long/inventory.py", folder=SESSION)
    resolved = await _resolve(client, await _actions(client, uri, text, 0, len(text)), "Rewrite selection")
    assert resolved.edit is None
    reason = _reason(client, "Rewrite selection")
    assert "tokens and the model rewrites at most 24 at once" in reason, reason  # the tiny model's canvas: 32


async def test_nothing_is_offered_where_nothing_applies(client):
    uri, text = _open(client, "cart.ts", "typescript", folder=SESSION)
    cursor = text.index("let sum = 0;")
    assert list(await _actions(client, uri, text, cursor, cursor)) == []


async def test_fill_placeholders_is_not_offered_on_a_declarations_stub(client):
    text = ("import typing as t\n\n\nclass Attribute:\n    @t.overload\n"
            "    def __get__(self, obj: object, owner: t.Any) -> str: ...\n\n    def name(self) -> str: ...\n\n\n"
            "class Reader(t.Protocol):\n    def read(self, size: int) -> bytes: ...\n")
    module, stubs = "file:///declared/attribute.py", "file:///declared/attribute.pyi"
    for uri in (module, stubs):
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    for uri, stub, offered in [(module, "-> str: ...", False), (module, "def name(self) -> str: ...", True),
                               (module, "-> bytes: ...", False), (stubs, "def name(self) -> str: ...", False)]:
        cursor = text.index(stub) + len(stub) - 1
        titles = [a.title for a in await _actions(client, uri, text, cursor, cursor)]
        assert ("Fill placeholders" in titles) is offered, (uri, stub, titles)


async def test_a_stale_action_resolves_to_no_edit(client):
    uri, text = _open(client, "inventory.py", "python", uri="file:///stale/inventory.py", folder=SESSION)
    start = text.index("total += item.price")
    actions = await _actions(client, uri, text, start, start + 10)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [types.TextDocumentContentChangePartial(range=types.Range(position_of(text, 0), position_of(text, 0)), text="#")],
        )
    )
    resolved = await _resolve(client, actions, "Rewrite selection")
    assert resolved.edit is None
    assert _reason(client, "Rewrite selection").endswith("the document has changed since the action was offered")


def _reopen(client, uri, text):
    """`uri` closed and opened again with `text`, at the version 1 an editor counts a reopened document from."""
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))


# Close structure at the end of `return g(a, [1, 2`; its place, in the text the file held when opened again, is past
# `sum(b`, where an action offered for the first ran on the second and its `)` was applied.
OFFERED_FOR = "def f(a):\n    return g(a, [1, 2\n"
OPENED_AGAIN = "def h(b):\n    total = sum(b\n"


async def test_an_action_offered_before_its_document_was_closed_and_opened_again_resolves_to_no_edit(client):
    uri = "file:///reopened/resolve.py"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=OFFERED_FOR)))
    cursor = OFFERED_FOR.index("2\n") + 1
    actions = await _actions(client, uri, OFFERED_FOR, cursor, cursor)
    _reopen(client, uri, OPENED_AGAIN)
    resolved = await _resolve(client, actions, "Close structure")
    assert resolved.edit is None
    assert _reason(client, "Close structure") == ("infill-ls: Close structure: the document was closed and opened "
                                                  "again since the action was offered; nothing was applied")
    # Offered again, for the text now open, it applies.
    cursor = OPENED_AGAIN.index("(b") + 2
    again = await _resolve(client, await _actions(client, uri, OPENED_AGAIN, cursor, cursor), "Close structure")
    assert again.edit is not None


async def test_an_action_stopped_by_a_newer_one_on_its_document_says_so(client):
    # Both edits are for one text and cannot both apply, so the newer stops the older: which ended with no edit and
    # no word.
    text = "def f(x):\n    y = x + 1\n    return y\n\ncount = add(first, \nprint(count)\n"
    uri = "file:///two-actions/count.py"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    start = text.index("y = x")
    rewrite = await _actions(client, uri, text, start, text.index("\n", start))
    cursor = text.index("add(first, ") + len("add(first, ")
    close = await _actions(client, uri, text, cursor, cursor)
    # Sent together: the second takes the document's lane while the first waits for the model.
    stopped, _ = await asyncio.gather(_resolve(client, rewrite, "Rewrite selection"),
                                      _resolve(client, close, "Close structure"))
    assert stopped.edit is None
    assert _reason(client, "Rewrite selection") == (
        "infill-ls: Rewrite selection: stopped by a newer Close structure on this document; nothing was applied")


@pytest_lsp.fixture(scope="module", config=config())
async def command_client(lsp_client: LanguageClient):
    applying_edits(lsp_client)
    await lsp_client.initialize_session(
        init_params(capabilities(resolve=False, progress=True), modelPath=tiny_model(), device="cpu")
    )
    yield
    await lsp_client.shutdown_session()


async def test_actions_as_commands_apply_through_workspace_apply_edit(command_client):
    uri, text = _open(command_client, "unclosed.js", "javascript")
    cursor = text.index("shape.r * shape.r;") + len("shape.r * shape.r;")
    actions = await _actions(command_client, uri, text, cursor, cursor)
    (action,) = [a for a in actions if a.title == "Close structure"]
    assert action.edit is None and action.command.command == "infill.closeStructure"
    result = await command_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )
    assert result == {"applied": True}
    (params,) = command_client.applied
    edits, version = edits_of(params.edit, uri)
    assert version == 1 and params.label == "Close structure"
    assert not parse_text(language_for("javascript", ""), apply_text_edits(text, edits)).root_node.has_error
    # The client was shown the action's work as progress, begun and ended.
    (reports,) = [r for token, r in command_client.progress_reports.items() if str(token).startswith("infill-action")]
    assert [type(r) for r in reports] == [types.WorkDoneProgressBegin, types.WorkDoneProgressEnd]
    assert reports[0].title == "Infill: Close structure"


async def test_a_command_offered_before_its_document_was_closed_and_opened_again_applies_nothing(command_client):
    uri = "file:///reopened/command.py"
    command_client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=OFFERED_FOR)))
    cursor = OFFERED_FOR.index("2\n") + 1
    (action,) = [a for a in await _actions(command_client, uri, OFFERED_FOR, cursor, cursor)
                 if a.title == "Close structure"]
    _reopen(command_client, uri, OPENED_AGAIN)
    applied_before = len(command_client.applied)
    result = await command_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments))
    assert result == {"applied": False} and len(command_client.applied) == applied_before
    assert _reason(command_client, "Close structure").endswith("the document was closed and opened again since the "
                                                               "action was offered; nothing was applied")
    # The three arguments an editor makes up from its own selection (VS Code's palette) act on the text open now.
    here = position_of(OPENED_AGAIN, OPENED_AGAIN.index("(b") + 2)
    made_up = [uri, {"start": {"line": here.line, "character": here.character},
                     "end": {"line": here.line, "character": here.character}}, 1]
    result = await command_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.closeStructure", arguments=made_up))
    assert result == {"applied": True}, result


async def test_a_command_with_arguments_of_the_wrong_shape_is_refused_and_edits_nothing(command_client):
    uri, text = _open(command_client, "unclosed.js", "javascript", uri="file:///tmp/wrong-arguments.js")
    cursor = text.index("shape.r * shape.r;") + len("shape.r * shape.r;")
    here = {"line": position_of(text, cursor).line, "character": position_of(text, cursor).character}
    selection = {"start": here, "end": here}
    applied_before = len(command_client.applied)
    cases = [
        (None, "got []"),  # no arguments at all
        ([uri, selection], "got ["),
        ([uri, selection, "1"], 'the version is "1"'),  # was read as version 1, and the edit applied
        ([uri, selection, True], "the version is true"),
        ([uri, selection, 1.5], "the version is 1.5"),
        ([5, selection, 1], "the URI is 5"),
        ([uri, {"start": here}, 1], "the range is"),
    ]
    for arguments, why in cases:
        with pytest.raises(Exception) as raised:
            await command_client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="infill.closeStructure", arguments=arguments)
            )
        message = str(raised.value)
        assert "infill.closeStructure: arguments are [document URI, range, document version or null]" in message
        assert why in message and "Traceback" not in message and "\n" not in message, message
    # An object of them (raw JSON: the client library sends its keys): pygls took its keys for the arguments, and
    # the command said the version was "version".
    answer = asyncio.get_running_loop().create_future()
    command_client.protocol._request_futures["object"] = answer
    command_client.protocol._send_data({"jsonrpc": "2.0", "id": "object", "method": "workspace/executeCommand",
                                        "params": {"command": "infill.closeStructure",
                                                   "arguments": {"uri": uri, "range": selection, "version": 1}}})
    with pytest.raises(Exception) as raised:
        await asyncio.wait_for(answer, timeout=20)
    assert str(raised.value).startswith(
        f'workspace/executeCommand: params.arguments: a list, got {{"uri": "{uri}", "range": {{')
    assert len(command_client.applied) == applied_before
    # The server is up, and the same command with the arguments right still works.
    result = await command_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.closeStructure", arguments=[uri, selection, 1])
    )
    assert result == {"applied": True} and len(command_client.applied) == applied_before + 1


async def test_a_cancelled_command_applies_nothing(command_client):
    # pygls ran the command as a task of its own, which the cancel never reached: the client was answered
    # "cancelled" and then sent the edit anyway (and, cancelled while the server waited for the client to create
    # its progress, shown "Error in server: CANCELLED").
    from pygls.exceptions import JsonRpcRequestCancelled

    applied_before = len(command_client.applied)
    cancelled_uri, text = _open(command_client, "unclosed.js", "javascript", uri="file:///cancelled/unclosed.js")
    cursor = text.index("shape.r * shape.r;") + len("shape.r * shape.r;")
    here = {"line": position_of(text, cursor).line, "character": position_of(text, cursor).character}
    pending = asyncio.ensure_future(command_client.protocol.send_request_async(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="infill.closeStructure", arguments=[cancelled_uri, {"start": here, "end": here}, 1]),
        msg_id="cancel-me"))
    await asyncio.sleep(0)  # sent: the client sends a request only once its coroutine runs
    assert "cancel-me" in command_client.protocol._request_futures
    command_client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    # The same action on another document, run to the end: the worker runs one job at a time, in order, so the
    # cancelled one's edit, were it sent, would come first.
    uri, _ = _open(command_client, "unclosed.js", "javascript", uri="file:///after-cancel/unclosed.js")
    result = await command_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="infill.closeStructure", arguments=[uri, {"start": here, "end": here}, 1]))
    assert result == {"applied": True}
    assert [edits_of(p.edit, uri)[1] for p in command_client.applied[applied_before:]] == [1]
    assert not [m.message for m in command_client.messages if "Error in server" in m.message]


@pytest_lsp.fixture(scope="module", config=config())
async def refusing_client(lsp_client: LanguageClient):
    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        return types.ApplyWorkspaceEditResult(applied=False, failure_reason="the file is read-only")

    await lsp_client.initialize_session(init_params(capabilities(resolve=False), modelPath=tiny_model(), device="cpu"))
    yield
    await lsp_client.shutdown_session()


async def test_an_edit_the_editor_refuses_is_told_with_its_reason(refusing_client):
    client = refusing_client
    uri, text = _open(client, "unclosed.js", "javascript")
    cursor = text.index("shape.r * shape.r;") + len("shape.r * shape.r;")
    (action,) = [a for a in await _actions(client, uri, text, cursor, cursor) if a.title == "Close structure"]
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments))
    assert result == {"applied": False}
    (told,) = [m for m in client.messages if "read-only" in m.message]
    assert "Close structure" in told.message and "\n" not in told.message
    assert [m.message for m in client.log_messages if "read-only" in m.message]


async def test_commands_progress_and_trace_changes_leave_nothing_behind(command_client):
    # pygls filed each command's and each `$/setTrace`'s generator under a made-up id, and kept every progress
    # token, for as long as the server ran.
    uri, text = _open(command_client, "unclosed.js", "javascript", uri="file:///left-behind/unclosed.js")
    cursor = text.index("shape.r * shape.r;") + len("shape.r * shape.r;")
    here = {"line": position_of(text, cursor).line, "character": position_of(text, cursor).character}
    for _ in range(3):
        await command_client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="infill.closeStructure", arguments=[uri, {"start": here, "end": here}, 1]))
    for value in [types.TraceValue.Verbose, types.TraceValue.Off] * 10:
        command_client.protocol.notify(types.SET_TRACE, types.SetTraceParams(value=value))
    counts = await command_client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    assert counts["requests_open"] <= 2 and counts["progress_open"] == 0
