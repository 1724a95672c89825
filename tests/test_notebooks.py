"""A notebook's cell order, what a cell's surroundings are, and what the model reads of them."""

from __future__ import annotations

import pytest

from engine.infill import InfillEngine
from engine.tiny import write_random_checkpoint
from infill_ls.completion import complete
from infill_ls.documents import DocumentStore
from infill_ls.notebooks import NO_SURROUNDINGS, NotebookError, Notebooks
from infill_ls.settings import Settings
from infill_ls.syntax import SyntaxIndex


def _store(cells: dict[str, tuple[str, str]]) -> DocumentStore:
    store = DocumentStore()
    for uri, (language, text) in cells.items():
        store.open(uri, language, 1, text)
    return store


def test_cells_keep_the_notebooks_order_through_inserts_deletes_and_moves():
    books = Notebooks()
    books.open("nb", ["a", "b", "c"])
    assert books.splice("nb", 1, 0, ["x"]) == []
    assert books.splice("nb", 0, 1, []) == ["a"] and books.notebook_of("a") is None
    # A move: deleted at one place and inserted at another, the same cell all along.
    books.splice("nb", 2, 1, [])
    books.splice("nb", 0, 0, ["c"])
    store = _store({u: ("python", f"{u} = 1\n") for u in "xbc"})
    assert books.surroundings("b", store.get, 1000).before == "c = 1\n\nx = 1\n\n"
    assert books.notebook_of("c") == "nb"
    assert sorted(books.close("nb")) == ["b", "c", "x"] and books.notebook_of("b") is None
    assert books.surroundings("b", store.get, 1000) == NO_SURROUNDINGS
    # Cells past its end, or a notebook not open: said, where they were cut short or taken as empty.
    books.open("nb", ["a", "b"])
    for start, count in ((7, 0), (1, 2), (-1, 1)):
        with pytest.raises(NotebookError, match=f"^nb: a change to cells {start} to {start + count} of a notebook of 2$"):
            books.splice("nb", start, count, ["z"])
    with pytest.raises(NotebookError, match="^other: a change to a notebook that is not open$"):
        books.splice("other", 0, 0, ["z"])
    assert books.splice("nb", 2, 0, ["c"]) == []


def test_a_cells_surroundings_are_the_other_cells_of_its_language_nearest_first_within_the_limit():
    books = Notebooks()
    books.open("nb", ["imports", "notes", "blank", "here", "later", "last"])
    store = _store({"imports": ("python", "import math\n\n\n"), "notes": ("markdown", "# Area"),
                    "blank": ("python", "  \n"), "here": ("python", "area = math.pi"),
                    "later": ("python", "print(area)"), "last": ("python", "print(2 * area)\n")})
    around = books.surroundings("here", store.get, 1000)
    assert around.before == "import math\n\n" and around.after == "\n\nprint(area)\n\nprint(2 * area)"
    assert [s.uri for s in around.cells] == ["imports", "blank", "later", "last"]
    # Cut to the limit, keeping what is nearest the cell.
    near = books.surroundings("here", store.get, 8)
    assert near.before == "import math\n\n"[-8:] and near.after == "\n\nprint("
    assert books.surroundings("notes", store.get, 1000).before == ""  # markdown reads no code


def test_the_model_reads_the_cells_above_and_below_a_cell(tmp_path):
    engine = InfillEngine.load(write_random_checkpoint(tmp_path / "m"), device="cpu")
    store, index = DocumentStore(), SyntaxIndex()
    cells = {"c0": "import statistics\nvalues = [3, 1, 2]\n", "c1": "middle = statistics.", "c2": "print(middle)\n"}
    for uri, text in cells.items():
        index.opened(store.open(uri, "python", 1, text))
    books = Notebooks()
    books.open("nb", list(cells))
    parsed = index.parse(store.get("c1"))
    settings = Settings(file_lookup=False)
    seen = {}
    for name, around in (("alone", NO_SURROUNDINGS), ("notebook", books.surroundings("c1", store.get, 10_000))):
        complete(engine, parsed, len(cells["c1"]), settings, explicit=True, should_stop=lambda: False,
                 surroundings=around)
        seen[name] = engine.tokenizer.decode(engine.prefix_cache.ids[1:])
    assert seen["alone"] == "middle = statistics."
    assert seen["notebook"] == "import statistics\nvalues = [3, 1, 2]\n\nmiddle = statistics."


def test_an_action_in_a_cell_reads_the_cells_around_it_too(tmp_path):
    from infill_ls.actions import ActionKind, Request, run_action

    engine = InfillEngine.load(write_random_checkpoint(tmp_path / "m"), device="cpu")
    store, index = DocumentStore(), SyntaxIndex()
    cells = {"c0": "import statistics\n", "c1": "middle = statistics.median([3, 1, 2])\n"}
    for uri, text in cells.items():
        index.opened(store.open(uri, "python", 1, text))
    books = Notebooks()
    books.open("nb", list(cells))
    start = cells["c1"].index("3, 1, 2")
    run_action(ActionKind.REWRITE_SELECTION, index.parse(store.get("c1")), start, start + len("3, 1, 2"),
               Request(engine, Settings(), surroundings=books.surroundings("c1", store.get, 10_000)))
    assert engine.tokenizer.decode(engine.prefix_cache.ids[1:]) == "import statistics\n\nmiddle = statistics.median(["


def test_a_cell_moved_across_another_changes_the_key_of_what_surrounds_it():
    from infill_ls.completion import cache_key

    books = Notebooks()
    books.open("nb", ["a", "here", "b"])
    store = _store({u: ("python", f"{u} = 1\n") for u in ("a", "here", "b")})
    before = books.surroundings("here", store.get, 1000)
    books.splice("nb", 0, 2, ["here", "a"])  # as VS Code moves a cell up: one splice, no open or close
    after = books.surroundings("here", store.get, 1000)
    assert {s.uri for s in before.cells} == {s.uri for s in after.cells}
    snapshot = store.get("here")
    assert (cache_key(snapshot, 0, False, Settings(), 0, (), before)
            != cache_key(snapshot, 0, False, Settings(), 0, (), after))


def test_cells_below_mean_the_text_goes_on_even_where_the_window_has_no_room_for_them():
    from infill_ls.completion import into_cells
    from infill_ls.context import WindowBudget
    from infill_ls.notebooks import Surroundings

    budget = WindowBudget(prefix_tokens=10, suffix_tokens=4, count_tokens=len, chars_per_token=1.0)
    around = Surroundings(before="B\n\n", after="\n\nnext()")
    assert into_cells(budget, "ab", "wxyz", from_start=True, to_end=True, surroundings=around) == ("B\n\nab", "wxyz",
                                                                                                   False)
    assert into_cells(budget, "ab", "w", from_start=False, to_end=True, surroundings=around) == ("ab", "w\n\nn", False)
    assert into_cells(budget, "ab", "w", from_start=True, to_end=True, surroundings=NO_SURROUNDINGS) == ("ab", "w",
                                                                                                         True)


def test_a_notebook_opened_again_closes_the_cells_it_no_longer_lists():
    from infill_ls.service import CellDocument, InfillService

    service = InfillService(Settings())
    try:
        cells = [CellDocument(f"c{n}", "python", 1, f"x{n} = {n}\n") for n in range(2)]
        service.open_notebook("nb", ["c0", "c1"], cells)
        service.open_notebook("nb", ["c1"], cells[1:])
        assert service.documents.get("c0") is None and service.documents.get("c1") is not None
        assert service.notebooks.notebook_of("c0") is None
    finally:
        service.shutdown()


async def test_an_action_applies_when_only_another_cell_changed_while_it_ran():
    import asyncio
    import threading

    from infill_ls.actions import ActionKind
    from infill_ls.documents import Position, PositionEncoding, Range, TextChange
    from infill_ls.service import CellDocument, InfillService

    from lsp_support import tiny_model

    service = InfillService(Settings(model_path=tiny_model(), device="cpu", debounce_ms=0))
    service.load_model(lambda result: None)
    try:
        assert await service.model.engine() is not None
        texts = ["import math\n\ndef area(r):\n    return math.pi * r * r\n", "print(area(max(2, 3\n"]
        service.open_notebook("nb", ["c0", "c1"], [CellDocument(f"c{n}", "python", 1, t) for n, t in enumerate(texts)])
        cursor = Range(Position(0, 19), Position(0, 19))

        async def close_while(edited: str) -> object:
            # The worker held, so the action waits to run until the cell is edited.
            gate = threading.Event()
            held = service.scheduler.submit(lambda: gate.wait(30))
            version = service.documents.get("c1").version
            running = asyncio.ensure_future(
                service.action_in(ActionKind.CLOSE_STRUCTURE, "c1", service.documents.get("c1"), cursor,
                                  PositionEncoding.UTF16, version))
            for _ in range(10):
                await asyncio.sleep(0)  # it reads the cell and the cells around it, and waits for the worker
            document = service.documents.get(edited)
            service.change(edited, document.version + 1, [TextChange(None, document.text + "# note\n")],
                           PositionEncoding.UTF16)
            gate.set()
            await asyncio.wrap_future(held)
            return await running

        # Another cell is context only: the edit, made for this cell's text, still fits it.
        outcome = await close_while("c0")
        assert outcome.reason is None and outcome.edit.uri == "c1" and outcome.edit.version == 1
        # The cell itself changed: its edit was for a text that is gone.
        outcome = await close_while("c1")
        assert outcome.edit is None
        assert outcome.reason == "Close structure: the document changed while it ran; nothing was applied"
    finally:
        service.shutdown(wait_s=30)


def test_the_cells_around_read_as_the_kernel_runs_them_without_their_magics_and_shell_lines():
    # A `%%bash` cell's body and a `!ls` line were read as the notebook's Python: the lookup copied a shell
    # line's arguments into a fill, and the model read them as code above the cell.
    books = Notebooks()
    books.open("nb", ["bash", "setup", "timed", "here", "help"])
    store = _store({
        "bash": ("python", "%%bash\nfor f in *.csv; do\n  helper.compute_total(bash1, bash2)\ndone\n"),
        "setup": ("python", "%matplotlib inline\nimport numpy as np\n!pip install numpy\nfiles = !ls\n"
                            "for f in files:\n    !cat {f}\n"),
        "timed": ("python", "%%time\ntotal = np.sum(xs)\n"),
        "here": ("python", "x = 1\n"),
        "help": ("python", "np.zeros?\nprint(x)\n"),
    })
    around = books.surroundings("here", store.get, 1000)
    # A magic's line left out, as a script of the notebook would have it; one whose value is assigned, or that is
    # a body's only statement, as the grammar reads it, so the code around it stays code.
    assert around.before == "import numpy as np\nfiles = 0\nfor f in files:\n    0\n\ntotal = np.sum(xs)\n\n"
    assert around.after == "\n\nprint(x)"
    # Still among the cells around: an edit that makes it Python changes what surrounds this one.
    assert [s.uri for s in around.cells] == ["bash", "setup", "timed", "help"]
    # A cell of a language with no magics reads as it is.
    books.open("js", ["a", "b"])
    store = _store({"a": ("javascript", "%%bash\nlet y = 2;\n"), "b": ("javascript", "let x = 1;\n")})
    assert books.surroundings("b", store.get, 1000).before == "%%bash\nlet y = 2;\n\n"


def test_a_cell_is_named_by_its_notebooks_file_and_its_place_in_it():
    books = Notebooks()
    books.open("file:///tmp/ws/my%20analysis.ipynb", ["c0", "c1", "c2"])
    assert books.label("c2") == "my analysis.ipynb, cell 3"
    assert books.label("c9", "file:///tmp/ws/my%20analysis.ipynb") == "a cell of my analysis.ipynb"
    books.open("untitled:Untitled-1.ipynb", ["u0"])
    assert books.label("u0") == "Untitled-1.ipynb, cell 1"
    assert books.label("file:///tmp/ws/plain.py") is None


def test_a_notebook_that_lists_a_cell_without_its_document_says_which():
    from infill_ls.service import CellDocument, InfillService

    service = InfillService(Settings())
    try:
        assert service.open_notebook("nb", ["c0", "c1"], [CellDocument("c0", "python", 1, "x = 1\n")]) == ["c1"]
        assert service.change_notebook_cells("nb", 2, 0, ["c2", "c3"], [CellDocument("c3", "python", 1, "y\n")],
                                             []) == ["c2"]
        assert service.change_notebook_cells("nb", 0, 1, [], [], ["c0"]) == []
    finally:
        service.shutdown()
