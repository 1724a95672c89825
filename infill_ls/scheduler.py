"""Running inference off the event loop.

One worker thread runs everything that touches the model, one job at a time, the most pressing
first (`Priority`): a keystroke's suggestion does not wait behind an explicit fill or an action
queued for another document. Jobs belong to lanes (one per document and purpose): a newer job in
a lane cancels the older one, which stops at its next ``should_stop`` poll or is dropped before
it starts. Results are cached by the exact text the model would see, and a suggestion the user
is typing through is answered from memory without running the model.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any, TypeVar

from .documents import Snapshot

T = TypeVar("T")
log = logging.getLogger(__name__)


class Superseded(Exception):
    """A newer request for the same document, or a cancel from the client, replaced this one."""


@dataclass
class SchedulerStats:
    requests: int = 0  # completions asked for
    model_runs: int = 0  # jobs that reached the model's worker
    file_fills: int = 0  # of those, typing jobs answered by a fill from the file with no model pass
    # Of those, typing jobs answered with no model pass: by a fill from the file, with nothing in the middle of a
    # word, or on a blank line whose guess is not run (`completion.guesses_new_lines`).
    without_model: int = 0
    while_loading: int = 0  # jobs run beside the worker while it loaded the model: the file's fills alone
    cache_hits: int = 0
    cache_stale: int = 0  # cached results passed over because what they were found in has changed on disk
    typing_through_hits: int = 0
    superseded: int = 0  # jobs stopped or dropped because something newer arrived
    cancelled: int = 0  # requests the client cancelled

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Ticket:
    """One request's claim on its lane; cancelled when a newer request takes the lane."""

    def __init__(self, lane: Hashable) -> None:
        self.lane = lane
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()


class Priority(IntEnum):
    """Which queued job the worker takes next: the lowest, and of one priority the first queued. Typing first: the
    user waits on it keystroke by keystroke, and it is short (a few steps, or a fill from the file); an explicit
    request next; an action last, and a model load with it (`_Worker.submit`). A running job is never stopped for one
    queued after it. A job waits only for the more pressing ones queued before it or while it waits; of typing jobs,
    a document has one live at a time (a newer request supersedes its lane's older one, which the worker then drops
    unrun), queued only once the user pauses for the debounce: an action waits for typing only while the user types.
    """

    TYPING = 0
    EXPLICIT = 1
    ACTION = 2


class _Worker(threading.Thread):
    """The one thread that runs the model. A daemon, so a load or a long fill in progress
    never keeps the process alive after ``exit``."""

    def __init__(self) -> None:
        super().__init__(name="infill-worker", daemon=True)
        # (barriers queued before it, priority, order queued, job): a job queued without a priority is a barrier,
        # which overtakes no job queued before it and which none queued after it overtakes.
        self._jobs: queue.PriorityQueue[tuple[int, int, int, tuple[Callable[[], Any], Future[Any]] | None]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()
        self._barriers = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], T], priority: Priority | None = None) -> Future[T]:
        """Queue ``fn`` at `priority`; None: in order, behind every job queued before it and ahead of every one queued
        after it. A model load (or a change of its threads) is queued so: the requests handed the engine before it
        run on that engine; one handed it but queued after the load (in its debounce as the load began) finds it
        released where the load replaced the model (`Unloaded`), rather than running on a model the settings no longer
        name; and a request needing the new model waits for the load before it is queued (`ModelLoader.engine`)."""
        future: Future[T] = Future()
        self._put((fn, future), priority)
        return future

    def _put(self, job: tuple[Callable[[], Any], Future[Any]] | None, priority: Priority | None) -> None:
        with self._lock:
            barriers = self._barriers
            if priority is None:
                self._barriers += 1
            self._jobs.put((barriers, max(Priority) if priority is None else priority, next(self._order), job))

    def stop(self) -> None:
        self._put(None, None)

    def run(self) -> None:
        while self._run_next():
            pass

    def _run_next(self) -> bool:
        """Runs the next job; False at `stop`. A job's locals go with this call: held by the loop while it waits for
        the next, its closure kept the last request's snapshot, and every open document beside it, in memory after
        they were closed."""
        job = self._jobs.get()[-1]
        if job is None:
            return False
        fn, future = job
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn())
            except BaseException as error:  # noqa: BLE001 - handed to the awaiting request
                future.set_exception(error)
        return True


class ResultCache:
    """Least-recently-used results, keyed by everything the model's output depends on; each with its owner (the
    document asked about), whose results go when it closes rather than when the cache is full."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._owners: dict[Hashable, Hashable] = {}  # key -> owner, for the keys put with one

    def get(self, key: Hashable) -> Any | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any, owner: Hashable = None) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if owner is not None:
            self._owners[key] = owner
        else:
            self._owners.pop(key, None)
        while len(self._items) > self._size:
            self._owners.pop(self._items.popitem(last=False)[0], None)

    def forget(self, owner: Hashable) -> None:
        """Drop the results put for `owner`."""
        for key in [key for key, held_by in self._owners.items() if held_by == owner]:
            del self._items[key], self._owners[key]

    def clear(self) -> None:
        self._items.clear()
        self._owners.clear()


@dataclass(frozen=True)
class _Shown:
    text: str
    offset: int
    fills: tuple[str, ...]
    context: Hashable = None  # what else the fills were read from (a notebook's other cells)


class TypingThrough:
    """Remembers the suggestions last shown per document. When the user then types the first
    characters of one, and nothing else changed, the rest of it is the answer, where it still passes
    the checks a fill passes while typing in the text as typed (`completion.typed_through`)."""

    def __init__(self) -> None:
        self._shown: dict[str, _Shown] = {}

    def remember(self, snapshot: Snapshot, offset: int, fills: Sequence[str], context: Hashable = None) -> None:
        fills = tuple(f for f in fills if f)
        if fills:
            self._shown[snapshot.uri] = _Shown(snapshot.text, offset, fills, context)
        else:
            self._shown.pop(snapshot.uri, None)

    def forget(self, uri: str) -> None:
        self._shown.pop(uri, None)

    def clear(self) -> None:
        self._shown.clear()

    def continuation(self, snapshot: Snapshot, offset: int, context: Hashable = None) -> list[str] | None:
        """The rest of each fill shown at `snapshot`'s document that the text typed since begins, of those ranked
        above any the text typed is the whole of (the user has taken that one by typing it: a fill ranked below it
        is no rest of it, and read alone, TSX's `>(initial);` after `Todo[]`, not what was shown); None where there
        is none, or anything else changed: the text around, or the `context` the fills were read from (a notebook's
        other cells: one deleted or edited could have been what a fill copied). Each rest is as it was checked in
        the text before; the caller checks it again in this one."""
        shown = self._shown.get(snapshot.uri)
        if shown is None or offset <= shown.offset or shown.context != context:
            return None
        text = snapshot.text
        typed_len = offset - shown.offset
        if len(text) != len(shown.text) + typed_len:
            return None
        typed = text[shown.offset : offset]
        rest = []
        for fill in shown.fills:
            if fill == typed:
                break
            if len(fill) > typed_len and fill.startswith(typed):
                rest.append(fill[typed_len:])
        if not rest:
            return None
        if text[: shown.offset] != shown.text[: shown.offset] or text[offset:] != shown.text[shown.offset :]:
            return None
        return rest


class Scheduler:
    def __init__(self, cache_size: int = 512) -> None:
        self._worker = _Worker()
        self._worker.start()
        self._lanes: dict[Hashable, Ticket] = {}
        self.cache = ResultCache(cache_size)
        self.typing = TypingThrough()
        self.stats = SchedulerStats()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on the worker outside any lane, in order (`_Worker.submit`): nothing supersedes it."""
        return self._worker.submit(fn)

    def enter(self, lane: Hashable) -> Ticket:
        """Make a new request the newest of its lane, stopping the one before it."""
        self.supersede(lane)
        ticket = Ticket(lane)
        self._lanes[lane] = ticket
        return ticket

    def supersede(self, lane: Hashable) -> None:
        """Stop whatever runs in ``lane``: its request is answered without a result."""
        ticket = self._lanes.pop(lane, None)
        if ticket is not None:
            ticket.cancel()

    def leave(self, ticket: Ticket) -> None:
        if self._lanes.get(ticket.lane) is ticket:
            del self._lanes[ticket.lane]

    async def run(
        self,
        ticket: Ticket,
        work: Callable[[Callable[[], bool]], T],
        *,
        key: Hashable | None = None,
        owner: Hashable = None,
        fresh: Callable[[T], bool] | None = None,
        debounce_s: float = 0.0,
        priority: Priority = Priority.ACTION,
    ) -> T:
        """Run ``work(should_stop)`` on the worker for the request holding ``ticket``, queued at `priority`.

        A result cached under ``key`` answers at once, if ``fresh`` says it still holds (it
        may depend on more than the key: files on disk, so it is asked off the event loop);
        ``owner``: whose result it is, to forget it by (`ResultCache.forget`). Raises Superseded
        when a newer request in the lane replaced this one, at any point up to the result
        arriving, so a caller never returns a stale result.
        """
        try:
            with self._counted(ticket):
                if key is not None and (hit := self.cache.get(key)) is not None:
                    # A stat of each file a search looked at: on the loop, a slow or hung mount held every other
                    # message (a keystroke, a cancel, shutdown) behind it.
                    if fresh is None or await asyncio.to_thread(fresh, hit):
                        if ticket.should_stop():
                            raise Superseded
                        self.stats.cache_hits += 1
                        return hit
                    self.stats.cache_stale += 1
                await self._debounced(ticket, debounce_s)
                result = await asyncio.wrap_future(self._worker.submit(lambda: self._call(ticket, work), priority))
                if ticket.should_stop():
                    raise Superseded
        finally:
            self.leave(ticket)
        if key is not None:
            self.cache.put(key, result, owner)
        return result

    async def run_beside(self, ticket: Ticket, work: Callable[[Callable[[], bool]], T], debounce_s: float = 0.0) -> T:
        """Run ``work(should_stop)`` on a thread of its own, for the request holding ``ticket``, after ``debounce_s``:
        work that needs no model, while the worker loads one. The request keeps its lane, and may go on to the
        worker (`run`) with what this found wanting. Raises Superseded as `run` does; nothing is cached."""
        with self._counted(ticket):
            await self._debounced(ticket, debounce_s)
            self.stats.while_loading += 1
            result = await asyncio.to_thread(self._stopped_as_superseded, ticket, work)
            if ticket.should_stop():
                raise Superseded
            return result

    @contextmanager
    def _counted(self, ticket: Ticket) -> Iterator[None]:
        """A request that ends without its result, counted: cancelled by the client (its work is stopped too), or
        superseded."""
        try:
            yield
        except asyncio.CancelledError:
            ticket.cancel()
            self.stats.cancelled += 1
            raise
        except Superseded:
            self.stats.superseded += 1
            raise

    @staticmethod
    async def _debounced(ticket: Ticket, debounce_s: float) -> None:
        """After ``debounce_s``; Superseded where a newer request took the lane meanwhile."""
        if debounce_s > 0:
            await asyncio.sleep(debounce_s)
        if ticket.should_stop():
            raise Superseded

    def _call(self, ticket: Ticket, work: Callable[[Callable[[], bool]], T]) -> T:
        if ticket.should_stop():
            raise Superseded  # replaced while waiting in the queue
        self.stats.model_runs += 1
        return self._stopped_as_superseded(ticket, work)

    @staticmethod
    def _stopped_as_superseded(ticket: Ticket, work: Callable[[Callable[[], bool]], T]) -> T:
        try:
            return work(ticket.should_stop)
        except Exception as error:
            if ticket.should_stop():
                # The model noticed the stop request; whatever it raised, the job was replaced.
                raise Superseded from error
            raise

    def close(self, wait_s: float = 0.0) -> bool:
        """Stop every request and the worker after its current job; wait up to ``wait_s`` for that.
        Returns whether the worker has ended: the interpreter aborts if it exits while torch still
        runs in the worker, so a process about to exit waits for this first."""
        for ticket in self._lanes.values():
            ticket.cancel()
        self._lanes.clear()
        self._worker.stop()
        if wait_s > 0 and self._worker.is_alive():
            self._worker.join(wait_s)
        return not self._worker.is_alive()
