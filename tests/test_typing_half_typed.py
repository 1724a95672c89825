"""While typing, on a half-typed line (one the parser reads as an error already): fills whose own text the parser
cannot read are not shown (a doc comment's prose copied after the name it documents, a keyword out of place, a
token the parser has to invent amid the fill), where honest halves of a line are: the rest of the name being typed,
the arguments of a call whose `)` is still to come, a header whose body is still to come; through the real parse,
and for what the editor is shown, the file's own lookup and the real server over stdio."""

from __future__ import annotations

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from engine.infill import DEFAULT_MODEL_DIR
from lsp_support import capabilities, config, init_params, kept_while_typing, shown_while_typing


GO_VAR = ('package inventory\n\nimport (\n\t"errors"\n\t"sync"\n)\n\n'
          "// ErrNotFound is returned when an item is missing from the store.\nvar ErrNotFound|\n\n"
          "// Store keeps items in memory.\ntype Store struct {\n\tmu    sync.RWMutex\n\titems map[string]int\n}\n")
GO_METHOD = ("package inventory\n\ntype Store struct {\n\tn int\n}\n\n"
             "// Summary describes the store for the log.\nfunc (s *Store) Summa|\n\n"
             "// Len is the count.\nfunc (s *Store) Len() int {\n\treturn s.n\n}\n")
JS_FUNCTION = ('const http = require("http");\n\n// readBody collects the request body as JSON.\n'
               "async function readBody|\n\nmodule.exports = { readBody };\n")
JS_BODY = "function f(a, n) {{\n  let t = 0;\n  {}|\n  return t;\n}}\n"
TS_IMPORT = ('import { EventEmitter } from "events";\nimport|\n\nexport interface OrderLine {\n  sku: string;\n'
             "  quantity: number;\n}\n\nexport type OrderFilter = (order: OrderLine) => boolean;\n")
TSX_SPAN = ("function TodoItem({ todo }: { todo: Todo }) {\n  return (\n    <li>\n      <span>{todo.titl|\n"
            "    </li>\n  );\n}\n")
RUST_USE = "use std::collections::Hash|\nuse std::fmt;\n\nfn main() {}\n"
RUST_PATTERN = ("fn f(it: &mut std::iter::Peekable<std::str::CharIndices>) {\n"
                "    while let Some(&(_,|\n        it.next();\n    }\n}\n")
PY_BODY = "def f(items, n):\n    total = 0\n    {}|\n    return total\n"
C_BODY = "int f(int a, int n) {{\n  int t = 0;\n  {}|\n  return t;\n}}\n"


@pytest.mark.parametrize("language, marked, fill", [
    # A doc comment's prose, copied after the name it documents: the parser sets its words down in an ERROR.
    ("go", GO_VAR, " is returned when an item is missing from the store."),
    ("go", GO_METHOD, "ry describes the store for the log."),
    ("javascript", JS_FUNCTION, " collects the request body as JSON."),
    ("python", PY_BODY.format("total += max(ite"), "ms is the largest"),
    ("c", C_BODY.format("for (int i = 0; i < "), "n is the count"),
    # Code out of place: a type alias after `import`, a keyword for a condition, a stray quote.
    ("typescript", TS_IMPORT, " type OrderFilter = (order: OrderLine) => boolean;"),
    ("javascript", JS_BODY.format("if ("), "default)"),
    ("typescriptreact", TSX_SPAN, 'e"'),
    # A `use` path that reads only with a `;` invented amid it, and `();` a statement of its own after it.
    ("rust", RUST_USE, "Map::new();"),
    # A `for` the parser gives up on, the fill read as an expression after it.
    ("javascript", JS_BODY.format("for "), "i in re"),
])
def test_while_typing_a_fill_the_parser_cannot_read_on_a_half_typed_line_is_not_shown(language, marked, fill):
    assert not kept_while_typing(language, marked, fill)


@pytest.mark.parametrize("language, marked, fill", [
    # The rest of the name being typed, the line as unfinished as it was.
    ("go", GO_VAR.replace("var ErrNotFound|", "var ErrNot|"), "Found"),
    ("javascript", JS_FUNCTION.replace("readBody|", "read|"), "Body"),
    ("typescriptreact", TSX_SPAN, "e"),
    ("python", PY_BODY.format("total += len(ite"), "ms"),
    ("rust", RUST_USE, "Map"),
    ("rust", RUST_USE, "Map // the counts"),  # the `;` the line owes invented before a comment, not amid code
    # The line finished, its error gone.
    ("go", GO_VAR, ' = errors.New("inventory: item not found")'),
    ("go", GO_METHOD, "ry() string {"),
    ("javascript", JS_FUNCTION, "(req) {"),
    ("javascript", JS_BODY.format("if ("), "n > 0) {"),
    ("javascript", JS_BODY.format("for "), "(const x of a) {"),
    ("typescript", TS_IMPORT, ' type { Logger } from "./logger";'),
    ("typescriptreact", TSX_SPAN, "e}</span>"),
    ("rust", RUST_USE, "Map;"),
    ("rust", RUST_PATTERN, " c)) = it.peek() {"),
    ("python", PY_BODY.format("for i in "), "range(n):"),
    ("c", C_BODY.format("for (int i = 0; i < "), "n; i++) {"),
    # Half a line that reads once the line is done: closed by the brackets and `;` it owes, a string the fill
    # opened closed first, or given an empty body.
    ("go", GO_VAR, ' = errors.New("inventory: item'),
    ("go", GO_METHOD, "ry(sep string"),
    ("javascript", JS_FUNCTION.replace("readBody|", "read|"), "Body(req"),
    ("javascript", JS_BODY.format("t = Math.max(a.len"), "gth, n"),
    ("javascript", JS_BODY.format("if ("), "n > 0"),
    ("rust", RUST_PATTERN, " c"),
    ("python", PY_BODY.format("total += max(ite"), "ms, n"),
    ("python", PY_BODY.format("for i in ran"), "ge(n"),
    ("python", PY_BODY.format("if n >"), " 0 and items"),
    ("c", C_BODY.format("for (int i = 0; i < "), "n; i++"),
    ("c", C_BODY.format("t = g(a, "), "n"),
])
def test_while_typing_an_honest_half_of_a_line_is_still_shown(language, marked, fill):
    assert kept_while_typing(language, marked, fill)


# --- What the editor is shown, through the real server: the embedded model's lookup copies the doc comment's
# prose (the random test checkpoint's tokenizer finds no such copy) ---

pytestmark_lsp = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(), modelPath=str(DEFAULT_MODEL_DIR), debounceMs=0,
                                                    device="cpu", threads=1))
    yield
    await lsp_client.shutdown_session()


@pytestmark_lsp
async def test_while_typing_the_server_shows_no_doc_comment_prose_after_the_name_it_documents(client):
    shown = await shown_while_typing(client, "file:///tmp/inventory.go", "go", GO_VAR)
    assert not any("returned when" in item for item in shown), shown
    shown = await shown_while_typing(client, "file:///tmp/server.js", "javascript", JS_FUNCTION)
    assert not any("collects the" in item for item in shown), shown


PRICING = '''def total(items):
    quantity = sum(item.quantity for item in items)
    return price(items, qua|
'''


@pytest.mark.parametrize("language, marked, fill, kept", [
    # The word typed is the first part of a name the file has, and no name itself: the fill ends it too soon.
    ("python", PRICING, ")", False),
    ("python", PRICING, ", 2)", False),
    ("javascript", "const quantity = 3;\nconst total = price(qua|\n", ");", False),
    # The rest of the name; a name the file has; a builtin; a word declared or assigned here; prose.
    ("python", PRICING, "ntity)", True),
    ("python", PRICING.replace("qua|", "quantity|"), ")", True),
    ("python", PRICING.replace("quantity", "lengthy").replace("qua|", "len|"), "(items))", True),
    ("python", PRICING.replace("    return price(items, qua|", "    qua|"), " = 0", True),
    ("python", "class Chat|\n\n\nclass ChatMessage:\n    pass\n", "(Base):", True),
    ("python", "# the qua|\nquantity = 1\n", ")", True),
])
def test_while_typing_a_half_typed_name_is_not_ended_as_it_stands(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


ORDERS = ("class Orders:\n    def __init__(self):\n        self.needs_update = False\n\n"
          "    def compute_total(self):\n        return 0\n\n    def refresh(self):|\n")


@pytest.mark.parametrize("language, marked, fill, kept", [
    # The fill stops halfway through a name it writes: the first part of one the file has, and no name itself.
    ("python", ORDERS, "\n        return self.comp", False),
    ("python", ORDERS, "\n        merged = self.needs_", False),
    ("python", ORDERS, "\n        return self._", False),
    ("javascript", "function a(order) {\n  return order.subtotal;\n}\n\nfunction b(order) {\n  return order.sub|\n}\n",
     "tot", False),
    # The whole name; a name the file spells; a builtin; a keyword; a name the user's own (a parameter, an import:
    # no member); a comment's text.
    ("python", ORDERS, "\n        return self.compute_total()", True),
    ("python", ORDERS, "\n        return self.needs_update", True),
    ("python", ORDERS, "\n        return len", True),
    ("python", ORDERS, "\n        return None", True),
    ("python", ORDERS, "\n        import comp", True),
    ("python", ORDERS, "\n        x = 1  # comp", True),
    ("javascript", "function total() {\n  const subtotal = 1;\n  return subtotal;\n}\n\nfunction f() {|\n}\n",
     "\n  let sub", True),
    ("javascript", "function a(order) {\n  return order.subtotal;\n}\n\nfunction b(order) {\n  return order.sub|\n}\n",
     "total", True),
    ("javascript", "function a(order) {\n  return order.subtotal;\n}\n\nfunction b(sub|\n", "tot", True),
])
def test_while_typing_no_fill_stops_halfway_through_a_name(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


GO_TOTAL = "package shop\n\nfunc total(p int, quantity int) int {\n\tsum := 0\n\tsum += mul(p, qua|\n\treturn sum\n}\n"
JAVA_EVICT = ("class Cache {\n    void evict(String lastKey, Listener listener) {\n"
              "        listener.onEvict(lastKey, las|\n    }\n}\n")


@pytest.mark.parametrize("language, marked, half, whole", [
    ("python", PRICING, "qua|", "quantity|"),
    ("go", GO_TOTAL, "qua|", "quantity|"),
    ("java", JAVA_EVICT, "las|", "lastKey|"),
])
def test_while_typing_the_brackets_the_code_owes_do_not_end_a_half_typed_name(language, marked, half, whole):
    # No fill was kept: the brackets alone (`parsing_first`) were offered, and ended `qua` as it stands.
    from infill_ls.suggestions import parsing_first
    from infill_ls.typing_filter import parsing_first_kept
    from lsp_support import parsed_text

    for text, kept in ((marked, False), (marked.replace(half, whole), True)):
        at = text.index("|")
        parsed = parsed_text(language, text.replace("|", "", 1))
        assert [s.text[0] for s in parsing_first(parsed, at, [])] == [")"]
        assert [s.text[0] for s in parsing_first_kept(parsed, at, [])] == ([")"] if kept else [])


@pytest.mark.parametrize("language, marked, fill, kept", [
    # Ending the line with an operator, above a line of code: that line becomes its right operand.
    ("rust", "fn f(a: u32, b: u32) -> usize {\n    let s = (a +|\n    s.len()\n}\n", " b) &", False),
    ("cpp", "void f(int to, int size) {\n    if (to >=|\n        throw 1;\n}\n", " 0 &", False),
    # A new operand of a chain over lines, whose next line was an operand already; the operand written.
    ("python", "total = (a +\n|\nc)\n", "b +", True),
    ("javascript", "const x = a &&\n|\nc;\n", "b &&", True),
    ("c", "int f(int a, int b, int c) {\n    return a +\n    |\n    c;\n}\n", "b +", True),
    ("go", "package m\n\nfunc f(a, b int) int {\n\ts := a|\n\treturn s\n}\n", " + b", True),
])
def test_while_typing_no_fill_ends_its_line_with_an_operator_above_a_line_of_code(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


JAVA_PARAMETERS = ("class S {\n    S(CharSequence delimiter,\n      Char|\n      CharSequence suffix) {\n"
                   "        d = delimiter;\n    }\n}\n")


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A line ended as a statement or an item done, above the body the file's line opens.
    ("java", "class S {\n    public String toSt|\n        return \"s\";\n    }\n}\n", "ring();", False),
    ("typescript", "function bind<Fn>(fn: Fn, thisA|\n  return fn;\n}\n", "rg);", False),
    ("go", "package m\n\nvar p = &Proxy{\n\tDirector: func(r|\n\t\tr.Host = \"x\"\n\t},\n}\n",
     " *Request) {},", False),
    # A switch's label ended with `;` where its `:` goes.
    ("c", "int f(int s) {\n    switch (s) {\n    case Z_NEED|\n        return 1;\n    }\n    return 0;\n}\n",
     "_ERROR;", False),
    # A parameter its list names already; another parameter.
    ("java", JAVA_PARAMETERS, "Sequence delimiter,", False),
    ("c", "int f(int old_len, int |) {\n    return 0;\n}\n", "old_len", False),
    ("java", JAVA_PARAMETERS, "Sequence prefix,", True),
    # A label ended with `;` above the switch's end; a C++ `= default;` broken after its `=`; a Rust name `case`.
    ("c", "int f(int s) {\n    switch (s) {\n    case 1:\n        return 1;\n    defau|\n    }\n    return 0;\n}\n",
     "lt;", False),
    ("cpp", "struct S {\n    S(const S &other) =\n        defau|\n};\n", "lt;", True),
    ("java", "class A {\n    int f(int o) {\n        return switch (o) {\n            case 1|\n            default -> 2;\n"
     "        };\n    }\n}\n", " -> 0;", True),
    ("rust", "fn f(cases: Vec<Case>) {\n    for case in cases {\n        ca|\n    }\n}\n", "se.check();", True),
    # A statement at column 0 (a debug print) above the block's next line; spaces above a line of tabs.
    ("c", "int f(int s) {\n    if (s) {\nprintf(\"%d\", s|\n        s = 1;\n    }\n    return s;\n}\n", ");", True),
    ("c", "int f(int s) {\n    s = 2;\n    g(s|\n\ts = 1;\n    return s;\n}\n", ");", True),
    # A header whose `;` parts its clauses; a declaration's next declarator; the attributes of a JSX tag below.
    ("go", "package m\n\nfunc f() {\n\tif d := now()|\n\t\treturn\n\t}\n}\n", ";", True),
    ("javascript", "let a = 1|\n    b = 2;\nconsole.log(a, b);\n", ",", True),
    ("tsx", "function A() {\n  return (\n    <div style={{ color: \"red\" |\n         className=\"x\">\n      hi\n"
     "    </div>\n  );\n}\n", "}}", True),
])
def test_while_typing_no_fill_ends_its_line_above_its_body_or_names_a_parameter_twice(language, marked, fill,
                                                                                       kept):
    assert kept_while_typing(language, marked, fill) is kept


def test_in_plain_text_the_closers_are_not_read_for_half_typed_names():
    # Plain text has no tree: reading it for names raised, and a copy from the file that begins with a space failed
    # the request.
    from infill_ls.suggestions import Suggestion
    from infill_ls.typing_filter import _ends_a_half_word, parsing_first_kept
    from lsp_support import parsed_text

    text = "Bo will run the smoke tests.\nAna said that Bo will run the\n"
    parsed = parsed_text("markdown", text)
    at = len(text) - 1
    shown = [Suggestion(" smoke tests.", at, at, 0.0, "file"), Suggestion(")", at, at, 0.0, "model")]
    assert parsing_first_kept(parsed, at, shown) == shown
    assert not _ends_a_half_word(parsed, Suggestion(")", at, at, 0.0))
