"""While typing: fills whose error the line's own hides, or that parse, yet are no code anyone means there. A lone
quote, or a line a fill leaves with a string open at its end; another language's word written as a name (Python's
`None` in Go or TypeScript); a body of members or arms that holds one name or literal alone (`struct {` + `str`); a
second import of what the file imports; a comment with no word in it. Through the real parse (`no_worse`)."""

from __future__ import annotations

import pytest

from lsp_support import kept_while_typing, parsed_text


def kept(language_id: str, marked: str, fill: str) -> bool:
    """Whether the typing filter keeps ``fill`` at the `‸` of ``marked`` (a `|` is code in these files)."""
    from infill_ls.suggestions import Suggestion
    from infill_ls.typing_filter import no_worse

    at = marked.index("‸")
    parsed = parsed_text(language_id, marked.replace("‸", "", 1))
    return bool(no_worse(parsed, [Suggestion(fill, at, at, -0.1, "file")]))


# Lines being typed, the editor's closers after the cursor, the rest of the file as it was: the line has an error of
# its own, which the quote's merges with.
JS_IF = ("function unescape(c) {\n\tconst u = c[0] === 'u';\n\n\tif ((u && c.length === 5) || (‸))\n"
         "\t\treturn String.fromCharCode(1);\n\t}\n\n\treturn c;\n}\n")
RUST_COLLECT = ("fn parse_line(line: &str) -> Result<u8, String> {\n"
                "    let parts: Vec<&str> = line.split(',').map(str::trim).collect(‸)\n    if parts.len() != 3 {\n"
                "        return Err(String::new());\n    }\n    Ok(1)\n}\n")
GO_SWITCH = ("package conf\n\nfunc set(cfg *Config, key, value string) {\n\t\tswitch key {‸}\n\t\tcase \"addr\":\n"
             "\t\t\tcfg.Addr = value\n\t\t}\n}\n")
RUST_MATCH = ("fn route(path: &str) -> Route {\n    match path {‸}\n        \"/\" => Route::Index,\n"
              "        _ => Route::NotFound,\n    }\n}\n")
TSX_LABEL = ("export function Item() {\n  return (\n    <div>\n      <label>‸\n      </label>\n    </div>\n  );\n}\n")
GO_SPRINTF = ("package conf\n\nimport \"fmt\"\n\ntype E struct{ n int }\n\nfunc (e E) Error() string {\n"
              "\treturn fmt.Sprintf(\"line %d\", e.‸)\n}\n")
PY_IF = "def f(x):\n    if x == (‸)\n        return 1\n"
JS_OPEN = "function f(c) {\n  const x = g(‸)\n  return x;\n}\n"
RUST_LET = "fn f() -> char {\n    let c = ‸\n    c\n}\n"


@pytest.mark.parametrize("language, marked, fill, shown", [
    # A quote alone, or a body that holds one.
    ("javascript", JS_IF, "'", False),
    ("javascript", JS_IF, "`", False),
    ("rust", RUST_COLLECT, "'", False),
    ("go", GO_SWITCH, "\n\t\t'\n\t\t", False),
    ("rust", RUST_MATCH, '\n        "\n    ', False),
    ("typescriptreact", TSX_LABEL, '"', False),
    ("go", GO_SPRINTF, "'", False),
    ("python", PY_IF, "'", False),
    # A string or a character literal left open at its line's end, where the cursor stood in none: empty, or holding
    # the editor's closers after the cursor.
    ("javascript", JS_IF, "c[0] = '", False),
    ("go", GO_SPRINTF, 'n, "abc', False),
    ("go", GO_SPRINTF, "n, 'a", False),
    ("python", PY_IF, "'abc", False),
    ("javascript", JS_OPEN, "'a', \"b", False),
    # Code inside a template literal's `${}`.
    ("typescript", "export function f(n: number) {\n  return `${‸`;\n}\n", "'", False),
    ("typescript", "export function f(n: number) {\n  return `got ${n === 1 ? '' : ‸`;\n}\n", '"', False),
    # Honest fills: a string opened and closed; one the cursor stands in, closed; a quote in a comment; a Rust
    # lifetime or char literal; quotes that open text over lines (a template literal, a docstring).
    ("javascript", JS_IF, "c[0] === 'x'", True),
    ("javascript", JS_OPEN, "''", True),
    ("javascript", JS_OPEN, "`a ${b} c`", True),
    ("typescript", "export function f(n: number) {\n  return `${‸`;\n}\n", "n}'", True),
    ("typescript", "export function f(n: number) {\n  return `${n} (in '${x}‸`;\n}\n", "'", True),
    ("javascript", JS_OPEN, "'a', \"b\"", True),
    ("javascript", "function f() {\n  const x = g(\"ab‸)\n  return x;\n}\n", '"', True),
    ("javascript", "function f() {\n  const x = g(\"ab‸)\n  return x;\n}\n", 'c"', True),
    ("javascript", "function f() {\n  const x = g(); // it‸\n  return x;\n}\n", "'s", True),
    ("python", "def f(x):\n    return x + ('ab‸)\n", "'", True),
    ("python", PY_IF, "f'{x!r}'", True),
    ("rust", RUST_LET, "'x';", True),
    ("rust", RUST_LET, r"'\n';", True),
    ("rust", "struct S<'a> {\n    name: &‸,\n}\n", "'a str", True),
    ("go", GO_SPRINTF, "n", True),
    ("typescriptreact", TSX_LABEL, "Done", True),
    # Half a line: the fill stops in a string of its own, whose end the user types.
    ("go", "package conf\n\nimport \"errors\"\n\nvar ErrNotFound‸\n", ' = errors.New("inventory: item', True),
    # But not a quote before closers alone, with nothing typed in the string.
    ("python", "def f(lines):\n    out = len(‸\n", '")', False),
    ("python", "def f(lines):\n    out = len(‸\n", '"a")', True),
    ("typescriptreact", TSX_LABEL.replace("<label>‸", "<p>Don‸"), "'t do it", True),
    ("javascript", "function f() {\n  // it's\n  const x = g(‸)\n  return x;\n}\n", "'a', \"b\"", True),
])
def test_while_typing_no_lone_quote_nor_open_string_is_shown(language, marked, fill, shown):
    assert kept(language, marked, fill) is shown


PY_HELP = ("import argparse\n\nparser = argparse.ArgumentParser()\nparser.add_argument('-q', help='be quiet')\n"
           "parser.add_argument('-l', help=\"don't recurse into subdire‸\n")
JS_LOG = "const mode = 'fast';\nconsole.log(\"users‸\n"


@pytest.mark.parametrize("language, marked, fill, shown", [
    # The string the cursor is in ended with another quote than its own, which leaves it open: a copy of a line
    # whose strings are written with the other quote.
    ("python", PY_HELP, "ctory')", False),
    ("python", PY_HELP, "ctories',", False),
    ("javascript", JS_LOG, "');", False),
    # Its own quote; an apostrophe in a word, or ending a plural's possessive.
    ("python", PY_HELP, 'ctory")', True),
    ("python", PY_HELP, "ctories", True),
    ("javascript", JS_LOG, '");', True),
    ("javascript", JS_LOG, "'", True),
    # The editor's own quote after the cursor ends the string; a quotation its text opened ends with the other.
    ("python", "def check(mode):\n    raise ValueError(f\"unknown mode '‸\")\n", "{mode}'", True),
    ("javascript", "function f(id) {\n  return document.querySelector(\"[data-id='‸\");\n}\n", "${id}']", True),
])
def test_while_typing_no_string_is_ended_with_another_quote_than_its_own(language, marked, fill, shown):
    assert kept(language, marked, fill) is shown


TS_UNION = ("export class Settings {\n  get<T>(key: string): T | ‸\n  has(key: string): boolean {\n"
            "    return key.length > 0;\n  }\n}\n")
TS_FLAG = "export interface Options {\n  showNotification: boolean | ‸\n  port: number;\n}\n"
GO_TYPE = "package conf\n\ntype L‸\n\nfunc parse(s string) int {\n\treturn len(s)\n}\n"
RUST_RETURN = ("fn find(v: &[u8]) -> Option<u8> {\n    if v.is_empty() {\n        return ‸\n    }\n"
               "    v.first().copied()\n}\n")
PY_RETURN = "def find(v):\n    if not v:\n        return ‸\n    return v[0]\n"


@pytest.mark.parametrize("language, marked, fill, shown", [
    # Another language's word, written as a name the file never spells.
    ("typescript", TS_UNION, "None", False),
    ("typescript", TS_FLAG, "None;", False),
    ("typescript", TS_FLAG, "null;", True),
    ("typescript", TS_FLAG, "undefined;", True),
    ("go", GO_TYPE, "evel = None", False),
    ("go", GO_TYPE, "evel int", True),
    ("go", "package conf\n\nfunc f(m map[string]int) bool {\n\treturn m == ‸\n}\n", "null", False),
    ("go", "package conf\n\nfunc f(m map[string]int) bool {\n\treturn m == ‸\n}\n", "nil", True),
    ("rust", RUST_RETURN, "null;", False),
    ("rust", RUST_RETURN, "None;", True),
    ("python", PY_RETURN, "null", False),
    ("python", PY_RETURN, "None", True),
    ("javascript", "function f(v) {\n  return ‸\n}\n", "True;", False),
    ("javascript", "function f(v) {\n  return ‸\n}\n", "true;", True),
    ("typescript", "class R {\n  constructor(input: URL | ‸) {}\n}\n", "except", False),
    ("typescript", "class R {\n  constructor(input: URL | ‸) {}\n}\n", "string", True),
    # The file spells it: a name of its own.
    ("typescript", "const None = 0;\n" + TS_FLAG, "None;", True),
    ("python", "null = object()\n" + PY_RETURN, "null", True),
    # Not a name: text in a string or a comment.
    ("go", "package conf\n\nfunc f() string {\n\treturn \"‸\n}\n", 'None"', True),
    ("typescript", "function f() {\n  return 1; // ‸\n}\n", "None of these", True),
])
def test_while_typing_no_other_languages_word_is_shown_as_a_name(language, marked, fill, shown):
    assert kept(language, marked, fill) is shown


@pytest.mark.parametrize("language, marked, fill, shown", [
    # A body of members or arms that holds one name or literal alone.
    ("go", "package web\n\nfunc h(r *R) {\n\tswitch r.Method {‸}\n\tcase \"GET\":\n\t}\n}\n", "\n\ts\n\t", False),
    ("go", "package conf\n\ntype Config struct {‸}\n", "\n\tstr\n", False),
    ("go", "package conf\n\ntype Reader interface {‸}\n", "\n\tx\n", False),
    ("javascript", "class Help {‸}\n", "\n  _\n", False),
    ("typescript", "export interface Todo {‸}\n", "\n  string\n", False),
    ("typescriptreact", "export interface Todo {‸}\n", "\n  string\n", False),
    ("typescript", "function f(x: number) {\n  switch (x) {‸}\n}\n", "\n    1\n  ", False),
    ("rust", "struct Point {‸}\n", "\n    x\n", False),
    ("java", "class Point {‸}\n", "\n    x\n", False),
    # Members, arms, an enum's first variant, a function's body: kept.
    ("go", "package conf\n\ntype Config struct {‸}\n", "\n\tAddr string\n", True),
    ("javascript", "class Help {‸}\n", "\n  constructor() {}\n", True),
    ("typescript", "export interface Todo {‸}\n", "\n  id: string;\n", True),
    ("rust", "enum Color {‸}\n", "\n    Red\n", True),
    ("typescript", "enum Color {‸}\n", "\n  Red\n", True),
    ("rust", "fn f() -> u8 {‸}\n", "\n    x\n", True),
    ("go", "package conf\n\ntype Config struct {\n\tAddr string\n\t‸\n}\n", "Port", True),
])
def test_while_typing_no_body_of_one_lone_token_is_shown(language, marked, fill, shown):
    assert kept(language, marked, fill) is shown


TS_IMPORTS = ("import { commandArguments } from './settings';\nimport {‸}\n\nexport function f() {\n"
              "  return commandArguments;\n}\n")
GO_IMPORTS = "package main\n\nimport (\n\t\"fmt\"\n\t\"log\"\n\t\"‸\"\n)\n\nfunc main() {\n\tfmt.Println(1)\n}\n"
RUST_USES = "use std::thread;\nuse std::‸\n\nfn main() {\n    thread::yield_now();\n}\n"
PY_IMPORTS = "import os\nimport ‸\n\nprint(os)\n"
JAVA_IMPORTS = "import java.util.List;\nimport java.util.‸\n\nclass A {}\n"


@pytest.mark.parametrize("language, marked, fill, shown", [
    # A second import of what the file imports already.
    ("typescript", TS_IMPORTS, " commandArguments ", False),
    ("typescript", TS_IMPORTS, " settingsKeys ", True),
    ("go", GO_IMPORTS, "log", False),
    ("go", GO_IMPORTS, "os", True),
    ("rust", RUST_USES, "thread;", False),
    ("rust", RUST_USES, "thread", False),
    ("rust", RUST_USES, "time;", True),
    ("rust", "use std::io::Write;\nuse std::‸\n\nfn main() {}\n", "io;", True),
    # Another scope's import: a Rust module's tests import what the module does.
    ("rust", "use std::thread;\n\nfn main() {}\n\nmod tests {\n    use std::‸\n}\n", "thread;", True),
    ("rust", "use std::thread;\n\nmod tests {\n    use std::thread;\n    use std::‸\n}\n", "thread;", False),
    # Where the import is the whole statement: the same statement again, whitespace aside.
    ("python", PY_IMPORTS, "os", False),
    ("python", PY_IMPORTS, "json", True),
    ("python", "from os import path\nfrom os import ‸\n", "path", False),
    ("python", "from os import path\nfrom os import ‸\n", "sep", True),
    ("python", "import os\n\n\ndef f():\n    import ‸\n", "os", True),
    ("java", JAVA_IMPORTS, "List;", False),
    ("java", JAVA_IMPORTS, "Map;", True),
    ("c", "#include <stdio.h>\n#include ‸\n\nint main(void) { return 0; }\n", "<stdio.h>", False),
    ("c", "#include <stdio.h>\n#include ‸\n\nint main(void) { return 0; }\n", "<stdlib.h>", True),
    ("cpp", '#include "vec.h"\n#include ‸\n', '"vec.h"', False),
    ("javascript", "import fs from 'fs';\n\nfunction f() {}\n‸\n", "import fs from 'fs';", False),
    ("javascript", "import fs from 'fs';\n\nfunction f() {}\n‸\n", "import os from 'os';", True),
])
def test_while_typing_no_import_is_shown_that_the_file_has(language, marked, fill, shown):
    assert kept(language, marked, fill) is shown


SETTER = "class A:\n    def __init__(self):\n        self.x = 1\n        ‸\n        self.y = 2\n"


@pytest.mark.parametrize("language, marked, fill, shown", [
    # The line above or below written again: the model's fill, as a copy from the file, parses and is noise.
    ("python", SETTER, "self.x = 1", False),
    ("python", SETTER, "self.y = 2", False),
    ("python", SETTER, "self.z = 3", True),
    ("python", "total = compute(a)\ntotal = comp‸\n", "ute(a)", False),
    # A fill of lines: its first line held to the line above, its last to the line below.
    ("python", SETTER, "self.x = 1\n        self.w = 0", False),
    ("python", SETTER, "self.w = 0\n        self.y = 2", False),
    ("python", SETTER, "self.w = 0\n        self.v = 2", True),
    # Short lines and closing tags alone repeat in nested code.
    ("python", "def f():\n    pass\n\n\ndef g():\n    pass\n‸\n", "pass", True),
    ("javascriptreact", "const A = () => (\n  <div>\n    <div>\n      <p>a</p>\n    </div>\n  ‸\n);\n", "</div>",
     True),
])
def test_while_typing_no_fill_is_shown_that_writes_the_line_beside_it_again(language, marked, fill, shown):
    assert kept(language, marked, fill) is shown


LOAD = {"python": "def load(path):\n    data = read(path)\n    |\n    return data\n",
        "javascript": "function load(path) {\n  const data = read(path);\n  |\n  return data;\n}\n",
        "c": "int main(void) {\n  int n = 0;\n  |\n  return n;\n}\n",
        "rust": "fn load() -> u32 {\n    let n = 0;\n    |\n    n\n}\n"}


@pytest.mark.parametrize("language, marked, fill, shown", [
    # Line comments with no word: one keystroke's typing, or a divider the file has elsewhere.
    ("python", LOAD["python"], "#", False),
    ("python", LOAD["python"], "#-------------------------------------------------", False),
    ("python", LOAD["python"], "# ---\n    # ---", False),
    ("javascript", LOAD["javascript"], "//", False),
    ("c", LOAD["c"], "// ======", False),
    ("rust", LOAD["rust"], "// ------", False),
    # A comment that says something; code that ends with an empty one; a divider the user began.
    ("python", LOAD["python"], "# check the data", True),
    ("python", LOAD["python"], "data = data  #", True),
    ("python", LOAD["python"].replace("    |", "    # ---|"), "-------", True),
    ("javascript", LOAD["javascript"], "// load it", True),
    ("rust", LOAD["rust"], "// the count", True),
])
def test_while_typing_no_comment_without_a_word_is_shown(language, marked, fill, shown):
    assert kept_while_typing(language, marked, fill) is shown
