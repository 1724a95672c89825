"""The names a Python fill reads that nothing binds where it stands (`infill_ls.scopes`): held to Python's scopes,
through the real parse, and what the typing path shows for a copy that reads another function's locals."""

from __future__ import annotations

import random

import pytest

from infill_ls.completion import reads_unbound
from infill_ls.scopes import unbound_reads, unknown_attributes, unknown_members
from infill_ls.suggestions import Suggestion
from infill_ls.syntax import Replacement, tree_after
from lsp_support import parsed_text

WAREHOUSE = '''from dataclasses import dataclass


@dataclass
class Move:
    sku: str


class Warehouse:
    def transfer(self, sku, qty, source, target):
        self.apply(Move(sku, qty, source, target))

    def receive(self, sku, qty, target):
        sel|
'''


def _unbound(marked: str, fill: str, known=()) -> list[str]:
    at = marked.index("|")
    parsed = parsed_text("python", marked.replace("|", "", 1))
    tree = tree_after(parsed, [Replacement(at, at, fill)])
    lo = parsed.snapshot.byte_offset(at)
    return unbound_reads(tree, lo, lo + len(fill.encode()), known)


@pytest.mark.parametrize("marked, fill, unbound", [
    # Another method's parameter, copied along with its line.
    (WAREHOUSE, "f.apply(Move(sku, qty, source, target))", ["source"]),
    (WAREHOUSE, "f.apply(Move(sku, qty, None, target))", []),
    ("import os\n\ndef f(path):\n    return |\n", "os.path.join(path, name)", ["name"]),
    # A function's locals are its whole body's, bound before the cursor or after it.
    ("import os\n\ndef f(path):\n    for name in os.listdir(path):\n        print(name)\n    return |\n",
     "os.path.join(path, name)", []),
    ("def f(path):\n    return |\n    name = 1\n", "name", []),
    # A class body's names are not its methods'; in the class body they are.
    ("class A:\n    X = 1\n    def f(self):\n        return |\n", "X", ["X"]),
    ("class A:\n    X = 1\n    Y = |\n", "X + 1", []),
    # The module's names, wherever defined, the builtins, a comprehension's, parameters of every kind.
    ("def f():\n    return |\n\ndef g(): pass\n", "g() + len([y for y in range(3)])", []),
    ("def f(a, *args, b=1, **kw):\n    return |\n", "a, args, b, kw, __file__, print", []),
    ("def f():\n    try:\n        pass\n    except ValueError as err:\n        raise |\n", "err", []),
    ("def f():\n    with open('x') as fh:\n        return |\n", "fh.read()", []),
    ("import os.path as p, sys\nfrom a import b as c, d\nx = |\n", "p, sys, c, d", []),
    # An attribute's or a keyword's name is no read; the value is.
    ("def f(d):\n    return |\n", "d.get(key=value)", ["value"]),
    # A star import binds names no text shows, and a notebook's other cells bind what their words say.
    ("from m import *\ndef f():\n    return |\n", "zzz", []),
    # An assignment that alone binds a name reads it unbound (UnboundLocalError): `total += qty` first.
    ("def f(qty):\n    |\n", "total += qty", ["total"]),
    ("def f(qty):\n    total = 0\n    |\n", "total += qty", []),
    ("def f():\n    |\n    return header\n", "header = header.USER", ["header"]),
    ("def f(orders):\n    |\n", "orders = sorted(orders)", []),
    ("def f():\n    |\n", "x = 1", []),
    # So where the user typed the name and the fill makes it read: `total ` + `+= qty`, `name ` + `= name`.
    ("def f(qty):\n    total |\n", "+= qty", ["total"]),
    ("def f():\n    name |\n", "= name", ["name"]),
    ("def f():\n    x |\n", "= 1", []),
    # A definition's annotations, defaults and bases are read where it stands, not in the scope it makes.
    ("def unstringify(ty: |\n    return ty\n", "ty):", ["ty"]),
    ("class A:\n    def f|:\n        return 1\n", "(self)", []),
    ("FIELDS = ['a']\n\ndef keys_of|:\n    return keys\n", "(keys=[f.upper() for f in FIELDS])", []),
    ("def f|:\n    return n\n", "(n=(m := 3))", []),
    ("BASES = {'a': object}\n\n|\n    pass\n", "class K(*[b for b in BASES.values()]):", []),
    ("class Size:\n    |\n", "def size_of(self, x):\n        return x", []),
    ("def f|:\n    return h\n", "(h, g, *args, x: int = 1, *rest: str, **kw)", []),
    ("def f(x, y=|):\n    return x\n", "x", ["x"]),
    ("def f(x) -> |:\n    return x\n", "x", ["x"]),
    ("def outer(x):\n    def inner(y=|):\n        return y\n    return inner\n", "x", []),
    ("class A:\n    X = 1\n    def f(self, y=|):\n        return y\n", "X", []),
    ("class Node(|):\n    Base = 1\n", "Base", ["Base"]),
    ("def f[T, U: int](x: |) -> T:\n    return x\n", "T | U", []),
    ("def f[T, U: int](x: |) -> T:\n    return x\n", "int | V", ["V"]),
])
def test_a_fill_reads_the_names_its_scopes_bind(marked, fill, unbound):
    assert _unbound(marked, fill) == unbound


def test_names_known_elsewhere_count_as_bound():
    assert _unbound("def f():\n    return |\n", "df.head()", known={"df"}) == []


def test_ecmascript_names_are_read_against_the_files_text_and_its_globals():
    server = "const express = require('express');\nconst app = express();\n\napp.get('/', (req, res) => {\n  \n});\n"
    at = server.index("  \n});") + 2
    parsed = parsed_text("javascript", server)
    for fill, unbound in (("state.loading = true;", True), ("next(err);", True), ("res.json({ ok: true });", False),
                          ("const x = 1; console.log(x);", False), ("const { a, b: c } = req.query; res.send(a + c);",
                                                                    False),
                          # A parameter's default value is read, not bound; the names a fill declares are bound.
                          ("function pick(key = fallbackKey) { return key; }", True),
                          ("function pick(key = 'id') { return key; }", False),
                          ("const [first = req.body, ...rest] = res.locals; next(first, rest);", True),
                          ("const [first = req.body, ...rest] = res.locals; res.send(first, rest);", False),
                          ("class Store {} function make() { return new Store(); } make();", False),
                          ("for (const key in req.query) { res.send(key); }", False)):
        assert reads_unbound(parsed, Suggestion(fill, at, at, -0.1, "file")) is unbound, fill
    text = "function f(a: number): number {\n  return \n}\n"
    at = text.index("return ") + len("return ")
    assert not reads_unbound(parsed_text("typescript", text), Suggestion("a * Math.PI", at, at, -0.1, "file"))
    assert reads_unbound(parsed_text("typescript", text), Suggestion("a * scale", at, at, -0.1, "file"))
    # A language whose names are not read here takes any.
    text = "int f(int a) {\n  return \n}\n"
    at = text.index("return ") + len("return ")
    assert not reads_unbound(parsed_text("c", text), Suggestion("nowhere", at, at, -0.1, "file"))


def test_while_typing_a_copy_that_reads_another_functions_local_is_not_shown(monkeypatch):
    from engine.infill_lookup import InfillLookup, default_model_dir
    from infill_ls import completion
    from infill_ls.settings import Settings

    engine = InfillLookup.read(default_model_dir())
    at = WAREHOUSE.index("|")
    parsed = parsed_text("python", WAREHOUSE.replace("|", "", 1))

    def shown():
        return [s.text for s in completion.from_the_file(engine, parsed, at, Settings(), should_stop=lambda: False)]

    assert all("source" not in text for text in shown())
    # The file spells it out: without the check, it is what the editor was shown.
    monkeypatch.setattr(completion, "reads_unbound", lambda *args: False)
    assert shown() == ["f.apply(Move(sku, qty, source, target))"]


@pytest.mark.parametrize("marked, fill, kept", [
    # A name another import of the scope binds already: the same import again, or another module's name.
    ("from datetime import datetime, timezone\nfrom |\n\nx = 1\n", "datetime import datetime", False),
    ("from dataclasses import dataclass, field\nfrom decimal import Decimal|\n\nx = 1\n", ", field", False),
    ("from datetime import datetime, timezone\nfrom |\n\nx = 1\n", "datetime import date", True),
    ("import numpy as np\nimport |\n", "pandas as np", False),
    ("import numpy as np\nimport |\n", "pandas as pd", True),
])
def test_while_typing_no_import_binds_a_name_its_scope_imports(marked, fill, kept):
    from lsp_support import kept_while_typing

    assert kept_while_typing("python", marked, fill) is kept


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A `return`, `raise`, `break` above statements of its block the file has: they never run.
    ("python", "class A:\n    def is_receipt(self) -> bool:|\n        return self.source is None\n",
     "\n        return None", False),
    ("javascript", "function f(x) {\n  if (x) {\n    g();\n  } else {|\n    h();\n  }\n}\n", "\n    return 1;", False),
    ("python", "def f(x):\n    for i in x:\n        |\n        g(i)\n", "continue", False),
    # Last in its block, it ends it as it should.
    ("python", "def f(x):\n    for i in x:\n        |\n    return 2\n", "break", True),
    ("python", "def f(x):\n    y = 1\n    |\n", "return y", True),
    ("python", "class A:\n    def is_receipt(self) -> bool:|\n        return self.source is None\n", "\n        x = 1",
     True),
])
def test_while_typing_no_jump_is_shown_above_the_statements_of_its_block(language, marked, fill, kept):
    from lsp_support import kept_while_typing

    assert kept_while_typing(language, marked, fill) is kept


STOCK_ERROR = "class StockError(Exception):\n    pass\n\ntry:\n    pass\nexcept Sto|\n    pass\n"


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A literal called, and a call an `except` names as its type: each parses, and raises TypeError.
    ("python", "def f(*args, **kwargs):\n    return 2|\n", "(*args, **kwargs)", False),
    ("python", "def f(args):\n    copied = 0|\n    return copied\n", "(args.dest)", False),
    ("javascript", "function f(a) {\n  return 2|\n}\n", "(a)", False),
    ("python", STOCK_ERROR, 'ckError(f"x"):', False),
    ("python", STOCK_ERROR, "ckError:", True),
    # A string's method is called, not the string; a number indexed is a TypeError too, a string's character not.
    ("python", "def f(x):\n    return |\n", "'{}'.format(x)", True),
    ("python", "def f(args):\n    return 0|\n", "[args.command](args)", False),
    ("python", "def f(s):\n    return 'abc'|\n", "[0]", True),
])
def test_while_typing_no_literal_is_called(language, marked, fill, kept):
    from lsp_support import kept_while_typing

    assert kept_while_typing(language, marked, fill) is kept


# Two functions each: the cursor (`|`) in the first, the second binding locals of its own.
OTHERS = {
    "javascript": ("const MAX = 3;\nfunction compile(path) {\n  |\n}\n"
                   "function handle(req, res) {\n  const err = check(req);\n  for (const key in req) {}\n}\n"),
    "typescript": ("const MAX = 3;\nfunction compile(path: string): string {\n  |\n}\n"
                   "function handle(req: Request): void {\n  const err = check(req);\n"
                   "  for (const key in req) {}\n}\n"),
    "go": ("package web\n\nconst MAX = 3\n\nfunc (h *Handler) Compile(path string) string {\n\t|\n}\n\n"
           "func (s *Store) Handle(req string) {\n\terr := check(req)\n\tfor key := range s.items {\n\t}\n}\n"),
    "rust": ("const MAX: usize = 3;\nfn compile(path: &str) -> String {\n    |\n}\n"
             "fn handle(req: &str) {\n    let err = check(req);\n    for key in req.chars() {}\n}\n"),
    "java": ("class Router {\n  static final int MAX = 3;\n  String compile(String path) {\n    |\n  }\n"
             "  void handle(String req) {\n    int err = check(req);\n"
             "    for (String key : req.split(\",\")) {}\n  }\n}\n"),
    "c": ("#define MAX 3\nint compile(const char *path) {\n  |\n}\n"
          "void handle(const char *req) {\n  int err = check(req);\n  for (int key = 0; key < MAX; key++) {}\n}\n"),
    "cpp": ("const int MAX = 3;\nint compile(const std::string &path) {\n  |\n}\n"
            "void handle(const std::string &req) {\n  int err = check(req);\n  for (auto &key : req) {}\n}\n"),
}


@pytest.mark.parametrize("language", sorted(OTHERS))
def test_a_name_only_another_function_binds_is_read_by_no_fill(language):
    """`err`, `key`, `req` (and Go's receiver `s`) are the second function's: a fill in the first that reads one is a
    line copied with its locals. The first's own parameter, a name bound outside the functions (`MAX`), one no
    function binds (a library's, `check`) and one the fill binds itself are read."""
    marked = OTHERS[language]
    at = marked.index("|")
    parsed = parsed_text(language, marked.replace("|", "", 1))

    def reads(fill):
        return reads_unbound(parsed, Suggestion(fill, at, at, -0.1, "model"))

    call = "check({})" if language == "go" else "check({});"
    for name in ("err", "key", "req"):
        assert reads(call.format(name)), (language, name)
    library = {"javascript": "console", "typescript": "console", "go": "len", "rust": "String", "java": "System"}
    for name in ("path", "MAX", library.get(language, "strlen"), "check"):
        assert not reads(call.format(name)), (language, name)
    own = {"go": "v := len(path)\n\tcheck(v)", "rust": "let v = path.len();\n    check(v);",
           "javascript": "const v = path.length;\n  check(v);", "typescript": "const v = path.length;\n  check(v);",
           "java": "int v = path.length();\n    check(v);"}.get(language, "int v = MAX;\n  check(v);")
    assert not reads(own), language
    if language == "go":
        assert reads("for _, b := range s.items {\n\t}")  # another method's receiver


ORDERS = '''from dataclasses import dataclass, field
from enum import Enum


@dataclass
class LineItem:
    sku: str
    quantity: int


class Record:
    def __init__(self):
        self.created = 0


class Status(Enum):
    DRAFT = "draft"


@dataclass
class Order(Record):
    items: list = field(default_factory=list)
    status: str = "draft"
    if False:
        audit: list

    @property
    def empty(self):
        return not self.items

    def place(self):
        self.placed_at = 1
        |
'''


@pytest.mark.parametrize("fill, unknown", [
    # An attribute of another class's, copied along.
    ("if self.quantity <= 0:", ["self.quantity"]),
    ("self.count += 1", ["self.count"]),
    # The class's fields, properties, methods, attributes any method sets, its base's, one the fill sets itself.
    ("if self.items and not self.empty:", []),
    ("self.status = self.audit", []),
    ("return self.placed_at + self.created", []),
    ("self.paid = True\n        return self.paid", []),
    ("return self.__class__", []),
])
def test_a_python_fill_reads_the_attributes_its_class_binds(fill, unknown):
    at = ORDERS.index("|")
    parsed = parsed_text("python", ORDERS.replace("|", "", 1))
    tree = tree_after(parsed, [Replacement(at, at, fill)])
    lo = len(ORDERS[:at].encode())
    assert unknown_attributes(tree, lo, lo + len(fill.encode())) == unknown
    assert reads_unbound(parsed, Suggestion(fill, at, at, -0.1, "model")) is bool(unknown)


@pytest.mark.parametrize("header", [
    "class Order(Exception):",  # a base the file does not define
    "class Order(models.Model):",
    "class Order(Status):",  # a base whose own base is not the file's
    "class Order(Record, metaclass=Meta):",
])
def test_a_class_whose_attributes_its_text_does_not_tell_is_not_judged(header):
    text = ORDERS.replace("class Order(Record):", header)
    at = text.index("|")
    parsed = parsed_text("python", text.replace("|", "", 1))
    fill = "if self.quantity <= 0:"
    assert unknown_attributes(tree_after(parsed, [Replacement(at, at, fill)]), len(text[:at].encode()),
                              len(text[:at].encode()) + len(fill)) == []
    dynamic = ORDERS.replace("    def place(self):", "    def __getattr__(self, name):\n        return 0\n\n"
                                                    "    def place(self):")
    at = dynamic.index("|")
    parsed = parsed_text("python", dynamic.replace("|", "", 1))
    assert unknown_attributes(tree_after(parsed, [Replacement(at, at, fill)]), len(dynamic[:at].encode()),
                              len(dynamic[:at].encode()) + len(fill)) == []


TODOS = '''class Base {
  constructor() { this.created = Date.now(); }
}

export class Store extends Base {
  private items: Item[] = [];
  static limit = 3;

  constructor(private readonly api: Api) {
    super();
    this.ready = true;
  }

  get size(): number {
    return this.items.length;
  }

  add(item: Item): void {
    |
  }
}
'''


@pytest.mark.parametrize("language, fill, unknown", [
    # A member of another class's, copied along; one read that nothing sets.
    ("typescript", "this.todos.push(item);", ["this.todos"]),
    ("typescript", "this.count++;", ["this.count"]),
    # Fields, accessors, methods, parameter properties, members set in a method, the base's, the fill's own.
    ("typescript", "this.items.push(item); this.api.save(item);", []),
    ("typescript", "if (this.ready && this.size < this.created) this.add(item);", []),
    ("typescript", "this.loaded = true; return this.loaded;", []),
    # A function's own `this`, and an object's method's, are not the instance.
    ("typescript", "const f = function () { return this.zz; };", []),
    ("typescript", "const o = { f() { return this.zz; } };", []),
    ("javascript", "this.todos.push(item);", ["this.todos"]),
])
def test_an_ecmascript_fill_reads_the_members_its_class_binds(language, fill, unknown):
    text = TODOS if language == "typescript" else (
        TODOS.replace("private items: Item[] = [];", "items = [];").replace("private readonly api: Api", "api")
        .replace("this.ready = true;", "this.ready = true;\n    this.api = api;").replace(": number", "")
        .replace("(item: Item): void", "(item)"))
    at = text.index("|")
    parsed = parsed_text(language, text.replace("|", "", 1))
    lo = len(text[:at].encode())
    assert unknown_members(tree_after(parsed, [Replacement(at, at, fill)]), lo, lo + len(fill.encode())) == unknown


@pytest.mark.parametrize("header", ["export class Store extends Component",
                                    "export class Store extends React.Component",
                                    "export class Store extends mixin(Base)"])
def test_a_class_whose_members_its_text_does_not_tell_is_not_judged(header):
    text = TODOS.replace("export class Store extends Base", header)
    at = text.index("|")
    parsed = parsed_text("typescript", text.replace("|", "", 1))
    fill = "this.todos.push(item);"
    lo = len(text[:at].encode())
    assert unknown_members(tree_after(parsed, [Replacement(at, at, fill)]), lo, lo + len(fill.encode())) == []


@pytest.mark.parametrize("base", ["class Base {", "export class Base {", "export default class Base {"])
def test_an_ecmascript_base_class_is_read_exported_or_not(base):
    text = TODOS.replace("class Base {", base, 1)
    at = text.index("|")
    parsed = parsed_text("typescript", text.replace("|", "", 1))
    lo = len(text[:at].encode())
    for fill, unknown in (("this.created = 0;", []), ("return this.count + this.created;", ["this.count"])):
        tree = tree_after(parsed, [Replacement(at, at, fill)])
        assert unknown_members(tree, lo, lo + len(fill.encode())) == unknown, (base, fill)


FETCH = """export class FetchRequest {
  #resolveProperty = 1;
  static #count = 0;
  #setInternal() {
    return this.#resolveProperty;
  }
  read(o) {
    return (‸);
  }
}
"""


@pytest.mark.parametrize("language_id, fill, unknown", [
    ("typescript", "FetchRequest.#DEFAULT", ["#DEFAULT"]),
    ("javascript", "this.#resolveP", ["#resolveP"]),
    ("typescript", "#nope in o", ["#nope"]),
    # Declared by the class: a field, a static field, a method; by a class around a class in it too.
    ("typescript", "this.#resolveProperty", []),
    ("javascript", "FetchRequest.#count + this.#setInternal()", []),
    ("javascript", "#resolveProperty in o", []),
    ("javascript", "new (class { m() { return FetchRequest.#count; } })()", []),
    ("javascript", "new (class { #own = 1; m() { return this.#own; } })()", []),
])
def test_a_private_name_no_class_around_it_declares_is_read_as_unbound(language_id, fill, unknown):
    # JavaScript refuses such a file as it parses it; the grammar reads it without an error.
    from infill_ls.scopes import undeclared_private_names

    assert _read_at_marker(undeclared_private_names, language_id, FETCH, fill) == (unknown, bool(unknown))


def _read_at_marker(reader, language_id: str, marked: str, fill: str) -> tuple[list[str], bool]:
    """What ``reader`` finds in ``fill`` written at the `‸` of ``marked``, and whether `reads_unbound` hides it."""
    at = marked.index("‸")
    parsed = parsed_text(language_id, marked.replace("‸", ""))
    lo = parsed.snapshot.byte_offset(at)
    tree = tree_after(parsed, [Replacement(at, at, fill)])
    return reader(tree, lo, lo + len(fill.encode())), reads_unbound(parsed, Suggestion(fill, at, at, 0.0))


LABELS = """import { findLabel } from "./labels";

const kStatus = Symbol("kStatus");
let count = 0;

export class Labels {
  constructor(locale) {
    this.locale = locale;
  }

  read(response, id) {
    ‸
  }
}
"""


@pytest.mark.parametrize("language_id, fill, misused", [
    # Read in its own declaration's value, as that runs.
    ("javascript", "const label = findLabel(this.locale, label);", ["label"]),
    ("typescript", "const prefix = `${prefix}:`;", ["prefix"]),
    ("javascript", "let total = total + 1;", ["total"]),
    # A `const` assigned to.
    ("javascript", "Object.defineProperty(response, kStatus = Symbol('kStatus'));", ["kStatus"]),
    ("typescript", "kStatus++;", ["kStatus"]),
    # Read later, in a function; a `var`, which reads undefined; a `let` assigned; a name of its own declared since.
    ("javascript", "const again = () => again(id);", []),
    ("javascript", "var seen = seen || {};", []),
    ("javascript", "count += 1;", []),
    ("javascript", "let kStatus = 1; kStatus = 2;", []),
    ("typescript", "const label: string = findLabel(this.locale, id);", []),
    ("javascript", "findLabel(kStatus, this, id);", []),  # read, not written
    # A parameter of a function in a `const`'s value is its own binding; a lowercase JSX tag is a string.
    ("javascript", "const set = (kStatus) => { kStatus = 2; };", []),
    ("typescript", "const api = { set(kStatus: number) { kStatus = kStatus || 0; } };", []),
    ("javascriptreact", "const header = <header className=\"top\">Hi</header>;", []),
    ("typescriptreact", "const Header = <Header />;", ["Header"]),
])
def test_a_binding_used_as_the_language_refuses_is_read_as_unbound(language_id, fill, misused):
    from infill_ls.scopes import misused_bindings

    assert _read_at_marker(misused_bindings, language_id, LABELS, fill) == (misused, bool(misused))


PARSER = '''import os
import re
import sys
import warnings
import xml.etree.ElementTree as ET
from concurrent import futures

import numpy as np

PATTERN = ‸


def parse(text, re_=None):
    if sys.platform == "win32":
        warnings.warn("untested")
    return PATTERN.findall(text), os.environ, ET, futures, np
'''


@pytest.mark.parametrize("marked, fill, kept", [
    # A member the imported module of the standard library does not define, read nowhere else in the file: the
    # module's text tells (`warnings`), or its import in a child process does (`re`, `os`, `sys`, written in C).
    (PARSER, "re.parent", False),
    (PARSER, "re.compile(text).group(1) if re.match(text) else re.parent", False),
    (PARSER, "warnings.warnings(r'a')", False),
    (PARSER, "os.os", False),
    (PARSER, "sys.name", False),
    (PARSER, "ET.loads('<a/>')", False),
    # A submodule read as an attribute; a member typed that the fill ends as it stands.
    (PARSER.replace("import os\n", "import importlib.util\nimport os\n"), "importlib.util.cache_path(text)", False),
    (PARSER.replace("PATTERN = ‸", "PATTERN = os.p‸"), "()", False),
    # One it defines; one the file reads elsewhere (a newer Python's, maybe); one of a module bound otherwise too,
    # or not the standard library's, or whose names are not told (a module `__getattr__`); a private one.
    (PARSER, "re.compile(r'[a-z]+')", True),
    (PARSER, "os.path.join(os.sep, 'x')", True),
    (PARSER, "sys.platform", True),
    (PARSER, "ET.fromstring('<a/>')", True),
    (PARSER.replace("os.environ", "os.startfile"), "os.startfile", True),
    (PARSER.replace("import re\n", "import re\nre = None\n"), "re.parent", True),
    (PARSER, "np.parent", True),
    (PARSER, "futures.ThreadPoolExecutor", True),
    (PARSER, "futures.no_such_executor", True),
    (PARSER.replace("import os\n", "import importlib.util\nimport os\n"), "importlib.util.find_spec('re')", True),
    (PARSER.replace("PATTERN = ‸", "PATTERN = os.path‸"), ".join('a')", True),
    (PARSER, "re._parser", True),
    # Bound by another module's import too; a member written; a read the code guards (the platform, a `try`).
    (PARSER.replace("import xml.etree.ElementTree as ET\n", "try:\n    from lxml import etree as ET\nexcept "
                    "ImportError:\n    import xml.etree.ElementTree as ET\n"), "ET.HTML('<p/>')", True),
    (PARSER.replace("PATTERN = ‸", "‸"), "sys.tracebacklimit = 0", True),
    (PARSER.replace("PATTERN = ‸", "if sys.platform == 'win32':\n    ‸"), "os.startfile(sys.argv[1])", True),
    (PARSER.replace("PATTERN = ‸", "try:\n    PATTERN = ‸\nexcept AttributeError:\n    PATTERN = None"),
     "re.NOSUCHFLAG", True),
    (PARSER.replace("PATTERN = ‸", "if sys.platform == 'win32':\n    pass\nPATTERN = ‸"), "os.startfile", False),
    # The dotted path of an import: a module the package does not hold.
    (PARSER.replace("PATTERN = ‸", "from collections.‸ import OrderedDict"), "dict", False),
    (PARSER.replace("PATTERN = ‸", "import importlib.‸"), "module", False),
    (PARSER.replace("PATTERN = ‸", "from collections.‸ import Mapping"), "abc", True),
    (PARSER.replace("PATTERN = ‸", "import importlib.‸"), "util", True),
])
def test_a_member_its_standard_module_does_not_define_is_read_as_unbound(marked, fill, kept):
    from infill_ls.scopes import members_modules_lack

    found, hidden = _read_at_marker(members_modules_lack, "python", marked, fill)
    assert (not found, not hidden) == (kept, kept), found


STATICS = """import { readFileSync } from "fs";

const settings = JSON.parse(readFileSync("settings.json", "utf8"));

export function summarize(items) {
  const out = ‸
  return out;
}
"""


@pytest.mark.parametrize("language_id, marked, fill, unknown", [
    # A member the language's namespace object or constructor does not have, read nowhere else in the file.
    ("javascript", STATICS, "JSON.trim(settings);", ["JSON.trim"]),
    ("javascript", STATICS, "Object.argv.length;", ["Object.argv"]),
    ("javascript", STATICS, "Math.length;", ["Math.length"]),
    ("typescript", STATICS, "console.exit(1);", ["console.exit"]),
    ("javascript", STATICS, "Array.isArray(items) ? items : Array.get(items);", ["Array.get"]),
    ("javascript", STATICS.replace("const out = ‸", "const out = JSON.pars‸"), "(settings);", ["JSON.pars"]),
    # One it has: its own, `Object.prototype`'s, a constructor's as a function's.
    ("javascript", STATICS, "JSON.stringify(settings);", []),
    ("javascript", STATICS, "Object.prototype.toString.call(items);", []),
    ("javascript", STATICS, "Array.name + Math.hasOwnProperty('PI');", []),
    ("typescript", STATICS, "console?.log(items.length);", []),
    ("javascript", STATICS, "Promise.withResolvers();", []),
    ("typescript", STATICS, "Reflect.getMetadata('design:type', items);", []),
    ("javascript", STATICS, "console._stdout.write(String(items));", []),
    ("javascript", STATICS, "Object._types;", ["Object._types"]),
    ("typescript", STATICS + "declare global {\n  interface JSON {\n    safeParse(text: string): unknown;\n  }\n}\n",
     "JSON.safeParse(settings);", []),
    ("javascript", STATICS + "global.Promise = require('bluebird');\n", "Promise.promisifyAll(items);", []),
    ("javascript", STATICS.replace("const out = ‸", "const out = JSON.parse‸"), "(settings);", []),
    # The file names the member elsewhere (a polyfill), or binds the object's name itself; a member assigned.
    ("javascript", STATICS + "Math.clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));\n", "Math.clamp(1, 0, 2);", []),
    ("javascript", STATICS.replace('import { readFileSync }', 'import JSON from "json5";\nimport { readFileSync }'),
     "JSON.trim(settings);", []),
    ("javascript", STATICS.replace("summarize(items)", "summarize(items, console)"), "console.exit(1);", []),
    ("javascript", STATICS.replace("const out = ‸", "‸"), "Object.names = [];", []),
])
def test_a_member_a_namespace_object_of_the_language_does_not_have_is_read_as_unbound(language_id, marked, fill,
                                                                                       unknown):
    from infill_ls.scopes import unknown_statics

    assert _read_at_marker(unknown_statics, language_id, marked, fill) == (unknown, bool(unknown))


_TABLE = "TABLE = {\n" + "".join(f"    ({i}, 'k{i}'): ({i}, {i + 1}, 'v{i}'),\n" for i in range(400)) + "}\n"


@pytest.mark.parametrize("binding, fill, unbound", [
    # A large table that binds nothing is not walked for bindings; the names elsewhere still count.
    ("", "return TABLE[key] + offset\n", ["offset"]),
    # One that writes a `:=` or a comprehension's `for` is.
    ("    ((offset := 3), 'w'): (0, 0, 'w'),\n", "return TABLE[key] + offset\n", []),
    ("    ('squares', 'c'): [n * n for n in range(4)],\n", "return TABLE[key] + n\n", []),
    # A `for` in a string is no comprehension's: walked, and finds nothing.
    ("    ('for', 'x'): (0, 0, 'for each'),\n", "return TABLE[key] + offset\n", ["offset"]),
])
def test_a_large_literal_binds_only_what_its_text_writes_a_binding_for(binding, fill, unbound):
    table = _TABLE.replace("}\n", binding + "}\n") if binding else _TABLE
    assert len(table) > 4096
    marked = "import math\n\n" + table + "\n\ndef lookup(key):\n    |"
    assert _unbound(marked, fill) == unbound


def test_an_import_below_a_large_literal_is_still_found_for_the_members_read():
    from infill_ls.scopes import members_modules_lack

    source = "import re\n\n" + _TABLE + "\nif True:\n    import math\n\n\ndef f(x):\n    return ‸\n"
    assert _read_at_marker(members_modules_lack, "python", source, "math.florr(x)")[0] == ["math.florr"]
    assert _read_at_marker(members_modules_lack, "python", source, "math.floor(x)")[0] == []


def test_an_import_of_everything_broken_over_lines_by_a_backslash_leaves_the_names_read_unjudged():
    assert _unbound("from os.path import \\\n    *\n\n\ndef f(a):\n    return |", "join(a, 'b')\n") == []


@pytest.mark.parametrize("text, found", [
    (b"from os.path import *\n", True),
    (b"import *", True),  # the text's first word
    (b"x = 1\nfrom m import \\\n    *\n", True),
    (b"from m import\t*", True),
    (b"reimport *\n", False),  # another word's end
    (b"my_import *\n", False),
    (b"from m import x  # *\n", False),
])
def test_the_text_says_where_an_import_of_everything_can_stand(text, found):
    # Searched for by its literal, the word's start asserted after it: `\b` first tried the pattern at every byte.
    from infill_ls.scopes import _WILDCARD_TEXT

    assert (_WILDCARD_TEXT.search(text) is not None) is found


# A module whose statements the fills below rewrite one at a time: what each binds is kept by its text
# (`scopes._STATEMENTS`), and a module's whole by its text (`scopes._MODULES`).
_KEPT = """import os
from re import compile as rx
total = 0
if os.name == "nt":
    sep, other = "a", "b"
for path in os.listdir("."):
    pass


def f(a):
    return |
"""


@pytest.mark.parametrize("statement, rewritten, fill", [
    # The assignment rewritten: the name it bound no longer is, though the module was read with it a fill before.
    ("total = 0\n", "count = 0\n", "total + a"),
    # An import's `as`, a name assigned in a statement under an `if`, a loop's.
    ("from re import compile as rx\n", "from re import compile\n", "rx(a)"),
    ('    sep, other = "a", "b"\n', '    sep = "a"\n', "other + a"),
    ('for path in os.listdir("."):\n', 'for entry in os.listdir("."):\n', "path + a"),
])
def test_what_a_module_binds_is_read_again_for_a_statement_an_edit_rewrites(statement, rewritten, fill):
    rewritten_module = _KEPT.replace(statement, rewritten, 1)
    assert rewritten_module != _KEPT
    name = fill.split(" ")[0].split("(")[0]
    # Each read twice: the first reading keeps what its statements bind, the second takes it from there.
    for _ in range(2):
        assert _unbound(_KEPT, fill) == []
        assert _unbound(rewritten_module, fill) == [name]


def test_what_a_module_binds_is_what_a_walk_of_it_finds_after_each_of_many_edits():
    # What statements bind is kept by their texts, a module's whole by its text: each edited module, read after what
    # earlier ones kept, binds what a walk of its own tree finds (with a syntax error, a statement indented at the
    # module's level, a decorated definition, an import under a `try`, a name an edit drops).
    from infill_ls.scopes import (_IMPORTS, _NO_IMPORTS, _bindings, _descendants, _modules_imported, _scope_imports,
                                  _walk_bindings)
    from infill_ls.syntax import language_for, parse_text

    spec = language_for("python", "m.py")
    base = ("import os\ntry:\n    import json\nexcept ImportError:\n    json = None\n\n@register(name := 'n')\n"
            "def handler(event):\n    return event\n\nclass Box:\n    size = 1\n\ntotal = [x for x in range(3)]\n")
    rng = random.Random(7)
    snippets = ["y = 1\n", "import sys\n", "(", ")", "    z = 2\n", "def g(", "'", "from a import b as c\n", "\n",
                "global q\n", "if (w := 1):\n    pass\n", "@dec\n", "    import re\n", "x = 1; v = 2\n"]
    text = base
    for _ in range(300):
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(snippets) + text[at + rng.choice([0, 0, 1, 5, 20]):]
        if rng.random() < 0.1:
            text = base
        root = parse_text(spec, text).root_node
        names: set[str] = set()
        imported: set[str] = set()
        _walk_bindings([root], None, names, imported)
        modules: dict[str, set[str | None]] = {}
        for statement in _descendants(root, stop=_NO_IMPORTS):
            for bound, module in _modules_imported(statement) if statement.type in _IMPORTS else ():
                modules.setdefault(bound, set()).add(module)
        assert _bindings(root, imports=False) == names, text
        assert _bindings(root) == names | imported, text
        found = _scope_imports(root, {})
        assert (found.bound, found.otherwise, found.modules) == (names | imported, names, modules), text


def test_a_module_that_starts_with_blank_lines_keeps_what_its_statements_bind_by_their_own_texts():
    # The root node starts after the text's leading whitespace, and its text from there: offsets of the file's bytes
    # into that text took another statement's text as the key (`import re` bound `os`), and another file read it.
    assert _unbound("\n" * 10 + "import os\nimport re\n\nx = |\n", "os.sep, re.I") == []
    assert _unbound("import re\n\nx = |\n", "re.I") == []
    assert _unbound("\n\n\n\na=1\nb=2\nx = |\n", "a, b") == []
    assert _unbound("b=2\nx = |\n", "b") == []
