"""How a fill for a hole after an opening brace is shaped: inline in an expression's braces, one body with one
closer in a block's."""

import pytest

from engine.infill import InfillEngine
from infill_ls.completion import complete
from infill_ls.context import WindowBudget, build_context
from infill_ls.documents import DocumentStore
from infill_ls.postprocess import postprocess
from infill_ls.settings import Settings
from infill_ls.syntax import SyntaxIndex, language_for, parses_cleanly
from lsp_support import WritesFills

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


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        ("go", "package main\n\nfunc main() {\n\tgo func() {|}()\n}\n", "\n\t\twork()\n\t}",
         "package main\n\nfunc main() {\n\tgo func() {\n\t\twork()\n\t}()\n}\n"),
        ("go", "package main\n\nfunc main() {\n\tdefer func() {|}()\n}\n", "\n\t\trecover()\n\t}()",
         "package main\n\nfunc main() {\n\tdefer func() {\n\t\trecover()\n\t}()\n}\n"),
        ("javascript", "setTimeout(() => {|}, 100);\n", "\n  tick();\n}, 100);",
         "setTimeout(() => {\n  tick();\n}, 100);\n"),
        ("javascript", "fetch(url).then((r) => {|}).catch(fail);\n", "\n  show(r);\n",
         "fetch(url).then((r) => {\n  show(r);\n}).catch(fail);\n"),
        ("javascript", "(function () {|})();\n", "\n  init();\n}", "(function () {\n  init();\n})();\n"),
        ("typescriptreact", "const A = () => <b onClick={() => {|}}>x</b>;\n", "\n  setOpen(true);\n",
         "const A = () => <b onClick={() => {\n  setOpen(true);\n}}>x</b>;\n"),
        ("java", "class A {\n  void f() {\n    new Thread(() -> {|}).start();\n  }\n}\n", "\n      work();\n    }",
         "class A {\n  void f() {\n    new Thread(() -> {\n      work();\n    }).start();\n  }\n}\n"),
        ("rust", "fn main() {\n    let v = async move {|}.await;\n}\n", "\n        work()\n    }",
         "fn main() {\n    let v = async move {\n        work()\n    }.await;\n}\n"),
        ("cpp", "int f() {\n    return [&]() {|}();\n}\n", "\n        return 1;\n    }",
         "int f() {\n    return [&]() {\n        return 1;\n    }();\n}\n"),
    ],
)
def test_a_body_fill_before_the_editors_closer_and_more_code_moves_them_to_a_line_of_their_own(
    language_id, text, fill, expected
):
    shaped = _shaped(language_id, text, fill)[1]
    assert shaped == expected
    assert parses_cleanly(language_for(language_id, ""), shaped)


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        # A comment after the opener...
        ("python", "def f(x):  # noqa: D103\n    |\n", "\n    y = x\n    return y\n", "y = x\n    return y"),
        ("javascript", "function f(x) { // eslint-disable-line\n  |\n}\n", "\n  const y = x;\n  return y;\n",
         "const y = x;\n  return y;"),
        ("go", "package main\n\nfunc f(x int) int { // nolint\n\t|\n}\n", "\n\ty := x\n\treturn y\n",
         "y := x\n\treturn y"),
        ("c", "int f(int x) { /* hot */\n    |\n}\n", "\n    int y = x;\n    return y;\n",
         "int y = x;\n    return y;"),
        # ...or a Python header broken over lines that its last line does not tell.
        ("python", "def f(a,\n      b):|\n", "\n    total = a + b\n    return total\n",
         "\n    total = a + b\n    return total"),
        ("python", "class A:\n    def f(self, a,\n          b):|\n", "\n        return a + b\n",
         "\n        return a + b"),
        ("python", "with open(a) as x, \\\n     open(b) as y:\n    |\n",
         "\n    x.write(y.read())\n    x.flush()\n", "x.write(y.read())\n    x.flush()"),
    ],
)
def test_a_header_the_line_alone_does_not_tell_still_takes_a_body(language_id, text, fill, expected):
    assert _shaped(language_id, text, fill)[0] == expected


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        ("go", "package main\n\nfunc sign(x int) int {\n\tif x < 0 {|\n}\n", "\n\t\treturn -1\n\t}",
         "package main\n\nfunc sign(x int) int {\n\tif x < 0 {\n\t\treturn -1\n\t}\n}\n"),
        ("javascript", "function sign(x) {\n  if (x < 0) {|\n}\n", "\n    return -1;\n  }",
         "function sign(x) {\n  if (x < 0) {\n    return -1;\n  }\n}\n"),
        ("c", "int sum(int *a, int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++) {|\n}\n",
         "\n        s += a[i];\n    }\n    return s;",
         "int sum(int *a, int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++) {\n        s += a[i];\n    }\n}\n"),
        ("java", "class A {\n    int f(int x) {\n        if (x > 0) {|\n    }\n}\n",
         "\n            return 1;\n        }\n        return 0;",
         "class A {\n    int f(int x) {\n        if (x > 0) {\n            return 1;\n        }\n    }\n}\n"),
        # A model that writes its body at the opener's column puts the closer there too: it closes the opener.
        ("go", "package main\n\nfunc sign(x int) int {\n\tif x < 0 {|\n}\n", "\n\treturn -1\n\t}",
         "package main\n\nfunc sign(x int) int {\n\tif x < 0 {\n\t\treturn -1\n\t}\n}\n"),
    ],
)
def test_the_models_closer_stays_when_the_next_line_closes_an_outer_block(language_id, text, fill, expected):
    shaped = _shaped(language_id, text, fill)[1]
    assert shaped == expected
    assert parses_cleanly(language_for(language_id, ""), shaped)


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        ("cpp", "double &at(int r, int c) {\n    if (r < 0) {|\n    return data[r * cols + c];\n}\n", "\n    }",
         "double &at(int r, int c) {\n    if (r < 0) {\n    }\n    return data[r * cols + c];\n}\n"),
        ("go", "package main\n\nfunc at(r, c int) int {\n\tif r < 0 {|\n\treturn r * c\n}\n", "\n\t}",
         "package main\n\nfunc at(r, c int) int {\n\tif r < 0 {\n\t}\n\treturn r * c\n}\n"),
        ("go", "package main\n\nfunc at(r, c int) int {\n\tif r < 0 {|\n\treturn r * c\n}\n", "\n    }",
         "package main\n\nfunc at(r, c int) int {\n\tif r < 0 {\n\t}\n\treturn r * c\n}\n"),
    ],
)
def test_a_fill_that_only_closes_the_opener_puts_the_closer_at_the_openers_indentation(
    language_id, text, fill, expected
):
    assert _shaped(language_id, text, fill)[1] == expected


class _Writes(WritesFills):
    """The model writes the given fills; the engine's own `infill` ranks them."""

    infill = InfillEngine.infill


def test_the_editor_is_shown_the_models_closer_on_its_own_line():
    # `return -1}`: the model's `}` was dropped as a repeat of the function's, and the closers put it back on the
    # body's last line.
    text = "package main\n\nfunc sign(x int) int {\n\tif x < 0 {\n}\n"
    at = text.index("{\n}") + 1
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open("file:///sign.go", "go", 1, text)
    index.opened(snapshot)
    shown = complete(_Writes(["\n\t\treturn -1\n\t}"]), index.parse(snapshot), at, Settings(), explicit=True,
                     should_stop=lambda: False)
    assert [s.text for s in shown] == ["\n\t\treturn -1\n\t}"]


@pytest.mark.parametrize(
    "language_id, text, fill, expected",
    [
        # A header over two lines: the file's `}` stands at its first line's indentation, the model's at its last's.
        ("c", "int f(int a, int b) {\n    if (a &&\n        b) {|\n    }\n    return 0;\n}\n", "\n            x();\n        }",
         "int f(int a, int b) {\n    if (a &&\n        b) {\n            x();\n    }\n    return 0;\n}\n"),
        ("c", "int f(int a, int b) {\n    if (a &&\n        b) {\n            |\n    }\n    return 0;\n}\n",
         "x();\n        }",
         "int f(int a, int b) {\n    if (a &&\n        b) {\n            x();\n    }\n    return 0;\n}\n"),
        ("java", "class A {\n    void f(int a,\n           int b) {|\n    }\n}\n", "\n        x();\n           }",
         "class A {\n    void f(int a,\n           int b) {\n               x();\n    }\n}\n"),
        # A callback among a call's arguments over lines: the `});` closes it and the call.
        ("javascript", "function f() {\n  foo(a,\n    b, () => {|\n  });\n}\n", "\n      x();\n    }",
         "function f() {\n  foo(a,\n    b, () => {\n      x();\n  });\n}\n"),
        # A `match` arm's block: the `}` at the `match`'s indentation closes the arms, not the arm.
        ("rust", "fn f(x: i32) {\n    match x {\n        1 => {|\n    }\n}\n", "\n            a();\n        }",
         "fn f(x: i32) {\n    match x {\n        1 => {\n            a();\n        }\n    }\n}\n"),
    ],
)
def test_the_next_line_at_the_statements_indentation_closes_an_opener_after_a_header_over_lines(
    language_id, text, fill, expected
):
    shaped = _shaped(language_id, text, fill)[1]
    assert shaped == expected
    assert parses_cleanly(language_for(language_id, ""), shaped)
