"""Notebooks: which cells each open notebook holds, in order, so a fill in one cell reads the cells around it.

A notebook's cells are documents of their own in the store (each parsed, changed and closed as any other); this
only keeps their order. A cell's surroundings are the text of the other cells of its language (code, not the
markdown between them) before and after it, as a notebook exported to a script would read: what the cells above
defined and imported is what the code in this one uses. Each reads as its kernel runs it in the language, without
the magics and shell lines the kernel takes first (`_as_run`).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .documents import Snapshot

# How one cell's text follows another's in the surroundings: cells read as top-level blocks of one script.
CELL_SEPARATOR = "\n\n"


class NotebookError(ValueError):
    """A change that cannot be applied to the notebook as the server holds it: the editor and the server are out of
    step. The message names the notebook."""


@dataclass(frozen=True)
class Surroundings:
    """The text of the notebook's other cells of a cell's language, as its kernel runs them (`_as_run`): all of
    them before it, then after it, each joined with `CELL_SEPARATOR` (and ending / starting with it where not
    empty), at most `chars` characters of each side, the nearest kept. `cells_before`, `cells_after`: those cells'
    documents, for what is keyed and searched by document."""

    before: str = ""
    after: str = ""
    cells_before: tuple[Snapshot, ...] = ()
    cells_after: tuple[Snapshot, ...] = ()

    @property
    def cells(self) -> tuple[Snapshot, ...]:
        return self.cells_before + self.cells_after

    def key(self) -> tuple:
        return _key(self.cells_before, self.cells_after)


def _key(before: Sequence[Snapshot], after: Sequence[Snapshot]) -> tuple:
    """What surroundings are made of: which cells, at which revision, on which side (a cell moved across this one
    changes what comes before it, not which cells there are)."""
    return tuple((s.uri, s.revision) for s in before), tuple((s.uri, s.revision) for s in after)


NO_SURROUNDINGS = Surroundings()


class Notebooks:
    def __init__(self) -> None:
        self._cells: dict[str, list[str]] = {}  # notebook uri -> its cells' document uris, in order
        self._notebook_of: dict[str, str] = {}  # cell document uri -> notebook uri

    def open(self, notebook: str, cells: Sequence[str]) -> None:
        self.close(notebook)
        self._cells[notebook] = list(cells)
        self._notebook_of.update((cell, notebook) for cell in cells)

    def splice(self, notebook: str, start: int, delete_count: int, cells: Sequence[str]) -> list[str]:
        """Replace ``delete_count`` cells from ``start`` with ``cells`` (a cell moved is one deleted and one
        inserted); returns the cells taken out. A notebook not open, or cells past its end, raise `NotebookError`:
        taken as empty, or cut to its length, they left it out of step with the editor without a word."""
        order = self._cells.get(notebook)
        if order is None:
            raise NotebookError(f"{notebook}: a change to a notebook that is not open")
        if not (0 <= start <= len(order) and 0 <= delete_count <= len(order) - start):
            raise NotebookError(f"{notebook}: a change to cells {start} to {start + delete_count} of a notebook of "
                                f"{len(order)}")
        removed = order[start:start + delete_count]
        order[start:start + delete_count] = list(cells)
        for cell in removed:
            if self._notebook_of.get(cell) == notebook and cell not in order:
                del self._notebook_of[cell]
        self._notebook_of.update((cell, notebook) for cell in cells)
        return removed

    def close(self, notebook: str) -> list[str]:
        """Forget ``notebook``; returns its cells."""
        cells = self._cells.pop(notebook, [])
        for cell in cells:
            if self._notebook_of.get(cell) == notebook:
                del self._notebook_of[cell]
        return cells

    def notebook_of(self, cell: str) -> str | None:
        return self._notebook_of.get(cell)

    def label(self, cell: str, notebook: str | None = None) -> str | None:
        """``cell`` as the user knows it, for a message: its notebook's file name and its place there, counted from 1
        (`analysis.ipynb, cell 3`), or `a cell of analysis.ipynb` where ``notebook`` (the notebook a message about
        the cell came with) does not list it. None for a document that is no notebook's cell."""
        notebook = notebook or self._notebook_of.get(cell)
        if notebook is None:
            return None
        name = unquote(urlsplit(notebook).path).rsplit("/", 1)[-1] or notebook
        order = self._cells.get(notebook, [])
        return f"{name}, cell {order.index(cell) + 1}" if cell in order else f"a cell of {name}"

    def surroundings(self, cell: str, document: Callable[[str], Snapshot | None], chars: int) -> Surroundings:
        """``cell``'s `Surroundings`, reading each cell's current snapshot from ``document``."""
        around = self._cells_around(cell, document)
        if around is None:
            return NO_SURROUNDINGS
        same, later = around
        return Surroundings(before=_before(same, chars), after=_after(later, chars), cells_before=same,
                            cells_after=later)

    def key_of(self, cell: str, document: Callable[[str], Snapshot | None]) -> tuple:
        """The `Surroundings.key` of ``cell``'s surroundings as they are now, without their text."""
        return _key(*(self._cells_around(cell, document) or ((), ())))

    def _cells_around(self, cell: str, document: Callable[[str], Snapshot | None]
                      ) -> tuple[tuple[Snapshot, ...], tuple[Snapshot, ...]] | None:
        """The snapshots of the cells of ``cell``'s language before it and after it; None outside a notebook."""
        notebook = self._notebook_of.get(cell)
        current = document(cell)
        if notebook is None or current is None:
            return None
        order = self._cells[notebook]
        at = order.index(cell)
        same = tuple(s for s in map(document, order[:at]) if s is not None and s.language_id == current.language_id)
        later = tuple(s for s in map(document, order[at + 1:])
                      if s is not None and s.language_id == current.language_id)
        return same, later


# `_as_run`'s texts, of the snapshots still held (a snapshot is never changed): each is read again for every
# request in a cell of its notebook.
_RUN: weakref.WeakKeyDictionary[Snapshot, str] = weakref.WeakKeyDictionary()


def _as_run(cell: Snapshot) -> str:
    """``cell``'s text as its kernel runs it in the language: the lines of its magics, shell and help lines left out
    (a `%%bash` cell's whole body), as a script of the notebook would have it, so that the lookup copies none of
    their words into a fill and the model reads only the language above and below the hole. Where the masking
    leaves code of its own (a command's value assigned, `files = 0`; a body's only statement, `0`), that line is
    kept as the grammar reads it: the name stays defined, and a body stays one."""
    if (text := _RUN.get(cell)) is not None:
        return text
    # Imported here: the language table reads `CellMagics` from this module.
    from .syntax import language_for

    spec = language_for(cell.language_id, cell.uri)
    magics = spec.cell_magics if spec is not None else None
    data = cell.utf8
    masked = magics.masked(data) if magics is not None else data
    if masked is data:
        text = cell.text
    else:
        # The masking keeps every line break, so line for line the two agree.
        kept = [line if line == old else line.rstrip()
                for old, line in zip(data.split(b"\n"), masked.split(b"\n")) if line == old or line.strip()]
        text = b"\n".join(kept).decode("utf-8", "surrogatepass")
    _RUN[cell] = text
    return text


def _before(cells: Sequence[Snapshot], chars: int) -> str:
    """The cells' texts (`_as_run`) in order, each followed by the separator; the last ``chars`` characters, read
    nearest first so that a long notebook costs no more than the part kept."""
    pieces: list[str] = []
    room = chars
    for cell in reversed(cells):
        if room <= 0:
            break
        text = _as_run(cell)
        if not text.strip():
            continue
        piece = text.rstrip("\n") + CELL_SEPARATOR
        pieces.append(piece[-room:])
        room -= len(pieces[-1])
    return "".join(reversed(pieces))


def _after(cells: Sequence[Snapshot], chars: int) -> str:
    """The separator, then each cell's text (`_as_run`) in order; the first ``chars`` characters."""
    pieces: list[str] = []
    room = chars
    for cell in cells:
        if room <= 0:
            break
        text = _as_run(cell)
        if not text.strip():
            continue
        pieces.append((CELL_SEPARATOR + text.rstrip("\n"))[:room])
        room -= len(pieces[-1])
    return "".join(pieces)


# Python's tokens that decide whether a line starts a statement: a string (which may run over lines), a comment, a
# bracket, a line break, and a backslash that continues a line. Cut short (an unclosed string), a token ends with
# its line, or a triple-quoted one with the text, as the grammar reads it. An f-string's replacement fields may hold
# strings in its own quotes (Python 3.12, `f"{d["k"]}"`) and fields of their own (`{x:{width}}`), one level deep;
# a `{` that opens no whole field on the line is a character as in an older Python. A backslash at the text's end
# is read too, so that a string cut short there is matched without going back over its fields.
_FIELD = rb"""\{(?:"(?:\\[\s\S]|[^\\"\n])*"|'(?:\\[\s\S]|[^\\'\n])*'|\{[^{}\n]*\}|[^"'{}\n])*\}"""
_TOKENS = re.compile(rb"""
    (?P<string>\"\"\"(?:\\[\s\S]|[^\\])*?(?:\"\"\"|\Z)|'''(?:\\[\s\S]|[^\\])*?(?:'''|\Z)
        |(?<![\w\x80-\xff])(?:[fF][rR]?|[rR][fF])(?!\"\"\"|''')
            (?:"(?:\\(?:[\s\S]|\Z)|\{\{|""" + _FIELD + rb"""|[^\\"\n])*(?:"|$)
              |'(?:\\(?:[\s\S]|\Z)|\{\{|""" + _FIELD + rb"""|[^\\'\n])*(?:'|$))
        |"(?:\\[\s\S]|[^\\"\n])*(?:"|$)|'(?:\\[\s\S]|[^\\'\n])*(?:'|$))
    |(?P<comment>\#[^\n]*)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<continued>\\\r?\n)
    |(?P<newline>\n)
""", re.VERBOSE | re.MULTILINE)
NOT_LINE_BREAK = re.compile(rb"[^\r\n]")  # what blanking a span makes a space; its line breaks stay


@dataclass(frozen=True)
class CellMagics:
    """What a notebook's kernel reads in a cell before the language does (IPython's magics, shell and help lines),
    each a pattern matched at the start of a line that starts a statement: ``escaped``, a line the kernel runs
    whole (`%time f()`, `!ls`, `?df`) from the group ``command`` on; ``assigned``, a statement whose value is one
    (`files = !ls`), from ``command`` on. ``help``, a name and a trailing `?` (`df.head?`), is found at the end of
    a statement instead, the `?` outside strings and comments: the kernel reads the whole statement as help on the
    name (`x = df.head?` assigns nothing), so it is blanked whole, over all its lines. A first line ``cell``, a cell
    magic (`%%time`), is blanked alone where its group ``name`` is one of ``code_bodies``, whose body is the
    language's code; any other (`%%bash`) has the whole cell. ``hint``: a search that finds none of them in most
    cells at once, so that such a cell is not scanned."""

    hint: re.Pattern[bytes]
    cell: re.Pattern[bytes]
    code_bodies: frozenset[bytes]
    escaped: re.Pattern[bytes]
    assigned: re.Pattern[bytes]
    help: re.Pattern[bytes]

    def masked(self, data: bytes) -> bytes:
        """``data`` (UTF-8) with each of them blanked byte for byte, its line breaks kept, so every offset stays
        valid; ``data`` itself where there is none. Where the line is indented deeper than the cell's first line (a
        body's statement, which blanked alone would leave the body empty) or its value assigned, a `0` stands where
        the command started. The kernel takes the first line's indentation off every line, so a magic indented no
        deeper stands at the top level, blanked whole."""
        hints = [m.start() for m in self.hint.finditer(data)]
        # Lines past the last that may hold one are not scanned: magics stand mostly at the top of a cell.
        spans = list(self._spans(data, data.rfind(b"\n", 0, hints[-1]) + 1)) if hints else []
        if not spans:
            return data
        out = bytearray(data)
        for start, end, filler in spans:
            out[start:end] = NOT_LINE_BREAK.sub(b" ", data[start:end])
            if filler:
                out[start] = ord("0")
        return bytes(out)

    def _spans(self, data: bytes, last: int) -> Iterator[tuple[int, int, bool]]:
        """(start, end, whether a `0` stands at the start) of each magic in ``data`` on a line that starts by
        ``last``."""
        first = data.rfind(b"\n", 0, len(data) - len(data.lstrip())) + 1  # where the first line not blank starts
        top = _indentation(data, first)
        pos, depth, line_start = 0, 0, True
        statement, code = -1, 0  # where the statement read starts (-1: it is a magic), where its last string ends
        while True:
            if line_start and depth == 0:
                if pos > last:  # the statement that holds the last line is read to its end, for a help line's `?`
                    return
                found = self._magic_at(data, pos, pos == first, top)
                statement = pos if found is None else -1
                if found is not None:
                    yield found
                    pos = found[1]
                    if pos >= last:
                        return
            token = _TOKENS.search(data, pos)
            # A statement ends with its line break outside brackets, or with the text (a bracket left open: the
            # kernel reads on to the end too).
            if statement >= 0 and (token is None or depth == 0 and token.lastgroup == "newline"):
                end = len(data) if token is None else token.start()
                if (found := self._help_at(data, statement, max(code, statement), end, top)) is not None:
                    yield found
            if token is None:
                return
            kind, pos, line_start = token.lastgroup, token.end(), False
            if kind == "open":
                depth += 1
            elif kind == "close":
                depth = max(0, depth - 1)
            elif kind == "newline":
                line_start = True
            elif kind in ("string", "comment"):
                code = pos

    def _magic_at(self, data: bytes, pos: int, first: bool, top: int) -> tuple[int, int, bool] | None:
        """The magic on the statement's line at ``pos``, if it is one; ``top``: the top level's indentation."""
        eol = _line_end(data, pos)
        if first and (cell := self.cell.match(data, pos, eol)) is not None:
            return pos, eol if cell["name"] in self.code_bodies else len(data), False
        for pattern in (self.escaped, self.assigned):
            if (match := pattern.match(data, pos, eol)) is not None:
                line = pos
                while data[line:eol].rstrip(b"\r").endswith(b"\\") and eol < len(data):
                    line, eol = eol + 1, _line_end(data, eol + 1)  # a line continued on the next
                return match.start("command"), eol, pattern is self.assigned or _indentation(data, pos) > top
        return None

    def _help_at(self, data: bytes, statement: int, code: int, end: int, top: int) -> tuple[int, int, bool] | None:
        """The help line that the statement from ``statement`` to ``end`` is, if it is one: its name and `?` stand
        past ``code``, where its last string or comment ends."""
        if not data[code:end].rstrip().endswith(b"?") or self.help.search(data, code, end) is None:
            return None
        indentation = _indentation(data, statement)
        return statement + indentation, end, indentation > top


def _indentation(data: bytes, pos: int) -> int:
    """How many spaces and tabs the line at ``pos`` starts with."""
    line = data[pos:_line_end(data, pos)]
    return len(line) - len(line.lstrip(b" \t"))


def _line_end(data: bytes, pos: int) -> int:
    """Where the line at ``pos`` ends, before its `\\n`."""
    end = data.find(b"\n", pos)
    return len(data) if end < 0 else end
