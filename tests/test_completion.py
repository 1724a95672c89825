"""The completion stage without a client: how a request is sized, and which suggestions are shown (and, for the
typing filter's last checks, the same over the real server's stdio)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from engine.errors import Cancelled
from engine.infill import InfillEngine
from engine.tiny import write_random_checkpoint
from infill_ls import completion, suggestions, syntax
from infill_ls.completion import (LINE_HOLE_TOKENS, complete, invoked_order, reads_unbound, steps_for, suggest,
                                  window_budget)
from infill_ls.context import build_context
from infill_ls.settings import Settings
from infill_ls.suggestions import Suggestion, parsing_first
from infill_ls.typing_filter import no_worse
from infill_ls.syntax import Replacement, parses_after
from lsp_support import capabilities, config, init_params, parsed_text, position_of, tiny_model


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model", max_denoising_steps=12)
    return InfillEngine.load(path, device="cpu")


def test_typing_requests_get_a_shorter_schedule_than_explicit_ones(engine):
    assert engine.generation.max_denoising_steps == 12
    assert steps_for(engine, Settings(typing_max_steps=5), explicit=False) == 5
    assert steps_for(engine, Settings(typing_max_steps=5), explicit=True) is None  # the checkpoint's 12
    # The cap never lengthens a schedule: neither the checkpoint's nor the user's maxSteps.
    assert steps_for(engine, Settings(typing_max_steps=20), explicit=False) == 12
    assert steps_for(engine, Settings(max_steps=3, typing_max_steps=5), explicit=False) == 3
    assert steps_for(engine, Settings(max_steps=30, typing_max_steps=None), explicit=False) == 30
    assert steps_for(engine, Settings(max_steps=30, typing_max_steps=None), explicit=True) == 30




def test_suggestions_after_which_the_file_parses_come_first_in_confidence_order():
    text = "def f(x):\n    return g(x\n\ny = [1, 2]\n"
    at = text.index("g(x") + 3
    parsed = parsed_text("python", text)
    ranked = [Suggestion(fill, at, at, confidence) for fill, confidence in
              [("]", -0.1), (", 1", -0.2), (")", -0.3), ("))", -0.4), (", 2)", -0.5)]]
    assert [s.text for s in parsing_first(parsed, at, ranked)] == [")", ", 2)", "]", ", 1", "))"]
    # An error far from the cursor that no suggestion mends: those that mend the cursor's lines still come first.
    broken = parsed_text("python", text + "def (:\n")
    assert [s.text for s in parsing_first(broken, at, ranked)] == [")", ", 2)", "]", ", 1", "))"]
    # One next to the cursor that none mends keeps the model's order.
    broken = parsed_text("python", text.replace("g(x\n", "g(x\n    def (:\n", 1))
    assert parsing_first(broken, at, ranked) == ranked


def test_where_no_suggestion_parses_the_first_closed_so_that_it_does_comes_first():
    text = "def f(x):\n    return g(h(x\n\ny = [1, 2]\n"
    at = text.index("h(x") + 3
    parsed = parsed_text("python", text)
    ranked = [Suggestion(fill, at, at, confidence) for fill, confidence in [(", 1", -0.1), (")", -0.2)]]
    # Neither parses: `, 1` leaves both calls open, `)` one. The first, closed, comes before both, as it was.
    assert [(s.text, s.source) for s in parsing_first(parsed, at, ranked)] == [
        (", 1))", "model"), (", 1", "model"), (")", "model")]
    # A suggestion the closers cannot mend (the string stays open): the brackets alone.
    lone = [Suggestion(" + '", at, at, -0.1, "file")]
    assert [(s.text, s.source) for s in parsing_first(parsed, at, lone)] == [("))", "closers"), (" + '", "file")]
    # Nothing offered: the brackets alone.
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [("))", "closers")]
    # One that parses is left as it is.
    assert parsing_first(parsed, at, [Suggestion("))", at, at, -0.3)]) == [Suggestion("))", at, at, -0.3)]


def test_no_closer_is_offered_for_a_bracket_left_open_far_above_the_cursor():
    # `clamp`'s `if` has no `}`. In `b`, a `}` after the fill makes the file parse (b's own `}` then closes
    # `clamp`), but the bracket is not this place's: nothing is closed here.
    text = ("function a(x: number): number {\n  if (x > 0) {\n    return 1;\n\n  return 0;\n}\n\n"
            "function b(s: number[]): number {\n  return s.;\n}\n")
    at = text.index("s.;") + 2
    parsed = parsed_text("typescript", text)
    assert parses_after(parsed, [Replacement(at, at, "length}")])
    offered = [Suggestion("length", at, at, -0.5)]
    assert parsing_first(parsed, at, offered) == offered
    assert parsing_first(parsed, at, []) == []
    # Python: the call left open on a line above is not closed with the call the cursor is in (`y = g(a))` would
    # pass `y` to `f`).
    text = "x = f(1,\n\ny = g(a\n\nz = 2\n"
    at = text.index("g(a") + 3
    parsed = parsed_text("python", text)
    assert parses_after(parsed, [Replacement(at, at, "))")])
    assert parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)]) == [Suggestion(", 1", at, at, -0.1)]
    # Brackets the cursor is inside are still closed: a call in a callback, the body's `});` after it.
    text = "items.forEach((item) => {\n  total = add(total, item\n});\n"
    at = text.index("item\n") + 4
    parsed = parsed_text("javascript", text)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(")", "closers")]


def _marked(language_id: str, marked: str):
    """The parse of ``marked`` without its `|`, and the offset of the `|`."""
    at = marked.index("|")
    return parsed_text(language_id, marked.replace("|", "", 1)), at


@pytest.mark.parametrize("language, marked", [
    # The editor's auto-closed `(` and `"` after the cursor: the file parses, and a `)` in the string would too.
    ("python", 'def report(total):\n    print("Total |")\n\n\nreport(3)\n'),
    ("javascript", 'function report(total) {\n  console.log("Total |");\n}\n'),
    ("go", 'package main\n\nimport "fmt"\n\nfunc report(total int) {\n\tfmt.Println("Total |")\n}\n'),
    ("rust", 'fn report(total: i32) {\n    println!("Total |");\n}\n'),
    ("python", "def f(x):\n    return g(x)  # see h(|\n"),
])
def test_no_brackets_alone_are_offered_where_the_file_parses_or_inside_a_string_or_comment(language, marked):
    parsed, at = _marked(language, marked)
    assert parsing_first(parsed, at, []) == []
    offered = [Suggestion("so far", at, at, -0.1)]
    assert parsing_first(parsed, at, offered) == offered


def test_brackets_alone_close_an_error_at_the_cursor_in_code_and_in_a_strings_interpolation():
    for language, marked, closers in (("python", "print(x|\n", ")"), ("python", 'x = f"{g(1|}"\n', ")"),
                                      ("javascript", "const s = `${f(1|}`;\n", ")")):
        parsed, at = _marked(language, marked)
        assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(closers, "closers")], marked


@pytest.mark.parametrize("language, marked", [
    # A function written top to bottom without the editor's closers: its `{` is open on every line of its body.
    ("typescript", "export function total(lines: Line[]): number {\n  let su|\n"),
    ("go", "package stack\n\nfunc (s *Stack) Len() int {\n\tn := len(s.items)|\n"),
    ("rust", "pub struct Stack {\n    items: Vec<i32>,\n}\n\nimpl Stack {|\n"),
    ("typescript", "function total(lines) {\n  let sum = 0;\n  for (const l of lines) {\n    sum += l;\n  }|\n"),
    # The editor's `}` right after the cursor closes the loop's `{`; the function's is still not this line's.
    ("javascript", "function total(lines) {\n  let sum = 0;\n  for (const l of lines) {|}\n"),
    ("rust", "impl Stack {\n    fn len(&self) -> usize {|}\n"),
])
def test_no_block_brace_is_put_on_the_cursors_line_after_code(language, marked):
    parsed, at = _marked(language, marked)
    assert parsing_first(parsed, at, []) == []
    # Nor after a fill: the brackets the line opened are closed, a block's brace is not.
    offered = [Suggestion(" + 1", at, at, -0.1)]
    assert all("}" not in s.text for s in parsing_first(parsed, at, offered))


def test_closers_that_stay_on_the_line_are_still_offered_while_a_block_is_open():
    parsed, at = _marked("javascript", "function f(xs) {\n  return g(xs|\n")
    # `, 1)}` parses; `}` is the function's, not this line's to close: `, 1)` mends the line.
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1)", ", 1"]
    for language, marked, shown in (
            ("javascript", "function f(xs) {\n  return g(xs|\n}\n", ")"),  # the function's `}` below
            ("javascript", "const o = {a: 1, b: 2|\n", "}"),  # an object opened on the line
            ("javascript", "function f() {\n  return 1;\n|\n", "}"),  # on a line of its own, at the opener's column
            ("python", "x = foo([1, 2|)\n", "]")):  # the editor's `)` closes the call
        parsed, at = _marked(language, marked)
        assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")], marked

@pytest.mark.parametrize("language, marked", [
    # A function written top to bottom without the editor's closers: its `}` is not written yet, so no closer at
    # the cursor makes the whole file parse; the line's own `)` mends the line, and is offered.
    ("javascript", "function total(xs) {\n  const n = count(xs|\n"),
    ("typescript", "export function total(xs: number[]): number {\n  const n = count(xs|\n"),
    ("go", "package main\n\nfunc total(xs []int) int {\n\tn := count(xs|\n"),
])
def test_a_line_in_a_body_whose_brace_is_not_written_yet_gets_its_own_closers(language, marked):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(")", "closers")]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1)", ", 1"]
    # An error elsewhere that the closers do not mend still leaves them unoffered, as one they would add does.
    parsed, at = _marked(language, marked.replace("count(xs|", "count(xs|\n  x = (((", 1))
    assert all(not s.text.startswith(")") for s in parsing_first(parsed, at, []))


def test_a_python_brace_is_a_bracket_closed_on_the_line_it_is_left_open_on():
    # Python has no brace blocks: a dict's `{` opened on the line above is closed as a list's `[` is.
    for marked, shown in (('d = {"a": 1,\n     "b": 2|\n', "}"), ('d = {"a": 1,\n     "b": g(2|\n', ")}"),
                          ('d = ["a",\n     "b"|\n', "]")):
        parsed, at = _marked("python", marked)
        assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")], marked


@pytest.mark.parametrize("language, marked", [
    ("c", "int f(int a, int b) {\n    return combine(a, b|\n}\n"),
    ("cpp", "int f(int a, int b) {\n    return combine(a, b|\n}\n"),
    ("java", "class A {\n    int f(int a, int b) {\n        return combine(a, b|\n    }\n}\n"),
    ("rust", "fn f(a: i32, b: i32) -> i32 {\n    let c = combine(a, b|\n    c\n}\n"),
])
def test_a_statement_that_ends_with_a_semicolon_gets_it_after_its_closers(language, marked):
    parsed, at = _marked(language, marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(");", "closers")]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1);", ", 1"]
    # The line's own `;` after the cursor: the closers alone.
    parsed, at = _marked(language, marked.replace("b|\n", "b|;\n", 1))
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(")", "closers")]


def test_no_semicolon_ends_a_header_as_an_empty_body():
    # `if (ready(a));` parses, with an `if` that does nothing.
    for language, marked in (("c", "int f(int a) {\n    if (ready(a|\n}\n"),
                             ("java", "class A {\n    void f(int a) {\n        while (ready(a|\n    }\n}\n")):
        parsed, at = _marked(language, marked)
        assert all(";" not in s.text for s in parsing_first(parsed, at, [])), marked


@pytest.mark.parametrize("language, marked", [
    ("c", "#include <stdio.h>\n\nint main(|\n"),
    ("c", "int sum(int *a, int n|\n\nint main(void) {\n    return 0;\n}\n"),
    ("cpp", "class A {\npublic:\n    void add(int a|\n};\n"),
    ("java", "public class Stack {\n    public int add(int a, int b|\n"),
    ("rust", "fn count(words: &[String]|\n"),
    ("rust", "impl S {\n    pub fn new(x: i32|\n}\n"),
])
def test_no_semicolon_ends_a_function_header_being_typed(language, marked):
    # `int main();` parses, as a prototype: the header is typed for the body that follows.
    parsed, at = _marked(language, marked)
    assert all(";" not in s.text for s in parsing_first(parsed, at, [])), marked
    parsed, at = _marked(language, marked.replace("|", ")|", 1))
    mends = suggestions._mends(parsed, at, suggestions.macro_body(parsed, at), None)
    assert not mends(";"), marked  # after the user's `)`
    # A call's, an initializer's, a macro's and a C++ local built by its constructor still get theirs.
    for language, marked, shown in (("c", "int main(void) {\n    printf(\"%d\", f(x|\n}\n", "));"),
                                    ("c", "int main(void) {\n    int a[] = {1, 2|\n}\n", "};"),
                                    ("cpp", "int main() {\n    Widget w(x|\n}\n", ");"),
                                    ("java", "class A {\n    void f() {\n        Runnable r = () -> g(x|\n    }\n}\n",
                                     ");"),
                                    ("rust", "fn f() {\n    let v = vec![1, 2|\n}\n", "];")):
        parsed, at = _marked(language, marked)
        assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")], marked


@pytest.mark.parametrize("marked, shown", [
    # tree-sitter-rust reads a body whose `}` is not written yet as one ERROR from the file's start, where the
    # other grammars invent the `}`.
    ("fn f(x: Option<i32>) -> i32 {\n    match x {\n        Some(v) => g(v|\n", ")"),
    ("fn main() {\n    println!(\"{}\", g(x|\n", "));"),  # a statement: its `;` too
    ("fn main() {\n    let v = g(x|\n\nfn other() {}\n", ");"),
    ("impl S {\n    fn f(&self) {\n        self.g(x|\n", ")"),
])
def test_a_rust_line_in_a_body_whose_brace_is_not_written_yet_gets_its_own_closers(marked, shown):
    parsed, at = _marked("rust", marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    # An error below that the closers do not mend still leaves them unoffered.
    parsed, at = _marked("rust", marked.replace("|", "|\n    let = (((", 1))
    assert all(not s.text.startswith(")") for s in parsing_first(parsed, at, []))


def test_a_trailing_comment_does_not_stop_the_semicolon():
    for language, marked in (("c", "int main(void) {\n    int v = g(x|  // (a\n}\n"),
                             ("java", "class A {\n    void f() {\n        int v = g(x|  /* why */\n    }\n}\n")):
        parsed, at = _marked(language, marked)
        assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(");", "closers")], marked
    # Code after a comment on the line still has its say.
    parsed, at = _marked("c", "int main(void) {\n    int v = g(x|  /* a */ + 1;\n}\n")
    assert all(";" not in s.text for s in parsing_first(parsed, at, []))


def test_a_hash_is_code_where_the_language_has_no_hash_comments():
    for language, marked, shown in (
            ("rust", "#[derive(Debug, Clone|\nstruct P {\n    x: i32,\n}\n", ")]"),
            ("javascript", "class Cart {\n  #items = [];\n  add(x) {\n    this.#items.push(x|\n  }\n}\n", ")"),
            # Python's `#` begins a comment: the `(` in it is no bracket.
            ("python", "x = f(a,  # (see g(\n      b|\n", ")")):
        parsed, at = _marked(language, marked)
        assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")], marked



def test_while_typing_a_suggestion_that_adds_a_syntax_error_is_dropped():
    # Half-typed code: the call is open, so the file has an error before any suggestion.
    text = "def f(a):\n    return g(a, \n\ny = [1, 2]\n"
    at = text.index("g(a, ") + 5
    parsed = parsed_text("python", text)
    assert parsed.tree.root_node.has_error
    offered = [Suggestion(fill, at, at, -0.1) for fill in ("b)", "b")]
    assert no_worse(parsed, offered) == offered  # one mends the file, the other leaves it as it was
    # In a file that parses, what the parser cannot make sense of is not shown.
    clean = "x = 1\ny = 2\n"
    parsed = parsed_text("python", clean)
    end = clean.index("\ny")
    offered = [Suggestion(fill, end, end, -0.1) for fill in (" + 1", ")", "  # one", " if", '"')]
    assert [s.text for s in no_worse(parsed, offered)] == [" + 1", "  # one"]
    # An error elsewhere in the file does not let a suggestion break the code here; a line that opens a block
    # (the parser invents the missing closer) is what typing it leaves, and is shown.
    js = "function f(items) {\n  let total = 0;\n  \n  return total;\n}\n\nconst x = ;\n"
    parsed = parsed_text("javascript", js)
    at = js.index("  \n") + 2
    offered = [Suggestion(fill, at, at, -0.1) for fill in
               ("total += 1;", "for (const item of items) {", '"', ")", "total +=")]
    assert [s.text for s in no_worse(parsed, offered)] == ["total += 1;", "for (const item of items) {"]
    # A call the suggestion leaves open is no such line: the parser invents its `)` too, but nothing will close it.
    for language, source, fills, shown in (
            ("javascript", "const x = 1;\n", (" + f(2)", " + f(2"), [" + f(2)"]),
            ("go", "package main\n\nfunc f() {\n\tx := 1\n\t_ = x\n}\n", (" + g(2)", " + g(2"), [" + g(2)"]),
            # An expression's brace too: an object or a composite literal is no body.
            ("javascript", "const x = 1;\n", (" + {a: 1}.a", " + {a: 1"), [" + {a: 1}.a"]),
            ("go", "package main\n\nfunc f() {\n\tx := 1\n\t_ = x\n}\n", (" + T{A: 1}.A", " + T{A: 1"),
             [" + T{A: 1}.A"])):
        at = source.index("1;" if language == "javascript" else "1\n") + 1
        parsed = parsed_text(language, source)
        assert [s.text for s in no_worse(parsed, [Suggestion(f, at, at, -0.1) for f in fills])] == shown, language
    # A file the parser reads as one ERROR (`clamp`'s `if` has no `}`) has one error with the lone quote too, but
    # the quote's is a new one, where there was none.
    rust = ("fn clamp(x: i32, lo: i32, hi: i32) -> i32 {\n    if x < lo {\n        return lo;\n\n    x.min(hi)\n}\n\n"
            "fn twice(y: i32) -> i32 {\n    let z = y * 2;\n    z\n}\n")
    parsed = parsed_text("rust", rust)
    assert parsed.tree.root_node.is_error
    at = rust.index("y * 2;") + 6
    offered = [Suggestion(fill, at, at, -0.1) for fill in ('"', " // doubled", " let w = z;", " if z > 0 {")]
    assert [s.text for s in no_worse(parsed, offered)] == [" // doubled", " let w = z;", " if z > 0 {"]
    # Plain text has no syntax to make worse.
    plain = parsed_text("plaintext", "some notes\n")
    assert no_worse(plain, [Suggestion('"(', 4, 4, -0.1)]) == [Suggestion('"(', 4, 4, -0.1)]


def test_an_invoked_request_lists_no_fill_that_breaks_the_code_beside_ones_that_do_not():
    text = "total = 0\nfor item in items:\n    total += item.price\nprint(total)\n"
    at = text.index("item.price") + len("item.price")
    parsed = parsed_text("python", text)
    offered = [Suggestion(fill, at, at, -0.1 * n) for n, fill in enumerate(('"', " * item.count", " %", "  # net"))]
    assert [s.text for s in invoked_order(parsed, at, offered)] == [" * item.count", "  # net"]
    # Where every fill breaks it, all are listed, as the model ranked them (none closes: a quote stays open).
    broken = [offered[0], offered[2]]
    assert invoked_order(parsed, at, broken) == broken


def test_typing_completion_shows_the_models_suggestion_only_when_it_adds_no_syntax_error(engine):
    # A random-weight model writes junk: across seeds some of its fills break this clean file and some do not.
    text = "function f(items) {\n  let total = 0;\n  total = \n  return total;\n}\n"
    parsed = parsed_text("javascript", text)
    at = text.index("total = \n") + 8
    kept = dropped = 0
    for seed in range(16):
        args = dict(explicit=False, should_stop=lambda: False, seed=seed)
        # The model's suggestion alone: the file spells out "0;" after "total = ", which would come first.
        settings = Settings(file_lookup=False)
        raw = suggest(engine, parsed, at, settings, **args)
        shown = complete(engine, parsed, at, settings, **args)
        # (Nor one that reads a name the file spells nowhere: random weights write new ones.)
        assert len(raw) <= 1 and shown == [s for s in no_worse(parsed, raw) if not reads_unbound(parsed, s)]
        kept += bool(shown)
        dropped += len(raw) - len(shown)
    assert kept and dropped, (kept, dropped)


def _model_ran(*args, **kwargs):
    raise AssertionError("the model ran")


@pytest.fixture
def no_model(engine, monkeypatch):
    """Makes a model pass fail the test (`should_stop` tells nothing: the syntax checks poll it too)."""
    monkeypatch.setattr(engine, "infill_steps", _model_ran)


def test_while_typing_the_files_fill_is_shown_without_a_model_pass(engine, monkeypatch):
    text = "def run(self, a, b):\n    x = self.compute(a, b)\n    print(x)\n    y = self.compute()\n    print(y)\n"
    parsed = parsed_text("python", text)
    at = text.index("y = self.compute(") + len("y = self.compute(")
    with monkeypatch.context() as patched:
        patched.setattr(engine, "infill_steps", _model_ran)
        shown = complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
    assert [(s.text, s.source) for s in shown] == [("a, b", "file")]
    # Offered with the model's fill behind it, the copy is what the check keeps first too.
    offered = suggest(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
    assert [(s.text, s.source) for s in offered][:1] == [("a, b", "file")]
    assert [s.source for s in offered[1:]] == ["model"] * (len(offered) - 1)
    # A copy that would add a syntax error is not shown; the model's fill is checked instead, so the model runs.
    usage = '"""Usage: print(x y)"""\nprint()\n'
    parsed = parsed_text("python", usage)
    at = usage.index("\nprint(") + len("\nprint(")
    assert [c.text for c in engine.copies(usage[:at], usage[at:])] == ["x y"]
    with monkeypatch.context() as patched, pytest.raises(AssertionError, match="the model ran"):
        patched.setattr(engine, "infill_steps", _model_ran)
        complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)


def test_while_typing_nothing_is_offered_in_the_middle_of_a_word(engine, monkeypatch):
    for language, marked in (("javascript", "const value = getU|Value(store);\n"), ("python", "x = comp|ute(a)\n"),
                             ("python", "def f(x_1):\n    return x_|1\n"), ("python", "名|前 = 1\n")):
        parsed, at = _marked(language, marked)
        with monkeypatch.context() as patched:
            patched.setattr(engine, "infill_steps", _model_ran)
            assert complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False) == [], marked
            # Invoked, it fills there all the same.
            with pytest.raises(AssertionError, match="the model ran"):
                complete(engine, parsed, at, Settings(file_lookup=False), explicit=True, should_stop=lambda: False)


def test_while_typing_in_a_comment_no_code_from_the_file_is_shown(engine, monkeypatch):
    # Anything in a comment keeps the file parsing, so the file's code bridged from a word of prose was shown.
    for language, marked in (
            ("java", "class Cart {\n    void add(Item item) {\n        items.add(item);\n    }\n\n"
                     "    String describe() {\n        // list the ite|\n    }\n}\n"),
            ("python", "def add(self, item):\n    self.items.append(item)\n\n\ndef describe(self):\n    # list the ite|\n")):
        parsed, at = _marked(language, marked)
        text = parsed.snapshot.text
        assert engine.copies(text[:at], text[at:])  # the file spells out a fill
        with monkeypatch.context() as patched, pytest.raises(AssertionError, match="the model ran"):
            patched.setattr(engine, "infill_steps", _model_ran)
            complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
        # The model's fill may be shown there.
        shown = complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
        assert all(s.source == "model" for s in shown), marked


def _guessed_only_where_new_lines_are(engine, parsed, at: int, monkeypatch, shown_without: Callable) -> None:
    """While typing at `at`, the model runs only where it guesses new lines (`typingNewLines`, else the checkpoint's
    `infill_new_lines`); where it does not, what is shown passes `shown_without`. An invoked request always runs it."""
    typing = dict(explicit=False, should_stop=lambda: False)
    # The tiny checkpoint's generation config says nothing: the model guesses the lines.
    assert engine.generation.infill_new_lines
    with monkeypatch.context() as patched:
        patched.setattr(engine, "infill_steps", _model_ran)
        with pytest.raises(AssertionError, match="the model ran"):
            complete(engine, parsed, at, Settings(file_lookup=False), **typing)
        # The setting turns it off, and the checkpoint's config does where the setting is left unset.
        assert shown_without(complete(engine, parsed, at, Settings(file_lookup=False, typing_new_lines=False),
                                      **typing))
        patched.setattr(engine.generation, "infill_new_lines", False)
        assert shown_without(complete(engine, parsed, at, Settings(file_lookup=False), **typing)), parsed.snapshot.text
        # The setting turns it back on; and an invoked request is always filled.
        with pytest.raises(AssertionError, match="the model ran"):
            complete(engine, parsed, at, Settings(file_lookup=False, typing_new_lines=True), **typing)
        with pytest.raises(AssertionError, match="the model ran"):
            complete(engine, parsed, at, Settings(file_lookup=False), explicit=True, should_stop=lambda: False)


def test_while_typing_a_blank_line_gets_the_models_guess_only_where_the_model_or_the_user_says_so(engine,
                                                                                                   monkeypatch):
    typing = dict(explicit=False, should_stop=lambda: False)
    # A blank line at a body's indentation, one with a `\r` before its line break, a blank last line with no break.
    # And one in a file of lone `\r` line breaks, which a scan for `\n` read as the whole file's one line.
    for language, marked in (("python", "def total(items):\n    count = 0\n    |\n    return count\n"),
                             ("javascript", "function total(items) {\r\n  let count = 0;\r\n  |  \r\n}\r\n"),
                             ("python", "import os\n\n|"),
                             ("python", "def total(items):\r    count = 0\r    |\r    return count\r")):
        parsed, at = _marked(language, marked)
        assert completion.on_a_blank_line(parsed.snapshot.text, at)
        _guessed_only_where_new_lines_are(engine, parsed, at, monkeypatch, lambda shown: shown == [])
    with monkeypatch.context() as patched:
        patched.setattr(engine, "infill_steps", _model_ran)
        patched.setattr(engine.generation, "infill_new_lines", False)
        # Text on the cursor's line, before it or after it: the model runs.
        for marked in ("def f(items):\n    count = |\n", "def f(items):\n    |(count)\n",
                       "def f(items):\n    | # n\n"):
            parsed, at = _marked("python", marked)
            assert not completion.on_a_blank_line(parsed.snapshot.text, at)
            with pytest.raises(AssertionError, match="the model ran"):
                complete(engine, parsed, at, Settings(file_lookup=False), **typing)
        # A blank line in a call still open gets the brackets it owes, and the file's own fill is still shown.
        parsed, at = _marked("python", "def f(items):\n    return compute(\n        items,\n        |\n")
        assert [(s.text, s.source) for s in complete(engine, parsed, at, Settings(), **typing)] == [(")", "closers")]
        parsed, at = _marked("python", "def f(a):\n    x = 1\n    print(x)\n\ndef g(b):\n    x = 1\n    |\n")
        assert [(s.text, s.source) for s in complete(engine, parsed, at, Settings(), **typing)] == \
            [("print(x)", "file")]


def test_while_typing_the_end_of_a_headers_line_gets_the_models_guess_of_its_body_only_where_a_blank_line_would(
        engine, monkeypatch):
    typing = dict(explicit=False, should_stop=lambda: False)
    # The cursor after a header's `:` or `{`, Enter not pressed yet: the model's fill is the body's lines below.
    for language, marked in (("python", "def total(items):|\n\n\nprint(total([]))\n"),
                             ("python", "class Order:\n    def total(self):|\n"),
                             ("javascript", "function total(items) {|}\n"),
                             ("go", "package main\n\nfunc total(items []int) int {|\n}\n")):
        parsed, at = _marked(language, marked)
        assert not completion.on_a_blank_line(parsed.snapshot.text, at)
        assert completion.begins_new_lines(parsed.snapshot.text, at, completion._hole(engine, parsed, at, Settings())[1])
        _guessed_only_where_new_lines_are(engine, parsed, at, monkeypatch,
                                          lambda shown: all(s.source == "closers" for s in shown))
    # Within a header's line, or after a `{` with code after it on the line, the model runs.
    with monkeypatch.context() as patched:
        patched.setattr(engine, "infill_steps", _model_ran)
        patched.setattr(engine.generation, "infill_new_lines", False)
        for language, marked in (("python", "def total(items|):\n    return 0\n"),
                                 ("javascript", "if (ready) { start(|\n")):
            parsed, at = _marked(language, marked)
            with pytest.raises(AssertionError, match="the model ran"):
                complete(engine, parsed, at, Settings(file_lookup=False), **typing)


def test_while_typing_the_end_of_a_headers_line_gets_no_fill_from_the_file(engine, no_model):
    typing = dict(explicit=False, should_stop=lambda: False)
    # The file's fill there is the rest of another line, which would go on the body's first line: a comment that ended
    # another header, an annotation after a name that ends as `try` does.
    for marked, found in (
            ("class Sized:\n    def size(self) -> int:  # type: ignore[override]\n        return 1\n\n"
             "    def count(self) -> int:|\n", "  # type: ignore[override]"),
            ("registry: list[str] = []\n\n\ndef load(name):\n    try:|\n", " list[str] = []")):
        parsed, at = _marked("python", marked)
        text = parsed.snapshot.text
        assert [c.text for c in engine.copies(text[:at], text[at:])][:1] == [found]
        assert all(s.source == "closers"
                   for s in complete(engine, parsed, at, Settings(typing_new_lines=False), **typing)), marked
    # Within the header's line the file's fills are shown.
    parsed, at = _marked("python", "class Sized:\n    def size(self) -> int:\n        return 1\n\n"
                                   "    def count(self) -> i|\n")
    assert [(s.text, s.source) for s in complete(engine, parsed, at, Settings(), **typing)][:1] == [("nt:", "file")]


def test_the_embedded_models_guesses_of_a_blank_line_are_not_shown_while_typing():
    from engine.config import DEFAULT_MODEL_DIR, GenerationConfig
    from engine.checkpoint import read_json

    assert GenerationConfig.from_hf(read_json(DEFAULT_MODEL_DIR / "generation_config.json")).infill_new_lines is False


def test_while_typing_a_weaker_fill_from_the_file_is_shown_when_the_strongest_adds_a_syntax_error(engine, no_model):
    text = '"""Usage:\nprint(x y)\nprint(x y)\n"""\nprint(z)\nz = 1\nprint()\n'  # no copy of the line above
    at = text.rindex("\nprint(") + len("\nprint(")
    # Two places agree on "x y", which would break the call; one spells out "z", which keeps the file parsing.
    assert [c.text for c in engine.copies(text[:at], text[at:], limit=3)] == ["x y", "z"]
    shown = complete(engine, parsed_text("python", text), at, Settings(), explicit=False, should_stop=lambda: False)
    assert [(s.text, s.source) for s in shown] == [("z", "file")]



def test_while_typing_another_definitions_docstring_is_not_shown_from_the_file(engine, no_model):
    typing = dict(explicit=False, should_stop=lambda: False)
    settings = Settings(typing_new_lines=False)
    # The body of the outputs' class, after Enter: the file spells out the inputs' docstring there, which says what
    # the other class is.
    text = ('class ImageInput:\n    """What the model reads"""\n\n    image: str\n\n\n'
            'class ImageOutput:\n    \n\n    image: bytes\n')
    at = text.index("ImageOutput:\n    ") + len("ImageOutput:\n    ")
    assert [c.text for c in engine.copies(text[:at], text[at:])][:1] == ['"""What the model reads"""']
    assert complete(engine, parsed_text("python", text), at, settings, **typing) == []
    # Code the file spells out there is shown, and so is a directive, which is no prose.
    code = text.replace('"""What the model reads"""', "kind = 'input'")
    at = code.index("ImageOutput:\n    ") + len("ImageOutput:\n    ")
    assert [s.text for s in complete(engine, parsed_text("python", code), at, settings, **typing)] == ["kind = 'input'"]
    js = "function a() {\n  'use strict';\n  run();\n}\n\nfunction b() {\n  \n  run();\n}\n"
    at = js.index("b() {\n  ") + len("b() {\n  ")
    assert [s.text for s in complete(engine, parsed_text("javascript", js), at, settings, **typing)] == \
        ["'use strict';"]


def test_an_invoked_request_ends_after_one_pass_when_the_model_writes_back_a_parsing_copy(monkeypatch):
    engine = InfillEngine.load(None, device="cpu")  # the shipped model: a random one is never sure
    text = ("def mean(values):\n    total = sum(values)\n    return total / len(values)\n\n\n"
            "def scaled_mean(values, k):\n    total = \n    return k * total / len(values)\n")
    at = text.rindex("total = ") + len("total = ")
    passes = []
    steps = engine.infill_steps

    def count_passes(*args, **kwargs):
        for step in steps(*args, **kwargs):
            passes.append(1)
            yield step

    monkeypatch.setattr(engine, "infill_steps", count_passes)

    def invoke(text: str, at: int) -> list[Suggestion]:
        passes.clear()
        return suggest(engine, parsed_text("python", text), at, Settings(candidates=1), explicit=True,
                       should_stop=lambda: False)

    shown = invoke(text, at)
    assert [(s.text, s.source) for s in shown] == [("sum(values)", "file")] and len(passes) == 1
    # A copy after which the file would not parse is no draft: the model's own rows run their course.
    broken = text.replace("total = sum(values)\n", "total = sum(values\n", 1)
    shown = invoke(broken, broken.rindex("total = ") + len("total = "))
    assert shown[0].text == "sum(values" and shown[0].source == "file"
    assert len(passes) > 1


def _counting_parsers(monkeypatch) -> list[str]:
    """Counts the re-parses of the syntax checks (each makes a parser)."""
    made: list[str] = []
    parser_for = syntax.parser_for
    monkeypatch.setattr(syntax, "parser_for", lambda name: made.append(name) or parser_for(name))
    return made


def test_a_superseded_request_stops_before_its_next_step(engine, no_model, monkeypatch):
    # Newer keystrokes supersede a request: it ran its context, lookup and syntax checks to the end regardless,
    # seconds in a file of megabytes, before the newer request could start.
    text = "def run(self, a, b):\n    x = self.compute(a, b)\n    print(x)\n    y = self.compute()\n    print(y)\n"
    parsed = parsed_text("python", text)
    at = text.index("y = self.compute(") + len("y = self.compute(")
    reparsed = _counting_parsers(monkeypatch)
    for explicit in (False, True):
        with pytest.raises(Cancelled):
            complete(engine, parsed, at, Settings(), explicit=explicit, should_stop=lambda: True)
    assert reparsed == []
    # Stopped after its first check: no further check is made.
    polls = []
    with pytest.raises(Cancelled):
        complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: polls.append(1) or len(polls) > 2)
    assert len(reparsed) <= 1


def test_a_syntax_check_stops_before_its_parse(monkeypatch):
    parsed = parsed_text("python", "def f(x):\n    return g(x) + 1\n")
    reparsed = _counting_parsers(monkeypatch)
    with pytest.raises(Cancelled):
        parses_after(parsed, [Replacement(5, 5, "x")], lambda: True)
    assert reparsed == []
    assert parses_after(parsed, [Replacement(5, 5, "x")], lambda: False)
    assert not parses_after(parsed, [Replacement(5, 5, "(")], lambda: False)
    assert len(reparsed) == 2


def test_a_file_past_the_parsed_size_is_plain_text_never_parsed_for_a_suggestion(monkeypatch):
    # Each parse holds the interpreter's lock: about 0.5 s a keystroke in 5 MB of minified JavaScript.
    text = "def f(x):\n    return g(x\n\ny = [1, 2]\n"
    at = text.index("g(x") + 3
    offered = [Suggestion(fill, at, at, -0.1) for fill in ("]", ")", " if")]
    monkeypatch.setattr(syntax, "PARSED_CHARS", len(text) - 1)
    parsed = parsed_text("python", text)
    assert parsed.tree is None and parsed.spec is None
    reparsed = _counting_parsers(monkeypatch)
    assert parsing_first(parsed, at, offered) == offered
    assert no_worse(parsed, offered) == offered
    assert reparsed == []
    monkeypatch.setattr(syntax, "PARSED_CHARS", len(text))
    parsed = parsed_text("python", text)
    assert parsed.tree is not None
    assert [s.text for s in parsing_first(parsed, at, offered)] == [")", "]", " if"]
    assert len(reparsed) > 0


def test_a_completion_builds_its_context_once(engine, monkeypatch):
    built = []
    build = completion.build_context
    monkeypatch.setattr(completion, "build_context", lambda *args, **kwargs: built.append(1) or build(*args, **kwargs))
    text = "function f(items) {\n  return \n}\n"
    at = text.index("return ") + 7
    # The file's fill is looked for, there is none, and the model runs: one context for both.
    complete(engine, parsed_text("javascript", text), at, Settings(), explicit=False, should_stop=lambda: False)
    assert built == [1]


def test_the_prefix_tokens_setting_sets_how_much_of_the_file_the_model_reads(tmp_path):
    engine = InfillEngine.load(write_random_checkpoint(tmp_path / "m", infill_prompt_tokens=64), device="cpu")
    text = "".join(f"def f{i}(a, b):\n    return a * {i} + b\n\n" for i in range(120)) + "x = f1(2, "
    parsed = parsed_text("python", text + ")\n")
    seen = {}
    for prefix_tokens in (None, 600):
        complete(engine, parsed, len(text), Settings(prefix_tokens=prefix_tokens, file_lookup=False),
                 explicit=True, should_stop=lambda: False)
        seen[prefix_tokens] = engine.prefix_cache.ids
    # The context window (cut where the text allows) and the engine both keep what the setting says: the
    # checkpoint's 64 by default.
    assert 48 <= len(seen[None]) <= 64 and 450 <= len(seen[600]) <= 600, (len(seen[None]), len(seen[600]))
    assert engine.tokenizer.decode(seen[600][1:]).endswith("x = f1(2, ")


def test_a_crlf_file_gets_the_same_suggestions_as_the_same_file_with_lf():
    # The model never saw a carriage return (its training text is LF); fed raw, each was a byte token of its own,
    # the windows' token budgets filled sooner, and most suggestions in a CRLF file changed.
    from pathlib import Path

    engine = InfillEngine.load(device="cpu")  # the shipped model: a random one's fills depend on little
    lines = (Path(__file__).parent.parent / "fixtures" / "eval" / "heldout" / "intervals.py").read_text().split("\n")
    settings = Settings(file_lookup=False)
    compared = 0
    for row in range(4, len(lines), 3):
        line = lines[row]
        if len(line.strip()) < 8:
            continue
        cut = len(line) - len(line.lstrip()) + len(line.strip()) // 2
        variant = lines[:row] + [line[:cut]] + lines[row + 1:]
        fills = []
        for eol in ("\n", "\r\n"):
            parsed = parsed_text("python", eol.join(variant))
            offset = len(eol.join(variant[:row])) + len(eol) + cut
            found = suggest(engine, parsed, offset, settings, explicit=True, should_stop=lambda: False)
            fills.append([s.text.replace("\r\n", "\n") for s in found])
        assert fills[0] == fills[1], (row, fills)
        compared += 1
    assert compared >= 8


def test_a_full_prefix_window_reaches_the_encoder_whole(tmp_path):
    # The prompt's room holds its `<bos>`: a window as long as the room lost its first token (often the first line's
    # indentation) to the engine.
    from pathlib import Path

    engine = InfillEngine.load(write_random_checkpoint(tmp_path / "m"), device="cpu")
    text = (Path(__file__).parent.parent / "fixtures" / "eval" / "heldout" / "intervals.py").read_text()
    parsed = parsed_text("python", text)
    line_ends = [at for at, ch in enumerate(text) if ch == "\n"][20::7]
    full = None
    for prefix_tokens in range(16, 64):
        settings = Settings(prefix_tokens=prefix_tokens, file_lookup=False)
        room = engine.prompt_room(prefix_tokens)
        for offset in line_ends:
            prefix = build_context(parsed, offset, window_budget(engine, LINE_HOLE_TOKENS, settings)).prefix
            assert engine.count_tokens(prefix) < room, (prefix_tokens, offset)
            if full is None and engine.count_tokens(prefix) == room - 1:
                full = settings, offset, prefix
    assert full is not None
    settings, offset, prefix = full
    complete(engine, parsed, offset, settings, explicit=True, should_stop=lambda: False)
    assert engine.tokenizer.decode(engine.prefix_cache.ids[1:]) == prefix


# --- While typing, fills that parse but are no code the user means: an empty body, a stray closer, a value's `;` ---

JS_IF = ("class Book {\n  constructor(order) {\n    this.byId = new Map();\n"
         "    this.byId.set(order.id, order);\n  }\n\n"
         "  total(id) {\n    const order = this.byId.get(id);\n    if (!order)|\n  }\n}\n")
RUST_TAIL = ("pub fn doubled(values: &[u32]) -> Vec<u32> {\n"
             "    let out: Vec<u32> = values.iter().map(|x| x * 2).collect();\n    out\n}\n\n"
             "pub fn squares(limit: u32) -> Vec<u32> {\n    (1..=limit).map(|n| n * n).collect()§\n}\n")


def _kept(language_id: str, marked: str, fill: str, cursor: str = "|") -> bool:
    """Whether the typing filter (`no_worse`) keeps ``fill`` at the ``cursor`` mark of ``marked``."""
    at = marked.index(cursor)
    parsed = parsed_text(language_id, marked.replace(cursor, "", 1))
    return bool(no_worse(parsed, [Suggestion(fill, at, at, -0.1, "file")]))


@pytest.mark.parametrize("language, marked, fill", [
    ("javascript", JS_IF, ";"),
    ("typescript", "export function sum(xs: number[]): number {\n  let total = 0;\n"
                   "  for (let i = 0; i < xs.length; i++)|\n}\n", ";"),
    ("c", "int f(int a) {\n    if (ready(a)|\n}\n", ");"),
    ("java", "class A {\n    void f(int a) {\n        while (ready(a)|\n    }\n}\n", ";"),
    ("javascript", "function f(a) {\n  if (a)|\n  return 1;\n}\n", "; // none"),
])
def test_while_typing_no_semicolon_is_shown_that_leaves_a_header_an_empty_body(language, marked, fill):
    # `if (!order);` parses, with an `if` that does nothing (a `while` that never ends): the file's copy of a `;`
    # after `...(id)` was shown.
    assert not _kept(language, marked, fill)


def test_while_typing_no_semicolon_is_shown_after_a_method_header_in_a_class():
    # `total(id);` parses as a field `total` and an ERROR `(id)` the line had already: the file's `;` was shown.
    js = ("class Book {\n  get(id) {\n    return this.byId.get(id);\n  }\n\n  total(id)|\n\n"
          "  size() {\n    return this.byId.size;\n  }\n}\n")
    assert not _kept("javascript", js, ";")
    assert _kept("javascript", js, " {}")
    assert _kept("javascript", js.replace("total(id)|", "total = 0|"), ";")  # a field's


def test_while_typing_a_semicolon_that_ends_a_statement_in_a_body_is_still_shown():
    assert _kept("javascript", "function f(a) {\n  if (a) total = g(1|\n}\n", ");")
    assert _kept("javascript", JS_IF.replace("if (!order)|", "if (!order) return|"), ";")
    assert _kept("c", "int f(int a) {\n    for (int i = 0|\n}\n", "; i < a; i++) {")
    assert _kept("typescript", "function f(xs: number[]) {\n  let total = 0|\n}\n", ";")


def test_while_typing_the_files_semicolon_after_an_if_header_is_not_shown(engine, no_model):
    parsed, at = _marked("javascript", JS_IF)
    text = parsed.snapshot.text
    assert [c.text for c in engine.copies(text[:at], text[at:])][:1] == [";"]  # the file spells it out
    with pytest.raises(AssertionError, match="the model ran"):  # not shown: the model is asked instead
        complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)


@pytest.mark.parametrize("language, marked, fill", [
    # The cursor's statement is unfinished, so the file has an error there already; one that a stray closer adds
    # overlaps it, and was taken for no new one.
    ("go", "package p\n\nfunc parse(fields []string) int {\n\tif len(fields)|\n}\n", ")"),
    ("go", "package p\n\nfunc parse(fields []string) int {\n\tif len(fields)|\n}\n", "))"),
    ("rust", "pub fn banner(name: &str) -> String|\n\npub fn two() -> u32 {\n    2\n}\n", ")"),
    ("javascript", "function f(items) {\n  const n = items.map((x) => x * 2|\n}\n", "))"),
    ("javascript", "function f(items) {\n  const n = items.map((x) => x * 2|\n}\n", ")))"),
    # Before the editor's `])`, a `)` closes neither of them.
    ("typescript", "export function f(record: Record<string, number>) {\n  for (const [key, value|])\n}\n", ")"),
    ("javascript", "function g(items) {\n  const groups = {};\n  (groups[k] = groups[k] || []).|\n}\n", "]"),
    ("rust", "fn main() {\n    let v: Vec<u32> = (1..=9).filter(|n| n % 2 == 0).|\n}\n", "get())"),
    ("python", "def f(xs):\n    total = sum(max(xs, key=len|)\n", "))"),
])
def test_while_typing_a_closer_with_no_opener_on_its_line_is_not_shown(language, marked, fill):
    assert not _kept(language, marked, fill)


@pytest.mark.parametrize("language, marked, fill", [
    ("javascript", "function f(items) {\n  const n = items.map((x) => x * 2|\n}\n", ")"),
    ("typescript", "export function f(record: Record<string, number>) {\n  for (const [key, value|])\n}\n", ", i"),
    ("go", "package p\n\nfunc parse(fields []string) int {\n\tif len(fields|\n}\n", ") > 0 {"),
    ("rust", "pub fn banner(name: &str|\n\npub fn two() -> u32 {\n    2\n}\n", ") -> String"),
    # Brackets opened on lines above, or on the line before the cursor, and the editor's closer after it.
    ("python", "x = foo(a,\n        b|\n", ")"),
    ("python", "def f(xs):\n    total = sum(max(xs, key=len|)\n", ")"),
    ("javascript", "const xs = [\n  1,\n  f(2|\n", ")];"),
    ("javascript", "function f(x, y) {\n  console.log(x|);\n}\n", ", y"),
    ("go", 'package p\n\nimport "fmt"\n\nfunc f(a, b int) {\n\tfmt.Println(a|)\n}\n', ", b"),
    ("javascript", "function f() {\n  return 1;\n|\n", "}"),
    # A closer in a string is no closer.
    ("javascript", "function f(x) {\n  return x|\n}\n", ' + ")"'),
])
def test_while_typing_a_closer_of_a_bracket_still_open_is_shown(language, marked, fill):
    assert _kept(language, marked, fill)


@pytest.mark.parametrize("marked, fill", [
    # The function's value: with its `;` the body's value is `()` (E0308).
    (RUST_TAIL, ";"),
    ("pub fn size(name: &str) -> usize {\n    name.len()§\n}\n", ";"),
    ("impl S {\n    fn get(&self) -> u32 {\n        self.x§\n    }\n}\n", ";"),
    # A `;` after an item's `}`: rustc's `expected item, found ;`.
    ("fn f() {}§\n\nfn g() {}\n", ";"),
    ("impl S {\n    fn f(&self) {}§\n}\n", ";"),
    ("struct P {\n    x: i32,\n}§\n", ";"),
])
def test_while_typing_no_semicolon_ends_a_rust_functions_value_or_follows_an_item(marked, fill):
    assert not _kept("rust", marked, fill, "§")
    at = marked.index("§")
    parsed = parsed_text("rust", marked.replace("§", "", 1))
    assert not suggestions._mends(parsed, at, None, None)(fill)  # nor is it ranked as mending the file


@pytest.mark.parametrize("language, marked, fill, kept", [
    # An empty statement after a `;` or a statement's block: formatters delete it, and no one means it.
    ("java", "class A {\n  void f() {\n    int v = §\n  }\n}\n", "1;;", False),
    ("java", "class A {\n  void f() {\n    int v = §\n  }\n}\n", "1;", True),
    ("cpp", "int f(int v) {\n  if (v) {\n    g();\n  }§\n  return 0;\n}\n", ";", False),
    ("typescript", "function f(xs: number[]) {\n  for (const x of xs) {\n    g(x);\n  }§\n}\n", ";", False),
    ("rust", "fn f() {\n    if a {\n        g();\n    }§\n}\n", ";", False),
    # A declaration's `}` takes one by habit, an object's ends its statement, and a label needs a statement.
    ("typescript", "interface X {\n  a: number;\n}§\n", ";", True),
    ("javascript", "function f() {\n  const x = {\n    a: 1,\n  }§\n}\n", ";", True),
    ("c", "void f(void) {\n  goto end;\nend: §\n}\n", ";", True),
])
def test_while_typing_no_empty_statement_is_shown(language, marked, fill, kept):
    assert _kept(language, marked, fill, "§") is kept


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A statement that reads a name, a literal or a member and drops it does nothing: a warning, or (Java) an error.
    ("cpp", "int f() {\n  int adjacency_ = 0;\n  adjacency_§\n  return 0;\n}\n", ";", False),
    ("cpp", "int f() {\n  int adjacency_ = 0;\n  adj§\n  return 0;\n}\n", "acency_;", False),
    ("c", "int f(struct rb *rb) {\n  §\n  return 0;\n}\n", "rb->data;", False),
    ("typescript", "function f(store: S) {\n  sto§\n}\n", "re;", False),
    ("java", "class A { void f() {\n  this.x§\n} }\n", ";", False),
    ("rust", "fn f() {\n    let v = 1;\n    v§\n}\n", ";", False),
    # One that calls, assigns or steps something does, and a directive is a string.
    ("c", "int f(struct rb *rb) {\n  §\n  return 0;\n}\n", "free(rb->data);", True),
    ("typescript", "function f(store: S) {\n  sto§\n}\n", "re.save();", True),
    ("java", "class A { void f() {\n  x++§\n} }\n", ";", True),
    ("javascript", "'use strict'§\n", ";", True),
])
def test_while_typing_no_statement_that_does_nothing_is_shown(language, marked, fill, kept):
    assert _kept(language, marked, fill, "§") is kept


@pytest.mark.parametrize("language, marked", [
    # A statement that is no value: a `return`, a call in a body whose value is `()`, a `let`, one not last.
    ("rust", "fn f(x: u32) -> u32 {\n    return x§\n}\n"),
    ("rust", "fn f() {\n    g()§\n}\n"),
    ("rust", "fn f() -> () {\n    g()§\n}\n"),
    ("rust", "fn f() -> u32 {\n    let x = g()§\n}\n"),
    ("rust", "fn f() -> u32 {\n    g()§\n    1\n}\n"),
    ("rust", "fn f() -> u32 {\n    for i in 0..3 {\n        g(i)§\n    }\n    1\n}\n"),
    ("rust", "fn f() -> u32 {\n    panic!(\"no\")§\n}\n"),
    ("rust", "struct S§\n"),
    # Where a `;` after a `}` is an empty statement the language takes.
    ("javascript", "function f() {}§\n\nfunction g() {}\n"),
    ("c", "struct P {\n    int x;\n}§\n"),
])
def test_while_typing_a_semicolon_that_ends_a_statement_or_an_item_is_still_shown(language, marked):
    assert _kept(language, marked, ";", "§")


def test_a_go_semicolon_after_a_top_level_functions_brace_is_not_shown():
    # gofmt deletes it: noise.
    assert not _kept("go", "package p\n\nfunc f() {}|\n\nfunc g() {}\n", ";")
    assert _kept("go", "package p\n\nfunc f() {\n\tfor i := 0|\n}\n", "; i < 3; i++ {")


def test_while_typing_the_files_semicolon_after_a_rust_functions_value_is_not_shown(engine, no_model):
    at = RUST_TAIL.index("§")
    parsed = parsed_text("rust", RUST_TAIL.replace("§", "", 1))
    text = parsed.snapshot.text
    assert [c.text for c in engine.copies(text[:at], text[at:])][:1] == [";"]  # the file spells it out
    with pytest.raises(AssertionError, match="the model ran"):
        complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)


@pytest_lsp.fixture(config=config())
async def server(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), debounceMs=0, device="cpu"))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="function")
async def test_over_the_server_the_files_semicolon_that_empties_a_body_or_ends_a_value_is_not_shown(server):
    # The file spells out a `;` after each cursor (`...(id);`, `....collect();`), and it parses.
    for name, language, marked in (("book.js", "javascript", JS_IF.replace("|", "§")),
                                   ("squares.rs", "rust", RUST_TAIL)):
        at, text = marked.index("§"), marked.replace("§", "", 1)
        uri = f"file:///typing/{name}"
        server.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
        result = await server.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, at)))
        assert all(not item.insert_text.startswith(";") for item in result.items), (name, result.items)


# --- While typing, JSX the grammar reads without looking: a closing tag of another element, a `;` as page text ---

JSX_HEAD = ("import React from 'react';\n\n"
            "export function Badge({ stock }) {\n  return <span className=\"badge\">{stock}</span>;\n}\n\n"
            "export function List({ items }) {\n  return (\n    <ul>\n      {items.map((item) => (\n"
            "        <li key={item}>\n")
JSX_TAIL = "      ))}\n    </ul>\n  );\n}\n"
# `</` typed inside the open `<li>`; a `;` after a child element, where the model writes the statement's end.
JSX_CLOSING = JSX_HEAD + "          {item}\n        </§\n" + JSX_TAIL
JSX_CHILD = JSX_HEAD + "          {item} <span className=\"n\">{item.length}</span>§\n        </li>\n" + JSX_TAIL


def _typed(language: str, marked: str) -> str:
    """``marked`` as a file of ``language``: TSX with the parameters' types."""
    if language != "typescriptreact":
        return marked
    return (marked.replace("({ stock })", "({ stock }: { stock: number })")
            .replace("({ items })", "({ items }: { items: string[] })"))


@pytest.mark.parametrize("language", ["typescriptreact", "javascriptreact", "javascript"])
@pytest.mark.parametrize("marked, fill", [
    (JSX_CLOSING, "ul>"),
    (JSX_CLOSING, "string>"),
    (JSX_CLOSING, "ul>\n        </li>"),
    (JSX_CHILD, ";"),
    (JSX_CHILD, " ;"),
    (JSX_CHILD.replace("<span className=\"n\">{item.length}</span>§", "<br />§"), ";"),
])
def test_while_typing_no_jsx_closes_another_element_or_writes_a_statements_semicolon_as_text(language, marked, fill):
    # The grammar reads `<li>..</ul>` as one element, and the `;` as the element's text: both parse.
    assert not _kept(language, _typed(language, marked), fill, "§")


@pytest.mark.parametrize("language", ["typescriptreact", "javascriptreact"])
@pytest.mark.parametrize("marked, fill", [
    (JSX_CLOSING, "li>"),
    (JSX_CLOSING.replace("</§", "</li>\n        <>\n          <b>x</b>\n        </§"), ">"),  # a fragment's
    (JSX_CHILD, " items"),
    (JSX_CHILD, "\n          <br />"),
    ("function Badge({ stock }) {\n  return <span>{stock}</span>§\n}\n", ";"),
    ("function Badge({ stock }) {\n  const shown = <br />§\n  return shown;\n}\n", ";"),
    ("function Badge({ stock }) {\n  return <p>{stock}; more</p>;\n}\n"
     "function Other({ n }) {\n  return <p>{n}§</p>;\n}\n", "; more"),
])
def test_while_typing_jsx_that_closes_the_innermost_element_or_ends_a_statement_is_shown(language, marked, fill):
    assert _kept(language, _typed(language, marked), fill, "§")


@pytest_lsp.fixture(config=config())
async def shipped_server(lsp_client: LanguageClient):
    # The shipped model: what it writes at these cursors (`string>`, `;`) is what a random one never would.
    await lsp_client.initialize_session(init_params(capabilities(), debounceMs=0, device="cpu"))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="function")
async def test_over_the_server_the_models_jsx_that_closes_another_element_or_writes_a_semicolon_is_not_shown(
        shipped_server):
    for name, language in (("list.tsx", "typescriptreact"), ("list.jsx", "javascriptreact")):
        for case, marked in (("closing", JSX_CLOSING), ("child", JSX_CHILD)):
            marked = _typed(language, marked)
            at, text = marked.index("§"), marked.replace("§", "", 1)
            uri = f"file:///typing/{case}/{name}"
            shipped_server.text_document_did_open(types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
            result = await shipped_server.text_document_inline_completion_async(types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, at)))
            shown = [item.insert_text for item in result.items]
            if case == "closing":  # a closing tag shown is the `<li>`'s
                tags = [tag for tag in map(re.compile(r"([\w.:-]*)\s*>").match, shown) if tag]
                assert all(tag[1] == "li" for tag in tags), (uri, shown)
            else:
                assert all(not fill.lstrip().startswith(";") for fill in shown), (uri, shown)


SQL = "-- Items below the threshold\nSELECT sku, name FROM items WHERE quantity < 5;\nUPDATE items\n"


@pytest.mark.parametrize("language_id, text, marker, stops", [
    # No grammar reads the file: nothing is shown before a word further on the line.
    ("sql", SQL, "SELECT sku, name", True),
    ("markdown", "To list the items that are running low, run the report.\n", "the items that", True),
    ("ruby", "require 'net/http'\n", "require 'net", True),
    # Before closers alone, or at the line's end, the fill ends the line.
    ("sql", SQL, "quantity < 5", False),
    ("sql", SQL, "UPDATE items", False),
    ("ruby", "require 'net/http'\n", "require 'net/http", False),
    # In a word, anywhere.
    ("sql", SQL, "SELECT sk", True),
    # A grammar reads it: the checks read a fill with what follows (`no_worse`).
    ("python", "total = compute(first, second)\n", "compute(first", False),
])
def test_nothing_is_shown_while_typing_in_a_word_or_in_a_line_no_grammar_reads(language_id, text, marker, stops):
    assert completion.not_while_typing(parsed_text(language_id, text), text.index(marker) + len(marker)) is stops


def test_in_a_line_no_grammar_reads_neither_the_model_nor_the_file_fills_while_typing(engine):
    # A copy of the file's own `name FROM items` after `SELECT sku, ` would splice into the line after the cursor.
    text = SQL + "SELECT sku, name FROM items WHERE quantity < 5;\n"
    at = text.rindex("SELECT sku,") + len("SELECT sku,")
    parsed = parsed_text("sql", text)
    assert complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False) == []
    # Asked for, it is filled.
    assert complete(engine, parsed, at, Settings(), explicit=True, should_stop=lambda: False)


def test_a_completion_items_label_is_the_word_it_completes_or_the_line_it_begins_below():
    from infill_ls.documents import PositionEncoding, Snapshot
    from infill_ls.server import completion_item
    from infill_ls.suggestions import Suggestion

    def label(marked: str, fill: str) -> str:
        at = marked.index("|")
        snapshot = Snapshot("file:///a.py", "python", 1, marked.replace("|", ""))
        return completion_item(snapshot, Suggestion(fill, at, at, 0.0), PositionEncoding.UTF16).label

    assert label("x = item.wei|\n", "ght * 2") == "weight * 2"
    # A fill that begins on a line below is named by that line, not by the word typed before it.
    assert label("def f():\n    return|\n", "\n    x = 1") == "x = 1"
