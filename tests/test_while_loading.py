"""Suggestions while the model loads: the fills a file spells out need only the checkpoint's config and tokenizer,
so they are offered before torch and the weights are loaded (minutes, for a large checkpoint), and the model's own
once they are. A real checkpoint and the real loader, through the service as the server drives it; the weights' read is held back
until the test lets it go, as a large checkpoint's would be."""

import asyncio
import threading

import pytest

from engine import checkpoint
from infill_ls.documents import Position, PositionEncoding, TextChange
from infill_ls.service import InfillService
from infill_ls.settings import Settings

from lsp_support import tiny_model

# The file spells out the call's arguments two lines above the cursor.
SOURCE = "def f(items, tax_rate):\n    value = compute_total(items, tax_rate)\n    other = compute_total(\n"
AT = Position(2, len("    other = compute_total("))
FILL = "items, tax_rate)"
# Nothing in the file fills this one: it is the model's to fill.
NOTHING = "def g(a):\n    return \n"
NOTHING_AT = Position(1, len("    return "))
URI = "file:///work/prices.py"


@pytest.fixture
def weights_held(monkeypatch):
    """The checkpoint's weights are read only once the event is set, whenever the load gets to them."""
    release, reading = threading.Event(), threading.Event()
    real = checkpoint.read_weights

    def read_weights(plan):
        reading.set()
        assert release.wait(60), "the test never let the weights load"
        return real(plan)

    monkeypatch.setattr(checkpoint, "read_weights", read_weights)
    yield release, reading
    release.set()


@pytest.fixture
async def service(weights_held):
    service = InfillService(Settings(model_path=tiny_model(), device="cpu", debounce_ms=0))
    yield service
    weights_held[0].set()
    service.shutdown(wait_s=30)


async def _ask(service: InfillService, position: Position, explicit: bool = False) -> list[tuple[str, str]]:
    suggestions = await service.suggest_in(service.documents.get(URI), position, PositionEncoding.UTF16,
                                           explicit=explicit)
    return [(s.text, s.source) for s in suggestions]


async def _loading(service: InfillService, reading: threading.Event) -> asyncio.Future:
    """Start the load; return once it is reading the weights, with the future its end settles."""
    done = asyncio.get_running_loop().create_future()
    service.load_model(done.set_result)
    assert await asyncio.to_thread(reading.wait, 60)
    return done


async def test_the_files_fill_is_offered_while_the_weights_load_and_the_models_once_they_have(service, weights_held):
    release, reading = weights_held
    service.open(URI, "python", 1, SOURCE)
    loaded = await _loading(service, reading)
    # Typing and invoked alike: the file's fill, found beside the worker, which is busy reading the weights.
    assert await asyncio.wait_for(_ask(service, AT), 30) == [(FILL, "file")]
    assert await asyncio.wait_for(_ask(service, AT, explicit=True), 30) == [(FILL, "file")]
    stats = service.stats()
    assert (stats["while_loading"], stats["model_runs"], stats["model"]) == (2, 0, None)
    assert not loaded.done()
    release.set()
    result = await asyncio.wait_for(loaded, 60)
    assert result.error is None and result.engine is not None
    # Not kept from the load: the same invoked request now runs the model, whose fills follow the file's.
    suggestions = await _ask(service, AT, explicit=True)
    assert suggestions[0] == (FILL, "file") and service.stats()["model_runs"] == 1


async def test_a_hole_the_file_does_not_fill_waits_for_the_model(service, weights_held):
    release, reading = weights_held
    service.open(URI, "python", 1, NOTHING)
    loaded = await _loading(service, reading)
    asked = asyncio.ensure_future(_ask(service, NOTHING_AT, explicit=True))
    await asyncio.sleep(0.5)
    assert not asked.done() and service.stats()["while_loading"] == 1
    release.set()
    await asyncio.wait_for(loaded, 60)
    # Answered by the model once it has loaded: a random model's fill, in a file whose every line the model may
    # break, so only that it ran is certain.
    await asyncio.wait_for(asked, 60)
    assert service.stats()["model_runs"] == 1


async def test_a_keystroke_while_waiting_for_the_model_supersedes_the_request(service, weights_held):
    release, reading = weights_held
    service.open(URI, "python", 1, NOTHING)
    await _loading(service, reading)
    asked = asyncio.ensure_future(_ask(service, NOTHING_AT))
    await asyncio.sleep(0.5)
    service.change(URI, 2, [TextChange(None, NOTHING + "x")], PositionEncoding.UTF16)
    release.set()
    assert await asyncio.wait_for(asked, 60) == []
    assert service.stats()["model_runs"] == 0  # stopped before it reached the model


async def test_a_request_made_as_the_load_starts_gets_the_files_fill_before_the_model(service, weights_held):
    service.open(URI, "python", 1, SOURCE)
    service.load_model(lambda result: None)
    # Asked before the load has read even the checkpoint's config: it waits for the config and tokenizer (read
    # before torch is imported), not for the model.
    assert await asyncio.wait_for(_ask(service, AT), 30) == [(FILL, "file")]
    assert service.stats()["model"] is None


async def test_with_file_lookup_off_a_request_waits_for_the_model(weights_held):
    release, reading = weights_held
    service = InfillService(Settings(model_path=tiny_model(), device="cpu", debounce_ms=0, file_lookup=False))
    try:
        service.open(URI, "python", 1, SOURCE)
        loaded = await _loading(service, reading)
        asked = asyncio.ensure_future(_ask(service, AT, explicit=True))
        await asyncio.sleep(0.5)
        assert not asked.done() and service.stats()["while_loading"] == 0
        release.set()
        await asyncio.wait_for(loaded, 60)
        assert (FILL, "file") not in await asyncio.wait_for(asked, 60)
        assert service.stats()["model_runs"] == 1
    finally:
        release.set()
        service.shutdown(wait_s=30)


async def test_threads_an_editor_sends_as_it_starts_are_set_by_the_first_load_not_a_job_before_it(weights_held):
    release, reading = weights_held
    service = InfillService(Settings(model_path=tiny_model(), device="cpu", debounce_ms=0))
    try:
        assert service.configure({"threads": 1}) == ([], False)
        await asyncio.sleep(0.3)
        # No job on the worker before the load (it would import torch, seconds, ahead of the file's fills).
        assert service.stats()["model_threads"] is None
        release.set()
        loaded = asyncio.get_running_loop().create_future()
        service.load_model(loaded.set_result)
        await asyncio.wait_for(loaded, 60)
        assert service.stats()["model_threads"] == 1
    finally:
        release.set()
        service.shutdown(wait_s=30)
