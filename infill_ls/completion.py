"""Inline completion: from a cursor in a parsed snapshot to suggestions to insert there. Fills the file already
spells out in the same surroundings (or the files beside it do, ranked with the file's) come before the model's. An
explicit request lists those that keep the file parsing first; while typing, a suggestion that adds a syntax error
(or a closer with no opener, or a `;` that empties a header's body: `no_worse`) is dropped, whatever made it, and a
fill from the file that keeps the file parsing is shown without waiting for the model, and nothing is offered in the
middle of a word; in prose (a comment, a string's text, Markdown), a fill that writes a broken word is dropped too. Either
way, where nothing offered keeps the file parsing, a fill closed with the
brackets still open comes first: the checks and the closers are `suggestions`'."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING

from engine.errors import Cancelled
from engine.lookup import COPIES_TESTED

from .context import HoleShape, InfillContext, WindowBudget, build_context, shape_at
from .documents import Snapshot
from .notebooks import NO_SURROUNDINGS, Surroundings
from .postprocess import closers_written_again, postprocess
from .settings import Settings
from .prose import garbled, in_prose, prose_document
from .scopes import READERS, locals_of_others
from .suggestions import WORD_CHARACTER, Suggestion, in_comment, parsing_first, syntax_checked
from .syntax import ParsedSnapshot, Replacement, parses_after, tree_after
from .typing_filter import another_places_docstring, no_worse, parsing_first_kept

if TYPE_CHECKING:
    from engine.infill import Candidate, InfillEngine, InfillLookup

# A line fill rarely needs more; a small hole also keeps the keystroke path fast.
LINE_HOLE_TOKENS = 24
# Suffix text kept beyond what the canvas anchors: post-processing compares the fill with the
# lines that follow, and a window that reaches the end of the file tells the model so.
MIN_SUFFIX_TOKENS = 64
# A name as a notebook cell may bind one.
_NAME_WORD = re.compile(r"[^\W\d]\w*")


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


def window_budget(engine: InfillLookup, hole: int, settings: Settings) -> WindowBudget:
    """Prefix for the encoder's prompt (`Settings.prefix_tokens`, as the engine keeps it); suffix for the canvas
    beside the hole, and a little more."""
    return WindowBudget(
        # The prompt's room holds its `<bos>` too: a window one token longer lost its first token to the engine.
        prefix_tokens=engine.prompt_room(settings.prefix_tokens) - 1,
        suffix_tokens=max(MIN_SUFFIX_TOKENS, engine.canvas_length - hole),
        count_tokens=engine.count_tokens,
    )


def cache_key(snapshot: Snapshot, offset: int, explicit: bool, settings: Settings, model: Hashable,
              beside: Sequence[Snapshot] = (), surroundings: Surroundings = NO_SURROUNDINGS) -> Hashable:
    """Everything the answer depends on. The text enters by length and hash, so the cache
    never holds documents alive; its language too, which decides the syntax checks (a file reopened in another
    language mode was served its plain-text answer); `beside`, the open documents the search reads beside it
    (`neighbors.tabs_searched`), by one hash of their revisions (a keystroke in another tab leaves the answer be);
    a notebook's other cells. (Files beside it on disk are not in the key: the service checks a cached answer's
    `DiskStamp` before it serves it again.)"""
    return ("inline", snapshot.uri, snapshot.language_id, len(snapshot.text), hash(snapshot.text), offset, explicit,
            settings, model, hash(tuple(s.revision for s in beside)), surroundings.key())


def suggestions_for(ctx: InfillContext, candidates: list[Candidate]) -> list[Suggestion]:
    """Usable, distinct suggestions from the engine's candidates, best first."""
    seen: set[str] = set()
    out: list[Suggestion] = []
    for c in candidates:
        text = postprocess(ctx, c.text)
        if text is not None and text not in seen:
            seen.add(text)
            # Over the closers the editor inserted that the fill writes on its way, so that they are not doubled.
            end = ctx.offset + closers_written_again(text, ctx.line_prefix, ctx.line_suffix)
            out.append(Suggestion(text, ctx.offset, end, c.confidence, c.source))
    return out


def _stop_if(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise Cancelled("completion cancelled")


def _hole(engine: InfillLookup, parsed: ParsedSnapshot, offset: int, settings: Settings) -> tuple[int, InfillContext]:
    """The hole's token budget and the context around it."""
    # The shape decides the hole size, which decides how much suffix fits beside it; never more than one canvas of
    # the model holds (a larger maxHoleTokens would run every keystroke on a canvas wider than it was trained on).
    hole = min(hole_tokens(shape_at(parsed, offset), settings), engine.hole_capacity)
    return hole, build_context(parsed, offset, window_budget(engine, hole, settings))


def into_cells(budget: WindowBudget, prefix: str, suffix: str, *, from_start: bool, to_end: bool,
               surroundings: Surroundings) -> tuple[str, str, bool]:
    """The prefix and suffix the model reads, and whether that suffix runs to the end of the text: windows that
    reach a notebook cell's start (``from_start``) or end (``to_end``) continue into the cells before or after it,
    as far as their token budgets leave room for."""
    if surroundings.before and from_start:
        room = budget.prefix_tokens - budget.count_tokens(prefix)
        if room > 0:
            prefix = surroundings.before[-int(room * budget.chars_per_token):] + prefix
    if surroundings.after and to_end:
        room = budget.suffix_tokens - budget.count_tokens(suffix)
        if room > 0:
            suffix += surroundings.after[:int(room * budget.chars_per_token)]
        to_end = False  # cells follow, whether or not the window reaches them
    return prefix, suffix, to_end


def around_hole(text: str, offset: int, surroundings: Surroundings) -> tuple[str, str]:
    """The whole text before and after the hole, a notebook's cells around it included: where the lookup searches
    for fills the text spells out."""
    return surroundings.before + text[:offset], text[offset:] + surroundings.after


def suggest(
    engine: InfillEngine,
    parsed: ParsedSnapshot,
    offset: int,
    settings: Settings,
    *,
    explicit: bool,
    should_stop: Callable[[], bool],
    seed: int = 0,
    lookup: bool = True,
    elsewhere: Sequence[str] = (),
    hole: tuple[int, InfillContext] | None = None,
    surroundings: Surroundings = NO_SURROUNDINGS,
) -> list[Suggestion]:
    """Fills at ``offset`` as suggestions: those the file (or a file in ``elsewhere``) spells out elsewhere (with
    ``settings.file_lookup`` and ``lookup``), then the model's, most confident first. ``hole``: `_hole`'s answer,
    where the caller has it already; ``surroundings``: a notebook's cells around this one. Runs the model: on the
    worker only."""
    hole_size, ctx = hole or _hole(engine, parsed, offset, settings)
    text = parsed.snapshot.text
    prefix, suffix, suffix_is_end = into_cells(
        window_budget(engine, hole_size, settings), ctx.prefix, ctx.suffix, from_start=ctx.prefix_window.start == 0,
        to_end=ctx.suffix_window.end == len(text), surroundings=surroundings)
    candidates = engine.infill(
        prefix,
        suffix,
        max_tokens=hole_size,
        num_candidates=settings.candidates if explicit else 1,
        max_steps=steps_for(engine, settings, explicit),
        seed=seed,
        should_stop=should_stop,
        suffix_is_end=suffix_is_end,
        # While typing, one canvas row: the fill ends where the model writes voids, and each row costs a full
        # pass per step. An explicit request tries more sizes and seeds.
        sizes=None if explicit else [hole_size],
        around=around_hole(text, offset, surroundings) if settings.file_lookup and lookup else None,
        elsewhere=elsewhere,
        accepts=lambda fill: parses_with(parsed, ctx, fill, should_stop),
        prompt_tokens=settings.prefix_tokens,
        prose=prose_document(parsed),
    )
    return suggestions_for(ctx, candidates)


def parses_with(parsed: ParsedSnapshot, ctx: InfillContext, fill: str,
                should_stop: Callable[[], bool] | None = None) -> bool:
    """Whether the file parses with ``fill`` at the hole, as it would be shown: the engine's test of a fill from
    the file before the model checks it as a draft. Any fill passes in plain text (`syntax_checked`)."""
    text = postprocess(ctx, fill)
    if text is None or not syntax_checked(parsed):
        return text is not None
    end = ctx.offset + closers_written_again(text, ctx.line_prefix, ctx.line_suffix)
    return parses_after(parsed, [Replacement(ctx.offset, end, text)], should_stop)


def copied(engine: InfillLookup, parsed: ParsedSnapshot, offset: int, settings: Settings,
           elsewhere: Sequence[str] = (), *, hole: tuple[int, InfillContext] | None = None,
           should_stop: Callable[[], bool] | None = None,
           surroundings: Surroundings = NO_SURROUNDINGS) -> list[Suggestion]:
    """The strongest fill the file (or a file in ``elsewhere``) spells out at ``offset`` that leaves the file no
    worse (`no_worse`), reads no name nothing binds (`reads_unbound`) and is no other definition's docstring
    (`another_places_docstring`), as a suggestion, from the engine's strongest few (`COPIES_TESTED`); none if none
    does. No model pass."""
    hole_size, ctx = hole or _hole(engine, parsed, offset, settings)
    text = parsed.snapshot.text
    found = engine.copies(*around_hole(text, offset, surroundings), max_tokens=hole_size, limit=COPIES_TESTED,
                          elsewhere=elsewhere, prose=prose_document(parsed))
    known = known_names(surroundings)
    # One re-parse per copy tried, stopping at the first that passes: this runs on every keystroke.
    return next(([s] for s in suggestions_for(ctx, found)
                 if no_worse(parsed, [s], should_stop) and not reads_unbound(parsed, s, known, should_stop)
                 and not another_places_docstring(parsed, s, should_stop)), [])


def reads_unbound(parsed: ParsedSnapshot, suggestion: Suggestion, known: frozenset[str] = frozenset(),
                  should_stop: Callable[[], bool] | None = None) -> bool:
    """Whether ``suggestion`` reads a name that nothing binds where it stands, in a language whose names are read here
    (`LanguageSpec.names_read`, `scopes.READERS`), or one only another function binds (`LanguageSpec.local_bindings`,
    `scopes.locals_of_others`); ``known``: names bound elsewhere (a notebook's other cells, `known_names`)."""
    return bool(unbound_names(parsed, suggestion, known, should_stop))


def unbound_names(parsed: ParsedSnapshot, suggestion: Suggestion, known: frozenset[str] = frozenset(),
                  should_stop: Callable[[], bool] | None = None) -> list[str]:
    """The names `reads_unbound` finds ``suggestion`` reading."""
    spec = parsed.spec
    reader = READERS.get(spec.names_read) if spec is not None else None
    if (reader is None and (spec is None or not spec.local_bindings)) or not suggestion.text.strip():
        return []
    tree = tree_after(parsed, [Replacement(suggestion.start, suggestion.end, suggestion.text)], should_stop)
    if tree is None:
        return []
    lo = parsed.snapshot.byte_offset(suggestion.start)
    hi = lo + len(suggestion.text.encode("utf-8", "surrogatepass"))
    read = reader(tree, lo, hi, parsed.snapshot.text, known) if reader is not None else []
    return read or locals_of_others(tree, lo, hi, spec, known)


def known_names(surroundings: Surroundings) -> frozenset[str]:
    """The words of a notebook's other cells, which may bind any name a cell reads."""
    return frozenset(_NAME_WORD.findall(surroundings.before + surroundings.after))


def complete(
    engine: InfillEngine,
    parsed: ParsedSnapshot,
    offset: int,
    settings: Settings,
    *,
    explicit: bool,
    should_stop: Callable[[], bool],
    seed: int = 0,
    elsewhere: Sequence[str] = (),
    surroundings: Surroundings = NO_SURROUNDINGS,
) -> list[Suggestion]:
    """What the editor is shown at ``offset``; ``elsewhere``: the texts of the files beside it, searched for fills
    as the file is (`infill_ls.neighbors`, `engine.lookup`); ``surroundings``: in a notebook, its cells around this
    one, which the model reads and the lookup searches as the text around the hole. Runs the model: call it on the
    worker only. Raises `engine.errors.Cancelled` once ``should_stop`` says so, between its steps and before each
    syntax check: a newer keystroke's request should not wait for this one's context, lookup and checks any more
    than for its model pass. While typing, a cursor in the middle of a word, or of a line no grammar reads
    (`not_while_typing`), gets nothing, and one on a blank line, or at the end of a header's line, no model's guess
    of the lines there (`begins_new_lines`) unless the model is one to show (`guesses_new_lines`)."""
    if not explicit and not_while_typing(parsed, offset):
        return []
    hole = _hole(engine, parsed, offset, settings)  # once: each costs a walk of the tree near the hole
    _stop_if(should_stop)
    if explicit:
        suggestions = suggest(engine, parsed, offset, settings, explicit=True, should_stop=should_stop, seed=seed,
                              elsewhere=elsewhere, hole=hole, surroundings=surroundings)
        _stop_if(should_stop)
        # A broken name, or one nothing binds, listed beside a readable fill is noise the user reads past; alone, it
        # is still what was asked.
        suggestions = _readable_where_parsed(engine, parsed, offset, suggestions, elsewhere) or suggestions
        known = known_names(surroundings)
        suggestions = [s for s in suggestions if not reads_unbound(parsed, s, known, should_stop)] or suggestions
        return invoked_order(parsed, offset, suggestions, should_stop)
    # The file's fill comes first either way; when it keeps the file no worse, it is what the editor shows, so the
    # model's pass (nearly all of a keystroke's latency) is not waited for.
    shown = from_the_file(engine, parsed, offset, settings, should_stop=should_stop, elsewhere=elsewhere, hole=hole,
                          surroundings=surroundings)
    if shown:
        return shown
    if not guesses_new_lines(engine, settings) and begins_new_lines(parsed.snapshot.text, offset, hole[1]):
        # No model pass: the brackets still open, where the code owes them here, are all that is offered.
        return parsing_first(parsed, offset, [], should_stop)
    suggestions = suggest(engine, parsed, offset, settings, explicit=False, should_stop=should_stop, seed=seed,
                          lookup=False, hole=hole, surroundings=surroundings)
    _stop_if(should_stop)
    known = known_names(surroundings)
    suggestions = [s for s in _readable_where_parsed(engine, parsed, offset, suggestions, elsewhere)
                   if not reads_unbound(parsed, s, known, should_stop)]
    return parsing_first_kept(parsed, offset, no_worse(parsed, suggestions, should_stop), should_stop)


def _readable_where_parsed(engine: InfillLookup, parsed: ParsedSnapshot, offset: int, suggestions: list[Suggestion],
                           elsewhere: Sequence[str]) -> list[Suggestion]:
    """`readable`'s, its words read as prose's in a comment or string and as names' in code; in plain text (a
    language with no grammar here) any fill passes, as for syntax."""
    if in_prose(parsed, offset):
        return readable(engine, parsed, suggestions, elsewhere)
    if syntax_checked(parsed):
        return readable(engine, parsed, suggestions, elsewhere, code=True)
    return suggestions


def readable(engine: InfillLookup, parsed: ParsedSnapshot, suggestions: list[Suggestion],
             elsewhere: Sequence[str] = (), code: bool = False) -> list[Suggestion]:
    """The suggestions that write no broken word (`prose.garbled`): words the model's vocabulary holds or the file or
    a file beside it (``elsewhere``) spells; in ``code``, each word of a name. Of 1,683 held-out holes while typing
    (docs/evaluation.md, "What is not shown") this hid 49 of the model's fills shown and replaced one, none exact
    (`iftinue`, `return MergedLazValueValue`)."""
    text = parsed.snapshot.text
    return [s for s in suggestions
            if not garbled(text[:s.start], s.text, text[s.end:], engine.tokenizer.holds_word, elsewhere, code)]


def from_the_file(
    engine: InfillLookup,
    parsed: ParsedSnapshot,
    offset: int,
    settings: Settings,
    *,
    should_stop: Callable[[], bool],
    elsewhere: Sequence[str] = (),
    hole: tuple[int, InfillContext] | None = None,
    surroundings: Surroundings = NO_SURROUNDINGS,
) -> list[Suggestion]:
    """What `complete` shows while typing with no model pass: the fill the file (or a file in ``elsewhere``) spells
    out at ``offset``, where it keeps the file no worse (`copied`), closed first where it leaves the file unparsed
    (`parsing_first`); none with ``settings.file_lookup`` off, in a comment (there any fill keeps the file parsing,
    and the file's code bridged from a word of prose is no sentence), where nothing is shown while typing
    (`not_while_typing`), or at the end of a header's line (`ends_a_header`). Needs the checkpoint's config and
    tokenizer alone: what a request gets while torch and the model's weights load."""
    if not settings.file_lookup or not_while_typing(parsed, offset) or in_comment(parsed, offset):
        return []
    hole = hole or _hole(engine, parsed, offset, settings)
    if ends_a_header(hole[1]):
        return []
    shown = copied(engine, parsed, offset, settings, elsewhere, hole=hole, should_stop=should_stop,
                   surroundings=surroundings)
    _stop_if(should_stop)
    return parsing_first_kept(parsed, offset, shown, should_stop) if shown else []


def guesses_new_lines(engine: InfillLookup, settings: Settings) -> bool:
    """Whether the model's fill of a blank line, or of the body below a header's line the cursor ends
    (`begins_new_lines`), is shown while typing: `Settings.typing_new_lines`, else the checkpoint's
    `infill_new_lines`. The embedded model's are off: on 3,357 held-out holes while typing, its fill of a blank line
    was shown 200 times and exact twice, a lone `}` and `return False` (docs/evaluation.md "What is not shown")."""
    return engine.generation.infill_new_lines if settings.typing_new_lines is None else settings.typing_new_lines


# Where LSP ends a line: "\n", "\r\n" or a lone "\r" (a document's line starts count them all).
_BREAK = re.compile(r"[\r\n]")


def _line_around(text: str, offset: int) -> tuple[int, int]:
    """The start and end (before its break) of the line that holds ``offset``, its breaks as LSP counts them."""
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    found = _BREAK.search(text, offset)
    return start, len(text) if found is None else found.start()


def ends_a_header(ctx: InfillContext) -> bool:
    """Whether the cursor ends a header's line whose body is still to come (`def total(items):|`, `if (ok) {|}`):
    the hole is the block below it, after code on the cursor's line. A fill the file spells out is the rest of
    another line (a bridge's, a line shape's), which there goes on the body's first line, where it never stood: on
    held-out files all 25 such copies shown were wrong, a comment that ended a header (`# type: ignore[override]`),
    a stub's `...`, an annotation after a name that ends as the header's word does (`registry: list[str] = []`
    after `try:`)."""
    return ctx.shape is HoleShape.BLOCK and bool(ctx.line_prefix.strip())


def begins_new_lines(text: str, offset: int, ctx: InfillContext) -> bool:
    """Whether the model's fill at ``offset`` is its guess of whole lines not begun yet: on a blank line
    (`on_a_blank_line`), or at the end of a header's line whose body is still to come (`def f(x):|`, `if (ok) {|}`),
    where the hole is a block (`HoleShape.BLOCK`) and the fill goes on the lines below, Enter not pressed yet."""
    return on_a_blank_line(text, offset) or ctx.shape is HoleShape.BLOCK


def on_a_blank_line(text: str, offset: int) -> bool:
    """Whether the cursor's line holds nothing but whitespace, before ``offset`` and after it."""
    start, end = _line_around(text, offset)
    return not text[start:end].strip()


def not_while_typing(parsed: ParsedSnapshot, offset: int) -> bool:
    """Whether nothing is shown at ``offset`` while typing: in the middle of a word (`mid_word`), or, in a file no
    grammar reads, before a word further on its line. There no check reads a fill with the text after it, and one
    written into a line splices into it: of 140 such cursors in files of fourteen kinds with no grammar here, 93
    were shown a fill (`FROM items` + ` SET quantity = quantity - 1` before `;`, `#!/usr` + `er` before `/bin/env`)."""
    text = parsed.snapshot.text
    if mid_word(text, offset):
        return True
    if syntax_checked(parsed):
        return False
    return WORD_CHARACTER.search(text, offset, _line_around(text, offset)[1]) is not None


def mid_word(text: str, offset: int) -> bool:
    """Whether the character after ``offset`` is a word character (`getU|Value`, `comp|ute(a)`): a fill typed into
    a word splits it, and the user there is editing the name, not writing on."""
    return WORD_CHARACTER.match(text, offset) is not None


def invoked_order(parsed: ParsedSnapshot, offset: int, suggestions: list[Suggestion],
                  should_stop: Callable[[], bool] | None = None) -> list[Suggestion]:
    """What an invoked request lists: `parsing_first`, of the suggestions that leave the file no worse (`no_worse`)
    where any does. Beside one that does, a fill that breaks the code (a lone `"`, a stray `%`) is noise the user
    has to read past; where every one does, all are listed, the first closed so that it parses before them, and
    before those the brackets still open alone where they mend the code near the cursor: a fill can mend it and
    still be none the language takes (`if (x) { foo(a` + `) {`, a function defined in a body)."""
    kept = no_worse(parsed, suggestions, should_stop)
    if kept:
        return parsing_first_kept(parsed, offset, kept, should_stop)
    listed = parsing_first(parsed, offset, suggestions, should_stop)
    texts = {s.text for s in listed}
    return [s for s in parsing_first_kept(parsed, offset, [], should_stop) if s.text not in texts] + listed


def from_file_alone(suggestions: list[Suggestion]) -> bool:
    """Whether what `complete` returned while typing is a fill the file (or a file beside it) spells out, shown with
    no model pass."""
    return (bool(suggestions) and all(s.source != "model" for s in suggestions)
            and any(s.source in ("file", "beside") for s in suggestions))


def typed_through(parsed: ParsedSnapshot, offset: int, rests: list[str],
                  should_stop: Callable[[], bool] | None = None) -> list[Suggestion]:
    """Suggestions for the remainder of fills the user is typing through (``rests``, best first), held to what
    `complete` holds a fill to while typing (`no_worse`, then `parsing_first`), in ``parsed``, the text as it now
    is: the characters typed change how the rest reads. After `text.p` (a field: the file parses) the rest of
    `push(c);` ends the statement before the `.map(..)` on the line below; after `s.clone(` the rest `)` closes a
    call the editor had closed already. None where no remainder passes (nor where nothing is shown while typing,
    `not_while_typing`): the caller then asks afresh. Raises `engine.errors.Cancelled` once ``should_stop`` says
    so."""
    if not_while_typing(parsed, offset):
        return []
    # The cursor's line around it, as `build_context` reads it (the document's line breaks: LF, CRLF or a lone CR).
    snap = parsed.snapshot
    line = snap.line_of(offset)
    before, after = snap.text[snap.line_starts[line]:offset], snap.text[offset:snap.line_end(line)]
    kept = no_worse(parsed, [Suggestion(rest, offset, offset + closers_written_again(rest, before, after), 1.0)
                             for rest in rests if rest.strip()], should_stop)
    return parsing_first_kept(parsed, offset, kept, should_stop) if kept else []
