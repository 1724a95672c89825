"""How a fill for a hole after an opening brace is shaped: inline in an expression's braces, one body with one
closer in a block's."""

import pytest

from infill_ls.context import WindowBudget, build_context
from infill_ls.documents import DocumentStore
from infill_ls.postprocess import postprocess
from infill_ls.syntax import SyntaxIndex

CHARS = WindowBudget(prefix_tokens=10_000, suffix_tokens=10_000, count_tokens=len, chars_per_token=1.0)
GO_FUNC = "package main\n\nfunc f() {\n\tx := %s\n\t_ = x\n}\n"


def _shaped(language_id, text, fill):
    """The fill as it would be inserted, and the file with it in."""
    offset = text.index("|")
    text = text.replace("|", "", 1)
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(f"file:///t.{language_id}", language_id, 1, text)
    index.opened(snapshot)
    out = postprocess(build_context(index.parse(snapshot), offset, CHARS), fill)
    return out, None if out is None else text[:offset] + out + text[offset:]


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        ("go", GO_FUNC % "[]int{|}", "1, 2, 3", "1, 2, 3"),
        ("go", GO_FUNC % "T{|}", "A: 1}", "A: 1"),  # the editor's `}` is not written twice
        ("javascript", "const o = {|};\n", " a: 1 }", " a: 1 "),
        ("cpp", "int main() {\n    std::vector<int> v{|};\n}\n", "1, 2, 3", "1, 2, 3"),
    ],
)
def test_a_fill_between_an_expressions_braces_stays_on_the_line(language_id, text, fill, expected):
    assert _shaped(language_id, text, fill)[0] == expected


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        ("go", "package main\n\nfunc f() int {|\n}\n", "return 1\n}", "\n\treturn 1"),
        ("javascript", "function f() {|\n}\n", "\nreturn 1;\n}", "\n  return 1;"),
        ("javascript", "foo(function () {|\n});\n", "\na();\n});", "\n  a();"),
    ],
)
def test_a_closer_at_the_bodys_column_is_dropped_when_the_file_has_it_next(language_id, text, fill, expected):
    assert _shaped(language_id, text, fill)[0] == expected


def test_a_fills_own_closers_stay_when_the_file_has_one_next():
    out, _ = _shaped("javascript", "function f(a) {|\n}\n", "\n  if (a) {\n    b();\n  }")
    assert out == "\n  if (a) {\n    b();\n  }"


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        ("javascript", "function f() {|", "\n  return 1;\n}", "function f() {\n  return 1;\n}"),
        ("javascript", "function f() {\n  |", "return 1;\n}", "function f() {\n  return 1;\n}"),
        ("javascript", "foo(() => {|", "\n  a();\n});", "foo(() => {\n  a();\n});"),
        (
            "go",
            "package main\n\nfunc f() int {\n\tif true {|\n\treturn 0\n}\n",
            "\n\t\treturn 1\n\t}",
            "package main\n\nfunc f() int {\n\tif true {\n\t\treturn 1\n\t}\n\treturn 0\n}\n",
        ),
    ],
)
def test_the_models_closer_stays_when_nothing_after_the_hole_closes_the_opener(language_id, text, fill, expected):
    assert _shaped(language_id, text, fill)[1] == expected


def test_the_models_closer_goes_when_the_next_line_closes_the_opener():
    assert _shaped("javascript", "function f() {|\n}\n", "\n  return 1;\n}")[0] == "\n  return 1;"
    assert _shaped("javascript", "function f() {|}\n", "\n  return 1;\n}")[0] == "\n  return 1;\n"
