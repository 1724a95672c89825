"""Closing what a fill leaves open: when none of the fills for a hole keeps the file parsing, the same fills
followed by the brackets still open before the hole often do.

A small model ends a closing span too early (`)` where the code needs `)))`), and a fill the file spells out in
other surroundings can stop short of the bracket this place needs. The brackets still open are found by a rough
scan of the text before the hole (and the fill) that skips string literals and comments in any of the supported
languages. It need not be exact: every variant is held up to the caller's own test (the file parses with it), and
one that fails it is never offered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

PAIRS = {"(": ")", "[": "]", "{": "}"}
_OPENER_OF = {closer: opener for opener, closer in PAIRS.items()}
# Enough text before the hole for the statement and the blocks around it; a long file is not scanned whole.
SCAN_CHARS = 4000
# At most this many closers are appended: more are rarely owed by a hole, and each variant is one more parse.
MAX_CLOSERS = 4
# Parses spent on variants, in all, for one hole.
MAX_TRIES = 12


def _skip_string(text: str, i: int) -> int:
    """The index after the string literal that starts at `i`. A quote that is not closed on its line (a Rust
    lifetime, an apostrophe in prose) is taken as one character, not as a string."""
    quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else text[i]
    j = i + len(quote)
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text.startswith(quote, j):
            return j + len(quote)
        if text[j] == "\n" and len(quote) == 1:
            break
        j += 1
    return i + 1 if len(quote) == 1 else len(text)


def still_open(text: str) -> str:
    """The closers of the brackets `text` leaves open, innermost first: `f(a, [b` -> `])`. Brackets in string
    literals and comments (`#`, `//`, `/* */`) are not counted."""
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'`":
            i = _skip_string(text, i)
            continue
        if ch == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch in PAIRS:
            stack.append(ch)
        elif ch in _OPENER_OF and _OPENER_OF[ch] in stack:
            # A closer for an outer bracket closes the inner ones too, as most parsers recover.
            while stack.pop() != _OPENER_OF[ch]:
                pass
        i += 1
    return "".join(PAIRS[opener] for opener in reversed(stack))


def _scan_window(before: str) -> str:
    """The end of `before`, from a line start, so that the scan does not start inside a line's string."""
    if len(before) <= SCAN_CHARS:
        return before
    tail = before[-SCAN_CHARS:]
    newline = tail.find("\n")
    return tail[newline + 1:] if newline >= 0 else tail


def closed_variants(before: str, fills: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(index of the fill, the fill followed by the fewest closers first, then more) for each fill in order, and
    last for no fill at all (index -1): the brackets alone."""
    window = _scan_window(before)
    for index, fill in [*enumerate(fills), (-1, "")]:
        owed = still_open(window + fill)[:MAX_CLOSERS]
        for count in range(1, len(owed) + 1):
            yield index, fill + owed[:count]


def close_to_pass(before: str, fills: Sequence[str], accepts: Callable[[str], bool]) -> tuple[int, str] | None:
    """The first variant of `fills` (`closed_variants`) that `accepts` passes, with the index of the fill it
    closes (-1: the brackets alone); None if none does within `MAX_TRIES` tests."""
    tried: set[str] = set()
    for index, text in closed_variants(before, fills):
        if text in tried:
            continue
        if len(tried) == MAX_TRIES:
            return None
        tried.add(text)
        if accepts(text):
            return index, text
    return None
