"""Fills the file already spells out: before the model guesses, look for the same place elsewhere in the file.

Code repeats itself (a call made twice, a field set in `__init__` and read later, the arms of a dispatch), and a
small model copies poorly from a long context. So the text around the hole is searched for a *bridge*: an
occurrence of the text just before the hole (the key) followed, on the same line, by the text just after the
hole (the head). What lies between is a fill the file has used in the same surroundings.

The longest key that finds any bridge decides; among its bridges the fill found in most places wins, then the
nearest. Short keys match by accident, so keys under `MIN_KEY_CHARS` are not tried: on 150 held-out line holes the
fills found with 1–3 character keys were never exact, while those found with 4 or more were exact 18% of the time,
where the model alone was exact 6% of the time (`docs/evaluation.md`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

KEY_CHARS = (48, 32, 24, 16, 12, 8, 6, 4)  # longest first: a longer match is stronger evidence
MIN_KEY_CHARS = KEY_CHARS[-1]
# How much of the text after the hole must follow a bridge: the longest that finds one. A single character (the end
# of the line) still decides well with a key of 4 or more.
HEAD_CHARS = (8, 4, 2, 1)
MAX_FILL_CHARS = 200
MAX_OCCURRENCES = 2000  # per key length, nearest the hole first; a bound on the work in a very repetitive file
# Text searched on each side of the hole: whole files of ordinary size, and a few milliseconds in a huge one.
SEARCH_CHARS = 100_000


@dataclass(frozen=True)
class LookupFill:
    text: str
    key_chars: int  # how much of the text before the hole matched where the fill was found
    votes: int  # the places in the file that agree on this fill


def _occurrences(text: str, key: str, hole: int) -> list[int]:
    """Where `key` ends in `text`, nearest the hole first, leaving out the hole's own key."""
    ends = []
    start = text.find(key)
    while start >= 0:
        end = start + len(key)
        if end != hole:
            ends.append(end)
        start = text.find(key, start + 1)
    ends.sort(key=lambda e: abs(e - hole))
    return ends[:MAX_OCCURRENCES]


def _bridges(text: str, hole: int, key: str, head: str) -> list[tuple[str, int]]:
    """(fill, distance from the hole) for each occurrence of `key` followed on its line by `head`."""
    found = []
    for end in _occurrences(text, key, hole):
        window = text[end:end + MAX_FILL_CHARS + len(head)]
        cut = window.find(head)
        if cut <= 0:
            continue
        fill = window[:cut]
        # A fill is one line, and never reaches the hole itself (that would repeat the text around the cursor).
        if "\n" in fill or end < hole <= end + cut:
            continue
        found.append((fill, abs(end - hole)))
    return found


def lookup_fills(before: str, after: str, limit: int = 3) -> list[LookupFill]:
    """Fills for the hole between `before` and `after` (the whole file, or as much of it as should be searched)
    that the file spells out elsewhere between the same key and head; the strongest first, at most `limit`."""
    if not after or len(before) < MIN_KEY_CHARS:
        return []
    before, after = before[-SEARCH_CHARS:], after[:SEARCH_CHARS]
    text, hole = before + after, len(before)
    out: dict[str, LookupFill] = {}
    for key_chars in KEY_CHARS:
        if key_chars > len(before):
            continue
        key = before[-key_chars:]
        for head_chars in HEAD_CHARS:
            bridges = _bridges(text, hole, key, after[:head_chars])
            if bridges:
                break
        votes = Counter(fill for fill, _ in bridges)
        nearest = {}
        for fill, distance in bridges:
            nearest.setdefault(fill, distance)  # bridges come nearest first
        for fill in sorted(votes, key=lambda f: (-votes[f], nearest[f])):
            if fill not in out:
                out[fill] = LookupFill(fill, key_chars, votes[fill])
        if len(out) >= limit:
            break
    return list(out.values())[:limit]
