"""Inline completion: from a cursor in a parsed snapshot to suggestions to insert there. Fills the file already
spells out in the same surroundings come before the model's. An explicit request lists those that keep the file
parsing first; while typing, a suggestion that adds a syntax error is dropped."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .context import HoleShape, InfillContext, WindowBudget, build_context, shape_at
from .documents import Snapshot
from .postprocess import postprocess
from .settings import Settings
from .syntax import ParsedSnapshot, Replacement, adds_errors, parses_after

if TYPE_CHECKING:
    from engine.infill import InfillEngine

# A line fill rarely needs more; a small hole also keeps the keystroke path fast.
LINE_HOLE_TOKENS = 24
# Suffix text kept beyond what the canvas anchors: post-processing compares the fill with the
# lines that follow, and a window that reaches the end of the file tells the model so.
MIN_SUFFIX_TOKENS = 64
# The encoder's prompt when an engine states no length of its own.
DEFAULT_PROMPT_TOKENS = 1024


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: int  # code-point offsets in the snapshot the suggestion was made for
    end: int
    confidence: float


def hole_tokens(shape: HoleShape, settings: Settings) -> int:
    if shape is HoleShape.BLOCK:
        return settings.max_hole_tokens
    return min(settings.max_hole_tokens, LINE_HOLE_TOKENS)


def steps_for(engine: InfillEngine, settings: Settings, explicit: bool) -> int | None:
    """Denoising steps for a request: the schedule's own length, capped while typing."""
    if explicit or settings.typing_max_steps is None:
        return settings.max_steps
    schedule = settings.max_steps or engine.generation.max_denoising_steps
    return min(schedule, settings.typing_max_steps)


def window_budget(engine: InfillEngine, hole: int) -> WindowBudget:
    """Prefix for the encoder's prompt; suffix for the canvas beside the hole, and a little more."""
    return WindowBudget(
        prefix_tokens=getattr(engine, "prompt_tokens", DEFAULT_PROMPT_TOKENS),
        suffix_tokens=max(MIN_SUFFIX_TOKENS, engine.canvas_length - hole),
        count_tokens=engine.count_tokens,
    )


def cache_key(snapshot: Snapshot, offset: int, explicit: bool, settings: Settings, model: Hashable) -> Hashable:
    """Everything the answer depends on. The text enters by length and hash, so the cache
    never holds documents alive."""
    return ("inline", snapshot.uri, len(snapshot.text), hash(snapshot.text), offset, explicit, settings, model)


def suggestions_for(ctx: InfillContext, fills: list[tuple[str, float]]) -> list[Suggestion]:
    """Usable, distinct suggestions from raw fills, best first."""
    seen: set[str] = set()
    out: list[Suggestion] = []
    for fill, confidence in fills:
        text = postprocess(ctx, fill)
        if text is not None and text not in seen:
            seen.add(text)
            out.append(Suggestion(text, ctx.offset, ctx.offset, confidence))
    return out


def parsing_first(parsed: ParsedSnapshot, suggestions: list[Suggestion]) -> list[Suggestion]:
    """Suggestions after which the file parses come first, each group in the order given (confidence): the rule
    the code actions choose by. A lone suggestion is left as it is."""
    if len(suggestions) < 2:
        return suggestions
    parses = [parses_after(parsed, [Replacement(s.start, s.end, s.text)]) for s in suggestions]
    return [s for s, ok in zip(suggestions, parses) if ok] + [s for s, ok in zip(suggestions, parses) if not ok]


def suggest(
    engine: InfillEngine,
    parsed: ParsedSnapshot,
    offset: int,
    settings: Settings,
    *,
    explicit: bool,
    should_stop: Callable[[], bool],
    seed: int = 0,
) -> list[Suggestion]:
    """Fills at ``offset`` as suggestions: those the file spells out elsewhere (with ``settings.file_lookup``), then
    the model's, most confident first. Runs the model: on the worker only."""
    # The shape decides the hole size, which decides how much suffix fits beside it.
    hole = hole_tokens(shape_at(parsed, offset), settings)
    ctx = build_context(parsed, offset, window_budget(engine, hole))
    text = parsed.snapshot.text
    candidates = engine.infill(
        ctx.prefix,
        ctx.suffix,
        max_tokens=hole,
        num_candidates=settings.candidates if explicit else 1,
        max_steps=steps_for(engine, settings, explicit),
        seed=seed,
        should_stop=should_stop,
        suffix_is_end=ctx.suffix_window.end == len(text),
        # While typing, one canvas row: the fill ends where the model writes voids, and each row costs a full
        # pass per step. An explicit request tries more sizes and seeds.
        sizes=None if explicit else [hole],
        around=(text[:offset], text[offset:]) if settings.file_lookup else None,
    )
    return suggestions_for(ctx, [(c.text, c.confidence) for c in candidates])


def complete(
    engine: InfillEngine,
    parsed: ParsedSnapshot,
    offset: int,
    settings: Settings,
    *,
    explicit: bool,
    should_stop: Callable[[], bool],
    seed: int = 0,
) -> list[Suggestion]:
    """What the editor is shown at ``offset``. Runs the model: call it on the worker only."""
    suggestions = suggest(engine, parsed, offset, settings, explicit=explicit, should_stop=should_stop, seed=seed)
    return parsing_first(parsed, suggestions) if explicit else no_worse(parsed, suggestions)


def no_worse(parsed: ParsedSnapshot, suggestions: list[Suggestion]) -> list[Suggestion]:
    """The suggestions that leave the file with no more syntax errors than it has without them: ghost text that
    would break the code (a lone quote, a stray keyword) is noise while typing. One incremental re-parse each."""
    return [s for s in suggestions if not adds_errors(parsed, [Replacement(s.start, s.end, s.text)])]


def typed_through(offset: int, rests: list[str]) -> list[Suggestion]:
    """Suggestions for the remainder of fills the user is typing through."""
    return [Suggestion(rest, offset, offset, 1.0) for rest in rests if rest.strip()]
