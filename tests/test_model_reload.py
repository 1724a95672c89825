"""Changing the model's settings while the server runs: another model replaces the one loaded without both being held
at once, and a change of threads keeps the model loaded. Real checkpoints, through the service as the server drives
it (`configure`, then `load_model` when it says so)."""

import asyncio
import json
import weakref

import pytest
import pytest_lsp
import torch
from lsprotocol import types
from pytest_lsp import LanguageClient

from engine.tiny import write_random_checkpoint
from infill_ls import model_loader
from infill_ls.documents import Position, PositionEncoding
from infill_ls.service import InfillService
from infill_ls.settings import Settings

from lsp_support import capabilities, config, init_params, tiny_model

# Code in a language with no grammar here, read as plain text: any fill of the random model is shown, none dropped
# for the syntax error it would add (nor, as in prose, for the broken words it is full of).
PLAIN = "file:///work/add.rb"
SOURCE = "def add(a, b):\n    return \n"


@pytest.fixture
def loads(monkeypatch):
    """Every engine the loader loads, as it loads them: the real `load_engine`, noting before each load which of the
    engines loaded before it are still alive, and keeping no engine alive itself."""
    record = {"engines": [], "alive_at_load": []}
    real = model_loader.load_engine

    def load_engine(settings, *args, **kwargs):
        record["alive_at_load"].append([ref() is not None for ref in record["engines"]])
        engine = real(settings, *args, **kwargs)
        record["engines"].append(weakref.ref(engine))
        return engine

    monkeypatch.setattr(model_loader, "load_engine", load_engine)
    yield record
    torch.set_num_threads(1)  # as conftest has it: a threads setting applied here is process-wide


async def _configure(service: InfillService, raw):
    """As the server does on `workspace/didChangeConfiguration`; the engine requests now get."""
    problems, reload = service.configure(raw)
    assert problems == []
    if reload:
        service.load_model(lambda result: None)
    return await service.model.engine()


async def _service(settings: Settings) -> InfillService:
    service = InfillService(settings)
    service.load_model(lambda result: None)
    assert await service.model.engine() is not None
    return service


async def test_another_model_loads_only_once_the_old_one_is_released(loads, tmp_path):
    other = str(write_random_checkpoint(tmp_path / "other", seed=1, whole_characters=True))
    service = await _service(Settings(model_path=tiny_model(), device="cpu"))
    try:
        first = await service.model.engine()  # kept, as a request in flight keeps what it was handed
        second = await _configure(service, {"modelPath": other})
    finally:
        service.shutdown(wait_s=30)
    assert loads["alive_at_load"] == [[], [False]]
    assert loads["engines"][1]() is not None and other in second.description
    assert service.stats()["model"] == second.description
    # What a request was handed still says which model it was, but no longer runs one.
    assert tiny_model() in first.description
    with pytest.raises(model_loader.Unloaded):
        first.count_tokens("x")


async def test_an_engine_still_held_elsewhere_gives_up_its_weights_before_the_next_load(monkeypatch, tmp_path):
    # Something outside the loader may still hold the engine object (the traceback of a request stopped inside it):
    # its weights must go all the same.
    held = []
    real = model_loader.load_engine

    def load_engine(settings, *args, **kwargs):
        held.append(real(settings, *args, **kwargs))
        return held[-1]

    monkeypatch.setattr(model_loader, "load_engine", load_engine)
    other = str(write_random_checkpoint(tmp_path / "other", seed=1, whole_characters=True))
    service = await _service(Settings(model_path=tiny_model(), device="cpu"))
    try:
        await _configure(service, {"modelPath": other})
    finally:
        service.shutdown(wait_s=30)
    old, new = held
    assert {p.device.type for p in old.model.parameters()} == {"meta"}
    assert {p.device.type for p in new.model.parameters()} == {"cpu"}


async def test_a_request_handed_the_old_engine_is_answered_without_a_fill_after_the_switch(loads, tmp_path):
    other = str(write_random_checkpoint(tmp_path / "other", seed=1, whole_characters=True))
    service = await _service(Settings(model_path=tiny_model(), device="cpu", debounce_ms=1000))
    try:
        service.open(PLAIN, "ruby", 1, SOURCE)
        before = await service.suggest_in(service.documents.get(PLAIN), Position(1, 11), PositionEncoding.UTF16,
                                          explicit=False)
        assert before, "the old model fills the hole"
        service.open(PLAIN, "ruby", 2, SOURCE + "\n")  # a new version: not answered from the cache
        typing = asyncio.ensure_future(service.suggest_in(service.documents.get(PLAIN), Position(1, 11),
                                                          PositionEncoding.UTF16, explicit=False))
        await asyncio.sleep(0)  # it takes the engine, then waits out its debounce
        assert not typing.done() and service.scheduler.stats.requests == 2
        await _configure(service, {"modelPath": other})
        suggestions = await typing
        assert suggestions == [] and service.scheduler.stats.superseded == 1
        # The next request is the new model's.
        after = await service.suggest_in(service.documents.get(PLAIN), Position(1, 11), PositionEncoding.UTF16,
                                        explicit=True)
        assert after
    finally:
        service.shutdown(wait_s=30)
    assert loads["alive_at_load"] == [[], [False]]


async def test_a_change_of_threads_alone_keeps_the_model_and_sets_the_count(loads):
    service = await _service(Settings(model_path=tiny_model(), device="cpu", threads=1))
    try:
        first = await service.model.engine()
        second = await _configure(service, {"threads": 2})
        on_worker = await asyncio.wrap_future(service.scheduler.submit(torch.get_num_threads))
        tokens = await asyncio.wrap_future(service.scheduler.submit(lambda: second.count_tokens("return a + b")))
    finally:
        service.shutdown(wait_s=30)
    assert len(loads["engines"]) == 1 and loads["engines"][0]() is not None
    assert second is first and on_worker == 2 and tokens > 0


async def test_a_load_overtaken_before_it_starts_is_skipped(loads):
    service = InfillService(Settings(model_path=tiny_model(), device="cpu"))
    results = []
    try:
        # Three loads asked for at once, as settings changed in quick succession: the worker is busy with the first
        # when the second's turn would come, and by then the third has replaced it.
        service.load_model(results.append)
        service.configure({"modelPath": "/nonexistent/infill-model"})
        service.load_model(results.append)
        service.configure({"modelPath": tiny_model(), "threads": 2})
        service.load_model(results.append)
        engine = await service.model.engine()
    finally:
        service.shutdown(wait_s=30)
    assert engine is not None and service.model.error is None
    assert len(loads["alive_at_load"]) == 1  # the first loads the model; the third finds it held
    skipped = results[1]
    assert (skipped.generation, skipped.engine, skipped.error) == (2, None, None)


def _unloadable(tmp_path) -> list[str]:
    """Model paths that fail the checks made before the weights are read: a typo, a checkpoint whose shard is not a
    safetensors file, and one whose canvas holds no hole beside the suffix anchors (each fill would fail)."""
    garbage = write_random_checkpoint(tmp_path / "garbage", seed=1)
    (garbage / "model.safetensors").write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    narrow = write_random_checkpoint(tmp_path / "narrow", seed=1)
    config = json.loads((narrow / "config.json").read_text())
    config["canvas_length"] = 8
    config.pop("infill_canvas_lengths", None)
    (narrow / "config.json").write_text(json.dumps(config))
    return [str(tmp_path / "typo"), str(garbage), str(narrow)]


async def test_a_model_path_that_cannot_be_loaded_keeps_the_model_loaded_and_says_so(loads, tmp_path):
    # A typo in modelPath released the working model before the new path was even looked at: the server was left
    # with none, every completion empty.
    service = await _service(Settings(model_path=tiny_model(), device="cpu"))
    try:
        first = await service.model.engine()
        for path in _unloadable(tmp_path):
            kept = await _configure(service, {"modelPath": path})
            assert kept is first
            error = service.model.error
            assert error.startswith("cannot load model") and path in error and "\n" not in error
            assert error.endswith(f"; keeping the model loaded from {tiny_model()}")
            assert service.stats()["model"] == first.description
            assert kept.count_tokens("return a + b") > 0
        # Back to the model held: no load, no error.
        assert await _configure(service, {"modelPath": tiny_model()}) is first and service.model.error is None
    finally:
        service.shutdown(wait_s=30)
    assert len(loads["engines"]) == 1 and loads["engines"][0]() is not None


@pytest_lsp.fixture(config=config())
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _stats(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))


async def test_a_load_that_failed_after_a_newer_one_was_asked_for_says_nothing(client: LanguageClient):
    # The first load imports torch for seconds before it finds no model there; the settings that replace it arrive
    # meanwhile. Its error is no longer the server's state, and was shown all the same.
    broken = "/nonexistent/infill-model"
    await client.initialize_session(init_params(capabilities(progress=True), modelPath=broken, device="cpu"))
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"modelPath": tiny_model()}))
    loading = ("loading", f"loading {tiny_model()}")
    for _ in range(1200):
        if loading in client.statuses and client.statuses[-1][0] != "loading":
            break
        await asyncio.sleep(0.05)
    stats = await _stats(client)
    assert stats["model"] and stats["model_error"] is None
    assert client.statuses[-1] == ("ready", stats["model"])
    assert [m.message for m in client.messages if broken in m.message] == []
    assert [m.message for m in client.log_messages if broken in m.message] == []


async def test_threads_set_back_to_null_are_half_the_cores_whatever_was_set_before(client: LanguageClient):
    # The server runs with OMP_NUM_THREADS=1 (SERVER_ENV): torch's own count is 1, and half of it is still 1. The
    # count set from the settings first (4) was taken for torch's, and null gave 2.
    await client.initialize_session(init_params(capabilities(), modelPath=tiny_model(), device="cpu", threads=4))
    for _ in range(1200):
        if (await _stats(client))["model_threads"] == 4:
            break
        await asyncio.sleep(0.05)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"threads": None}))
    for _ in range(1200):
        if (threads := (await _stats(client))["model_threads"]) != 4:
            break
        await asyncio.sleep(0.05)
    assert threads == 1
