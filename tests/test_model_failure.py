"""A model that loads but fails as it fills (its float16 activations overflow; on a GPU, a long file past its
memory): said once as the server's state, not as each request's error, which an editor shows at every keystroke.
The real server over stdio, with a real checkpoint that fails so."""

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
import torch
from lsprotocol import types
from pytest_lsp import LanguageClient
from safetensors.torch import load_file, save_file

from engine.errors import EngineError, RunFailed
from engine.infill import InfillEngine
from infill_ls.model_loader import ModelLoader
from infill_ls.scheduler import Scheduler

from lsp_support import SERVER, capabilities, config, init_params, loaded, tiny_model

PY = "file:///work/example.py"
SOURCE = "def add(a, b):\n    return \n\n\ndef mul(a, b):\n    return a * b\n"


def _overflowing_model() -> str:
    """The tiny checkpoint with one column of its embedding at 30000: finite, and within float16's range (65504) as
    stored, but past it once scaled by the square root of the hidden size as it is read, so that in float16 every
    fill's logits are NaN, while in float32 the model runs."""
    path = Path(tempfile.mkdtemp(prefix="infill-ls-overflow-")) / "model"
    shutil.copytree(tiny_model(), path)
    weights = load_file(path / "model.safetensors")
    weights["model.decoder.embed_tokens.weight"][:, 0] = 30000.0
    save_file(weights, path / "model.safetensors", metadata={"format": "pt"})
    return str(path)


OVERFLOWING = _overflowing_model()


@pytest_lsp.fixture(config=config([*SERVER, "--model", OVERFLOWING, "--dtype", "float16", "--device", "cpu"]))
async def client(lsp_client: LanguageClient):
    # The model's own fills alone: none copied from the file.
    await lsp_client.initialize_session(init_params(capabilities(), fileLookup=False, debounceMs=300))
    yield
    await lsp_client.shutdown_session()


def _inline(line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri=PY),
        position=types.Position(line, character),
    )


async def _stats(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))


async def test_fills_that_fail_are_said_once_and_each_request_gets_an_empty_answer(client: LanguageClient):
    await loaded(client)
    assert client.statuses[-1][0] == "ready"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=PY, language_id="python", version=1, text=SOURCE)))
    for line, character in ((1, 11), (1, 11), (5, 8)):
        answer = await client.text_document_inline_completion_async(_inline(line, character))
        assert answer is not None and list(answer.items) == []
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "logits are not finite" in errors[0] and "\n" not in errors[0]
    kind, message = client.statuses[-1]
    assert kind == "warning" and message in errors[0] and message.startswith("the model's fills fail: ")
    stats = await _stats(client)
    assert stats["model_runs"] >= 3 and "logits are not finite" in stats["model_failure"]  # each tried it again

    # A typing request that runs no model (mid-word), waiting out its pause while another document's run fails: it
    # ran nothing, and says nothing of the model; the failure stands.
    other = "file:///work/other.py"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=other, language_id="python", version=1, text=SOURCE)))
    typing = types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri=PY), position=types.Position(0, 5))
    invoked = _inline(5, 8)
    invoked.text_document = types.TextDocumentIdentifier(uri=other)
    await asyncio.gather(client.text_document_inline_completion_async(typing),
                         client.text_document_inline_completion_async(invoked))
    assert client.statuses[-1][0] == "warning" and (await _stats(client))["model_failure"] is not None

    # An action says it as its outcome; the status says it already, and no second popup comes.
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=PY),
        range=types.Range(types.Position(5, 4), types.Position(5, 16)),
        context=types.CodeActionContext(diagnostics=[])))
    (rewrite,) = [a for a in actions if a.title == "Rewrite selection"]
    assert (await client.code_action_resolve_async(rewrite)).edit is None
    assert any(m.message.startswith("infill-ls: Rewrite selection: ") and "logits are not finite" in m.message
               for m in client.messages if m.type == types.MessageType.Info)
    assert len([m for m in client.messages if m.type == types.MessageType.Error]) == 1

    # float32 mends it: the model loads again, fills run, and the status says ready with no failure after; a request
    # while it loads says nothing of the model before.
    said = len(client.statuses)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"dtype": "float32"}))
    await client.text_document_inline_completion_async(_inline(5, 8))
    for _ in range(1200):
        if client.statuses[-1][0] == "ready" and "float32" in client.statuses[-1][1]:
            break
        await asyncio.sleep(0.05)
    runs = (await _stats(client))["model_runs"]
    answer = await client.text_document_inline_completion_async(_inline(1, 11))
    assert answer is not None
    stats = await _stats(client)
    assert stats["model_runs"] > runs and stats["model_failure"] is None
    assert client.statuses[-1][0] == "ready" and "float32" in client.statuses[-1][1]
    assert not any("float16" in message for _, message in client.statuses[said:])
    assert len([m for m in client.messages if m.type == types.MessageType.Error]) == 1


def test_the_failure_is_one_line_the_models_or_the_servers_and_ends_with_a_fill_that_runs():
    loader = ModelLoader(Scheduler())
    loader.ran(EngineError("denoising step 1: the model's logits are not finite"), 0)
    assert loader.failure == "the model's fills fail: denoising step 1: the model's logits are not finite"
    # An error the engine did not word is a defect of the server's, not the model's: its type and first line.
    loader.ran(IndexError("list index out of range\nmore"), 0)
    assert loader.failure == ("fills fail: IndexError: list index out of range (a defect of infill-ls; its log has "
                              "the traceback)")
    loader.ran(ValueError(""), 0)
    assert loader.failure.startswith("fills fail: ValueError: no message")
    loader.ran(None, 0)
    assert loader.failure is None
    # A run of a model since replaced (a load begun while it ran) says nothing of the one loaded now.
    loader.ran(EngineError("denoising step 1: the model's logits are not finite"), -1)
    assert loader.failure is None
    # The device out of memory with other details each time is the same failure met again.
    loader.ran(RunFailed("out of memory on cuda for a prompt of 10 tokens (2.00 GiB)", "out of memory"), 0)
    first = loader.failure_kind
    loader.ran(RunFailed("out of memory on cuda for a prompt of 23 tokens (4.00 GiB)", "out of memory"), 0)
    assert loader.failure_kind == first and "23 tokens" in loader.failure


def test_a_device_out_of_memory_is_the_models_failure_in_one_line(monkeypatch):
    # On a GPU a long prefix can be more than it holds, and the next request fit: said as the engine's own error.
    engine = InfillEngine.load(tiny_model(), device="cpu")

    def short_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB.\nIf reserved but unallocated...")

    monkeypatch.setattr(engine.prefix_cache, "encode", short_of_memory)
    with pytest.raises(RunFailed, match=r"^out of memory on cpu for a prompt of \d+ tokens and \d+ canvas rows "
                                          r"\(CUDA out of memory. Tried to allocate 2.00 GiB.\)$"):
        engine.infill("def f():\n    return ", "\n")

    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(engine.prefix_cache, "encode", broken)  # not memory: a defect, as it was raised
    with pytest.raises(RuntimeError, match="^shape mismatch$"):
        engine.infill("def f():\n    return ", "\n")
