"""Notebooks end to end: the real server over stdio takes a notebook's cells (LSP 3.17 notebook sync) and a fill in
one cell finds what the cells around it spell out, as the client opens, edits, inserts, deletes and closes them.

The neighbouring-files search is off, so only the notebook's own cells can supply those fills."""

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_support import capabilities, config, init_params, loaded, position_of, replace_change, tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="module")
NOTEBOOK = "file:///work/analysis.ipynb"


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    lsp_client.initialize_result = await lsp_client.initialize_session(
        init_params(capabilities(notebooks=True), modelPath=tiny_model(), debounceMs=0, device="cpu",
                    neighborFiles=False)
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


def cell_uri(n: int) -> str:
    return f"vscode-notebook-cell:/work/analysis.ipynb#W{n}sZmlsZQ%3D%3D"


def cell(n: int, kind=types.NotebookCellKind.Code) -> types.NotebookCell:
    return types.NotebookCell(kind=kind, document=cell_uri(n))


def item(n: int, text: str, language: str = "python") -> types.TextDocumentItem:
    return types.TextDocumentItem(uri=cell_uri(n), language_id=language, version=1, text=text)


async def inline(client, text: str, uri: str, cursor: int, invoked=True) -> list[types.InlineCompletionItem]:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, cursor)))
    return list(result.items)


def change(client, version: int, **cells) -> None:
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=version, uri=NOTEBOOK),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(**cells))))


def open_notebook(client, notebook: str, cells: dict[str, str]) -> None:
    """A notebook of Python code cells, {cell uri: text}, in order."""
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(uri=notebook, notebook_type="jupyter-notebook", version=1,
                                                 cells=[types.NotebookCell(types.NotebookCellKind.Code, u) for u in cells]),
        cell_text_documents=[types.TextDocumentItem(uri=u, language_id="python", version=1, text=t)
                             for u, t in cells.items()]))


def close_notebook(client, notebook: str, cells) -> None:
    client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
        notebook_document=types.NotebookDocumentIdentifier(uri=notebook),
        cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in cells]))


async def test_a_cell_reads_the_cells_around_it_as_they_are_edited_inserted_and_deleted(client):
    definition = "def total(helper, p, q):\n    return helper.compute_total(p, q)\n"
    current = "x = helper.compute_total()\n"
    cursor = current.index("()") + 1
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=NOTEBOOK, notebook_type="jupyter-notebook", version=1,
            cells=[cell(0), cell(1, types.NotebookCellKind.Markup), cell(2)]),
        cell_text_documents=[item(0, definition), item(1, "# compute_total(a, b)", "markdown"),
                             item(2, current)]))
    items = await inline(client, current, cell_uri(2), cursor)
    assert items[0].insert_text == "p, q" and items[0].range.start == position_of(current, cursor)
    # While typing too: a fill the cells spell out is shown without the model.
    assert (await inline(client, current, cell_uri(2), cursor, invoked=False))[0].insert_text == "p, q"

    # An edit to the cell above is seen at once.
    at = definition.rindex("p, q")
    client_change = replace_change(definition, at, at + 4, "q, p")
    definition = definition[:at] + "q, p" + definition[at + 4:]
    change(client, 2, text_content=[types.NotebookDocumentCellContentChanges(
        document=types.VersionedTextDocumentIdentifier(uri=cell_uri(0), version=2), changes=[client_change])])
    assert (await inline(client, current, cell_uri(2), cursor))[0].insert_text == "q, p"

    # The cell above deleted, a new one inserted below: the fill comes from the new one.
    change(client, 3, structure=types.NotebookDocumentCellChangeStructure(
        array=types.NotebookCellArrayChange(start=0, delete_count=1),
        did_close=[types.TextDocumentIdentifier(uri=cell_uri(0))]))
    assert all(i.insert_text != "q, p" for i in await inline(client, current, cell_uri(2), cursor))
    change(client, 4, structure=types.NotebookDocumentCellChangeStructure(
        array=types.NotebookCellArrayChange(start=2, delete_count=0, cells=[cell(3)]),
        did_open=[item(3, "y = helper.compute_total(m, n)\n")]))
    assert (await inline(client, current, cell_uri(2), cursor))[0].insert_text == "m, n"

    # A closed notebook's cells are gone with it.
    client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
        notebook_document=types.NotebookDocumentIdentifier(uri=NOTEBOOK),
        cell_text_documents=[types.TextDocumentIdentifier(uri=cell_uri(n)) for n in (1, 2, 3)]))
    assert await inline(client, current, cell_uri(2), cursor) == []


async def test_a_cell_whose_change_cannot_be_applied_is_told_once_until_the_notebook_opens_it_again(client):
    notebook, uri, text = "file:///work/sync.ipynb", "vscode-notebook-cell:/work/sync.ipynb#W0", "total = 0\n"
    open_notebook(client, notebook, {uri: text})

    def notebook_change(version: int, **cells) -> None:
        client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=version, uri=notebook),
            change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(**cells))))

    def bad_change(version: int) -> None:  # a range that ends before it starts
        backwards = types.Range(types.Position(0, 5), types.Position(0, 1))
        notebook_change(version, text_content=[types.NotebookDocumentCellContentChanges(
            document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            changes=[types.TextDocumentContentChangePartial(range=backwards, text="x")])])

    def told() -> list[str]:
        return [m.message for m in client.messages if "sync.ipynb" in m.message]

    bad_change(2)
    bad_change(3)
    assert await inline(client, text, uri, 5) == [] and len(told()) == 1, told()
    # Named as the user knows the cell, with what the user can do about it: the cell's URI was shown, and a cell
    # is not a document the user can open again.
    assert told()[0].startswith("infill-ls: sync.ipynb, cell 1: change range ends before it starts"), told()
    assert told()[0].endswith("until the notebook is closed and reopened") and uri not in told()[0], told()
    # Its language changed, as VS Code sends it: the cell taken out (its document closed), then put back.
    notebook_change(4, structure=types.NotebookDocumentCellChangeStructure(
        array=types.NotebookCellArrayChange(start=0, delete_count=1), did_close=[types.TextDocumentIdentifier(uri)]))
    notebook_change(5, structure=types.NotebookDocumentCellChangeStructure(
        array=types.NotebookCellArrayChange(start=0, delete_count=0,
                                            cells=[types.NotebookCell(types.NotebookCellKind.Code, uri)]),
        did_open=[types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)]))
    assert await inline(client, text, uri, 5)
    bad_change(6)
    assert await inline(client, text, uri, 5) == [] and len(told()) == 2, told()


async def test_a_cell_finds_what_the_modules_beside_its_notebook_spell_out(client, tmp_path):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"infill": {"neighborFiles": True}}))
    # Named as the notebook is: passed over as if it were the cell itself.
    (tmp_path / "analysis.py").write_text("def total(helper, p, q):\n    return helper.compute_total(p, q)\n")
    (tmp_path / "notes.txt").write_text("helper.compute_total(wrong, file)\n")  # not the cell's language
    notebook = (tmp_path / "analysis.ipynb").as_uri()
    uri = notebook.replace("file:", "vscode-notebook-cell:", 1) + "#W0sZmlsZQ%3D%3D"
    text = "x = helper.compute_total()\n"
    open_notebook(client, notebook, {uri: text})
    try:
        cursor = text.index("()") + 1
        assert (await inline(client, text, uri, cursor))[0].insert_text == "p, q"
    finally:
        client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook),
            cell_text_documents=[types.TextDocumentIdentifier(uri=uri)]))
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"infill": {"neighborFiles": False}}))


async def test_no_answer_read_from_a_cell_since_deleted_is_served(client):
    # Typing-through went on serving the rest of a fill copied from a cell deleted since; and an answer computed
    # while the cell was deleted came back too.
    notebook = "file:///work/stale.ipynb"
    uris = [f"vscode-notebook-cell:/work/stale.ipynb#W{n}" for n in range(2)]
    definition, current = "def total(helper, p, q):\n    return helper.compute_total(p, q)\n", "x = helper.compute_total()\n"
    cursor = current.index("()") + 1
    open_notebook(client, notebook, {uris[0]: definition, uris[1]: current})
    assert (await inline(client, current, uris[1], cursor, invoked=False))[0].insert_text == "p, q"
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            structure=types.NotebookDocumentCellChangeStructure(
                array=types.NotebookCellArrayChange(start=0, delete_count=1),
                did_close=[types.TextDocumentIdentifier(uri=uris[0])])))))
    typed = current[:cursor] + "p" + current[cursor:]
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=3, uri=notebook),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
            types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=uris[1], version=2),
                changes=[replace_change(current, cursor, cursor, "p")])]))))
    before = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    items = await inline(client, typed, uris[1], cursor + 1, invoked=False)
    after = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    assert after["typing_through_hits"] == before["typing_through_hits"], items
    close_notebook(client, notebook, [uris[1]])


async def test_a_notebook_change_the_server_cannot_apply_drops_the_notebook_and_says_so_once(client):
    # Cells past the end were cut short, and a change to a notebook never opened made one up, without a word.
    notebook, uri, text = "file:///work/splice.ipynb", "vscode-notebook-cell:/work/splice.ipynb#W0", "n = 1\n"
    open_notebook(client, notebook, {uri: text})
    assert await inline(client, text, uri, 5)
    for version in (2, 3):
        client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=version, uri=notebook),
            change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=7, delete_count=0))))))
    assert await inline(client, text, uri, 5) == []
    told = [m.message for m in client.messages if notebook in m.message]
    assert told == [f"infill-ls: {notebook}: a change to cells 7 to 7 of a notebook of 1; suggestions for it stop "
                    "until it is opened again"], told
    close_notebook(client, notebook, [uri])


async def test_an_edit_to_a_cell_the_same_change_removes_is_no_error(client):
    # The cell was closed first, and its edit then told as a change to a document that is not open.
    notebook, uris = "file:///work/batched.ipynb", [f"vscode-notebook-cell:/work/batched.ipynb#W{n}" for n in (0, 1)]
    open_notebook(client, notebook, dict.fromkeys(uris, "n = 1\n"))
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            structure=types.NotebookDocumentCellChangeStructure(
                array=types.NotebookCellArrayChange(start=0, delete_count=1),
                did_close=[types.TextDocumentIdentifier(uri=uris[0])]),
            text_content=[types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=uris[0], version=2),
                changes=[replace_change("n = 1\n", 0, 0, "m")])]))))
    assert await inline(client, "n = 1\n", uris[1], 5)
    assert not [m.message for m in client.messages if "batched" in m.message]
    close_notebook(client, notebook, [uris[1]])


async def test_a_notebook_opening_the_server_cannot_read_is_told_once_not_once_a_cell(client):
    # Its cells' edits were each told as a change to a document that is not open.
    import asyncio

    notebook, uris = "file:///work/opened.ipynb", [f"vscode-notebook-cell:/work/opened.ipynb#W{n}" for n in (0, 1)]
    client.protocol._send_data({"jsonrpc": "2.0", "method": "notebookDocument/didOpen", "params": {
        "notebookDocument": {"uri": notebook, "notebookType": "jupyter-notebook", "version": 1,
                             "cells": [{"document": u} for u in uris]},  # no "kind"
        "cellTextDocuments": [{"uri": u, "languageId": "python", "version": 1, "text": "n = 1\n"} for u in uris]}})
    for version, uri in enumerate(uris, 2):
        client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=version, uri=notebook),
            change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
                types.NotebookDocumentCellContentChanges(
                    document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                    changes=[replace_change("n = 1\n", 0, 0, "m")])]))))
    assert await inline(client, "mn = 1\n", uris[1], 5) == []
    await asyncio.sleep(0.2)
    told = [m.message for m in client.messages if "opened.ipynb" in m.message]
    assert len(told) == 1 and "a notebook opening that does not match the protocol" in told[0], told
    # Its cell documents not a list: still said (the handler itself failed on it).
    client.protocol._send_data({"jsonrpc": "2.0", "method": "notebookDocument/didOpen", "params": {
        "notebookDocument": {"uri": "file:///work/numbered.ipynb", "notebookType": "jupyter-notebook", "version": 1,
                             "cells": []}, "cellTextDocuments": 5}})
    await asyncio.sleep(0.5)
    told = [m.message for m in client.messages if "numbered.ipynb" in m.message]
    assert len(told) == 1 and "a notebook opening that does not match the protocol" in told[0], told


async def test_a_notebook_change_the_server_cannot_read_drops_the_notebook_until_it_is_opened_again(client):
    # pygls dropped it with "Error in server: Invalid Params" and the notebook's cells went on out of step.
    import asyncio

    notebook, uri, text = "file:///work/unreadable.ipynb", "vscode-notebook-cell:/work/unreadable.ipynb#W0", "n = 1\n"

    def told() -> list[str]:
        return [m.message for m in client.messages if notebook in m.message or uri in m.message]

    open_notebook(client, notebook, {uri: text})
    assert await inline(client, text, uri, 5)
    for version in (2, 3):  # raw JSON: a structure change whose array has no start
        client.protocol._send_data({"jsonrpc": "2.0", "method": "notebookDocument/didChange", "params": {
            "notebookDocument": {"uri": notebook, "version": version},
            "change": {"cells": {"structure": {"array": {"deleteCount": 0}}}}}})
    # Later edits of its cell, readable or not, are not told again.
    change_cell = types.NotebookDocumentCellContentChanges(
        document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                                                        text="m")])
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=4, uri=notebook),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[change_cell]))))
    assert await inline(client, text, uri, 5) == []
    await asyncio.sleep(0.2)
    assert len(told()) == 1 and notebook in told()[0] and "opened again" in told()[0], told()
    assert not [m for m in client.messages if "Invalid Params" in m.message]
    open_notebook(client, notebook, {uri: text})
    assert await inline(client, text, uri, 5)


async def _code_actions(client, uri: str, text: str, offset: int) -> list:
    at = position_of(text, offset)
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(at, at),
        context=types.CodeActionContext(diagnostics=[])))


async def test_a_magic_line_above_leaves_the_typing_rules_on_and_a_clean_cell_nothing_to_close(client):
    # Parsed as plain Python, `%matplotlib inline` was an ERROR: the closers a line owes were never shown after it,
    # and Close structure was offered on a clean cell, then failed.
    notebook, uris = "file:///work/magics.ipynb", [f"vscode-notebook-cell:/work/magics.ipynb#W{n}" for n in (0, 1)]
    typing, clean = "%matplotlib inline\ntotal = sum(x * 2 for x in range(", \
        "%matplotlib inline\n!pip install numpy\nimport numpy as np\nxs = np.zeros(3)\n"
    open_notebook(client, notebook, {uris[0]: typing, uris[1]: clean})
    try:
        items = await inline(client, typing, uris[0], len(typing), invoked=False)
        assert items and items[0].insert_text.endswith("))"), [i.insert_text for i in items]
        titles = [a.title for a in await _code_actions(client, uris[1], clean, len(clean) - 1)]
        assert "Close structure" not in titles, titles
    finally:
        close_notebook(client, notebook, uris)


async def test_a_magic_line_in_a_py_file_is_a_syntax_error_still(client):
    uri, text = "file:///work/magic.py", "%matplotlib inline\nimport numpy as np\nxs = np.zeros(3)\n"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    try:
        assert "Close structure" in [a.title for a in await _code_actions(client, uri, text, len(text) - 1)]
    finally:
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))


async def test_a_cell_below_a_shell_cell_magic_copies_nothing_from_the_shell_code(client):
    # The `%%bash` body was read as the notebook's Python: `bash1, bash2` was the first suggestion.
    notebook, uris = "file:///work/shell.ipynb", [f"vscode-notebook-cell:/work/shell.ipynb#W{n}" for n in range(3)]
    shell = "%%bash\nfor f in *.csv; do\n  helper.compute_total(bash1, bash2)\ndone\n"
    current = "x = helper.compute_total()\n"
    cursor = current.index("()") + 1
    open_notebook(client, notebook, {uris[0]: shell, uris[1]: current})
    try:
        for invoked in (True, False):
            texts = [i.insert_text for i in await inline(client, current, uris[1], cursor, invoked=invoked)]
            assert not [t for t in texts if "bash" in t], texts
        # A cell magic whose body is Python is read still, and so is the code after a shell line.
        client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook),
            change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=2, delete_count=0, cells=[_code_cell(uris[2])]),
                    did_open=[types.TextDocumentItem(uri=uris[2], language_id="python", version=1,
                                                     text="%%time\n!ls\ny = helper.compute_total(p, q)\n")])))))
        assert (await inline(client, current, uris[1], cursor))[0].insert_text == "p, q"
    finally:
        close_notebook(client, notebook, uris)


async def test_a_cell_listed_without_its_text_is_logged_once_when_listed_and_its_edits_pop_nothing_up(client):
    # Accepted without a word, and the cell's first edit then popped up "change for a document that is not open".
    import asyncio

    notebook, uris = "file:///work/listed.ipynb", [f"vscode-notebook-cell:/work/listed.ipynb#W{n}" for n in range(3)]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(uri=notebook, notebook_type="jupyter-notebook", version=1,
                                                 cells=list(map(_code_cell, uris[:2]))),
        cell_text_documents=[types.TextDocumentItem(uri=uris[0], language_id="python", version=1, text="n = 1\n")]))
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            structure=types.NotebookDocumentCellChangeStructure(
                array=types.NotebookCellArrayChange(start=2, delete_count=0, cells=[_code_cell(uris[2])]))))))
    for version, uri in enumerate(uris[1:], 3):
        client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=version, uri=notebook),
            change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
                types.NotebookDocumentCellContentChanges(
                    document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                    changes=[replace_change("", 0, 0, "m")])]))))
    try:
        assert await inline(client, "n = 1\n", uris[0], 5)  # the cells it has go on
        await asyncio.sleep(0.2)
        logged = [m.message for m in client.log_messages if "listed.ipynb" in m.message]
        assert logged == [f"listed.ipynb, cell 2 ({uris[1]}): the editor listed the cell without its text; nothing "
                          "is suggested in it until the notebook is closed and reopened",
                          f"listed.ipynb, cell 3 ({uris[2]}): the editor listed the cell without its text; nothing "
                          "is suggested in it until the notebook is closed and reopened"], logged
        assert not [m.message for m in client.messages if "listed.ipynb" in m.message]
    finally:
        close_notebook(client, notebook, uris)


def _code_cell(uri: str) -> types.NotebookCell:
    return types.NotebookCell(types.NotebookCellKind.Code, uri)


async def test_a_notebook_save_is_taken_quietly_and_changes_nothing_the_server_offers(client, capsys):
    # Logged by pygls as a notification for an unknown method on every save of a client that sends it.
    import asyncio

    sync = client.initialize_result.capabilities.notebook_document_sync
    assert list(sync.notebook_selector) == [types.NotebookDocumentFilterWithNotebook(notebook="*")]
    assert sync.save is None  # a save is not asked for: the client sends one or not, as it does for any server
    notebook, uri = "file:///work/saved.ipynb", "vscode-notebook-cell:/work/saved.ipynb#W0"
    open_notebook(client, notebook, {uri: "n = 1\n"})
    try:
        capsys.readouterr()
        client.notebook_document_did_save(types.DidSaveNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook)))
        assert await inline(client, "n = 1\n", uri, 5)
        await asyncio.sleep(0.2)
        assert "didSave" not in capsys.readouterr().err
    finally:
        close_notebook(client, notebook, [uri])
