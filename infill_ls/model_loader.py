"""The one model the server uses: loaded on the worker, in the background, once per settings.

A failed load leaves the server running without a model; requests then get empty answers
and the reason is kept as one line for the user. Another model replaces the one loaded only
after that one is released: both at once take twice the memory, more than a large checkpoint
leaves on a GPU. Before it is released, the other model's checkpoint is checked
(`engine.checkpoint.inspect_checkpoint`, then, up to 2 GiB, its weights' values one at a time,
`engine.checkpoint.check_weights`): one that fails those checks (a typo in the path, a config
or shard that cannot be read, a NaN weight) keeps the model loaded, and the message says so.
A load hands out the checkpoint's config and tokenizer first (`InfillLookup`),
before torch and the weights: the fills a file spells out need no more, and are offered while the model loads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import EngineError, RunFailed

from .scheduler import Scheduler, Superseded
from .settings import Settings, model_differs

if TYPE_CHECKING:
    from engine.infill import InfillEngine
    from engine.infill_lookup import InfillLookup

log = logging.getLogger(__name__)


class Unloaded(Superseded):
    """The engine a request was handed has been released for another model: the request is answered without a
    result, rather than with a fill from the model the settings no longer name."""


class LoadedEngine:
    """The engine as requests are handed it: by a weak reference, so that a request waiting with it (its debounce, a
    queue on the worker) does not keep an old model in memory beside the new one while that loads. Otherwise as the
    engine; once it is released, using it raises `Unloaded`."""

    __slots__ = ("_ref", "description")

    def __init__(self, engine: InfillEngine) -> None:
        self._ref = weakref.ref(engine)
        self.description: str = engine.description  # kept: the server says which model a load ended with

    def __getattr__(self, name: str):
        engine = self._ref()
        if engine is None:
            raise Unloaded
        return getattr(engine, name)


@dataclass(frozen=True)
class LoadResult:
    generation: int
    engine: LoadedEngine | None
    error: str | None  # one line, for the user
    seconds: float
    # Where it failed, what the checkpoint's directory held as it began (`checkpoint_state`).
    state: tuple[tuple[str, int, int, int], ...] | None = None


def checkpoint_state(settings: Settings) -> tuple[tuple[str, int, int, int], ...] | None:
    """What the directory of `settings`' checkpoint holds, as the disk tells it without a file read: the directory's
    and each entry's name, size and times of change, of its text and of its mode (a file made readable, one put back
    with its old times); None where it cannot be listed (no such directory, no embedded model)."""
    try:
        model_dir = _model_dir(settings)
        entries = [(".", model_dir.stat()), *((entry.name, entry.stat()) for entry in os.scandir(model_dir))]
    except Exception:  # noqa: BLE001 - any directory that cannot be listed is one state
        return None
    return tuple(sorted((name, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns) for name, stat in entries))


def _model_dir(settings: Settings) -> Path:
    """The directory of `settings`' checkpoint: theirs, else the embedded model's."""
    from engine.infill_lookup import model_directory

    return model_directory(settings.model_path)


@functools.cache
def default_threads() -> int:
    """Half the library's own thread count, read once, before the server sets any (`set_threads` reads it first):
    a count set from the settings, or by a reload, must not be taken for the library's and halved."""
    import torch

    return max(1, torch.get_num_threads() // 2)


def set_threads(settings: Settings) -> None:
    import torch

    # By default half the cores: the editor, the server's event loop and parsing need the rest, and a small
    # model's many small operations gain less from a second thread than they lose to contention for it.
    default = default_threads()  # read before the first count is set, whether or not it is the default
    torch.set_num_threads(settings.threads or default)


def load_engine(settings: Settings, read: Callable[[InfillLookup], None] = lambda lookup: None,
                memory_checked: bool = False) -> InfillEngine:
    """Load synchronously; ``read`` is handed the checkpoint's `InfillLookup` (its config and tokenizer) first,
    before torch is imported (seconds) and the weights are read (minutes, for a large checkpoint). The engine
    import pulls in torch, so it happens here, off the event loop, rather than at server start. ``memory_checked``:
    `check_loadable` found room already, counting a model then held as free; checked again once it is released,
    memory the allocator kept of it could refuse the load and leave the server with no model."""
    model_dir = _model_dir(settings)
    lookup = _read_lookup(model_dir)
    if lookup is not None:
        read(lookup)
    from engine.checkpoint import inspect_checkpoint, read_weights
    from engine.infill import InfillEngine

    set_threads(settings)
    plan = inspect_checkpoint(model_dir, device=settings.device, dtype=settings.dtype, lookup=lookup,
                              memory_check=settings.memory_check and not memory_checked)
    return InfillEngine(read_weights(plan))


# The largest checkpoint whose weights `check_loadable` reads an extra time: 256 MB took 55 ms from the page cache,
# and the 26B checkpoint's 52 GB would take minutes from disk, on top of the load.
RECHECKED_WEIGHT_BYTES = 2 << 30


def check_loadable(settings: Settings, held: InfillEngine | None = None) -> None:
    """Raise what loading `settings`' model would, as far as checks that hold one weight at a time find it, while
    another model, `held`, is still held. A checkpoint of up to `RECHECKED_WEIGHT_BYTES` has its weights' values
    read once more for it: a NaN weight is found only by reading it, and found in the load, once the model held is
    released, it left the server with none. A larger one so found says so in the load's message, with no model
    held. The memory free is counted as it will be once `held` is released: its weights are the system's count of
    memory in use until then, and a model that fits only in their place would be refused beside them."""
    from engine.checkpoint import check_weights, inspect_checkpoint

    model_dir = _model_dir(settings)
    plan = inspect_checkpoint(model_dir, device=settings.device, dtype=settings.dtype, lookup=_read_lookup(model_dir),
                              memory_check=settings.memory_check, releasing=_releasing(held, settings))
    if plan.weight_bytes <= RECHECKED_WEIGHT_BYTES:
        check_weights(plan)


def _releasing(held: InfillEngine | None, settings: Settings) -> int:
    """The bytes of `held`'s weights on the device `settings` load onto; 0 on another (or one not named rightly,
    which inspect_checkpoint says as it says it)."""
    from engine.checkpoint import resolve_device
    from engine.errors import CheckpointError

    if held is None:
        return 0
    try:
        device = resolve_device(settings.device)
    except CheckpointError:
        return 0
    on = held.model.device
    if on.type != device.type or (None not in (on.index, device.index) and on.index != device.index):
        return 0
    return sum(p.numel() * p.element_size() for p in held.model.parameters())


def _read_lookup(model_dir: Path) -> InfillLookup | None:
    """The checkpoint's config and tokenizer, read once for a load's checks and its copies; refused where its canvas
    holds no hole (`check_holes`), before a copy is offered, as each request would fail. None where they cannot be
    read: `inspect_checkpoint` then says so, with what it knows of the directory."""
    from engine.infill_lookup import InfillLookup

    try:
        lookup = InfillLookup.read(model_dir)
    except Exception:  # noqa: BLE001 - said as inspect_checkpoint says it
        return None
    lookup.check_holes()
    return lookup


def describe_failure(error: BaseException, settings: Settings) -> str:
    """One line for the user that names the model directory."""
    text = str(error).strip()
    message = text.splitlines()[0] if text else type(error).__name__
    if settings.model_path and settings.model_path not in message:
        return f"cannot load model from {settings.model_path}: {message}"
    return f"cannot load model: {message}"


def release(engine: InfillEngine) -> None:
    """Free an engine's weights now, whoever still holds the object (the traceback of a request stopped inside it
    holds it until the event loop has seen that request off): the next model's load must find the memory free. On
    the worker only, where no request can be running on it."""
    import torch

    engine.model.to("meta")
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()  # else the freed blocks stay with torch's allocator, not the next load


@dataclass(frozen=True)
class _Held:
    """The one strong reference to the loaded engine (requests get its `LoadedEngine`), and what it was loaded with."""

    engine: InfillEngine
    settings: Settings
    handle: LoadedEngine


class ModelLoader:
    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._ready: asyncio.Future[LoadResult] | None = None
        # The load's `InfillLookup` once its checkpoint's config and tokenizer are read; None where it ends without
        # one (the model held kept, or one that cannot be read).
        self._read: asyncio.Future[InfillLookup | None] | None = None
        self.generation = 0
        self.last: LoadResult | None = None
        self._held: _Held | None = None  # on the worker only
        self.threads: int | None = None  # the model's CPU threads, as last set
        # Why the last fill failed, for the user (the model's logits not finite, the GPU out of memory; or a defect of
        # the server's): None once one runs through, and for each model loaded.
        self.failure: str | None = None
        self.failure_kind: str | None = None  # which failure that is (`ran`), the same however its details differ

    def load(self, settings: Settings, on_done: Callable[[LoadResult], None] | None = None,
             on_read: Callable[[], None] | None = None) -> None:
        """Start loading; requests wait for it (`engine`), or for the checkpoint's config and tokenizer alone
        (`engine_or_lookup`). ``on_read``: called once those are read, and torch and the weights are loading.
        Call from the event loop."""
        self.generation += 1
        generation = self.generation
        self.failure = self.failure_kind = None
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[LoadResult] = loop.create_future()
        read: asyncio.Future[InfillLookup | None] = loop.create_future()
        self._ready, self._read = ready, read

        def hand_out(lookup: InfillLookup) -> None:
            if not read.done():
                read.set_result(lookup)
                if on_read is not None and generation == self.generation:
                    on_read()

        def work() -> LoadResult:
            if generation != self.generation:
                # Replaced while it waited for the worker: the newer load does its work (a model loaded and released
                # unused could take minutes).
                return LoadResult(generation, None, None, 0.0)
            started = time.perf_counter()
            state = checkpoint_state(settings)
            try:
                engine = self._engine_for(settings, lambda lookup: post(hand_out, lookup))
                return LoadResult(generation, engine, None, time.perf_counter() - started)
            except Exception as error:  # noqa: BLE001 - any failure becomes a message
                log.debug("model load failed", exc_info=True)
                message, held = describe_failure(error, settings), self._held
                if held is not None:  # failed its checks: the model held is not released
                    message += f"; keeping the model loaded from {held.engine.model_dir}"
                return LoadResult(generation, held and held.handle, message, time.perf_counter() - started, state)

        def finish(future: Future[LoadResult]) -> None:
            result = future.result()
            self.last = result if generation == self.generation else self.last
            if not ready.done():
                ready.set_result(result)
            if not read.done():
                read.set_result(None)
            if on_done is not None:
                on_done(result)

        def post(call: Callable, arg) -> None:
            # The editor closed the stream while the model loaded: the event loop has closed, no one waits for the
            # result, and posting it there raised on the worker (a traceback on stderr at an ordinary end).
            try:
                loop.call_soon_threadsafe(call, arg)
            except RuntimeError:
                if not loop.is_closed():
                    raise

        self._scheduler.submit(work).add_done_callback(lambda future: post(finish, future))

    def set_threads(self, settings: Settings) -> None:
        """`settings`' threads for the model loaded, set on the worker between requests: no load, so the editor
        sees no "loading" for a change that keeps the model. Call from the event loop."""
        if self.generation == 0:
            # No load asked for yet (the settings an editor sends as it starts): the first sets them, and this job,
            # which imports torch (seconds), would hold the worker before it, and the file's fills behind both.
            return

        def work() -> None:
            set_threads(settings)
            self.threads = settings.threads or default_threads()

        self._scheduler.submit(work)

    def _engine_for(self, settings: Settings, read: Callable[[InfillLookup], None]) -> LoadedEngine:
        """On the worker: the engine held, when `settings` name its model, with their threads set; else that model,
        loaded once the one held is released (``read`` is handed its lookup before torch and its weights). One
        that fails `check_loadable` keeps the one held; a load that fails after it leaves none."""
        if self._held is not None and not model_differs(self._held.settings, settings):
            set_threads(settings)
        else:
            checked = self._held is not None
            if checked:
                check_loadable(settings, self._held.engine)
            self._release()
            engine = load_engine(settings, read, memory_checked=checked)
            self._held = _Held(engine, settings, LoadedEngine(engine))
        self.threads = settings.threads or default_threads()
        return self._held.handle

    def _release(self) -> None:
        # In a frame of its own: a local left holding the engine would keep it through the next load.
        held, self._held = self._held, None
        if held is not None:
            release(held.engine)

    async def engine(self) -> LoadedEngine | None:
        """The loaded engine, waiting for a load in progress; None when there is none."""
        while (ready := self._ready) is not None:
            # Shielded: a cancelled request must not cancel the load others wait for.
            result = await asyncio.shield(ready)
            if ready is self._ready:  # no newer load started meanwhile
                return result.engine
        return None

    async def engine_or_lookup(self) -> tuple[LoadedEngine | None, InfillLookup | None]:
        """As `engine`, but while a load has its checkpoint's config and tokenizer and the model is still to come,
        without waiting for it: (None, its lookup), for the fills a file spells out."""
        while (ready := self._ready) is not None and (read := self._read) is not None:
            if not ready.done() and not read.done():
                # Not cancelled with a cancelled request (`asyncio.wait` leaves them be): others wait for the load.
                await asyncio.wait((ready, read), return_when=asyncio.FIRST_COMPLETED)
            if ready is not self._ready:
                continue  # a newer load started meanwhile
            if ready.done():
                return ready.result().engine, None
            if (lookup := read.result()) is not None:
                return None, lookup
            await asyncio.shield(ready)  # none handed out: the load's end settles both
        return None, None

    def lookup_now(self) -> LoadedEngine | InfillLookup | None:
        """The loaded engine, else the checkpoint's config and tokenizer where read by now; never waits: what an
        offer of actions, answered as it is asked, can count tokens with."""
        ready, read = self._ready, self._read
        if ready is not None and ready.done() and not ready.cancelled():
            return ready.result().engine
        if read is not None and read.done() and not read.cancelled():
            return read.result()
        return None

    @property
    def error(self) -> str | None:
        return self.last.error if self.last else None

    def ran(self, error: Exception | None, generation: int) -> None:
        """A fill of the model loaded has ended: ``error``, what it raised, or None where it ran through. A model
        that fails at run time is not one that failed to load: it stays loaded, and the next fill tries it again
        (a long file can be what a GPU lacks the memory for, and the next one fits). ``generation``: the load whose
        model the fill ran (`generation` as its engine was handed out); that of a model since replaced says nothing
        of the one loaded now."""
        if generation != self.generation:
            return
        if error is None:
            self.failure = self.failure_kind = None
            return
        if isinstance(error, EngineError):
            message = f"the model's fills fail: {error}"
            # The same failure met again, whatever its details (the step, the prompt's length, the bytes asked for).
            kind = error.kind if isinstance(error, RunFailed) else message
        else:
            # Not the model's: a defect of the server's own, which the user should not take for the model's.
            said = str(error).strip()
            message = (f"fills fail: {type(error).__name__}: {said.splitlines()[0] if said else 'no message'} (a "
                       "defect of infill-ls; its log has the traceback)")
            kind = type(error).__name__
        if kind != self.failure_kind:
            # Said to the user as one line; the traceback of an error the engine did not word is for the log.
            log.log(logging.DEBUG if isinstance(error, EngineError) else logging.ERROR, "%s", message,
                    exc_info=error)
        self.failure, self.failure_kind = message, kind
