"""The one model the server uses: loaded on the worker, in the background, once per settings.

A failed load leaves the server running without a model; requests then get empty answers
and the reason is kept as one line for the user.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .scheduler import Scheduler
from .settings import Settings

if TYPE_CHECKING:
    from engine.infill import InfillEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    generation: int
    engine: InfillEngine | None
    error: str | None  # one line, for the user
    seconds: float


@functools.cache
def default_threads() -> int:
    """Half the library's own thread count, read once before the server sets any: a reload must not halve
    the count it set itself again."""
    import torch

    return max(1, torch.get_num_threads() // 2)


def load_engine(settings: Settings) -> InfillEngine:
    """Load synchronously. The engine import pulls in torch, so it happens here, off the
    event loop, rather than at server start."""
    import torch

    from engine.infill import InfillEngine

    # By default half the cores: the editor, the server's event loop and parsing need the rest, and a small
    # model's many small operations gain less from a second thread than they lose to contention for it.
    default = default_threads()
    torch.set_num_threads(settings.threads or default)
    model_dir = Path(settings.model_path).expanduser() if settings.model_path else None
    return InfillEngine.load(model_dir, device=settings.device, dtype=settings.dtype)


def describe_failure(error: BaseException, settings: Settings) -> str:
    """One line for the user that names the model directory."""
    text = str(error).strip()
    message = text.splitlines()[0] if text else type(error).__name__
    if settings.model_path and settings.model_path not in message:
        return f"cannot load model from {settings.model_path}: {message}"
    return f"cannot load model: {message}"


class ModelLoader:
    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._ready: asyncio.Future[LoadResult] | None = None
        self.generation = 0
        self.last: LoadResult | None = None

    def load(self, settings: Settings, on_done: Callable[[LoadResult], None] | None = None) -> None:
        """Start loading; requests wait for it. Call from the event loop."""
        self.generation += 1
        generation = self.generation
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[LoadResult] = loop.create_future()
        self._ready = ready

        def work() -> LoadResult:
            started = time.perf_counter()
            try:
                engine = load_engine(settings)
                return LoadResult(generation, engine, None, time.perf_counter() - started)
            except Exception as error:  # noqa: BLE001 - any failure becomes a message
                log.debug("model load failed", exc_info=True)
                return LoadResult(
                    generation, None, describe_failure(error, settings), time.perf_counter() - started
                )

        def finish(future: Future[LoadResult]) -> None:
            result = future.result()
            self.last = result if generation == self.generation else self.last
            if not ready.done():
                ready.set_result(result)
            if on_done is not None:
                on_done(result)

        self._scheduler.submit(work).add_done_callback(
            lambda f: loop.call_soon_threadsafe(finish, f)
        )

    async def engine(self) -> InfillEngine | None:
        """The loaded engine, waiting for a load in progress; None when there is none."""
        while (ready := self._ready) is not None:
            # Shielded: a cancelled request must not cancel the load others wait for.
            result = await asyncio.shield(ready)
            if ready is self._ready:  # no newer load started meanwhile
                return result.engine
        return None

    @property
    def error(self) -> str | None:
        return self.last.error if self.last else None
