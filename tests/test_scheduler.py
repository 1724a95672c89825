import asyncio
import threading

import pytest

from infill_ls.documents import Snapshot
from infill_ls.scheduler import Priority, Scheduler, Superseded, TypingThrough


@pytest.fixture
def scheduler():
    s = Scheduler()
    yield s
    s.close()


def _stoppable(started: threading.Event, seen_stop: list[bool], limit_s: float = 5.0):
    """Work that runs until told to stop, like a denoising loop polling between steps."""

    def work(should_stop):
        started.set()
        waited = 0.0
        while not should_stop() and waited < limit_s:
            threading.Event().wait(0.005)
            waited += 0.005
        seen_stop.append(should_stop())
        if should_stop():
            raise RuntimeError("stopped")  # what an engine raises is up to the engine
        return "finished"

    return work


async def test_work_runs_on_the_worker_thread_not_the_loop(scheduler):
    ticket = scheduler.enter("a")
    name = await scheduler.run(ticket, lambda stop: threading.current_thread().name)
    assert name == "infill-worker"
    assert name != threading.current_thread().name


async def test_newer_request_stops_the_running_one(scheduler):
    started, seen = threading.Event(), []
    old = asyncio.ensure_future(scheduler.run(scheduler.enter("doc"), _stoppable(started, seen)))
    await asyncio.to_thread(started.wait, 5)
    new = scheduler.enter("doc")
    with pytest.raises(Superseded):
        await old
    assert seen == [True]
    assert await scheduler.run(new, lambda stop: "fresh") == "fresh"
    assert scheduler.stats.superseded == 1


async def test_a_superseded_job_waiting_in_the_queue_never_runs(scheduler):
    gate = threading.Event()
    calls = []
    blocker = asyncio.ensure_future(scheduler.run(scheduler.enter("other"), lambda stop: gate.wait(5)))
    queued = asyncio.ensure_future(scheduler.run(scheduler.enter("doc"), lambda stop: calls.append("old")))
    await asyncio.sleep(0.05)
    newer = asyncio.ensure_future(scheduler.run(scheduler.enter("doc"), lambda stop: calls.append("new") or "new"))
    gate.set()
    await blocker
    with pytest.raises(Superseded):
        await queued
    assert await newer == "new"
    assert calls == ["new"]


async def _queued_behind_a_gate(scheduler, jobs) -> list[str]:
    """Runs `jobs` ((name, priority or None for `Scheduler.submit`), queued in that order while the worker is busy)
    and returns the order they ran in."""
    gate, ran = threading.Event(), []
    blocker = asyncio.ensure_future(scheduler.run(scheduler.enter("busy"), lambda stop: gate.wait(5)))
    await asyncio.sleep(0.05)
    waiting = []
    for name, priority in jobs:
        if priority is None:
            waiting.append(asyncio.wrap_future(scheduler.submit(lambda name=name: ran.append(name))))
        else:
            waiting.append(asyncio.ensure_future(scheduler.run(
                scheduler.enter(name), lambda stop, name=name: ran.append(name), priority=priority)))
            await asyncio.sleep(0)  # queued now: `run` awaits nothing before it queues a job without a debounce
    gate.set()
    await asyncio.gather(blocker, *waiting)
    return ran


async def test_a_typing_job_goes_ahead_of_explicit_and_action_jobs_queued_before_it(scheduler):
    # One queue, first in first out: a keystroke in a small file waited for an explicit fill or an action queued for
    # another document, seconds on a large one.
    ran = await _queued_behind_a_gate(scheduler, [
        ("action a", Priority.ACTION), ("explicit b", Priority.EXPLICIT), ("action c", Priority.ACTION),
        ("typing d", Priority.TYPING), ("explicit e", Priority.EXPLICIT), ("typing f", Priority.TYPING),
    ])
    assert ran == ["typing d", "typing f", "explicit b", "explicit e", "action a", "action c"]


async def test_a_model_load_keeps_its_place_among_the_jobs_queued_around_it(scheduler):
    # Those queued before it ran on the model they were handed, those after it wait for it (threads set after a load
    # are not set back by it), as in a queue first in first out.
    ran = await _queued_behind_a_gate(scheduler, [
        ("action a", Priority.ACTION), ("typing b", Priority.TYPING), ("load", None), ("typing c", Priority.TYPING),
        ("threads", None), ("explicit d", Priority.EXPLICIT),
    ])
    assert ran == ["typing b", "action a", "load", "typing c", "threads", "explicit d"]


async def test_debounce_lets_a_burst_of_requests_run_the_model_once(scheduler):
    calls = []
    tasks = []
    for i in range(5):
        ticket = scheduler.enter("doc")
        tasks.append(
            asyncio.ensure_future(scheduler.run(ticket, lambda stop, i=i: calls.append(i) or i, debounce_s=0.05))
        )
        await asyncio.sleep(0.005)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert calls == [4]
    assert results[-1] == 4
    assert all(isinstance(r, Superseded) for r in results[:-1])
    assert scheduler.stats.model_runs == 1


async def test_results_are_cached_by_key(scheduler):
    calls = []

    def work(stop):
        calls.append(1)
        return ["fill"]

    assert await scheduler.run(scheduler.enter("d"), work, key=("k", 1)) == ["fill"]
    assert await scheduler.run(scheduler.enter("d"), work, key=("k", 1)) == ["fill"]
    assert await scheduler.run(scheduler.enter("d"), work, key=("k", 2)) == ["fill"]
    assert len(calls) == 2
    assert scheduler.stats.cache_hits == 1


async def test_a_cached_result_that_no_longer_holds_is_computed_again(scheduler):
    calls, holds = [], {"first": False}

    def work(stop):
        calls.append(1)
        return "first" if len(calls) == 1 else "second"

    def fresh(result):
        return holds.get(result, True)

    assert await scheduler.run(scheduler.enter("d"), work, key="k", fresh=fresh) == "first"
    # "first" no longer holds: computed again, and the new result replaces it in the cache.
    assert await scheduler.run(scheduler.enter("d"), work, key="k", fresh=fresh) == "second"
    assert await scheduler.run(scheduler.enter("d"), work, key="k", fresh=fresh) == "second"
    assert len(calls) == 2
    assert (scheduler.stats.cache_hits, scheduler.stats.cache_stale) == (1, 1)


async def test_the_results_of_a_document_go_when_it_is_forgotten(scheduler):
    calls = []

    def work(stop):
        calls.append(1)
        return len(calls)

    assert await scheduler.run(scheduler.enter("a"), work, key="for a", owner="a") == 1
    assert await scheduler.run(scheduler.enter("b"), work, key="for b", owner="b") == 2
    scheduler.cache.forget("a")
    assert scheduler.cache.get("for a") is None and scheduler.cache.get("for b") == 2
    assert await scheduler.run(scheduler.enter("a"), work, key="for a", owner="a") == 3


async def test_cancelling_the_request_stops_the_work(scheduler):
    started, seen = threading.Event(), []
    task = asyncio.ensure_future(scheduler.run(scheduler.enter("doc"), _stoppable(started, seen)))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == [True]
    assert scheduler.stats.cancelled == 1


async def test_errors_from_work_reach_the_caller(scheduler):
    def work(stop):
        raise ValueError("bad checkpoint tensor")

    with pytest.raises(ValueError, match="bad checkpoint"):
        await scheduler.run(scheduler.enter("d"), work)
    # The worker survives it.
    assert await scheduler.run(scheduler.enter("d"), lambda stop: 7) == 7


def _snap(text: str, version: int = 1) -> Snapshot:
    return Snapshot("file:///a.py", "python", version, text)


def test_typing_through_returns_the_rest_of_a_shown_fill():
    typing = TypingThrough()
    before = "x = foo(\n"
    typing.remember(_snap(before), 8, ["a, b)", "c)"])
    after = "x = foo(a,\n"
    assert typing.continuation(_snap(after, 2), 10) == [" b)"]
    # The same text but the cursor elsewhere, or a different character typed: no reuse.
    assert typing.continuation(_snap(after, 2), 9) is None
    assert typing.continuation(_snap("x = foo(z\n", 2), 9) is None


def test_typing_through_needs_the_rest_of_the_document_unchanged():
    typing = TypingThrough()
    typing.remember(_snap("a = 1\nb = \n"), 10, ["2"])
    typing.remember(_snap("a = 1\nb = \n"), 10, ["20"])
    assert typing.continuation(_snap("a = 1\nb = 2\n"), 11) == ["0"]
    assert typing.continuation(_snap("a = 9\nb = 2\n"), 11) is None
    typing.forget("file:///a.py")
    assert typing.continuation(_snap("a = 1\nb = 2\n"), 11) is None


def test_the_worker_keeps_nothing_of_a_job_once_it_is_done():
    # The closure of the last job (a request's snapshot, and the open documents beside it) stayed alive while the
    # worker waited for the next one, after the documents were closed.
    import gc
    import weakref

    from infill_ls.scheduler import _Worker

    class Text:
        pass

    worker = _Worker()
    worker.start()
    try:
        held = Text()
        ref = weakref.ref(held)
        assert worker.submit(lambda kept=held: kept is not None).result(timeout=30)
        del held
        # The worker returns to waiting for a job right after the result is set: give it a moment to get there.
        for _ in range(500):
            gc.collect()
            if ref() is None:
                break
            threading.Event().wait(0.01)
        assert ref() is None
    finally:
        worker.stop()


# --- through the server ---------------------------------------------------------------------------------------------

import pytest_lsp  # noqa: E402
from lsprotocol import types  # noqa: E402
from pytest_lsp import LanguageClient  # noqa: E402

from lsp_support import capabilities, config, init_params, loaded, tiny_model  # noqa: E402

LONG = "def f(x):\n" + "".join(f"    y{i} = x + {i}\n" for i in range(40)) + "    return y0\n"
SMALL = "def add(a, b):\n    return \n"


@pytest_lsp.fixture(config=config())
async def slow(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        # A rewrite of a long selection runs for seconds on a 256-token canvas; no debounce, so a typing request is
        # queued as it arrives.
        init_params(capabilities(resolve=False), modelPath=tiny_model(canvas_length=256), device="cpu", maxSteps=512,
                    numCandidates=8, maxHoleTokens=512, debounceMs=0)
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_a_keystroke_is_answered_before_an_explicit_request_queued_before_it_in_another_document(slow):
    client = slow
    uris = {name: f"file:///fair/{name}.py" for name in ("long", "explicit", "typing")}
    for name, uri in uris.items():
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text=LONG if name == "long" else SMALL)))

    async def stats() -> dict:
        return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))

    selection = types.Range(types.Position(1, 0), types.Position(21, 0))
    rewrite = asyncio.ensure_future(client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="infill.rewriteSelection", arguments=[uris["long"], selection, 1])))
    for _ in range(1200):  # until the rewrite is on the worker
        if (await stats())["model_runs"] >= 1:
            break
        await asyncio.sleep(0.05)
    assert not rewrite.done()
    answered: list[str] = []

    def ask(name: str, kind: types.InlineCompletionTriggerKind):
        future = asyncio.ensure_future(client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=kind),
            text_document=types.TextDocumentIdentifier(uri=uris[name]), position=types.Position(1, 11))))
        future.add_done_callback(lambda _: answered.append(name))
        return future

    explicit = ask("explicit", types.InlineCompletionTriggerKind.Invoked)
    await asyncio.sleep(0.1)
    typing = ask("typing", types.InlineCompletionTriggerKind.Automatic)
    for _ in range(200):  # until both wait on the worker
        if (await stats())["requests"] >= 2:
            break
        await asyncio.sleep(0.02)

    def edit(name: str) -> None:  # stops what runs for the document
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uris[name], version=2),
            [types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                                                    text="#")]))

    edit("long")  # the worker is freed: the keystroke's request goes first
    await typing
    assert answered == ["typing"]
    edit("explicit")  # the explicit fill is left to run for seconds otherwise
    await asyncio.gather(rewrite, explicit)
