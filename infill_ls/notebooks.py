"""Notebooks: which cells each open notebook holds, in order, so a fill in one cell reads the cells around it.

A notebook's cells are documents of their own in the store (each parsed, changed and closed as any other); this
only keeps their order. A cell's surroundings are the text of the other cells of its language (code, not the
markdown between them) before and after it, as a notebook exported to a script would read: what the cells above
defined and imported is what the code in this one uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .documents import Snapshot

# How one cell's text follows another's in the surroundings: cells read as top-level blocks of one script.
CELL_SEPARATOR = "\n\n"


class NotebookError(ValueError):
    """A change that cannot be applied to the notebook as the server holds it: the editor and the server are out of
    step. The message names the notebook."""


@dataclass(frozen=True)
class Surroundings:
    """The text of the notebook's other cells of a cell's language: all of them before it, then after it, each
    joined with `CELL_SEPARATOR` (and ending / starting with it where not empty), at most `chars` characters of
    each side, the nearest kept. `cells_before`, `cells_after`: those cells' documents, for what is keyed and
    searched by document."""

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


def _before(cells: Sequence[Snapshot], chars: int) -> str:
    """The cells' texts in order, each followed by the separator; the last ``chars`` characters, read nearest
    first so that a long notebook costs no more than the part kept."""
    pieces: list[str] = []
    room = chars
    for cell in reversed(cells):
        if room <= 0:
            break
        if not cell.text.strip():
            continue
        piece = cell.text.rstrip("\n") + CELL_SEPARATOR
        pieces.append(piece[-room:])
        room -= len(pieces[-1])
    return "".join(reversed(pieces))


def _after(cells: Sequence[Snapshot], chars: int) -> str:
    """The separator, then each cell's text in order; the first ``chars`` characters."""
    pieces: list[str] = []
    room = chars
    for cell in cells:
        if room <= 0:
            break
        if not cell.text.strip():
            continue
        pieces.append((CELL_SEPARATOR + cell.text.rstrip("\n"))[:room])
        room -= len(pieces[-1])
    return "".join(pieces)
