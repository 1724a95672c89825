"""Fill placeholders without the model: the fills a model could give, put in place of the
placeholders that a real parse finds, in the file's indentation and line breaks."""

import pytest

from infill_ls.actions import (ActionKind, Mending, NoEdit, Request, candidate, choose_edit, close_structure,
                               find_placeholders, problem_to_close, rewrite_selection)
from infill_ls.actions.placeholders import placeholder_replacements
from infill_ls.documents import DocumentStore
from infill_ls.postprocess import fit_placeholder
from infill_ls.settings import Settings
from lsp_support import parsed_text, WritesFills
from infill_ls.syntax import Replacement, SyntaxIndex, apply_replacements, language_for, parses_cleanly, problem_count




def _fill(language_id, text, cursor_at, fills):
    """The text once ``fills`` replace the placeholders of the function around ``cursor_at``."""
    parsed = parsed_text(language_id, text)
    holes = find_placeholders(parsed, text.index(cursor_at))
    assert len(holes) == len(fills), [text[a:b] for a, b in holes]
    replacements = placeholder_replacements(parsed, holes, fills)
    new = apply_replacements(text, list(replacements))
    assert parses_cleanly(language_for(language_id, ""), new), new
    return [text[a:b] for a, b in holes], new


PYTHON = (
    "def total(items, discount):\n"
    "    result = 0\n"
    "    if discount:\n"
    "        # TODO: sum the discounted prices\n"
    "    return ...\n"
    "\n"
    "\n"
    "def other():\n"
    "    pass\n"
)


def test_python_fills_keep_each_line_at_its_depth_below_the_placeholder():
    # The model writes on from the text before each placeholder: later lines carry the file's absolute indentation.
    sum_loop = "for item in items:\n            result += item.price * (1 - discount)"
    rounded = "round(\n        result,\n        2,\n    )\n"
    placeholders, new = _fill("python", PYTHON, "result = 0", [sum_loop, rounded])
    assert placeholders == ["# TODO: sum the discounted prices", "..."]
    assert new == PYTHON.replace(
        "        # TODO: sum the discounted prices\n    return ...\n",
        "        for item in items:\n"
        "            result += item.price * (1 - discount)\n"
        "    return round(\n"
        "        result,\n"
        "        2,\n"
        "    )\n",
    )


def test_python_fill_in_another_step_takes_the_file_unit():
    # Two-column steps in the fill become the file's four.
    fill = "for item in items:\n          if item.price:\n            result += item.price"
    _, new = _fill("python", PYTHON, "result = 0", [fill, "result"])
    assert (
        "    if discount:\n"
        "        for item in items:\n"
        "            if item.price:\n"
        "                result += item.price\n"
        "    return result\n"
    ) in new


def test_a_single_line_fill_goes_in_as_it_is():
    _, new = _fill("python", PYTHON, "result = 0", ["  result = sum(i.price for i in items)  \n", "result"])
    assert new == PYTHON.replace("# TODO: sum the discounted prices", "result = sum(i.price for i in items)").replace(
        "return ...", "return result"
    )


def test_an_empty_fill_keeps_its_placeholder():
    parsed = parsed_text("python", PYTHON)
    holes = find_placeholders(parsed, PYTHON.index("result = 0"))
    (only,) = placeholder_replacements(parsed, holes, [" \n\t\n", "result"])
    assert PYTHON[only.start : only.end] == "..." and only.text == "result"
    assert placeholder_replacements(parsed, holes, ["", "  "]) == ()


def test_a_fill_that_dedents_out_of_the_placeholders_body_stops_there():
    # The `return` at the function's depth is the model going on past the `if` body, which the file already has.
    fill = "for item in items:\n            result += item.price\n    return result"
    _, new = _fill("python", PYTHON, "result = 0", [fill, "result"])
    assert "        for item in items:\n            result += item.price\n    return result\n\n" in new
    assert new.count("return result") == 1


GO = (
    "package stack\n"
    "\n"
    "func Sum(values []int, limit int) int {\n"
    "\ttotal := 0\n"
    "\tfor _, v := range values {\n"
    "\t\t// TODO: stop at the limit\n"
    "\t}\n"
    "\treturn total\n"
    "}\n"
)

GO_FILLED = GO.replace(
    "\t\t// TODO: stop at the limit\n",
    "\t\tif total+v > limit {\n"
    "\t\t\tbreak\n"
    "\t\t}\n"
    "\t\ttotal += v\n",
)


def test_go_fill_in_tabs_stays_in_tabs():
    fill = "if total+v > limit {\n\t\t\tbreak\n\t\t}\n\t\ttotal += v"
    placeholders, new = _fill("go", GO, "total := 0", [fill])
    assert placeholders == ["// TODO: stop at the limit"]
    assert new == GO_FILLED


def test_go_fill_in_spaces_takes_the_files_tabs():
    fill = "if total+v > limit {\n            break\n        }\n        total += v"
    _, new = _fill("go", GO, "total := 0", [fill])
    assert new == GO_FILLED


def test_crlf_file_gets_crlf_fills_only():
    text = PYTHON.replace("\n", "\r\n")
    fills = [
        "for item in items:\n            result += item.price\r\n",
        "round(\r\n        result,\n        2,\n    )",
    ]
    placeholders, new = _fill("python", text, "result = 0", fills)
    # The comment node ends after the line's \r, which the fill leaves in place.
    assert placeholders == ["# TODO: sum the discounted prices", "..."]
    assert "\n" not in new.replace("\r\n", "")
    assert new == (
        PYTHON.replace(
            "        # TODO: sum the discounted prices\n    return ...\n",
            "        for item in items:\n"
            "            result += item.price\n"
            "    return round(\n"
            "        result,\n"
            "        2,\n"
            "    )\n",
        ).replace("\n", "\r\n")
    )


def test_crlf_go_file_stays_crlf():
    fill = "if total+v > limit {\n\t\t\tbreak\n\t\t}\n\t\ttotal += v"
    placeholders, new = _fill("go", GO.replace("\n", "\r\n"), "total := 0", [fill])
    assert placeholders == ["// TODO: stop at the limit"]
    assert new == GO_FILLED.replace("\n", "\r\n")


def test_fit_placeholder_without_a_parse():
    # A placeholder on an unindented line in a two-space file: lines keep their steps, blank lines stay blank.
    assert fit_placeholder("\n\nfoo(\n    a,\n\n    b)\n\n", "", "  ") == "foo(\n  a,\n\n  b)"
    assert fit_placeholder("\r\n", "\t", "\t") == ""


@pytest.fixture(scope="module")
def shipped():
    from engine.infill import InfillEngine

    return InfillEngine.load(device="cpu")  # the shipped model's tokens key the lookup as a user's would


@pytest.mark.parametrize("text, cursor_after, expected", [
    # The file's fill named a key the file never uses, or a return type copied from another method.
    ('def check(called):\n    args = called[0]["args"]\n    cmd = args[0\n    return cmd\n', "args[0", "]"),
    ("class Info:\n    def __repr__(self) -> str:\n        return 'x'\n\n    def __str__(self:\n        return 'y'\n",
     "__str__(self", ")"),
    ("class Info:\n    def __repr__(self) -> str:\n        return 'x'\n\n    def __str__(self\n        return 'y'\n",
     "__str__(self", "):"),
    ("total = add(first, second)\nprint(total)\ncount = add(first, \nprint(count)\n", "add(first, ", ")"),
    # Where the closers alone leave the file broken, the file's fill is what closes it.
    ("total = add(first, second=2)\nprint(total)\ncount = add(first, second=\nprint(count)\n", "second=", "2)"),
])
def test_close_structure_closes_and_writes_more_only_where_the_closers_alone_do_not_parse(shipped, text,
                                                                                         cursor_after, expected):
    cursor = text.rindex(cursor_after) + len(cursor_after)
    edit = close_structure(parsed_text("python", text), cursor, Request(shipped, Settings()))
    assert not isinstance(edit, NoEdit), edit
    assert apply_replacements(text, list(edit.replacements)) == text[:cursor] + expected + text[cursor:]


def test_close_structure_in_a_cell_takes_the_close_the_cells_around_it_spell_out(shipped):
    from infill_ls.actions import ActionEdit, close_structure
    from infill_ls.notebooks import Notebooks
    from infill_ls.settings import Settings

    store, index = DocumentStore(), SyntaxIndex()
    cells = {"c0": "sales = load('sales.csv', sep=';', index_col=0)\n",
             "c1": "costs = load('costs.csv', sep=\nprint(costs)\n"}
    for uri, text in cells.items():
        index.opened(store.open(uri, "python", 1, text))
    books = Notebooks()
    books.open("nb", list(cells))
    text = cells["c1"]
    edit = close_structure(index.parse(store.get("c1")), text.index("\n"),
                           Request(shipped, Settings(), surroundings=books.surroundings("c1", store.get, 10_000)))
    assert isinstance(edit, ActionEdit)
    # As in one file holding both cells: the call the cell above spells out, where the bracket alone leaves
    # `sep=)`, which does not parse.
    closed = apply_replacements(text, list(edit.replacements)).split("\n")[0]
    assert closed == "costs = load('costs.csv', sep=';', index_col=0)"


def test_an_edit_that_adds_a_syntax_error_is_never_chosen():
    # The file has an error elsewhere, so "parses afterwards" cannot decide; a fill that opens a string would turn
    # the rest of the file into one, and is surer than the harmless fill.
    text = "def f(x):\n    ...\n\ndef g(y):\n    return (y + 1\n\ndef h():\n    pass\n"
    parsed = parsed_text("python", text)
    at = text.index("...")
    opens_string = candidate(parsed, (Replacement(at, at + 3, '"""'),), -0.1)
    harmless = candidate(parsed, (Replacement(at, at + 3, "return x"),), -2.0)
    assert opens_string.problems > problem_count(parsed.tree) == harmless.problems == 1
    fill = ActionKind.FILL_PLACEHOLDERS
    assert choose_edit(fill, parsed, [opens_string, harmless]).replacements == harmless.replacements
    assert choose_edit(fill, parsed, [opens_string]) == NoEdit("found no fill that adds no syntax error")
    assert choose_edit(fill, parsed, []) == NoEdit("the model wrote no fill here")
    # Close structure exists to remove an error: an edit that removes none is not one.
    cursor = text.index("+ 1") + 3
    mending = Mending(problem_to_close(parsed, cursor), cursor)
    closing = choose_edit(ActionKind.CLOSE_STRUCTURE, parsed, [harmless], mending)
    assert closing == NoEdit("found no fill here after which the syntax error nearest the cursor is gone")
    closes = candidate(parsed, (Replacement(cursor, cursor, ")"),), -3.0)
    assert choose_edit(ActionKind.CLOSE_STRUCTURE, parsed, [harmless, closes], mending).parses


def test_close_structure_never_mends_another_error_in_place_of_the_one_at_the_cursor():
    # Each a problem of its own: closing the other `[` took one from the count as closing the cursor's `(` did, and
    # the surer fill won, two functions away from the cursor.
    text = "function f(x) {\n  return g(x, 1;\n}\n\nfunction h(y) {\n  return [y, 2;\n}\n"
    parsed = parsed_text("javascript", text)
    cursor, other = text.index("x, 1") + 4, text.index("y, 2") + 4
    elsewhere = candidate(parsed, (Replacement(other, other, "]"),), 0.0)
    here = candidate(parsed, (Replacement(cursor, cursor, ")"),), -1.0)
    assert elsewhere.problems == here.problems == problem_count(parsed.tree) - 1
    closing, mending = ActionKind.CLOSE_STRUCTURE, Mending(problem_to_close(parsed, cursor), cursor)
    assert choose_edit(closing, parsed, [elsewhere], mending) == NoEdit(
        "found no fill here after which the syntax error nearest the cursor is gone")
    assert choose_edit(closing, parsed, [elsewhere, here], mending).replacements == here.replacements
    # One ERROR for both, begun at the other: closing that one leaves the cursor's `(` open all the same.
    text = "def h(y):\n    return [y, 2\n\n\nz = (1 + 2\n"
    parsed = parsed_text("python", text)
    cursor, other = len(text) - 1, text.index("y, 2") + 4
    assert problem_count(parsed.tree) == 1
    elsewhere = candidate(parsed, (Replacement(other, other, "]"),), 0.0)
    assert choose_edit(closing, parsed, [elsewhere], Mending(problem_to_close(parsed, cursor), cursor)) == NoEdit(
        "found no fill here after which the syntax error nearest the cursor is gone")


def test_close_structure_never_adds_a_closer_that_nothing_opened():
    # `):` after `class Point(Base)` took the parse from two errors to one: a `)` with no `(` closes nothing.
    text = 'import os\n\n\nclass Point(Base)\n    """Doc."""\n\n\nprint(os.name)\n'
    parsed = parsed_text("python", text)
    at = text.index("(Base)") + len("(Base)")
    stray = candidate(parsed, (Replacement(at, at, "):"),), 0.0)
    assert stray.problems < problem_count(parsed.tree)
    closing, mending = ActionKind.CLOSE_STRUCTURE, Mending(problem_to_close(parsed, at), at)
    assert choose_edit(closing, parsed, [stray], mending) == NoEdit(
        "found no fill here after which the syntax error nearest the cursor is gone")
    colon = candidate(parsed, (Replacement(at, at, ":"),), -1.0)
    assert choose_edit(closing, parsed, [stray, colon], mending).replacements == colon.replacements


def test_an_edit_holding_a_character_the_model_broke_is_never_chosen():
    text = 'GREETING = {"zh": "ni hao"}\n\ndef greet():\n    ...\n'
    parsed = parsed_text("python", text)
    at = text.index("...")
    broken = candidate(parsed, (Replacement(at, at + 3, 'return "\u4f60\ufffd"'),), -0.1)
    whole = candidate(parsed, (Replacement(at, at + 3, 'return "\u4f60\u597d"'),), -2.0)
    fill = ActionKind.FILL_PLACEHOLDERS
    assert choose_edit(fill, parsed, [broken, whole]).replacements == whole.replacements
    assert choose_edit(fill, parsed, [broken]) == NoEdit(
        "the model broke a character (U+FFFD) in every fill it wrote here")
    # A file that holds U+FFFD itself may get it back.
    own = 'BAD = "\ufffd"\n\ndef greet():\n    ...\n'
    parsed = parsed_text("python", own)
    at = own.index("...")
    assert choose_edit(fill, parsed, [candidate(parsed, (Replacement(at, at + 3, 'return "\ufffd"'),), -0.1)]).parses


def _applied(edit, text):
    from infill_ls.actions import NoEdit
    from infill_ls.syntax import apply_replacements

    return edit.reason if isinstance(edit, NoEdit) else apply_replacements(text, list(edit.replacements))


def test_a_rewrite_keeps_the_line_break_the_selection_starts_with():
    # Selected with shift+down from the end of `def f(x):`; the line break went, and the body joined the header.
    from infill_ls.actions import rewrite_selection

    text = "def f(x):\n    y = x + 1\n    return y\n"
    start, end = text.index(":\n") + 1, text.index("\n", text.index("y = x"))
    edit = rewrite_selection(parsed_text("python", text), start, end,
                             Request(WritesFills(["\n    y = x * 2"]), Settings(file_lookup=False)))
    assert _applied(edit, text) == "def f(x):\n    y = x * 2\n    return y\n"


def test_placeholders_are_a_stub_after_its_docstring_and_a_todo_word_and_keep_their_line_break():
    from infill_ls.actions import fill_placeholders

    settings = Settings(file_lookup=False)
    # `pass` after a docstring is the body's only code: the commonest Python stub.
    text = 'def area(r):\n    """Area of a circle of radius r."""\n    pass\n'
    assert [text[a:b] for a, b in find_placeholders(parsed_text("python", text), text.index("pass"))] == ["pass"]
    # AUTODOC is no TODO.
    text = "def f(x):\n    # AUTODOC: keep this comment\n    return x\n"
    assert find_placeholders(parsed_text("python", text), text.index("return")) == []
    # A Rust doc comment holds its line break; the statement after it kept its own line only once that went.
    text = "fn f() {\n    /// TODO doc\n    let x = 1;\n}\n"
    edit = fill_placeholders(parsed_text("rust", text), text.index("let"), Request(WritesFills(["let y = 2;"]), settings))
    assert _applied(edit, text) == "fn f() {\n    let y = 2;\n    let x = 1;\n}\n"


@pytest.mark.parametrize("language_id, text, expected", [
    # The `>`s alone leave the `;` the statement owes: the file parsed only after a second Close structure.
    ("rust", "fn main() {\n    let v: Vec<Vec<i32|\n}\n", "fn main() {\n    let v: Vec<Vec<i32>>;\n}\n"),
    ("rust", "type Grid = Vec<Vec<i32|\n", "type Grid = Vec<Vec<i32>>;\n"),
    ("cpp", "using Grid = std::vector<std::vector<int|\n", "using Grid = std::vector<std::vector<int>>;\n"),
    # Wherever the cursor stands on the line: before the type's end, the `>`s went there (`Vec<>Vec<i32`).
    ("rust", "fn main() {\n    let v: Vec<|Vec<i32\n}\n", "fn main() {\n    let v: Vec<Vec<i32>>;\n}\n"),
    ("cpp", "using Grid = std::vector<|std::vector<int\n", "using Grid = std::vector<std::vector<int>>;\n"),
])
def test_closed_type_arguments_end_their_statement_where_it_owes_a_semicolon(language_id, text, expected):
    cursor = text.index("|")
    text = text.replace("|", "")
    edit = close_structure(parsed_text(language_id, text), cursor, Request(WritesFills(), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit
    assert edit.parses and apply_replacements(text, list(edit.replacements)) == expected


def test_a_type_alone_gets_no_semicolon_that_declares_nothing():
    # `std::map<int, std::map<int, int>>;` parses as a statement, but g++ refuses it: nothing is declared.
    text = "#include <map>\nstd::map<int, std::map<int, int\n"
    edit = close_structure(parsed_text("cpp", text), len(text) - 1, Request(WritesFills(), Settings(file_lookup=False)))
    assert isinstance(edit, NoEdit) or not any(";" in r.text for r in edit.replacements)


@pytest.mark.parametrize("text, cursor_at, found", [
    # A `pass` that is all of a function or a method stands in for its body.
    ("def f(x):\n    pass\n", "pass", ["pass"]),
    ("class A:\n    def f(self):\n        pass\n", "pass", ["pass"]),
    # Beside a TODO comment in its block, it holds the place the comment asks to fill, one place with the comment.
    ("def f(x):\n    if x:\n        # TODO: handle x\n        pass\n    return 1\n", "return",
     ["# TODO: handle x\n        pass"]),
    # Elsewhere it is code: an exception deliberately ignored, a line deliberately skipped.
    ("def load(path):\n    # TODO: validate the path\n    try:\n        return read(path)\n"
     "    except FileNotFoundError:\n        pass\n    return None\n", "try", ["# TODO: validate the path"]),
    ("class Config:\n    def load(self, path):\n        for line in open(path):\n            if line.startswith('#'):\n"
     "                pass\n            else:\n                self.parse(line)\n        # TODO: check required keys\n",
     "for line", ["# TODO: check required keys"]),
    ("def f(x):\n    if x:\n        pass\n    return 1\n", "return", []),
])
def test_a_pass_is_a_placeholder_as_a_whole_function_or_beside_a_todo(text, cursor_at, found):
    assert [text[a:b] for a, b in find_placeholders(parsed_text("python", text), text.index(cursor_at))] == found


def test_a_fill_that_writes_a_placeholder_back_is_not_applied():
    from infill_ls.actions import fill_placeholders

    def filled(language_id, text, cursor_at, *fills):
        edit = fill_placeholders(parsed_text(language_id, text), text.index(cursor_at),
                                 Request(WritesFills(*fills), Settings(file_lookup=False)))
        return _applied(edit, text)

    written_back = "the model wrote the placeholder back; nothing was applied"
    assert filled("python", "def f(x): ...\n", "def f", ["..."]) == written_back
    ts = "class A {\n  make(): void {\n    throw new Error(\"Not implemented\");\n  }\n}\n"
    assert filled("typescript", ts, "Not", ['throw new Error("not implemented implemented");']) == written_back
    assert filled("python", "def f(x):\n    # TODO: add one\n    pass\n", "pass", ["# TODO: add one\n    pass"]) == \
        written_back
    # Of two holes, the one filled with code goes in; the one written back stays as it was.
    text = "def f(x):\n    # TODO: add one\n    y = 2\n    return ...\n"
    assert filled("python", text, "y = 2", ["# TODO: add one", "x + 1"]) == text.replace("...", "x + 1")
    # Of two candidates, the one with code.
    assert filled("python", "def f(x): ...\n", "def f", ["..."], ["return x"]) == "def f(x): return x\n"
    # The default value returned after a TODO, alone: the TODO note went, and nothing was written.
    go = "package m\n\nfunc Max(a, b int) int {\n\t// TODO: return the larger\n\treturn 0\n}\n"
    assert filled("go", go, "return 0", ["return 0"]) == written_back
    assert filled("go", go, "return 0", ["return  0"], ["if a > b {\n\t\treturn a\n\t}\n\treturn b"]) == \
        go.replace("// TODO: return the larger\n\treturn 0", "if a > b {\n\t\treturn a\n\t}\n\treturn b")


@pytest.mark.parametrize("language_id, text, cursor_at, reason", [
    ("ruby", "def add(a, b)\n  # TODO: add them\nend\n", "# TODO",
     "the file is read as plain text (no grammar for ruby); this action needs one to find placeholders"),
    ("markdown", "# Notes\n\nTODO: write them\n", "TODO",
     "the file is read as plain text (no grammar for markdown); this action needs one to find placeholders"),
    ("python", "def f():\n    ...\n" + "x = 1\n" * 200_000, "...",
     "the file is read as plain text (over 1,000,000 characters); this action needs its parse to find placeholders"),
    ("python", "# TODO: parse the arguments\nimport sys\n\n\ndef main():\n    return 0\n", "TODO",
     "the cursor is not in a function (placeholders are filled in the function around it)"),
])
def test_fill_placeholders_says_why_it_has_nothing_to_fill(language_id, text, cursor_at, reason):
    from infill_ls.actions import fill_placeholders

    edit = fill_placeholders(parsed_text(language_id, text), text.index(cursor_at),
                             Request(WritesFills(["x"]), Settings(file_lookup=False)))
    assert edit == NoEdit(reason)


@pytest.mark.parametrize("language_id, text, found", [
    ("python", "class Shape:\n    @property\n    def area(self):\n        ...\n", "..."),
    ("python", "@cache\n@trace(level=2)\ndef area(r):\n    pass\n", "pass"),
    ("typescript", "class A {\n  @dec()\n  make(): void {\n    throw new Error(\"not implemented\");\n  }\n}\n",
     'throw new Error("not implemented");'),
])
def test_a_decorators_line_is_in_the_function_it_decorates(language_id, text, found):
    from infill_ls.actions import ActionKind, available

    parsed = parsed_text(language_id, text)
    for line in (line for line in text.split("\n") if line.strip().startswith("@")):
        at = text.index(line) + len(line) - 2
        assert [text[a:b] for a, b in find_placeholders(parsed, at)] == [found]
        assert ActionKind.FILL_PLACEHOLDERS in available(parsed, at, at)
    # A decorated class is no function.
    text = "@dataclass\nclass A:\n    def f(self):\n        pass\n"
    assert find_placeholders(parsed_text("python", text), 2) == []



@pytest.mark.parametrize("language_id, text, cursor, found", [
    # Right after typing the stub: the function ends at its last token, so the cursor past it was in the module.
    ("python", "def area(r):\n    pass\n\nx = 1\n", "pass|", "pass"),
    ("python", "def area(r):\n    return ...  \n", "...  |", "..."),
    ("python", "class Shape:\n    def area(self, r):\n        raise NotImplementedError\n", "NotImplementedError|",
     "raise NotImplementedError"),
    ("python", "def area(r): ...\n", "...|", "..."),
    # In the indentation before a method's header (Home twice; Neovim's :InfillFillPlaceholders sends column 0).
    ("python", "class Shape:\n    def area(self, r):\n        ...\n", "|    def area", "..."),
    ("java", "class A {\n    double area(double r) {\n        // TODO: compute\n    }\n}\n", "|    double area",
     "// TODO: compute"),
    # On the `export` before it: the function is the export statement's declaration, not its parent.
    ("typescript", "export function area(r: number): number {\n  throw new Error(\"not implemented\");\n}\n",
     "|export", 'throw new Error("not implemented");'),
])
def test_fill_placeholders_is_offered_where_editors_leave_the_cursor_on_the_function(language_id, text, cursor,
                                                                                      found):
    from infill_ls.actions import ActionKind, available

    at = text.index(cursor.replace("|", "")) + cursor.index("|")
    parsed = parsed_text(language_id, text)
    assert [text[a:b] for a, b in find_placeholders(parsed, at)] == [found]
    assert ActionKind.FILL_PLACEHOLDERS in available(parsed, at, at)


def test_fill_placeholders_is_not_offered_past_the_function_or_on_another_line():
    text = "def area(r):\n    pass\n\nx = 1\n"
    parsed = parsed_text("python", text)
    for at in (text.index("\nx") , text.index("x = 1"), len(text)):
        assert find_placeholders(parsed, at) == [], at

def _rewritten(language_id, text, first, last, fill, **settings):
    """`text` once the model's `fill` rewrites the lines from the one holding `first` (from its column 0) to the end
    of `last`."""
    from infill_ls.actions import rewrite_selection

    start = text.rfind("\n", 0, text.index(first)) + 1
    end = text.index(last) + len(last)
    edit = rewrite_selection(parsed_text(language_id, text), start, end,
                             Request(WritesFills([fill]), Settings(file_lookup=False, **settings)))
    return _applied(edit, text)


JS_LOOP = ("function f(items) {\n    let n = 0;\n    for (const x of items) {\n        n += x;\n    }\n"
           "    return n;\n}\n")


@pytest.mark.parametrize("fill", [
    "for (const x of items) {\n    n += x.size;\n}",  # from column 0
    "        for (const x of items) {\n            n += x.size;\n        }",  # a step deeper than the selection
    "    for (const x of items) {\n        n += x.size;\n    }",  # at the selection's own depth
])
def test_a_rewrite_keeps_each_line_at_its_depth_below_the_first(fill):
    # Only the first line was put at the selection's depth: the body stood at the loop's column, `}` at column 0.
    new = _rewritten("javascript", JS_LOOP, "for (const", "    }", fill)
    assert new == JS_LOOP.replace("n += x;", "n += x.size;")


def test_a_rewrite_after_the_selections_indentation_keeps_the_columns_the_model_wrote():
    # Selected from `for`: the model goes on from the line's indentation, and writes the later lines at the file's
    # columns.
    from infill_ls.actions import rewrite_selection

    start, end = JS_LOOP.index("for (const"), JS_LOOP.index("    }") + len("    }")
    fill = "for (const x of items) {\n        n += x.size;\n    }"
    edit = rewrite_selection(parsed_text("javascript", JS_LOOP), start, end,
                             Request(WritesFills([fill]), Settings(file_lookup=False)))
    assert _applied(edit, JS_LOOP) == JS_LOOP.replace("n += x;", "n += x.size;")


def test_a_python_rewrite_of_a_block_stays_python():
    # tree-sitter takes `for x in items:` with its body at the loop's column; Python raised IndentationError.
    text = "def f(items):\n    n = 0\n    for x in items:\n        n += x\n    return n\n"
    new = _rewritten("python", text, "for x in", "n += x", "for x in items:\n    n += x.size")
    assert new == text.replace("n += x\n", "n += x.size\n")
    compile(new, "t.py", "exec")


def test_a_rewrite_in_a_tab_indented_file_takes_tabs_below_its_first_line():
    text = "func f(items []int) int {\n\tn := 0\n\tfor _, x := range items {\n\t\tn += x\n\t}\n\treturn n\n}\n"
    new = _rewritten("go", text, "for _, x", "\t}", "for _, x := range items {\n    n += x * 2\n}")
    assert new == text.replace("n += x\n", "n += x * 2\n")


def test_a_selection_longer_than_maxholetokens_allows_is_refused_naming_the_setting():
    # The limit was put on the model: "the model rewrites at most 32", with a canvas of 200.
    text = "total = 0\n" + "total += 1\n" * 20
    reason = _rewritten("python", text, "total = 0", text.rstrip(), "total = 1", max_hole_tokens=8)
    assert reason == (f"the selection is {len(text.rstrip()) // 3} tokens and a rewrite takes at most 32 "
                      "(4 x maxHoleTokens); select less or raise maxHoleTokens")
    # Where the model's canvas is what limits it, the model is named.
    text = "total = 0\n" + "total += 1\n" * 60
    reason = _rewritten("python", text, "total = 0", text.rstrip(), "total = 1", max_hole_tokens=64)
    assert reason == f"the selection is {len(text.rstrip()) // 3} tokens and the model rewrites at most 200 at once; " \
                     "select less"


LOOP_FUNCTION = ("import os\n\n\ndef total(items):\n    s = 0\n    for it in items:\n        s += it.price\n"
                 "    return s\n")


@pytest.mark.parametrize("first, last, fill", [
    # A header rewritten as a statement: its body stays indented below with nothing to be indented under.
    ("def total", "def total(items):", "__all__ = []"),
    ("def total", "def total(items):", "class Total:"),  # and its `return` left outside a function
    ("    for it", "for it in items:", "print(items)"),
    # A statement rewritten as a header: nothing is indented below it.
    ("    return s", "return s", "else:"),
])
def test_a_python_rewrite_that_breaks_the_indentation_is_never_applied(first, last, fill):
    # tree-sitter-python parses each of these without an error; Python raises IndentationError or SyntaxError.
    assert _rewritten("python", LOOP_FUNCTION, first, last, fill) == "found no rewrite that adds no syntax error"


def test_the_layout_check_reads_only_the_statements_an_edit_touches_and_adds_nothing_to_code_python_did_not_read():
    from infill_ls.syntax import problems_after

    # The first function does not compile (half typed): a fill there that leaves it so adds no problem, and one in
    # the second function is checked on its own.
    text = "def f(x):\n    if x\n\n\n" + LOOP_FUNCTION.replace("import os\n\n\n", "")
    parsed = parsed_text("python", text)
    before = problem_count(parsed.tree)
    at = text.index("if x") + 4
    assert problems_after(parsed, [Replacement(at, at, " >")]) == before
    ret = text.index("return s")
    assert problems_after(parsed, [Replacement(ret, ret + len("return s"), "else:")]) == before + 1
    assert problems_after(parsed, [Replacement(ret, ret + len("return s"), "return -s")]) == before
    # A fill that Python reads as it read the file before is none.
    assert _rewritten("python", LOOP_FUNCTION, "    return s", "return s", "return s * 2") == \
        LOOP_FUNCTION.replace("return s", "return s * 2")


def test_a_rewrite_that_writes_the_selection_back_is_no_edit():
    text = "function f(a) {\n  return a + 1;\n}\n"
    assert _rewritten("javascript", text, "  return", "a + 1;", "return a + 1;") == \
        "the model wrote the selection back unchanged"
    # Beside a real rewrite, the unchanged one does not win for parsing as surely as it did before.
    from infill_ls.actions import rewrite_selection

    start, end = text.index("  return"), text.index("a + 1;") + len("a + 1;")
    edit = rewrite_selection(parsed_text("javascript", text), start, end,
                             Request(WritesFills(["return a + 1;"], ["return a + 2;"]), Settings(file_lookup=False)))
    assert _applied(edit, text) == text.replace("a + 1", "a + 2")


NO_CODE = "found no rewrite that writes code (the model wrote a lone name or keyword, a placeholder or a comment in " \
          "its place)"
FLUSHING = ('import os\n\n\nclass Log:\n    def close(self, msg):\n        self.flush()\n'
            '        os.environ["QT_API"] = "pyqt5"\n        raise ValueError(msg)\n')


def _rewrite(language_id, text, selected, *fills):
    """`text` once the model's candidates `fills` rewrite `selected`, or why it is not."""
    from infill_ls.actions import rewrite_selection

    start = text.index(selected)
    edit = rewrite_selection(parsed_text(language_id, text), start, start + len(selected),
                             Request(WritesFills(*fills), Settings(file_lookup=False)))
    return _applied(edit, text)


@pytest.mark.parametrize("language_id, text, selected, fill", [
    ("python", FLUSHING, "self.flush()", "self.file"),
    ("python", FLUSHING, "self.flush()", "None"),
    ("python", FLUSHING, "raise ValueError(msg)", "return"),
    ("python", FLUSHING, "raise ValueError(msg)", "pass"),
    ("python", FLUSHING, 'os.environ["QT_API"] = "pyqt5"', "#"),
    ("python", FLUSHING, 'os.environ["QT_API"] = "pyqt5"', "..."),
    ("python", FLUSHING, 'os.environ["QT_API"] = "pyqt5"', '"""\n# break sleep\n"""'),
    ("python", FLUSHING, 'self.flush()\n        os.environ["QT_API"] = "pyqt5"', "self._write"),
    ("javascript", "function total(cart) {\n  let off = 0;\n  return cart;\n}\n", "return cart;", "//"),
    ("javascript", "function total(cart) {\n  let off = 0;\n  return cart;\n}\n", "let off = 0;", "this.off;"),
])
def test_a_rewrite_that_writes_no_code_in_place_of_code_is_no_edit(language_id, text, selected, fill):
    # Each parses, and replaced the statement with nothing that does anything.
    assert _rewrite(language_id, text, selected, [fill]) == NO_CODE


def test_a_rewrite_that_writes_no_code_gives_way_to_one_that_does():
    assert _rewrite("python", FLUSHING, "self.flush()", ["self.file"], ["self.flush(force=True)"]) == \
        FLUSHING.replace("self.flush()", "self.flush(force=True)")


@pytest.mark.parametrize("text, selected, fill", [
    # What was selected was prose, or a value where one name stands for another: prose and names are what it holds.
    ("def f(x):\n    # add one\n    return x + 1\n", "# add one", "# the next number"),
    ('def f(x):\n    """Add one."""\n    return x + 1\n', '"""Add one."""', '"""The next number."""'),
    ("def f(x, y):\n    return g(x + y)\n", "x + y", "y"),
    ("def f(x):\n    for y in x:\n        break\n", "break", "continue"),
])
def test_a_rewrite_of_prose_or_of_a_value_may_write_prose_or_a_name(text, selected, fill):
    assert _rewrite("python", text, selected, [fill]) == text.replace(selected, fill)


SUMMING = "function sum(xs) {\n  let t = 0;\n  for (const x of xs) {\n    t += x;\n  }\n  return t;\n}\n"
ECHOED = "found no rewrite but the line before or after the selection written again"


@pytest.mark.parametrize("selected, fill", [
    # The line after the selection, or the line before it, in the selection's place: it parses, and says it twice.
    ("let t = 0;\n  for (const x of xs) {\n    t += x;\n  }\n", "return t;"),
    ("let t = 0;\n  for (const x of xs) {\n    t += x;\n  }\n", "let t = xs.reduce((a, b) => a + b, 0);\n  return t;"),
])
def test_a_rewrite_that_writes_the_line_beside_the_selection_again_is_no_edit(selected, fill):
    assert _rewrite("javascript", SUMMING, selected, [fill]) == ECHOED
    assert _rewrite("python", FLUSHING, 'os.environ["QT_API"] = "pyqt5"', ["self.flush()"]) == ECHOED


def test_a_rewrite_that_writes_the_line_beside_it_gives_way_to_one_that_does_not():
    selected = "let t = 0;\n  for (const x of xs) {\n    t += x;\n  }\n"
    fill = "const t = xs.reduce((a, b) => a + b, 0);"
    assert _rewrite("javascript", SUMMING, selected, ["return t;"], [fill]) == SUMMING.replace(selected, fill + "\n")


GO_SUM = "package sum\n\nfunc Sum(xs []int) int {\n\tt := 0\n\tfor _, x := range xs {\n\t\tt += x\n\t}\n\treturn t\n}\n"
C_SUM = "int sum(int *xs, int n) {\n    int t = 0;\n    for (int i = 0; i < n; i++) {\n        t += xs[i];\n    }\n    return t;\n}\n"
NAMES = "found no rewrite that keeps to the file's names (the model's read a name nothing binds where the selection " \
        "read none, or left out one the code defines or the rest of the file reads)"
TOTALS = ("def area(r):\n    return 3.14 * r * r\n\n\ndef total(items):\n    s = 0\n    for it in items:\n"
          "        s += it\n    return s\n\n\nprint(total([1, 2, 3]))\n")


@pytest.mark.parametrize("language_id, text, selected, fill", [
    # The whole file, rewritten as something else: its functions are gone.
    ("python", TOTALS, TOTALS.rstrip(), "import _ir"),
    # A function renamed, and the call below left reading the old name.
    ("python", TOTALS, TOTALS[TOTALS.index("def area"):TOTALS.index("\n\n\ndef total")], "def size(r):\n    return r"),
    ("javascript", "function area(r) {\n  return r * r;\n}\n\nconsole.log(area(2));\n",
     "function area(r) {\n  return r * r;\n}", "function size(r) {\n  return r * r;\n}"),
    # The loop's binding rewritten away above the `return` that reads it.
    ("python", TOTALS, "s = 0\n    for it in items:\n        s += it", "assert items"),
    # A parameter or an import the code below still reads, dropped.
    ("python", TOTALS, "(items)", "()"),
    ("python", "import os\n\n\ndef home():\n    return os.getcwd()\n", "import os", "import sys"),
    # A name read that nothing binds, where the selection read none.
    ("python", TOTALS, "s = 0\n    for it in items:\n        s += it", "s = sum(stems[i] for i in items)"),
    ("javascript", SUMMING, "t += x;", "t += y;"),
    # A local the function reads below, declared by the selection alone.
    ("javascript", SUMMING, "let t = 0;", "const s = 0;"),
    ("go", GO_SUM, "t := 0", "n := 0"),
    ("c", C_SUM, "int t = 0;", "int n = 0;"),
])
def test_a_rewrite_that_breaks_the_files_names_is_no_edit(language_id, text, selected, fill):
    assert _rewrite(language_id, text, selected, [fill]) == NAMES


def test_a_rewrite_that_keeps_the_files_names_is_applied_and_given_way_to():
    loop = "s = 0\n    for it in items:\n        s += it"
    assert _rewrite("python", TOTALS, loop, ["s = sum(items)"]) == TOTALS.replace(loop, "s = sum(items)")
    # A broken one gives way to one that is not.
    assert _rewrite("python", TOTALS, loop, ["assert items"], ["s = sum(items)"]) == \
        TOTALS.replace(loop, "s = sum(items)")
    # A function rewritten whole under its own name, and the whole file with its names kept.
    area = "def area(r):\n    return 3.14 * r * r"
    assert _rewrite("python", TOTALS, area, ["def area(r):\n    return r * r"]) == \
        TOTALS.replace(area, "def area(r):\n    return r * r")
    whole = TOTALS.rstrip()
    kept = whole.replace("3.14", "3.1416")
    assert _rewrite("python", TOTALS, whole, [kept]) == kept + "\n"
    # A local declared again as it was, or one nothing else reads.
    assert _rewrite("javascript", SUMMING, "let t = 0;", ["let t = -0;"]) == SUMMING.replace("let t = 0;", "let t = -0;")
    assert _rewrite("go", GO_SUM, "t := 0", ["t := len(xs) * 0"]) == GO_SUM.replace("t := 0", "t := len(xs) * 0")
    loop = "for _, x := range xs {\n\t\tt += x\n\t}"
    assert _rewrite("go", GO_SUM, loop, ["for i := range xs {\n\t\tt += xs[i]\n\t}"]) == \
        GO_SUM.replace(loop, "for i := range xs {\n\t\tt += xs[i]\n\t}")


RUBY = "class Store\n  def find(sku)\n    @items.find { |item| item.sku == sku }\n  end\nend\n"
NOTES_MD = ("# Inventory service\n\nA small service that keeps track of items in a warehouse and reports\n"
            "which ones are running low.\n")


@pytest.mark.parametrize("language_id, text, first, last, fill", [
    # What the embedded model wrote in files no grammar reads: a few characters in place of the selection.
    ("ruby", RUBY, "  def find", "  end", "def items[tem] ="),
    ("markdown", NOTES_MD, "A small", "running low.", "#"),
    ("markdown", NOTES_MD, "A small", "running low.", "\"\"\""),
    ("plaintext", NOTES_MD, "A small", "running low.", "   2."),
])
def test_in_a_file_no_grammar_reads_a_rewrite_that_drops_most_of_the_selection_is_refused(
        language_id, text, first, last, fill):
    from infill_ls.actions import rewrite_selection

    start = text.rfind("\n", 0, text.index(first)) + 1
    end = text.index(last) + len(last)
    edit = rewrite_selection(parsed_text(language_id, text), start, end,
                             Request(WritesFills([fill]), Settings(file_lookup=False)))
    assert isinstance(edit, NoEdit) and "half the selection" in edit.reason, edit


@pytest.mark.parametrize("language_id, text, first, last, fill, expected", [
    ("ruby", RUBY, "  def find", "  end", "  def find(sku)\n    @items.detect { |item| item.sku == sku }\n  end",
     RUBY.replace(".find {", ".detect {")),
    # Shorter, but more than half of it.
    ("markdown", NOTES_MD, "A small", "running low.", "A small service that tracks a warehouse's items and reports "
     "those running low.", NOTES_MD.replace("A small service that keeps track of items in a warehouse and reports\n"
                                            "which ones are running low.", "A small service that tracks a "
                                            "warehouse's items and reports those running low.")),
])
def test_in_a_file_no_grammar_reads_a_rewrite_of_the_selection_is_made(language_id, text, first, last, fill, expected):
    assert _rewritten(language_id, text, first, last, fill) == expected


METHOD_THEN_TOP = "class A:\n    def f(self):\n        y = 1\n        return y\n\n\nx = A()\nprint(x)\n"


def test_rewrite_across_a_dedent_keeps_top_level_code_at_top_level():
    # Selected from the method's last line to the top-level `x = A()`; the model wrote top-level code at column 0:
    # rebased to the selection's first line, it moved into the method.
    start, end = METHOD_THEN_TOP.index("        return y"), METHOD_THEN_TOP.index("print")
    edit = rewrite_selection(parsed_text("python", METHOD_THEN_TOP), start, end,
                             Request(WritesFills(["x = A().f()\n"]), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit
    new = apply_replacements(METHOD_THEN_TOP, list(edit.replacements))
    assert "\nx = A().f()\nprint(x)\n" in new, new


NEXT_GO = "package p\n\nfunc (e *E) Next() *E {\n\tif p := e.next; p != nil {\n\t\treturn p\n\t}\n\treturn nil\n}\n\nfunc G() {}\n"


def test_rewrite_keeps_a_functions_closer_at_its_column():
    start = NEXT_GO.index("\treturn nil")
    end = NEXT_GO.index("}\n\nfunc G") + 2
    edit = rewrite_selection(parsed_text("go", NEXT_GO), start, end,
                             Request(WritesFills(["}\n"]), Settings(file_lookup=False)))
    new = apply_replacements(NEXT_GO, list(edit.replacements))
    assert "\t}\n}\n\nfunc G" in new, new


def test_rewrite_of_a_body_written_at_column_zero_still_goes_at_the_bodys_depth():
    text = "package p\n\nfunc F(x int) int {\n\tif x > 0 {\n\t\treturn 1\n\t}\n\treturn 0\n}\n"
    start, end = text.index("\tif x"), text.index("\treturn 0")
    edit = rewrite_selection(parsed_text("go", text), start, end,
                             Request(WritesFills(["if x < 0 {\n\treturn -1\n}\n"]), Settings(file_lookup=False)))
    new = apply_replacements(text, list(edit.replacements))
    assert "\tif x < 0 {\n\t\treturn -1\n\t}\n\treturn 0\n" in new, new


def test_rewrite_in_a_docstring_keeps_at_least_half_of_it():
    # The embedded model rewrote pygls' "Apply a ``None`` text change to the document" as "App": any text parses
    # in a docstring, so the syntax check passed it.
    text = 'def f():\n    """Apply a None text change to the document, provided for consistency."""\n    return 1\n'
    sel = "Apply a None text change to the document, provided for consistency."
    start = text.index(sel)
    edit = rewrite_selection(parsed_text("python", text), start, start + len(sel),
                             Request(WritesFills(["App"]), Settings(file_lookup=False)))
    assert isinstance(edit, NoEdit)
    assert "half the selection" in edit.reason


def test_rewrite_in_a_comment_may_reword_it():
    text = "// Walk the tree and collect every match, breadth first.\nfunction walk() {}\n"
    sel = "Walk the tree and collect every match, breadth first."
    start = text.index(sel)
    edit = rewrite_selection(parsed_text("javascript", text), start, start + len(sel),
                             Request(WritesFills(["Collect the matches of the tree, breadth first."]),
                                     Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit


@pytest.mark.parametrize("language_id, text, selected, fill", [
    # A `return` above the statements of its block, which then never run.
    ("javascript", "function group(todos) {\n  const groups = {};\n  let count = 0;\n  for (const todo of todos) {\n"
                   "    groups[todo.tag] = todo;\n    count += 1;\n  }\n  return groups;\n}\n",
     "groups[todo.tag] = todo;", "return groups;"),
    # A local its block declares already.
    ("c", "void f(int *data) {\n    int n = 0;\n    data[0] = n;\n}\n", "data[0] = n;", "int n = 1;"),
    # A `;` ending a Go line.
    ("go", "package p\n\nfunc f(x int) int {\n\ty := x + 1\n\treturn y\n}\n", "y := x + 1", "y := x + 2;"),
])
def test_rewrite_selection_refuses_a_rewrite_the_typing_checks_refuse(language_id, text, selected, fill):
    start = text.index(selected)
    edit = rewrite_selection(parsed_text(language_id, text), start, start + len(selected),
                             Request(WritesFills([fill]), Settings(file_lookup=False)))
    assert isinstance(edit, NoEdit) and edit.reason.startswith("found no rewrite that reads right"), edit


def test_rewrite_selection_is_not_refused_for_what_the_file_did_already():
    # An early `return` left above dead code while debugging: `return a + 1` in its place was refused as a jump.
    text = "def f(a):\n    return a\n    print('dead')\n"
    start = text.index("return a")
    edit = rewrite_selection(parsed_text("python", text), start, start + len("return a"),
                             Request(WritesFills(["return a + 1"]), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit


@pytest.mark.parametrize("text", ["def add(a, b):\n    return a + b\n" * 40, " " * 4000, "\n" * 500 + "x",
                                  "naïve = 'ü' * 3  # ünïcödé\r\n" * 60, "\t\t\t" * 300])
def test_a_texts_tokens_are_never_fewer_than_its_characters_over_the_longest_tokens(text):
    # What refuses a long selection by its length alone (`selection_size`): never one that the model would rewrite.
    lookup = WritesFills().tokenizer
    widest = lookup.longest_token_chars
    assert widest is not None
    characters = len(text) - text.count("\r\n")
    assert len(lookup.encode(text.replace("\r\n", "\n"))) >= characters / widest
