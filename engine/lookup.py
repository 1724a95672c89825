"""Fills the file already spells out: before the model guesses, look for the same place elsewhere in the file.

Code repeats itself (a call made twice, a field set in `__init__` and read later, the arms of a dispatch), and a
small model copies poorly from a long context. So the text around the hole is searched in two ways:

- a *bridge*: an occurrence of the text just before the hole (the key) followed, on the same line, by the text just
  after the hole (the head). What lies between is a fill the file has used in the same surroundings. A short key is
  often just the name being typed, and where that name is assigned or defined what follows it is the assignment's:
  `print(by_r` would take the rest of `by_region = sales.sum()` and become a call with a keyword argument. Such a fill
  is kept only where such a line begins (the start of a statement, after a `;` too, or a name after it in a
  declaration list, a definition where one is written; a declaration's word, `const`, `int`, where one is written
  and no value is: not after `return`), or, for a keyword argument, in an argument list; and the opening of a defined
  name's block (`interface Box {`) on a header's line (`function makeBox(width: number): Box {`, `impl Box {`), or on
  one that goes on after a name as the file's other lines of its shape do (a header's last line `  ): Sta`, after an
  earlier header's `  ): Summary {`; not after a signature's `  ): Summary;`).
- the hole's *line shape*: another line that reads as the hole's line does up to the hole, but with its last few
  words free (`self.kwargs = ` has the shape of `self.args = `), and goes on with the same head. A word that such a
  line repeats from its free words is renamed to the hole's word, so `self.args = args` offers `kwargs`. Where the
  hole ends inside a word being typed (one the file has nowhere else whole), that word starts the line's word there
  instead, and the fill completes it: `self.u` takes `ser = user` from `self.user = user`, nothing from `self.items`.

The finds are searched in order of strength: bridges with keys of `STRONG_KEY_CHARS` or more, the longest key
first; then line shapes, the fewest free words first; then bridges with shorter keys. Within each, the fill found in
most places comes first, then the nearest. The first `RANKED` fills so gathered are then ranked by a score of their
evidence (`LookupFill.score`): how strong a find, what share of its places agree, how near, in which file, and how
long the fill, weighed as holes cut from the training splits say (`python -m engine.copy_ranking`). Short keys match
by accident, so keys under `MIN_KEY_CHARS` are not tried: on 150 held-out line holes the fills found with 1–3
character keys were never exact, while those found with 4 or more were exact 18% of the time,
where the model alone was exact 6% of the time. Nor is a key of whitespace alone: indentation starts nearly every
line, and after Enter such a key finds the start of the line just typed and offers that line again. A line shape
matches the whole line from its indentation on, so it is better evidence than a short key: ranked so, the first
fill is exact on 71 of 296 held-out line holes where bridges alone gave 57, and on 101 of 300 closing spans where
they gave 83 (`docs/evaluation.md`).

Places where the head follows the key at once vote for no fill: where they win at the strongest find, nothing is
offered (ten bare `return`s before a `}` outweigh one `return "ok"`). And a copy carries its own place's
surroundings, so a fill that reads wrong here is not offered: one with a closer that the innermost bracket open where
it stands does not take (`case http.StatusNoC` would take `ontent)` from `WriteHeader(http.StatusNoContent)`), one
that makes its line (`REPEATED_LINE_CHARS` or more besides whitespace) the same as the nearest line above or below
(the import just above, written again), one that makes it a declaration its block already has word for word (the
test just above, by its name; after a top-level `}`, the file's `const LIMIT = 10;` again), one that ends a
header's line with the statement its own line begins with (`if stat, ok := c.m[key]` from `stat, ok := c.m[key]`:
the `if` still needs its condition and block), one that ends a line that is no header with the `{` of the header its
own line begins with (`let c = self.peek()` takes no ` {` from `while let Some(c) = self.peek() {`), one that
begins a blank line with the `}` of a body opened above at another indentation than the opener's line (after Enter
at the body's depth, the body goes on), and, among JSX elements, which the grammar reads without their names, a
closing tag for another element than the innermost open one, or a `;` after a child element (text on the page).

In prose (`prose`: a document of Markdown or plain text) a key is whole words, three or more, with the space or
mark before them: one word (`Dara` + ` is on call next week.`) or the end of one (`Contribu` + `ting` matching inside
`settings`) is no evidence that a sentence goes on as another did, and two are little more (`can be`, `by default`).
Line shapes, which read a line as code, are not tried. In the cursors of 80 READMEs, where a sentence is written at
the end of its line (`python -m infill_ls.prose_eval`), code's keys showed 664 copies, 74 of them right; these show
113, 51 right.

Other files (`elsewhere`: those open beside the file, or in its directory) are searched the same way, with the
hole's own key, head and line shape. A project repeats itself across files too (the same call, the same signature,
the same imports), so their finds are searched in with the file's by strength alone, the file's first where they
are as strong, and ranked with them by their evidence: a file whose only other `from __future__ import` is its own
`import ` lines is better served by its neighbour's `from __future__ import annotations` than by its own short key.
Their places never vote with the file's.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, islice
from typing import NamedTuple

from .closers import CLOSERS, PAIRS, brackets_in_code, indent_width, open_brackets, scan_window

KEY_CHARS = (48, 32, 24, 16, 12, 8, 6, 4)  # longest first: a longer match is stronger evidence
MIN_KEY_CHARS = KEY_CHARS[-1]
STRONG_KEY_CHARS = 12  # bridges with shorter keys rank below line shapes
PROSE_KEY_WORDS = 3  # the fewest words of a key in prose
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
# What is searched of each of those: half, so that one large file (a long module, a bundle) leaves room for another.
# A fifth lost 1 of 49 canonical line holes and 2 of 49 closing spans, whose fills were in large files beside them.
ELSEWHERE_FILE_CHARS = 50_000
# Fills a caller holds up to its own test (the file parses with it), strongest first: when the strongest would
# break the file, a weaker one often fits. Scored alone on 600 held-out closing spans, the first of three that
# parses was exact 223 times, the strongest 209.
COPIES_TESTED = 3
# Fills gathered before the strongest are chosen by score: a weaker find's fill often beats a stronger one's, and
# more fills only cost their search (about half a millisecond more a hole at 8 than at 3).
RANKED = 8
# What each of `LookupFill.features` adds to a fill's score. Fit by `python -m engine.copy_ranking` (a conditional
# logit: the exact fills of a hole against its other fills) on holes cut from the training splits of Python and of
# JavaScript and TypeScript; docs/evaluation.md "Ranking the file's fills" has the command and what it gained.
RANKING_WEIGHTS = {
    "rank": -1.27,  # log(1 + the find's place in order of strength)
    "bridge key": 1.08,  # a bridge's key, as a share of the longest
    "line shape": 0.3,
    "short key": 0.23,  # a bridge with a key under STRONG_KEY_CHARS
    "votes": 0.46,  # log of the places that agree
    "share": 1.73,  # of the find's places
    "distance": -1.97,  # log(1 + characters) / 10
    "elsewhere": 0.55,
    "unfamiliar": -1.4,
    "length": -2.3,  # log(1 + characters) / 3: a long fill is more often wrong somewhere
}

_WORD = re.compile(r"\w+")
_NAME = re.compile(r"[\w.]*")
# What binds the name just before it: `=` (not `==` or `=>`), an augmented assignment, `:=`, an annotation's `: T =`
# (a type runs to the next comma outside brackets: `width: int, fill: str = " "` binds `fill`, not `width`).
_BINDS = re.compile(r"[ \t]*(?:(?:\*\*|//|<<|>>|[-+*/%&|^@])?=(?![=>])|:(?:[^=\n,\[]|\[[^\]\n]*\])*=(?![=>]))")
_DEFINITION_WORDS = r"def|class|function|fn|func|fun|struct|enum|interface|trait"
# A name after one of these words is being defined: what follows it on its line is the definition's.
_DEFINES = re.compile(rf"(?<!\w)(?:{_DEFINITION_WORDS})[ \t]+\Z")
# A definition's header: its word after any of the words that qualify one (`pub async fn`, `export default class`).
_QUALIFIERS = (r"[ \t]*(?:(?:pub(?:\([^)\n]*\))?|async|export|default|static|public|private|protected|internal|open|"
               r"final|abstract|override|inline|const|extern|unsafe|data)[ \t]+)*")
# A declaration: a definition's header, or a line that declares a name, a constant, a type, an import. Written
# twice in one block it declares the name twice (`const LIMIT = 10;`, Go's `var ErrEmpty = ...`, `impl X for T {`).
# Not where the word is a name used (`type(x)`, `type = 3`).
_DECLARES = re.compile(rf"{_QUALIFIERS}(?:(?:{_DEFINITION_WORDS})\b|(?:impl|var|let|const|type|static|use|import|from|"
                       rf"typedef|using|mod|namespace|package)\b(?![ \t]*[(.=:,)\]]))")
# A line that opens a block: a definition's header, or an `impl` of a type's.
_OPENS_BLOCK = re.compile(rf"{_QUALIFIERS}(?:{_DEFINITION_WORDS}|impl)\b")
# Words after which a name is a value, never one declared.
_VALUE_WORD = re.compile(r"(?<![\w.$])(?:return|yield|await|throw|raise|new|typeof|delete|void|in|not|and|or|is|"
                         r"case|assert|print)[ \t]*\Z")
# A line of values given back: a comma on it lists no names bound (`return "", err`).
_RETURNS = re.compile(r"[ \t]*(?:return|yield)\b")
# A line's text that begins a block's header whose condition is still to come (`if `, `} else if (`, `for `): a
# statement written after it is the header's own (Go's `if v, ok := m[k]; ok {`), and does not end it.
_HEADER_START = re.compile(r"[ \t]*(?:\}[ \t]*)?(?:else[ \t]+)?(?:if|elif|for|foreach|while|until|unless|switch|match|"
                           r"case|with)[ \t]*\(?[ \t]*\Z")
# Words that begin a block's header, a definition's or a statement's (`while let Some(c) = self.peek() {`): the `{`
# that ends such a line opens the header's body.
_HEADER_WORDS = (rf"{_DEFINITION_WORDS}|impl|if|elif|else|for|foreach|while|until|unless|loop|do|try|catch|finally|"
                 r"switch|select|match|case|with")
_BEGINS_HEADER = re.compile(rf"{_QUALIFIERS}(?:\}}[ \t]*)?(?:{_HEADER_WORDS})\b")
_HEADER_WORD = re.compile(rf"(?<![\w.])(?:{_HEADER_WORDS})(?!\w)")
# A type's body: each of its lines is a member's header (`  total(id)` in a class), though none begins with a word.
_TYPE_BODY = re.compile(rf"{_QUALIFIERS}(?:class|struct|enum|interface|trait|impl|object)\b")
# A JSX element's tag: a closing one, or an opening one (self-closing or not) where no name or bracket is just
# before its `<` (a type's arguments: `useState<number>`), its attributes up to the `>` outside one level of braces.
_TAG = re.compile(r"</(?P<closes>[\w.:-]+)\s*>|(?<![\w.)\]])<(?P<opens>[A-Za-z][\w.:-]*)(?=[\s/>])"
                  r"(?:[^<>{}]|\{[^{}]*\})*?(?P<alone>/?)>")
# Text that an element after it is an expression in: what a statement may end after.
_EXPRESSION_BEFORE = re.compile(r"(?:(?<![\w.])(?:return|yield)|=>|[=(\[,?:&|])\s*\Z")
# A line with fewer characters besides whitespace (`}`, `});`, `pass`, `end`) is written twice in a row often
# enough; a longer one so repeated is nearly always a copy of its neighbour.
REPEATED_LINE_CHARS = 6
_CLOSING_TAG = re.compile(r"</[\w.:-]*\s*>")


@dataclass(frozen=True)
class LookupFill:
    text: str
    # How much of the text before the hole matched where the fill was found: the key, or the hole's line less its
    # free words.
    key_chars: int
    votes: int  # the places that agree on this fill (in the file, or in the other files for a fill found there)
    free_words: int = 0  # 0 for a bridge; for a line shape, how many of the line's words were left free
    elsewhere: bool = False  # found in another file, not the file itself
    rank: int = 0  # the place of its find among those searched, strongest first
    share: float = 1.0  # of its find's places (votes for no fill too), those that agree on it
    distance: int = 0  # of its nearest place from the hole; in another file, from that file's start
    unfamiliar: bool = False  # another file's, naming what this file never does (a name, a string)

    @property
    def features(self) -> tuple[float, ...]:
        """The evidence `score` weighs, in the order of `RANKING_WEIGHTS`."""
        bridge = self.free_words == 0
        return (math.log1p(self.rank), self.key_chars / KEY_CHARS[0] if bridge else 0.0, float(not bridge),
                float(bridge and self.key_chars < STRONG_KEY_CHARS), math.log(max(1, self.votes)), self.share,
                math.log1p(self.distance) / 10, float(self.elsewhere), float(self.unfamiliar),
                math.log1p(len(self.text)) / 3)

    def score(self, weights: Mapping[str, float] = RANKING_WEIGHTS) -> float:
        """How strongly the evidence speaks for this fill, weighed by `weights` (fit by `engine.copy_ranking`)."""
        return sum(w * f for w, f in zip(weights.values(), self.features))


def _distance(at: int, hole: int | None) -> int:
    """How far a place is from the hole; `hole` None: the place is in another file, where the earlier comes first
    (a find holds places of the file or of the other files, never both)."""
    return abs(at - hole) if hole is not None else at


def _occurrences(text: str, key: str, hole: int | None) -> list[int]:
    """Where `key` ends in `text`, nearest the hole first (the earlier of two as near), leaving out the hole's own
    key; at most `MAX_OCCURRENCES`. Searched outward from the hole and no further than that: a key found everywhere
    (`0, 0, ` in a data literal) costs what is kept, not every place in the text."""
    if hole is None:
        return list(islice(_ends_from(text, key, 0), MAX_OCCURRENCES))
    nearest = heapq.merge(_ends_back_from(text, key, hole - 1), _ends_from(text, key, hole + 1),
                          key=lambda end: _distance(end, hole))
    return list(islice(nearest, MAX_OCCURRENCES))


def _ends_from(text: str, key: str, first: int) -> Iterator[int]:
    """Where `key` ends in `text` at `first` or after, in order."""
    start = text.find(key, max(0, first - len(key)))
    while start >= 0:
        yield start + len(key)
        start = text.find(key, start + 1)


def _ends_back_from(text: str, key: str, last: int) -> Iterator[int]:
    """Where `key` ends in `text` at `last` or before, the latest first."""
    end = last
    while end >= len(key):
        start = text.rfind(key, 0, end)
        if start < 0:
            return
        yield start + len(key)
        end = start + len(key) - 1


def _name_start(text: str, end: int) -> int:
    """Where the name that the text before `end` ends in starts, with any spaces after it; `end` when it ends in none
    (a dotted name is one: `self.total` is typed where `self.total = 0` was written, not `total`)."""
    start = end
    while start and text[start - 1] in " \t":
        start -= 1
    word = start
    while word and (text[word - 1].isalnum() or text[word - 1] in "_."):
        word -= 1
    return word if word < start else end


def _lead(text: str, start: int) -> str:
    """The text of `start`'s line before it (its last `SHAPE_LINE_CHARS` characters on a longer line)."""
    since = max(0, start - SHAPE_LINE_CHARS)
    return text[text.rfind("\n", since, start) + 1 or since:start]


def _place(text: str, start: int, lead: str) -> str:
    """Where a name at `start` in `text`, after `lead` on its line, stands: "statement" at the start of one or after
    a `,` that lists what one binds, "definition" after `def` and the like, "argument" after `(`, `[` or another `,`,
    else the character just before it."""
    code = lead.rstrip()
    if not code:
        # A line that starts inside an open bracket holds arguments, as an editor lays out a call split across lines.
        at = start - len(lead)
        while at > 0 and text[at - 1].isspace():
            at -= 1
        return "argument" if at and text[at - 1] in "([," else "statement"
    if _DEFINES.search(lead):
        return "definition"
    if code[-1] == ";" and _balanced(code):
        return "statement"  # the line's next one (`s = 'ab'; total = ...`); not a `for (` header's parts
    if code[-1] == "," and _balanced(code) and not _RETURNS.match(code):
        # With no bracket open before it, the comma lists what a statement declares or assigns (`int n = 0, in_word`,
        # `lo, hi = ...`), unless the line itself starts inside a bracket, as arguments laid out one a line do.
        return _place(text, start - len(lead), "")
    return "argument" if code[-1] in "([," else code[-1]


def _balanced(code: str) -> bool:
    """Whether every bracket of `code`, a line's text, closes on it, and none closes one opened above it."""
    depth = 0
    for _, char in _brackets(code):
        depth += 1 if char in PAIRS else -1
        if depth < 0:
            return False
    return depth == 0


def _opens_here(hole_lead: str) -> bool:
    """Whether the hole's line, `hole_lead` up to the name typed there, is a header with no bracket open before the
    name (`impl Counter`, `function makeBox(width: number): Box`): what follows a defined name at its definition, the
    opening of its block, follows the name there too."""
    return bool(_OPENS_BLOCK.match(hole_lead)) and _balanced(hole_lead)


class _HoleLine:
    """The hole's line, as each bridge's fill is held up to it: `lead`, its text before the name the hole ends in,
    and `place`, where that name stands; `ending`, its text before the hole where a fill would end the line (None
    where the line goes on after the hole)."""

    def __init__(self, before: str, after: str):
        self.before, self.after = before, after
        start = _name_start(before, len(before))
        self.lead = _lead(before, start)
        self.place = _place(before, start, self.lead)
        self.ending = None if after.partition("\n")[0].strip() else _lead(before, len(before))

    @cached_property
    def follows(self) -> frozenset[str]:
        """What follows the name on the file's other lines that read as this one up to a name: on the last line of
        a header split across lines (`  ): Sta`), the earlier header's (`  ): Summary {`) says how such a line goes
        on after its type. Read once, when first asked for."""
        if not self.lead.strip():
            return frozenset()  # indentation alone: nearly every line reads so
        line = re.compile(rf"(?m)^{re.escape(self.lead)}[\w.]+([^\n]*)")
        below = self.after[self.after.find("\n") + 1:] if "\n" in self.after else ""
        return frozenset(m.group(1).rstrip() for text in (self.before, below) for m in line.finditer(text))

    @cached_property
    def has_header(self) -> bool:
        """Whether the hole's line is a header, whose body a `{` may open: it has a header's word (`if let`, `let v =
        match x`, `go func()`), or stands in a type's body, where each line is a member's (`  total(id)`)."""
        start = self.before.rfind("\n") + 1
        line = self.before[start:]
        if _HEADER_WORD.search(line):
            return True
        depth = indent_width(line)
        parent = next((other for other in _lines_above(self.before[:start])
                       if other.strip() and indent_width(other) < depth), "") if depth else ""
        return bool(_TYPE_BODY.match(parent))


def _fits(text: str, start: int, end: int, fill: str, line: _HoleLine) -> bool:
    """Whether `fill`, found after `end` in `text` where the name being typed starts at `start`, fits the hole, where
    the name follows `line.lead` on the hole's line and stands at `line.place`. Where that name is assigned or
    defined, what follows it is the assignment's or the definition's: in a call, `print(by_r` would become
    `print(by_region = sales.sum())`, which parses. Such a fill fits only where such a line begins, and a keyword
    argument in an argument list too. What follows a name at its definition (the opening of its block) fits a header
    too: one written on a line (`_opens_here`), or one whose line goes on after a name as the file's other lines of
    its shape do (`  ): Summary {` for `  ): Sta` + `tus {`)."""
    named = text[start:end] + fill
    rest = named[_NAME.match(named).end():]
    if not rest.strip():
        return True  # the fill only completes the name
    lead = _lead(text, start)
    if lead == line.lead:
        return True  # the line reads the same up to the name
    place = _place(text, start, lead)
    if place == "definition":
        return line.place == "definition" or _opens_here(line.lead) or rest.rstrip() in line.follows
    binds = _BINDS.match(rest)
    if not binds:
        return True
    if place == "statement":
        return line.place == "statement"
    if place == "argument":
        return binds.group().strip() == "=" and line.place in ("argument", "statement")
    if _is_name_char(place):
        # After a word the name is declared (`const store = new Store()`, `int n = 0`): so it must be at the hole,
        # not be a value (`return sto` takes no `re = new Store()`).
        return line.place == "statement" or (_is_name_char(line.place) and not _VALUE_WORD.search(line.lead))
    return True  # after an operator the name is not what is bound: `str | None = None` assigns no None


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _ends_a_header(text: str, end: int, ending: str) -> bool:
    """Whether a fill found after `end` in `text`, ending the hole's line (`ending`, its text before the hole), would
    end a header there with the statement its own line begins with: `if stat, ok := c.m[key]` from
    `stat, ok := c.m[key]` still needs the `if`'s condition and block."""
    found = _lead(text, end).lstrip(" \t")
    return ending.endswith(found) and bool(_HEADER_START.match(ending[:len(ending) - len(found)]))


def _bridges(text: str, hole: int | None, ends: list[int], head: str, line: _HoleLine) -> list[tuple[str, int]]:
    """(fill, distance from the hole) for each occurrence of the key (`ends`: where it ends) followed on its line by
    `head`, held up to the hole's `line`."""
    found = []
    for end in ends:
        window = text[end:end + MAX_FILL_CHARS + len(head)]
        cut = window.find(head)
        if cut == 0 and hole is not None and head.strip(" \t"):
            # The file goes on with the head right after the key here: a vote for no fill (`lookup_fills`). Not a head
            # of blanks alone, which follows a word nearly anywhere; nor another file's place: that nothing goes here
            # is the file's own say, as its places never vote with the other files'.
            found.append(("", _distance(end, hole)))
            continue
        if cut <= 0:
            continue
        fill = window[:cut]
        # A fill is one line, and never reaches the hole itself (that would repeat the text around the cursor).
        if "\n" in fill or (hole is not None and end < hole <= end + cut):
            continue
        # A short key is often just the name being typed, found where that name is assigned or defined.
        start = _name_start(text, end)
        if start < end and not _fits(text, start, end, fill, line):
            continue
        if line.ending is not None and _ends_a_header(text, end, line.ending):
            continue
        if fill.rstrip().endswith("{") and _BEGINS_HEADER.match(_lead(text, end)) and not line.has_header:
            continue  # the `{` opens the body of the header its line begins with: `let c = self.peek()` has none
        found.append((fill, _distance(end, hole)))
    return found


class _Find(NamedTuple):
    fills: list[tuple[str, int]]  # (fill, distance from the hole) for each place found
    key_chars: int
    free_words: int


def _bridge_finds(before: str, after: str, keys: list[int],
                  texts: list[tuple[str, int | None]]) -> Iterator[_Find | None]:
    """For each key length in turn, its bridges in `texts` ((text, the hole's place or None)), or None."""
    line = _HoleLine(before, after)
    for key_chars in keys:
        find = None
        key = before[-key_chars:]
        # A key of indentation alone starts nearly every line: after Enter it matches the start of the line just typed,
        # and would offer that line again (the same reason a bare line shape is not tried).
        if key_chars <= len(before) and key.strip():
            places = [(text, hole, _occurrences(text, key, hole)) for text, hole in texts]  # the same for each head
            for head_chars in HEAD_CHARS:
                head = after[:head_chars]
                found = [f for text, hole, ends in places for f in _bridges(text, hole, ends, head, line)]
                # Votes for no fill alone leave the key as bare as it was without them: a shorter head may find one.
                if any(fill for fill, _ in found):
                    find = _Find(found, key_chars, 0)
                    break
        yield find


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


def _shaped(rest: str, theirs: tuple[str, ...], ours: tuple[str, ...], typing: bool) -> str | None:
    """The fill a line of the hole line's shape offers, `rest` following its free words `theirs` where the hole has
    `ours`; None where it offers none. Where the hole ends inside a word being typed (`typing`), that word is the
    start of the other line's word there, which the fill completes: renamed instead, `self.u` would take ` = u`
    from `self.items = items`."""
    if not typing:
        return _renamed(rest, theirs, ours)
    if not theirs[-1].startswith(ours[-1]):
        return None
    return theirs[-1][len(ours[-1]):] + _renamed(rest, theirs[:-1], ours[:-1])


def _typing(line: str, before: str, after: str) -> bool:
    """Whether the hole, after `line` on its line, stands inside a word still being typed: `line` ends in a word the
    file has nowhere else whole. One it has (`add(shipping` where `shipping` is a name it uses) may be written out,
    as it is where a hole is cut after a whole word."""
    word = re.search(r"\w+\Z", line)
    return bool(word) and not _all_used(word.group(), before[:-len(line)], after.partition("\n")[2])


def _shape_finds(before: str, after: str, texts: list[tuple[str, int | None]]) -> Iterator[_Find | None]:
    """For each number of free words in turn, fewest first, the lines of `texts` ((text, the hole line's start or
    None)) of the hole line's shape followed by the head, or None."""
    line = before[before.rfind("\n") + 1:]
    rest_of_line = after.partition("\n")[0]
    # "" when the hole ends its line: a fill then runs to the end of the other line.
    heads = list(dict.fromkeys(rest_of_line[:n] for n in HEAD_CHARS)) if rest_of_line else [""]
    # While a name is typed the cursor stands inside it: the line's word there completes the hole's (`_shaped`). On
    # 150 held-out holes cut with the first half of their name typed, the served fill was exact 27 times, 23 renamed.
    typing = _typing(line, before, after)
    for free in range(1, SHAPE_FREE_WORDS + 1):
        shape = _line_shape(line, free) if len(line) <= SHAPE_LINE_CHARS else None
        if shape is None:
            yield None
            continue
        pattern, ours = shape
        lines = [(m.groups()[:-1], m.group(m.lastindex), _distance(m.start(), hole))
                 for text, hole in texts for m in re.finditer(f"(?m)^{pattern}([^\\n]*)", text) if m.start() != hole]
        lines = sorted(lines, key=lambda found: found[2])[:MAX_OCCURRENCES]
        find = None
        for head in heads:
            found = []
            for theirs, rest, distance in lines:
                cut = rest.find(head) if head else len(rest)
                fill = _shaped(rest[:cut], theirs, ours, typing) if 0 <= cut <= MAX_FILL_CHARS else None
                if fill:
                    found.append((fill, distance))
            if found:
                find = _Find(found, len(line) - sum(map(len, ours)), free)
                break
        yield find


def lookup_fills(before: str, after: str, limit: int = 3, elsewhere: Iterable[str] = (),
                 prose: bool = False) -> list[LookupFill]:
    """Fills for the hole between `before` and `after` (the whole file, or as much of it as should be searched)
    that the file, or the other files in `elsewhere` (nearest first), spell out in the same surroundings; the
    strongest first, at most `limit`: of the first `RANKED` found (`gather_fills`), those of the highest score.
    `prose`: the text is prose, searched by keys of whole words (`prose_keys`)."""
    found = gather_fills(before, after, max(limit, RANKED), elsewhere, prose)
    return sorted(found, key=lambda f: -f.score())[:limit]


def gather_fills(before: str, after: str, count: int, elsewhere: Iterable[str] = (),
                 prose: bool = False) -> list[LookupFill]:
    """Up to `count` fills for the hole, in the order the finds are searched (strongest first, and within a find
    the most places first, then the nearest), with the evidence for each."""
    if len(before) < MIN_KEY_CHARS:
        return []
    if not after:
        # The hole ends the text (the end of a file with no line break at its end, where a new file is typed): that
        # end ends its line as a line break would, and the line's end is what bridges and line shapes are read to.
        after = "\n"
    before, after = before[-SEARCH_CHARS:], after[:SEARCH_CHARS]
    out: dict[str, LookupFill] = {}
    hole = _Hole(before, after)
    finds = _strongest_first(_ranked_finds(before, after, None, prose), _ranked_finds(before, after, elsewhere, prose))
    for rank, (find, other_file) in enumerate(finds):
        votes = Counter(fill for fill, _ in find.fills)
        nearest: dict[str, int] = {}
        for fill, distance in sorted(find.fills, key=lambda f: f[1]):
            nearest.setdefault(fill, distance)
        ranked = sorted(votes, key=lambda f: (-votes[f], nearest[f]))
        if rank == 0 and ranked[0] == "":
            # Where the strongest evidence mostly goes on with the head at once, the file says nothing goes here:
            # ten bare `return`s before a `}` outweigh one `return "ok"`.
            return []
        for fill in ranked:
            if len(out) == count:
                break
            if fill and fill not in out and hole.fits(fill):
                # Another file's fill that names what this file never does (a name it does not import, a string it
                # does not hold) is its file's own business, and weighs so.
                unfamiliar = other_file and not _all_used(fill, before, after)
                out[fill] = LookupFill(fill, find.key_chars, votes[fill], find.free_words, other_file, rank,
                                       votes[fill] / len(find.fills), nearest[fill], unfamiliar)
        if len(out) == count or (rank == 0 and not other_file and find.free_words == 0
                                 and find.key_chars == KEY_CHARS[0]):
            # A copy of the hole's whole surroundings in the file decides alone, and the files beside are not
            # read: of 985 training-split holes whose strongest find was one, 36 had their fill in a later find
            # alone, 647 in that one.
            break
    return list(out.values())


class _Hole:
    """The hole that fills found at other places are held up to (`fits`): its line, and the brackets open at it,
    read once, when first asked for, for all the fills tried there."""

    def __init__(self, before: str, after: str):
        self.before, self.after = before, after
        self.line_start = before.rfind("\n") + 1
        self.line_end = after.find("\n") if "\n" in after else len(after)

    def fits(self, fill: str) -> bool:
        """Whether `fill` reads right here: a copy carries the surroundings of its own place, which this one may
        lack (a closer for a bracket this line never opened, or not at its opener's indentation; JSX that is an
        expression there), or already has (the same line just above it, the same declaration in its block)."""
        line = self.before[self.line_start:] + fill + self.after[:self.line_end]
        above, below = self.before[:self.line_start], self.after[self.line_end:]
        if repeats_a_neighbour(line, above, below) or (_DECLARES.match(line) and _in_block(line, above, below)):
            return False
        if _jsx_misfit(self.before, fill):
            return False
        return not (CLOSERS.intersection(fill) and (self._brackets.closes_unopened(fill)
                                                    or self._brackets.closes_a_body_off_its_column(fill)))

    @cached_property
    def _brackets(self) -> _OpenBrackets:
        return _OpenBrackets(self.before)


class _OpenBrackets:
    """The brackets open at the end of a text, as `engine.closers` scans the end of it: outside strings and
    comments, and not those whose block the layout has ended."""

    def __init__(self, text: str):
        window = scan_window(text)
        self.line = window[window.rfind("\n") + 1:]
        self.openers = [opener for opener in open_brackets(window) if not opener.ended]  # innermost last
        self.closers = [PAIRS[opener.char] for opener in self.openers]
        self.line_brackets = _brackets(self.line)
        # A fill is read after the text's last line alone, not after the whole text again for each fill. Where that
        # line starts or ends inside a string or comment that spans lines, it reads otherwise alone: nothing is
        # judged there.
        cut = len(window) - len(self.line)
        in_window = [(at - cut, char) for at, char in brackets_in_code(window + "\n)") if at >= cut]
        self.judged = in_window == list(brackets_in_code(self.line + "\n)"))

    def closes_unopened(self, fill: str) -> bool:
        """Whether a closer of `fill`, after the text, is not the closer of the innermost bracket open where it
        stands: of those open at the end of the text, then those the fill opens."""
        if not self.judged:
            return False
        read = _brackets(self.line + fill)
        mine = len(self.line_brackets)
        # Up to the fill, the line reads as it does alone, or the fill ends a string the line opened, whose text the
        # scan above read as code.
        if read[:mine] != self.line_brackets or any(at < len(self.line) for at, _ in read[mine:]):
            return False
        owed = list(self.closers)
        for _, char in read[mine:]:
            if char in PAIRS:
                owed.append(PAIRS[char])
            elif not owed or owed.pop() != char:
                return True
        return False

    def closes_a_body_off_its_column(self, fill: str) -> bool:
        """Whether `fill` begins the text's last line, blank so far, with the `}` of a body opened on a line above,
        at another indentation than that line's: a line deeper than the header's is the body's own, where it goes
        on (Enter after its first statement), as the closers' own rule (`engine.closers.owed_on_line`) has it."""
        code = fill.lstrip(" \t")
        if self.line.strip() or not self.judged or not self.openers or code[:1] != "}":
            return False
        opener = self.openers[-1]
        return opener.char == "{" and indent_width(self.line + fill) != opener.indent


def _brackets(text: str) -> list[tuple[int, str]]:
    """(index, bracket) of each bracket of `text` outside strings and comments (`engine.closers`)."""
    return [(at, char) for at, char in brackets_in_code(text) if char]


def _lines_above(text: str) -> Iterator[str]:
    """The lines of `text`, which ends where a line starts, the last first."""
    end = len(text) - 1  # the line break that ends the last line
    while end >= 0:
        start = text.rfind("\n", 0, end) + 1
        yield text[start:end]
        end = start - 1


def _lines_below(text: str) -> Iterator[str]:
    """The lines of `text`, which starts with the line break that ends a line, the first first."""
    at = 0
    while at < len(text):
        end = text.find("\n", at + 1)
        end = len(text) if end < 0 else end
        yield text[at + 1:end]
        at = end


def repeats_a_neighbour(line: str, above: str, below: str) -> bool:
    """Whether `line` (of `REPEATED_LINE_CHARS` or more besides whitespace), between the text `above` and `below`
    it, reads as the nearest line either side that is not blank: the same import, match arm or dictionary key
    written twice. A closing tag alone (`</div>`) is not: nested elements close so line after line."""
    code = line.strip()
    if len("".join(code.split())) < REPEATED_LINE_CHARS or _CLOSING_TAG.fullmatch(code):
        return False
    nearest = (next((other for other in lines if other.strip()), "") for lines in
               (_lines_above(above), _lines_below(below)))
    return code in (other.strip() for other in nearest)


def _in_block(line: str, above: str, below: str) -> bool:
    """Whether a line at `line`'s indentation in its block (between the nearest less indented lines in the text
    `above` and `below` it) reads as `line` word for word: a definition written twice in one block is one the
    writer has already."""
    words = line.split()
    peers = chain(_block_lines(_lines_above(above), line), _block_lines(_lines_below(below), line))
    return any(other.split() == words for other in peers)


def _block_lines(lines: Iterator[str], line: str) -> Iterator[str]:
    """Of `lines` (going away from `line`), those at `line`'s indentation, up to the first less indented."""
    indent = len(line) - len(line.lstrip(" \t"))
    for other in lines:
        code = other.lstrip(" \t")
        if not code:
            continue
        depth = len(other) - len(code)
        if depth < indent:
            return
        if depth == indent:
            yield other


def _jsx_misfit(before: str, fill: str) -> bool:
    """Whether `fill` after `before` reads wrong among JSX elements, where the grammar does not look: a closing tag
    for another element than the innermost open one (`</` inside an `<li>` takes no `ul>`), or a `;` after an
    element among children, text the page shows (`return <span>{n}</span>;` ends a statement, `{item} <span>..</span>`
    does not)."""
    if before.endswith("</"):
        name = re.match(r"[\w.:-]+(?=\s*>)", fill)
        elements = _open_elements(scan_window(before))
        return bool(name and elements) and elements[-1][0] != name.group()
    if fill.lstrip(" \t").startswith(";"):
        window = scan_window(before)
        start = _element_ended(window)
        return start is not None and not _EXPRESSION_BEFORE.search(window[:start])
    return False


def _open_elements(text: str) -> list[tuple[str, int]]:
    """(name, start) of each JSX element `text` leaves open, innermost last; a closing tag closes the innermost of its
    name and those inside it."""
    elements: list[tuple[str, int]] = []
    for tag in _TAG.finditer(text):
        names = [name for name, _ in elements]
        if tag["closes"] and tag["closes"] in names:
            del elements[len(names) - 1 - names[::-1].index(tag["closes"]):]
        elif tag["opens"] and not tag["alone"]:
            elements.append((tag["opens"], tag.start()))
    return elements


def _element_ended(text: str) -> int | None:
    """Where the JSX element that `text` ends with (its closing tag, or a self-closing tag) starts; None where it
    ends with none, or its opening tag is not found."""
    code = text.rstrip(" \t")
    tag = _TAG.match(code, max(0, code.rfind("<")))
    if tag is None or tag.end() != len(code) or not (tag["closes"] or tag["alone"]):
        return None
    if tag["alone"]:
        return tag.start()
    return next((start for name, start in reversed(_open_elements(code[:tag.start()])) if name == tag["closes"]),
                None)


def _all_used(fill: str, before: str, after: str) -> bool:
    """Whether every word of `fill` occurs as a word in the text around the hole."""
    for word in set(_WORD.findall(fill)):
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
        if not (pattern.search(before) or pattern.search(after)):
            return False
    return True


def _strongest_first(here: Iterator[_Find | None], beside: Iterator[_Find | None]) -> Iterator[tuple[_Find, bool]]:
    """The file's finds and the other files' (each with whether it is another file's) in one order of strength, the
    file's first where they are as strong: `here` and `beside` yield one item per kind of evidence, strongest first.
    Each search goes only as deep as the list needs: the other files are read only when the file's own finds at the
    strongest level do not fill it. Their places never vote with the file's: counted together, another file's many
    places outvoted the file's own right fill. Ranked by strength alone, a strong find in another file comes before a
    weak one in the file: on 595 line holes of the training split, the first of three fills that parses was exact
    34.5% of the time where, with the other files' fills only after the file's, it was 30.6% (`docs/evaluation.md`)."""
    for mine in here:
        if mine is not None:
            yield mine, False
        theirs = next(beside, None)
        if theirs is not None:
            yield theirs, True


def _bounded(texts: Iterable[str], chars: int) -> list[str]:
    """The first of `texts` up to `chars` characters in all, each cut to `ELSEWHERE_FILE_CHARS` and the last to
    fit."""
    out = []
    for text in texts:
        if chars <= 0:
            break
        out.append(text[:min(chars, ELSEWHERE_FILE_CHARS)])
        chars -= len(out[-1])
    return out


# The start of a word in prose, after the space or mark before it: where a prose key begins (`prose_keys`).
_PROSE_WORD_START = re.compile(r"(?<=[^\w])\w")


def prose_keys(before: str) -> list[int]:
    """The lengths of the keys prose is searched by, longest first: each the end of ``before`` from the space or
    mark before a word on, whole words up to the one being typed, `PROSE_KEY_WORDS` or more, at most `KEY_CHARS[0]`
    characters. A word is a run of letters, digits and `_` after any other character: `Low-stock report` is three,
    as `don't` is two."""
    window = before[-KEY_CHARS[0]:]
    starts = [m.start() - 1 for m in _PROSE_WORD_START.finditer(window)]
    return [len(window) - start for start in starts[:len(starts) + 1 - PROSE_KEY_WORDS]]


def _ranked_finds(before: str, after: str, elsewhere: Iterable[str] | None,
                  prose: bool = False) -> Iterator[_Find | None]:
    """The finds of the file itself (`elsewhere` None) or of the other files alone (read, up to `ELSEWHERE_CHARS`,
    only when the first is asked for, so that a caller may gather them lazily), one item (a find or None) for each
    kind of evidence in order of strength: bridges with keys of `STRONG_KEY_CHARS` or more (the longest first), then
    line shapes (the fewest free words first), then bridges with shorter keys. Each is searched only when asked for."""
    if elsewhere is None:
        text = before + after
        bridge_texts: list[tuple[str, int | None]] = [(text, len(before))]
        shape_texts: list[tuple[str, int | None]] = [(text, before.rfind("\n") + 1)]
    else:
        others = _bounded(elsewhere, ELSEWHERE_CHARS)
        if not others:
            return
        bridge_texts = shape_texts = [(other, None) for other in others]
    if prose:
        yield from _bridge_finds(before, after, prose_keys(before), bridge_texts)
        return
    yield from _bridge_finds(before, after, [k for k in KEY_CHARS if k >= STRONG_KEY_CHARS], bridge_texts)
    yield from _shape_finds(before, after, shape_texts)
    yield from _bridge_finds(before, after, [k for k in KEY_CHARS if k < STRONG_KEY_CHARS], bridge_texts)
