"""The closers a line owes while typing (infill_ls.suggestions.parsing_first): a Rust macro call's `;` (only a
`()`-valued macro's), none in a string (a `#define` body's too), a literal's own `}`, a statement's `;` before the
`}` of a block opened on its line (and after it), that `}` as the lines below lay the block out, a call's `;` where
the parse runs it into the next line (after the model's own `)` too), a closer the parser invents, a `#define` body's
brackets, and scans that read a long line's end."""

from __future__ import annotations

import pytest

from engine.closers import SCAN_CHARS
from engine.holes import is_parse_valid
from infill_ls import suggestions
from infill_ls.suggestions import Suggestion, parsing_first
from infill_ls.documents import DocumentStore
from infill_ls.syntax import SyntaxIndex


def _marked(language_id: str, marked: str):
    """The parse of ``marked`` without its `|`, and the offset of the `|`."""
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(f"file:///t.{language_id}", language_id, 1, marked.replace("|", "", 1))
    index.opened(snapshot)
    return index.parse(snapshot), marked.index("|")


@pytest.mark.parametrize("marked, shown", [
    # tree-sitter-rust reads a `(` or `[` macro call without its `;` as a statement, though Rust wants the `;`
    # before the next statement, and where the block's value is `()` (a function with no return type, a loop's
    # body) the call is one: a `)` alone kept the file parsing, and was shown.
    ("fn main() {\n    let total = 3;\n    println!(\"{}\", total|\n}\n", ");"),
    ("fn main() {\n    let total = 3;\n    println!(\"{}\", total|\n", ");"),  # the body's `}` not written yet
    ("fn main() {\n    println!(\"{}\", total|\n    let y = 2;\n}\n", ");"),
    ("fn main() {\n    assert_eq!(a, f(b|\n}\n", "));"),
    ("fn main() {\n    for i in 0..3 {\n        println!(\"{}\", i|\n    }\n}\n", ");"),
    ("impl S {\n    fn show(&self) {\n        println!(\"{}\", self.x|\n", ");"),
    ("fn main() {\n    println!(\"{}\", total|  // why\n}\n", ");"),
    # A block's value, an argument, a `let`'s value, a match arm's: as before.
    ("fn f() -> String {\n    format!(\"{}\", x|\n}\n", ")"),
    ("fn f() -> Vec<i32> {\n    vec![1, 2|\n}\n", "]"),
    ("fn main() {\n    let v = vec![1, 2|\n}\n", "];"),
    ("fn main() {\n    f(format!(\"{}\", x|\n}\n", "))"),
    ("fn main() {\n    match x {\n        1 => println!(\"a\"|\n    }\n}\n", ")"),
    # The line's own `;` after the cursor.
    ("fn main() {\n    println!(\"{}\", total|;\n}\n", ")"),
])
def test_a_rust_macro_call_statement_gets_its_semicolon_after_its_closers(marked, shown):
    parsed, at = _marked("rust", marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1" + shown, ", 1"]


@pytest.mark.parametrize("marked, shown", [
    # A macro whose value is used before its `;`: `write!(..)?`, `writeln!(..).unwrap()`, `vec![..].iter()`. The
    # user types the `?` or `.` next, and a `;` would stand before it.
    ("fn dump(&self, out: &mut dyn Write) -> io::Result<()> {\n    for h in &self.headers {\n"
     "        write!(out, \"{:width$} \", h|\n    }\n    out.flush()\n}\n", ")"),
    ("fn dump(&self, out: &mut dyn Write) -> io::Result<()> {\n    writeln!(out|\n    out.flush()\n}\n", ")"),
    ("fn dump(&self, out: &mut dyn Write) -> io::Result<()> {\n    for row in &self.rows {\n"
     "        writeln!(out, \"{}\", line.join(|\n    }\n    out.flush()\n}\n", "))"),
    ("fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n    write!(f, \"[\"|\n"
     "    write!(f, \"]\")\n}\n", ")"),
    ("fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n    for h in &self.headers {\n"
     "        write!(f, \"{}\", h|\n    }\n    Ok(())\n}\n", ")"),
    ("fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n    write!(f, \"P\"|\n    Ok(())\n}\n", ")"),
    ("fn dump(out: &mut Vec<u8>) {\n    writeln!(out, \"x = {}\", 1|\n    out.flush().unwrap();\n}\n", ")"),
    ("fn main() {\n    writeln!(lock, \"{}\", t|\n    let total = 3;\n}\n", ")"),
    ("fn main() {\n    vec![1, 2, 3|\n    println!(\"total\");\n}\n", "]"),
])
def test_a_rust_macro_call_whose_value_is_used_keeps_its_bare_closer(marked, shown):
    parsed, at = _marked("rust", marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1" + shown, ", 1"]


@pytest.mark.parametrize("language, marked", [
    # A `\` typed in a string the editor closed (`"|")`) escapes its closing quote: the string runs on, unclosed,
    # and a `)` at the cursor (`",\)"`) parses, as the string's text.
    ("javascript", 'function f(names) {\n  return names.join(",\\|");\n}\n'),
    ("javascript", 'function f(names) {\n  return names.join(",\\|")\n}\n'),
    ("typescript", "function f(names: string[]) {\n  return names.join('\\|');\n}\n"),
    ("c", '#include <stdio.h>\nint main(void) {\n    printf("%d\\|");\n}\n'),
    ("cpp", 'int main() {\n    std::printf("%d\\|");\n}\n'),
    ("java", 'class A {\n    void f() {\n        System.out.print("x\\|");\n    }\n}\n'),
    ("go", 'package main\n\nfunc main() {\n\tfmt.Print("x\\|")\n}\n'),
    ("python", 'def f(names):\n    print("\\|")\n'),
    ("rust", 'fn main() {\n    println!("x\\|");\n}\n'),
])
def test_no_closer_is_offered_that_would_be_text_of_a_string(language, marked):
    parsed, at = _marked(language, marked)
    assert parsing_first(parsed, at, []) == []
    assert [s.text for s in parsing_first(parsed, at, [Suggestion("n", at, at, -0.1)])] == ["n"]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion("n, x", at, at, -0.1)])] == ["n, x"]


@pytest.mark.parametrize("language, marked, shown", [
    # A literal's `{` opened on the cursor's line, as a function's last statement: with `)` alone the literal
    # took the function's `}`, and the parser invented one for the function at the end of the file.
    ("go", "package main\n\nfunc main() {\n\tp := Point{X: 1, Y: f(2|\n}\n", ")}"),
    ("go", "package main\n\nfunc main() {\n\txs := []int{1, f(2|\n}\n", ")}"),
    ("go", 'package main\n\nimport "strings"\n\nfunc main() {\n\tm := map[string]string{"a": strings.ToUpper("b"|\n}\n',
     ")}"),
    ("javascript", "function f() {\n  const p = {x: 1, y: f(2|\n}\n", ")}"),
    ("typescript", "function f() {\n  const p = {x: 1, y: f(2|\n}\n", ")}"),
    # As before: with a statement after it, or the function's `}` not written yet.
    ("go", "package main\n\nfunc main() {\n\tp := Point{X: 1, Y: f(2|\n\t_ = p\n}\n", ")}"),
    ("go", "package main\n\nfunc main() {\n\tp := Point{X: 1, Y: f(2|\n", ")}"),
    ("javascript", "function f() {\n  const p = {x: 1, y: f(2|\n  return p;\n}\n", ")}"),
    ("javascript", "function f() {\n  foo(a|\n", ")"),
    ("c", "int main(void) {\n    int a[] = {1, f(2|\n}\n", ")};"),
    ("cpp", "int main() {\n    int a[] = {1, f(2|\n}\n", ")};"),
    ("java", "class A {\n    void f() {\n        int[] a = {1, f(2|\n    }\n}\n", ")};"),
    ("rust", "fn main() {\n    let p = Point { x: 1, y: f(2|\n}\n", ")};"),
    ("rust", "fn main() {\n    let p = Point { x: 1, y: f(2|\n", ")};"),
])
def test_a_literal_opened_on_the_line_is_closed_on_it_not_by_the_functions_brace(language, marked, shown):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]


@pytest.mark.parametrize("language, marked, shown", [
    # A block's `{` opened on the line, as a function's last statement: the `;` ends the statement inside the block,
    # before its `}`, which is spaced as its `{` is. `)}` + `;` was tried alone, and nothing was shown.
    ("c", "int f(int x) {\n    if (x) { return g(2|\n}\n", "); }"),
    ("cpp", "int f(int x) {\n    if (x) { return g(2|\n}\n", "); }"),
    ("java", "class A {\n    int f(boolean x) {\n        if (x) { return g(2|\n    }\n}\n", "); }"),
    ("c", "int f(int x) {\n    if (x) {return g(2|\n}\n", ");}"),
    ("c", "int f(int x) {\n    while (x) { x = g(h(2|\n}\n", ")); }"),
    # Rust's block ends with its value: no `;` before the `}`.
    ("rust", "fn f(x: bool) {\n    if x { g(2|\n}\n", ")}"),
])
def test_a_statement_in_a_block_opened_on_the_line_gets_its_semicolon_before_the_blocks_brace(language, marked,
                                                                                               shown):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert is_parse_valid(parsed.snapshot.text[:at] + shown + parsed.snapshot.text[at:], language)
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1" + shown, ", 1"]


@pytest.mark.parametrize("language", ["c", "cpp"])
def test_a_macro_body_is_closed_by_its_own_brackets(language):
    # tree-sitter keeps a `#define`'s body as text: any fill there parses, `)` that leaves it unbalanced too.
    marked = "#include <stdio.h>\n\n#define SQUARE(x) ((x) * (x|\n\nint main(void) { return SQUARE(2); }\n"
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [("))", "closers")]
    offered = [Suggestion(fill, at, at, -0.1) for fill in (" + 1", ")", "))")]
    assert [s.text for s in parsing_first(parsed, at, offered)] == ["))", " + 1", ")"]
    assert [s.text for s in parsing_first(parsed, at, offered[:2])] == [" + 1))", " + 1", ")"]
    # A body balanced already, one continued on the next line, one inside a function: as the brackets say.
    for marked, shown in (("#define TWICE(x) (2 * (x))|\nint y;\n", []),
                          ("#define SUM(a, b) ((a) + \\\n    (b|\nint y;\n", ["))"]),
                          ("int f(void) {\n#define ONE(x) (x|\n    return 1;\n}\n", [")"])):
        parsed, at = _marked(language, marked)
        assert [s.text for s in parsing_first(parsed, at, [])] == shown, marked


@pytest.mark.parametrize("language, marked", [
    # tree-sitter keeps a `#define`'s body as text, so no string is seen there: a closer at the cursor was written
    # into the literal left open before it.
    ("c", '#define LOG(fmt, ...) fprintf(stderr, "|\n\nint y;\n'),
    ("c", '#define LOG(fmt, ...) fprintf(stderr, "[|\n\nint y;\n'),
    ("c", "#define IS_SPACE(c) ((c) == '|\n\nint y;\n"),
    ("cpp", '#define TRACE(x) std::printf("trace (|\n\nint y;\n'),
    ("c", '#define LOG(fmt, ...) fprintf(stderr, "a \\"(|\n\nint y;\n'),  # an escaped quote ends no string
    ("c", '#define LOG(fmt, ...) fprintf(stderr, "a \\\n    (|\n\nint y;\n'),  # nor does a continued line
])
def test_no_closer_is_offered_in_a_literal_a_macro_body_leaves_open(language, marked):
    parsed, at = _marked(language, marked)
    assert parsing_first(parsed, at, []) == []
    assert [s.text for s in parsing_first(parsed, at, [Suggestion("n", at, at, -0.1)])] == ["n"]


@pytest.mark.parametrize("language, marked, shown", [
    ("c", "#define MIN(a, b) ((a) < (b) ? (a) : (b|\n\nint y;\n", "))"),
    ("c", '#define LOG(msg) fprintf(stderr, "%s\\n", (msg|\n\nint y;\n', "))"),
    ("c", '#define LOG(msg) fprintf(stderr, "a\\\\", (msg|\n\nint y;\n', "))"),  # `\\` escapes no quote
    ("c", "#define IS_QUOTE(c) ((c) == '\\'' && f((c)|\n\nint y;\n", "))"),
    ("cpp", "#define MEGA(x) ((x) * 1'000'000 + f((x)|\n\nint y;\n", "))"),  # C++14's digit separators
])
def test_a_macro_body_whose_literals_are_closed_gets_its_closers(language, marked, shown):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]


@pytest.mark.parametrize("language, marked, fill, shown", [
    # A fill that closes the literal the cursor stands in: the body's closers follow it.
    ("c", "#define IS_SPACE(c) ((c) == '|\n\nint y;\n", " ' || (c) == '\\t'", " ' || (c) == '\\t')"),
    ("c", '#define LOG(msg) fprintf(stderr, "|\n\nint y;\n', '%s\\n", (msg', '%s\\n", (msg))'),
    # One that opens a literal is not closed, as the closers would be its text: the closers alone come first.
    ("c", "#define IS_A(c) f((c|\n\nint y;\n", ") == '", "))"),
    ("cpp", '#define TRACE(x) std::printf(|\n\nint y;\n', '"trace (', ")"),
])
def test_a_fill_in_a_macro_body_is_closed_only_outside_a_literal(language, marked, fill, shown):
    parsed, at = _marked(language, marked)
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(fill, at, at, -0.1)])] == [shown, fill]


def test_the_scans_of_a_long_line_read_its_end_not_all_of_it(monkeypatch):
    # A minified line: each test of a fill scanned the whole line for the brackets it leaves open.
    item = '{"id": 1, "tags": ["a", "b"], "f": g(h(1), [2, 3])}, '
    marked = "const data = [" + item * (6 * SCAN_CHARS // len(item)) + "fmt(a, b|\nconsole.log(data);\n"
    parsed, at = _marked("javascript", marked)
    shown = [s.text for s in parsing_first(parsed, at, [Suggestion(", c", at, at, -0.1)])]
    scanned: list[int] = []

    def counted(scan):
        def scan_counted(before, *rest, **rules):
            scanned.append(len(before))
            return scan(before, *rest, **rules)
        return scan_counted

    for name in ("still_open", "owed_on_line", "owed_below"):
        monkeypatch.setattr(suggestions, name, counted(getattr(suggestions, name)))
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", c", at, at, -0.1)])] == shown
    assert scanned and max(scanned) <= 2 * SCAN_CHARS


@pytest.mark.parametrize("language, marked", [
    # The block the line opens goes on below, deeper than the line, its `}` not written yet: a `}` at the cursor
    # put the lines of its body after it, outside the block.
    ("c", "int f(int x) {\n    if (x) { foo(a|\n        bar();\n"),
    ("c", "int f(int x) {\n    while (x) { x = step(x|\n        count++;\n"),
    ("cpp", "int f(int x) {\n    if (x) { foo(a|\n        bar();\n"),
    ("c", "int f(int x) {\n    if (x) { foo(a|\n        bar();\n    }\n}\n"),
])
def test_a_block_whose_body_goes_on_below_the_line_is_not_closed_on_it(language, marked):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(");", "closers")]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1);", ", 1"]


@pytest.mark.parametrize("language, marked, shown", [
    # tree-sitter-c reads `free(buf)` above `buf = NULL;` as a declaration of `buf` with a macro's type, and `f(x)`
    # above `*p = 1;` as a product: the `)` alone parsed, and the `;` the statement owes was not shown.
    ("c", "#include <stdlib.h>\n\nvoid release(char *buf) {\n    free(buf|\n    buf = NULL;\n}\n", ");"),
    ("c", "void render(struct ctx *ctx) {\n    draw(ctx|\n    total = 0;\n}\n", ");"),
    ("c", "void render(struct ctx *ctx) {\n    clear(ctx|\n    flush();\n}\n", ");"),
    ("c", "void f(int *p) {\n    init(&cfg|\n    *p = 1;\n}\n", ");"),
    ("cpp", "void f(int *p) {\n    draw(ctx|\n    *p = 1;\n}\n", ");"),
    ("rust", "fn main() {\n    draw(ctx|\n    *p = 1;\n}\n", ");"),
    ("c", "void release(char *buf) {\n\tfree(buf|\n\tbuf = NULL;\n}\n", ");"),
    ("c", "int f(int x) {\n    if (x) { foo(a|\n        bar();\n    }\n}\n", ");"),  # left of where it begins
    # An operand on a deeper line, a header's body below, a call chained on a line below, the statement begun on a line above: as before.
    ("c", "int f(int a) {\n    while (f(a|\n    {\n        a--;\n    }\n}\n", "))"),
    ("c", "int f(int a) {\n    while (f(a|\n        a--;\n}\n", "))"),
    ("c", "int main(|\n{\n    return 0;\n}\n", ")"),
    ("c", "int f(int a) {\n    total = f(a|\n        * b;\n    return total;\n}\n", ")"),
    ("c", "int f(int x) { return g(x|\n    + 1;\n}\n", ")"),
    ("java", "class A {\n    void m() {\n        list.stream().filter(x -> f(x|\n            .count();\n    }\n}\n",
     "))"),
    ("java", "class A {\n    void m() {\n        list.stream()\n            .filter(x -> f(x|\n            .count();\n"
     "    }\n}\n", "))"),
])
def test_a_call_statement_the_parse_would_run_into_the_line_below_gets_its_semicolon(language, marked, shown):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion("x", at, at, -0.1)])] == ["x" + shown, "x"]
    # The model's own `)` parsed there too, and was shown without the `;`.
    assert parsing_first(parsed, at, [Suggestion(")", at, at, -0.1)])[0].text == shown


@pytest.mark.parametrize("language, marked, given, shown", [
    # The model wrote the closers alone, and the parse ran the statement into the line below: the `;` it owes
    # follows them, in the suggestion's place.
    ("c", "#include <stdlib.h>\nvoid g(char *buf) {\n    free(buf|\n    buf = NULL;\n}\n", [")"], [");"]),
    ("c", "void h(int x, int a) {\n    if (x) { foo(a|\n        bar();\n    }\n}\n", [")"], [");"]),
    ("c", "void h(int x, int a) {\n    if (x) { foo(a|\n        bar();\n    }\n}\n", [") {", ")"], [") {", ");"]),
    ("c", "void f(int *p) {\n    init(&cfg|\n    *p = 1;\n}\n", [")", ") {"], [");", ") {"]),
    ("cpp", "void f(int *p) {\n    draw(ctx|\n    *p = 1;\n}\n", [")"], [");"]),
    ("cpp", "#include <cstdlib>\nvoid g(char *buf) {\n    free(buf|\n    buf = nullptr;\n}\n", [");", ")"], [");"]),
    ("rust", "fn main() {\n    draw(ctx|\n    *p = 1;\n}\n", [")"], [");"]),
    ("java", "class A {\n    void m() {\n        free(buf|\n        buf = null;\n    }\n}\n", [")"], [");"]),
    # No `;` where the language ends no statement with one, nor where none is owed: a header, a condition before
    # its `{`, a macro call in a file whose calls of it go without, an argument list going on below, a function's
    # value.
    ("javascript", "function m() {\n  free(buf|\n  buf = null;\n}\n", [")"], [")"]),
    ("typescript", "function m(): void {\n  free(buf|\n  buf = null;\n}\n", [")"], [")"]),
    ("go", "package main\n\nfunc m() {\n\tfree(buf|\n\tbuf = nil\n}\n", [")"], [")"]),
    ("c", "int main(|\n{\n    return 0;\n}\n", [")"], [")"]),
    ("c", "int f(int a) {\n    for (i = 0; i < n(a|\n        a--;\n}\n", [")"], [")"]),
    ("c", "int f(int a) {\n    if (a|\n    {\n        a--;\n    }\n}\n", [")"], [")"]),
    ("c", "void f(void) {\n    LIST_INIT(head)\n    LIST_INIT(tail|\n    x = 1;\n}\n", [")"], [")"]),
    ("c", "int f(int a) {\n    total = f(a, g(b|\n            , c);\n    return total;\n}\n", [")"], [")"]),
    ("c", "int f(int a) {\n    total = f(a|\n        * b;\n    return total;\n}\n", [")"], [")"]),
    ("rust", "fn f(a: i32) -> i32 {\n    let b = 1;\n    g(a|\n}\n", [")"], [")"]),
])
def test_closers_alone_from_the_model_get_the_semicolon_the_statement_owes(language, marked, given, shown):
    parsed, at = _marked(language, marked)
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(g, at, at, -0.1) for g in given])] == shown


@pytest.mark.parametrize("language, marked, shown", [
    # The code below stands at or left of the line: the block the line opened ends on it, or it swallows what
    # follows (the file then parses only with the `;` alone, the function's `}` closing the `if`).
    ("c", "int f(int x) {\n    if (x) { return g(2|\n    return 0;\n}\n", "); }"),
    ("java", "class A {\n    int get() { return g(1|\n    int x;\n}\n", "); }"),
    ("go", "package main\n\nfunc f() error {\n\tif err != nil { return g(a|\n\treturn nil\n}\n", ")}"),
    ("javascript", "function main() {\n  const g = () => { f(a|\n  return 1;\n}\n", ")}"),
    ("rust", "impl S {\n    fn get(&self) -> i32 { self.g(1|\n    fn h(&self) {}\n}\n", ")}"),
])
def test_a_block_opened_on_the_line_is_closed_on_it_where_the_code_below_stands_outside_it(language, marked,
                                                                                            shown):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert is_parse_valid(parsed.snapshot.text[:at] + shown + parsed.snapshot.text[at:], language)


@pytest.mark.parametrize("marked, shown", [
    # tree-sitter-rust invents the match's `}` before a `;`, which a body's missing `}` was taken for: `f(v);`
    # ended the arm, which rustc rejects.
    ("fn main() {\n    match x { Some(v) => f(v|\n}\n", ")}"),
    ("fn main() {\n    let y = match x { Some(v) => f(v|\n    let z = 1;\n}\n", ")};"),
])
def test_a_closer_the_parser_invents_on_the_line_is_an_error(marked, shown):
    parsed, at = _marked("rust", marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert is_parse_valid(parsed.snapshot.text[:at] + shown + parsed.snapshot.text[at:], "rust")
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(");", at, at, -0.1)])] == [shown, ");"]
    assert not suggestions._mends(parsed, at, None, None)(");")


@pytest.mark.parametrize("language, marked, shown", [
    # A block the line opened inside a statement that owes its own `;` (a lambda's, a callback's), and a literal's
    # `}` before the block's: the `;` goes before the block's `}`, and the statement's after the rest.
    ("cpp", "int main() {\n    auto g = [&](int a) { return f(a|\n}\n", "); };"),
    ("cpp", "int main() {\n    std::sort(v.begin(), v.end(), [](int a, int b) { return f(a|\n}\n", "); });"),
    ("java", "class A {\n    void m() {\n        list.forEach(x -> { f(x|\n    }\n}\n", "); });"),
    ("java", "class A {\n    void m() {\n        Runnable r = () -> { run(a|\n    }\n}\n", "); };"),
    ("c", "int f(int x) {\n    if (x) { int a[] = {1, f(2|\n}\n", ")}; }"),
    ("cpp", "int f(int x) {\n    if (x) { v.push_back({1, f(2|\n}\n", ")}); }"),
])
def test_a_statement_around_a_block_opened_on_the_line_gets_its_own_semicolon_too(language, marked, shown):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert is_parse_valid(parsed.snapshot.text[:at] + shown + parsed.snapshot.text[at:], language)


@pytest.mark.parametrize("language, marked, fill", [
    # A blank line at the indentation of the line that opened the body, below the body's code: the body is written
    # and its `}` is due here. The parse leaves a missing `}` alone (a body still being written), so a fill that
    # keeps it open used to pass and be shown first (`ex` of the `export` below).
    ("typescript", "interface Props {\n  initial: Todo[];\n  onChange?: () => void;\n|\n\nexport function f() {}\n",
     "ex"),
    ("javascript", "function area(r) {\n  const s = r * r;\n  return Math.PI * s;\n|\n", "return s;"),
    ("go", "func area(r float64) float64 {\n\ts := r * r\n\treturn math.Pi * s\n|\n", "return s"),
    ("java", "class A {\n    int x;\n    void m() {\n        run();\n    |\n", "run();"),
    # The rest of the expression the body stands in after the cursor: the `}` goes before it.
    ("typescript", "function App() {\n  useEffect(() => {\n    if (a) {\n      b();\n    }\n  |, [a]);\n}\n",
     "return [irSe"),
    ("javascript", "app.get('/', (req, res) => {\n  res.send(1);\n|);\n", "res.end()"),
    ("javascript", "call({\n  a: 1,\n|);\n", "b: 2"),
    ("javascript", "res = {\n  anyOf: [\n    res,\n  ]\n|;\n", "return res"),
    ("cpp", "class Box {\n  int w;\n|;\n", "int h;"),
    # A word that goes on after a body's `}` and begins no statement: the body ends before it.
    ("javascript", "if (a) {\n  b();\n|else {\n  c();\n}\n", "c();"),
    ("typescript", "try {\n  run();\n| catch (e) {\n  log(e);\n}\n", "run();"),
    ("java", "class A {\n    void m() {\n        try {\n            run();\n        |finally {\n        }\n    }\n}\n",
     "run();"),
    ("cpp", "void f() {\n  try {\n    run();\n  | catch (...) {\n  }\n}\n", "run();"),
    ("go", "func f(x int) {\n\tif x > 0 {\n\t\trun()\n\t| else {\n\t\tstop()\n\t}\n}\n", "run()"),
])
def test_a_body_laid_out_as_ended_gets_its_closer_before_a_fill_that_leaves_it_open(language, marked, fill):
    parsed, at = _marked(language, marked)
    assert suggestions._body_end_texts(parsed, at)
    assert not suggestions._mends(parsed, at, None, None, True)(fill)
    shown = parsing_first(parsed, at, [Suggestion(fill, at, at, -0.1, "model")])
    assert (shown[0].text, shown[0].source) == ("}", "closers")
    assert [s.text for s in shown[1:]] == [fill]


@pytest.mark.parametrize("language, marked, shown", [
    # The brackets the body's opener line opened before its `{` end with it, before the `;` that ends the statement.
    ("javascript", 'Object.defineProperty(exports, "web", {\n  enumerable: true,\n|;\n', "})"),
    ("typescript", "const ast = build(wrap({\n  id: 1,\n  node\n|;\nuse(ast);\n", "}))"),
    # One opened on a line above the opener's is not the body's to close: `}` alone does not mend, nothing is added.
    ("javascript", "call(\n  1,\n  {\n    a: 1\n  |;\n", None),
])
def test_a_body_ended_before_a_semicolon_takes_the_closers_its_opener_line_owes(language, marked, shown):
    parsed, at = _marked(language, marked)
    assert suggestions._body_end_texts(parsed, at)
    offered = parsing_first(parsed, at, [Suggestion("a: 2", at, at, -0.1, "model")])
    assert [(s.text, s.source) for s in offered] == [*([(shown, "closers")] if shown else []), ("a: 2", "model")]


@pytest.mark.parametrize("language, marked", [
    ("typescript", "interface Props {\n  initial: Todo[];\n  |\n"),  # deeper than the opener: the body goes on
    ("cpp", "namespace io {\n|\n"),  # right below the opener: an empty body, its code yet to come
    ("cpp", "namespace io {\n\nint f();\n|\n"),  # the body at the opener's column: the layout says nothing
    ("javascript", "function f() {\n  return 1;\n}\n|\n"),  # closed already
    ("javascript", "function f() {\n  return 1;\n|\n}\n"),  # its `}` below, as an editor closes it
    ("go", "func f() {\n\tx := 1\n|\n\ty := 2\n}\n"),  # the body goes on below at its depth
    ("javascript", "function f() {\n  return 1;\n|  // done\n"),  # not a blank line
    ("python", "d = {\n    'a': 1,\n|\n"),  # no block braces
    ("javascript", "if (a) {\n  b();\n|c();\n"),  # a statement after the cursor
    ("javascript", "f(() => {\n|}, 1);\n"),  # the `}` there already
    ("javascript", "function f() {\n  let a = 1\n  |;\n"),  # deeper than the opener: a statement of the body
    # Deeper than the body's opener, before the rest of the call: the body goes on (`done()` was to come).
    ("javascript", "const res = new Response(req, (err) => {\n  t.ok(err)\n  |)\n"),
])
def test_a_body_not_laid_out_as_ended_leaves_fills_as_they_were(language, marked):
    parsed, at = _marked(language, marked)
    assert not suggestions._body_end_texts(parsed, at)
