"""Fills the editor is not shown: one holding a replacement character (U+FFFD) the text around the hole has none
of is bytes the model broke off a character, which the editor would show as `�`."""

import pytest

from infill_ls.context import WindowBudget, build_context
from infill_ls.documents import DocumentStore
from infill_ls.postprocess import postprocess, postprocess_all
from infill_ls.syntax import SyntaxIndex

CHARS = WindowBudget(prefix_tokens=10_000, suffix_tokens=10_000, count_tokens=len, chars_per_token=1.0)


def context(marked: str):
    offset = marked.index("|")
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open("file:///greet.py", "python", 1, marked.replace("|", "", 1))
    index.opened(snapshot)
    return build_context(index.parse(snapshot), offset, CHARS)


@pytest.mark.parametrize("fill", ["\ufffd", 'h\ufffd"', ' 세\ufffd\ufffd",', "f'{lang}\ufffd'"])
def test_a_fill_with_a_replacement_character_the_file_lacks_is_dropped(fill):
    ctx = context('GREETINGS = {"zh": "你好", "emoji": "👋"}\nmessage = GREETINGS.get(lang, |)\n')
    assert postprocess(ctx, fill) is None
    assert postprocess_all(ctx, [fill, '"Hello"']) == ['"Hello"']


def test_a_replacement_character_in_what_the_hole_cuts_off_is_no_matter():
    ctx = context('GREETINGS = {"zh": "你好", "emoji": "👋"}\nmessage = GREETINGS.get(lang, |)\n')
    assert postprocess(ctx, '"Hello")\n\ufffd\n') == '"Hello"'


def test_a_file_that_holds_replacement_characters_gets_fills_with_them():
    ctx = context('BROKEN = "\ufffd"\nmessage = decoded.replace(|)\n')
    assert postprocess(ctx, '"\ufffd", "?"') == '"\ufffd", "?"'


def context_in(language_id: str, extension: str, marked: str):
    offset = marked.index("|")
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(f"file:///t.{extension}", language_id, 1, marked.replace("|", "", 1))
    index.opened(snapshot)
    return build_context(index.parse(snapshot), offset, CHARS)


RUST_LAST_BODY = "pub fn one() -> u32 {\n    1\n}\n\npub fn squares(limit: u32) -> Vec<u32> {\n    (1..=limit).collect()\n"
TS_LAST_METHOD = "class Stock {\n  sorted(values: number[]): number[] {\n    return [...values].sort();\n"


@pytest.mark.parametrize("language_id, extension, marked, fill, shown", [
    # At column 0 under a body's last statement, nothing below: the `}` goes where its opener's line stands, not
    # at the statement above.
    ("rust", "rs", RUST_LAST_BODY + "|", "    }", "}"),
    ("rust", "rs", RUST_LAST_BODY + "|", "}", "}"),
    ("typescript", "ts", TS_LAST_METHOD + "|", "}", "  }"),
    ("typescript", "ts", TS_LAST_METHOD + "  |", "}", "}"),
    # A cursor the editor indented right of the opener keeps its column: ghost text cannot stand left of it.
    ("rust", "rs", RUST_LAST_BODY + "    |", "}", "}"),
    # A header over lines: the `}` goes where its statement starts.
    ("javascript", "js", "function f(a, b) {\n  if (a &&\n      b) {\n    g();\n|", "}", "  }"),
    # A line that goes on after the closer too.
    ("javascript", "js", "function f(a) {\n  if (a) {\n    g();\n|", "} else {", "  } else {"),
    ("python", "py", "xs = [\n    1,\n|", "]", "]"),
])
def test_a_closer_on_a_blank_line_goes_at_its_openers_indentation(language_id, extension, marked, fill, shown):
    assert postprocess(context_in(language_id, extension, marked), fill) == shown


@pytest.mark.parametrize("language_id, extension, marked, fill, shown", [
    # A statement still lines up with the one above; a closer of another bracket than the one open is no closer
    # for it, and stays where a statement would.
    ("rust", "rs", RUST_LAST_BODY + "|", "let x = 1;", "    let x = 1;"),
    ("typescript", "ts", TS_LAST_METHOD + "|", ")", "    )"),
])
def test_other_lines_on_a_blank_line_still_line_up_with_the_statement_above(language_id, extension, marked, fill,
                                                                             shown):
    assert postprocess(context_in(language_id, extension, marked), fill) == shown


GO_STORE = ("package main\n\ntype Store struct{ items map[string]int }\n\n"
            "// Count returns how many items are in stock.\nfunc (s *Store) Count() int {|}\n")


@pytest.mark.parametrize("language_id, extension, marked, idle, kept, shown", [
    # The editor's `}` after the `{`: a body of one name parses, and does not compile.
    ("go", "go", GO_STORE, "\n\tn\n", "\n\treturn len(s.items)\n", "\n\treturn len(s.items)\n"),
    ("go", "go", "package main\n\nfunc Names(items []string) []string {|}\n", "s", "return items", "\n\treturn items\n"),
    ("go", "go", "package main\n\nfunc Zero() int {|}\n", "0", "return 0", "\n\treturn 0\n"),
    ("typescript", "ts", "export function totalOf(orders: number[]): number {|}\n", "\n  orders\n", "return 0;",
     "\n  return 0;\n"),
    ("javascript", "js", "function notFound(res) {|}\n", "res;", '"use strict";', '\n  "use strict";\n'),
    ("c", "c", "int f(int x) {|}\n", "x;", "return x;", "\n    return x;\n"),
    # A string alone is a docstring, `...` a stub's body.
    ("python", "py", "def f(x):\n    |\n", "x", "...", "..."),
    ("python", "py", "def f(x):\n    |\n", "None", '"""The answer."""', '"""The answer."""'),
    # Rust reads a body's last expression as its value: where that is `()`, a name or literal there is noise too.
    ("rust", "rs", "fn f(n: u32) {|}\n", "n", "drop(n);", "\n    drop(n);\n"),
    ("rust", "rs", "fn f(n: u32) -> u32 {\n    loop {|}\n}\n", "n", "return n;", "\n        return n;\n    "),
])
def test_a_block_fill_of_one_name_or_literal_that_does_nothing_is_dropped(language_id, extension, marked, idle,
                                                                          kept, shown):
    ctx = context_in(language_id, extension, marked)
    assert postprocess(ctx, idle) is None
    assert postprocess_all(ctx, [idle, kept]) == [shown]


@pytest.mark.parametrize("marked, bound, shown", [
    ("pub fn count_numbers(tokens: &[u8]) -> usize {|}\n", "tokens", "\n    tokens\n"),
    ("fn is_empty(&self) -> bool {|}\n", "true", "\n    true\n"),  # a literal is a value
    ("fn twice(n: u32) -> u32 {\n    let total = n * 2;\n    if total > 3 {|}\n    0\n}\n", "total",
     "\n        total\n    "),
    ("fn first(v: Option<u32>) -> u32 {\n    match v {\n        Some(x) => {|}\n        None => 0,\n    }\n}\n", "x",
     "\n            x\n        "),
    ("fn first(v: Option<u32>) -> u32 {\n    if let Some(x) = v {|}\n    0\n}\n", "x", "\n        x\n    "),
])
def test_a_rust_bodys_value_is_kept_where_a_pattern_before_it_binds_the_name(marked, bound, shown):
    """`s` under `fn count_numbers(tokens: &[Token]) -> usize {` names nothing; a parameter, a `let`, an arm's or an
    `if let`'s binding is what the body returns."""
    ctx = context_in("rust", "rs", marked)
    assert postprocess(ctx, "\n        s\n    ") is None
    assert postprocess(ctx, bound) == shown


@pytest.mark.parametrize("marked, fill, shown", [
    # After a space typed, the fill's own space doubled it.
    ('df = pd.read_csv("sales.csv", |)\n', ' sep="\\t"', 'sep="\\t"'),
    ("total = |\n", "  a + b", "a + b"),
    ('df = pd.read_csv("sales.csv",|)\n', ' sep="\\t"', ' sep="\\t"'),  # no space typed: the fill's is the one
])
def test_a_fill_after_a_space_typed_does_not_begin_with_another(marked, fill, shown):
    assert postprocess(context(marked), fill) == shown


@pytest.mark.parametrize("fill, before, rest, written", [
    # The closers an editor inserted as their openers were typed, which the fill writes on its way: replaced.
    ("]:", "def dirs(self) -> Iterator[str", "]", 1),
    ("str]:", "def dirs(self) -> Iterator[", "]", 1),
    ("):", "def edges(self, tmp_path", ")", 1),
    ('", x)', 'f("abc', '")', 2),
    ('abc"', 'x = "', '"', 1),
    ("x)", "print(", ")", 1),
    ("[1]]:", "for pair in [[0], ", "]", 1),
    ('"a", b)', "f(", ") + 1", 1),
    # A bracket or quote the fill opens and closes itself, another closer first, or no closer at all.
    ("f(x)", "print(", ")", 0),
    ("x), y]:", "for v in [", "]", 0),
    (", y", "f(x", ")", 0),
    ("]:", "xs[", "", 0),
    ("]:", "xs[", " ]", 0),
    # A line that does not close what it opens: which bracket the `)` after the cursor is for, it does not tell.
    ("), value", "foo(bar(x", ")", 0),
    # A closer the fill still has the editor's close for, or one in a string of its own: the line would not close.
    ("0][1", "return rows[", "]", 0),
    ("timeout=5).get(key", "return job.result(", ")", 0),
    ('")" + sep', "parts.append(", ")", 0),
    # Nothing but the closers: no edit.
    ("]", "xs[", "]", 0),
])
def test_a_fill_replaces_the_closers_after_the_cursor_it_writes_again(fill, before, rest, written):
    from infill_ls.postprocess import closers_written_again

    assert closers_written_again(fill, before, rest) == written


@pytest.mark.parametrize("marked, fill, after", [
    ("def data_dirs(self) -> Iterator[str|]\n    yield 'a'\n", "]:", "def data_dirs(self) -> Iterator[str]:\n"),
    ("def edges(self, tmp_path|)\n    pass\n", "):", "def edges(self, tmp_path):\n"),
    ('print(f"{total|}")\n', '} items")', 'print(f"{total} items")\n'),
])
def test_while_typing_a_fill_that_closes_the_editors_closer_on_its_way_replaces_it(marked, fill, after):
    from infill_ls.completion import complete
    from infill_ls.settings import Settings
    from lsp_support import WritesFills, parsed_text

    text = "from typing import Iterator\n\n\n" + marked.replace("|", "", 1)
    at = text.index(marked.replace("|", "", 1)) + marked.index("|")
    shown = complete(WritesFills([fill]), parsed_text("python", text), at,
                     Settings(file_lookup=False),
                     explicit=False, should_stop=lambda: False)
    assert [s.text for s in shown] == [fill]
    s = shown[0]
    assert text[:s.start] + s.text + text[s.end:] == "from typing import Iterator\n\n\n" + after + \
        marked.partition("\n")[2]
