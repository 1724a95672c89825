"""Inline completion end to end: the real server over stdio with a tiny random checkpoint.

Random weights write nonsense, so these tests check structure: ranges, versions, typing-
through and cache behaviour, never the text itself; where the text is the point, the embedded model writes it.
"""

import asyncio
import os

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_support import SESSION, capabilities, config, init_params, loaded, position_of, replace_change, tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), debounceMs=0, numCandidates=3, device="cpu")
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


class Doc:
    """The client's copy of one open document."""

    def __init__(self, client, uri, language, text, encoding="utf-16"):
        self.client, self.uri, self.text, self.version, self.encoding = client, uri, text, 1, encoding
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))
        )

    def edit(self, start, end, new):
        change = replace_change(self.text, start, end, new, self.encoding)
        self.text = self.text[:start] + new + self.text[end:]
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version), [change])
        )

    def position(self, offset):
        return position_of(self.text, offset, self.encoding)

    async def inline(self, offset, invoked=False):
        kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=kind),
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                position=self.position(offset),
            )
        )
        return list(result.items)


async def stats(client):
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats", arguments=[]))


def _after(text, marker):
    return text.index(marker) + len(marker)


CASES = [
    ("inventory.py", "python", "        if item.name == name:", True),
    ("inventory.py", "python", "    total = 0.0", False),
    ("cart.ts", "typescript", "export function findLine(lines: Line[], sku: string): Line | undefined {", True),
    ("cart.ts", "typescript", "  let sum = ", False),
    ("stack.go", "go", "func (s *Stack) Peek() (int, bool) {", True),
    ("stack.go", "go", "\tv := s.items[", False),
]


@pytest.mark.parametrize("name, language, marker, block", CASES)
async def test_inline_completion_items_sit_exactly_at_the_cursor(client, name, language, marker, block):
    text = (SESSION / name).read_text()
    doc = Doc(client, (SESSION / name).as_uri(), language, text)
    cursor = _after(text, marker)
    items = await doc.inline(cursor, invoked=True)
    assert items, "the tiny model gave no usable fill here"
    for item in items:
        assert item.range == types.Range(doc.position(cursor), doc.position(cursor))
        assert item.insert_text.strip()
        if block:
            assert item.insert_text.startswith("\n")  # a body after its opener starts on a new line
        else:
            assert "\n" not in item.insert_text  # the rest of one line
    assert len({item.insert_text for item in items}) == len(items)
    auto = await doc.inline(cursor)
    assert len(auto) <= 1
    assert all(item.range == types.Range(doc.position(cursor), doc.position(cursor)) for item in auto)


async def test_an_invoked_request_lists_several_candidates_and_a_typing_one_at_most_one(client):
    # Code with no grammar here (Ruby), where no candidate of the random-weight model is left out for its syntax
    # or its words (prose's are read for broken words): invoked explicitly, several canvas rows; automatic, one, so
    # at most one (random weights may fill it with voids).
    text = "def total(items)\n  items.sum \nend\n"
    doc = Doc(client, "file:///src/list.rb", "ruby", text)
    cursor = _after(text, "items.sum ")
    items = await doc.inline(cursor, invoked=True)
    assert len({item.insert_text for item in items}) == len(items) > 1
    assert len(await doc.inline(cursor)) <= 1


async def test_a_typing_request_in_the_middle_of_a_word_gets_nothing_and_an_invoked_one_fills(client):
    text = "Shopping list\n\nApples, pears and \n\nCall the shop before six.\n"
    doc = Doc(client, "file:///notes/midword.txt", "plaintext", text)
    for cursor in (_after(text, "Apples, pe"), _after(text, "Call the sh")):
        assert await doc.inline(cursor) == []
        assert await doc.inline(cursor, invoked=True)


async def test_block_fill_follows_the_files_tab_indentation(client):
    text = (SESSION / "stack.go").read_text()
    doc = Doc(client, "file:///tabs/stack.go", "go", text)
    (item, *_) = await doc.inline(_after(text, "func (s *Stack) Peek() (int, bool) {"), invoked=True)
    body = [line for line in item.insert_text.split("\n")[1:] if line.strip()]
    assert body and all(line.startswith("\t") and not line.startswith(" ") for line in body)


async def _emoji_cjk_crlf_then_typing_through(c, encoding, uri):
    text = "def greet(name):\r\n    return name\r\n\r\nprint(greet('x'))\r\n"
    doc = Doc(c, uri, "python", text, encoding)
    # Several incremental edits: an emoji and CJK inside a string, a new CRLF line.
    doc.edit(_after(doc.text, "return name"), _after(doc.text, "return name"), ' + " 😀 "')
    doc.edit(_after(doc.text, "😀"), _after(doc.text, "😀"), "名前")
    doc.edit(_after(doc.text, "(name):\r\n"), _after(doc.text, "(name):\r\n"), "    label = '🎉漢字🎉'\r\n    label = ")
    cursor = _after(doc.text, "    label = ")
    doc.edit(cursor, cursor, "'😀")
    cursor += 2
    items = await doc.inline(cursor, invoked=True)
    assert items
    for item in items:
        assert item.range.start == item.range.end == doc.position(cursor)
    # Type the first character of the suggestion: the rest comes back without the model,
    # which only happens when the server's copy of the text matches the client's exactly.
    shown = items[0].insert_text
    runs_before = (await stats(c))["model_runs"]
    doc.edit(cursor, cursor, shown[0])
    rest = await doc.inline(cursor + 1)
    assert [i.insert_text for i in rest][:1] == [shown[1:]]
    assert rest[0].range.start == doc.position(cursor + 1)
    after = await stats(c)
    assert after["model_runs"] == runs_before and after["typing_through_hits"] >= 1


async def test_edits_with_emoji_cjk_and_crlf_then_typing_through_utf16(client):
    await _emoji_cjk_crlf_then_typing_through(client, "utf-16", "file:///work/greet16.py")


async def test_returning_to_an_earlier_state_is_served_from_the_cache(client):
    text = (SESSION / "cart.ts").read_text()
    doc = Doc(client, "file:///cache/cart.ts", "typescript", text)
    cursor = _after(text, "  let sum = ")
    first = await doc.inline(cursor)
    doc.edit(cursor, cursor, "§")
    await doc.inline(cursor + 1)
    doc.edit(cursor, cursor + 1, "")
    before = await stats(client)
    again = await doc.inline(cursor)
    after = await stats(client)
    assert [i.insert_text for i in again] == [i.insert_text for i in first]
    assert after["cache_hits"] == before["cache_hits"] + 1
    assert after["model_runs"] == before["model_runs"]


async def test_a_document_reopened_in_another_language_is_not_served_the_old_languages_answer(client):
    # The language was not in the cache's key: reopened as JavaScript (an editor's "change language mode"), a
    # plain-text document was served its plain-text answer, without the syntax checks.
    text = "function area(shape) {\n  return shape.w * \n"
    cursor = _after(text, "shape.w * ")
    plain = Doc(client, "untitled:Untitled-7", "plaintext", text)
    await plain.inline(cursor, invoked=True)
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=plain.uri)))
    script = Doc(client, plain.uri, "javascript", text)
    before = await stats(client)
    await script.inline(cursor, invoked=True)
    after = await stats(client)
    assert after["cache_hits"] == before["cache_hits"] and after["model_runs"] == before["model_runs"] + 1


async def test_unknown_language_and_large_file(client):
    notes = Doc(client, "file:///notes/todo.txt", "plaintext", "Shopping list:\n- apples\n- \n")
    cursor = _after(notes.text, "- apples\n- ")
    for item in await notes.inline(cursor, invoked=True):
        assert item.range.start == notes.position(cursor)

    big = (SESSION / "inventory.py").read_text() * 2000  # about 60k lines
    doc = Doc(client, "file:///big/inventory.py", "python", big)
    end = len(doc.text) - len("    return min(items, key=lambda item: item.price, default=None)\n")
    doc.edit(end, end, "    best = ")
    cursor = end + len("    best = ")
    items = await doc.inline(cursor, invoked=True)
    assert items and all(i.range.start == doc.position(cursor) for i in items)
    assert doc.position(cursor).line > 50_000


async def test_disabled_language_gets_no_completion(client):
    text = (SESSION / "stack.go").read_text()
    doc = Doc(client, "file:///disabled/stack.go", "go", text)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"infill": {"enabledLanguages": ["python"]}})
    )
    try:
        assert await doc.inline(_after(text, "\tv := s.items["), invoked=True) == []
        # Code actions are the same server's suggestions: none for a language that is turned off.
        cursor = doc.position(_after(text, "\tv := s.items["))
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=doc.uri), range=types.Range(doc.position(0), cursor),
            context=types.CodeActionContext(diagnostics=[])))
        assert list(actions or []) == []
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"infill": {"enabledLanguages": ["*"]}})
        )
    assert await doc.inline(_after(text, "\tv := s.items["), invoked=True)


async def test_a_change_that_cannot_be_applied_is_told_once_and_stops_suggestions_until_reopened(client):
    text = (SESSION / "inventory.py").read_text()
    doc = Doc(client, "file:///broken-sync/inventory.py", "python", text)
    cursor = _after(text, "    total = 0.0")

    def bad_change():  # a range that ends before it starts: the server cannot know what the editor now holds
        doc.version += 1
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            [types.TextDocumentContentChangePartial(range=types.Range(doc.position(9), doc.position(3)), text="x")]))

    bad_change()
    bad_change()
    assert await doc.inline(cursor, invoked=True) == []
    told = [m.message for m in client.messages if doc.uri in m.message]
    assert len(told) == 1 and "ends before it starts" in told[0] and "opened again" in told[0], told
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=doc.uri, language_id="python", version=doc.version + 1, text=text)))
    assert await doc.inline(cursor, invoked=True)


async def test_a_fill_the_file_spells_out_elsewhere_comes_first(client):
    text = "def run(self, a, b):\n    x = self.compute(a, b)\n    print(x)\n    y = self.compute()\n    print(y)\n"
    doc = Doc(client, "file:///work/repeat.py", "python", text)
    cursor = _after(text, "y = self.compute(")
    for invoked in (False, True):
        before = await stats(client)
        items = await doc.inline(cursor, invoked=invoked)
        assert items[0].insert_text == "a, b" and items[0].range.start == doc.position(cursor)
        after = await stats(client)
        # While typing, the copy keeps the file parsing, so it is shown without a model pass.
        assert after["file_fills"] - before["file_fills"] == (0 if invoked else 1)
        assert after["model_runs"] - before["model_runs"] == 1
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"infill": {"fileLookup": False}})
    )
    try:
        # The random model alone does not write it.
        assert all(i.insert_text != "a, b" for i in await doc.inline(cursor, invoked=True))
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"infill": {"fileLookup": True}})
        )


async def test_an_invoked_request_in_an_open_call_offers_first_a_fill_after_which_the_file_parses(client):
    from engine.holes import is_parse_valid

    text = "def f(x):\n    return g(h(x\n\n\ny = [1, 2]\n"
    doc = Doc(client, "file:///work/open_call.py", "python", text)
    cursor = _after(text, "h(x")
    items = await doc.inline(cursor, invoked=True)
    # The random model's fills do not close both calls; the first suggestion is one closed so that they are.
    first = items[0].insert_text
    assert is_parse_valid(text[:cursor] + first + text[cursor:], "python") and first.endswith("))")
    assert items[0].range.start == doc.position(cursor)


@pytest_lsp.fixture(scope="module", config=config())
async def fresh_client(lsp_client: LanguageClient):
    """A server with no other document open: the files beside one are only those a test opens."""
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), debounceMs=0, device="cpu")
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_a_fill_another_open_file_or_a_file_beside_it_on_disk_spells_out(fresh_client, tmp_path):
    client = fresh_client
    # Not in the document itself: one call is spelled out in another open document, one only in a file of its
    # directory that is not open.
    (tmp_path / "registry.py").write_text("def load(registry, name, version):\n"
                                          "    return registry.lookup_spec(name, version)\n")
    (tmp_path / "notes.txt").write_text("spec = registry.lookup_spec(wrong, suffix)\n")  # not the language's files
    other = Doc(client, (tmp_path / "totals.py").as_uri(), "python",
                "def total(helper, p, q):\n    return helper.compute_total(p, q)\n")
    # The document's own `grand_total(r, q)` matches the first call's hole by a short key only ("_total("): the
    # other document's whole call is the stronger evidence and comes first.
    text = ("def run(helper, registry, name, version, p, q, r):\n    w = grand_total(r, q)\n"
            "    x = helper.compute_total()\n"
            "    spec = registry.lookup_spec()\n")
    doc = Doc(client, (tmp_path / "run.py").as_uri(), "python", text)
    open_cursor, disk_cursor = _after(text, "compute_total("), _after(text, "lookup_spec(")
    try:
        for cursor, fill in ((open_cursor, "p, q"), (disk_cursor, "name, version")):
            before = await stats(client)
            items = await doc.inline(cursor)
            assert items[0].insert_text == fill and items[0].range.start == doc.position(cursor)
            after = await stats(client)
            assert after["file_fills"] - before["file_fills"] == 1  # shown with no model pass
        # An edit to the open document beside it is seen at once.
        other.edit(other.text.rindex("p, q"), other.text.rindex("p, q") + len("p, q"), "q, p")
        assert (await doc.inline(open_cursor))[0].insert_text == "q, p"
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"infill": {"neighborFiles": False}})
        )
        try:
            for cursor, fill in ((open_cursor, "q, p"), (disk_cursor, "name, version")):
                assert all(i.insert_text != fill for i in await doc.inline(cursor, invoked=True))
        finally:
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"infill": {"neighborFiles": True}})
            )
    finally:
        for d in (doc, other):
            client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(d.uri)))


async def test_a_change_on_disk_to_a_file_beside_drops_suggestions_cached_from_it(fresh_client, tmp_path):
    # The client reports nothing about files on disk (as Neovim on Linux by default): the server notices by itself.
    client = fresh_client
    beside = tmp_path / "registry.py"
    beside.write_text("def load(registry, name, version):\n    return registry.lookup_spec(name, version)\n")
    text = "def run(registry, name, version, vkey_id, key):\n    spec = registry.lookup_spec()\n"
    doc = Doc(client, (tmp_path / "run.py").as_uri(), "python", text)
    cursor = _after(text, "lookup_spec(")
    mtime = beside.stat().st_mtime_ns
    try:
        assert (await doc.inline(cursor))[0].insert_text == "name, version"
        # Nothing changed: the same request is answered from the cache.
        before = await stats(client)
        assert (await doc.inline(cursor))[0].insert_text == "name, version"
        after = await stats(client)
        assert (after["cache_hits"], after["model_runs"]) == (before["cache_hits"] + 1, before["model_runs"])
        # Edited in place, to the same size and the same modification time but one: the cached answer is dropped.
        beside.write_text("def load(registry, name, vkey_id):\n    return registry.lookup_spec(name, vkey_id)\n")
        os.utime(beside, ns=(mtime + 1, mtime + 1))
        assert (await doc.inline(cursor))[0].insert_text == "name, vkey_id"
        assert (await stats(client))["cache_stale"] == after["cache_stale"] + 1
        # Removed, and another file saved beside it: what it was found in is gone.
        beside.unlink()
        (tmp_path / "other.py").write_text("def load(registry, name, key):\n    return registry.lookup_spec(name, key)\n")
        assert (await doc.inline(cursor))[0].insert_text == "name, key"
    finally:
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(doc.uri)))


@pytest_lsp.fixture(scope="module", config=config())
async def plain_client(lsp_client: LanguageClient):
    """A client without inline completion that counts positions in UTF-8."""
    await lsp_client.initialize_session(
        init_params(capabilities(inline=False, encodings=["utf-8"]), modelPath=tiny_model(), debounceMs=0, device="cpu")
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_edits_with_emoji_cjk_and_crlf_then_typing_through_utf8(plain_client):
    await _emoji_cjk_crlf_then_typing_through(plain_client, "utf-8", "file:///work/greet8.py")


async def test_completion_fallback_is_one_item_with_a_text_edit(plain_client):
    # A fill the file spells out, which keeps it parsing: shown while typing, as every fallback request is.
    text = "def run(self, a, b):\n    x = self.compute(a, b)\n    print(x)\n    y = self.compute()\n    print(y)\n"
    doc = Doc(plain_client, "file:///fallback/run.py", "python", text, "utf-8")
    cursor = _after(text, "y = self.compute(")
    result = await plain_client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=doc.uri),
            position=doc.position(cursor),
            context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
        )
    )
    (item,) = result.items
    assert result.is_incomplete
    assert item.text_edit.range == types.Range(doc.position(cursor), doc.position(cursor))
    assert item.text_edit.new_text.strip() and item.label


async def test_completion_fallback_goes_over_the_word_it_completes(plain_client):
    # Emacs's eglot and Zed filter the list by the word before the cursor: an item of `ght` after `item.wei` matched
    # nothing and was never shown. The item is the whole word, over the part typed.
    text = ("def total(items):\n    s = 0\n    for item in items:\n        s += item.weight * 2\n"
            "    for item in items:\n        s -= item.wei\n    return s\n")
    doc = Doc(plain_client, "file:///fallback/weight.py", "python", text, "utf-8")
    cursor = _after(text, "s -= item.wei")
    (item,) = await _fallback(plain_client, doc, cursor, types.CompletionTriggerKind.Invoked)
    start = cursor - len("wei")
    assert item.text_edit.range == types.Range(doc.position(start), doc.position(cursor))
    assert item.text_edit.new_text.startswith("weight") and item.label.startswith("weight")
    assert item.filter_text.startswith("wei")
    # After a `.` there is no word to go over: the item begins at the cursor.
    cursor = _after(text, "s -= item.")
    edited = text[:cursor] + text[cursor + len("wei"):]
    doc = Doc(plain_client, "file:///fallback/dot.py", "python", edited, "utf-8")
    (item,) = await _fallback(plain_client, doc, cursor, types.CompletionTriggerKind.Invoked)
    assert item.text_edit.range == types.Range(doc.position(cursor), doc.position(cursor))
    assert item.text_edit.new_text.startswith("wei") and item.label == item.text_edit.new_text.strip()


async def _fallback(client, doc, cursor, kind):
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=doc.uri),
            position=doc.position(cursor),
            context=types.CompletionContext(trigger_kind=kind),
        )
    )
    return result.items


async def test_completion_fallback_reads_every_request_as_typing(plain_client):
    # Editors send "Invoked" for the popup that opens as an identifier is typed (Helix), and the protocol cannot tell
    # it from a key pressed for completion: each request follows the typing rules.
    text = "Shopping list\n\nApples, pears and \n\nCall the shop before six.\n"
    doc = Doc(plain_client, "file:///fallback/midword.txt", "plaintext", text, "utf-8")
    for kind in (types.CompletionTriggerKind.Invoked, types.CompletionTriggerKind.TriggerForIncompleteCompletions):
        assert not await _fallback(plain_client, doc, _after(text, "Apples, pe"), kind)
    text = "def run(self, a, b):\n    x = self.compute(a, b)\n    print(x)\n    y = self.compute()\n    print(y)\n"
    doc = Doc(plain_client, "file:///fallback/repeat.py", "python", text, "utf-8")
    before = await stats(plain_client)
    (item,) = await _fallback(plain_client, doc, _after(text, "y = self.compute("), types.CompletionTriggerKind.Invoked)
    # The file's fill keeps it parsing: shown without waiting for the model, as while typing.
    assert item.text_edit.new_text == "a, b"
    assert (await stats(plain_client))["file_fills"] - before["file_fills"] == 1


@pytest_lsp.fixture(config=config())
async def pulling(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(configuration=True), modelPath=tiny_model(), debounceMs=0, device="cpu")
    )
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="function")
async def test_settings_the_server_asks_the_client_for_are_applied(pulling):
    # A change with no settings in it has the server ask for them (`workspace/configuration`); pygls hands the
    # answer over as a tuple, which was taken for no answer, and nothing changed.
    text = (SESSION / "stack.go").read_text()
    doc = Doc(pulling, "file:///pulled/stack.go", "go", text)
    cursor = _after(text, "\tv := s.items[")
    assert await doc.inline(cursor, invoked=True)
    pulling.set_configuration({"enabledLanguages": ["python"]}, section="infill")
    pulling.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    for _ in range(100):
        if await doc.inline(cursor, invoked=True) == []:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the pulled enabledLanguages never applied")
    # Each change is done with once handled: an async handler's future stayed in pygls's table of requests.
    for _ in range(50):
        pulling.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"infill": {"debounceMs": 0}}))
    assert (await stats(pulling))["requests_open"] <= 2


async def test_with_an_item_selected_in_the_completion_list_the_fill_goes_on_from_it(client):
    # VS Code asks while its completion list is open, and shows only items that begin with the selected item's text
    # over its range; the fill was made at the cursor, and never shown.
    text = ("def tally(self, a, b):\n    first = self.measure(a, b)\n    show(first)\n"
            "    again = self.meas\n    show(again)\n")
    doc = Doc(client, "file:///work/selected.py", "python", text)
    cursor = _after(text, "again = self.meas")
    word = types.Range(doc.position(cursor - len("meas")), doc.position(cursor))
    for kind in (types.InlineCompletionTriggerKind.Invoked, types.InlineCompletionTriggerKind.Automatic):
        result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=kind, selected_completion_info=types.SelectedCompletionInfo(range=word, text="measure")),
            text_document=types.TextDocumentIdentifier(uri=doc.uri), position=doc.position(cursor)))
        items = list(result.items)
        # The fill the file spells out after `self.measure`, in the text as it would be with the item accepted.
        assert items and items[0].insert_text == "measure(a, b)", items
        assert all(i.range == word and i.insert_text.startswith("measure") for i in items)
    # The document itself is as it was: a request without the list open fills at the cursor.
    for item in await doc.inline(cursor, invoked=True):
        assert item.range == types.Range(doc.position(cursor), doc.position(cursor))


async def test_a_selected_item_whose_range_is_not_at_the_cursor_is_ignored(client):
    # The selected item replaces a range at the cursor; one elsewhere (another line, or before the cursor on its
    # own) was taken as it came, and the suggestion's edit landed there: `import` at the top of the file.
    text = "import os\n\ndef main():\n    path = os.pa\n    print(path)\n"
    doc = Doc(client, "file:///work/selected-elsewhere.py", "python", text)
    cursor = _after(text, "os.pa")
    line = doc.position(cursor).line
    at = types.Range(doc.position(cursor), doc.position(cursor))
    plain = [(i.range, i.insert_text) for i in await doc.inline(cursor, invoked=True)]
    assert plain and all(r == at for r, _ in plain)
    elsewhere = [
        (types.Range(types.Position(0, 0), types.Position(0, 2)), "import"),  # another line
        (types.Range(types.Position(line, 4), types.Position(line, 8)), "path"),  # the cursor's line, before it
        (types.Range(doc.position(cursor - 2), doc.position(cursor + 10)), "pa"),  # on across the line's end
    ]
    for selected, item_text in elsewhere:
        result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked,
                selected_completion_info=types.SelectedCompletionInfo(range=selected, text=item_text)),
            text_document=types.TextDocumentIdentifier(uri=doc.uri), position=doc.position(cursor)))
        # Served as if no item were selected: at the cursor, as the client can show and apply it.
        assert [(i.range, i.insert_text) for i in result.items] == plain, selected


@pytest.mark.asyncio(loop_scope="function")
async def test_a_client_that_answers_the_settings_request_with_an_error_leaves_one_line_in_the_log(pulling, capsys):
    # The error ended the task that asked, which nothing awaited: "Task exception was never retrieved" and its
    # traceback on stderr.
    handle_request = pulling.protocol._handle_request

    def refuse_configuration(msg_id, method_name, params):
        if method_name != types.WORKSPACE_CONFIGURATION:
            return handle_request(msg_id, method_name, params)
        pulling.protocol._send_response(msg_id, error=types.ResponseError(code=-32603, message="no settings here"))

    pulling.protocol._handle_request = refuse_configuration
    text = (SESSION / "stack.go").read_text()
    doc = Doc(pulling, "file:///refused/stack.go", "go", text)
    pulling.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    logged = ""
    for _ in range(100):
        logged += capsys.readouterr().err
        if "no settings here" in logged:
            break
        await asyncio.sleep(0.1)
    (line,) = [line for line in logged.splitlines() if "no settings here" in line]
    assert "workspace/configuration" in line and "Traceback" not in logged and "never retrieved" not in logged
    assert not pulling.messages  # nothing for the user: the settings stay as they were
    assert await doc.inline(_after(text, "\tv := s.items["), invoked=True)


async def test_no_suggestion_closes_a_bracket_left_open_far_above_the_cursor(client):
    from engine.holes import is_parse_valid

    # `clamp`'s `if` has no `}`: a `}` at the cursor would make the file parse, `first`'s own `}` then closing
    # `clamp`, and was offered first.
    text = ("export function clamp(x: number, lo: number, hi: number): number {\n  if (x < lo) {\n    return lo;\n\n"
            "  return Math.min(x, hi);\n}\n\nexport function first(items: string[]): string | undefined {\n"
            "  return items[0];\n}\n")
    doc = Doc(client, "file:///work/far_open.ts", "typescript", text)
    cursor = _after(text, "return items[0];")
    assert is_parse_valid(text[:cursor] + "}" + text[cursor:], "typescript")
    for invoked in (False, True):
        items = await doc.inline(cursor, invoked=invoked)
        assert not [i.insert_text for i in items
                    if is_parse_valid(text[:cursor] + i.insert_text + text[cursor:], "typescript")], invoked


async def test_workspace_folder_and_progress_notifications_leave_no_request_open(client):
    # A multi-root client sends one for each folder added or removed; pygls's generator handlers filed each under a
    # made-up id in its table of requests and never took it out (`initialized` too, once).
    for n in range(30):
        folder = types.WorkspaceFolder(uri=f"file:///work/folder{n}", name=f"folder{n}")
        client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[])))
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=f"unknown-{n}"))
    # The stats command is answered as it arrives, so it is not among them.
    assert (await stats(client))["requests_open"] == 0


async def test_a_module_saved_or_written_beside_a_document_is_searched_though_an_answer_was_cached(
    fresh_client, tmp_path
):
    # An answer the document itself gave was cached for good: b.py written in the editor, saved and closed, or
    # written by another tool, never showed; a new server gave its fill.
    client = fresh_client
    text = "def g(rows, rate, items, tax_rate):\n    other = 2\n    value = compute_total(\n"
    beside = "def f(items, tax_rate):\n    value = compute_total(items, tax_rate)\n"
    mine, other = tmp_path / "a.py", tmp_path / "b.py"
    mine.write_text(text)
    os.utime(tmp_path, ns=(10**9, 10**9))  # modified long ago: a file added now changes its mtime
    doc = Doc(client, mine.as_uri(), "python", text)
    cursor = _after(text, "compute_total(")

    def close(uri):
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))

    try:
        assert "items, tax_rate)" not in [i.insert_text for i in await doc.inline(cursor, invoked=True)]
        Doc(client, other.as_uri(), "python", beside)
        assert (await doc.inline(cursor, invoked=True))[0].insert_text == "items, tax_rate)"
        other.write_text(beside)
        close(other.as_uri())
        assert (await doc.inline(cursor, invoked=True))[0].insert_text == "items, tax_rate)"
        # Written again by a tool while closed: the cached answer for this state is not the one it would give.
        other.write_text(beside.replace("items, tax_rate", "rows, rate"))
        assert (await doc.inline(cursor, invoked=True))[0].insert_text == "rows, rate)"
    finally:
        close(doc.uri)


async def test_while_typing_rust_in_a_body_left_open_the_line_gets_its_closers_and_a_header_no_semicolon(client):
    # tree-sitter-rust reads a body whose `}` is not written yet as one ERROR from the file's start.
    text = 'fn main() {\n    println!("{}", g(x\n'
    doc = Doc(client, "file:///work/open_body.rs", "rust", text)
    items = await doc.inline(_after(text, "g(x"))
    assert items and items[0].insert_text.endswith("));")  # a macro call standing as a statement owes its `;`
    # `int main();` parses, as a prototype: no `;` ends a header being typed.
    text = "#include <stdio.h>\n\nint main(\n"
    doc = Doc(client, "file:///work/header.c", "c", text)
    assert ");" not in [i.insert_text for i in await doc.inline(_after(text, "main("))]


@pytest_lsp.fixture(scope="module", config=config())
async def shipped(lsp_client: LanguageClient):
    """The embedded model, which closes a C call left open with a `)` alone, where a random model writes nonsense."""
    await lsp_client.initialize_session(init_params(capabilities(), debounceMs=0, device="cpu"))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize("name, text, marker", [
    ("release.c", "#include <stdlib.h>\n\nvoid release(char *buf) {\n    free(buf\n    buf = NULL;\n}\n", "free(buf"),
    ("guard.c", "void foo(int a);\nvoid bar(void);\nvoid h(int x, int a) {\n    if (x) { foo(a\n        bar();\n"
     "    }\n}\n", "foo(a"),
])
async def test_the_models_bare_closer_on_a_c_call_statement_is_shown_with_its_semicolon(shipped, name, text, marker):
    # tree-sitter-c reads `free(buf)` above `buf = NULL;` as a declaration, and `foo(a)` above `bar();` as one
    # statement: the model's `)` parsed, and was shown without the `;`.
    doc = Doc(shipped, f"file:///work/{name}", "c", text)
    cursor = _after(text, marker)
    assert [i.insert_text for i in await doc.inline(cursor)] == [");"]
    shown = [i.insert_text for i in await doc.inline(cursor, invoked=True)]
    assert ");" in shown and ")" not in shown


async def test_the_embedded_models_guess_of_a_blank_line_is_shown_while_typing_only_when_the_setting_asks(shipped):
    # Its generation config says its guesses of a whole line typed from nothing are not worth showing; the setting
    # says otherwise, and an invoked request is filled either way.
    text = "def area(width, height):\n    result = width * height\n    \n"
    doc = Doc(shipped, "file:///work/area.py", "python", text)
    cursor = _after(text, "height\n    ")
    before = await stats(shipped)
    assert await doc.inline(cursor) == []
    # Answered with no model pass, and counted so; as is a cursor in the middle of a word.
    assert await doc.inline(_after(text, "wid")) == []
    after = await stats(shipped)
    assert after["without_model"] - before["without_model"] == after["model_runs"] - before["model_runs"] == 2
    assert after["file_fills"] == before["file_fills"]
    assert "return result" in [i.insert_text for i in await doc.inline(cursor, invoked=True)]
    shipped.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"infill": {"typingNewLines": True}}))
    try:
        assert [i.insert_text for i in await doc.inline(cursor)] == ["return result"]
    finally:
        shipped.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"infill": {"typingNewLines": None}}))
    assert await doc.inline(cursor) == []
