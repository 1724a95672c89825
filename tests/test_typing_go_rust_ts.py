"""While typing Go, Rust and TypeScript: fills that the typing filter (`no_worse`) kept, though accepting one breaks
the file or writes what no one types there (a `>` after type arguments closed, a `{` after an interface member's
type, Go's `;` at a line's end); through the real parse, the file's own lookup and, for what the editor is shown,
the real server over stdio."""

from __future__ import annotations

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from lsp_support import capabilities, config, init_params, kept_while_typing, shown_while_typing, tiny_model


RUST_VEC = "fn main() {\n    let v: Vec<u8|\n    for b in data {\n        v.push(b);\n    }\n}\n"
RUST_NESTED = "fn main() {\n    let v: Vec<Vec<u8|\n    for b in data {\n        v.push(b);\n    }\n}\n"
TS_MAP = ("function f(): number {\n  const m: Map<string, n|\n  for (const k of keys) {\n    m.set(k, 1);\n  }\n"
          "  return m.size;\n}\n")
TS_NESTED = ("function f(): number {\n  const m: Map<string, Map<string, n|\n  for (const k of keys) {\n"
             "    m.set(k, new Map());\n  }\n  return m.size;\n}\n")


TS_PARSE = "export function parseContentEncoding(contentEncoding: string): Array<string> {|\n}\n"
JS_LOOPS = ("function first(rows) {\n  |\n}\n")


@pytest.mark.parametrize("language, marked, fill, kept", [
    # An object's member or a type's written as a statement: a label on an expression or a bare block.
    ("typescript", TS_PARSE, "\n  options: string", False),
    ("typescript", TS_PARSE, "\n  message: {", False),
    ("typescriptreact", TS_PARSE, "\n  value: {}", False),
    ("javascript", JS_LOOPS, "type: string;", False),
    # A loop's label, which `break` and `continue` read; a body's statement.
    ("javascript", JS_LOOPS, "outer: for (const row of rows) {}", True),
    ("typescript", TS_PARSE, "\n  return contentEncoding.split(',')", True),
])
def test_while_typing_no_label_is_shown_on_an_expression_or_a_bare_block(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


TS_LISTENER = ("export class Connection {\n  addEventListener(listener: Listener): void {\n"
               "    if (!Reflect.has(listener, kBoundListener)) {\n      |\n    }\n"
               "    this.emitter.addEventListener(listener)\n  }\n}\n")
JS_ARROW = "const ids = rows.map((v) => {\n  |\n});\n"
JS_ARROW_PARENTHESIZED = "const ids = rows.map((v) => (|));\n"


@pytest.mark.parametrize("language, marked, fill, kept", [
    # The `{` of an `if`'s body or of an arrow function's is a block's, whose members the language reads as labels
    # (`event.data,` then a `}`: a syntax error); the grammar reads an object, and counts no error.
    ("typescript", TS_LISTENER, "data: event.data,", False),
    ("typescript", TS_LISTENER, "passthrough() {},", False),
    ("javascript", JS_ARROW, "id: v.id,", False),
    ("javascript", JS_ARROW, "id: v.id", False),
    # An object in a statement, or bracketed as an arrow function's body; a body's statements.
    ("typescript", TS_LISTENER, "Object.assign(listener, { data: event.data })", True),
    ("javascript", JS_ARROW, "return { id: v.id };", True),
    ("javascript", JS_ARROW_PARENTHESIZED, "{ id: v.id }", True),
    ("typescript", TS_LISTENER, "const bound = listener.bind(this)", True),
])
def test_while_typing_no_object_is_shown_where_a_block_begins(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A `>` after the one that closes the type arguments closes nothing; the parse's ERROR for it overlaps the
    # half-typed line's own, so the count of errors does not grow.
    ("rust", RUST_VEC, ">>", False),
    ("rust", RUST_VEC, ">", True),
    ("rust", RUST_VEC, "> = Vec::new();", True),
    ("typescript", TS_MAP, "umber>>", False),
    ("typescriptreact", TS_MAP, "umber>>", False),
    ("typescript", TS_MAP, "umber>", True),
    ("typescript", TS_MAP, "umber> = new Map();", True),
    # Type arguments within type arguments close with as many.
    ("rust", RUST_NESTED, ">>", True),
    ("typescript", TS_NESTED, "umber>>", True),
    # A comparison after no type arguments is no closer.
    ("rust", "fn f(n: u32) -> bool {\n    let big = n |\n    big\n}\n", "> 10;", True),
    ("typescript", "function f(n: number): boolean {\n  return n |\n}\n", "> 10;", True),
])
def test_while_typing_no_angle_bracket_is_shown_that_closes_no_type_arguments(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


INTERFACE = ("export interface Order {\n  id: string;\n  lines: Or|\n  total: number;\n}\n\n"
             "export function f(o: Order): number {\n  return o.total;\n}\n")
MEMBER = ("export interface OrderLine {\n  sku: string;\n  quantity: number|\n  unitPrice: number;\n}\n\n"
          "export function total(line: OrderLine): number {\n  return line.quantity * line.unitPrice;\n}\n")


@pytest.mark.parametrize("language, marked, fill, kept", [
    # The parser ends the interface's body before the `{` to read it as a block of its own: the interface's `}` is
    # the one missing, no body's still to be written.
    ("typescript", INTERFACE, "der {", False),
    ("typescript", INTERFACE, "der[];", True),
    ("typescript", MEMBER, " {", False),
    ("typescriptreact", MEMBER, " {", False),
    ("typescript", MEMBER, ";", True),
    # A line that opens a body leaves its `}` to the lines below.
    ("typescript", "export interface Order|\n\nexport function f(o: Order): number {\n  return 1;\n}\n", " {", True),
    ("typescript", "function f(x: number): number {\n  if (x > 0)|\n  return x;\n}\n", " {", True),
    ("typescript", "class A {\n  total()|\n  name = 1;\n}\n", " {", True),
    ("javascript", "function f(x) {\n  if (x)|\n  return 1;\n}\n", " {", True),
    ("go", "package main\n\ntype T struct|\n\nfunc f() {\n}\n", " {", True),
    ("rust", "struct S;\n\nimpl S|\n\nfn main() {}\n", " {", True),
])
def test_while_typing_no_brace_is_shown_after_an_interface_members_type(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


LOCK = "package inv\n\nfunc (s *Store) Total() int {\n\ts.mu.RLock()|\n\tdefer s.mu.RUnlock()\n\treturn s.n\n}\n"
RETURN = ("package inv\n\nfunc (s *Store) Get(id string) error {\n\tif s.n == 0 {\n\t\treturn Err|\n\t}\n"
          "\treturn nil\n}\n")
FOR = "package inv\n\nfunc sum(n int) int {\n\tt := 0\n\tfor i := 0|\n\treturn t\n}\n"
IF = "package inv\n\nfunc get(m map[string]int, k string) int {\n\tif v, ok := m[k]|\n\treturn 0\n}\n"


@pytest.mark.parametrize("language, marked, fill, kept", [
    # gofmt deletes a `;` at a line's end, and no Go programmer types one.
    ("go", LOCK, ";", False),
    ("go", LOCK, "; // read", False),
    ("go", RETURN, "NotFound;", False),
    ("go", RETURN, "NotFound", True),
    ("go", LOCK, " // guards n;", True),
    ("go", 'package inv\n\nfunc get() string {\n\treturn "a|\n}\n', ';"', True),
    # A header's clauses are parted by `;`s, and its line ends with one while it is typed.
    ("go", FOR, ";", True),
    ("go", FOR, "; i < n; i++ {", True),
    ("go", IF, ";", True),
    ("go", IF, "; ok {", True),
    # Languages whose lines a `;` ends.
    ("javascript", "function f() {\n  const x = g()|\n  return x;\n}\n", ";", True),
    ("rust", "fn f() -> u8 {\n    let x = g()|\n    x\n}\n", ";", True),
])
def test_while_typing_go_no_semicolon_is_shown_at_a_lines_end(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


# --- What the editor is shown, through the real server: the file's lookup copies these ---

pytestmark_lsp = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(), modelPath=tiny_model(), debounceMs=0,
                                                    device="cpu"))
    yield
    await lsp_client.shutdown_session()


# A file not yet through gofmt, whose `s.mu.RLock();` the lookup copies.
GO_COPY = ("package inventory\n\nimport \"sync\"\n\ntype Store struct {\n\tmu    sync.RWMutex\n"
           "\titems map[string]int\n}\n\n"
           "func (s *Store) Count() int {\n\ts.mu.RLock();\n\tdefer s.mu.RUnlock()\n\treturn len(s.items)\n}\n\n"
           "func (s *Store) Get(id string) int {\n\ts.mu.RL|\n\tdefer s.mu.RUnlock()\n\treturn s.items[id]\n}\n")
# The lookup copies the nested type's `>>` after the one-level type being typed.
RUST_COPY = ("fn chunks<T: AsRef<[u8]>>(data: T) -> Vec<Vec<u8>>\nwhere\n    T: Clone,\n{\n"
             "    vec![data.as_ref().to_vec()]\n}\n\n"
             "fn bytes(data: &[u8]) -> Vec<u8> {\n    let mut v: Vec<u8|\n    for b in data {\n        v.push(*b);\n"
             "    }\n    v\n}\n")
TS_COPY = ("export function index(): Map<string, Map<string, number>>\n{\n  return new Map();\n}\n\n"
           "export function count(keys: string[]): number {\n  const m: Map<string, n|\n  for (const k of keys) {\n"
           "    m.set(k, 1);\n  }\n  return m.size;\n}\n")


@pytestmark_lsp
async def test_while_typing_the_server_shows_no_go_semicolon_nor_a_second_angle_bracket(client):
    shown = await shown_while_typing(client, "file:///tmp/store.go", "go", GO_COPY)
    assert not any(line.rstrip().endswith(";") for item in shown for line in item.split("\n")), shown
    shown = await shown_while_typing(client, "file:///tmp/bytes.rs", "rust", RUST_COPY)
    assert not any(item.startswith(">>") for item in shown), shown
    shown = await shown_while_typing(client, "file:///tmp/count.ts", "typescript", TS_COPY)
    assert not any("umber>>" in item for item in shown), shown


BOOKS = '''package store

func (s *Store) Get(id string) (*Book, error) {
\tb, ok := s.books[id]
\tif !ok {
\t\t|
\t}
\treturn b, nil
}
'''
COUNTER = '''fn get(&self, key: &str) -> Option<i64> {
    if key.is_empty() {
        |
    }
    self.map.get(key).copied()
}
'''


@pytest.mark.parametrize("language, marked, fill, kept", [
    # As many values as the function's results; a bare `return` where they are named; one call may give several.
    ("go", BOOKS, "return nil, ErrNotFound", True),
    ("go", BOOKS, "return ErrNotFound", False),
    ("go", BOOKS, "return\n\t\tb = nil", False),
    ("go", BOOKS, "return", True),  # half a line: its values are typed next
    ("go", BOOKS, "return nil, nil, nil", False),
    ("go", BOOKS, "return s.lookup(id)", True),
    ("go", BOOKS.replace("(*Book, error)", "(b *Book, err error)"), "return", True),
    ("go", BOOKS.replace(" (*Book, error) {", " {").replace("\treturn b, nil\n", ""), "return nil", False),
    ("go", BOOKS.replace(" (*Book, error) {", " {").replace("\treturn b, nil\n", ""), "return", True),
    # Rust: no bare `return` where the function returns a value.
    ("rust", COUNTER, "return None;", True),
    ("rust", COUNTER, "return;", False),
    ("rust", COUNTER, "return", True),
    ("rust", COUNTER.replace(" -> Option<i64>", "").replace("    self.map.get(key).copied()\n", ""), "return;", True),
])
def test_while_typing_a_return_gives_back_what_its_function_returns(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept
