"""IPython's magics, shell and help lines in a Python notebook cell: the grammar reads them blanked, byte for byte,
so a cell that IPython runs parses cleanly; in a .py file the same line is a syntax error still."""

import pytest

from infill_ls.actions import ActionKind, available
from infill_ls.documents import DocumentStore, PositionEncoding, Range, TextChange
from infill_ls.syntax import (Replacement, SyntaxIndex, adds_errors, error_nodes, grammar_bytes, language_for,
                              parse_text, parses_after, tree_after)
from lsp_support import tree_nodes

PYTHON = language_for("python", "")
CELL = PYTHON.in_cell()
U16 = PositionEncoding.UTF16
TYPING = "%matplotlib inline\ntotal = sum(x * 2 for x in range("


def _masked(text: str) -> str:
    data = text.encode()
    out = grammar_bytes(data, CELL)
    assert len(out) == len(data)
    return out.decode()


@pytest.mark.parametrize("text, masked", [
    ("%matplotlib inline\nimport numpy as np\n", "                  \nimport numpy as np\n"),
    ("%%time\nx = f()\n", "      \nx = f()\n"),
    ("\n%%timeit -n 3\nx = f()\n", "\n             \nx = f()\n"),
    ("%autoreload 2\nx = 1\n", "             \nx = 1\n"),
    ("!pip install numpy\n", "                  \n"),
    ("!!ls -l\n", "       \n"),
    ("files = !ls *.csv\nn = len(files)\n", "files = 0        \nn = len(files)\n"),
    ("a, b = %who_ls\n", "a, b = 0      \n"),
    ("df.head?\n", "        \n"),
    ("df.head??\n", "         \n"),
    ("?df\n", "   \n"),
    ("np.*load*?\n", "          \n"),
    # Within a body a magic stands as a statement: blanked alone, the body would be empty.
    ("for f in files:\n    !cat {f}\n", "for f in files:\n    0       \n"),
    ("if x:\n    %time f()\nelse:\n    df?\n", "if x:\n    0        \nelse:\n    0  \n"),
    # A shell line continued with a backslash, and line breaks kept as they are.
    ("!pip install \\\n    numpy\nx = 1\n", " " * 14 + "\n" + " " * 9 + "\nx = 1\n"),
    ("%time f()\r\nx = 1\r\n", "         \r\nx = 1\r\n"),
    # A cell magic whose body is not Python: the whole cell is the magic's.
    ("%%bash\necho (\nls\n", "      \n      \n  \n"),
    # A statement that ends in a name and `?` is help on the name, whole (IPython drops the rest), over lines too.
    ("x = df.head?\ny = 1\n", "            \ny = 1\n"),
    ("a, b = np.*load*??\n", "                  \n"),
    ("x = f(a,\n      b).c?\ny = 1\n", "        \n           \ny = 1\n"),
    ("x = 1 + \\\n    df?\n", "         \n       \n"),
    ("x = [a,\n     b?", "       \n       "),
    ("if x:\n    y = df?\n", "if x:\n    0      \n"),
    # Indented at the top level (IPython takes a cell's first line's indentation off each line): no `0` stands.
    ("  %time f()\nx = 1\n", "           \nx = 1\n"),
    ("\n  !ls\n  x = 1\n", "\n     \n  x = 1\n"),
    ("  df?\n", "     \n"),
    ("  if x:\n      %time f()\n", "  if x:\n      0        \n"),
    # An f-string that reuses its quotes (Python 3.12) is one string: a bracket in it opens nothing.
    ('s = f"{d["("]}"\n%time f()\n', 's = f"{d["("]}"\n         \n'),
    ('s = f"{x:{"w"}}" + f"{{"\n!ls\n', 's = f"{x:{"w"}}" + f"{{"\n   \n'),
])
def test_magic_shell_and_help_lines_are_blanked_byte_for_byte(text, masked):
    assert _masked(text) == masked


def test_a_magic_line_with_non_ascii_text_is_blanked_byte_for_byte():
    text = '%time f("é")\nx = 1\n'
    data = text.encode()
    assert grammar_bytes(data, CELL) == b" " * len(text.split("\n")[0].encode()) + b"\nx = 1\n"


@pytest.mark.parametrize("text", [
    "x = a % b\n",
    "if not x:\n    y = a != b\n",
    's = "what?"\n',
    "x = 1  # why?\n",
    "# %matplotlib inline\n",
    "f(a,\n  !b)\n",
    "f(a,\n  %b)\n",
    'doc = """\n%not a magic\n!nor this\nwhy?\n"""\n',
    "x = y \\\n    %z\n",
    "values = [1, 2]\n",
    "x = a if b else c\n",
    's = "why" + "not?"\n',
    "x = df.head?  # why?\n",
    "print(x)?\n",
    "x = (1,\n     2)?\n",
    # A `#` in an f-string that reuses its quotes starts no comment: the bracket after it is open.
    'x = f"{d["#"]}" + g(\n  !ls\n)\n',
])
def test_percent_bang_and_question_marks_inside_code_are_left_alone(text):
    data = text.encode()
    assert grammar_bytes(data, CELL) is data


def test_the_rows_other_than_pythons_and_a_py_file_mask_nothing():
    data = b"%matplotlib inline\n"
    assert grammar_bytes(data, PYTHON) is data and grammar_bytes(data) is data
    assert language_for("javascript", "").in_cell() == language_for("javascript", "")


def _opened(text: str, cell: bool, uri="vscode-notebook-cell:/work/a.ipynb#W0"):
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(uri, "python", 1, text)
    index.opened(snapshot, cell=cell)
    return store, index, snapshot


def test_a_cell_with_magics_parses_cleanly_and_the_same_lines_in_a_py_file_do_not():
    text = "%matplotlib inline\n!pip install numpy\nfiles = !ls\nimport numpy as np\nnp.zeros?\nxs = np.zeros(3)\n"
    assert not parse_text(CELL, text).root_node.has_error
    assert parse_text(PYTHON, text).root_node.has_error
    _, index, snapshot = _opened(text, cell=True)
    assert not index.parse(snapshot).tree.root_node.has_error
    _, index, snapshot = _opened(text, cell=False, uri="file:///work/a.py")
    parsed = index.parse(snapshot)
    assert parsed.tree.root_node.has_error and error_nodes(parsed.tree, parsed.spec)


def test_a_help_line_after_an_assignment_and_a_magic_indented_at_the_top_parse_cleanly_in_a_cell():
    text = '  %time f()\nx = df.head?\nrows = f"{d["("]}"\n%matplotlib inline\n'
    assert not parse_text(CELL, text).root_node.has_error
    assert parse_text(PYTHON, text).root_node.has_error
    assert _masked(text).split("\n")[:2] == [" " * len("  %time f()"), " " * len("x = df.head?")]


def test_a_cells_tree_after_each_edit_is_the_masked_texts_as_a_fresh_parse_reads_it():
    # An edit may make a line a magic, or stop it being one, beyond the bytes it changes: `y = (` above the body
    # made `!ls` code inside a bracket, and the tree kept the `0` that stood for it.
    store, index, snapshot = _opened("if x:\n    !ls\nz = 1\n", cell=True)
    parsed = index.parse(snapshot)
    assert tree_nodes(tree_after(parsed, [Replacement(0, 0, "y = (")])) == tree_nodes(parse_text(CELL, "y = (" + snapshot.text))
    for at, new, end in ((0, "y = (", 0), (0, "", 5), (0, "%time ", 0), (len("%time if x:"), "é", 0),
                         (len("%time "), "", len("if x:é"))):
        span = Range(snapshot.position_at(at, U16), snapshot.position_at(at + end, U16))
        snapshot = store.change(snapshot.uri, snapshot.version + 1, [TextChange(span, new)])
        index.changed(snapshot)
        assert tree_nodes(index.parse(snapshot).tree) == tree_nodes(parse_text(CELL, snapshot.text)), snapshot.text


def test_a_fill_after_a_magic_line_is_checked_against_the_cell_as_ipython_reads_it():
    _, index, snapshot = _opened(TYPING, cell=True)
    parsed = index.parse(snapshot)
    end = len(TYPING)
    assert parsed.spec == CELL and error_nodes(parsed.tree, parsed.spec)[0].start_byte > len("%matplotlib inline")
    assert parses_after(parsed, [Replacement(end, end, "3))")])
    assert not adds_errors(parsed, [Replacement(end, end, "3)")])
    # Typing on the magic line itself: its fill is the magic's.
    assert not adds_errors(parsed, [Replacement(len("%matplotlib"), len("%matplotlib inline"), " notebook)")])


def test_a_clean_cell_with_a_magic_line_is_offered_no_close_structure():
    text = "%matplotlib inline\nimport numpy as np\nxs = np.zeros(3)\n"
    _, index, snapshot = _opened(text, cell=True)
    assert ActionKind.CLOSE_STRUCTURE not in available(index.parse(snapshot), len(text) - 1, len(text) - 1)
    _, index, snapshot = _opened(text, cell=False, uri="file:///work/a.py")
    assert ActionKind.CLOSE_STRUCTURE in available(index.parse(snapshot), len(text) - 1, len(text) - 1)


def test_a_cell_stays_a_cell_through_a_batch_of_changes_that_parses_it_afresh():
    from infill_ls.service import CellDocument, InfillService
    from infill_ls.settings import Settings
    from infill_ls.syntax import MAX_PENDING_EDITS

    text = "%matplotlib inline\n" + "x = 1\n" * (MAX_PENDING_EDITS + 1)
    service = InfillService(Settings())
    try:
        cells = ["cell:a#0", "cell:a#1"]
        service.open_notebook("file:///a.ipynb", cells[:1], [CellDocument(cells[0], "python", 1, text)])
        service.change_notebook_cells("file:///a.ipynb", 1, 0, cells[1:], [CellDocument(cells[1], "python", 1, text)],
                                      [])
        service.open("file:///a.py", "python", 1, text)
        for uri in (*cells, "file:///a.py"):
            s = service.documents.get(uri)
            changes = [TextChange(Range(s.position_at(m, U16), s.position_at(m + 1, U16)), "y")
                       for m in reversed([i for i in range(len(text)) if text.startswith("x", i)])]
            assert len(changes) > MAX_PENDING_EDITS
            service.change(uri, 2, changes, U16)
            tree = service.syntax.parse(service.documents.get(uri)).tree
            assert tree.root_node.has_error == (uri == "file:///a.py"), uri
    finally:
        service.shutdown()
