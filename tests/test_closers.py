"""Closing what a fill leaves open (engine.closers): the brackets still open, and the variants tried in order."""

from __future__ import annotations

from engine.closers import (MAX_TRIES, SCAN_CHARS, close_to_pass, closed_variants, is_label, owed, owed_below,
                            owed_on_line, still_open)
from engine.holes import is_parse_valid


def test_still_open_lists_the_closers_innermost_first():
    assert still_open("f(a, [b, {c") == "}])"
    assert still_open("f(a, [b]") == ")"
    assert still_open("f(a)") == ""
    # A closer for an outer bracket closes the inner ones, as a parser recovers.
    assert still_open("f(a, [b)") == ""
    assert still_open(")]") == ""


def test_brackets_in_strings_and_comments_are_not_counted():
    assert still_open("f('(', \"[\", `{`") == ")"
    assert still_open('f("a \\" (",') == ")"
    assert still_open('f("""\n(\n""",') == ")"
    assert still_open("f(x  # (\n") == ")"
    assert still_open("g(x // (\n") == ")"
    assert still_open("g(x /* ( */, ") == ")"
    # A quote not closed on its line (a Rust lifetime) is one character, and the brackets after it count.
    assert still_open("fn f<'a>(x: &'a str) {") == "}"


def test_rust_lifetimes_and_labels_are_no_quotes_however_many_a_line_holds():
    # Two lifetimes on a line read as one quoted stretch hid the brackets between them.
    assert still_open("pub fn longest<'a>(x: &'a str, y: &'a str") == ")"
    assert still_open("pub fn count<'a>(tokens: &[Token<'a") == "])"
    assert still_open("impl<'a, 'b> P<'a, 'b> { fn f(&'_ self, x: &'_ str") == ")}"
    assert still_open("'outer: for x in xs { if x { break 'outer") == "}}"
    assert owed_on_line("pub fn longest<'a>(x: &'a str, y: &'a str", "\n", line_comments=("//",)) == ")"
    # A character literal after them is still one.
    assert still_open("fn f<'a>(s: &'a str) -> bool { s.starts_with('{'") == ")}"
    assert still_open("fn f<'a>(s: &'a str) -> bool { s.ends_with('x'") == ")}"


def test_character_literals_and_single_quoted_strings_still_hide_their_brackets():
    # Go's runes, C's and Rust's characters, escapes among them.
    assert still_open("f('(', '\\'', '{', '\\u{1F600}', g(") == "))"
    assert still_open("switch (c) { case '[': return h('\\n'") == ")}"
    # JavaScript's and Python's strings in single quotes, the next one on the line too.
    assert still_open("f('a) b', 'c(d', x") == ")"
    assert still_open("f('ok' + g('(x', 'y'") == "))"


def test_a_hash_begins_a_comment_only_where_the_language_says_so():
    # By default (a caller that does not name the language) `#` and `//` both do.
    assert still_open("f(x  # (\n") == ")"
    assert still_open("this.#items.push(x") == ""
    # A JavaScript private field, a Rust attribute: code.
    assert still_open("this.#items.push(x", line_comments=("//",)) == ")"
    assert owed_on_line("#[derive(Debug, Clone", "\nstruct P;\n", line_comments=("//",)) == ")]"
    assert owed("fn f() {\n    g(x // (\n", "", line_comments=("//",)) == ")}"
    # Python's `#` alone: `//` is its floor division.
    assert still_open("f(a // (b", line_comments=("#",)) == "))"
    assert still_open("f(a  # (b", line_comments=("#",)) == ")"


def test_a_brace_closes_as_a_bracket_where_braces_open_no_blocks():
    # A `{` opened on a line above is a body's, closed only from a line of its own, unless the language's blocks
    # are no braces (Python's dict).
    before, after = 'd = {"a": 1,\n     "b": g(2', "\n"
    assert owed_on_line(before, after) == ")"
    assert owed_on_line(before, after, block_braces=False) == ")}"
    assert owed_on_line("d = {", "\n", block_braces=False) == "}"


def test_the_braces_owed_below_a_line_are_those_of_its_bodies_once_the_line_owes_none():
    before = "fn f(x: Option<i32>) -> i32 {\n    match x {\n        Some(v) => g(v)"
    assert owed_below(before, "\n", line_comments=("//",)) == "}}"
    # The line's own `)` is still owed, or an expression's `{` opened on it: nothing below.
    assert owed_below(before[:-1], "\n", line_comments=("//",)) == ""
    assert owed_below("fn f() {\n    let s = S { x: g(1)", "\n", line_comments=("//",)) == ""
    # A Python dict's `{` is a bracket, owed on its line.
    assert owed_below('d = {"a": 1,\n     "b": 2', "\n", line_comments=("#",), block_braces=False) == ""


def test_variants_try_the_fewest_closers_first_then_the_brackets_alone():
    before = "x = f(g(a, "
    assert list(closed_variants(before, ["b", "c)"])) == [
        (0, "b)"), (0, "b))"), (1, "c))"), (-1, ")"), (-1, "))")]


def test_a_terminator_is_tried_after_each_count_of_closers():
    assert list(closed_variants("x = f(g(a, ", ["b"], terminator=";")) == [
        (0, "b)"), (0, "b);"), (0, "b))"), (0, "b));"), (-1, ")"), (-1, ");"), (-1, "))"), (-1, "));")]
    before, after = "int f(int a) {\n    return g(h(a", "\n}\n"
    parses = lambda fill: is_parse_valid(before + fill + after, "c")  # noqa: E731
    assert close_to_pass(before, [""], parses, after=after, terminator=";") == (0, "));")
    assert close_to_pass(before, [""], parses, after=after) is None


def test_a_terminator_is_tried_before_the_brace_of_a_block_opened_on_the_line_too():
    # After the closers alone (an initializer's `{1, f(2)};`), the `;` ends the statement the block holds, and the
    # block's `}` is spaced from it as its `{` is from the code after it.
    # Then the statement around the block gets its own `;` after them all.
    before, after = "int f(int x) {\n    if (x) { return g(2", "\n}\n"
    assert list(closed_variants(before, [], "", owing=owed_on_line, terminator=";")) == [
        (-1, ")"), (-1, ");"), (-1, ")}"), (-1, ")};"), (-1, "); }"), (-1, "); };")]
    assert list(closed_variants("    if (x) {return g(h(2", [""], "", owing=owed_on_line, terminator=";",
                                alone=False))[-3:] == [(0, "))};"), (0, "));}"), (0, "));};")]
    parses = lambda fill: is_parse_valid(before + fill + after, "c")  # noqa: E731
    assert close_to_pass(before, [""], parses, after=after, owing=owed_on_line, terminator=";") == (0, "); }")
    # No terminator, no such variant.
    assert list(closed_variants(before, [], "", owing=owed_on_line)) == [(-1, ")"), (-1, ")}")]


def test_close_to_pass_returns_the_first_variant_the_test_passes():
    before = "def f(x):\n    return g(h(x"
    after = "\n\ny = 1\n"
    parses = lambda fill: is_parse_valid(before + fill + after, "python")  # noqa: E731
    assert close_to_pass(before, [", 1", ")"], parses, after=after) == (0, ", 1))")
    assert close_to_pass(before, [" + '"], parses, after=after) == (-1, "))")
    # Nothing is open: nothing to try.
    assert close_to_pass("x = 1", ["+"], parses, after=after) is None


def test_close_to_pass_stops_after_its_budget_of_tests():
    calls = []
    assert close_to_pass("f(" * 10, [str(i) for i in range(20)], lambda fill: calls.append(fill) and False,
                         after="") is None
    assert len(calls) == MAX_TRIES and len(set(calls)) == MAX_TRIES


def test_only_the_brackets_the_cursor_is_inside_by_the_layout_are_owed():
    # Python: a call's `)` at the opener's indentation is the call's; the inner call is owed its own.
    assert owed("x = f(\n    a,\n    g(b", "\n)\n") == ")"
    assert owed("def f(x):\n    return g(h(x", "\n\ny = [1, 2]\n") == "))"
    # A `)` at the call's indentation that closes a bracket the cursor's line opens after it is that bracket's.
    assert owed("    y = f(\n        a\n    ", ").g(\n        b=1,\n    )\n    z = 2\n") == ")"
    # A JavaScript callback: `});` closes both the body and the call, and a line that begins with the body's `}`
    # (or `}, function () {`) goes on with the call.
    assert owed("foo(() => {\n  bar(x", "\n});\n") == ")"
    assert owed("foo(() => {\n  bar(x);\n", "") == "})"
    assert owed("foo(() => {\n  bar(x);\n}", "\nbaz();\n") == ")"
    assert owed("foo(function () {\n  a();\n}, function () {\n  b(", "") == ")})"
    # Tabs: the `)` at the call's indentation and the `}` after it are the call's and the function's.
    assert owed("func f() {\n\tx := g(\n\t\t1,\n\t\th(2", "\n\t)\n}\n") == ")"


def test_a_bracket_left_open_far_above_the_cursor_is_not_owed_there():
    clamp = "function clamp(x, lo, hi) {\n  if (x < lo) {\n    return lo;\n\n  return Math.min(x, hi);\n}\n"
    # In another function that the text after the cursor closes: nothing is owed, though `}` would make the file
    # parse (the function's own `}` then closing `clamp`).
    before = clamp + "\nfunction twice(y) {\n  return y * 2;"
    after = "\n}\n\nmodule.exports = { clamp, twice };\n"
    assert owed(before, after) == ""
    parses = lambda fill: is_parse_valid(before + fill + after, "javascript")  # noqa: E731
    assert parses("}")
    assert close_to_pass(before, [" // twice", ""], parses, after=after) is None
    # On a line back at the left margin, below the open `if`: only the call the line opens is owed.
    before = clamp + "\nconst y = twice(2"
    assert owed(before, "\n") == ")"
    parses = lambda fill: is_parse_valid(before + fill + "\n", "javascript")  # noqa: E731
    assert parses(")}") and close_to_pass(before, [""], parses, after="\n") is None
    # Python: a call left open above a later definition.
    assert owed("x = f(a,\n\ndef g():\n    return h(1", "\n") == ")"
    # Tabs: a brace left open in another function.
    go = "func a(x int) int {\n\tif x > 0 {\n\t\treturn 1\n\n\treturn 0\n}\n\nfunc b(s []int) int {\n\treturn len(s"
    assert owed(go + ")", "\n}\n") == ""


def test_a_scan_window_that_would_begin_inside_a_triple_quoted_string_begins_after_it():
    # The text before the hole is scanned from SCAN_CHARS back; begun inside the docstring, the scan read its
    # closing quotes as an opening and the brackets after them as a string's.
    docstring = '    """Counts.\n\n' + "    It's one line of many.\n" * (SCAN_CHARS // 20) + '    """\n'
    before = "def f(x):\n" + docstring + "    return g(h(x"
    assert len(before) > SCAN_CHARS
    assert list(closed_variants(before, [], after="\n\ny = 1\n")) == [(-1, ")"), (-1, "))")]


def test_a_go_short_variable_declaration_is_no_label():
    # `x := g(1` was read as a label (`x :`), whose line ends no block: the `if` above seemed to hold it.
    assert owed("func f() {\n\tif a {\n\t\tb()\n\n\tx := g(1", "\n") == ")"


def test_a_label_is_a_case_a_default_or_a_name_with_nothing_after_its_colon():
    for code in ("case 1:", "case 1: return 2;", "default:", "private:", "retry:  // again", "Loop:\r"):
        assert is_label(code), code
    # A property (`methods: {`, `name: 'shop',`) or an annotation is no label: its line ends a block as any other.
    for code in ("methods: {", "name: 'shop',", "x: int = 1", "x := 1", "std::cout;"):
        assert not is_label(code), code


def test_a_block_opened_on_the_line_is_owed_its_brace_unless_its_body_goes_on_below():
    before = "int f(int x) {\n    if (x) { foo(a"
    assert owed_on_line(before, "\n}\n") == ")}"
    assert owed_on_line(before, "\n    return 0;\n}\n") == ")}"
    # The next line of code is deeper than the cursor's: the block's body goes on there, its `}` after it.
    assert owed_on_line(before, "\n        bar();\n") == ")"
    assert owed_on_line(before, "\n\n        // why\n        bar();\n    }\n") == ")"
    assert owed_on_line(before, "\n    // why\n        bar();\n") == ")"  # a comment is no line of code
    assert owed_on_line("const p = {x: 1, y: f(2", "\n    z: 3,\n") == ")"


def test_variants_close_a_block_opened_on_the_line_where_the_code_below_stands_at_or_left_of_it():
    # Left open, the block would swallow the line below: the variants that leave its `{` open are not tried.
    before = "int f(int x) {\n    if (x) { return g(2"
    assert list(closed_variants(before, [], "\n    return 0;\n}\n", owing=owed_on_line, terminator=";")) == [
        (-1, ")}"), (-1, ")};"), (-1, "); }"), (-1, "); };")]
    assert list(closed_variants(before, [], "\n}\n", owing=owed_on_line)) == [(-1, ")}")]
    # Nothing below, or a deeper line: as the closers owed say.
    assert list(closed_variants(before, [], "", owing=owed_on_line)) == [(-1, ")"), (-1, ")}")]
    assert list(closed_variants(before, [], "\n        return 0;\n", owing=owed_on_line)) == [(-1, ")")]
    # A `{` opened on a line above, closed from a blank line at its column: as before.
    assert list(closed_variants("if (x) {\n    a();\n", [], "\nb();\n", owing=owed_on_line)) == [(-1, "}")]


def test_the_terminator_goes_before_the_first_brace_that_closes_a_block_and_after_them_all():
    def variants(line):
        return [text for _, text in closed_variants(line, [""], "\n}\n", owing=owed_on_line, terminator=";",
                                                    alone=False)]
    # A literal's `}` (after `=`, `(`, `,`) is no block's: the `;` goes before the `if`'s.
    assert ")}; }" in variants("    if (x) { int a[] = {1, f(2")
    assert ")}); }" in variants("    if (x) { v.push_back({1, f(2")
    # The statement around a lambda's or a callback's block owes its own `;` after the closers.
    assert "); };" in variants("    auto g = [&](int a) { return f(a")
    assert "); });" in variants("    std::sort(v.begin(), v.end(), [](int a, int b) { return f(a")
    assert "); });" in variants("        list.forEach(x -> { f(x")
    # A keyword's or a lambda's `{` right after it is a block's too; a type's (C++'s `Point{`) a literal's.
    assert "); }" in variants("    } else{ foo(a")
    assert "); };" in variants("    auto g = []{ return f(a")
    assert variants("    auto p = Point{1, f(2") == [")}", ")};"]
