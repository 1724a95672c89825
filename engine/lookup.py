"""Fills the file already spells out: before the model guesses, look for the same place elsewhere in the file.

Code repeats itself (a call made twice, a field set in `__init__` and read later, the arms of a dispatch), and a
small model copies poorly from a long context. So the text around the hole is searched in two ways:

- a *bridge*: an occurrence of the text just before the hole (the key) followed, on the same line, by the text just
  after the hole (the head). What lies between is a fill the file has used in the same surroundings.
- the hole's *line shape*: another line that reads as the hole's line does up to the hole, but with its last few
  words free (`self.kwargs = ` has the shape of `self.args = `), and goes on with the same head. A word that such a
  line repeats from its free words is renamed to the hole's word, so `self.args = args` offers `kwargs`.

Bridges with keys of `STRONG_KEY_CHARS` or more come first, the longest key first; then line shapes, the fewest
free words first; then bridges with shorter keys. Within each, the fill found in most places wins, then the
nearest. Short keys match by accident, so keys under `MIN_KEY_CHARS` are not tried: on 150 held-out line holes the
fills found with 1–3 character keys were never exact, while those found with 4 or more were exact 18% of the time,
where the model alone was exact 6% of the time. A line shape matches the whole line from its indentation on, so
it is better evidence than a short key: ranked so, the first fill is exact on 71 of 296 held-out line holes where
bridges alone gave 57, and on 101 of 300 closing spans where they gave 83 (`docs/evaluation.md`).

Other files (`elsewhere`: those open beside the file, or in its directory) are searched the same way, with the
hole's own key, head and line shape, for what the file's own fills leave of the list. A project repeats itself
across files too (the same call, the same signature): with the other held-out files of a hole's directory searched,
the fill shown while typing was exact on 21 of 100 held-out line holes instead of 19, and on 38 of 100 closing
spans instead of 30 (`docs/evaluation.md`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

KEY_CHARS = (48, 32, 24, 16, 12, 8, 6, 4)  # longest first: a longer match is stronger evidence
MIN_KEY_CHARS = KEY_CHARS[-1]
STRONG_KEY_CHARS = 12  # bridges with shorter keys rank below line shapes
SHAPE_FREE_WORDS = 4  # at most this many of the hole line's last words are left free
SHAPE_LINE_CHARS = 160  # a longer line (minified code, data) is not matched by its shape
# How much of the text after the hole must follow a fill: the longest that finds one. A single character (the end
# of the line) still decides well with a key of 4 or more.
HEAD_CHARS = (8, 4, 2, 1)
MAX_FILL_CHARS = 200
# Per key length or line shape, nearest the hole first: a bound on the work in a very repetitive file.
MAX_OCCURRENCES = 2000
# Text searched on each side of the hole: whole files of ordinary size, and a few milliseconds in a huge one.
SEARCH_CHARS = 100_000
# Text of other files searched, in all, in the order given: about as much again.
ELSEWHERE_CHARS = 100_000
# A place in another file counts as farther from the hole than any place in the file itself.
_ELSEWHERE_DISTANCE = 1 << 40
# Fills a caller holds up to its own test (the file parses with it), strongest first: when the strongest would
# break the file, a weaker one often fits. Scored alone on 600 held-out closing spans, the first of three that
# parses was exact 223 times, the strongest 209.
COPIES_TESTED = 3

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class LookupFill:
    text: str
    # How much of the text before the hole matched where the fill was found: the key, or the hole's line less its
    # free words.
    key_chars: int
    votes: int  # the places in the file that agree on this fill
    free_words: int = 0  # 0 for a bridge; for a line shape, how many of the line's words were left free


def _distance(at: int, hole: int | None) -> int:
    """How far a place is from the hole; `hole` None: the place is in another file."""
    return abs(at - hole) if hole is not None else _ELSEWHERE_DISTANCE + at


def _occurrences(text: str, key: str, hole: int | None) -> list[int]:
    """Where `key` ends in `text`, nearest the hole first, leaving out the hole's own key."""
    ends = []
    start = text.find(key)
    while start >= 0:
        end = start + len(key)
        if end != hole:
            ends.append(end)
        start = text.find(key, start + 1)
    ends.sort(key=lambda e: _distance(e, hole))
    return ends[:MAX_OCCURRENCES]


def _bridges(text: str, hole: int | None, key: str, head: str) -> list[tuple[str, int]]:
    """(fill, distance from the hole) for each occurrence of `key` followed on its line by `head`."""
    found = []
    for end in _occurrences(text, key, hole):
        window = text[end:end + MAX_FILL_CHARS + len(head)]
        cut = window.find(head)
        if cut <= 0:
            continue
        fill = window[:cut]
        # A fill is one line, and never reaches the hole itself (that would repeat the text around the cursor).
        if "\n" in fill or (hole is not None and end < hole <= end + cut):
            continue
        found.append((fill, _distance(end, hole)))
    return found


def _bridge_finds(before: str, after: str, keys: list[int],
                  elsewhere: Sequence[str]) -> Iterator[tuple[list[tuple[str, int]], int, int]]:
    """(fills with their distance from the hole, key length, 0) for each key length that finds a bridge."""
    texts = [(before + after, len(before)), *((other, None) for other in elsewhere)]
    for key_chars in keys:
        if key_chars > len(before):
            continue
        for head_chars in HEAD_CHARS:
            key, head = before[-key_chars:], after[:head_chars]
            found = [f for text, hole in texts for f in _bridges(text, hole, key, head)]
            if found:
                yield found, key_chars, 0
                break


def _line_shape(line: str, free: int) -> tuple[str, tuple[str, ...]] | None:
    """The regular expression for lines that read as `line` with its last `free` words left free, and those words;
    None when only whitespace would be left to match (nearly every line would)."""
    words = list(_WORD.finditer(line))[-free:]
    if len(words) < free:
        return None
    kept = [line[:words[0].start()], *(line[a.end():b.start()] for a, b in zip(words, words[1:])),
            line[words[-1].end():]]
    if not "".join(kept).strip():
        return None
    return r"(\w+)".join(map(re.escape, kept)), tuple(w.group() for w in words)


def _renamed(fill: str, theirs: tuple[str, ...], ours: tuple[str, ...]) -> str:
    rename = dict(zip(reversed(theirs), reversed(ours)))  # a word free twice there takes its first match here
    return _WORD.sub(lambda w: rename.get(w.group(), w.group()), fill)


def _shape_finds(before: str, after: str,
                 elsewhere: Sequence[str]) -> Iterator[tuple[list[tuple[str, int]], int, int]]:
    """(fills with their distance from the hole, characters matched, free words) for each number of free words,
    fewest first, whose line shape occurs elsewhere followed by the head."""
    line_start = before.rfind("\n") + 1
    texts = [(before + after, line_start), *((other, None) for other in elsewhere)]
    line = before[line_start:]
    if len(line) > SHAPE_LINE_CHARS:
        return
    rest_of_line = after.partition("\n")[0]
    # "" when the hole ends its line: a fill then runs to the end of the other line.
    heads = list(dict.fromkeys(rest_of_line[:n] for n in HEAD_CHARS)) if rest_of_line else [""]
    for free in range(1, SHAPE_FREE_WORDS + 1):
        shape = _line_shape(line, free)
        if shape is None:
            return
        pattern, ours = shape
        lines = [(m.groups()[:-1], m.group(m.lastindex), _distance(m.start(), hole))
                 for text, hole in texts for m in re.finditer(f"(?m)^{pattern}([^\\n]*)", text) if m.start() != hole]
        lines = sorted(lines, key=lambda found: found[2])[:MAX_OCCURRENCES]
        for head in heads:
            found = []
            for theirs, rest, distance in lines:
                cut = rest.find(head) if head else len(rest)
                if 0 < cut <= MAX_FILL_CHARS:
                    found.append((_renamed(rest[:cut], theirs, ours), distance))
            if found:
                yield found, len(line) - sum(map(len, ours)), free
                break


def lookup_fills(before: str, after: str, limit: int = 3, elsewhere: Sequence[str] = ()) -> list[LookupFill]:
    """Fills for the hole between `before` and `after` (the whole file, or as much of it as should be searched)
    that the file, or the other files in `elsewhere` (nearest first), spell out in the same surroundings; the
    strongest first, at most `limit`."""
    if not after or len(before) < MIN_KEY_CHARS:
        return []
    before, after = before[-SEARCH_CHARS:], after[:SEARCH_CHARS]
    out: dict[str, LookupFill] = {}
    for texts in _searches(elsewhere):
        for found, key_chars, free in _ranked_finds(before, after, texts):
            votes = Counter(fill for fill, _ in found)
            nearest: dict[str, int] = {}
            for fill, distance in sorted(found, key=lambda f: f[1]):
                nearest.setdefault(fill, distance)
            for fill in sorted(votes, key=lambda f: (-votes[f], nearest[f])):
                if fill not in out:
                    out[fill] = LookupFill(fill, key_chars, votes[fill], free)
            if len(out) >= limit:
                break
        if len(out) >= limit:
            break
    return list(out.values())[:limit]


def _searches(elsewhere: Sequence[str]) -> Iterator[Sequence[str]]:
    """The other files each search adds: none, then `elsewhere`. The file's own places come first; other files fill
    only what is left of the list, their places voting with the file's (counted together from the start, another
    file's many places outvoted the file's own right fill). `elsewhere` is read only when that second search runs,
    so a caller may gather it lazily."""
    yield ()
    others = _bounded(elsewhere, ELSEWHERE_CHARS)
    if others:
        yield others


def _bounded(texts: Sequence[str], chars: int) -> list[str]:
    """The first of `texts` up to `chars` characters in all, the last one cut to fit."""
    out = []
    for text in texts:
        if chars <= 0:
            break
        out.append(text[:chars])
        chars -= len(out[-1])
    return out


def _ranked_finds(before: str, after: str,
                  elsewhere: Sequence[str]) -> Iterator[tuple[list[tuple[str, int]], int, int]]:
    """The finds in rank order, each searched only when the ones before it did not fill the list."""
    yield from _bridge_finds(before, after, [k for k in KEY_CHARS if k >= STRONG_KEY_CHARS], elsewhere)
    yield from _shape_finds(before, after, elsewhere)
    yield from _bridge_finds(before, after, [k for k in KEY_CHARS if k < STRONG_KEY_CHARS], elsewhere)
