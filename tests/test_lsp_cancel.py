"""Superseded and cancelled requests never answer with a stale item."""

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from lsp_support import SESSION, capabilities, config, init_params, loaded, position_of, replace_change, tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A long debounce keeps each request in flight long enough to be overtaken on purpose.
DEBOUNCE_MS = 600


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), debounceMs=DEBOUNCE_MS, device="cpu")
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


TEXT = (SESSION / "inventory.py").read_text()
CURSOR = TEXT.index("    total = 0.0") + len("    total = ")


def _open(client, uri):
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=TEXT)))


def _params(uri, text, offset, invoked=False):
    # The answers that must hold a fill are asked for explicitly: a typing request runs one canvas row, which
    # the random-weight test model may fill with voids only (and an empty fill is dropped).
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position_of(text, offset),
    )


def _type(client, uri, version, text, offset, ch):
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version), [replace_change(text, offset, offset, ch)]
        )
    )
    return text[:offset] + ch + text[offset:]


async def _items(future):
    try:
        result = await future
    except JsonRpcRequestCancelled:
        return None
    return list(result.items)


async def test_a_newer_request_supersedes_the_older_one(client):
    uri = "file:///cancel/supersede.py"
    _open(client, uri)
    # ensure_future: the client sends a request only once its coroutine runs.
    older = asyncio.ensure_future(client.text_document_inline_completion_async(_params(uri, TEXT, CURSOR)))
    await asyncio.sleep(0.05)
    text = _type(client, uri, 2, TEXT, CURSOR, "1")
    newer = asyncio.ensure_future(client.text_document_inline_completion_async(_params(uri, text, CURSOR + 1, True)))
    assert await _items(older) == []  # never a fill computed for text that is gone
    items = await _items(newer)
    assert items and all(i.range.start == position_of(text, CURSOR + 1) for i in items)
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats", arguments=[]))
    assert stats["superseded"] >= 1


async def test_a_cancelled_request_answers_with_the_cancel_error(client):
    uri = "file:///cancel/cancel.py"
    _open(client, uri)
    msg_id = "cancel-me"
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, _params(uri, TEXT, CURSOR), msg_id=msg_id)
    )
    await asyncio.sleep(0.05)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats", arguments=[]))
    assert stats["cancelled"] >= 1


async def test_a_result_for_a_version_that_moved_on_is_dropped(client):
    uri = "file:///cancel/moved.py"
    _open(client, uri)
    pending = asyncio.ensure_future(client.text_document_inline_completion_async(_params(uri, TEXT, CURSOR)))
    await asyncio.sleep(0.05)
    # An edit with no request of its own: the pending one must not answer for the old text.
    text = _type(client, uri, 2, TEXT, 0, "#")
    assert await _items(pending) == []
    fresh = client.text_document_inline_completion_async(_params(uri, text, CURSOR + 1, True))
    items = await _items(fresh)
    assert items and items[0].range.start == position_of(text, CURSOR + 1)


@pytest_lsp.fixture(scope="module", config=config())
async def long_fills(lsp_client: LanguageClient):
    # An explicit fill that runs for seconds on the test model: up to 512 steps for a hole of up to 512 tokens.
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), device="cpu", maxSteps=512, maxHoleTokens=512)
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def _stats(client) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))


async def test_a_change_stops_the_fill_running_for_the_text_before_it(long_fills):
    # A change with no request after it (an editor that asks again only once typing pauses): the fill for the text
    # before it ran on to its end, holding the model's worker for seconds while the next request waited behind it,
    # and was only then dropped.
    client = long_fills
    uri = "file:///cancel/changed.py"
    _open(client, uri)
    before = await _stats(client)
    pending = asyncio.ensure_future(client.text_document_inline_completion_async(_params(uri, TEXT, CURSOR, True)))
    for _ in range(1200):  # until the fill is on the worker
        if (await _stats(client))["model_runs"] > before["model_runs"]:
            break
        await asyncio.sleep(0.02)
    assert not pending.done()
    text = _type(client, uri, 2, TEXT, 0, "#")
    assert await _items(pending) == []
    after = await _stats(client)
    assert after["superseded"] == before["superseded"] + 1 and after["cancelled"] == before["cancelled"]
    # Typing on: a change, then the request for the text it made.
    text = _type(client, uri, 3, text, CURSOR + 1, "1")
    items = await _items(client.text_document_inline_completion_async(_params(uri, text, CURSOR + 2, True)))
    assert items and all(i.range.start == position_of(text, CURSOR + 2) for i in items)
