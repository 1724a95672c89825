"""The server's work without the protocol: documents in, suggestions and edits out.

Runs on the event loop. Document state changes here and only here; model work goes to the
scheduler's worker with an immutable snapshot, and any answer for a version that has moved
on is dropped. ``server.py`` translates between this and LSP messages.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.errors import Cancelled

from .actions import ActionEdit, ActionKind, NoEdit, Request, available, refusal, run_action
from .completion import cache_key, complete, from_file_alone, from_the_file, typed_through
from .suggestions import Suggestion
from .documents import (DocumentError, DocumentStore, Position, PositionEncoding, Range, Snapshot, TextChange,
                        past_end)
from .model_loader import LoadedEngine, LoadResult, ModelLoader, Unloaded, checkpoint_state
from .neighbors import DirectoryFiles, DiskStamp, Gathered, neighbor_texts, tabs_searched, untitled, uri_path
from .notebooks import NO_SURROUNDINGS, Notebooks, Surroundings
from .scheduler import Priority, Scheduler, Superseded
from .settings import Settings, model_differs, parse_settings
from .syntax import (MAX_PENDING_EDITS, ParsedSnapshot, Replacement, SyntaxIndex, apply_replacements, copies_from, kin,
                     kin_suffixes, tree_after)

log = logging.getLogger(__name__)


# How much of a notebook's other cells, on each side of a cell, the lookup searches and the model may read: about as
# much as the files beside a document (`neighbors.ELSEWHERE_CHARS`), and gathered on the event loop in microseconds.
SURROUNDING_CHARS = 50_000

# Documents the client closed, the latest this many: a change it sends for one after closing it misses no text of the
# editor's, where a change for a document never opened here is for a text the server never had.
CLOSED_KEPT = 1000


class ChangeAfterClose(DocumentError):
    """A change for a document the client has closed (`CLOSED_KEPT`)."""


@dataclass(frozen=True)
class CellDocument:
    """A notebook cell's document as the client opens it."""

    uri: str
    language_id: str
    version: int
    text: str


@dataclass(frozen=True)
class ActionOutcome:
    edit: ActionEdit | None
    reason: str | None = None  # why there is no edit, for the user


@dataclass
class _RunningAction:
    """An action holding its document's lane; ``stopped_by``: the newer action that took the lane from it."""

    kind: ActionKind
    stopped_by: ActionKind | None = None


@dataclass(frozen=True)
class _Answer:
    """Suggestions as cached: the key holds the document and the open documents searched beside it, so that once one
    closes only answers found without it open come back; where the lookup searched the files beside it on disk (its copy
    among them), those are checked again (`DiskStamp`) before the suggestions are served from the cache once more."""

    suggestions: list[Suggestion]
    disk: DiskStamp | None = None

    def fresh(self) -> bool:
        return self.disk is None or self.disk.unchanged()


def _at_cursor(snapshot: Snapshot, offset: int, selected: TextChange, encoding: PositionEncoding
               ) -> Replacement | None:
    """The item selected in the editor's completion list as a replacement, if its range is one at the cursor: on
    the cursor's line and around it. The suggestions then go over that range, and an inline completion's range
    must hold the cursor and keep to one line; an item elsewhere is not the one the cursor is completing."""
    if selected.range is None:
        return None
    start = snapshot.offset_at(selected.range.start, encoding)
    end = snapshot.offset_at(selected.range.end, encoding)
    line = snapshot.line_of(offset)
    if not start <= offset <= end or snapshot.line_of(start) != line or snapshot.line_of(end) != line:
        return None
    return Replacement(start, end, selected.text)


def _changed(kind: ActionKind) -> ActionOutcome:
    return ActionOutcome(None, f"{kind.title}: the document changed while it ran; nothing was applied")


class InfillService:
    def __init__(self, settings: Settings, default_model: str | None = None) -> None:
        self.settings = settings
        self.started = settings  # what a null from the client sets a setting back to
        # What an empty model path means: the command line's --model, else the embedded model.
        self.default_model = default_model
        self.documents = DocumentStore()
        self.syntax = SyntaxIndex()
        self.scheduler = Scheduler()
        self.model = ModelLoader(self.scheduler)
        self.directory_files = DirectoryFiles()  # read and kept on the worker only
        # The workspace's folders as the client declares them: none, or the files beside a document are those of
        # its own folder alone.
        self.declared_folders: tuple[Path, ...] = ()
        # Those and, of one reached through a symbolic link, where it leads: a document opened by its real path
        # (another server's go-to-definition gives it so) was in no folder, and read no file beside it.
        self.folders: tuple[Path, ...] = ()
        self.notebooks = Notebooks()
        self._actions: dict[str, _RunningAction] = {}  # by document: the action holding its lane
        self._closed: OrderedDict[str, None] = OrderedDict()  # `CLOSED_KEPT`
        self._told_grammars: set[str] = set()  # the languages `notices` has said the grammar of

    # --- documents --------------------------------------------------------------------------

    def open(self, uri: str, language_id: str, version: int, text: str, cell: bool = False) -> None:
        """A document; ``cell``: a notebook's cell, which the notebook's opening or change says it is (its grammar
        then reads past the kernel's magics: `LanguageSpec.in_cell`). One open already (an editor reloading it from
        disk, a notebook opened again) is replaced as if closed first: what ran on its old text stops."""
        if uri in self.documents:
            self._drop(uri)
        self._closed.pop(uri, None)
        self.syntax.opened(self.documents.open(uri, language_id, version, text), cell)

    def change(self, uri: str, version: int, changes: Sequence[TextChange], encoding: PositionEncoding) -> None:
        """Apply the client's changes. One that cannot be applied leaves the store out of step with the editor, so
        the document is dropped (nothing is suggested for text the editor no longer has) and the error raised;
        `ChangeAfterClose` where the client closed it before."""
        if uri not in self.documents and uri in self._closed:
            raise ChangeAfterClose(f"{uri}: change for a document that is not open (the editor closed it); ignored")
        # A batch of more changes than a tree takes edits for (an editor's Replace All) has it parsed afresh, as
        # `SyntaxIndex.changed` would: their edits are not worked out. Nor are they for a document that is not
        # parsed (no grammar, or past `PARSED_CHARS`): in 20 MB with some non-ASCII, a keystroke's edit took 160 ms.
        current = self.documents.get(uri)
        edits_wanted = current is not None and self.syntax.parses(current) and len(changes) <= MAX_PENDING_EDITS
        try:
            snapshot = self.documents.change(uri, version, changes, encoding, edits_wanted)
            if edits_wanted:
                self.syntax.changed(snapshot)
            else:
                # Its tree, if any, starts again from this text.
                self.syntax.opened(snapshot, self.notebooks.notebook_of(uri) is not None)
            # A fill or an action's edit is for the text it started from and would be dropped: stopped now, it does
            # not hold the model for seconds while the next keystroke's suggestions wait behind it.
            self.scheduler.supersede((uri, "complete"))
            self.scheduler.supersede((uri, "action"))
        except DocumentError:
            self._drop(uri)
            raise

    def close(self, uri: str) -> None:
        """The client closes a document."""
        self._drop(uri)
        self._closed[uri] = None
        self._closed.move_to_end(uri)
        if len(self._closed) > CLOSED_KEPT:
            self._closed.popitem(last=False)

    def _drop(self, uri: str) -> None:
        """As `close`, where the client did not close it: a change it could not apply, or the document opened again."""
        self.documents.close(uri)
        self.syntax.closed(uri)
        self.scheduler.supersede((uri, "complete"))
        self.scheduler.supersede((uri, "action"))
        self.scheduler.typing.forget(uri)
        self.scheduler.cache.forget(uri)

    def notices(self) -> list[str]:
        """What the user is to be told of since this was last asked, each once: a language whose grammar does not
        load here (its documents are plain text)."""
        new = [why for name, why in self.syntax.unusable.items() if name not in self._told_grammars]
        self._told_grammars.update(self.syntax.unusable)
        return new

    def open_notebook(self, uri: str, cells: Sequence[str], documents: Sequence[CellDocument]) -> list[str]:
        """A notebook: its cells' document uris in order, and those documents (a cell's is a document as any
        other). A notebook opened again closes the cells it no longer lists. Returns the cells it lists without a
        document (`_without_text`)."""
        for cell in set(self.notebooks.close(uri)) - set(cells):
            self.close(cell)
        for doc in documents:
            self.open(doc.uri, doc.language_id, doc.version, doc.text, cell=True)
        self.notebooks.open(uri, cells)
        return self._without_text(cells)

    def change_notebook_cells(self, uri: str, start: int, delete_count: int, cells: Sequence[str],
                              opened: Sequence[CellDocument], closed: Sequence[str]) -> list[str]:
        """Cells inserted, deleted or moved: ``delete_count`` cells from ``start`` replaced by ``cells``; the
        documents of new cells ``opened``, those of cells gone ``closed``. Closed first: a cell whose language
        changed is closed and opened again in the same change. Returns the cells put in without a document
        (`_without_text`)."""
        for cell in closed:
            self.close(cell)
        for doc in opened:
            self.open(doc.uri, doc.language_id, doc.version, doc.text, cell=True)
        self.notebooks.splice(uri, start, delete_count, cells)
        return self._without_text(cells)

    def _without_text(self, cells: Sequence[str]) -> list[str]:
        """The cells among ``cells`` whose document is not open: the client listed them without sending their
        text, so nothing can be suggested in them, and each edit of one is a change to a document not open."""
        return [cell for cell in dict.fromkeys(cells) if cell not in self.documents]

    def close_notebook(self, uri: str, cells: Sequence[str] = ()) -> set[str]:
        """Close a notebook and its cells; returns the cells closed."""
        closed = {*self.notebooks.close(uri), *cells}
        for cell in closed:
            self.close(cell)
        return closed

    def set_folders(self, uris: Sequence[str]) -> None:
        """The workspace's folders as the client opens it (`initialize`)."""
        self.declared_folders = ()
        self.change_folders(uris, ())

    def change_folders(self, added: Sequence[str], removed: Sequence[str]) -> None:
        """Folders added to the workspace and removed from it; one that is not a local file (in a remote workspace)
        counts as none. Answers cached before may have searched files outside the folders now: they go."""
        gone = set(map(uri_path, removed))
        kept = [folder for folder in self.declared_folders if folder not in gone]
        self.declared_folders = tuple(dict.fromkeys(kept + [p for p in map(uri_path, added) if p is not None]))
        self.folders = tuple(dict.fromkeys(form for folder in self.declared_folders for form in _forms(folder)))
        self.scheduler.cache.clear()

    def disk_path(self, uri: str) -> Path | None:
        """Where a document stands on disk, for the files beside it: its own path; for a notebook cell, its
        notebook's, with the suffix of the cell's language added (``analysis.ipynb`` -> ``analysis.ipynb.py``), so
        that the modules beside the notebook are searched, ``analysis.py`` too (named ``analysis.py``, the cell
        was taken for that file, and it was passed over as the cell itself)."""
        notebook = self.notebooks.notebook_of(uri)
        if notebook is None:
            return uri_path(uri)
        path, spec = uri_path(notebook), self.syntax.spec(uri)
        if path is None or spec is None or not spec.extensions:
            return None
        return path.with_name(path.name + spec.extensions[0])

    def is_current(self, snapshot: Snapshot, surroundings: Surroundings = NO_SURROUNDINGS) -> bool:
        """Whether `snapshot` is its document's text still and, in a notebook, `surroundings` its other cells: an
        answer read from a cell since deleted or edited is as stale as one for an older text."""
        return self.documents.get(snapshot.uri) is snapshot and \
            self.notebooks.key_of(snapshot.uri, self.documents.get) == surroundings.key()

    # --- settings and the model ---------------------------------------------------------------

    @property
    def model_source(self) -> str:
        return self.settings.model_path or self.default_model or "the embedded model"

    def load_model(self, on_done: Callable[[LoadResult], None], on_read: Callable[[], None] | None = None) -> None:
        """Load the model the settings name (`ModelLoader.load`)."""
        self.scheduler.cache.clear()
        self.model.load(self.load_settings(self.settings), on_done, on_read)

    def load_settings(self, settings: Settings) -> Settings:
        """``settings`` with the model they load: theirs, else the one the server was started with."""
        return replace(settings, model_path=settings.model_path or self.default_model)

    def configure(self, raw: Any) -> tuple[list[str], bool]:
        """Apply settings from the client; returns the problems found and whether the model
        must be loaded again (another one: a change of threads alone is set on the one loaded)."""
        new, problems = parse_settings(raw, self.settings, self.started)
        old, self.settings = self.settings, new
        if new != old:
            # The fills shown were found under the settings before (a copy from the file, with `fileLookup` now off):
            # typing on through them would go on showing what the settings now rule out.
            self.scheduler.typing.clear()
        # After a load that failed, settings sent again (the same ones, once the checkpoint is mended on disk) are
        # the user's only way to ask for it once more short of restarting the server: tried again where the
        # checkpoint's directory has changed since. An editor that sends all its settings for any change (Neovim's,
        # Helix's) had the same failure said again for each.
        failed = self.model.last if self.model.error is not None else None
        reload = model_differs(old, new) or \
            (failed is not None and failed.state != checkpoint_state(self.load_settings(new)))
        if not reload and old.threads != new.threads:
            self.model.set_threads(new)
        return problems, reload

    # --- requests -----------------------------------------------------------------------------

    async def suggest_in(
        self, snapshot: Snapshot | None, position: Position, encoding: PositionEncoding, explicit: bool,
        selected: TextChange | None = None,
    ) -> list[Suggestion]:
        """Suggestions at a position of `snapshot`, the document as the request found it (None: not open); none
        once the document has moved on from it. ``selected``: the item an editor's completion list has selected, as
        the change accepting it would make; the suggestions then go on from the text as it would be with it made,
        each the item's text and a fill after it, over the item's range (the document itself is left as it is). An
        item whose range is not at the position is ignored (`_at_cursor`)."""
        if snapshot is None or not self.settings.language_enabled(snapshot.language_id):
            return []
        uri = snapshot.uri
        if (why := past_end(snapshot, position)) is not None:
            log.warning("%s: a suggestion asked for at %s; none given", uri, why)
            return []
        offset = snapshot.offset_at(position, encoding)
        picked = _at_cursor(snapshot, offset, selected, encoding) if selected is not None else None
        # What the model fills: the document, or the text as it would be with the selected item accepted.
        filled = snapshot if picked is None else \
            Snapshot(uri, snapshot.language_id, snapshot.version, apply_replacements(snapshot.text, [picked]))
        at = offset if picked is None else picked.start + len(picked.text)
        scheduler = self.scheduler
        scheduler.stats.requests += 1
        if self.documents.get(uri) is not snapshot:
            # Changed after the request came and before it ran: as stale as a fill a change stops (`change`).
            scheduler.stats.superseded += 1
            return []
        ticket = scheduler.enter((uri, "complete"))
        asked_under = self.settings
        surroundings = self.notebooks.surroundings(uri, self.documents.get, SURROUNDING_CHARS)
        try:
            # Typing through is for the fills shown in the document itself, not in a text with an item accepted.
            rests = scheduler.typing.continuation(snapshot, offset, surroundings.key()) if picked is None else None
            through: list[Suggestion] = []
            if rests:
                # Checked again in the text as typed (`typed_through`): no model pass, but a re-parse or a few, off
                # the loop as a first parse of a large file is. None passing, the fill is asked for afresh.
                parse = self.syntax.parse
                try:
                    through = await asyncio.to_thread(
                        lambda: typed_through(parse(snapshot), offset, rests, ticket.should_stop))
                except Cancelled:
                    pass  # a newer keystroke's request took the lane: said below
                if ticket.should_stop():
                    scheduler.stats.superseded += 1
                    return []
            if through:
                scheduler.stats.typing_through_hits += 1
                suggestions = through
            else:
                engine, lookup = await self.model.engine_or_lookup()
                generation = self.model.generation  # the load the engine came from (`ModelLoader.ran`)
                if ticket.should_stop():
                    scheduler.stats.superseded += 1  # overtaken while the model was loading
                    return []
                if engine is None and lookup is None:
                    return []
                settings, parse = self.settings, self.syntax.parse
                lookup_beside = settings.file_lookup and settings.neighbor_files
                # A notebook's own cells are read as the text around the hole, not as documents beside it.
                cells = {s.uri for s in surroundings.cells}
                beside = [s for s in self.documents.beside(uri, kin) if s.uri not in cells] if lookup_beside else []
                on_disk, folders = self.disk_path(uri), self.folders
                new = untitled(self.notebooks.notebook_of(uri) or uri)  # a new tab's, or a new notebook's cell
                # Where each stands (a notebook's cell, where its notebook does), read here: the store and the
                # notebooks change on the loop alone.
                locate = {s.uri: self.disk_path(s.uri) for s in beside}.get
                suffixes = kin_suffixes(snapshot.language_id, uri)
                copied_as = copies_from(snapshot.language_id, uri)
                debounce_s = 0 if explicit else settings.debounce_ms / 1000
                ran_model: list[bool] = []  # whether this request's own work ran the model (`ModelLoader.ran`)

                def work(should_stop: Callable[[], bool], engine: LoadedEngine | None = None,
                         files: DirectoryFiles | None = None) -> _Answer:
                    """`complete`'s answer; without ``engine``, `from_the_file`'s (`lookup`'s) alone. ``files``: as
                    read and kept on the worker, searched beside the open tabs."""
                    parsed = parse(snapshot)
                    if picked is not None:  # the document's tree, brought to the text with the item accepted
                        parsed = ParsedSnapshot(filled, parsed.spec, tree_after(parsed, [picked], should_stop))
                    gathered = (Gathered(lambda: neighbor_texts(snapshot, beside, files, path=on_disk,
                                                                should_stop=should_stop, folders=folders,
                                                                locate=locate, suffixes=suffixes,
                                                                copied_as=copied_as, unsaved=new))
                                if lookup_beside else None)
                    elsewhere = gathered if gathered is not None else ()
                    if engine is None:
                        return _Answer(from_the_file(lookup, parsed, at, settings, should_stop=should_stop,
                                                     elsewhere=elsewhere, surroundings=surroundings))
                    runs = engine.runs
                    found = complete(engine, parsed, at, settings, explicit=explicit, should_stop=should_stop,
                                     elsewhere=elsewhere, surroundings=surroundings)
                    # Counted here, on the worker, where runs come one at a time: on the loop another request's
                    # run (one that failed) could come between.
                    ran_model.append(engine.runs != runs)
                    if not explicit and engine.runs == runs:
                        scheduler.stats.without_model += 1
                    if not explicit and from_file_alone(found):
                        scheduler.stats.file_fills += 1
                    # One the file itself gave hangs on the files searched all the same: a module saved beside it
                    # later may hold a stronger fill. Other files there (an editor's backup) leave it be.
                    return _Answer(found, gathered.disk if gathered is not None else None)

                answer = None
                if engine is None:
                    # The model is loading (torch and the weights: minutes, for a large checkpoint): a fill the file
                    # spells out needs only the checkpoint's config and tokenizer, and is shown at once, found on a
                    # thread beside the busy worker (the open tabs searched, not the files on disk, which the worker
                    # reads); with none, the model's fill is waited for. Not cached: once the model has loaded, it
                    # has its say.
                    if settings.file_lookup:
                        answer, debounce_s = await scheduler.run_beside(ticket, work, debounce_s), 0
                    if answer is None or not answer.suggestions:
                        answer, engine = None, await self.model.engine()
                        generation = self.model.generation
                        if ticket.should_stop():
                            scheduler.stats.superseded += 1
                            return []
                        if engine is None:
                            return []
                if answer is None:
                    try:
                        answer = await scheduler.run(
                            ticket,
                            lambda should_stop: work(should_stop, engine, self.directory_files),
                            key=cache_key(filled, at, explicit, settings, self.model.generation,
                                          tabs_searched(on_disk, beside, folders, locate=locate, unsaved=new),
                                          surroundings),
                            owner=uri,
                            fresh=_Answer.fresh,
                            debounce_s=debounce_s,
                            priority=Priority.EXPLICIT if explicit else Priority.TYPING,
                        )
                    except Superseded:
                        raise
                    except Exception as error:  # noqa: BLE001 - said once as the model's state (`ModelLoader.ran`)
                        # Not the request's error: an editor shows a failed request as a popup, one per keystroke.
                        self.model.ran(error, generation)
                        return []
                    if any(ran_model):
                        self.model.ran(None, generation)
                suggestions = answer.suggestions
        except Superseded:
            return []
        except asyncio.CancelledError:
            ticket.cancel()
            raise
        finally:
            scheduler.leave(ticket)
        if not self.is_current(snapshot, surroundings):
            return []
        if picked is not None:
            # Back in the document: the item's text and the fill after it, over the item's range.
            return [replace(s, text=picked.text + s.text, start=picked.start, end=picked.end)
                    for s in suggestions if s.start == s.end == at]
        if self.settings == asked_under:  # else found under settings since changed: not typed through (`configure`)
            scheduler.typing.remember(snapshot, offset, [s.text for s in suggestions], surroundings.key())
        return suggestions

    async def actions_in(self, snapshot: Snapshot | None, selection: Range, encoding: PositionEncoding
                         ) -> list[tuple[ActionKind, str | None]]:
        """The actions for a selection of `snapshot`, the document as the request found it (None: not open), each
        with why it would be refused before its model runs (`actions.refusal`; None where it would run, or where no
        tokenizer is read yet to tell); none once the document has moved on from it, as each would be refused for
        the text it was offered for."""
        if snapshot is None or not self.settings.language_enabled(snapshot.language_id) \
                or past_end(snapshot, selection.start, selection.end) is not None:
            return []
        start = snapshot.offset_at(selection.start, encoding)
        end = snapshot.offset_at(selection.end, encoding)
        settings, lookup = self.settings, self.model.lookup_now()

        def offer() -> list[tuple[ActionKind, str | None]]:
            parsed = self.syntax.parse(snapshot)
            kinds = available(parsed, start, end)
            try:
                return [(kind, refusal(kind, parsed, start, end, settings, lookup) if lookup is not None else None)
                        for kind in kinds]
            except Unloaded:  # replaced meanwhile: the action says why when it runs
                return [(kind, None) for kind in kinds]

        # Parsing is not inference, but a first parse of a large file still stays off the loop.
        kinds = await asyncio.to_thread(offer)
        return kinds if self.documents.get(snapshot.uri) is snapshot else []

    async def action_in(self, kind: ActionKind, uri: str, snapshot: Snapshot | None, selection: Range,
                        encoding: PositionEncoding, version: int | None, opening: int | None = None) -> ActionOutcome:
        """An action's edit for a selection of `snapshot`, the document `uri` as the request found it (None: not
        open); none once the document has moved on from it. ``version``: the one the action was offered for;
        ``opening``: the document's opening it was offered in (`DocumentStore.opening`; None: not said, as for a
        command an editor makes up from its own selection)."""
        if snapshot is None:
            return ActionOutcome(None, f"{kind.title}: {uri} is not open")
        if not self.settings.language_enabled(snapshot.language_id):
            return ActionOutcome(None, f"{kind.title}: {snapshot.language_id} is not among enabledLanguages")
        if version is not None and version != snapshot.version:
            return ActionOutcome(None, f"{kind.title}: the document has changed since the action was offered")
        if opening is not None and opening != self.documents.opening(uri):
            # Closed and opened again, its versions counted from 1 again: the same version, another text.
            return ActionOutcome(None, f"{kind.title}: the document was closed and opened again since the action was "
                                       "offered; nothing was applied")
        if (why := past_end(snapshot, selection.start, selection.end)) is not None:
            return ActionOutcome(None, f"{kind.title}: the range's {why}; nothing was applied")
        engine = await self.model.engine()
        generation = self.model.generation  # the load the engine came from (`ModelLoader.ran`)
        if engine is None:
            return ActionOutcome(None, f"{kind.title}: no model loaded ({self.model.error or 'none configured'})")
        if uri not in self.documents:
            return ActionOutcome(None)  # closed meanwhile: the user has left it, and wants no word of it
        if self.documents.get(uri) is not snapshot:
            return _changed(kind)  # since the request came: its edit would be for a text that is gone
        start = snapshot.offset_at(selection.start, encoding)
        end = snapshot.offset_at(selection.end, encoding)
        settings, parse = self.settings, self.syntax.parse
        surroundings = self.notebooks.surroundings(uri, self.documents.get, SURROUNDING_CHARS)
        # One lane for every action on a document: two edits made for one text cannot both apply.
        running = _RunningAction(kind)
        if (older := self._actions.get(uri)) is not None:
            older.stopped_by = kind
        self._actions[uri] = running
        ticket = self.scheduler.enter((uri, "action"))
        ran_model: list[bool] = []

        def act(should_stop: Callable[[], bool]) -> ActionEdit | NoEdit:
            runs = engine.runs  # on the worker, where runs come one at a time (`suggest_in`)
            try:
                return run_action(kind, parse(snapshot), start, end, Request(engine, settings, should_stop,
                                                                             surroundings))
            finally:
                ran_model.append(engine.runs != runs)

        try:
            edit = await self.scheduler.run(ticket, act, priority=Priority.ACTION)
            if any(ran_model):
                self.model.ran(None, generation)
        except Superseded:
            edit = None  # stopped by a change (said below), a newer action, or the server shutting down
        except Exception as error:  # noqa: BLE001 - said as the action's outcome, and as the model's state
            self.model.ran(error, generation)
            # Of a model since replaced, not the one loaded now: its failure said as it was.
            current = generation == self.model.generation and self.model.failure is not None
            edit = NoEdit(self.model.failure if current else f"the model failed: {error}")
        finally:
            if self._actions.get(uri) is running:
                del self._actions[uri]
        # Its edit is for its own document alone: a notebook's other cells, edited meanwhile, were only read.
        if uri not in self.documents:
            return ActionOutcome(None)  # closed meanwhile: the user has left it, and wants no word of it
        if self.documents.get(uri) is not snapshot:
            return _changed(kind)
        if edit is None and running.stopped_by is not None:
            # Else it ended with neither an edit nor a word, and the user waits on an edit that never comes.
            return ActionOutcome(None, f"{kind.title}: stopped by a newer {running.stopped_by.title} on this document; "
                                       "nothing was applied")
        if edit is None:
            return ActionOutcome(None)  # the server is shutting down
        if isinstance(edit, NoEdit):
            return ActionOutcome(None, f"{kind.title}: {edit.reason}")
        return ActionOutcome(edit)

    def stats(self) -> dict[str, Any]:
        last = self.model.last
        return {
            **self.scheduler.stats.as_dict(),
            "full_parses": self.syntax.stats.full_parses,
            "incremental_parses": self.syntax.stats.incremental_parses,
            "model": last.engine.description if last and last.engine else None,
            "model_error": last.error if last else None,
            "model_failure": self.model.failure,  # why the model's last fill failed, where it did
            "model_load_seconds": last.seconds if last else None,
            "model_threads": self.model.threads,
        }

    def shutdown(self, wait_s: float = 0.0) -> bool:
        """Stop all work; True once the model's worker has ended (waiting up to ``wait_s``)."""
        return self.scheduler.close(wait_s)


def _forms(folder: Path) -> tuple[Path, ...]:
    """A workspace folder as declared and where it leads; as declared alone where that cannot be told (a `%00` in
    its URI: `initialize` failed on it)."""
    try:
        return folder, Path(os.path.realpath(folder))
    except (OSError, ValueError):
        return (folder,)
