"""A fill for the rest of the cursor's line, as the editor gets it: what the text after the cursor already says is
dropped from it, but not a bracket the fill opened itself; a whole line written before code keeps that code on its
own line; the next line of the file is not suggested again."""

import pytest

from infill_ls.context import HoleShape, WindowBudget, build_context
from infill_ls.documents import DocumentStore
from infill_ls.postprocess import postprocess
from infill_ls.syntax import SyntaxIndex

CHARS = WindowBudget(prefix_tokens=10_000, suffix_tokens=10_000, count_tokens=len, chars_per_token=1.0)
EXTENSIONS = {"python": "py", "javascript": "js", "go": "go"}


def fitted(language: str, marked: str, fill: str) -> str | None:
    """`fill` at the `|` of `marked`, post-processed."""
    offset = marked.index("|")
    text = marked.replace("|", "", 1)
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(f"file:///t.{EXTENSIONS[language]}", language, 1, text)
    index.opened(snapshot)
    ctx = build_context(index.parse(snapshot), offset, CHARS)
    assert ctx.shape is HoleShape.LINE
    return postprocess(ctx, fill)


@pytest.mark.parametrize("language, marked, fill, expected", [
    # The editor's closer after the cursor: the fill's own copy of it goes...
    ("python", "x = print(|)\n", "a, b)", "a, b"),
    ("python", 's = "|"\n', 'abc"', "abc"),
    ("python", "x = f(|)\n", "g(1))", "g(1)"),
    ("javascript", "const a = [|];\n", "1, 2];", "1, 2"),
    # ...but a bracket the fill opened keeps its closer: `print(foo(1)` was inserted.
    ("python", "x = print(|)\n", "foo(1)", "foo(1)"),
    ("javascript", "const a = [|];\n", "[1], [2]", "[1], [2]"),
    ("go", "package main\n\nfunc f() {\n\tx := g(|)\n}\n", "h(1)", "h(1)"),
    ("python", 's = f(|)\n', '"a")', '"a"'),
])
def test_the_rest_of_the_line_drops_only_what_the_fill_did_not_open(language, marked, fill, expected):
    assert fitted(language, marked, fill) == expected


def test_a_whole_line_written_before_code_keeps_that_code_on_its_own_line():
    # `z = 3y = 2` was inserted.
    assert fitted("python", "x = 1\n|y = 2\n", "z = 3\n") == "z = 3\n"
    assert fitted("python", "def f():\n    |return 2\n", "x = 1\n") == "x = 1\n    "
    assert fitted("javascript", "|foo();\n", "bar();\n") == "bar();\n"
    # The code after the cursor again is no suggestion; a fill with no line break still goes on the line.
    assert fitted("python", "x = 1\n|y = 2\n", "y = 2\n") is None
    assert fitted("python", "x = 1\n|y = 2\n", "z") == "z"


def test_the_next_line_is_not_suggested_again_on_a_blank_line():
    marked = "def f(a):\n    a += 1\n    |\n    return a\n"
    assert fitted("python", marked, "return a") is None
    assert fitted("python", marked, "a *= 2") == "a *= 2"
    assert fitted("go", "package main\n\nfunc f(a int) int {\n\t|\n\treturn a\n}\n", "return a") is None
