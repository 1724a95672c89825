"""While typing C, C++ and Java: fills that the typing filter (`no_worse`) keeps, though accepting one breaks the
file where the line is still being written, and copies of the file's comments shown in code; through the real
parse, the file's own lookup and, for what the editor is shown, the real server over stdio."""

from __future__ import annotations

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from engine.infill import InfillEngine
from infill_ls.completion import copied
from infill_ls.settings import Settings
from lsp_support import (capabilities, config, init_params, kept_while_typing, parsed_text, shown_while_typing,
                          tiny_model)




CALL = "int f(int a) {\n  int n = 0;\n  g(a, |\n  return n;\n}\n"
PRINT = 'int f(int action) {\n  int n = 0;\n  printf("%d", act|\n  return n;\n}\n'
FOR = "int f(int n) {\n  int i, t = 0;\n  for (i = 0|\n    t += i;\n  return t;\n}\n"
MACRO = ("#include <stdio.h>\n\n#if defined(WIN32)\n"
         "#  define SET_BINARY_MODE(file) setmode(fileno(file), O_BINARY)|\n#else\n"
         "#  define SET_BINARY_MODE(file)\n#endif\n")
HALF_MACRO = "#define MAX(a, b) ((a) > (b) ? |\n\nint x;\n"


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A `;` while the call opened on the line is still open ends nothing: the call runs on past it.
    ("c", CALL, "b;", False),
    ("c", CALL, "b);", True),
    ("c", CALL, "b)", True),
    ("c", PRINT, 'ion failed";', False),
    ("c", PRINT, "ion);", True),
    ("java", "class A {\n    int f(int a) {\n        int n = g(a, |\n        return n;\n    }\n}\n", "b;", False),
    # A `for (` header holds its `;`s.
    ("c", FOR, "; i < n; i++)", True),
    ("java", "class A {\n    int f(int n) {\n        int t = 0;\n        for (int i = 0|\n"
             "            t += i;\n        return t;\n    }\n}\n", "; i < n; i++)", True),
    # A `#define`'s body is text to the parser: its brackets are the check.
    ("c", MACRO, ")| defined", False),
    ("c", MACRO, " + 1", True),
    ("c", HALF_MACRO, "(a) : (b))", True),
    ("c", HALF_MACRO, "(a) : (b)))", False),
])
def test_while_typing_a_fill_that_ends_a_line_still_open_is_not_shown(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A fill whose own text the parser cannot read, where the cursor stood in no error before.
    ("cpp", "namespace a {\nusing ul|\nint x;\n}\n", "e::irSeSegment(", False),
    ("cpp", "namespace a {\nusing ul|\nint x;\n}\n", " = long;", True),
    ("java", "class A {\n    void f() {\n        String s = a|\n    }\n}\n", ' + " failed");', False),
    ("java", "class A {\n    void f() {\n        String s = a|\n    }\n}\n", ' + " failed";', True),
])
def test_while_typing_a_fill_the_parser_cannot_read_is_not_shown(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


KEYS = "#include <stdio.h>\n#define DEFAULT_|\nint main(void)\n{\n  unsigned size = DEFAULT_KEYSIZE;\n  return 0;\n}\n"
INCLUDE = '#include <stdio.h>\n#include "yarr|\nstatic int yarrow;\n'


@pytest.mark.parametrize("language, marked, fill, kept", [
    ("c", KEYS, "KEYSIZE;", False),
    ("c", KEYS, "KEYSIZE 16", True),
    ("cpp", KEYS, "KEYSIZE 16;", False),
    ("c", INCLUDE, "ow;", False),
    ("c", INCLUDE, 'ow.h"', True),
    ("c", INCLUDE, 'ow.h" x', False),
    ("c", INCLUDE, 'ow.h" // the pool', True),
    ("cpp", "#include <vec|\nint x;\n", "tor>;", False),
    ("cpp", "#include <vec|\nint x;\n", "tor>", True),
])
def test_while_typing_no_semicolon_or_tail_is_written_on_a_preprocessor_line(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


CPP_RETURN = ("struct Bits {\n  bool isZero() const {\n    return Value == 0;\n  }\n  bool isNonZero() const {\n"
              "    return !isZero()|\n  }\n  int Value;\n};\n")
JAVA_RETURN = ("class Bits {\n    int value;\n\n    boolean isZero() {\n        return value == 0;\n    }\n\n"
               "    boolean isNonZero() {\n        return !isZero()|\n    }\n}\n")
KR = "static void usage(int n)|\n{\n  return;\n}\n"


@pytest.mark.parametrize("language, marked, fill, kept", [
    ("cpp", CPP_RETURN, " const {", False),
    ("cpp", CPP_RETURN, " {", False),
    ("cpp", CPP_RETURN, ";", True),
    ("java", JAVA_RETURN, " {", False),
    ("java", JAVA_RETURN, ";", True),
    # The body's `{` is the next line's own.
    ("c", KR, " {", False),
    # A header whose body is still to be written gets its `{`.
    ("c", "static void usage(int n)|\n", " {", True),
    ("java", "class A {\n    void f(int a) {\n        if (a > 0)|\n    }\n}\n", " {", True),
    ("cpp", "struct B {\n  bool isZero() const|\n};\n", " {", True),
])
def test_while_typing_no_brace_is_shown_that_opens_no_body(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


CPP_VECTOR = "#include <vector>\nint main() {\n    std::vector<in|\n    int x = 1;\n}\n"
CPP_PAIRS = "#include <vector>\nint main() {\n    std::vector<std::pair<int, in|\n    int x = 1;\n}\n"


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A `>` after the one that closes the template arguments closes nothing; the parse's ERROR for it overlaps the
    # half-typed line's own, so the count of errors does not grow.
    ("cpp", CPP_VECTOR, "t>>", False),
    ("cpp", CPP_VECTOR, "t>> v;", False),
    ("cpp", CPP_PAIRS, "t>>>", False),
    ("cpp", CPP_VECTOR, "t>", True),
    ("cpp", CPP_VECTOR, "t> v;", True),
    ("cpp", CPP_PAIRS, "t>>", True),
    ("cpp", CPP_PAIRS, "t>> pairs;", True),
    ("cpp", "template <typename T|\nstruct Box {\n  T value;\n};\n", ">", True),
    ("cpp", "template <typename T|\nstruct Box {\n  T value;\n};\n", ">>", False),
    # A shift after no template arguments is no closer.
    ("cpp", "int f(int n) {\n  int big = n |\n  return big;\n}\n", ">> 2;", True),
])
def test_while_typing_no_angle_bracket_is_shown_that_closes_no_template_arguments(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


PROSE = ("#include <string>\nclass formatted_stream {\n"
         "  /// PartialUTF8Char - a prefix\n  std::string Par|\n};\n")


def test_while_typing_in_code_no_copy_of_a_comments_prose_is_shown():
    engine = InfillEngine.load(tiny_model(), device="cpu")
    at = PROSE.index("|")
    parsed = parsed_text("cpp", PROSE.replace("|", "", 1))
    text = parsed.snapshot.text
    assert [c.text for c in engine.copies(text[:at], text[at:])] == ["tialUTF8Char - a prefix"]
    assert copied(engine, parsed, at, Settings()) == []


# --- What the editor is shown, through the real server ---

pytestmark_lsp = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(), modelPath=tiny_model(), debounceMs=0,
                                                    device="cpu"))
    yield
    await lsp_client.shutdown_session()


@pytestmark_lsp
async def test_while_typing_c_the_server_shows_no_semicolon_on_a_define_line_nor_comment_prose(client):
    shown = await shown_while_typing(client, "file:///tmp/keys.c", "c", KEYS)
    assert not any(";" in item.split("\n")[0] for item in shown), shown
    shown = await shown_while_typing(client, "file:///tmp/stream.h", "cpp", PROSE)
    assert not any("a prefix" in item for item in shown), shown


@pytest.mark.parametrize("language, marked, fill", [
    # A `{` after `return` that opens a value.
    ("javascript", "function f() {\n  return|\n}\n", " {"),
    ("go", "package main\n\nfunc f() *T {\n\treturn &T|\n}\n", "{"),
    ("rust", "fn f(x: Option<u8>) -> u8 {\n    return match x|\n}\n", " {"),
    # Rust's `[x; n]` holds a `;`.
    ("rust", "fn f() {\n    let a = [0|\n}\n", "; 4];"),
])
def test_a_brace_or_semicolon_other_languages_keep_there_is_still_shown(language, marked, fill):
    assert kept_while_typing(language, marked, fill)


GUARD = "void foo(int a);\nvoid bar(void);\nvoid h(int x, int a) {\n    if (x) { foo(a|\n        bar();\n    }\n}\n"


@pytest.mark.parametrize("language, marked, fill, kept", [
    # tree-sitter reads `foo(a) {` in a body as a function defined there, which C and C++ take nowhere.
    ("c", GUARD, ") {", False),
    ("cpp", GUARD, ") {", False),
    ("c", GUARD, ");", True),
    # Nor a bare block after the call's `;`, which owes one `}` more.
    ("c", GUARD, "); {", False),
    ("java", "class A {\n    void f(int a) {\n        g(a|\n    }\n}\n", "); {", False),
    ("c", "int f(int n) {\n  for (int i = 0; i < n|\n  return n;\n}\n", "; i++) {", True),
    # A local class's method stands in its members.
    ("cpp", "void h() {\n  struct S {\n    int g(|\n  };\n}\n", ") { return 1; }", True),
    # One the file has already stays the user's.
    ("c", "void h() {\n  int g() { return 1; }\n  g(|\n}\n", ");", True),
])
def test_while_typing_no_function_is_defined_in_a_body(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


INDEX = 'int main() {\n    graph::NameIndex index;\n    index.idOf("a");\n    gra|\n    return 0;\n}\n'


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A local its block declares already, or a parameter of its function: "redeclaration", though it parses.
    ("cpp", INDEX, "ph::NameIndex index;", False),
    ("cpp", INDEX, "ph::NameIndex other;", True),
    ("c", "int f(int n) {\n    int *p = 0;\n    char |\n    return n;\n}\n", "*p = \"x\";", False),
    ("c", "int f(int n) {\n    int m = 1;\n    int |\n    return 0;\n}\n", "n = 2;", False),
    ("c", "int f(void) {\n    int |\n    int count = 0;\n    return count;\n}\n", "count = 1;", False),
    # A nested block may declare it again (C and C++ shadow it), and the user's own name is theirs.
    ("c", "int f(int n) {\n    int m = 1;\n    if (m) {\n        int |\n    }\n    return 0;\n}\n", "m = 2;", True),
    ("c", "int f(int n) {\n    int m = 1;\n    int m|\n    return 0;\n}\n", " = 2;", True),
    ("java", "class A {\n  void f(int a) {\n    int b = 1;\n    int |\n  }\n}\n", "b = 2;", False),
    ("java", "class A {\n  A(int a) {\n    int b = 1;\n    String |\n  }\n}\n", 'a = "x";', False),
    ("java", "class A {\n  void f(int a) {\n    int b = 1;\n    int |\n  }\n}\n", "c = b;", True),
])
def test_while_typing_no_local_is_declared_again_in_its_block(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


NULL_CHECK = 'int f(void) {\n    if (rb == NULL) {|\n        fprintf(stderr, "oom\\n");\n        return 1;\n    }\n}\n'


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A fill whose last line begins a statement that takes in the next line's: `return fprintf(stderr, ...);`.
    ("c", NULL_CHECK, "\n        return", False),
    ("rust", "fn f() {\n    if x {|\n        g();\n    }\n}\n", "\n        return", False),
    # One whose statements end where it does leaves the next line's its own.
    ("c", NULL_CHECK, "\n        errno = ENOMEM;", True),
    ("c", NULL_CHECK, "\n        free(rb);", True),
])
def test_while_typing_no_fill_takes_in_the_next_lines_statement(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


REDUCER = '''function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'load/started':
      return { ...state, loading: true };
    |
    case 'load/failed':
      return { ...state, loading: false };
    default:
      return state;
  }
}
'''
STATUS = '''package web

func status(err error) int {
\tswitch {
\tcase errors.Is(err, ErrNotFound):
\t\treturn 404
\t|
\tcase errors.Is(err, ErrInvalid):
\t\treturn 400
\t}
\treturn 500
}
'''
SIGN = '''int sign(int x) {
  switch (x) {
    case 1:
      return 2;
    |
    default:
      return 0;
  }
}
'''
EXPORTS = '''__all__ = [
    "ANY",
    "Namespace",
    |
]
'''


@pytest.mark.parametrize("language, marked, fill, kept", [
    # A case the switch has (or a second `default`), a key the object has, a name the list holds: written twice.
    ("typescript", REDUCER, "case 'load/failed':", False),
    ("typescript", REDUCER, 'case "load/started":', False),
    ("typescript", REDUCER, "default:", False),
    ("go", STATUS, "case errors.Is(err, ErrInvalid):", False),
    ("c", SIGN, "case 1:", False),
    ("c", SIGN, "default:", False),
    ("java", "class A {\n  int f(int x) {\n" + SIGN.replace("int sign(int x) {\n", "") + "}\n", "case 1:", False),
    ("python", EXPORTS, '"Namespace",', False),
    ("python", EXPORTS.replace("]\n", ""), '    "Namespace",', False),  # a list still open: the grammar's ERROR
    ("python", EXPORTS.replace("__all__ = [", "CONFIG = {").replace('"ANY",', '"host": "localhost",')
     .replace('"Namespace",', '"port": 8080,').replace("]", "}"), "'host': '0.0.0.0',", False),
    ("javascript", "const o = {\n  host: 'localhost',\n  |\n};\n", "'host': 'example.org',", False),
    # Another case, key or name.
    ("typescript", REDUCER, "case 'load/done':", True),
    ("go", STATUS, "case errors.Is(err, ErrConflict):", True),
    ("go", STATUS, "default:", True),
    ("c", SIGN, "case 2:", True),
    ("python", EXPORTS, '"Signal",', True),
    ("python", EXPORTS.replace("]\n", ""), '    "Signal",', True),
    ("python", 'x = f("Namespace", [\n    "ANY",\n|\n', '    "Namespace",', True),  # outside the open list
    ("javascript", "const o = {\n  host: 'localhost',\n  |\n};\n", "port: 8080,", True),
])
def test_while_typing_no_key_case_or_listed_name_is_written_twice(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept
