"""Open documents as versioned, immutable snapshots kept in sync by incremental edits.

Offsets inside the server are Python string indices (code points). LSP positions count
characters in the negotiated encoding (UTF-16 code units unless the client prefers UTF-8 or
UTF-32); conversion happens only at the edges, per line, so long files stay cheap.
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property


class PositionEncoding(str, Enum):
    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"

    @classmethod
    def parse(cls, value: str | None) -> PositionEncoding:
        for member in cls:
            if member.value == value:
                return member
        return cls.UTF16


@dataclass(frozen=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position


@dataclass(frozen=True)
class TextChange:
    """One content change as a client sends it; ``range`` None replaces the whole text."""

    range: Range | None
    text: str


@dataclass(frozen=True)
class Point:
    """A tree-sitter point: row counts ``\\n`` only, column is in UTF-8 bytes."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """One applied change, in both code-point offsets and the byte/point form tree-sitter needs."""

    start: int
    old_end: int
    new_end: int
    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: Point
    old_end_point: Point
    new_end_point: Point
    # The text the edit replaced, where it is no longer than a keystroke's few characters (`REMOVED_KEPT`); None
    # where it is: a snapshot keeps no long stretch of the text before it alive.
    removed: str | None = None


# Line breaks `Snapshot.eol` counts, where it is given no offset.
EOL_SAMPLE = 1000

# Characters an edit keeps of the text it replaced (`Edit.removed`).
REMOVED_KEPT = 64


class DocumentError(ValueError):
    """A sync message that cannot be applied; the message names the document."""


# A line break as LSP counts them: a lone "\r" is one.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LONE_CR = re.compile(r"\r(?!\n)")


# languageIds with a dot that are one name, not a Neovim compound filetype: VS Code's Go extension's module files,
# which are no Go (`go.mod` read as `go` had Go's grammar and filters, and `enabledLanguages: ["go"]` enabled them).
_DOTTED_IDS = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})


def language_names(language_id: str) -> tuple[str, ...]:
    """The names a document's languageId goes by, most specific first: in lower case, each part of a Neovim compound
    filetype (`python.django`), each with and without a tree-sitter mode's `-ts` (`python-ts`, from an Emacs client
    that names the language after `python-ts-mode`)."""
    lowered = language_id.lower()
    parts = [lowered] if lowered in _DOTTED_IDS else lowered.split(".")
    return tuple(dict.fromkeys(name for part in parts for name in (part, part.removesuffix("-ts"))))


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _units_in(text: str, encoding: PositionEncoding) -> int:
    if encoding is PositionEncoding.UTF32 or text.isascii():
        return len(text)
    if encoding is PositionEncoding.UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return _utf8_len(text)


def _chars_for_units(line: str, units: int, encoding: PositionEncoding) -> int:
    """Code points in ``line`` covered by ``units``; a unit inside a character stops before it."""
    if units <= 0:
        return 0
    if encoding is PositionEncoding.UTF32 or line.isascii():
        return min(units, len(line))
    if encoding is PositionEncoding.UTF16:
        decoded = line.encode("utf-16-le", "surrogatepass")[: 2 * units].decode("utf-16-le", "surrogatepass")
        # Half of a surrogate pair decodes alone, and is not the line's character there: that one is not covered.
        return len(decoded) - 1 if decoded and decoded[-1] != line[len(decoded) - 1] else len(decoded)
    return _utf8_chars(line.encode("utf-8", "surrogatepass")[:units])


def _utf8_chars(data: bytes) -> int:
    """Characters in `data` (UTF-8, lone surrogates as `surrogatepass` writes them), less one cut short at its end.
    Decoding with "ignore" dropped lone surrogates too (a client may send one as a JSON escape), and every
    position after one landed a character early."""
    try:
        return len(data.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError as err:
        return len(data[:err.start].decode("utf-8", "surrogatepass"))


# Code points between the byte offsets `_ByteMarks` keeps.
BYTE_MARK_STEP = 4096


class _ByteMarks:
    """The UTF-8 byte offset of every `BYTE_MARK_STEP`th code point of a text, found as far as asked and no further:
    a byte offset then costs the encoding of the text from the mark before it, where the encoding of all the text
    before it cost 0.4 ms at 25,000 lines, some twenty times a suggestion. Lone surrogates count three bytes each, as
    `surrogatepass` writes them, so each step's bytes are its own whatever the steps around it hold."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._marks = [0]
        self._lock = threading.Lock()  # the loop's thread and the model's find marks of one snapshot

    def byte_offset(self, offset: int) -> int:
        text = self._text
        if not 0 <= offset <= len(text):
            return _utf8_len(text[:offset])  # a slice's meaning, as before: from the end, or all of it
        step = offset // BYTE_MARK_STEP
        marks = self._found(lambda marks: len(marks) <= step)
        return marks[step] + _utf8_len(text[step * BYTE_MARK_STEP:offset])

    def char_offset(self, byte: int) -> int:
        """The converse of `byte_offset`: the code points of the text's first ``byte`` UTF-8 bytes, less one cut
        short. From the mark before it, where the decoding of all the bytes before it took Close structure 150 s in a
        bundled file of 760 KB (a quarter of a million offsets, each decoding up to its line's start)."""
        text = self._text
        if byte < 0:
            return _utf8_chars(text.encode("utf-8", "surrogatepass")[:byte])  # a slice's meaning, from the end
        marks = self._found(lambda marks: marks[-1] < byte)
        step = bisect.bisect_right(marks, byte) - 1
        start = min(step * BYTE_MARK_STEP, len(text))
        chunk = text[start:start + BYTE_MARK_STEP].encode("utf-8", "surrogatepass")
        return start + _utf8_chars(chunk[:byte - marks[step]])

    def _found(self, more: Callable[[list[int]], bool]) -> list[int]:
        """The marks, found on while ``more`` of them says so and text is left to mark."""
        text, marks = self._text, self._marks
        if more(marks):
            with self._lock:
                while more(marks) and (len(marks) - 1) * BYTE_MARK_STEP < len(text):
                    start = (len(marks) - 1) * BYTE_MARK_STEP
                    marks.append(marks[-1] + _utf8_len(text[start:start + BYTE_MARK_STEP]))
        return marks


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One version of one document. Never mutated: inference runs on a snapshot while the
    store moves on, and results for a version that is no longer current are dropped."""

    uri: str
    language_id: str
    version: int
    text: str
    edits: tuple[Edit, ...] = ()  # how the previous version became this one
    known_line_starts: list[int] | None = field(default=None, repr=False)
    # The store's count of the changes it has seen, in order. The client's version is only echoed back: a client
    # may send a change without raising it, and a tree or a cached answer keyed by it would then be stale.
    revision: int = 0
    # The revision of the snapshot that `edits` were made to; None where the text did not come from one by edits.
    edited_revision: int | None = None

    @cached_property
    def line_starts(self) -> list[int]:
        if self.known_line_starts is not None:
            return self.known_line_starts
        return [0] + [m.end() for m in LINE_BREAK.finditer(self.text)]

    @cached_property
    def is_ascii(self) -> bool:
        return self.text.isascii()

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line_end(self, line: int) -> int:
        """Offset of the end of ``line``'s content, before its line break."""
        starts = self.line_starts
        if line + 1 >= len(starts):
            return len(self.text)
        end = starts[line + 1]
        if self.text.startswith("\r\n", end - 2):
            return end - 2
        return end - 1

    def line_text(self, line: int) -> str:
        return self.text[self.line_starts[line] : self.line_end(line)]

    def offset_at(self, position: Position, encoding: PositionEncoding) -> int:
        """Offset for an LSP position; out-of-range values clamp as the spec says."""
        if position.line < 0:
            return 0
        if position.line >= self.line_count:
            return len(self.text)
        start = self.line_starts[position.line]
        # Every character is at least one unit: the first `character` characters cover the position, and a long
        # line is not copied and encoded whole for a position near its start.
        end = min(self.line_end(position.line), start + max(0, position.character))
        return start + _chars_for_units(self.text[start:end], position.character, encoding)

    def position_at(self, offset: int, encoding: PositionEncoding) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.line_starts[line]
        # An offset between "\r" and "\n" is not a position; report the line's end instead.
        offset = min(offset, self.line_end(line))
        return Position(line, _units_in(self.text[start:offset], encoding))

    def range_at(self, start: int, end: int, encoding: PositionEncoding) -> Range:
        return Range(self.position_at(start, encoding), self.position_at(end, encoding))

    @cached_property
    def utf8(self) -> bytes:
        return self.text.encode("utf-8", "surrogatepass")

    @cached_property
    def _byte_marks(self) -> _ByteMarks:
        return _ByteMarks(self.text)

    def byte_offset(self, offset: int) -> int:
        if self.is_ascii:
            return offset
        return self._byte_marks.byte_offset(offset)

    def char_offset(self, byte_offset: int) -> int:
        if self.is_ascii:
            return byte_offset
        return self._byte_marks.char_offset(byte_offset)

    def bytes_between(self, start: int, end: int) -> int:
        """UTF-8 bytes of ``text[start:end]``: with one known byte offset, a nearby one costs only the text between,
        where `byte_offset` encodes the text from the mark before it (up to `BYTE_MARK_STEP` code points)."""
        if self.is_ascii:
            return end - start
        return _utf8_len(self.text[start:end])

    def chars_between(self, start_byte: int, end_byte: int) -> int:
        """Characters in ``utf8[start_byte:end_byte]``, the converse of `bytes_between`."""
        if self.is_ascii:
            return end_byte - start_byte
        return _utf8_chars(self.utf8[start_byte:end_byte])

    @cached_property
    def lone_cr(self) -> bool:
        """Whether a line of the text ends in a carriage return alone: a line break for LSP, not for tree-sitter,
        which counts "\n" only."""
        return "\r" in self.text and _LONE_CR.search(self.text) is not None

    def point(self, offset: int) -> Point:
        """The tree-sitter point (row, UTF-8 column) of an offset."""
        if self.lone_cr:
            return point_at(self.text, offset)
        line = self.line_of(offset)
        start = self.line_starts[line]
        return Point(line, _utf8_len(self.text[start:offset]))

    def eol(self, offset: int | None = None) -> str:
        """The line break inserted text takes: that of the line holding ``offset`` (of the line above, on the last
        line, which has none), else the most common of the file's first `EOL_SAMPLE` breaks. The first line's alone
        gave a file of LF lines under one CRLF header line CRLF fills, a stray CR on each line an editor that does
        not convert them (Neovim) inserted."""
        # From the line index, not a scan: on a long first line (minified code) a scan ran for every keystroke.
        starts = self.line_starts
        if len(starts) < 2:
            return "\n"
        if offset is not None:
            return self._break_ending(min(self.line_of(offset), len(starts) - 2))
        counts = Counter(self._break_ending(line) for line in range(min(len(starts) - 1, EOL_SAMPLE)))
        return counts.most_common(1)[0][0]

    def _break_ending(self, line: int) -> str:
        end = self.line_starts[line + 1]
        return "\r\n" if self.text.startswith("\r\n", end - 2) else self.text[end - 1]


def point_at(text: str, offset: int) -> Point:
    """The tree-sitter point of a code-point offset."""
    row = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    return Point(row, _utf8_len(text[line_start:offset]))


def _line_starts_after(old: list[int], new_text: str, start: int, old_end: int, new_end: int) -> list[int]:
    """Line starts of the edited text, scanning only the inserted text: on a large file (or a long line) a
    keystroke then costs a shift of the later starts, not a scan of the text around it."""
    # A break ends after a "\n", or after a "\r" that no "\n" follows: whether one ends at i + 1 depends on the
    # characters at i and i + 1 alone. Those that differ from the old text's are where i or i + 1 is inserted (or
    # i is the character before the insertion, whose follower may have changed): i in start - 1 .. new_end - 1.
    lo = max(0, start - 1)
    middle = [m.end() for m in LINE_BREAK.finditer(new_text, lo, new_end + 1) if m.end() <= new_end]
    head = old[: bisect.bisect_right(old, lo)]  # breaks ending by `lo` (and 0, the first line's start)
    delta = new_end - old_end
    tail = [s + delta for s in old[bisect.bisect_right(old, old_end) :]]
    return head + middle + tail


def past_end(snapshot: Snapshot, *positions: Position) -> str | None:
    """Why a request's positions are not all in ``snapshot``: a line past its last (None where they are). A
    change's position there is the text's end, as the protocol's reference reads it; a request's would be answered
    for a place the user is not, where the editor's text and this one differ. A character past its line's end is the
    line's end, as the protocol says."""
    beyond = max((p.line for p in positions), default=-1)
    if beyond < snapshot.line_count:
        return None
    return f"line {beyond} is past the document's end (lines 0 to {snapshot.line_count - 1})"


def _span(snapshot: Snapshot, change: TextChange, encoding: PositionEncoding) -> tuple[int, int]:
    """The offsets `change` replaces in `snapshot`."""
    if change.range is None:
        return 0, len(snapshot.text)
    start = snapshot.offset_at(change.range.start, encoding)
    old_end = snapshot.offset_at(change.range.end, encoding)
    if old_end < start:
        raise DocumentError(
            f"{snapshot.uri}: change range ends before it starts "
            f"({change.range.start} .. {change.range.end})"
        )
    return start, old_end


def _is_high(char: str) -> bool:
    return "\ud800" <= char <= "\udbff"


def _is_low(char: str) -> bool:
    return "\udc00" <= char <= "\udfff"


def _halves(char: str) -> tuple[str, str]:
    """The UTF-16 surrogate pair of a character past U+FFFF."""
    code = ord(char) - 0x10000
    return chr(0xD800 + (code >> 10)), chr(0xDC00 + (code & 0x3FF))


def _joined(text: str) -> str:
    """`text` with each high surrogate that a low one follows made the character they are, as a UTF-16 string and
    a JSON reader have it."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _cuts(snapshot: Snapshot, position: Position, offset: int) -> bool:
    """Whether a UTF-16 `position`, which `offset_at` made `offset`, falls between the halves of the character
    there."""
    text = snapshot.text
    if offset >= len(text) or ord(text[offset]) <= 0xFFFF or not 0 <= position.line < snapshot.line_count:
        return False
    line_start = snapshot.line_starts[position.line]
    return _units_in(text[line_start:offset], PositionEncoding.UTF16) == position.character - 1


def _replacement(snapshot: Snapshot, change: TextChange, encoding: PositionEncoding) -> tuple[int, int, str]:
    """The offsets `change` replaces in `snapshot` and the text that takes their place. A UTF-16 client's string
    may hold half a character: one that diffs strings replaces only the half that differs when one emoji becomes
    another. A range that cuts a character keeps its half outside the range, and halves that meet, in the text or
    in the change, are one character again: the text stays the client's, where the half was dropped or kept apart."""
    start, old_end = _span(snapshot, change, encoding)
    new, r = change.text, change.range
    if encoding is not PositionEncoding.UTF16 or r is None:
        return start, old_end, new
    if (r.end.line, r.end.character) < (r.start.line, r.start.character):
        return start, old_end, new  # backwards, though at one offset (past a line's end): it cuts nothing
    text = snapshot.text
    if _cuts(snapshot, r.start, start):
        new = _halves(text[start])[0] + new
    if _cuts(snapshot, r.end, old_end):
        new += _halves(text[old_end])[1]
        old_end += 1
    if start > 0 and _is_high(text[start - 1]) and _is_low((new or text[old_end:old_end + 1])[:1]):
        start -= 1
        new = text[start] + new
    if old_end < len(text) and _is_low(text[old_end]) and _is_high(new[-1:]):
        new += text[old_end]
        old_end += 1
    return (start, old_end, new) if new is change.text else (start, old_end, _joined(new))


def _apply(snapshot: Snapshot, change: TextChange, encoding: PositionEncoding, with_edit: bool = True
           ) -> tuple[Snapshot, Edit | None]:
    """`snapshot` with `change` made, its line starts carried over, and the tree-sitter edit it makes (with
    ``with_edit``: the byte offsets and points cost scans of the whole text, in a file with any non-ASCII)."""
    old = snapshot.text
    start, old_end, new = _replacement(snapshot, change, encoding)
    text = old[:start] + new + old[old_end:]
    new_end = start + len(new)
    starts = _line_starts_after(snapshot.line_starts, text, start, old_end, new_end)
    edited = Snapshot(snapshot.uri, snapshot.language_id, snapshot.version, text, known_line_starts=starts)
    if not with_edit:
        return edited, None
    start_byte = snapshot.byte_offset(start)
    edit = Edit(
        start=start,
        old_end=old_end,
        new_end=new_end,
        start_byte=start_byte,
        old_end_byte=start_byte + _utf8_len(old[start:old_end]),
        new_end_byte=start_byte + _utf8_len(new),
        start_point=snapshot.point(start),
        old_end_point=snapshot.point(old_end),
        new_end_point=edited.point(new_end),
        removed=old[start:old_end] if old_end - start <= REMOVED_KEPT else None,
    )
    return edited, edit


# Up to this many changes at once are made one by one, each carrying the line starts over (a keystroke in a file of
# megabytes: finding them anew scans it all); more are spliced in at once (`_applied`).
FEW_CHANGES = 8


def _before(snapshot: Snapshot, position: Position, bound: int, encoding: PositionEncoding) -> bool:
    """Whether `position` means the same offset in `snapshot` as in any text that equals its text before `bound`:
    the characters it is counted over, its line's start and its line's end as far as it reaches, all lie before
    `bound` - 1 (the character there decides whether a "\\r" at it ends a line or a "\\r\\n" does); or it counts
    exactly the characters up to `bound`, the last not a "\\r" (a change that ends where the next one starts, as
    in a Replace All of touching matches: each rebuilt the text)."""
    if position.line < 0:
        return True
    starts = snapshot.line_starts
    if position.line >= len(starts) or starts[position.line] > bound - 1:
        return False
    if position.line + 1 < len(starts) and starts[position.line + 1] <= bound - 1:
        return True  # the whole line, its break too
    if starts[position.line] + max(0, position.character) <= bound - 1:
        return True
    text = snapshot.text
    return text[bound - 1] != "\r" and _units_in(text[starts[position.line]:bound], encoding) == position.character


def _applied(snapshot: Snapshot, changes: Sequence[TextChange], encoding: PositionEncoding) -> str:
    """`snapshot`'s text with `changes` made one after another, as `_apply` makes them, without their edits or a
    snapshot after each. Changes that each end before the one before it (an editor's Replace All, last first) are
    all found in the text as it was and spliced in at once; one elsewhere has its text made first."""
    working = snapshot
    spliced: list[tuple[int, int, str]] = []  # offsets in `working`, each span before the one before it
    for change in changes:
        if change.range is None:
            working, spliced = Snapshot(snapshot.uri, snapshot.language_id, snapshot.version, change.text), []
            continue
        # The text before the last span spliced is `working`'s still; a change read from beyond it needs the text.
        if spliced and not (_before(working, change.range.start, spliced[-1][0], encoding)
                            and _before(working, change.range.end, spliced[-1][0], encoding)
                            and not _meets_half(working, change, encoding, spliced)):
            working = Snapshot(snapshot.uri, snapshot.language_id, snapshot.version, _splice(working.text, spliced))
            spliced = []
        spliced.append(_replacement(working, change, encoding))
    return _splice(working.text, spliced)


def _meets_half(working: Snapshot, change: TextChange, encoding: PositionEncoding,
                spliced: list[tuple[int, int, str]]) -> bool:
    """Whether `change` ends where the last span spliced starts, and a half of a character (a lone surrogate) is
    there in `working` or in the text with the spans spliced in: `_replacement` reads that character, to join it to
    a half the change leaves before it."""
    bound = spliced[-1][0]
    if encoding is not PositionEncoding.UTF16:
        return False
    if not (_is_low(working.text[bound:bound + 1]) or _is_low(_spliced_char(working.text, spliced, bound))):
        return False
    return _span(working, change, encoding)[1] == bound


def _spliced_char(text: str, spans: list[tuple[int, int, str]], at: int) -> str:
    """The character at `at`, where the last of `spans` starts, in `text` with them spliced in."""
    for start, old_end, new in reversed(spans):
        if start != at:
            break
        if new:
            return new[0]
        at = old_end
    return text[at:at + 1]


def _splice(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each of `spans` (start, end, new text), the last first in it, replaced."""
    parts, end = [], len(text)
    for start, old_end, new in spans:
        parts += [text[old_end:end], new]
        end = start
    parts.append(text[:end])
    return "".join(reversed(parts))


class DocumentStore:
    """The open documents. Mutated only on the event loop; everything else reads snapshots."""

    def __init__(self) -> None:
        self._docs: dict[str, Snapshot] = {}
        self._revisions = itertools.count(1)
        # Each open document's opening: the revision of the snapshot it was opened with, which no later opening of
        # the same URI has. A version does not tell openings apart: an editor counts a document reopened from 1 again.
        self._openings: dict[str, int] = {}

    def __contains__(self, uri: str) -> bool:
        return uri in self._docs

    def get(self, uri: str) -> Snapshot | None:
        return self._docs.get(uri)

    def open(self, uri: str, language_id: str, version: int, text: str) -> Snapshot:
        snapshot = Snapshot(uri, language_id, version, text, revision=next(self._revisions))
        self._docs[uri] = snapshot
        self._openings[uri] = snapshot.revision
        return snapshot

    def opening(self, uri: str) -> int | None:
        """Which opening of `uri` is open (None: none is): the same from its open to its close."""
        return self._openings.get(uri)

    def change(
        self,
        uri: str,
        version: int,
        changes: Sequence[TextChange],
        encoding: PositionEncoding = PositionEncoding.UTF16,
        edits_wanted: bool = True,
    ) -> Snapshot:
        """The document with `changes` made in order. `edits_wanted` False: no tree will take the snapshot's edits
        (none is kept, the text is too long to parse, or it is parsed afresh after as many), and they are not worked
        out: the snapshot has none, a keystroke in a long file costs no scan of it for byte offsets, and many changes
        at once (an editor's Replace All, a formatter's) cost about one, where each rebuilt the text, its line starts
        and an intermediate snapshot."""
        current = self._docs.get(uri)
        if current is None:
            raise DocumentError(f"{uri}: change for a document that is not open")
        if not edits_wanted and len(changes) > FEW_CHANGES:
            text = _applied(current, changes, encoding)
            return self._replace(current, Snapshot(uri, current.language_id, version, text,
                                                   revision=next(self._revisions)))
        edits: list[Edit] = []
        working = current
        for change in changes:
            working, edit = _apply(working, change, encoding, edits_wanted)
            if edit is not None:
                edits.append(edit)
        snapshot = Snapshot(
            uri, current.language_id, version, working.text, tuple(edits), known_line_starts=working.line_starts,
            revision=next(self._revisions), edited_revision=current.revision,
        )
        return self._replace(current, snapshot)

    def _replace(self, current: Snapshot, snapshot: Snapshot) -> Snapshot:
        del self._docs[current.uri]  # to the end: the store is in the order documents were last opened or edited
        self._docs[current.uri] = snapshot
        return snapshot

    def beside(self, uri: str, kin: Callable[[str, str], Hashable] = lambda language_id, uri: language_id
               ) -> list[Snapshot]:
        """The other open documents in `uri`'s language, the most recently opened or edited first: those whose
        ``kin(language_id, uri)`` is its own (by default, its languageId)."""
        current = self._docs.get(uri)
        if current is None:
            return []
        own = kin(current.language_id, uri)
        return [s for s in reversed(self._docs.values()) if s.uri != uri and kin(s.language_id, s.uri) == own]

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)
        self._openings.pop(uri, None)
