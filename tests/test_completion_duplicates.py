"""While typing, no suggestion makes its line a header its class (or file) already declares word for word."""

from __future__ import annotations

import pytest

from engine.infill import InfillEngine
from engine.tiny import write_random_checkpoint
from infill_ls.completion import complete
from infill_ls.suggestions import Suggestion
from infill_ls.typing_filter import no_worse
from infill_ls.documents import DocumentStore
from infill_ls.settings import Settings
from infill_ls.syntax import SyntaxIndex

JAVA = ("class Point {\n    private int x;\n\n    public int getX() {\n        return x;\n    }\n\n"
        "    public int get|\n}\n")
C = "int add(int a) {\n    return a;\n}\n\nint sub(int a) {\n    return -a;\n}\n\nint ad|\n"
TYPESCRIPT = "class Point {\n  x = 0;\n\n  getX(): number {\n    return this.x;\n  }\n\n  getX|\n}\n"
PYTHON = "class Point:\n    def get_x(self):\n        return self.x\n\n    |\n"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model", max_denoising_steps=12)
    return InfillEngine.load(path, device="cpu")


def _marked(language_id: str, marked: str):
    """The parse of ``marked`` without its `|`, and the offset of the `|`."""
    at = marked.index("|")
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(f"file:///t.{language_id}", language_id, 1, marked.replace("|", "", 1))
    index.opened(snapshot)
    return index.parse(snapshot), at


def _model_ran(*args, **kwargs):
    raise AssertionError("the model ran")


def _kept(language_id: str, marked: str, fill: str) -> bool:
    parsed, at = _marked(language_id, marked)
    return bool(no_worse(parsed, [Suggestion(fill, at, at, -0.1, "file")]))


@pytest.mark.parametrize("language, marked, duplicate", [
    ("java", JAVA, "X() {"), ("c", C, "d(int a) {"), ("typescript", TYPESCRIPT, "(): number {")])
def test_while_typing_the_files_copy_of_a_sibling_methods_header_is_not_shown(engine, monkeypatch, language, marked,
                                                                               duplicate):
    parsed, at = _marked(language, marked)
    text = parsed.snapshot.text
    assert [c.text for c in engine.copies(text[:at], text[at:])][:1] == [duplicate]  # the file spells it out
    monkeypatch.setattr(engine, "infill_steps", _model_ran)
    with pytest.raises(AssertionError, match="the model ran"):  # nothing from the file is shown: the model is asked
        complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
    assert not _kept(language, marked, duplicate)


@pytest.mark.parametrize("language, marked, fill, kept", [
    # The same name and parameters clash whatever the return type.
    ("java", "class S {\n  public List<Item> lowStockItems() {\n    return null;\n  }\n\n  public Optional<|\n}\n",
     "Item> lowStockItems() {", False),
    ("java", "class S {\n  public List<Item> lowStockItems() {\n    return null;\n  }\n\n  public Optional<|\n}\n",
     "Item> lowStockItems(int n) {", True),
    ("go", "package a\n\ntype A struct{}\n\nfunc (a *A) String() string {\n\treturn \"a\"\n}\n\nfunc (a *A) |\n\n"
     "func main() {}\n", "String() int {", False),
    # Go's method of another receiver is that type's own.
    ("go", "package a\n\ntype A struct{}\n\nfunc (a *A) String() string {\n\treturn \"a\"\n}\n\nfunc (b *B) |\n\n"
     "func main() {}\n", "String() string {", True),
    # In Python a name defined again replaces the first (a property's deleter): the whole line must be the same.
    ("python", "class P:\n    @property\n    def x(self):\n        return 1\n\n    @x.deleter\n    |\n",
     "def x(self):", True),
])
def test_a_function_of_the_name_and_parameters_of_a_sibling_is_dropped(language, marked, fill, kept):
    assert _kept(language, marked, fill) is kept


@pytest.mark.parametrize("eol", ["\r", "\r\n"])
def test_a_header_its_class_already_has_is_dropped_in_a_file_of_carriage_returns(eol):
    # The tree's rows count a lone `\r` as a line break: the cursor's line, looked up among the text's `\n` lines
    # alone, was past the last (IndexError), and every fill there failed.
    marked = JAVA.replace("\n", eol)
    assert not _kept("java", marked, "X() {")
    assert _kept("java", marked, "Y() {")
    # Python has no check by signature to fall back on: the file's lines, read by `\n` alone, were one.
    assert not _kept("python", PYTHON.replace("\n", eol), "def get_x(self):")


def test_a_python_method_header_its_class_already_has_is_dropped():
    assert not _kept("python", PYTHON, "def get_x(self):")
    assert not _kept("python", PYTHON, "def  get_x( self ):")  # whitespace aside
    assert _kept("python", PYTHON, "def get_y(self):")
    # A body line that repeats another is not a header.
    assert _kept("python", PYTHON.replace("    |", "    def get_y(self):\n        |"), "return self.x")


@pytest.mark.parametrize("text", [
    "class P:\n    def  get_x( self ):\n        return 1\n",  # spaced otherwise
    "class P:\r    def get_x(self):\r",  # a lone CR ends a line
    "class P:\r\n\tdef get_x(self):  \r\n",
    "x = 1; def get_x(self):\n",  # code before it on its line: another line
    "def get_x(self):",  # the file's first line, and its last
    "\u2028 def get_x(\x0bself):\x0c\n",  # whitespace `str.split` takes, which no line break is here
    "def get_x(self): pass\ndef get_x(self)\n",
    "",
])
def test_a_line_spelled_with_other_whitespace_is_found_as_the_lines_split_and_squeezed_find_it(text):
    # Searched for, not split into lines and squeezed one by one (25 ms a suggestion in 25,000 lines): the same answer.
    from infill_ls.documents import LINE_BREAK, Snapshot
    from infill_ls.typing_filter import _has_line_squeezed, _squeezed

    snap = Snapshot("file:///p.py", "python", 1, text)
    for line in ("defget_x(self):", "get_x(self):", "return1", "x=1;defget_x(self):", "classP:"):
        assert _has_line_squeezed(snap, line) is any(_squeezed(other) == line for other in LINE_BREAK.split(text))


@pytest.mark.parametrize("language, marked, duplicate", [
    # A one-line function with a comment after it: the comment stands beside the function in the tree, not in it,
    # and the walk up from the line's last byte, in the comment, found no function.
    ("java", "class Point {\n    private int x;\n\n    public int getX() { return x; } // accessor\n\n"
             "    public int get|\n}\n", "X() { return x; } // accessor"),
    ("cpp", "struct Point {\n    int x;\n    int getX() const { return x; } /* accessor */\n    int get|\n};\n",
     "X() const { return x; } /* accessor */"),
    ("c", "int add(int a) { return a; } // sum\n\nint ad|\n", "d(int a) { return a; } // sum"),
    ("rust", "impl P {\n    fn get_x(&self) -> i32 { 1 } // accessor\n\n    fn get_|\n}\n",
     "x(&self) -> i32 { 1 } // accessor"),
    ("go", "package main\n\nfunc add(a int) int { return a } // sum\n\nfunc ad|\n", "d(a int) int { return a } // sum"),
    # The comment in the header's body, as before.
    ("java", "class Point {\n    public int getX() { // accessor\n        return x;\n    }\n\n    public int get|\n}\n",
     "X() { // accessor"),
])
def test_a_header_line_that_ends_in_a_comment_is_checked_by_its_code(language, marked, duplicate):
    assert not _kept(language, marked, duplicate)
    # A new name on such a line keeps its fill.
    assert _kept(language, marked, duplicate.replace("(", "2(", 1))


def test_a_new_name_an_overload_and_another_classes_method_keep_their_fills(engine, monkeypatch):
    assert _kept("java", JAVA, "Y() {")
    assert _kept("c", C, "d_twice(int a) {")
    # A C prototype is a declaration, not a function: its definition may follow it.
    assert _kept("c", "int add(int a);\n\nint ad|\n", "d(int a) {")
    assert _kept("typescript", TYPESCRIPT, "Sum(): number {")
    # An overload with other parameters declares a new method.
    overload = "class Calc {\n    int add(int a) {\n        return a;\n    }\n\n    int add(int a, |\n}\n"
    assert _kept("java", overload, "int b) {")
    # The same header in another class is that class's own.
    other = JAVA.replace("    public int get|\n}\n",
                         "}\n\nclass Size {\n    private int x;\n\n    public int get|\n}\n")
    parsed, at = _marked("java", other)
    monkeypatch.setattr(engine, "infill_steps", _model_ran)
    shown = complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
    assert [(s.text, s.source) for s in shown] == [("X() {", "file")]


SERVER_JS = ('"use strict";\n\nconst http = require("http");\nconst { URL, k: v, d = 1, ...rest } = require("url");\n'
             'const path = require("path");\n\n%s\nconst ROOT = path.join(__dirname, "public");\n\n'
             'function route(method, pathname) {\n  %s\n}\n')
TS_MODULE = ('import { Order } from "./orders";\nimport type { Logger } from "./logger";\nexport const LIMIT = 10;\n'
             'interface Box {}\n\n|\n')


@pytest.mark.parametrize("marked, fill, renamed", [
    # Whatever made it: the model's `const path = path` (node: "Identifier 'path' has already been declared").
    (SERVER_JS % ("|", ""), "const path = path;", "const dir = path;"),
    (SERVER_JS % ("const|", ""), " path = path;", " dir = path;"),
    (SERVER_JS % ("const pa|", ""), "th = 1;", "rts = 1;"),  # a half-typed name completed to one the file declares
    (SERVER_JS % ("|", ""), "let http = 1;", "let https = 1;"),
    (SERVER_JS % ("|", ""), "const ROOT = 1;", "const HOME = 1;"),  # declared below the cursor
    (SERVER_JS % ("|", ""), "class URL {}", "class Url {}"),  # a destructured name
    (SERVER_JS % ("|", ""), "function v() {}", "function k() {}"),  # an object pattern's value, not its key
    (SERVER_JS % ("|", ""), "const [a, rest] = [];", "const [a, b] = [];"),
    (SERVER_JS % ("", "|"), "const method = 1;", "const verb = 1;"),  # a parameter of the function it is the body of
    (TS_MODULE, "const LIMIT = 11;", "const MAX = 11;"),  # an exported one
    (TS_MODULE, "const Order = 1;", "const Orders = 1;"),  # an import
])
def test_a_js_or_ts_declaration_of_a_name_its_scope_declares_is_dropped(marked, fill, renamed):
    language = "typescript" if marked is TS_MODULE else "javascript"
    assert not _kept(language, marked, fill)
    assert _kept(language, marked, renamed)


@pytest.mark.parametrize("marked, fill", [
    (SERVER_JS % ("const path|", ""), " = require(\"node:path\");"),  # the user's own name
    (SERVER_JS % ("|", ""), "const k = 2;"),  # an object pattern's key binds nothing
    (SERVER_JS % ("", "|"), "const path = pathname;"),  # an inner scope shadows
    (SERVER_JS % ("", "|"), "function route() {}"),
    (TS_MODULE, "class Box {}"),  # a class merges with an interface of its name
])
def test_a_declaration_the_scope_takes_keeps_its_fill(marked, fill):
    """Where the name is the user's, a key, one an inner scope shadows, or a type's."""
    language = "typescript" if marked is TS_MODULE else "javascript"
    assert _kept(language, marked, fill)
