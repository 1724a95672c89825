"""Fill placeholders on a stub's TODO and the default value it returns, and on fills that write no code."""

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from infill_ls.actions import NoEdit, Request, fill_placeholders, find_placeholders
from infill_ls.settings import Settings
from infill_ls.syntax import apply_replacements
from lsp_support import apply_text_edits, capabilities, config, edits_of, init_params, parsed_text, position_of, WritesFills

SETTINGS = Settings(file_lookup=False)




def _found(language_id, text, cursor_at):
    return [text[a:b] for a, b in find_placeholders(parsed_text(language_id, text), text.index(cursor_at))]


ECLIPSE = ("class Shapes {\n    @Override\n    public String toString() {\n"
           "        // TODO Auto-generated method stub\n        return null;\n    }\n}\n")


@pytest.mark.parametrize("language_id, text, found", [
    ("java", ECLIPSE, "// TODO Auto-generated method stub\n        return null;"),
    ("java", "class A {\n    int size() {\n        // TODO: implement\n        return 0;\n    }\n}\n",
     "// TODO: implement\n        return 0;"),
    ("typescript", "function area(): number {\n  // TODO: implement\n  return 0;\n}\n",
     "// TODO: implement\n  return 0;"),
    ("javascript", 'function name() {\n  // TODO: implement\n  return "";\n}\n', '// TODO: implement\n  return "";'),
    ("go", "package p\n\nfunc load() (int, error) {\n\t// TODO: implement\n\treturn 0, nil\n}\n",
     "// TODO: implement\n\treturn 0, nil"),
    ("rust", "fn load() -> Config {\n    // TODO: read the file\n    Default::default()\n}\n",
     "// TODO: read the file\n    Default::default()"),
    ("rust", "fn ready() -> bool {\n    // TODO: check\n    return false;\n}\n", "// TODO: check\n    return false;"),
    ("python", "def load(path):\n    # TODO: read the file\n    return None\n",
     "# TODO: read the file\n    return None"),
])
def test_a_todo_and_the_default_value_returned_after_it_are_one_placeholder(language_id, text, found):
    # Filled alone, the comment gave `return x;` before the stub's own `return null;`: unreachable, which Java
    # refuses to compile.
    assert _found(language_id, text, "TODO") == [found]


@pytest.mark.parametrize("language_id, text, found", [
    # A value the function computes is code, not a stub's default.
    ("java", "class A {\n    int size() {\n        // TODO: cache it\n        return items.length;\n    }\n}\n",
     ["// TODO: cache it"]),
    # A default returned after more code stays; so does one that is not the body's last statement.
    ("typescript", "function f(x: number): number {\n  // TODO: validate x\n  log(x);\n  return 0;\n}\n",
     ["// TODO: validate x"]),
    ("go", "package p\n\nfunc f(x int) error {\n\tif x > 0 {\n\t\t// TODO: log it\n\t\treturn nil\n\t}\n"
     "\treturn check(x)\n}\n", ["// TODO: log it\n\t\treturn nil"]),
])
def test_only_a_default_value_returned_right_after_the_todo_joins_it(language_id, text, found):
    assert _found(language_id, text, "TODO") == found


def test_the_fill_takes_the_place_of_the_stubs_default_return():
    edit = fill_placeholders(parsed_text("java", ECLIPSE), ECLIPSE.index("TODO"),
                             Request(WritesFills(['return "Shapes";']), SETTINGS))
    assert not isinstance(edit, NoEdit), edit
    assert apply_replacements(ECLIPSE, list(edit.replacements)) == ECLIPSE.replace(
        "// TODO Auto-generated method stub\n        return null;", 'return "Shapes";')


@pytest.mark.parametrize("language_id, text, cursor_at, fill", [
    # `///` alone before the `}` is a doc comment documenting nothing: rustc refuses it (E0585).
    ("rust", "fn f() -> i32 {\n    todo!()\n}\n", "todo", "///"),
    ("java", "class A {\n    int f() {\n        throw new UnsupportedOperationException();\n    }\n}\n", "throw",
     "// compute f"),
    ("python", "def f(x):\n    ...\n", "...", "# the sum of x"),
])
def test_a_fill_that_is_only_comments_is_not_applied(language_id, text, cursor_at, fill):
    edit = fill_placeholders(parsed_text(language_id, text), text.index(cursor_at), Request(WritesFills([fill]), SETTINGS))
    assert isinstance(edit, NoEdit), apply_replacements(text, list(edit.replacements))
    assert edit.reason == "the model wrote only comments in place of the placeholders; nothing was applied"


def test_a_fill_with_code_under_its_comment_is_applied():
    text = "fn f() -> i32 {\n    todo!()\n}\n"
    edit = fill_placeholders(parsed_text("rust", text), text.index("todo"),
                             Request(WritesFills(["// the answer\n    42"]), SETTINGS))
    assert apply_replacements(text, list(edit.replacements)) == "fn f() -> i32 {\n    // the answer\n    42\n}\n"


@pytest.mark.parametrize("language_id, text, found", [
    # A comment after the code of its line speaks of that code, as a trailing `// TODO` does.
    ("javascript", "function area(w, h) {\n  return w * h; /* TODO: overflow */\n}\n", []),
    ("c", "int area(int w, int h) {\n  return w * h; /* TODO: overflow */\n}\n", []),
    # Code after it on its line is still a place it holds.
    ("c", "int f(int a) {\n  int b = /* TODO */ 0;\n  return b;\n}\n", ["/* TODO */"]),
    ("c", "int f(int x) { /* TODO */ }\n", ["/* TODO */"]),
])
def test_a_block_comment_todo_after_the_code_of_its_line_is_no_placeholder(language_id, text, found):
    assert _found(language_id, text, "TODO") == found


@pytest_lsp.fixture(scope="module", config=config())
async def shipped(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(resolve=True), numCandidates=3, device="cpu"))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="module")
async def test_the_server_fills_a_stub_without_leaving_its_default_return(shipped, tmp_path):
    client = shipped
    text = ("class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
            "        # TODO: implement\n        return None\n\n    def size(self):\n        return len(self.items)\n")
    uri = (tmp_path / "stack.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    cursor = text.index("TODO")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(*[position_of(text, cursor)] * 2),
        context=types.CodeActionContext(diagnostics=[])))
    (action,) = [a for a in actions if a.title == "Fill placeholders"]
    resolved = await client.code_action_resolve_async(action)
    edits, _ = edits_of(resolved.edit, uri)
    stub = "# TODO: implement\n        return None"
    start = text.index(stub)
    assert [e.range for e in edits] == [types.Range(position_of(text, start), position_of(text, start + len(stub)))]
    push = apply_text_edits(text, edits).split("def push")[1].split("def size")[0]
    assert push.count("return") == 1, push


DECLARED = ('import abc\nimport typing as t\nfrom typing import Protocol, overload\n\n\nclass Attribute:\n'
            '    @t.overload\n    def __get__(self, obj: None, owner: None) -> "Attribute": ...\n\n'
            '    @overload\n    def get(self, key: int) -> int: ...\n\n'
            '    @abc.abstractmethod\n    def load(self) -> str:\n        raise NotImplementedError\n\n'
            '    def name(self) -> str: ...\n\n\n'
            'class Reader(t.Protocol):\n    def read(self, size: int) -> bytes: ...\n\n\n'
            'class Writer(Protocol[T]):\n    @property\n    def closed(self) -> bool: ...\n')


@pytest.mark.parametrize("cursor_at, found", [
    # The `...` of an overload, of an abstract method, of a protocol's member is the declaration, not a stub.
    ("def __get__", []), ("def get", []), ("def load", []), ("def read", []), ("def closed", []),
    ("def name", ["..."]),
])
def test_a_declarations_stub_is_no_placeholder(cursor_at, found):
    assert _found("python", DECLARED, cursor_at) == found


def test_a_stub_files_functions_hold_no_placeholder_and_fill_placeholders_says_why():
    text = "def name(self) -> str: ...\n"
    assert find_placeholders(parsed_text("python", text, "file:///t.pyi"), text.index("...")) == []
    assert find_placeholders(parsed_text("python", text, "file:///t.py"), text.index("...")) != []
    edit = fill_placeholders(parsed_text("python", DECLARED), DECLARED.index("def read"),
                             Request(WritesFills(["return b''"]), SETTINGS))
    assert edit == NoEdit("the function here is a declaration whose stub stays (an overload, an abstract method, a "
                          "protocol's member or a stub file's)")


@pytest.mark.parametrize("fill", ["None", "str", "T", "self", "0", "return", "self.name"])
def test_a_fill_that_does_nothing_is_not_applied(fill):
    text = "class Box:\n    def name(self) -> str: ...\n"
    edit = fill_placeholders(parsed_text("python", text), text.index("..."), Request(WritesFills([fill]), SETTINGS))
    assert isinstance(edit, NoEdit), apply_replacements(text, list(edit.replacements))
    assert edit.reason == ("the model wrote only code that does nothing (a lone name, value or keyword) in place of "
                           "the placeholders; nothing was applied")


@pytest.mark.parametrize("fill", ["return self.label", "return None", "return self"])
def test_a_fill_that_returns_a_value_is_applied(fill):
    text = "class Box:\n    def name(self) -> str: ...\n"
    edit = fill_placeholders(parsed_text("python", text), text.index("..."), Request(WritesFills([fill]), SETTINGS))
    assert apply_replacements(text, list(edit.replacements)) == text.replace("...", fill)


READ_LINES = "def load(path):\n    with open(path) as fh:\n        # TODO read lines\n        pass\n    return lines\n"


@pytest.mark.parametrize("text, found", [
    (READ_LINES, ["# TODO read lines\n        pass"]),
    ("def f():\n    # TODO: implement\n    pass\n", ["# TODO: implement\n    pass"]),
    # Beside other code, the `pass` holds no place, and the TODO is the placeholder alone.
    ("def f(x):\n    x.sort()\n    # TODO: dedupe\n    pass\n", ["# TODO: dedupe"]),
])
def test_a_todo_and_the_pass_that_is_its_bodys_only_statement_are_one_placeholder(text, found):
    assert _found("python", text, "TODO") == found


def test_a_todo_filled_beside_a_pass_takes_the_pass_with_it_and_a_return_in_a_branch_is_code():
    edit = fill_placeholders(parsed_text("python", READ_LINES), READ_LINES.index("TODO"),
                             Request(WritesFills(["lines = fh.readlines()"]), SETTINGS))
    assert apply_replacements(READ_LINES, list(edit.replacements)) == READ_LINES.replace(
        "# TODO read lines\n        pass", "lines = fh.readlines()")
    text = "def f(x):\n    if not x:\n        # TODO: handle empty\n        pass\n    g(x)\n"
    edit = fill_placeholders(parsed_text("python", text), text.index("TODO"),
                             Request(WritesFills(["return"]), SETTINGS))
    assert apply_replacements(text, list(edit.replacements)) == "def f(x):\n    if not x:\n        return\n    g(x)\n"


PENDING_JS = (
    "function total(items) {\n"
    "  let sum = 0;\n"
    "  for (const item of items) {\n"
    "    sum += item.price;\n"
    "  }\n"
    "  return sum;\n"
    "}\n"
    "\n"
    "function pending() {\n"
    '  throw new Error("not implemented");\n'
    "}\n"
)


def test_fill_placeholders_refuses_a_fill_reading_another_functions_local():
    # The embedded model filled `pending` with `return item;`, `item` being the loop variable of `total`.
    edit = fill_placeholders(parsed_text("javascript", PENDING_JS), PENDING_JS.index("throw"),
                             Request(WritesFills(["return item;"]), Settings(file_lookup=False)))
    assert isinstance(edit, NoEdit)
    assert "names" in edit.reason


def test_fill_placeholders_keeps_a_fill_reading_its_own_names():
    edit = fill_placeholders(parsed_text("javascript", PENDING_JS), PENDING_JS.index("throw"),
                             Request(WritesFills(["return 0;"]), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit)


def test_fill_placeholders_refuses_a_fill_the_typing_checks_refuse():
    # The embedded model wrote `return key` over the TODO above the `return ...` it filled: the line below never ran.
    text = ('def parse_pair(text: str) -> tuple[str, str]:\n    key, _, value = text.partition("=")\n'
            "    # TODO: strip whitespace around both parts\n    return ...\n")
    edit = fill_placeholders(parsed_text("python", text), text.index("key, _, value"),
                             Request(WritesFills(["return key", "0"]), Settings(file_lookup=False)))
    assert isinstance(edit, NoEdit) and edit.reason.startswith("found no fill that reads right where it stands"), edit
