"""Syntax table, incremental parsing, hole shapes, windows, post-processing and the parts of
the code actions that do not need the model."""

import gc
import random
import tracemalloc

import pytest

from infill_ls.actions import find_placeholders, mechanical_fix, nearest_problem, top_level
from infill_ls.context import HoleShape, WindowBudget, build_context, detect_indent_unit, indent_unit, shape_at
from infill_ls.documents import DocumentStore, Position, PositionEncoding, Range, Snapshot, TextChange
from infill_ls.postprocess import postprocess
from infill_ls.syntax import LANGUAGES, ParsedSnapshot, Replacement, SyntaxIndex, language_for, parse_text, parses_after
from lsp_support import parsed_text

SAMPLES = {
    "python": "def f(x):\n    return x + 1\n",
    "javascript": "function f(x) {\n  return x + 1;\n}\n",
    "typescript": "function f(x: number): number {\n  return x + 1;\n}\n",
    "tsx": "const A = (p: {n: number}) => <div>{p.n}</div>;\n",
    "go": "package main\n\nfunc f(x int) int {\n\treturn x + 1\n}\n",
    "rust": "fn f(x: i32) -> i32 {\n    x + 1\n}\n",
    "java": "class A {\n  int f(int x) {\n    return x + 1;\n  }\n}\n",
    "c": "int f(int x) {\n  return x + 1;\n}\n",
    "cpp": "template <typename T> T f(T x) {\n  return x + 1;\n}\n",
}

# Counting characters keeps the budget arithmetic visible; the server passes the model's tokenizer.
CHARS = WindowBudget(prefix_tokens=10_000, suffix_tokens=10_000, count_tokens=len, chars_per_token=1.0)


def test_every_language_in_the_table_loads_and_parses_its_sample():
    assert {spec.name for spec in LANGUAGES} == set(SAMPLES)
    for spec in LANGUAGES:
        tree = parse_text(spec, SAMPLES[spec.name])
        assert not tree.root_node.has_error, spec.name


@pytest.mark.parametrize(
    "language_id, uri, expected",
    [
        ("python", "file:///x.txt", "python"),
        ("typescriptreact", "file:///x", "tsx"),
        ("cpp", "file:///x.h", "cpp"),
        ("plaintext", "file:///dir/main.GO", "go"),
        ("plaintext", "file:///a%20b/lib.rs", "rust"),
        ("plaintext", "file:///notes.txt", None),
        ("cobol", "untitled:Untitled-1", None),
    ],
)
def test_language_by_language_id_then_extension(language_id, uri, expected):
    spec = language_for(language_id, uri)
    assert (spec.name if spec else None) == expected


@pytest.mark.parametrize(
    "language_id, uri, expected",
    [
        ("c++", "file:///src/stack.h", "cpp"),  # Emacs's eglot, Zed
        ("cuda", "file:///k.cu", "cpp"),  # Neovim
        ("plaintext", "file:///k.cu", "cpp"),  # as VS Code's cuda-cpp
        ("plaintext", "file:///k.cuh", "cpp"),
        ("plaintext", "file:///a.inl", "cpp"),
        ("plaintext", "file:///a.ino", "cpp"),
        ("plaintext", "file:///a.ixx", "cpp"),
        ("plaintext", "file:///a.cppm", "cpp"),
        ("plaintext", "file:///a.tpp", "cpp"),
        ("plaintext", "file:///a.C", "cpp"),  # capitals: C++ by convention
        ("plaintext", "file:///A.H", "cpp"),
        ("plaintext", "file:///a.c", "c"),
        ("plaintext", "file:///a.h", "c"),
    ],
)
def test_cpp_by_the_language_ids_and_extensions_editors_use(language_id, uri, expected):
    spec = language_for(language_id, uri)
    assert (spec.name if spec else None) == expected


def _open(store, index, uri, language_id, text):
    snapshot = store.open(uri, language_id, 1, text)
    index.opened(snapshot)
    return snapshot


@pytest.mark.parametrize("language_id", ["python", "typescript", "go"])
def test_incremental_reparse_matches_a_fresh_parse(language_id):
    spec = language_for(language_id, "")
    base = {"python": SAMPLES["python"], "typescript": SAMPLES["typescript"], "go": SAMPLES["go"]}[language_id]
    store, index = DocumentStore(), SyntaxIndex()
    uri = f"file:///doc.{language_id}"
    snapshot = _open(store, index, uri, language_id, base * 20)
    index.parse(snapshot)
    rng = random.Random(3)
    for version in range(2, 60):
        text = store.get(uri).text
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randrange(4))
        s = store.get(uri)
        start, end = s.position_at(a, PositionEncoding.UTF16), s.position_at(b, PositionEncoding.UTF16)
        insert = rng.choice(["x", "(", "}", "\n", "😀", "名", " ", ""])
        snapshot = store.change(uri, version, [TextChange(Range(start, end), insert)])
        index.changed(snapshot)
        if version % 3 == 0:  # parse after some edits, let others pile up
            parsed = index.parse(snapshot)
            fresh = parse_text(spec, snapshot.text)
            assert str(parsed.tree.root_node) == str(fresh.root_node)
    assert index.stats.incremental_parses >= 15
    assert index.stats.full_parses == 1


def test_stale_snapshot_gets_its_own_tree_without_disturbing_the_current_one():
    store, index = DocumentStore(), SyntaxIndex()
    uri = "file:///s.py"
    old = _open(store, index, uri, "python", "x = 1\n")
    new = store.change(uri, 2, [TextChange(Range(Position(0, 4), Position(0, 5)), "(")])
    index.changed(new)
    assert index.parse(new).tree.root_node.has_error
    assert not index.parse(old).tree.root_node.has_error
    assert index.parse(new).tree.root_node.has_error


def test_a_change_that_keeps_the_version_number_is_parsed_all_the_same():
    # A client must raise the version with every change, but one that does not must not get the old tree.
    store, index = DocumentStore(), SyntaxIndex()
    uri = "file:///same.py"
    first = _open(store, index, uri, "python", "x = 1\n")
    assert not index.parse(first).tree.root_node.has_error
    second = store.change(uri, first.version, [TextChange(Range(Position(0, 4), Position(0, 5)), "(")])
    index.changed(second)
    assert second.version == first.version and second.revision > first.revision
    assert index.parse(second).tree.root_node.has_error


def _type(store, index, uri, count, at=Position(0, 0)):
    """`count` keystrokes at `at`, each reported to the index."""
    for _ in range(count):
        snapshot = store.get(uri)
        snapshot = store.change(uri, snapshot.version + 1, [TextChange(Range(at, at), "x")])
        index.changed(snapshot)
    return snapshot


def test_no_edits_are_queued_for_a_document_nothing_parses():
    # A language the settings leave out is never parsed: its edits were queued all the same, one per keystroke.
    store, index = DocumentStore(), SyntaxIndex()
    uri = "file:///idle.py"
    _open(store, index, uri, "python", "x = 1\n")
    last = _type(store, index, uri, 500)
    assert index.pending_edits(uri) == 0
    assert str(index.parse(last).tree.root_node) == str(parse_text(language_for("python", ""), last.text).root_node)


def test_past_a_bound_the_queued_edits_give_way_to_a_fresh_parse():
    from infill_ls.syntax import MAX_PENDING_EDITS

    store, index = DocumentStore(), SyntaxIndex()
    uri = "file:///typed.py"
    first = _open(store, index, uri, "python", "x = 1\n" * 50)
    index.parse(first)
    middle = _type(store, index, uri, MAX_PENDING_EDITS // 2)
    assert index.pending_edits(uri) == MAX_PENDING_EDITS // 2
    last = _type(store, index, uri, MAX_PENDING_EDITS)
    assert index.pending_edits(uri) == 0  # dropped with the tree, and none queued for no tree
    # A snapshot from before the edits were dropped gets its own tree and leaves none behind that would be stale.
    assert not index.parse(middle).tree.root_node.has_error
    fresh = parse_text(language_for("python", ""), last.text)
    assert str(index.parse(last).tree.root_node) == str(fresh.root_node)
    assert index.stats.full_parses == 3 and index.stats.incremental_parses == 0
    assert index.pending_edits(uri) == 0
    # From the fresh tree on, edits are queued and applied again.
    after = _type(store, index, uri, 3, Position(2, 0))
    assert index.pending_edits(uri) == 3
    assert str(index.parse(after).tree.root_node) == str(parse_text(language_for("python", ""), after.text).root_node)
    assert index.stats.incremental_parses == 1


class _ReadCount(bytes):
    """A document's UTF-8 that counts the bytes read from it, by slice or search."""

    read = 0

    def __getitem__(self, key):
        part = super().__getitem__(key)
        _ReadCount.read += len(part) if isinstance(key, slice) else 1
        return part

    def find(self, sub, start=0, end=None):
        found = super().find(sub, start, end)
        stop = len(self) if end is None else min(end, len(self))
        _ReadCount.read += (found + len(sub) if found >= 0 else stop) - start
        return found


def test_the_context_on_a_line_of_megabytes_reads_a_bounded_stretch_of_it():
    # Minified code: a syntax node's line was read whole to tell whether the node begins or ends it, 567 ms for a
    # keystroke at 5 MB.
    text = "".join(f"var a{i}=function(b,c){{if(b>c){{return[b,c,{i}]}}return{{k:b,v:c}}}};" for i in range(25_000))
    assert "\n" not in text and len(text) > 1_500_000
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = _open(store, index, "file:///min.js", "javascript", text)
    parsed = index.parse(snapshot)
    snapshot.__dict__["utf8"] = _ReadCount(snapshot.utf8)
    _ReadCount.read = 0
    budget = WindowBudget(prefix_tokens=1000, suffix_tokens=200, count_tokens=len, chars_per_token=1.0)
    ctx = build_context(parsed, len(text) // 2, budget)
    assert len(ctx.prefix) <= 1000 and len(ctx.suffix) <= 200 and ctx.eol == "\n"
    # Each node near the windows reads a few hundred bytes beside it, not the line.
    assert _ReadCount.read < 200_000, _ReadCount.read


def test_the_indentation_step_is_found_once_per_snapshot_and_keeps_no_text_alive(monkeypatch):
    import infill_ls.context as context

    calls = []
    detect = context.detect_indent_unit
    monkeypatch.setattr(context, "detect_indent_unit", lambda text, **kw: calls.append(1) or detect(text, **kw))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        text = "def f():\n  return 1\n" * 150_000  # 3 MB
        parsed = ParsedSnapshot(Snapshot("file:///i.py", "python", 1, text), language_for("python", ""), None)
        del text
        assert build_context(parsed, 8, CHARS).indent_unit == "  "
        assert shape_at(parsed, 8) is HoleShape.BLOCK
        assert len(calls) == 1
        del parsed
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] - before < 1_000_000  # the text went with its snapshot
    finally:
        tracemalloc.stop()


def _context(language_id, text, marker="|", budget=CHARS, uri=None):
    offset = text.index(marker)
    text = text.replace(marker, "", 1)
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = _open(store, index, uri or f"file:///t.{language_id}", language_id, text)
    return build_context(index.parse(snapshot), offset, budget)


def test_mid_line_is_a_line_hole_with_whole_text_windows():
    ctx = _context("python", "def f(x):\n    return g(x|)\n\nprint(f(1))\n")
    assert ctx.shape is HoleShape.LINE
    assert ctx.prefix == "def f(x):\n    return g(x"
    assert ctx.suffix == ")\n\nprint(f(1))\n"
    assert ctx.line_suffix == ")"


@pytest.mark.parametrize(
    "language_id, text, indent",
    [
        ("python", "class A:\n    def f(self):|\n\nx = 1\n", "        "),
        ("javascript", "function f(a) {|}\n", "  "),
        ("python", "def f():|\n", "    "),
        ("go", "package main\n\nfunc f() {|\n}\n", "\t"),
        ("python", "def f():\n    |\n", "    "),
        ("c", "int f(void) {\n  |\n}\n", "  "),
    ],
)
def test_block_holes_after_an_opener_or_in_an_empty_body(language_id, text, indent):
    ctx = _context(language_id, text)
    assert ctx.shape is HoleShape.BLOCK
    assert ctx.body_indent == indent


@pytest.mark.parametrize(
    "text, shape",
    [
        ("def f(self, x: |)\n", HoleShape.LINE),  # an annotation, the editor's `)` after it
        ("class C:\n    version: |\n", HoleShape.LINE),  # a field's annotation at the line's end
        ("d = {'a': |}\n", HoleShape.LINE),
        ("x = a[1:|]\n", HoleShape.LINE),
        ("f = lambda x: |\n", HoleShape.LINE),
        ("def f(\n    a,\n) -> int:|\n", HoleShape.BLOCK),  # a header broken over lines
        ("for i in range(3): |\n", HoleShape.BLOCK),
        ("try:\n    pass\nexcept* E:|\n", HoleShape.BLOCK),
    ],
)
def test_a_python_colon_opens_a_body_only_at_the_end_of_a_headers_line(text, shape):
    assert _context("python", text).shape is shape


@pytest.mark.parametrize(
    "text",
    [
        # A signature or a call still being typed, its bracket open at the colon: an annotation, a lambda's body.
        "def restock(items: list[Item], name: str, amount: |\n",
        "def by_price(items):\n    for item in sorted(items, key=lambda item: |\n",
        "if f(a, key=lambda x:|\n",
        "def restock(items, amount:\n    |\n",  # the blank line below one
    ],
)
def test_a_header_words_colon_inside_a_bracket_its_line_opened_opens_no_body(text):
    assert _context("python", text).shape is HoleShape.LINE


@pytest.mark.parametrize(
    "text, indent",
    [
        # PEP 8's hanging indent
        ("def f(\n        a, b,\n        c):|\n\ndef g():\n    if a:\n        pass\n", "    "),
        ("def f(a,\n      b):|\n", "    "),  # aligned
        ("if (a and\n        b):|\n\nwhile x:\n    if a:\n        pass\n", "    "),
        ("with open(a) as x, \\\n     open(b) as y:|\n", "    "),
        ("class A:\n    def f(self,\n          b):|\n", "        "),
        ("def f(a,\n      b):\n    |\n", "    "),  # the blank line below it
        ("def f(x):  # noqa: D103\n    |\n", "    "),
        ("if x:  # why|\n", "    "),
    ],
)
def test_a_python_header_that_its_last_line_does_not_tell_opens_a_body_inside_its_first(text, indent):
    ctx = _context("python", text)
    assert ctx.shape is HoleShape.BLOCK
    assert ctx.body_indent == indent


@pytest.mark.parametrize(
    "language_id, text",
    [
        ("javascript", "/**\n * @example\n * if (ready) {|\n */\nfunction f() {}\n"),
        ("javascript", "// while (true) {|\nrun();\n"),
        ("javascript", "/*\n  if (x) {\n  |\n*/\n"),
        ("python", 'def f(x):\n    """Return x.\n\n    if x is None:|\n    """\n'),
        ("python", 'def f(x):\n    """Return x.\n\n    if x is None:\n    |\n    """\n'),
        ("python", "# for x in y:|\n"),
        ("go", "package main\n\n// for {|\nfunc f() {}\n"),
        ("rust", "/// if x {|\nfn f() {}\n"),
        ("c", "const char *s = \"{|\";\n"),
    ],
)
def test_an_opener_in_a_comment_or_string_opens_nothing(language_id, text):
    assert _context(language_id, text).shape is HoleShape.LINE


@pytest.mark.parametrize(
    "language_id, text",
    [
        ("go", "package main\n\nfunc f() {\n\tx := []int{|}\n\t_ = x\n}\n"),
        ("go", "package main\n\nfunc f() {\n\tx := T{|}\n\t_ = x\n}\n"),
        ("javascript", "const o = {|};\n"),
        ("typescript", "f({|});\n"),
        ("cpp", "int main() {\n    std::vector<int> v{|};\n}\n"),
        ("c", "int a[] = {|};\n"),
        ("rust", "fn main() {\n    let p = P {|};\n}\n"),
        ("java", "class A {\n  int[] a = {|};\n}\n"),
        # With more code after the editor's `}`, too.
        ("javascript", "f({|}, 1);\n"),
        ("go", "package main\n\nfunc f() {\n\tT{|}.M()\n}\n"),
        ("cpp", "void f() {\n    g(S{|}, 1);\n}\n"),
    ],
)
def test_a_brace_that_opens_an_expression_holds_one_line(language_id, text):
    assert _context(language_id, text).shape is HoleShape.LINE


@pytest.mark.parametrize(
    "language_id, text",
    [
        ("go", "package main\n\nfunc f() {\n\tif x {|}\n}\n"),
        ("go", "package main\n\ntype T struct {|}\n"),
        ("javascript", "const f = () => {|};\n"),
        ("javascript", "class A {|}\n"),
        ("cpp", "namespace n {|}\n"),
        ("rust", "fn main() {|}\n"),
        ("java", "class A {\n  void f() {|}\n}\n"),
        # A comment after the editor's `}`: JavaScript's grammar makes it the body's last child.
        ("javascript", "for (const x of xs) {|} // c\n"),
        ("go", "package main\n\nfunc f() {\n\tif err != nil {|} // nolint\n}\n"),
    ],
)
def test_a_brace_that_opens_a_body_still_holds_a_block(language_id, text):
    assert _context(language_id, text).shape is HoleShape.BLOCK


@pytest.mark.parametrize(
    "language_id, text",
    [
        ("typescriptreact", "function Row({ item }: { item: Item }) {\n  return <li key={|\n}\n"),
        ("typescriptreact", "function List() {\n  return <ul>{|\n}\n"),
        ("cpp", "int main() {\n    std::vector<int> v{|\n}\n"),
        ("cpp", "int main() {\n    std::vector<int> v = {|\n}\n"),
        ("c", "int a[] = {|\n"),
        ("javascript", "const o = {|\n"),
        ("javascript", "f(a, {|\n"),
        ("typescript", "function f() {\n  return {|\n}\n"),
        ("java", "class A {\n  int[] a = {|\n}\n"),
        ("go", "package main\n\nfunc f() {\n\tx := T{|\n}\n"),
    ],
)
def test_a_brace_that_opens_an_expression_with_nothing_after_it_holds_one_line(language_id, text):
    # No editor `}` after it: the parse of a brace left open is a guess, so the code before it must say so too.
    assert _context(language_id, text).shape is HoleShape.LINE


@pytest.mark.parametrize(
    "language_id, text",
    [
        ("javascript", "const f = () => {|\n"),
        ("javascript", "if (a) {|\n"),  # parsed as an object while nothing follows
        ("javascript", "f(() => {|\n"),
        ("cpp", "class A {\n  void f() {|\n};\n"),  # parsed as an initializer list while nothing follows
        ("cpp", "int main() {\n    if (x) {\n        f();\n    } else {|\n}\n"),
        ("cpp", "auto f = [](int x) {|\n"),
        ("rust", "fn main() {\n    let x = {|\n}\n"),  # a block expression
        ("rust", "fn main() {\n    if a == b {|\n}\n"),
        ("java", "class A {\n  void f() {|\n}\n"),
    ],
)
def test_a_brace_that_opens_a_body_with_nothing_after_it_still_holds_a_block(language_id, text):
    assert _context(language_id, text).shape is HoleShape.BLOCK


def test_blank_line_between_statements_is_a_line_hole_at_the_neighbours_indent():
    ctx = _context("python", "def f():\n    a = 1\n|\n    return a\n")
    assert ctx.shape is HoleShape.LINE
    assert ctx.body_indent == "    "


def test_unknown_language_is_plain_text():
    ctx = _context("plaintext", "Dear reader,\n|\nregards\n", uri="file:///letter.txt")
    assert ctx.language is None and ctx.shape is HoleShape.LINE
    assert ctx.prefix == "Dear reader,\n" and ctx.suffix == "\nregards\n"


def test_windows_respect_the_budget_and_cut_where_statements_begin_and_end():
    functions = "".join(f"def f{i}(x):\n    y = x * {i}\n    return y\n\n" for i in range(200))
    text = functions + "def target(x):\n    return |\n\n" + functions
    budget = WindowBudget(prefix_tokens=300, suffix_tokens=200, count_tokens=len, chars_per_token=1.0)
    ctx = _context("python", text, budget=budget)
    assert len(ctx.prefix) <= 300 and len(ctx.suffix) <= 200
    assert ctx.prefix.endswith("def target(x):\n    return ")
    # The prefix begins at the start of a whole statement line, not mid-line.
    first = ctx.prefix.splitlines()[0]
    assert first.lstrip().startswith(("def ", "y = ", "return "))
    assert ctx.prefix_window.start == 0 or text.replace("|", "")[ctx.prefix_window.start - 1] == "\n"
    # The suffix ends at the end of a line that closes a statement.
    last = ctx.suffix.rstrip("\n").splitlines()[-1]
    assert last.lstrip().startswith(("def ", "y = ", "return "))
    assert len(ctx.prefix) > 200 and len(ctx.suffix) > 120  # the budget is used, not wasted


def test_files_without_indentation_use_the_language_convention():
    def unit(spec, text):
        return indent_unit(spec, Snapshot("file:///t", "plaintext", 1, text))

    assert unit(language_for("go", ""), "package main\n") == "\t"
    assert unit(language_for("typescript", ""), "let a = 1;\n") == "  "
    assert unit(None, "notes\n") == "    "
    assert unit(None, "if x:\n\ty\n") == "\t"


def test_indent_unit_detection():
    assert detect_indent_unit("if x:\n\ty\n\tz\n") == "\t"
    assert detect_indent_unit("a {\n  b {\n    c\n  }\n}\n") == "  "
    assert detect_indent_unit("def f():\n    if x:\n        y\n") == "    "
    assert detect_indent_unit("flat\ntext\n") is None


def test_comment_and_string_lines_do_not_set_the_indentation_step():
    jsdoc = "/**\n * Adds.\n * @param {number} a\n */\nfunction add(a, b) {\n  return a + b;\n}\n"
    assert detect_indent_unit(jsdoc) == "  "
    raw = "package db\n\nconst q = `\n    SELECT id\n    FROM users\n    WHERE id = $1\n`\n\nfunc get() string {\n\treturn q\n}\n"
    assert detect_indent_unit(raw) == "\t"
    docstring = 'def f():\n  """Doc.\n\n     indented prose\n     more\n  """\n  return 1\n'
    assert detect_indent_unit(docstring) == "  "


def test_indentation_steps_tie_to_the_languages_usual_one():
    two_and_four = "a {\n  b\n}\nc {\n    d\n}\n"
    assert detect_indent_unit(two_and_four, usual="  ") == "  "
    assert detect_indent_unit(two_and_four, usual="    ") == "    "
    spec = language_for("javascript", "")
    assert indent_unit(spec, Snapshot("file:///t.js", "javascript", 1, two_and_four)) == "  "
    assert detect_indent_unit("a\n\tb\nc\n  d\n", usual="\t") == "\t"


# --- post-processing ----------------------------------------------------------------------


def test_line_fill_stops_at_the_line_end_and_drops_closers_already_there():
    ctx = _context("python", "x = foo(a, |)\n")
    assert postprocess(ctx, "b)\nmore") == "b"
    assert postprocess(ctx, "b, c)") == "b, c"
    assert postprocess(ctx, ")") is None
    assert postprocess(ctx, "   ") is None


def test_block_fill_takes_the_file_indentation_and_leaves_the_body_in_time():
    ctx = _context("go", "package main\n\nfunc f() int {|\n}\n")
    fill = "\n    x := 1\n    if x > 0 {\n        return x\n    }\n    return 0\n}\nfunc g() {}"
    assert postprocess(ctx, fill) == "\n\tx := 1\n\tif x > 0 {\n\t\treturn x\n\t}\n\treturn 0"


def test_block_fill_between_braces_the_editor_inserted_puts_the_closer_on_its_own_line():
    ctx = _context("javascript", "function f(a) {|}\n")
    assert postprocess(ctx, "\n\treturn a;\n\tif (a) {\n\t\tb();\n\t}\n}") == (
        "\n  return a;\n  if (a) {\n    b();\n  }\n"
    )


def test_block_fill_that_repeats_the_next_line_loses_the_repeat():
    ctx = _context("python", "def f(x):|\n    return x\n")
    assert postprocess(ctx, "\n    x += 1\n    return x") == "\n    x += 1"
    assert postprocess(ctx, "\n    return x") is None


def test_fill_stops_at_a_control_character():
    ctx = _context("python", "x = foo(|)\n")
    assert postprocess(ctx, "a, b\x13junk") == "a, b"
    assert postprocess(ctx, "\x06a") is None
    assert postprocess(ctx, "a\tb") == "a\tb"  # tabs are code


def test_fill_uses_the_file_line_breaks():
    ctx = _context("python", "def f(x):|\r\n\r\nprint(1)\r\n")
    assert postprocess(ctx, "\n  a = 1\n  return a") == "\r\n    a = 1\r\n    return a"


# --- code action pieces that need no model --------------------------------------------------




def test_placeholders_in_the_enclosing_python_function():
    text = (
        "def other():\n    pass\n\n"
        "def f(x):\n"
        "    if x:\n        pass\n"
        "    y = [1, ...]\n"
        "    # TODO: handle the empty case\n"
        "    z = 2  # TODO not a line of its own\n"
        "    while x:\n        ...\n"
        "    return y\n"
    )
    parsed = parsed_text("python", text)
    spans = find_placeholders(parsed, text.index("if x"))
    found = [text[a:b] for a, b in spans]
    # A `pass` in a branch is code (`if x: pass` on purpose), not a stub: only a whole body, or one beside a TODO.
    assert found == ["# TODO: handle the empty case", "..."]
    assert find_placeholders(parsed, text.index("def other") + 5) == [(text.index("pass"), text.index("pass") + 4)]


def test_block_comment_todo_in_c_like_languages():
    text = "int f(int a) {\n  int b = /* TODO */ 0;\n  // TODO: loop\n  return b;\n}\n"
    parsed = parsed_text("c", text)
    assert [text[a:b] for a, b in find_placeholders(parsed, 3)] == ["/* TODO */", "// TODO: loop"]


@pytest.mark.parametrize("language_id, text, found", [
    ("rust", "fn f(x: i32) -> i32 {\n    let y = todo!();\n    h(todo!());\n    unimplemented!(\"later\")\n}\n",
     ["todo!()", 'unimplemented!("later")']),
    ("python", 'def f(x):\n    """Doc."""\n    raise NotImplementedError("f")\n', ['raise NotImplementedError("f")']),
    ("java", "class A {\n  int f(int x) {\n    throw new UnsupportedOperationException();\n  }\n}\n",
     ["throw new UnsupportedOperationException();"]),
    ("go", 'package p\n\nfunc f(x int) int {\n\tpanic("not implemented")\n}\n', ['panic("not implemented")']),
    ("typescript", 'function f(x: number): number {\n  throw new Error("Not yet implemented");\n}\n',
     ['throw new Error("Not yet implemented");']),
    ("javascript", "function f(x) {\n  throw new Error(`TODO: f`)\n}\n", ["throw new Error(`TODO: f`)"]),
    # Code that throws is no stub: in a branch, beside other code, or with a message that says something else.
    ("python", "def f(mode):\n    if mode:\n        raise NotImplementedError(mode)\n    return 1\n", []),
    ("python", "def f(x):\n    check(x)\n    raise NotImplementedError\n", []),
    ("go", 'package p\n\nfunc f(x int) int {\n\tpanic("negative size")\n}\n', []),
    ("java", "class A {\n  void f() {\n    if (x) {\n      throw new UnsupportedOperationException();\n    }\n  }\n}\n",
     []),
    ("typescript", "function f() {\n  throw new Error('invalid state');\n}\n", []),
    ("javascript", "function f() {\n  throw new Error('Todo list is empty');\n}\n", []),
    ("rust", "fn f(x: i32) -> i32 {\n    let c = || todo!();\n"
             "    match x {\n        0 => 1,\n        _ => todo!(),\n    }\n}\n", ["todo!()", "todo!()"]),
])
def test_each_languages_stubs_are_placeholders(language_id, text, found):
    parsed = parsed_text(language_id, text)
    assert [text[a:b] for a, b in find_placeholders(parsed, text.index("f(") + 1)] == found


@pytest.mark.parametrize(
    "language_id, text, cursor_after",
    [
        ("javascript", "function f(a) {\n  if (a) {\n    return a + 1;\n\n}\n\nfunction g() { return 2; }\n", "a + 1;"),
        ("python", "def f(a):\n    return foo(a, [2, 3\n\ndef g():\n    return 1\n", "[2, 3"),
        ("c", "int f(int a) {\n  if (a) {\n    return g(a, 1;\n}\n", "g(a, 1;"),
    ],
)
def test_mechanical_closers_near_the_cursor_make_the_file_parse(language_id, text, cursor_after):
    parsed = parsed_text(language_id, text)
    cursor = text.index(cursor_after) + len(cursor_after)
    problem = nearest_problem(parsed, cursor)
    assert problem is not None
    line_end = cursor + len(text[cursor:].split("\n", 1)[0])
    fixes = mechanical_fix(parsed, top_level(problem), line_end)
    assert fixes
    assert not parses_after(parsed, [])
    assert parses_after(parsed, fixes), fixes


def test_an_error_no_child_node_shows_is_still_a_problem():
    # Tree-sitter marks this `if` body as holding an error yet shows it on none of its children: counted as
    # nothing, a fill that ends in stray backticks would pass for one that parses.
    from infill_ls.syntax import error_count, iter_problems, problem_count

    tree = parse_text(language_for("python", ""), "if x:\n    if f(m):\n        self.a.add(s)``\n    else:\n        y\n")
    assert tree.root_node.has_error
    assert [n.type for n in iter_problems(tree.root_node)] == ["block"]
    assert problem_count(tree) == error_count(tree) == 1


def test_parses_after_checks_edits_against_the_edited_text():
    text = "def f(x):\n    return x\n"
    parsed = parsed_text("python", text)
    assert parses_after(parsed, [Replacement(text.index("x\n"), text.index("x\n") + 1, "x + 1")])
    assert not parses_after(parsed, [Replacement(text.index("x\n"), text.index("x\n") + 1, "x +")])
    assert nearest_problem(parsed, 0) is None


def test_block_fill_from_the_cursor_inside_the_indentation_keeps_each_line_at_its_depth():
    # The model writes on from the cursor: its first line has no indentation of its own, the next lines have the
    # file's absolute indentation.
    ctx = _context("python", "def f(xs):\n    |\n")
    fill = "total = 0\n    for x in xs:\n        total += x\n    return total"
    assert postprocess(ctx, fill) == "total = 0\n    for x in xs:\n        total += x\n    return total"


GO_SWITCH = "package main\n\nfunc f(k string) int {\n\tswitch k {%s\n\treturn 0\n}\n"


@pytest.mark.parametrize(
    "language_id, text, indent",
    [
        # gofmt: a switch's labels stand at the switch's own indentation, each label's body one step inside it.
        ("go", GO_SWITCH % "|}", "\t"),
        ("go", GO_SWITCH % "\n|\n\t}", "\t"),
        ("go", "package main\n\nfunc f(x any) {\n\tswitch v := x.(type) {|}\n}\n", "\t"),
        ("go", "package main\n\nfunc f(c chan int) {\n\tselect {|\n\t}\n}\n", "\t"),
        ("go", GO_SWITCH % '\n\tcase "a":\n\t\treturn 1\n\tcase "b":\n|\n\tdefault:\n\t\treturn 2\n\t}', "\t\t"),
        ("go", GO_SWITCH % "\n\tdefault:\n|\n\t}", "\t\t"),
        # C, Java and JavaScript indent their labels one step inside the switch, like any statement.
        ("javascript", "function f(k) {\n  switch (k) {|}\n}\n", "    "),
        ("java", "class A {\n  int f(int k) {\n    switch (k) {|}\n  }\n}\n", "      "),
        ("c", "int f(int k) {\n  switch (k) {\n  |\n  }\n}\n", "    "),
    ],
)
def test_a_switch_body_starts_where_the_languages_labels_stand(language_id, text, indent):
    ctx = _context(language_id, text)
    assert ctx.shape is HoleShape.BLOCK
    assert ctx.body_indent == indent


def test_a_label_in_a_go_comment_opens_nothing():
    ctx = _context("go", GO_SWITCH % '\n\tcase "a":\n\t\treturn 1\n\t// default:\n|\n\t}')
    assert ctx.shape is HoleShape.LINE


def test_a_gofmt_switch_fill_keeps_its_labels_at_the_switchs_indentation():
    ctx = _context("go", GO_SWITCH % "|}")
    fill = '\n\tcase "a":\n\t\treturn 1\n\tdefault:\n\t\treturn 2\n\t}'
    assert postprocess(ctx, fill) == '\n\tcase "a":\n\t\treturn 1\n\tdefault:\n\t\treturn 2\n\t'


def test_the_closer_of_a_gofmt_switch_written_on_the_blank_line_below_it_goes_at_the_switchs_indentation():
    ctx = _context("go", "package main\n\nfunc f(k int) int {\n\tswitch k {\n|\n}\n")
    assert postprocess(ctx, "case 1:\n\t\treturn 1\n\t}") == "\tcase 1:\n\t\treturn 1\n\t}"


def _typed(store, uri, start, end, text):
    """The document once ``text`` replaces its characters ``start..end``, as an editor sends a keystroke."""
    current = store.get(uri)
    change = TextChange(current.range_at(start, end, PositionEncoding.UTF16), text)
    return store.change(uri, current.version + 1, [change])


def test_a_keystroke_that_leaves_the_indentation_as_it_was_keeps_the_step_without_a_rescan(monkeypatch):
    import infill_ls.context as context

    calls = []
    detect = context.detect_indent_unit
    monkeypatch.setattr(context, "detect_indent_unit", lambda *args, **kw: calls.append(1) or detect(*args, **kw))
    spec = language_for("python", "")
    store = DocumentStore()
    text = "def f(x):\n  if x:\n    return g(x)\n  return 0\n"
    snap = store.open("file:///k.py", "python", 1, text)
    assert indent_unit(spec, snap) == "  " and len(calls) == 1
    at = text.index("g(x)") + 3
    for start, end, typed in [(at, at, "y"), (at, at + 1, ""), (at, at, ", z")]:  # typing, a backspace, typing
        snap = _typed(store, snap.uri, start, end, typed)
        assert indent_unit(spec, snap) == "  "
    assert snap.text == text.replace("g(x)", "g(x, z)") and len(calls) == 1
    # A keystroke in a line's indentation, or one that writes a line break, is read again.
    at = snap.text.index("return 0")
    snap = _typed(store, snap.uri, at, at, "  ")
    assert indent_unit(spec, snap) == "  " and len(calls) == 2
    snap = _typed(store, snap.uri, len(snap.text), len(snap.text), "class A:\n    a = 1\n    b = 2\n")
    assert indent_unit(spec, snap) == detect(snap.text, usual="    ") and len(calls) == 3


def test_a_keystroke_that_moves_a_line_across_the_end_of_what_is_read_reads_the_step_again(monkeypatch):
    import infill_ls.context as context

    # The last line read, `  w = 1`, is two spaces deep: where the cut leaves its code out, the one step of four
    # above it decides; where it takes its `w` in, a step of two ties with it, and JavaScript's usual two wins.
    head = "a\nbq\n" + "z\n" * 20 + "    y\n"
    text = head + "  w = 1\n" + "z\n" * 5
    monkeypatch.setattr(context, "INDENT_SCANNED", len(head) + 2)
    spec = language_for("javascript", "")
    store = DocumentStore()
    snap = store.open("file:///cut.js", "javascript", 1, text)
    assert indent_unit(spec, snap) == "    "
    snap = _typed(store, snap.uri, 3, 4, "")  # `bq` -> `b`: the `w` comes into what is read
    assert indent_unit(spec, snap) == "  " == detect_indent_unit(snap.text, len(head) + 2, "  ")
    snap = _typed(store, snap.uri, 2, 2, "c")  # `b` -> `cb`: and out again
    assert indent_unit(spec, snap) == "    "


@pytest.mark.parametrize("seed", range(40))
def test_the_step_kept_over_keystrokes_is_the_step_of_the_text(monkeypatch, seed):
    import infill_ls.context as context

    rng = random.Random(seed)
    scanned = rng.choice([60, 120, 10_000])
    monkeypatch.setattr(context, "INDENT_SCANNED", scanned)
    spec = language_for(rng.choice(["python", "javascript", "go"]), "")

    def line():
        body = "".join(rng.choice("abc xyz()=:") for _ in range(rng.randint(0, 12)))
        quoted = rng.choice(['"""', "'''", "/*", "*/", "#", '"s"', "`"]) if rng.random() < 0.1 else ""
        return rng.choice(["", "", "  ", "    ", "\t", "      ", "   "]) + body + quoted

    store = DocumentStore()
    snap = store.open(f"file:///r{seed}", spec.language_ids[0], 1, "\n".join(line() for _ in range(rng.randint(5, 40))))
    for _ in range(60):
        size = len(snap.text)
        start = rng.randrange(size + 1) if rng.random() < 0.5 else min(size, max(0, scanned + rng.randint(-15, 15)))
        end = min(size, start + rng.choice([0, 0, 1, 1, 2, 5]))
        letters = "ab  \t\n\"'#/*\\`x()\r\x0c" if rng.random() < 0.3 else "abcxyz "
        written = "".join(rng.choice(letters) for _ in range(rng.choice([0, 1, 1, 2])))
        snap = _typed(store, snap.uri, start, end, written)
        assert indent_unit(spec, snap) == (detect_indent_unit(snap.text, scanned, spec.indent) or spec.indent)
