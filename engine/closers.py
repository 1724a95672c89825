"""Closing what a fill leaves open: when none of the fills for a hole keeps the file parsing, the same fills
followed by the brackets still open before the hole often do.

A small model ends a closing span too early (`)` where the code needs `)))`), and a fill the file spells out in
other surroundings can stop short of the bracket this place needs. The brackets still open are found by a rough
scan of the text before the hole (and the fill) that skips string literals and comments in any of the supported
languages (`#` begins one only where the caller says so: it is code in Rust's `#[derive(..)]` and JavaScript's
`this.#items`). It need not be exact: every variant is held up to the caller's own test (the file parses with it),
and one that fails it is never offered.

The parse alone cannot tell whose bracket a closer closes: with an `if {` left open far above, a `}` at the hole
makes the file parse, the function's own `}` then closing the other one. So only the brackets the hole is inside
by the file's layout are closed (`owed`): a line back at or left of an opener's line ends its block in the
writer's mind, and a line after the hole that begins with the bracket's closer at its indentation closes it there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

PAIRS = {"(": ")", "[": "]", "{": "}"}
OPENER_OF = {closer: opener for opener, closer in PAIRS.items()}
CLOSERS = frozenset(OPENER_OF)
# Columns to the next tab stop, as Python's tokenizer and most terminals count them: in a file that mixes tabs
# and spaces (GNU style: one tab for two levels of four), the levels compare as they are drawn.
TAB_WIDTH = 8
# After the first character of code on a line, the scan stops only at these.
_STOPS = re.compile(r"""["'`#/\n()\[\]{}]""")
_LEADING_CLOSERS = re.compile(r"[)\]}]*")
# A label (`case 1:`, `default:`, `public:`, `retry:`) sits at or left of its block's indentation by convention
# (gofmt, many C styles), so its line ends no block. A name's is alone on its line: `methods: {`, `name: 'shop',`
# (a property) and Go's `x := 1` are none.
_LABEL = re.compile(r"(?:case\b|default\s*:|\w+[ \t]*:(?=[ \t\r]*(?:\n|//|/\*|$)))")
# Words a block's `{` follows, spaced or not (`else{`, `[]() mutable {`): after any other name, a `{` right after it
# opens a literal (`Point{1, 2}`).
_BLOCK_WORD = re.compile(r"(?<![\w.])(?:else|do|try|finally|const|mutable|noexcept|override|final|loop|unsafe)$")
# Enough text before the hole for the statement and the blocks around it; a long file is not scanned whole.
SCAN_CHARS = 4000
# What begins a line comment where the caller does not name the language: those of all the supported languages.
LINE_COMMENTS = ("#", "//")
# At most this many closers are appended: more are rarely owed by a hole, and each variant is one more parse.
MAX_CLOSERS = 4
# Parses spent on variants, in all, for one hole.
MAX_TRIES = 12


# A quote that begins a lifetime or a label's name (Rust's `'a`, `'static`, `'outer`) as a string would: a name,
# then no quote (`'ab'` is a string, `'a'` a character).
_NAME_QUOTE = re.compile(r"'[A-Za-z_]\w*(?!['\w])")
# What follows a quote that opens the next lifetime (`'a`) or a character literal (`'{'`, `'\n'`), not one that
# closes a string (code as written puts no name right after a string's closing quote, in any of the languages).
_QUOTE_OPENS = re.compile(r"'(?:\w|[^'\\\n]'|\\)")


def _skip_string(text: str, i: int) -> int:
    """The index after the string literal that starts at `i`. A quote that is not closed on its line (a Rust
    lifetime, an apostrophe in prose) is taken as one character, not as a string; so is one that begins a name whose
    closing quote would open the next lifetime or a character literal (`<'a>(x: &'a`, `&'a str) { f('{'`): in a
    language whose strings take single quotes, no string is followed so."""
    quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else text[i]
    j = i + len(quote)
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text.startswith(quote, j):
            if quote == "'" and _NAME_QUOTE.match(text, i) and _QUOTE_OPENS.match(text, j):
                break
            return j + len(quote)
        if text[j] == "\n" and len(quote) == 1:
            break
        j += 1
    return i + 1 if len(quote) == 1 else len(text)


@dataclass(eq=False)
class _Opener:
    char: str
    indent: int  # columns of the indentation of its line
    ended: bool = False  # a line since, at or left of its line, ended its block as the text is laid out
    at: int = -1  # its index in the text scanned


def indent_width(line: str) -> int:
    """Columns of the indentation ``line`` begins with."""
    return len(line[:len(line) - len(line.lstrip(" \t"))].expandtabs(TAB_WIDTH))


LINE = ""  # `brackets_in_code`'s mark of the first character of code on a line


def brackets_in_code(text: str, line_comments: tuple[str, ...] = LINE_COMMENTS) -> Iterator[tuple[int, str]]:
    """(index, bracket) of each bracket of ``text`` outside string literals and comments (those ``line_comments``
    begin, and `/* */`), and (index, `LINE`) at the first character of code on each line: a line of comment alone
    has none."""
    i, n, fresh = 0, len(text), True
    while i < n:
        ch = text[i]
        if ch == "\n":
            fresh = True
            i += 1
            continue
        if ch in " \t\r":
            i += 1
            continue
        if text.startswith(line_comments, i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if fresh:
            fresh = False
            yield i, LINE
        if ch in "\"'`":
            i = _skip_string(text, i)
            continue
        if ch in PAIRS or ch in OPENER_OF:
            yield i, ch
        found = _STOPS.search(text, i + 1)
        i = n if found is None else found.start()


def is_label(code: str) -> bool:
    """Whether a line of code, from its first character, is a label (`case 1:`, `default:`, `public:`): one at or
    left of its block's indentation ends no block."""
    return _LABEL.match(code) is not None


def _line_at(text: str, i: int) -> tuple[int, str] | None:
    """(indentation, the closers it begins with) of the line whose code starts at ``i``; None for a label."""
    if _LABEL.match(text, i):
        return None
    return indent_width(text[text.rfind("\n", 0, i) + 1:i]), _LEADING_CLOSERS.match(text, i).group()


def _closed_by_layout(stack: list[_Opener], indent: int, closers: str) -> list[_Opener]:
    """The openers that the closers a line at ``indent`` begins with close as the text is laid out: each the
    innermost opener whose line is at or left of it (`})` closes a callback's `{` and the call around it, both on
    one line), as long as the kinds agree."""
    closed = []
    for closer, opener in zip(closers, (o for o in reversed(stack) if o.indent <= indent)):
        if PAIRS[opener.char] != closer:
            break
        closed.append(opener)
    return closed


def _end_blocks(stack: list[_Opener], indent: int, closers: str) -> None:
    """Marks ended the openers whose block a line at ``indent`` ends: those deeper than it, those its closers
    close, and those at its indentation unless it begins with a closer (`} else {`, `}, function () {` go on
    with the block around)."""
    closed = _closed_by_layout(stack, indent, closers)
    for opener in stack:
        if opener.indent > indent or opener in closed or (opener.indent == indent and not closers):
            opener.ended = True


def open_brackets(text: str, line_comments: tuple[str, ...] = LINE_COMMENTS) -> list[_Opener]:
    """The brackets ``text`` leaves open, outermost first, each marked where the layout ended its block."""
    stack: list[_Opener] = []
    indent = 0
    for i, ch in brackets_in_code(text, line_comments):
        if ch == LINE:
            line = _line_at(text, i)
            if line is not None:
                indent = line[0]
                _end_blocks(stack, *line)
            else:
                indent = indent_width(text[text.rfind("\n", 0, i) + 1:i])
        elif ch in PAIRS:
            stack.append(_Opener(ch, indent, at=i))
        elif any(o.char == OPENER_OF[ch] for o in stack):
            # A closer for an outer bracket closes the inner ones too, as most parsers recover.
            while stack.pop().char != OPENER_OF[ch]:
                pass
    return stack


def still_open(text: str, *, line_comments: tuple[str, ...] = LINE_COMMENTS) -> str:
    """The closers of the brackets `text` leaves open, innermost first: `f(a, [b` -> `])`. Brackets in string
    literals and comments (those ``line_comments`` begin, and `/* */`) are not counted."""
    return "".join(PAIRS[o.char] for o in reversed(open_brackets(text, line_comments)))


def _closed_after(stack: list[_Opener], indent: int, after: str,
                  line_comments: tuple[str, ...] = LINE_COMMENTS) -> set[_Opener]:
    """The openers of ``stack`` (open at the cursor, on a line at ``indent``) that the text ``after`` it closes.
    The first line at or left of an opener's settles it: the line closes it if it begins with its closer as the
    layout matches them (C's `}`, Python's `)` at the call's indentation, once brackets the text after opens are
    matched), and otherwise ends its block without it. A deeper line that begins with its closer closes it too
    (PEP 8's `    ]` under the items). A closer after code settles nothing, on the cursor's line or another:
    whose bracket it closes, the layout does not say (`g(h(x|)` may owe one more `)`; so may `h(x|` above
    `    and y)`), so that is left to the parse."""
    brackets, unsettled, closed = list(stack), set(stack), set()
    cursor_line_ends = after.find("\n") if "\n" in after else len(after)
    leading_end = 0  # where the closers that begin the current line end
    for i, ch in brackets_in_code(after, line_comments):
        if not unsettled:
            break
        if ch == LINE and i > cursor_line_ends:
            line = _line_at(after, i)
            if line is None:
                continue
            indent, closers = line
            leading_end = i + len(closers)
            matched = _closed_by_layout(brackets, indent, closers)
            for opener in [o for o in unsettled if o.indent >= indent]:
                unsettled.discard(opener)
                if opener in matched:
                    closed.add(opener)
        elif ch in PAIRS:
            brackets.append(_Opener(ch, indent))
        elif ch in OPENER_OF and any(o.char == OPENER_OF[ch] for o in brackets):
            while (opener := brackets.pop()).char != OPENER_OF[ch]:
                pass
            if i < leading_end and opener in unsettled:
                unsettled.discard(opener)
                closed.add(opener)
    return closed


def _scan(before: str, after: str, line_comments: tuple[str, ...]) -> tuple[list[_Opener], str, set[_Opener]]:
    """The brackets still open at a cursor between ``before`` and ``after`` (`open_brackets`), the cursor's whole
    line, and the openers the text after it closes (`_closed_after`)."""
    stack = open_brackets(before, line_comments)
    cursor_line = before[before.rfind("\n") + 1:] + after[:after.find("\n") if "\n" in after else len(after)]
    return stack, cursor_line, _closed_after(stack, indent_width(cursor_line), after, line_comments)


def _owed(stack: list[_Opener], closed: set[_Opener]) -> str:
    out = []
    for opener in reversed(stack):
        if opener.ended or opener in closed:
            break
        out.append(PAIRS[opener.char])
    return "".join(out)


def owed(before: str, after: str = "", *, line_comments: tuple[str, ...] = LINE_COMMENTS) -> str:
    """The closers owed at a cursor between ``before`` and ``after``, innermost first: of the brackets still open
    (`still_open`), those the cursor is inside by the layout (no line between the opener's and the cursor's is at
    or left of the opener's, but one that begins with a closer) and the text after it does not close
    (`_closed_after`), up to the first that is not. A bracket left open far above is another place's problem.
    ``line_comments``: what begins a line comment in the text's language."""
    stack, _, closed = _scan(before, after, line_comments)
    return _owed(stack, closed)


def _closed_right_after(stack: list[_Opener], after: str) -> int:
    """How many of the innermost openers of ``stack`` the closers right after the cursor on its line close, kind
    by kind: the editor's `}` after `{|`, its `)` after `print(x|`."""
    count = 0
    for closer in re.match(r"[ \t]*([)\]}]*)", after).group(1):
        if count == len(stack) or PAIRS[stack[-1 - count].char] != closer:
            break
        count += 1
    return count


def owed_on_line(before: str, after: str = "", *, line_comments: tuple[str, ...] = LINE_COMMENTS,
                 block_braces: bool = True) -> str:
    """The closers owed (`owed`) that may be put at the cursor, on its line: those the text right after the cursor
    does not close already (`_closed_right_after`), up to a block's `{` that is not this line's to close. After code
    on the line, only a `{` the line opened with code after it (an object, `{a: 1|`) is, and not where the next line
    of code stands deeper than the cursor's (`next_line`: the block's body goes on there): a `}` after
    `let su|` or `impl Stack {|` would end the body being written. A `{` opened on a line above is closed only from
    a blank line at the opener's indentation (its body written, the cursor back at its column), and only the first
    such. Where ``block_braces`` is false (Python: its blocks are no braces), a `{` is a bracket like the others."""
    return _on_line(before, after, *_scan(before, after, line_comments), block_braces, line_comments)


def next_line(after: str, line_comments: tuple[str, ...] = LINE_COMMENTS) -> str | None:
    """The first line of code after the cursor's (``after`` begins at the cursor), up to its end, blank lines and
    comments aside; None where none follows."""
    newline = after.find("\n")
    if newline < 0:
        return None
    for i, mark in brackets_in_code(after[newline:], line_comments):
        if mark == LINE:
            end = after.find("\n", newline + i)
            return after[after.rfind("\n", 0, newline + i) + 1:len(after) if end < 0 else end]
    return None


def _on_line(before: str, after: str, stack: list[_Opener], cursor_line: str, closed: set[_Opener],
             block_braces: bool, line_comments: tuple[str, ...]) -> str:
    line_start = before.rfind("\n") + 1
    inner = _closed_right_after(stack, after)
    code_before = bool(before[line_start:].strip())
    out = []
    for opener in reversed(stack[:len(stack) - inner]):
        if opener.ended or opener in closed:
            break
        if opener.char == "{" and block_braces:
            if opener.at >= line_start:
                if not before[opener.at + 1:].strip():
                    break  # a header's or an empty object's: the body or members come first
                below = next_line(after, line_comments)
                if below is not None and indent_width(below) > indent_width(cursor_line):
                    break  # its body (or its members) go on below, its `}` after them
            elif code_before or cursor_line.strip() or indent_width(cursor_line) != opener.indent:
                break
        out.append(PAIRS[opener.char])
        code_before = True
    return "".join(out)


def owed_below(before: str, after: str = "", *, line_comments: tuple[str, ...] = LINE_COMMENTS,
               block_braces: bool = True) -> str:
    """The closers owed at the end of a line (`owed`) where none may be put on it (`owed_on_line`): the `}`s of
    the bodies around a statement that ends there, which the lines below are still to write. Empty where the line
    owes one, or where one owed is no `}`."""
    window, following = scan_window(before), after[:SCAN_CHARS]
    stack, cursor_line, closed = _scan(window, following, line_comments)  # once, for both questions
    closers = _owed(stack, closed)
    if closers.strip("}") or _on_line(window, following, stack, cursor_line, closed, block_braces, line_comments):
        return ""
    return closers


def scan_window(before: str) -> str:
    """The end of `before`, from a line start, so that the scan does not start inside a line's string; nor inside
    a triple-quoted one (an odd count of its quotes before the cut), whose closing quotes it would read as an
    opening, and the code after them as the string."""
    if len(before) <= SCAN_CHARS:
        return before
    cut = len(before) - SCAN_CHARS
    for quote in ('"""', "'''"):
        if before.count(quote, 0, cut) % 2:
            end = before.find(quote, cut)
            cut = cut if end < 0 else end + len(quote)
    newline = before.find("\n", cut)
    return before[newline + 1:] if newline >= 0 else before[cut:]


def closed_variants(before: str, fills: Sequence[str], after: str = "", *,
                    owing: Callable[[str, str], str] = owed, alone: bool = True, terminator: str = "",
                    line_comments: tuple[str, ...] = LINE_COMMENTS) -> Iterator[tuple[int, str]]:
    """(index of the fill, the fill followed by the fewest closers first, then more) for each fill in order, and last
    for no fill at all (index -1, where ``alone``): the brackets alone. The closers are those ``owing`` (`owed`, or
    `owed_on_line`) gives after the fill, with ``after`` the text after the hole; never fewer than close the blocks
    the cursor's line opened where the code below stands outside them (`_least_closers`). A ``terminator`` (the `;` a
    statement owes in C) is tried after each count of closers, right after the closers alone, then, where they hold a
    block's `}`, before it, and before it and after them all (`_terminated`). ``line_comments``: what begins a comment
    on the cursor's line, whose openers these read."""
    window, following = scan_window(before), after[:SCAN_CHARS]
    for index, fill in [*enumerate(fills), *([(-1, "")] if alone else [])]:
        code = window + fill
        closers = owing(code, following)[:MAX_CLOSERS]
        # The cursor's line and the openers it leaves open, innermost last: read once for every count of closers.
        line = code[code.rfind("\n") + 1:]
        stack = open_brackets(line, line_comments)
        least = _least_closers(line, stack, following, closers, line_comments)
        for count in range(max(least, 1), len(closers) + 1):
            yield index, fill + closers[:count]
            if terminator:
                yield index, fill + closers[:count] + terminator
                inside = _terminated(line, stack, closers[:count], terminator)
                if inside:
                    yield index, fill + inside
                    yield index, fill + inside + terminator


def _least_closers(line: str, stack: list[_Opener], after: str, closers: str,
                   line_comments: tuple[str, ...]) -> int:
    """How many of ``closers`` (owed at the end of ``line``, the cursor's, whose openers left open are ``stack``,
    innermost first, with ``after`` after it) a variant puts at least, where nothing but a comment follows on the
    cursor's line: through the last `}` of a block the line opened with code after it, where the next line of code
    stands at or left of the line (`next_line`). That line is no part of the block, which left open would swallow it
    (`if (x) { return g(2` above `return 0;`), but where it begins with a `}` at the line's indentation, that `}`
    closes the outermost such block (`struct S { int f() { return g(1` above `};`). None where the block's body goes
    on deeper."""
    below = next_line(after, line_comments)
    if ("}" not in closers or below is None or indent_width(below) > indent_width(line)
            or _holds_code(after.split("\n", 1)[0], line_comments)):
        return 0
    blocks = []  # the counts of closers that close each such block, innermost first
    for count, (closer, opener) in enumerate(zip(closers, stack[::-1]), 1):
        if PAIRS[opener.char] != closer:
            break
        if closer == "}" and line[opener.at + 1:].strip():
            blocks.append(count)
    if blocks and indent_width(below) == indent_width(line) and below.lstrip().startswith("}"):
        blocks.pop()
    return blocks[-1] if blocks else 0


def _holds_code(text: str, line_comments: tuple[str, ...]) -> bool:
    """Whether ``text`` holds code, not only blanks and comments."""
    return next(brackets_in_code(text, line_comments), None) is not None


def _terminated(line: str, stack: list[_Opener], closers: str, terminator: str) -> str:
    """``closers`` (owed at the end of ``line``, the cursor's, whose openers left open are ``stack``; none of them
    closed right after it) with ``terminator`` before their first `}` that closes a block, not a literal
    (`_opens_literal`): the statement a block opened on the line holds ends inside it (`if (x) { return g(2` ->
    `); }`, `if (x) { int a[] = {1, f(2` -> `)}; }`). That `}` is spaced from it as its `{` is from the code after
    it, where the `{` stands on the line. Empty where the closers close no block."""
    for brace, closer in enumerate(closers):
        opener = stack[-1 - brace] if brace < len(stack) else None
        if closer != "}" or (opener is not None and _opens_literal(line[:opener.at])):
            continue
        space = " " if opener is not None and line[opener.at + 1:opener.at + 2] in (" ", "\t") else ""
        return closers[:brace] + terminator + space + closers[brace:]
    return ""


def _opens_literal(before: str) -> bool:
    """Whether a `{` after ``before`` (its line up to it) opens a literal, not a block: after a `=`, an opening
    bracket, a `,`, a `?` or a `return` (`= {1, 2}`, `f({1, 2})`, `return {a, b};`), or right after a name
    (`Point{1, 2}`) that is no keyword (`else{`). A block's follows a `)`, an arrow or a word apart (`if x {`).
    Where unsure, a block: a literal taken for one costs a variant that does not parse, not the one that does."""
    code = before.rstrip()
    if code.endswith(("=>", "->")):
        return False
    if code.endswith(("=", "(", "[", "{", ",", "?")) or re.search(r"\breturn$", code):
        return True
    return re.search(r"\w$", before) is not None and _BLOCK_WORD.search(before) is None


def close_to_pass(before: str, fills: Sequence[str], accepts: Callable[[str], bool], *, after: str,
                  owing: Callable[[str, str], str] = owed, alone: bool = True, terminator: str = "",
                  line_comments: tuple[str, ...] = LINE_COMMENTS) -> tuple[int, str] | None:
    """The first variant of `fills` (`closed_variants`, with ``owing``, ``alone``, ``terminator`` and
    ``line_comments``) that `accepts` passes, with the index of the fill it closes (-1: the brackets alone); None
    if none does within `MAX_TRIES` tests. ``before`` and ``after``: the text on either side of the hole."""
    tried: set[str] = set()
    for index, text in closed_variants(before, fills, after, owing=owing, alone=alone, terminator=terminator,
                                       line_comments=line_comments):
        if text in tried:
            continue
        if len(tried) == MAX_TRIES:
            return None
        tried.add(text)
        if accepts(text):
            return index, text
    return None
