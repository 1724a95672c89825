"""A keyword written where a name stands: tree-sitter reads `if (default)` in TypeScript, `let n = fn;` in Rust and
`if (return)` in Java as a name without an error, where the compiler rejects it. Neither the ghost text nor a code
action's edit writes one; through the real parse of each grammar."""

from __future__ import annotations

import pytest

from infill_ls.actions.edits import ActionEdit, ActionKind, candidate, choose_edit
from infill_ls.syntax import Replacement, problems_after
from lsp_support import kept_while_typing, parsed_text

TS_IF = "function f(x: number): number {\n  if (|\n  return x;\n}\n"
JS_IF = "function f(x) {\n  if (|\n  return x;\n}\n"
TS_HALF = "function f(x: number): number {\n  if (de|\n  return x;\n}\n"
RUST_LET = "fn f(a: u32) -> u32 {\n    let n = |\n    n\n}\n"
JAVA_IF = "class A {\n    int f(int x) {\n        if (|\n        return x;\n    }\n}\n"
TS_MODULE = 'import {|} from "./m";\nexport const y = 1;\n'


@pytest.mark.parametrize("language, marked, fill, kept", [
    ("typescript", TS_IF, "default)", False),
    ("typescriptreact", TS_IF, "return) {", False),
    ("typescript", TS_IF, "switch)", False),
    ("typescript", TS_HALF, "fault)", False),  # `de` typed: the fill makes the name `default`
    ("rust", RUST_LET, "fn;", False),
    ("rust", RUST_LET, "impl + 1;", False),
    ("java", JAVA_IF, "default)", False),
    ("java", JAVA_IF, "return) {", False),
    # A keyword that is no name, and names that are no keyword, or a keyword where the language takes one as a name.
    ("typescript", TS_IF, "x > 0)", True),
    ("typescript", TS_IF, "this.ok)", True),
    ("typescript", TS_IF, "options.default)", True),
    ("typescript", TS_HALF, "faults)", True),
    ("typescript", TS_MODULE, " default as m ", True),
    ("javascript", JS_IF, "x instanceof Error)", True),
    ("rust", RUST_LET, "a + 1;", True),
    ("rust", RUST_LET, "union + 1;", True),  # a contextual keyword: a name outside a declaration
    ("rust", "fn f(s: &|) -> usize {\n    s.len()\n}\n", "'static str", True),
    ("rust", RUST_LET, "vec![a; 2].len() as u32;", True),
    ("java", JAVA_IF, "x > 0)", True),
    ("java", "class A {\n    int f(Object o) {\n        return switch (o) {\n            case null, |\n"
             "        };\n    }\n}\n", "default -> 0;", True),
    # Where a type's name stands too; TypeScript's own types that are keywords are none.
    ("typescript", "let headers: Record<symbol, Map<|;\n", "class>>", False),
    ("typescript", "interface H {\n  size?(p: string): Promise<|;\n}\n", "class<T>>", False),
    ("java", "class A {\n    List<|> xs;\n}\n", "class", False),
    ("typescript", "let headers: Record<symbol, Map<|;\n", "string, number>>", True),
    ("typescript", "let done: Promise<|;\n", "void>", True),
    ("java", "class A {\n    void f() {\n        |\n    }\n}\n", "var x = 1;", True),
])
def test_while_typing_no_keyword_is_shown_where_a_name_stands(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept


def test_an_action_counts_a_keyword_written_as_a_name_as_a_problem_and_writes_the_name():
    marked = TS_IF.replace("|", "x)|", 1)
    at = marked.index("(") + 1
    parsed = parsed_text("typescript", marked.replace("|", "", 1))
    keyword = (Replacement(at, at + 1, "default"),)
    name = (Replacement(at, at + 1, "value"),)
    assert problems_after(parsed, list(keyword)) == 1
    assert problems_after(parsed, list(name)) == 0
    # The keyword is the surer fill; it still loses to the one that compiles.
    candidates = [candidate(parsed, keyword, -0.1), candidate(parsed, name, -2.0)]
    edit = choose_edit(ActionKind.REWRITE_SELECTION, parsed, candidates)
    assert isinstance(edit, ActionEdit)
    assert edit.replacements == name


def test_a_keyword_the_user_typed_is_theirs():
    # The file names `default` already; a fill elsewhere on the line writes no keyword.
    marked = "function f(x: number): number {\n  if (default &&|\n  return x;\n}\n"
    assert kept_while_typing("typescript", marked, " x > 0)") is True


CPP_TODO = "int sum(const int* v, int n) {\n  // TODO: sum v\n  return 0;\n}\n"


@pytest.mark.parametrize("fill, problems", [
    # A `#` line of no directive, or of one the grammar reads as a call only when it is unmatched: each parses.
    ("# return v[0];", 1),
    ("#endif {", 1),
    ("#else", 1),
    ("return v[0];", 0),
    ("#pragma once\n  return v[0];", 0),
    ("#undef X\n  return 1;", 0),
])
def test_an_action_counts_a_directive_the_language_has_none_of_as_a_problem(fill, problems):
    parsed = parsed_text("cpp", CPP_TODO)
    start, end = CPP_TODO.index("// TODO"), CPP_TODO.index("return 0;") + len("return 0;")
    assert problems_after(parsed, [Replacement(start, end, fill)]) == problems


@pytest.mark.parametrize("language, marked, fill, kept", [
    ("c", "int f(void) {\n  |\n  return 0;\n}\n", "# return 1;", False),
    ("cpp", "#pragma |\nint x;\n", "once", True),
    # A directive the user wrote is theirs: the fill writes no byte of it.
    ("c", "#frob |\nint x;\n", "1", True),
])
def test_while_typing_no_directive_the_language_has_none_of_is_shown(language, marked, fill, kept):
    assert kept_while_typing(language, marked, fill) is kept
