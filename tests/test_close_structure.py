"""Close structure and placeholder fills without the model: the closers the open brackets owe, placed so that the
file parses and means what the user wrote, and a fill after a header in a body of its own."""

import pytest

from engine.infill import HolesCandidate
from infill_ls.actions import (ActionKind, NoEdit, Request, available, close_structure, fill_placeholders,
                               nearest_problem, rewrite_selection, top_level)
from infill_ls.actions.closing import (_breaks_what_python_reads, _close_points, _closer_candidates, _goes_on,
                                       _left_open_near)
from infill_ls.actions.type_arguments import type_argument_closers
from infill_ls.settings import Settings
from infill_ls.syntax import (Replacement, apply_replacements, iter_problems, language_for, parses_cleanly,
                              problem_count)
from lsp_support import parsed_text, WritesFills

SETTINGS = Settings(file_lookup=False)




def _closed(language_id, text, cursor):
    """The text once Close structure's edit is made at ``cursor``, by a model that writes nothing."""
    edit = close_structure(parsed_text(language_id, text), cursor, Request(WritesFills(), SETTINGS))
    assert not isinstance(edit, NoEdit), edit
    return apply_replacements(text, list(edit.replacements))


def _after(text, marker):
    return text.index(marker) + len(marker)


@pytest.mark.parametrize(
    "language_id, text, cursor_after, expected",
    [
        # Closed before the comma, the call's last argument became a tuple.
        ("python", "import os\n\nresult = compute(\n    a,\n    b,\nprint(result)\n", "b,",
         "import os\n\nresult = compute(\n    a,\n    b,\n)\nprint(result)\n"),
        ("python", "import os\n\nitems = [\n    1,\n    2,\n\nprint(items)\n", "2,",
         "import os\n\nitems = [\n    1,\n    2,\n]\n\nprint(items)\n"),
        ("javascript", "const x = 1;\nconst items = [\n  1,\n  2,\n\nconsole.log(items);\n", "2,",
         "const x = 1;\nconst items = [\n  1,\n  2,\n]\n\nconsole.log(items);\n"),
        # On the opener's line a final comma ends the item the bracket is in.
        ("python", "config = dict(\n    a=f(1,\n    b=2,\n)\n", "f(1,", "config = dict(\n    a=f(1),\n    b=2,\n)\n"),
    ],
)
def test_a_trailing_comma_of_a_list_over_several_lines_stays_inside_it(language_id, text, cursor_after, expected):
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


def test_the_line_a_bracket_opens_at_its_end_is_no_place_to_close_it():
    text = "const x = 1;\nconst items = [\n  1,\n  2,\n\nconsole.log(items);\n"
    parsed = parsed_text("javascript", text)
    cursor = _after(text, "2,")
    problem = nearest_problem(parsed, cursor)
    assert _after(text, "[") not in _close_points(parsed, problem, top_level(problem), cursor)


@pytest.mark.parametrize(
    "language_id, text, cursor_after, expected",
    [
        ("javascript", "function f() {\n  items.forEach((x) => {\n    use(x);\n\n  return 1;\n}\n", "use(x);",
         "function f() {\n  items.forEach((x) => {\n    use(x);\n  });\n\n  return 1;\n}\n"),
        ("java", "class A {\n  void f() {\n    run(() -> {\n      go();\n\n    int y = 1;\n  }\n}\n", "go();",
         "class A {\n  void f() {\n    run(() -> {\n      go();\n    });\n\n    int y = 1;\n  }\n}\n"),
        ("cpp", "int f() {\n    std::for_each(a, b, [](int x) {\n        use(x);\n\n    return 0;\n}\n", "use(x);",
         "int f() {\n    std::for_each(a, b, [](int x) {\n        use(x);\n    });\n\n    return 0;\n}\n"),
    ],
)
def test_a_brace_inside_a_call_closes_before_the_call(language_id, text, cursor_after, expected):
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


def test_braces_closed_mid_line_go_after_the_rest_of_the_line():
    text = "function f() {\n  if (x) {\n    g(1;\n"
    assert _closed("javascript", text, _after(text, "g(1")) == "function f() {\n  if (x) {\n    g(1);\n  }\n}\n"
    text = "function f() {\n  g(1, 2\n"
    assert _closed("javascript", text, _after(text, "g(1")) == "function f() {\n  g(1, 2)\n}\n"


@pytest.mark.parametrize(
    "language_id, text, cursor_after, expected",
    [
        ("javascript", "import x from 'y';\n\nuseEffect(() => {\n  doIt();\n", "doIt();",
         "import x from 'y';\n\nuseEffect(() => {\n  doIt();\n});\n"),
        ("rust", "fn main() {\n    v.iter().for_each(|x| {\n        p(x);\n", "p(x);",
         "fn main() {\n    v.iter().for_each(|x| {\n        p(x);\n    });\n}\n"),
        ("python", "x = [1, 2, 3\nprint(x)\n", "3", "x = [1, 2, 3]\nprint(x)\n"),
    ],
)
def test_a_file_whose_root_is_an_error_is_closed_too(language_id, text, cursor_after, expected):
    parsed = parsed_text(language_id, text)
    cursor = _after(text, cursor_after)
    assert parsed.tree.root_node.is_error
    assert available(parsed, cursor, cursor)
    assert _closed(language_id, text, cursor) == expected


def test_a_root_error_with_nothing_below_it_is_the_problem_it_counts_as():
    parsed = parsed_text("javascript", "import x from 'y';\n\nuseEffect(() => {\n  doIt();\n")
    root = parsed.tree.root_node
    assert [n.type for n in iter_problems(root)] == ["ERROR"]
    assert problem_count(parsed.tree) == 1
    assert top_level(nearest_problem(parsed, 0)) == root


@pytest.mark.parametrize(
    "text, placeholder, fill, expected",
    [
        ("def f(x): ...\n", "...", "y = x * 2\n    return y", "def f(x):\n    y = x * 2\n    return y\n"),
        ("def f(x):\n    if x: ...\n    return x\n", "...", "y = 1\n        z = 2",
         "def f(x):\n    if x:\n        y = 1\n        z = 2\n    return x\n"),
        # One line stays where the placeholder was.
        ("def f(x): ...\n", "...", "return x", "def f(x): return x\n"),
    ],
)
def test_a_fill_of_several_lines_after_a_header_starts_a_body(text, placeholder, fill, expected):
    edit = fill_placeholders(parsed_text("python", text), text.index(placeholder), Request(WritesFills([fill]), SETTINGS))
    new = apply_replacements(text, list(edit.replacements))
    assert new == expected
    compile(new, "<fill>", "exec")


def test_closing_on_a_blank_last_line_leaves_no_blank_line_and_keeps_the_final_line_break():
    text = "function f() {\n  return 1;\n"
    assert _closed("javascript", text, len(text)) == "function f() {\n  return 1;\n}\n"


def test_an_initializer_list_brace_closes_on_its_line():
    text = "int main() {\n    int a[] = {1, 2;\n    return 0;\n}\n"
    new = _closed("c", text, _after(text, "1, 2"))
    assert new == "int main() {\n    int a[] = {1, 2};\n    return 0;\n}\n"
    assert parses_cleanly(language_for("c", ""), new)


def test_on_a_blank_line_each_closer_has_a_line_and_a_call_around_a_brace_keeps_its_semicolon():
    text = "run(function() {\n  items.forEach((x) => {\n    use(x);\n"
    assert _closed("javascript", text, len(text)) == text + "  });\n});\n"
    text = "function f() {\n  g(1\n"
    assert _closed("javascript", text, len(text)) == text + "  )\n}\n"


def test_python_braces_close_on_their_line_and_a_closer_at_a_lines_start_goes_there():
    # Python's braces are dicts, sets and f-string fields, never bodies: closed as bodies, on lines of their own,
    # they broke the string (held-out `f"{parameters.pop('height'` went unclosed).
    text = 'size = f"{parameters.pop(\'width\')}x{parameters.pop(\'height\'"\nnext_line = 1\n'
    at = text.index("'height'") + len("'height'")
    assert _closed("python", text, at) == text[:at] + ")}" + text[at:]
    # The cursor where the list's `)` stood, at the start of its line: the `)` goes there, not on a line of its own.
    text = "def f(\n    a: int,\n    b: int,\n -> int:\n    return a\n"
    at = text.index(" -> int")
    assert _closed("python", text, at) == text[:at] + ")" + text[at:]


@pytest.mark.parametrize("language_id, text, expected", [
    ("c", "int f(int x) {\n  return g(x, h(1, 2\n", "int f(int x) {\n  return g(x, h(1, 2));\n}\n"),
    ("cpp", "int f(int x) {\n  return g(x, h(1, 2\n", "int f(int x) {\n  return g(x, h(1, 2));\n}\n"),
    ("java", "class A {\n  int f(int x) {\n    return g(x, h(1, 2\n  }\n}\n",
     "class A {\n  int f(int x) {\n    return g(x, h(1, 2));\n  }\n}\n"),
    # Where the statement needs none, none is added; where it has one, not another.
    ("javascript", "function f(x) {\n  return g(x, h(1, 2\n}\n", "function f(x) {\n  return g(x, h(1, 2))\n}\n"),
    # Brackets and a body's brace closed at one place: no blank line between them.
    ("javascript", "function f(x) {\n  return g(x, h(1, 2\n", "function f(x) {\n  return g(x, h(1, 2))\n}\n"),
    ("c", "int f(int x) {\n  return g(x, h(1, 2;\n}\n", "int f(int x) {\n  return g(x, h(1, 2));\n}\n"),
])
def test_a_statement_the_closers_end_gets_the_semicolon_its_language_needs(language_id, text, expected):
    # The closers alone left C, C++ and Java one error short (`MISSING ";"`), and nothing was offered.
    assert _closed(language_id, text, _after(text, "1, 2")) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("rust", "fn main() {\n    let v = foo(1, 2 // two\n    let n = 3;\n}\n", "// two",
     "fn main() {\n    let v = foo(1, 2); // two\n    let n = 3;\n}\n"),
    ("java", "class A {\n  void f() {\n    go(1, 2 // args\n    int y = 1;\n  }\n}\n", "// args",
     "class A {\n  void f() {\n    go(1, 2); // args\n    int y = 1;\n  }\n}\n"),
    ("go", "package main\n\nfunc main() {\n\tfmt.Println(add(1, 2) // sum\n}\n", "// sum",
     "package main\n\nfunc main() {\n\tfmt.Println(add(1, 2)) // sum\n}\n"),
])
def test_closers_go_before_a_comment_that_ends_the_line(language_id, text, cursor_after, expected):
    # With the cursor at the end of the comment, the closers went after it: onto the next line, into the next
    # statement (`let n) = 3;`), or nowhere.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    # The user's next statement was pulled inside the literal (`use(a)};`), which parses.
    ("java", "class A {\n  void f() {\n    int[] a = {\n      1,\n      2,\n\n    use(a);\n  }\n}\n", "2,",
     "class A {\n  void f() {\n    int[] a = {\n      1,\n      2,\n    };\n\n    use(a);\n  }\n}\n"),
    ("rust", "fn main() {\n    let v = vec![\n        1,\n        2,\n\n    let n = 3;\n}\n", "2,",
     "fn main() {\n    let v = vec![\n        1,\n        2,\n    ];\n\n    let n = 3;\n}\n"),
    ("rust", "fn main() {\n    let x = match y {\n        Some(v) => v,\n        None => 0,\n\n    g(x);\n}\n",
     "None => 0,", "fn main() {\n    let x = match y {\n        Some(v) => v,\n        None => 0,\n    };\n\n    g(x);\n}\n"),
    ("c", "struct P p = {\n  .x = 1,\n  .y = 2,\n\n", ".y = 2,", "struct P p = {\n  .x = 1,\n  .y = 2,\n};\n\n"),
    ("java", "class A {\n  void f() {\n    Runnable r = () -> {\n      run(1\n  }\n}\n", "run(1",
     "class A {\n  void f() {\n    Runnable r = () -> {\n      run(1);\n    };\n  }\n}\n"),
    ("cpp", "enum Color {\n  RED,\n  GREEN,\n\nint x = 1;\n", "GREEN,", "enum Color {\n  RED,\n  GREEN,\n};\n\nint x = 1;\n"),
])
def test_a_statement_that_holds_what_is_closed_on_lines_of_their_own_gets_its_semicolon(
        language_id, text, cursor_after, expected):
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


def test_a_template_substitutions_brace_is_not_a_bracket_closed():
    # Its `}` was taken to close the call's `(`, and nothing was owed.
    text = "function f(n: number) {\n  console.log(`total: ${n}`, n + 1\n"
    assert _closed("typescript", text, _after(text, "n + 1")) == \
        "function f(n: number) {\n  console.log(`total: ${n}`, n + 1)\n}\n"


@pytest.mark.parametrize("fill", ["int y = x * 2;\n    return y;", "int y = x * 2;\nreturn y;",
                                  "int y = x * 2;\n  return y;", "int y = x * 2;\n    return y;\n}"])
def test_a_fill_of_a_one_line_brace_body_keeps_every_line_and_puts_the_closer_on_its_own(fill):
    # The `}` stayed after the last statement, and lines written at the header's column were cut as leaving the
    # body: `return y;` was lost.
    text = "int f(int x) { /* TODO */ }\n"
    edit = fill_placeholders(parsed_text("c", text), text.index("TODO"), Request(WritesFills([fill]), SETTINGS))
    assert apply_replacements(text, list(edit.replacements)) == "int f(int x) {\n    int y = x * 2;\n    return y;\n}\n"


@pytest.mark.parametrize("language_id, text, selected, fill, expected", [
    # The model's spaces kept in a tab-indented file.
    ("go", "package main\n\nfunc f(x int) int {\n\tif x > 0 {\n\t\treturn 1\n\t}\n\treturn 0\n}\n",
     "if x > 0 {\n\t\treturn 1\n\t}", "if x > 1 {\n        return 2\n    }",
     "package main\n\nfunc f(x int) int {\n\tif x > 1 {\n\t\treturn 2\n\t}\n\treturn 0\n}\n"),
    # Where the kinds agree the columns may be alignment: a comment's ` * `, kept as written.
    ("java", "class A {\n    /**\n     * Doc.\n     */\n    int f() {\n        return 1;\n    }\n}\n",
     "/**\n     * Doc.\n     */\n    int f() {\n        return 1;\n    }",
     "/**\n     * Doc.\n     */\n    int f() {\n        return 2;\n    }",
     "class A {\n    /**\n     * Doc.\n     */\n    int f() {\n        return 2;\n    }\n}\n"),
])
def test_a_rewrite_takes_the_files_indentation(language_id, text, selected, fill, expected):
    start = text.index(selected)
    edit = rewrite_selection(parsed_text(language_id, text), start, start + len(selected),
                             Request(WritesFills([fill]), SETTINGS))
    assert apply_replacements(text, list(edit.replacements)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after", [
    ("c", "int g(int x) {\n  while (next(x\n}\n", "next(x"),
    ("java", "class A {\n  void f() {\n    if (ok(x\n  }\n}\n", "ok(x"),
    ("javascript", "function f(x) {\n  if (ready(x\n}\n", "ready(x"),
])
def test_a_conditions_closers_never_get_a_semicolon_that_empties_its_body(language_id, text, cursor_after):
    # `if (ok(x));` parses: an if that does nothing, a while that never ends.
    edit = close_structure(parsed_text(language_id, text), _after(text, cursor_after), Request(WritesFills(), SETTINGS))
    assert isinstance(edit, NoEdit) or "));" not in apply_replacements(text, list(edit.replacements)), edit


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("typescript", "const m: Map<string, number = new Map();\n", "number",
     "const m: Map<string, number> = new Map();\n"),
    ("typescript", "function f(x: Array<number) {}\n", "number", "function f(x: Array<number>) {}\n"),
    ("rust", "fn f() -> Result<Vec<u8>, String {\n    todo!()\n}\n", "String",
     "fn f() -> Result<Vec<u8>, String> {\n    todo!()\n}\n"),
    ("java", "class A {\n  void f() {\n    List<String names = new ArrayList<>();\n  }\n}\n", "String",
     "class A {\n  void f() {\n    List<String> names = new ArrayList<>();\n  }\n}\n"),
    ("cpp", "int main() {\n  std::vector<int v;\n}\n", "<int", "int main() {\n  std::vector<int> v;\n}\n"),
])
def test_an_angle_bracket_the_parse_finds_missing_is_closed(language_id, text, cursor_after, expected):
    # `<` is also less-than, so it is no bracket the closers count; the parse names the `>` it misses.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


def test_the_model_s_close_comes_before_the_parses_guess():
    # The parse takes `Vec<Vec<i32` for `Vec<Vec<i32>` and puts the other `>` after `vec![]`, which parses too.
    text = "fn f() {\n    let v: Vec<Vec<i32 = vec![];\n}\n"
    cursor = _after(text, "i32")
    edit = close_structure(parsed_text("rust", text), cursor, Request(WritesFills([">>"]), SETTINGS))
    assert apply_replacements(text, list(edit.replacements)) == "fn f() {\n    let v: Vec<Vec<i32>> = vec![];\n}\n"


def test_a_stub_is_replaced_by_the_fill_and_the_message_names_each_languages_stubs():
    text = "fn f(x: i32) -> i32 {\n    todo!()\n}\n"
    edit = fill_placeholders(parsed_text("rust", text), text.index("x:"), Request(WritesFills(["x * 2"]), SETTINGS))
    assert apply_replacements(text, list(edit.replacements)) == "fn f(x: i32) -> i32 {\n    x * 2\n}\n"
    text = "fn f(x: i32) -> i32 {\n    x\n}\n"
    none = fill_placeholders(parsed_text("rust", text), text.index("x:"), Request(WritesFills(["1"]), SETTINGS))
    assert isinstance(none, NoEdit) and "`todo!()`" in none.reason
    text = "int f(int x) {\n  return x;\n}\n"
    none = fill_placeholders(parsed_text("cpp", text), text.index("x)"), Request(WritesFills(["1"]), SETTINGS))
    assert none == NoEdit("no placeholder in the function here (a TODO comment)")


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    # tree-sitter-cpp reads `names{` as a function named `names` with a body: its `}` went on a line of its own.
    ("cpp", "int main() {\n    std::vector<std::string> names{\"ada\", \"bob\";\n    return 0;\n}\n", "\"bob\"",
     "int main() {\n    std::vector<std::string> names{\"ada\", \"bob\"};\n    return 0;\n}\n"),
    ("cpp", "struct P { int x, y; };\nint main() {\n    P p{1, 2;\n    return p.x;\n}\n", "1, 2",
     "struct P { int x, y; };\nint main() {\n    P p{1, 2};\n    return p.x;\n}\n"),
    ("cpp", "int main() {\n    std::vector<int> v{1, 2, 3\n    return 0;\n}\n", "1, 2, 3",
     "int main() {\n    std::vector<int> v{1, 2, 3};\n    return 0;\n}\n"),
    ("cpp", "int main() {\n    f(P{1, 2;\n    return 0;\n}\n", "1, 2",
     "int main() {\n    f(P{1, 2});\n    return 0;\n}\n"),
    ("c", "int main(void) {\n    int xs[] = {1, 2, 3;\n    return xs[0];\n}\n", "1, 2, 3",
     "int main(void) {\n    int xs[] = {1, 2, 3};\n    return xs[0];\n}\n"),
    ("java", "class A {\n    int f() {\n        int[] xs = {1, 2, 3;\n        return xs[0];\n    }\n}\n", "1, 2, 3",
     "class A {\n    int f() {\n        int[] xs = {1, 2, 3};\n        return xs[0];\n    }\n}\n"),
])
def test_a_brace_initialiser_closes_on_its_line(language_id, text, cursor_after, expected):
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    # Only a single `>` is one the parse finds missing; for two, the file offered nothing.
    ("rust", "fn build() -> Vec<Vec<i32 {\n    Default::default()\n}\n", "i32",
     "fn build() -> Vec<Vec<i32>> {\n    Default::default()\n}\n"),
    ("rust", "fn build() -> HashMap<usize, Vec<String {\n    Default::default()\n}\n", "String",
     "fn build() -> HashMap<usize, Vec<String>> {\n    Default::default()\n}\n"),
    ("rust", "fn f() {\n    let v = x.iter().collect::<Vec<_();\n}\n", "_",
     "fn f() {\n    let v = x.iter().collect::<Vec<_>>();\n}\n"),
    ("typescript", "function f(x: Array<Array<number) {}\n", "number", "function f(x: Array<Array<number>>) {}\n"),
    ("java", "class A {\n  void f() {\n    List<List<String names = g();\n  }\n}\n", "String",
     "class A {\n  void f() {\n    List<List<String>> names = g();\n  }\n}\n"),
    ("cpp", "int main() {\n  std::vector<std::vector<int v;\n}\n", "<int",
     "int main() {\n  std::vector<std::vector<int>> v;\n}\n"),
])
def test_nested_type_arguments_are_closed(language_id, text, cursor_after, expected):
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


def _closed_at_bar(language_id, text, fills=()):
    """`_closed` with the cursor where ``text`` holds `|`, by a model that writes ``fills`` at every hole."""
    cursor = text.index("|")
    text = text.replace("|", "")
    edit = close_structure(parsed_text(language_id, text), cursor, Request(WritesFills(*fills), SETTINGS))
    assert not isinstance(edit, NoEdit), edit
    return apply_replacements(text, list(edit.replacements))


JAVA_MAP = "class A {\n  void f() {\n    Map<String, List<Integer m = new HashMap<>();%s\n  }\n}\n"
RUST_VEC = "fn f() {\n    let v: Vec<%sVec<%si32 = vec![];%s\n}\n"
TS_MAP = "let m: Map<%sstring, Array<number = new Map();%s\n"


@pytest.mark.parametrize("language_id, text, expected", [
    # An editor sends the cursor wherever it stands, most often at the end of the line just typed: the `>`s went
    # there (`vec![];>>`), or, where that could not parse, the file was offered nothing.
    ("java", JAVA_MAP % "|", JAVA_MAP.replace("Integer m", "Integer>> m") % ""),
    ("java", "class A {\n  void f() {\n    List<String names = new ArrayList<>();|\n  }\n}\n",
     "class A {\n  void f() {\n    List<String> names = new ArrayList<>();\n  }\n}\n"),
    ("cpp", "int main() {\n  std::map<int, std::string m;|\n}\n", "int main() {\n  std::map<int, std::string> m;\n}\n"),
    ("cpp", "int main() {\n  std::vector<int v;|\n}\n", "int main() {\n  std::vector<int> v;\n}\n"),
    ("cpp", "int main() {\n  std::vector<unsigned int v;|\n}\n", "int main() {\n  std::vector<unsigned int> v;\n}\n"),
    ("cpp", "int main() {\n  std::vector<const char* v;|\n}\n", "int main() {\n  std::vector<const char*> v;\n}\n"),
    ("rust", RUST_VEC % ("", "", "|"), "fn f() {\n    let v: Vec<Vec<i32>> = vec![];\n}\n"),
    ("rust", RUST_VEC % ("|", "", ""), "fn f() {\n    let v: Vec<Vec<i32>> = vec![];\n}\n"),
    ("rust", RUST_VEC % ("", "|", ""), "fn f() {\n    let v: Vec<Vec<i32>> = vec![];\n}\n"),
    ("rust", "fn f() {\n    let v = x.iter().collect::<Vec<_();|\n}\n",
     "fn f() {\n    let v = x.iter().collect::<Vec<_>>();\n}\n"),
    # An `=` in type arguments may bind an associated type.
    ("rust", "fn f() -> Box<dyn Iterator<Item = u32 {|\n    todo!()\n}\n",
     "fn f() -> Box<dyn Iterator<Item = u32>> {\n    todo!()\n}\n"),
    ("typescript", TS_MAP % ("", "|"), "let m: Map<string, Array<number>> = new Map();\n"),
    ("typescript", TS_MAP % ("|", ""), "let m: Map<string, Array<number>> = new Map();\n"),
    ("typescript", "function f(x: Array<Array<number) {}|\n", "function f(x: Array<Array<number>>) {}\n"),
])
def test_type_arguments_are_closed_after_their_type_wherever_the_cursor_stands_on_the_line(language_id, text,
                                                                                            expected):
    assert _closed_at_bar(language_id, text) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    # The model's fills at the place the parse finds wrong parsed too (`std::vector<int*> v;`, `List<String<List>
    # names`): the `>`s, which the closers' confidence ranks first, were at the end of the line, where none parses.
    ("cpp", "int main() {\n  std::vector<int v;|\n}\n", "int main() {\n  std::vector<int> v;\n}\n"),
    ("java", "class A {\n  void f() {\n    List<String names = new ArrayList<>();|\n  }\n}\n",
     "class A {\n  void f() {\n    List<String> names = new ArrayList<>();\n  }\n}\n"),
])
def test_type_arguments_closed_after_their_type_come_before_the_model_s_fill(language_id, text, expected):
    assert _closed_at_bar(language_id, text, fills=[["*>"], ["<List>"]]) == expected


@pytest.mark.parametrize("language_id, text", [
    ("java", "class A {\n  void f() {\n    if (a < b && c|\n  }\n}\n"),
    ("java", "class A {\n  void f() {\n    if (a<b && c|\n  }\n}\n"),
    ("cpp", "int main() {\n  if (a<b && c|\n}\n"),
    ("cpp", "int main() {\n  if (a<b && c) {|\n}\n"),
    ("rust", "fn main() {\n    if a<b && c {|\n}\n"),
    ("typescript", "if (a<b || c) {|\n"),
])
def test_a_less_than_never_gets_a_closing_angle_bracket(language_id, text):
    # Unspaced, `a<b` opened type arguments, and a `>` was tried at the end of the line (`if (a<b && c>`).
    cursor = text.rindex("|")
    text = text[:cursor] + text[cursor + 1 :]
    parsed = parsed_text(language_id, text)
    assert type_argument_closers(parsed, cursor) == ()
    edit = close_structure(parsed, cursor, Request(WritesFills(), SETTINGS))
    assert isinstance(edit, NoEdit) or not any(">" in r.text for r in edit.replacements), edit


@pytest.mark.parametrize("text, cursor_after, expected", [
    # tree-sitter-rust takes `assert_eq!(x, 3)` before another statement for a statement; rustc does not.
    ("fn main() {\n    let x = 3;\n    assert_eq!(x, 3\n    println!(\"ok\");\n}\n", "x, 3",
     "fn main() {\n    let x = 3;\n    assert_eq!(x, 3);\n    println!(\"ok\");\n}\n"),
    ("fn main() {\n    check![x, 3\n    let y = 1;\n}\n", "x, 3",
     "fn main() {\n    check![x, 3];\n    let y = 1;\n}\n"),
    # The block's last expression needs none.
    ("fn main() {\n    let x = 3;\n    assert_eq!(x, 3\n}\n", "x, 3",
     "fn main() {\n    let x = 3;\n    assert_eq!(x, 3)\n}\n"),
])
def test_a_macro_statement_closed_before_another_statement_gets_its_semicolon(text, cursor_after, expected):
    assert _closed("rust", text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("javascript", "function total(a) {\n  const b = scale(a;\n  return b + 1;\n", "return b + 1;\n",
     "function total(a) {\n  const b = scale(a);\n  return b + 1;\n}\n"),
    ("javascript", "function total(a) {\n  const b = scale(a;\n  return b + 1;\n", "scale(a",
     "function total(a) {\n  const b = scale(a);\n  return b + 1;\n}\n"),
    ("c", "int total(int a) {\n    int b = scale(a;\n    if (b > 0) {\n        return b;\n    }\n    return 0;\n",
     "return 0;",
     "int total(int a) {\n    int b = scale(a);\n    if (b > 0) {\n        return b;\n    }\n    return 0;\n}\n"),
    ("go", "package main\n\nfunc total(a int) int {\n\tb := scale(a\n\tif b > 0 {\n\t\treturn b\n\t}\n\treturn 0\n",
     "scale(a",
     "package main\n\nfunc total(a int) int {\n\tb := scale(a)\n\tif b > 0 {\n\t\treturn b\n\t}\n\treturn 0\n}\n"),
    ("java", "class A {\n    int f(int x) {\n        if (x > 0) {\n            return g(x;\n        }\n"
     "        return 0;\n    }\n", "g(x;",
     "class A {\n    int f(int x) {\n        if (x > 0) {\n            return g(x);\n        }\n"
     "        return 0;\n    }\n}\n"),
    # The braces owed at the cursor close after the statements their blocks hold, each where its block ends.
    ("javascript", "function f(xs) {\n  for (const x of xs) {\n    use(x;\n    more(x);\n\n  return 1;\n",
     "use(x", "function f(xs) {\n  for (const x of xs) {\n    use(x);\n    more(x);\n  }\n\n  return 1;\n}\n"),
])
def test_a_block_brace_closes_after_the_statements_its_block_holds(language_id, text, cursor_after, expected):
    # The function's `}` went where the call's `)` did, and the rest of its body ended up outside it, which parses.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    # tree-sitter-javascript takes the call's `(` for the one a later `}` closes: the function's `{` looked owed.
    ("javascript", "function total(items, rate) {\n  let sum = 0;\n  for (const item of items) {\n"
     "    sum += price(item, rate;\n  }\n  return sum;\n",
     "function total(items, rate) {\n  let sum = 0;\n  for (const item of items) {\n"
     "    sum += price(item, rate);\n  }\n  return sum;\n}\n"),
    ("c", "int total(int *items, int n) {\n    int sum = 0;\n    for (int i = 0; i < n; i++) {\n"
     "        sum += price(items[i];\n    }\n    return sum;\n",
     "int total(int *items, int n) {\n    int sum = 0;\n    for (int i = 0; i < n; i++) {\n"
     "        sum += price(items[i]);\n    }\n    return sum;\n}\n"),
])
def test_a_closer_closes_a_bracket_of_its_own_kind(language_id, text, expected):
    cursor = _after(text, "item, rate" if language_id == "javascript" else "items[i]")
    assert _closed(language_id, text, cursor) == expected


@pytest.mark.parametrize("language_id, text, markers, expected", [
    ("python", "def price(items):\n    total = sum(x.price for x in items\n    return round(total, 2\n",
     ["in items", "round(total, 2"],
     "def price(items):\n    total = sum(x.price for x in items)\n    return round(total, 2)\n"),
    ("go", "package main\n\nfunc f(xs []int) int {\n\tt := sum(xs\n\treturn round(t, 2\n}\n", ["sum(xs", "t, 2"],
     "package main\n\nfunc f(xs []int) int {\n\tt := sum(xs)\n\treturn round(t, 2)\n}\n"),
])
def test_brackets_left_open_on_two_lines_are_both_closed(language_id, text, markers, expected):
    # tree-sitter reports one error for both: closing either alone left as many, and nothing was offered.
    for marker in markers:
        assert _closed(language_id, text, _after(text, marker)) == expected, marker


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("java", "class T {\n    int f(int[] xs) {\n        int s = 0;\n        for (int x : xs {\n            s += x;\n"
     "        }\n        return s;\n    }\n}\n", "xs {",
     "class T {\n    int f(int[] xs) {\n        int s = 0;\n        for (int x : xs) {\n            s += x;\n"
     "        }\n        return s;\n    }\n}\n"),
    ("c", "int f(int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++ {\n        s += i;\n    }\n    return s;\n",
     "i++ {", "int f(int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++) {\n        s += i;\n    }\n"
     "    return s;\n}\n"),
])
def test_a_headers_bracket_closes_before_its_body_brace(language_id, text, cursor_after, expected):
    # Closed after the `{` at the cursor, the `)` went inside the body; tree-sitter-java names none missing there.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("java", "class A\n{\n    void each(Map<String, Integer> m)\n    {\n        m.forEach((k, v) ->\n        {\n"
     "            print(k);\n\n        names.clear();\n    }\n}\n", "print(k);",
     "class A\n{\n    void each(Map<String, Integer> m)\n    {\n        m.forEach((k, v) ->\n        {\n"
     "            print(k);\n        });\n\n        names.clear();\n    }\n}\n"),
    ("cpp", "void f()\n{\n    std::for_each(a, b, [](int x)\n    {\n        use(x);\n\n    return;\n}\n", "use(x);",
     "void f()\n{\n    std::for_each(a, b, [](int x)\n    {\n        use(x);\n    });\n\n    return;\n}\n"),
])
def test_an_allman_brace_below_a_call_leaves_the_call_open(language_id, text, cursor_after, expected):
    # The `{` on its own line at the call's indentation was taken for a line that ends the call: its `)` was not
    # owed, and the `}` alone left the file broken.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("javascript", "export default {\n  data() {\n    return { a: 1 };\n\n  methods: {\n    go() {\n      run();\n"
     "    },\n  },\n};\n", "return { a: 1 };",
     "export default {\n  data() {\n    return { a: 1 };\n  },\n\n  methods: {\n    go() {\n      run();\n"
     "    },\n  },\n};\n"),
    ("cpp", "class Cart {\npublic:\n    int total() const {\n        int sum = 0;\n        return sum;\n\nprivate:\n"
     "    int n_;\n};\n", "return sum;",
     "class Cart {\npublic:\n    int total() const {\n        int sum = 0;\n        return sum;\n    }\n\nprivate:\n"
     "    int n_;\n};\n"),
])
def test_a_property_is_no_label_and_an_access_specifier_ends_a_method(language_id, text, cursor_after, expected):
    # `methods: {` was read as a label, which ends no block: the `}` went below the next property. `private:`
    # stands left of the method's line: the method ends before it.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text", [
    ("cpp", "void f(int x) {\n    if (x > 0) {\n        g(1);\n     else {\n        g(2);\n    }\n}\n"),
    ("javascript", "function f(x) {\n  if (x > 0) {\n    g(1);\n   else {\n    g(2);\n  }\n}\n"),
])
def test_an_else_a_column_off_ends_the_block_above_it(language_id, text):
    # With `}` deleted from `} else {`, the line keeps the space after it. tree-sitter-cpp reads `else {` as a
    # compound literal, whose `{` closed on the line below; in JavaScript the `}` went nowhere.
    cursor = text.index(" else {")
    closed = _closed(language_id, text, cursor)
    assert "".join(closed.split()) == "".join(text[:cursor].split()) + "}" + "".join(text[cursor:].split())


def test_a_closer_is_not_written_into_a_string():
    text = 'lines = [\n    f"{i.name: {i.price}"\n    for i in items\n]\n'
    # `}]` after `i.name` parsed: the `]` went into the f-string's text, which Python rejects.
    assert _closed("python", text, _after(text, "i.name")) == 'lines = [\n    f"{i.name}: {i.price}"\n    for i in items\n]\n'


@pytest.mark.parametrize("language_id, text", [
    ("c", "int f(int a) {\n  int x = 0;\n  if (a) x = g(1\n  return x;\n}\n"),
    ("java", "class A {\n  int f(int a) {\n    int x = 0;\n    if (a > 0) x = g(1\n    return x;\n  }\n}\n"),
])
def test_a_statement_that_is_a_branchs_body_gets_its_semicolon(language_id, text):
    # Its `;` was taken for an empty body (`if (a);`), so the action found no fill.
    new = _closed(language_id, text, _after(text, "g(1"))
    assert new == text.replace("g(1", "g(1);")


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("python", "values = [add(1, 2), add(3, 4)\nprint(values)\n", "[",
     "values = [add(1, 2), add(3, 4)]\nprint(values)\n"),
    ("python", "def f(a, b):\n    return foo(a, b  # both\n\nx = 1\n", "foo(",
     "def f(a, b):\n    return foo(a, b)  # both\n\nx = 1\n"),
    ("javascript", "function f() {\n  foo(a, b\n}\n", "foo(", "function f() {\n  foo(a, b)\n}\n"),
    ("typescript", "function f(): void {\n  const v = [a, b\n  g(v);\n}\n", "[",
     "function f(): void {\n  const v = [a, b]\n  g(v);\n}\n"),
    ("go", "package main\n\nfunc main() {\n\tfmt.Println(a, b\n}\n", "Println(",
     "package main\n\nfunc main() {\n\tfmt.Println(a, b)\n}\n"),
    ("rust", "fn main() {\n    let v = foo(a, b\n    let n = 3;\n}\n", "foo(",
     "fn main() {\n    let v = foo(a, b);\n    let n = 3;\n}\n"),
    ("c", "int f(int a, int b) {\n  foo(a, b // call\n  return 0;\n}\n", "foo(",
     "int f(int a, int b) {\n  foo(a, b); // call\n  return 0;\n}\n"),
    ("java", "class A {\n  void f() {\n    foo(a, b\n    int y = 1;\n  }\n}\n", "foo(",
     "class A {\n  void f() {\n    foo(a, b);\n    int y = 1;\n  }\n}\n"),
    # What follows is no content of the bracket: it closes one opened before it, or only a closer at the cursor
    # parses.
    ("python", "print([)\n", "[", "print([])\n"),
    ("python", "info = CodecInfo(\n    encode=Codec(.encode,\n    decode=Codec().decode,\n)\n", "encode=Codec(",
     "info = CodecInfo(\n    encode=Codec().encode,\n    decode=Codec().decode,\n)\n"),
    ("python", "class Output(:\n    pass\n", "Output(", "class Output():\n    pass\n"),
])
def test_a_bracket_with_its_content_after_the_cursor_closes_after_that_content(language_id, text, cursor_after,
                                                                                expected):
    # A lightbulb sends the cursor as it stands: right after the opener, the closer went there, and the content
    # followed the empty bracket (`values = [];add(1, 2), add(3, 4)`), which parses.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("javascript", 'const items = [\n  "a",\n  "b",\n  "c",\n\nconsole.log(items);\n', '"a",',
     'const items = [\n  "a",\n  "b",\n  "c",\n]\n\nconsole.log(items);\n'),
    ("python", "result = compute(\n    alpha,\n    beta\n\nprint(result)\n", "alpha,",
     "result = compute(\n    alpha,\n    beta)\n\nprint(result)\n"),
    ("python", "result = compute(\n    alpha,\n    beta\n\nprint(result)\n", "compute(",
     "result = compute(\n    alpha,\n    beta)\n\nprint(result)\n"),
    ("javascript", "const r = compute(alpha,\n                  beta\nconsole.log(r);\n", "alpha,",
     "const r = compute(alpha,\n                  beta)\nconsole.log(r);\n"),
    ("python", "def main():\n    xs = [\n        1,\n        2,\n\n    return xs\n", "1,",
     "def main():\n    xs = [\n        1,\n        2,\n    ]\n\n    return xs\n"),
])
def test_a_bracket_whose_items_go_on_below_the_cursor_closes_after_them(language_id, text, cursor_after, expected):
    # Closed at the cursor, the items below were left outside the bracket, which parses.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("python", "def main():\n    result = compute(a, b\n    print(result)\n", "a, ",
     "def main():\n    result = compute(a, b)\n    print(result)\n"),
    ("javascript", "const o = { a: 1, b: 2\nconsole.log(o);\n", "a: 1, ", "const o = { a: 1, b: 2}\nconsole.log(o);\n"),
    ("go", "package main\n\nfunc main() {\n\txs := []int{1, 2\n\tfmt.Println(xs)\n}\n", "{1, ",
     "package main\n\nfunc main() {\n\txs := []int{1, 2}\n\tfmt.Println(xs)\n}\n"),
    ("python", "x = foo(a, b\ny = 1\n", "foo(a", "x = foo(a, b)\ny = 1\n"),
    ("python", "items = [1, 2, 3\nprint(items)\n", "2,", "items = [1, 2, 3]\nprint(items)\n"),
    ("python", "x = foo(bar(1, 2), 3\ny = 1\n", "bar(1,", "x = foo(bar(1, 2), 3)\ny = 1\n"),
])
def test_a_cursor_inside_a_one_line_brackets_content_closes_after_that_content(language_id, text, cursor_after,
                                                                               expected):
    # Closed at the cursor, the rest of the content followed the bracket, after a `;` (`compute(a, );b`).
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("text, cursor_after, expected", [
    ("rc = first[1[0]\nreturn rc\n", "first[1", "rc = first[1][0]\nreturn rc\n"),
    ("d = os.path.join(\n    os.getenv('HOME' or home(),\n    'x',\n)\n", "'HOME'",
     "d = os.path.join(\n    os.getenv('HOME') or home(),\n    'x',\n)\n"),
    # Where the closer stood, before the `,` that begins its line.
    ("x = f(\n    g(\n        1\n    ,\n    2,\n)\n", "1\n    ", "x = f(\n    g(\n        1\n    ),\n    2,\n)\n"),
])
def test_a_cursor_inside_an_item_closes_there(text, cursor_after, expected):
    # What follows it on the line may go on with what holds the bracket: `first[1[0]]` parses.
    assert _closed("python", text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after", [
    ("python", "def main():\n    result = compute(a, b\n    print(result)\n", "a, "),
    ("c", "int main() {\n  int a = f(1, 2;\n  return a;\n}\n", "1, "),
])
def test_no_semicolon_is_tried_where_the_language_needs_none_or_code_follows_it(language_id, text, cursor_after):
    parsed = parsed_text(language_id, text)
    cursor = _after(text, cursor_after)
    region = top_level(nearest_problem(parsed, cursor))
    for c in _closer_candidates(parsed, region, cursor, cursor, []):
        assert not any(";" in r.text for r in c.replacements), c


@pytest.mark.parametrize("text, cursor_after, expected", [
    ("def f(xs):\n    for i in range(len(xs)\n        print(i)\n", "len(xs)",
     "def f(xs):\n    for i in range(len(xs)):\n        print(i)\n"),
    ("def f(xs):\n    if len(xs\n        print(xs)\n", "len(xs", "def f(xs):\n    if len(xs):\n        print(xs)\n"),
    ("class Point(Base\n    x = 1\n", "Base", "class Point(Base):\n    x = 1\n"),
    # The `:` already there is kept, not doubled.
    ("class Point(Base:\n    x = 1\n", "Base", "class Point(Base):\n    x = 1\n"),
])
def test_a_python_headers_closers_get_the_colon_it_is_missing(text, cursor_after, expected):
    new = _closed("python", text, _after(text, cursor_after))
    assert new == expected
    compile(new, "<closed>", "exec")


class WritesSurely(WritesFills):
    """A model as sure of each of its fills as a closer is: a mean log-probability of 0, as float32 rounds one."""

    def infill_holes(self, segments, **kw):
        return [HolesCandidate(list(f), 0.0, 1, 1) for f in self.fills]


_HEADERS = ["def update(self, data=None)", "def area(radius)", "if count > limit", "for item in items", "while queue",
            "class Point(Base)", "with open(path) as fh", "try", "async def load(path)"]
_BODIES = ["value = compute(item)", "print(value)", "return value", '"""Doc."""']


@pytest.mark.parametrize("body", _BODIES)
@pytest.mark.parametrize("header", _HEADERS + ["elif count > limit", "else"])
def test_a_python_header_missing_only_its_colon_gets_exactly_the_colon(header, body):
    # With its brackets all closed, no `:` was tried: the model's fill won, as sure as a closer (`:` and a `return`
    # that left the body dead, `trys`, `):` after `class Point(Base)`), or nothing parsed.
    if header.startswith(("elif", "else")):
        text = f"def f(count, limit):\n    if count < 0:\n        {body}\n    {header}\n        {body}\n    return 0\n"
    else:
        text = f"import os\n\n\n{header}\n    {body}\n\n\nprint(os.name)\n"
    cursor = _after(text, "    " + header if header.startswith(("elif", "else")) else header)
    model = WritesSurely([":\n    return"], ["s"], ["):"], [": pass"])
    edit = close_structure(parsed_text("python", text), cursor, Request(model, SETTINGS))
    assert not isinstance(edit, NoEdit), edit
    assert apply_replacements(text, list(edit.replacements)) == text[:cursor] + ":" + text[cursor:]


def test_a_fill_python_reads_as_broken_on_its_lines_is_refused():
    # tree-sitter reads `trys` above an indented line as a statement and a block; CPython reads an unexpected indent.
    text = "import os\n\n\ntry\n    return value\n"
    parsed = parsed_text("python", text)
    at = _after(text, "try")
    assert _breaks_what_python_reads(parsed, (Replacement(at, at, "s"),))
    assert not _breaks_what_python_reads(parsed, (Replacement(at, at, ":"),))
    # An error elsewhere that the text had before is no fill's.
    text = "import os\nx = )\n\ndef area(radius)\n    return radius\n"
    at = _after(text, "(radius)")
    assert not _breaks_what_python_reads(parsed_text("python", text), (Replacement(at, at, ":"),))


@pytest.mark.parametrize("text, cursor_after", [
    ('fn main() {\n    let v = foo("ada\n    let n = 3;\n}\n', '"ada'),
    ('fn f() {\n    let s = format!("{}", "ab\n    g(s);\n}\n', '"ab'),
])
def test_no_closer_goes_after_a_quote_that_is_still_open(text, cursor_after):
    # tree-sitter-rust reads the unclosed string as an ERROR (in a macro's arguments, as a string its closing quote
    # is made up for): the `)` went into it (`foo("ada);`).
    cursor = _after(text, cursor_after)
    edit = close_structure(parsed_text("rust", text), cursor, Request(WritesFills(), SETTINGS))
    assert isinstance(edit, NoEdit) or text[:cursor] + ")" not in apply_replacements(text, list(edit.replacements))


def test_a_rust_comment_after_the_code_is_no_code_of_the_line():
    # Its `//` token was taken for code: the cursor on the next line got nothing.
    text = "fn f() -> i32 {\n    let x = foo(1, 2 // two\n    x\n}\n"
    expected = "fn f() -> i32 {\n    let x = foo(1, 2); // two\n    x\n}\n"
    assert _closed("rust", text, _after(text, "// two\n    ")) == expected
    assert _closed("rust", text, _after(text, "// two")) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("javascript", "function f() {\n  if (x) {\n    load(id\n  }\n}\n", "load(id\n",
     "function f() {\n  if (x) {\n    load(id)\n  }\n}\n"),
    ("javascript", "function f() {\n  if (x) {\n    load(id\n  }\n}\n", "load(id\n  ",
     "function f() {\n  if (x) {\n    load(id)\n  }\n}\n"),
    ("go", "package main\n\nfunc f() P {\n\treturn P{\n\t\tX: 1,\n}\n", "X: 1,\n",
     "package main\n\nfunc f() P {\n\treturn P{\n\t\tX: 1,\n\t}\n}\n"),
])
def test_a_cursor_before_a_lines_closer_closes_at_the_end_of_the_line_above(language_id, text, cursor_after,
                                                                            expected):
    # The closers went before the line's indentation (`    )  }`).
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text", [
    ("javascript", "function a() {\n  one();\n  // TODO: handle errors\n\nfunction b() {\n  two();\n}\n"),
    ("c", "int a(void) {\n    one();\n    // TODO: handle errors\n\nint b(void) {\n    return 2;\n}\n"),
])
@pytest.mark.parametrize("cursor_after", ["one();", "errors"])
def test_a_comment_at_the_bodys_depth_stays_inside_the_body(language_id, text, cursor_after):
    # The `}` went before the comment, which it shut out of the function.
    expected = text.replace("errors\n", "errors\n}\n", 1)
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("text", [
    "def f(xs):\n    for x in xs:\n        use(x\n\n    return len(xs)\n",
    "def f(xs):\n    for x in xs:\n        use(x\n        \n    return len(xs)\n",
    "use(x\n\nprint(x)\n",
])
def test_a_cursor_on_a_blank_line_below_a_call_closes_it_where_the_line_above_does(text):
    # The `)` went onto the blank line, which left no blank line between the statements.
    expected = _closed("python", text, _after(text, "use(x"))
    assert expected == text.replace("use(x", "use(x)", 1)
    blank = text.index("\n", _after(text, "use(x")) + 1
    assert _closed("python", text, text.index("\n", blank)) == expected


def test_a_cursor_on_a_blank_line_below_items_after_a_bracket_that_ends_its_line_closes_there():
    # Black's layout: the `)` stands on a line of its own below the arguments.
    text = "def f():\n    g(\n        a,\n        b,\n    \n    return 1\n"
    cursor = _after(text, "b,\n    ")
    assert _closed("python", text, cursor) == text[:cursor] + ")" + text[cursor:]


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("java", "class Checker {\n    void check(Object value) {\n        if (value == null\n"
     "                || value.toString().isEmpty()) {\n            report(value\n    }\n\n"
     "    void other() {\n    }\n}\n",
     "report(value",
     "class Checker {\n    void check(Object value) {\n        if (value == null\n"
     "                || value.toString().isEmpty()) {\n            report(value);\n        }\n    }\n\n"
     "    void other() {\n    }\n}\n"),
    ("go", "package main\n\nfunc check(value string, items []string) {\n\tif value == \"\" ||\n\t\tlen(items) == 0 {\n"
     "\t\treport(value\n}\n\nfunc other() {\n}\n", "report(value",
     "package main\n\nfunc check(value string, items []string) {\n\tif value == \"\" ||\n\t\tlen(items) == 0 {\n"
     "\t\treport(value)\n\t}\n}\n\nfunc other() {\n}\n"),
    ("javascript", "function check(value, input) {\n    if (typeof value !== 'string' &&\n"
     "        typeof value !== 'number') {\n        throw new Error('bad value');\n    }\n"
     "    return new Promise((resolve) => {\n        run(input", "run(input",
     "function check(value, input) {\n    if (typeof value !== 'string' &&\n"
     "        typeof value !== 'number') {\n        throw new Error('bad value');\n    }\n"
     "    return new Promise((resolve) => {\n        run(input)\n    })\n}"),
    ("rust", "fn check(value: Option<&str>, items: &[String]) {\n    if value.is_none()\n"
     "        || value.unwrap().is_empty() {\n        panic!(\"empty\");\n    }\n    items.iter().for_each(|item| {\n"
     "        process(item", "process(item",
     "fn check(value: Option<&str>, items: &[String]) {\n    if value.is_none()\n"
     "        || value.unwrap().is_empty() {\n        panic!(\"empty\");\n    }\n    items.iter().for_each(|item| {\n"
     "        process(item)\n    })\n}"),
    ("java", "class Totals {\n    public void add(int index, int amount) {\n        if (index >= 0\n"
     "                && index < counts.length) {\n            counts[index] += amount;\n        }\n"
     "        log(index, Math.max(amount", "Math.max(amount",
     "class Totals {\n    public void add(int index, int amount) {\n        if (index >= 0\n"
     "                && index < counts.length) {\n            counts[index] += amount;\n        }\n"
     "        log(index, Math.max(amount));\n    }\n}"),
    # A wrapped parameter list, which the parse holds in an ERROR.
    ("java", "class Totals {\n    public void add(int index,\n            int amount) {\n"
     "        log(index, Math.max(amount\n",
     "Math.max(amount", "class Totals {\n    public void add(int index,\n            int amount) {\n"
     "        log(index, Math.max(amount));\n    }\n}\n"),
    ("javascript", "function check(value,\n    input) {\n  if (x) {\n    foo(x\n  }\n  return 1;\n", "foo(x",
     "function check(value,\n    input) {\n  if (x) {\n    foo(x)\n  }\n  return 1;\n}\n"),
])
def test_a_brace_after_a_header_wrapped_over_lines_closes_at_the_headers_first_line(language_id, text, cursor_after,
                                                                                   expected):
    # Measured from the brace's own line (the continuation indent), the `}` of the block around it closed the brace
    # and the header's `}` went right after it, outside the statements the block holds (or no edit at all).
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


def test_a_fill_never_turns_the_code_after_the_cursor_into_a_comment():
    # At the line's indentation, `// done` went before `return {` and the file had one error fewer.
    text = "function f(a: number) {\n  const b = a + 1;\n  return { value: b,\n}\n\nfunction g() {\n  return 2;\n}\n"
    cursor = text.index("return {")
    edit = close_structure(parsed_text("typescript", text), cursor, Request(WritesFills(["// done"]), SETTINGS))
    after = text if isinstance(edit, NoEdit) else apply_replacements(text, list(edit.replacements))
    assert "// donereturn" not in after and "return { value: b," in after


def test_no_closer_goes_into_jsx_text():
    # The `)` of `return (` went after `{todo}`, where the page shows it.
    text = ("export function List({ todos }: { todos: Todo[] }) {\n  return (\n    <ul>\n"
            "      {todos.map((todo) => (\n        <li key={todo.id}>\n          <label>\n            {todo\n"
            "          </label>\n        </li>\n      ))}\n    </ul>\n  );\n}\n")
    assert _closed("typescriptreact", text, _after(text, "{todo\n") - 1) == text.replace("{todo\n", "{todo}\n")


@pytest.mark.parametrize("final", ["", "\n"])
def test_a_go_file_without_a_final_line_break_is_closed_as_one_with_it(final):
    # tree-sitter-go reports the terminator after the last declaration missing where the file has no final line
    # break: every close left that one problem, and none was offered.
    text = 'package main\n\nimport "fmt"\n\ntype Socket struct {' + final
    assert _closed("go", text, _after(text, "{")) == text.rstrip("\n") + "\n}" + final


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("java", "class Sweeper {\n    boolean sweep(java.util.Iterator<String> it) {\n        boolean modified = false;\n"
     "        while (it.hasNext()) {\n            it.remove();\n            modified = true", "modified = true",
     "class Sweeper {\n    boolean sweep(java.util.Iterator<String> it) {\n        boolean modified = false;\n"
     "        while (it.hasNext()) {\n            it.remove();\n            modified = true;\n        }\n    }\n}"),
    ("cpp", "int f() {\n    x = 1", "x = 1", "int f() {\n    x = 1;\n}"),
    ("java", "class A {\n    void f() {\n        x = 1 // one", "x = 1",
     "class A {\n    void f() {\n        x = 1; // one\n    }\n}"),
    ("c", "int f(void) {\n    int x = 1\n    // done\n", "int x = 1", "int f(void) {\n    int x = 1;\n    // done\n}\n"),
])
def test_a_statement_only_braces_close_gets_its_semicolon_at_the_end_of_its_code(language_id, text, cursor_after,
                                                                                 expected):
    # The `;` only followed brackets closed on the line: with none owed there, nothing parsed, and none was offered
    # (C++ got `};` after the function).
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    ("rust", "fn report(samples: &mut [f64]) {\n    loop {\n        stats::winsorize(samples,\n"
     "        if done(samples) {\n            break;\n        }\n    }\n}\n", "samples,",
     "fn report(samples: &mut [f64]) {\n    loop {\n        stats::winsorize(samples,);\n"
     "        if done(samples) {\n            break;\n        }\n    }\n}\n"),
    ("javascript", "function report(items) {\n  for (const item of items) {\n    console.log(item,\n  }\n}\n", "item,",
     "function report(items) {\n  for (const item of items) {\n    console.log(item,)\n  }\n}\n"),
    # Where the comma ends an item of the bracket around it, the closer still goes before it.
    ("python", "config = dict(\n    a=f(1,\n    b=2,\n)\n", "f(1,", "config = dict(\n    a=f(1),\n    b=2,\n)\n"),
])
def test_a_statements_outermost_bracket_closes_after_a_comma_that_ends_its_line(language_id, text, cursor_after,
                                                                                expected):
    # Closed before the comma (`f(a),`), the statement never parsed, and none was offered.
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    ("typescript", "function f() {\n  const xs = [1, 2,\n  |return xs;\n}\n",
     "function f() {\n  const xs = [1, 2,]\n  return xs;\n}\n"),
    ("typescript", "const xs = [1, 2,\n|console.log(xs);\n", "const xs = [1, 2,]\nconsole.log(xs);\n"),
    ("javascript", "function f() {\n  const xs = [1, 2,\n  |return xs;\n}\n",
     "function f() {\n  const xs = [1, 2,]\n  return xs;\n}\n"),
    ("go", "package main\n\nfunc f() []int {\n\txs := []int{1, 2,\n\t|return xs\n}\n",
     "package main\n\nfunc f() []int {\n\txs := []int{1, 2,}\n\treturn xs\n}\n"),
    ("rust", "fn f() -> Vec<i32> {\n    let xs = vec![1, 2,\n    |xs\n}\n",
     "fn f() -> Vec<i32> {\n    let xs = vec![1, 2,];\n    xs\n}\n"),
    ("python", "def f():\n    xs = [1, 2,\n    |return xs\n", "def f():\n    xs = [1, 2,]\n    return xs\n"),
])
def test_a_cursor_in_the_indentation_of_the_next_statement_closes_after_the_code_above(language_id, text, expected):
    # Closed at the cursor, before the statement (`  ]return xs;`), the file never parsed: nothing was offered, an
    # edit that left it broken, or the closer after the statement's code (`console.log(xs)];`). Where the line
    # ends the bracket by the layout, no closer was owed there at all, and the closer owed elsewhere went before
    # the `,`: a list of declarations, a tuple in Python.
    assert _closed_at_bar(language_id, text) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    # A line that stands deeper than the bracket's holds its items: the closer goes after them.
    ("javascript", "const xs = [\n  1,\n  |someLongName,\nconsole.log(xs);\n",
     "const xs = [\n  1,\n  someLongName,\n]\nconsole.log(xs);\n"),
    ("javascript", "function f() {\n  const xs = foo(1,\n    |someLongName\n  return xs;\n}\n",
     "function f() {\n  const xs = foo(1,\n    someLongName)\n  return xs;\n}\n"),
    # Where the line goes on with what holds the bracket, the closer stays at the cursor.
    ("python", "x = f(\n    g(\n        1\n    |,\n    2,\n)\n", "x = f(\n    g(\n        1\n    ),\n    2,\n)\n"),
])
def test_a_cursor_in_the_indentation_of_a_line_that_goes_on_with_the_bracket_closes_at_its_place(language_id, text,
                                                                                                  expected):
    assert _closed_at_bar(language_id, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("xs = [1, 2,\n|\nprint(xs)\n", "xs = [1, 2,]\n\nprint(xs)\n"),
    ("xs = foo(1,|\nprint(xs)\n", "xs = foo(1,)\nprint(xs)\n"),
])
def test_a_comma_that_ends_a_statements_outermost_bracket_stays_inside_it(text, expected):
    # Closed before it, the statement became a tuple (`xs = [1, 2],`), which parses. In a bracket the `,` ends the
    # item the bracket is in (`a=f(1),` in `dict(`), as `test_a_trailing_comma_of_a_list_over_several_lines_...` has.
    assert _closed_at_bar("python", text) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    ("typescript", "function f() {\n  if (x) {\n    go();\n    |\n  return 1;\n}\n",
     "function f() {\n  if (x) {\n    go();\n  }\n  return 1;\n}\n"),
    ("typescript", "function f() {\n  if (x) {\n    go();\n      |\n  return 1;\n}\n",
     "function f() {\n  if (x) {\n    go();\n  }\n  return 1;\n}\n"),
    ("rust", "fn f() {\n    if x {\n        run();\n        |\n    return;\n}\n",
     "fn f() {\n    if x {\n        run();\n    }\n    return;\n}\n"),
    # The brackets closed at the cursor, the brace's line below them at its own depth.
    ("javascript", "function f() {\n  if (x) {\n    g(\n      1,\n      2,\n        |\n  return 1;\n}\n",
     "function f() {\n  if (x) {\n    g(\n      1,\n      2,\n        )\n  }\n  return 1;\n}\n"),
])
def test_a_brace_closed_on_a_blank_line_deeper_than_its_block_stands_at_the_blocks_depth(language_id, text, expected):
    # The `}` went after the blanks before the cursor, at the depth of the statements it ends (`    }`); below
    # brackets closed there, at none (`}`).
    assert _closed_at_bar(language_id, text) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    ("javascriptreact", "function App() {\n  return (\n    <div>\n      <p>hi</p>|\n  );\n}\n",
     "function App() {\n  return (\n    <div>\n      <p>hi</p>\n    </div>\n  );\n}\n"),
    ("typescriptreact", "export function App() {\n  return (\n    <div className=\"x\">\n      <span>{name}</span>\n"
     "    |\n  );\n}\n",
     "export function App() {\n  return (\n    <div className=\"x\">\n      <span>{name}</span>\n    </div>\n"
     "  );\n}\n"),
    ("typescriptreact", "export function App() {\n  return <div>hello|;\n}\n",
     "export function App() {\n  return <div>hello</div>;\n}\n"),
    # A closing tag closes the element of its name, whatever the grammar pairs it with.
    ("typescriptreact", "const el = (\n  <ul>\n    <li>one</li>\n    <li>two|\n  </ul>\n);\n",
     "const el = (\n  <ul>\n    <li>one</li>\n    <li>two</li>\n  </ul>\n);\n"),
    ("typescriptreact", "export function App() {\n  return <ul>{items.map((i) => <li key={i}>{i}|)}</ul>;\n}\n",
     "export function App() {\n  return <ul>{items.map((i) => <li key={i}>{i}</li>)}</ul>;\n}\n"),
    ("typescriptreact", "export function App() {\n  return (\n    <>\n      <Foo.Bar>{x}|\n    </>\n  );\n}\n",
     "export function App() {\n  return (\n    <>\n      <Foo.Bar>{x}</Foo.Bar>\n    </>\n  );\n}\n"),
    # Two left open, each closed at its own depth, the innermost first.
    ("typescriptreact", "export function App() {\n  return (\n    <div>\n      <section>\n        <p>hi</p>\n      |\n"
     "  );\n}\n",
     "export function App() {\n  return (\n    <div>\n      <section>\n        <p>hi</p>\n      </section>\n"
     "    </div>\n  );\n}\n"),
    # The brackets around the element, which its text held, closed after its tag.
    ("javascriptreact", "function App() {\n  return (\n    <div>\n      <p>hi</p>\n      |",
     "function App() {\n  return (\n    <div>\n      <p>hi</p>\n    </div>\n  )\n}\n"),
])
def test_an_element_left_open_gets_its_closing_tag(language_id, text, expected):
    # The rest of the file was the element's text (`);` and `}` on the page), where no closer goes: nothing was
    # offered.
    assert _closed_at_bar(language_id, text) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    # No children and no closing tag of its name after it: the element closes itself.
    ("javascriptreact", "function Field({ v }) {\n  return (\n    <form>\n      <input value={v}|\n    </form>\n"
     "  );\n}\n",
     "function Field({ v }) {\n  return (\n    <form>\n      <input value={v} />\n    </form>\n  );\n}\n"),
    ("typescriptreact", "export function Field({ v }: { v: string }) {\n  return <input value={v}|\n}\n",
     "export function Field({ v }: { v: string }) {\n  return <input value={v} />\n}\n"),
    # The next element stands beside it, at its depth: no child of it.
    ("typescriptreact", "const a = (\n  <div>\n    <img src={s}|\n    <p>hi</p>\n  </div>\n);\n",
     "const a = (\n  <div>\n    <img src={s} />\n    <p>hi</p>\n  </div>\n);\n"),
    # An element beside it that closes itself, with its `/>`, is no tag left open.
    ("typescriptreact", "const x = cond ? <A /> : <B x={1}|;\n", "const x = cond ? <A /> : <B x={1} />;\n"),
    # Attributes over lines: the tag ends after the last.
    ("javascriptreact", "const a = (\n  <form>\n    <input\n      value={v}\n      onChange={f}|\n  </form>\n);\n",
     "const a = (\n  <form>\n    <input\n      value={v}\n      onChange={f} />\n  </form>\n);\n"),
    # Children and the closing tag of its name after them, the cursor off the tag's line.
    ("typescriptreact", "export function App() {\n  return (\n    <div className=\"a\"\n      <p>hi</p>|\n    </div>\n"
     "  );\n}\n",
     "export function App() {\n  return (\n    <div className=\"a\">\n      <p>hi</p>\n    </div>\n  );\n}\n"),
    ("javascriptreact", "function App() {\n  return (\n    <div\n      <p>hi</p>|\n    </div>\n  );\n}\n",
     "function App() {\n  return (\n    <div>\n      <p>hi</p>\n    </div>\n  );\n}\n"),
    # Two tags without their ends, the inner read as more attributes of the outer.
    ("typescriptreact", "const a = (\n  <div className=\"a\"\n    <input value={v}|\n  </div>\n);\n",
     "const a = (\n  <div className=\"a\">\n    <input value={v} />\n  </div>\n);\n"),
    # Braces that spread nothing are a child, though the grammar reads them as an attribute.
    ("javascriptreact", "const a = (\n  <div className=\"a\"\n    {name}|\n  </div>\n);\n",
     "const a = (\n  <div className=\"a\">\n    {name}\n  </div>\n);\n"),
    # Children and no closing tag: its `>` and its closing tag.
    ("typescriptreact", "export function App() {\n  return (\n    <div className=\"a\"\n      <p>hi</p>\n    |\n"
     "  );\n}\n",
     "export function App() {\n  return (\n    <div className=\"a\">\n      <p>hi</p>\n    </div>\n  );\n}\n"),
    # With the closing tags and brackets owed around it.
    ("typescriptreact", "function App() {\n  return (\n    <div>\n      <input value={v}\n      |",
     "function App() {\n  return (\n    <div>\n      <input value={v} />\n    </div>\n  )\n}\n"),
])
def test_an_opening_tag_left_without_its_end_gets_it(language_id, text, expected):
    # The tag's attributes ran on into the text after it (`</form>` read as more of them), or it stood in an ERROR:
    # nothing was offered, or the parse's guess where it found the `>` missing (`{name}>`, `<B x={1}/>`).
    assert _closed_at_bar(language_id, text) == expected


@pytest.mark.parametrize("language_id, text, expected", [
    ("typescript", "function f(n: number) {\n  const s = `total: ${n}|\n  return s;\n}\n",
     "function f(n: number) {\n  const s = `total: ${n}`\n  return s;\n}\n"),
    ("javascript", "const s = `hello|\nconsole.log(s);\n", "const s = `hello`\nconsole.log(s);\n"),
    # The brackets the literal held are closed after it; a substitution still open before it.
    ("javascript", "function f(n) {\n  console.log(`total: ${n}|\n  return 1;\n}\n",
     "function f(n) {\n  console.log(`total: ${n}`)\n  return 1;\n}\n"),
    ("typescript", "function f(n: number) {\n  return `x ${n + 1|\n}\n",
     "function f(n: number) {\n  return `x ${n + 1}`\n}\n"),
    # A literal over lines ends where the cursor says; where the line goes on after it, before what ends the line.
    ("typescript", "const s = `a\nb|\n", "const s = `a\nb`\n"),
    ("javascript", "const s = `hello| world\nconsole.log(s);\n", "const s = `hello world`\nconsole.log(s);\n"),
    ("javascript", "const q = sql`select * from t|;\nrun(q);\n", "const q = sql`select * from t`;\nrun(q);\n"),
    ("javascript", "console.log(`total: ${n}|);\nrun();\n", "console.log(`total: ${n}`);\nrun();\n"),
])
def test_a_template_literal_left_open_gets_its_closing_backtick(language_id, text, expected):
    # The grammar reads the rest of the file as code after an ERROR, or as the literal's text: nothing was offered.
    assert _closed_at_bar(language_id, text) == expected


NS_TWO = "namespace n {\n\nint f() {\n  return g(1);\n\nint h() {\n  return 2;\n}\n\n}  // namespace n\n"


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    # A namespace's and an `extern "C"` block's lines stand at their header's column: such a line does not end the
    # block, which was closed on its first line, the code below moved out of it.
    ("cpp", "namespace n {\nvoid f() {\n  g(1);\n\n}\n", "g(1);\n", "namespace n {\nvoid f() {\n  g(1);\n}\n}\n"),
    ("cpp", "namespace n {\nvoid f() {\n  g(1);\n}\n", "g(1);\n}\n", "namespace n {\nvoid f() {\n  g(1);\n}\n}\n"),
    ("cpp", NS_TWO, "g(1);\n", NS_TWO.replace("g(1);\n\n", "g(1);\n}\n")),
    ("c", 'extern "C" {\nint f(void) {\n  return 1;\n\n}\n', "return 1;\n",
     'extern "C" {\nint f(void) {\n  return 1;\n}\n}\n'),
    # So do a JavaScript module wrapper's (its `(` closes with its `{`) and, by a writer's habit, a Java class's.
    ("javascript", "(function () {\nvar a = 1;\nfunction f() {\n  return a;\n\n", "return a;\n",
     "(function () {\nvar a = 1;\nfunction f() {\n  return a;\n}\n});\n"),
    ("java", "public class A {\nvoid f() {\n  x();\n}\n\nvoid g() {\n  y();\n\n", "y();\n",
     "public class A {\nvoid f() {\n  x();\n}\n\nvoid g() {\n  y();\n}\n}\n"),
    # An indented body is read by its layout as before: its closer goes where the block ends.
    ("cpp", "namespace n {\n  void f() {\n    g(1);\n  }\n  void h() {}\n\nint x;\n", "g(1);\n  }\n",
     "namespace n {\n  void f() {\n    g(1);\n  }\n  void h() {}\n}\n\nint x;\n"),
])
def test_a_body_whose_lines_stand_at_its_headers_column_is_not_ended_by_them(language_id, text, cursor_after, expected):
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


@pytest.mark.parametrize("language_id, line, goes_on", [
    ("cpp", "} catch (const std::exception& e) {", True),
    ("cpp", "else {", True),
    ("cpp", "finally([&] { close(fd); });", False),  # a call (gsl::finally), no clause: C++ has none
    ("java", "finally {", True),
    ("go", "} else if err != nil {", True),
    ("go", "catch(err)", False),
    ("c", "elsewhere();", False),
])
def test_a_line_goes_on_with_the_block_above_by_its_languages_words(language_id, line, goes_on):
    assert _goes_on(parsed_text(language_id, line + "\n"), line) is goes_on


@pytest.mark.parametrize("language_id, text, cursor_after, expected", [
    # A string's quote alone where it leaves the file parsing: the file's or the model's fill said more (an import
    # of another package, a string of other text, a tuple where the next line's string was joined).
    ("typescript", "import * as React from 'react\n\nexport const a = 1;\n", "'react",
     "import * as React from 'react'\n\nexport const a = 1;\n"),
    ("python", "def f(t):\n    if t == '\"':\n        return 1\n    elif t != '\\\\\n        return 2\n", "'\\\\",
     "def f(t):\n    if t == '\"':\n        return 1\n    elif t != '\\\\':\n        return 2\n"),
    ("python", "class S:\n    chars = ('abcdef\n             'ABCDEF')\n", "'abcdef",
     "class S:\n    chars = ('abcdef'\n             'ABCDEF')\n"),
    # An item of a list whose items end with a comma gets its comma, but the last before the closer.
    ("python", "class F:\n    __slots__ = ('name',\n                 'hash\n                 'init',\n"
     "                 )\n", "'hash",
     "class F:\n    __slots__ = ('name',\n                 'hash',\n                 'init',\n                 )\n"),
    ("typescript", "type A = Omit<\n  Exclude<B, undefined>,\n  'mutations\n>\n", "'mutations",
     "type A = Omit<\n  Exclude<B, undefined>,\n  'mutations'\n>\n"),
    # No `,` that makes a value a tuple or splits an argument the next line goes on with.
    ("javascript", "function f(a) {\n  log(a,\n    'total:\n    + a);\n}\n", "'total:",
     "function f(a) {\n  log(a,\n    'total:'\n    + a);\n}\n"),
    ("python", "def f():\n    # the keys: name, size,\n    name = 'abc\n    return name\n", "'abc",
     "def f():\n    # the keys: name, size,\n    name = 'abc'\n    return name\n"),
])
def test_a_string_left_open_gets_its_quote(language_id, text, cursor_after, expected):
    assert _closed(language_id, text, _after(text, cursor_after)) == expected


def test_the_nearest_bracket_alone_where_the_parse_took_one_above_for_open():
    # `[` read as inside the `(` of the call above it: closed as `])`, which did not parse, and the model's
    # `quereries]` was the edit.
    text = ("export function f(state: S) {\n  return useMemo(() => {\n    const queries = state.queries || [\n\n"
            "    const next = queries.map((q) => q);\n    return next;\n  }, [state]);\n}\n")
    assert _closed("typescript", text, _after(text, "|| [")) == text.replace("|| [\n", "|| [];\n")


@pytest.mark.parametrize("ends, then, expected", [
    (";", "  return x;", "b.run(x, 1);"),
    ("", "  return x", "b.run(x, 1)"),
    # The next line goes on with the statement: a `;` would cut it off.
    (";", "    - discount;", "b.run(x, 1)"),
])
def test_a_statement_closed_ends_as_the_file_ends_its_own_where_its_end_is_optional(ends, then, expected):
    text = (f"const a = require('a'){ends}\nconst b = require('b'){ends}\n\nfunction f(x) {{\n  a.run(x){ends}\n"
            f"  b.run(x, 1\n{then}\n}}\n")
    assert _closed("javascript", text, _after(text, "x, 1")) == text.replace("b.run(x, 1", expected)


def test_a_closing_tag_missing_in_an_element_a_callback_returns_is_the_one_written():
    # The grammar read the closing tags around it as no tags: Close structure wrote `</li>` and two `</div>`s more
    # (TypeScript: ')' expected), or found no fill.
    text = ("export function L({ items }: { items: string[] }) {\n  return (\n    <div>\n      <ul>\n"
            "        {items.map((t) => (\n          <li key={t}>\n            <span>{t}</span>\n        ))}\n"
            "      </ul>\n    </div>\n  );\n}\n")
    assert _closed("tsx", text, _after(text, "<span>{t}</span>")) == \
        text.replace("<span>{t}</span>\n", "<span>{t}</span>\n          </li>\n")


@pytest.mark.parametrize("language_id, text, missing, at_end", [
    # A block's `}` deleted mid-function goes missing, for the parse, at the end of the file: closed there, the rest
    # of the function and the function below moved into the block.
    ("javascript", "function parse(str) {\n  if (str.length > 100) {\n    return;\n\n  var n = 1;\n  return n;\n}\n\n"
     + "".join(f"function f{i}(ms) {{\n  return ms + {i};\n}}\n\n" for i in range(8)), "    return;\n", "  }\n"),
    ("cpp", "int f(const char *s) {\n    if (s == nullptr) {\n        return 0;\n\n    return 1;\n}\n\n"
     + "".join(f"int g{i}() {{\n    return {i};\n}}\n\n" for i in range(8)), "        return 0;\n", "    }\n"),
    # A Rust macro statement gets the `;` rustc wants after it, which the parse does without.
    ("rust", "error_codes!(define_table\n\n"
     + "".join(f"fn f{i}() {{\n    if let Err(e) = run() {{\n        panic!(\"{{:?}}\", e);\n    }}\n}}\n\n"
               for i in range(4)), "error_codes!(define_table", ");"),
])
def test_an_opener_left_open_far_from_where_the_parse_misses_it_closes_where_its_block_ends(language_id, text, missing,
                                                                                           at_end):
    assert _closed(language_id, text, len(text)) == text.replace(missing, missing + at_end, 1)


_FAR_BELOW = "".join(f"  total += values[{i}] * {i};\n" for i in range(40))


@pytest.mark.parametrize("language_id, text, missing, at", [
    # The parse misses the `}` forty lines below, where the function's own `}` was taken for it.
    ("javascript", "function sum(values, limit) {\n  let total = 0;\n  if (values.length > limit) {\n"
     "    values = values.slice(0, limit);\n" + _FAR_BELOW + "  return total;\n}\n\nfunction twice(x) {\n"
     "  return 2 * x;\n}\n", "  }\n", "values.slice(0, limit);\n"),
    ("go", "package main\n\nfunc sum(values []int, limit int) int {\n\ttotal := 0\n\tif len(values) > limit {\n"
     "\t\tvalues = values[:limit]\n" + _FAR_BELOW.replace("  ", "\t").replace(";", "") + "\treturn total\n}\n\n"
     "func twice(x int) int {\n\treturn 2 * x\n}\n", "\t}\n", "values[:limit]\n"),
])
def test_a_block_left_open_is_closed_where_it_was_left_though_the_parse_misses_it_far_below(language_id, text,
                                                                                          missing, at):
    parsed = parsed_text(language_id, text)
    cursor = _after(text, at)
    assert nearest_problem(parsed, cursor) is None
    assert ActionKind.CLOSE_STRUCTURE in available(parsed, cursor, cursor)
    assert _closed(language_id, text, cursor) == text.replace(at, at + missing, 1)


def test_a_far_off_problem_offers_nothing_where_the_lines_near_the_cursor_leave_nothing_open():
    text = ("function twice(x) {\n  return 2 * x;\n}\n" + "".join(f"const c{i} = {i};\n" for i in range(40))
            + "function broken(a {\n  return a;\n}\n")
    parsed = parsed_text("javascript", text)
    assert available(parsed, _after(text, "2 * x;"), _after(text, "2 * x;")) == []
    assert isinstance(close_structure(parsed, _after(text, "2 * x;"), Request(WritesFills(), SETTINGS)), NoEdit)


def test_a_header_without_its_colon_on_the_cursors_line_is_left_open_there():
    text = "def sum(values, mode):\n    total = 0\n    for v in values:\n        if mode == 1:\n" \
           "            total += v\n        elif mode == 2\n            total += 2 * v\n    return total\n"
    parsed = parsed_text("python", text)
    root = parsed.tree.root_node
    assert _left_open_near(parsed, root, _after(text, "mode == 2"))
    assert not _left_open_near(parsed, root, _after(text, "mode == 1:"))


def test_a_function_left_open_above_methods_the_parse_takes_into_it_is_closed_at_its_own_indentation():
    # The parse reads the method below as a block in the function's body, its header an ERROR: the method's `{`,
    # read at the indentation of that body, took the function's `}` for its own, and the function's was owed to
    # the line of `go func() {`.
    methods = "".join(f"func (s *server) m{i}() {{\n\ts.mutex.Lock()\n\ts.count += {i}\n\ts.mutex.Unlock()\n}}\n\n"
                      for i in range(6))
    text = ("package main\n\nfunc (s *server) serve() error {\n\tresult := make(chan error)\n\tgo func() {\n"
            "\t\tresult <- s.listen()\n\t}()\n\treturn <-result\n\ntype server struct {\n\tready bool\n}\n\n"
            + methods)
    cursor = _after(text, "return <-result")
    assert _closed("go", text, cursor) == text.replace("return <-result\n", "return <-result\n}\n", 1)


@pytest.mark.parametrize("text, at", [
    ("export function App(props) {\n  return (\n    <Provider store={store}>\n      {props.children\n"
     "    </Provider>\n  )\n}\n", "{props.children"),
    ("export function App(props) {\n  return (\n    <div>\n      Hello {props.name\n    </div>\n  )\n}\n", "{props.name"),
    ("export function App(props) {\n  return (\n    <div>\n      <br />{props.name\n    </div>\n  )\n}\n", "{props.name"),
    ("export function App(props) {\n  return (\n    <ul>\n      <li>a</li>{items.map((i) => <li>{i}</li>)\n"
     "    </ul>\n  )\n}\n", "</li>)"),
])
def test_a_brace_among_markup_children_closes_on_its_line_though_an_error_holds_it(text, at):
    # An ERROR holds the unclosed `{`, so the grammar does not say it is an expression's, and it was closed as a
    # body's, on a line of its own below.
    assert _closed("typescriptreact", text, _after(text, at)) == text.replace(at, at + "}", 1)


@pytest.mark.parametrize("language_id, text, at, closer", [
    # A header wrapped so that a part begins on the line below the one before it ends stands at its statement's
    # indentation: read at the continuation's, the method's body was closed right after it, emptied.
    ("java", "class A {\n    void read(String path)\n            throws IOException {\n        load(path);\n\n"
     "    void other() {\n        x();\n    }\n}\n", "load(path);", "    }\n"),
    ("c", "void f(int n) {\n    for (int i = 0;\n         i < n;\n         i++) {\n        g(i);\n    }\n"
     "    if (n) {\n        h(n);\n\n}\n", "h(n);", "    }\n"),
])
def test_a_brace_after_a_wrapped_header_is_read_at_the_headers_indentation(language_id, text, at, closer):
    assert _closed(language_id, text, _after(text, at)) == text.replace(at + "\n", at + "\n" + closer, 1)


def test_a_far_off_problem_is_not_offered_for_a_wrapper_whose_block_ends_where_the_file_does():
    # A UMD module's wrapper: the function's `}` missing far below, its brace near the top was taken for left open
    # and the edit made at the file's end.
    funcs = "".join(f"    function f{i}(a) {{\n        if (a) {{\n            g(a, {i});\n        }}\n        return a;\n"
                    f"    }}\n\n" for i in range(12))
    broken = "    function broken(a) {\n        if (a) {\n            g(a);\n\n        return a;\n    }\n\n"
    # A compiler's valid layout, a callback's body left of its `.then(`, which the layout reads as leaving it open.
    compiled = ("    function fromPromise(promise) {\n        return new Observable(function (subscriber) {\n"
                "            promise\n                .then(function (value) {\n                if (!subscriber.closed) {\n"
                "                    subscriber.next(value);\n                }\n"
                "            }, function (err) { return subscriber.error(err); });\n        });\n    }\n\n")
    text = ("(function (global, factory) {\n    factory(global);\n}(this, (function (exports) { 'use strict';\n\n"
            "    var x = 1;\n\n" + funcs + compiled + broken + funcs + "})));\n")
    parsed = parsed_text("javascript", text)
    assert available(parsed, _after(text, "var x = 1;"), _after(text, "var x = 1;")) == []


def test_a_python_header_wrapped_onto_the_next_line_is_not_read_as_lacking_its_colon():
    text = "class A:\n    def total(self, values,\n              limit):\n        return sum(values[:limit])\n"
    parsed = parsed_text("python", text)
    assert not _left_open_near(parsed, parsed.tree.root_node, _after(text, "values,"))


_FAR_PAD = "".join(f"    v += {i};\n" for i in range(40))


@pytest.mark.parametrize("language_id, text, at", [
    # A line of the preprocessor at column 0, a template literal's lines, a namespace's unindented body: none ends
    # a block as laid out, and with an error far below in the same statement, a closed block was taken for open.
    ("c", "int f(int v) {\n    v += 1;\n#ifdef DEBUG\n    log(v);\n#endif\n    v += 2;\n" + _FAR_PAD
     + "    g(v;\n    return v;\n}\n", "v += 2;"),
    ("javascript", "function f(v) {\n  const q = `\nSELECT *\nFROM t`;\n  run(q);\n" + _FAR_PAD.replace("    ", "  ")
     + "  g(v;\n  return v;\n}\n", "run(q);"),
    ("cpp", "#pragma once\n\nnamespace at {\n\n// Sums two values.\nint add(int a, int b) {\n  return a + b;\n}\n\n"
     + "".join(f"int v{i}() {{\n  return {i};\n}}\n\n" for i in range(15))
     + "void broken() {\n  call(1, 2;\n}\n\n}  // namespace at\n", "return a + b;"),
])
def test_lines_that_end_no_block_leave_a_closed_block_closed_far_from_the_parse_error(language_id, text, at):
    parsed = parsed_text(language_id, text)
    assert nearest_problem(parsed, _after(text, at)) is None
    assert available(parsed, _after(text, at), _after(text, at)) == []


def test_a_block_that_ended_above_the_cursor_is_not_closed_from_it():
    # The function's `}` is missing above the namespace below it: closed from inside the namespace, the `}` went
    # after the namespace, which moved into the function.
    body = "".join(f"  int v{i} = {i};\n" for i in range(3))
    text = ("namespace at {\ninline int pad(int self) {\n  return call(self);\n\nnamespace symint {\n"
            "inline int pad(int self) {\n" + body + "  return call(self);\n}\n}\n"
            + "".join(f"inline int f{i}() {{\n  return {i};\n}}\n" for i in range(12)) + "}\n")
    parsed = parsed_text("cpp", text)
    cursor = _after(text, "int v1 = 1;")
    assert nearest_problem(parsed, cursor) is None
    assert ActionKind.CLOSE_STRUCTURE not in available(parsed, cursor, cursor)


def test_the_lines_an_action_inserts_end_as_the_cursors_line_does():
    # A block pasted with CRLF lines into a file of LF lines: the file's first (or most common) break gave the
    # inserted line another ending than the lines around it.
    text = "a = 1\nb = 2\nc = 3\nd = 4\nconst f = () => {\r\n  if (a) {\r\n    g(1);\r\n|"
    closed = _closed_at_bar("javascript", text)
    assert "\r\n" in closed[text.index("|"):] and "\n" not in closed[text.index("|"):].replace("\r\n", "")


def test_close_structure_ends_a_template_literal_before_the_semicolon_the_cursor_stands_after():
    text = "function f(n) {\n  return `n: ${n} items;\n}\n"
    line = "  return `n: ${n} items;"
    at = text.index(line) + len(line)  # the cursor where the user stops typing the line
    edit = close_structure(parsed_text("javascript", text), at, Request(WritesFills(), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit
    assert "  return `n: ${n} items`;\n" in apply_replacements(text, list(edit.replacements))


@pytest.mark.parametrize("line", ['    label = f"hello, {name}!', '    label = f"{greeting}, {name}!  # both'])
def test_close_structure_ends_an_f_string_whose_fields_are_closed(line):
    # The fields' braces were read as the line's brackets: no closer was found, and the model's fill was all.
    text = f"def greet(name):\n{line}\n    return label\n"
    at = text.index(line) + len(line)
    edit = close_structure(parsed_text("python", text), at, Request(WritesFills(), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit
    assert apply_replacements(text, list(edit.replacements)).splitlines()[1] == line + '"'


def test_close_structure_ends_a_template_literal_on_its_line_where_a_block_closes_below_it():
    # With the cursor in the next function, the quote went there: the `}` of the literal's function and the next
    # function's header became its text, and the file parsed.
    text = "function total(n) {\n  return `n: ${n} items\n}\n\nfunction pending() {\n  return 1;\n}\n"
    at = text.index("function pending() {\n") + len("function pending() {\n")
    edit = close_structure(parsed_text("javascript", text), at, Request(WritesFills(), Settings(file_lookup=False)))
    assert apply_replacements(text, list(edit.replacements)) == text.replace("items\n", "items`\n")
    # Its own lines may stand at any depth: SQL at column 0 in a function is the literal's.
    text = "function f() {\n  const q = `\nSELECT *\nFROM t\n"
    edit = close_structure(parsed_text("javascript", text), len(text),
                           Request(WritesFills(), Settings(file_lookup=False)))
    assert apply_replacements(text, list(edit.replacements)) == text + "`\n}"


@pytest.mark.parametrize("text, closed", [
    # JSON at column 0 in a literal: its `}` is the literal's, not the end of the function.
    ('function f() {\n  const body = `\n{\n  "a": 1\n}', 'function f() {\n  const body = `\n{\n  "a": 1\n}`\n}'),
    # A `;` on a later line is the literal's own (CSS, SQL): the quote goes after it.
    ("const Button = styled.button`\n  color: red;\n  margin: 0;", "const Button = styled.button`\n  color: red;\n"
                                                                  "  margin: 0;`"),
])
def test_close_structure_keeps_a_template_literals_own_lines_in_it(text, closed):
    edit = close_structure(parsed_text("javascript", text), len(text),
                           Request(WritesFills(), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit
    assert apply_replacements(text, list(edit.replacements)) == closed


_FAR_BELOW = "".join(f"v{i} = {i}\n" for i in range(40))


@pytest.mark.parametrize("language_id, marked, other", [
    # The parse read the `(` left open and the `[` of the next function's header as one ERROR, which the `)` left
    # to the `[` alone: one syntax problem before and after, and the closer was refused.
    ("python", "def to_ascii(label):\n    return encode(label|\n\n\ndef to_unicode(label: Union[bytes, bytearray) "
               "-> str:\n    return decode(label)\n", ("bytearray)", "bytearray])")),
    ("python", "count = add(first, |\nprint(count)\n" + _FAR_BELOW + "value = = 2\n", ("= = 2", "= 2")),
    ("javascript", "module.exports = function  {\n  throw new Error(\n    'ws does not work in the browser. ' +\n"
                   "      'Browser clients must use the native WebSocket object'\n  |;\n};\n",
     ("function  {", "function () {")),
    ("typescript", "import { EventPolyfill | from './EventPolyfill'\n\nexport class ProgressEventPolyfill extends "
                   "EventPolyfill {\n  readonly loaded: number\n\n  constructor(type: string, init? {\n"
                   "    super(type)\n    this.loaded = init?.loaded || 0\n  }\n}\n", ("init? {", "init?: Init) {")),
    ("go", "package main\n\nfunc mean(xs []int) int {\n\treturn sum(xs) / len(xs\n}\n\nfunc main() {\n"
           "\tprintln(mean([]int{1, 2, 3}|)\n}\n", ("len(xs\n", "len(xs)\n")),
    # The `;` the file ends its statements with comes too: with another error, the count after it was never none.
    ("javascript", "const a = f(1);\nconst b = f(2);\nconst c = f(3);\nconst d = k(4|\nconsole.log(d);\n"
                   + "".join(f"const v{i} = {i};\n" for i in range(40)) + "const z = = 2;\n", ("= = 2", "= 2")),
])
def test_close_structure_closes_the_structure_at_the_cursor_as_it_would_without_another_error(language_id, marked,
                                                                                             other):
    # The user is part way through two places: the cursor's gets the edit the file without the other would get.
    cursor, text = marked.index("|"), marked.replace("|", "")
    assert text.count(other[0]) == 1
    alone = text.replace(*other)
    with_other = close_structure(parsed_text(language_id, text), cursor, Request(WritesFills(), SETTINGS))
    assert not isinstance(with_other, NoEdit), with_other
    moved = cursor + (len(alone) - len(text) if text.index(other[0]) < cursor else 0)
    closed = apply_replacements(text, list(with_other.replacements))
    assert closed.replace(*other) == _closed(language_id, alone, moved)


def test_a_fill_that_joins_the_error_at_the_cursor_to_another_is_no_close():
    # The `,` after `string` below took the file from two syntax problems to one: the ERROR that `h.symbols[` begins
    # ran on through the next error, and the `[` stayed open.
    text = ("def imitate_pydoc(string):\n    h = pydoc.help\n    with suppress(KeyError):\n"
            "        string = h.symbols[\n        string, _, related = string.partition(' ')\n\n"
            "    def get_target:\n        return h.topics.get(s, h.keywords.get(s))\n\n"
            "    try:\n        label, related = string\n    except TypeError:\n        return ''\n")
    cursor = _after(text, "h.symbols[")
    edit = close_structure(parsed_text("python", text), cursor, Request(WritesFills([","]), SETTINGS))
    assert edit == NoEdit("found no fill here after which the syntax error nearest the cursor is gone")
