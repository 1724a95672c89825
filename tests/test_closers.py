"""Closing what a fill leaves open (engine.closers): the brackets still open, and the variants tried in order."""

from __future__ import annotations

from engine.closers import MAX_TRIES, close_to_pass, closed_variants, still_open
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


def test_variants_try_the_fewest_closers_first_then_the_brackets_alone():
    before = "x = f(g(a, "
    assert list(closed_variants(before, ["b", "c)"])) == [
        (0, "b)"), (0, "b))"), (1, "c))"), (-1, ")"), (-1, "))")]


def test_close_to_pass_returns_the_first_variant_the_test_passes():
    before = "def f(x):\n    return g(h(x"
    after = "\n\ny = 1\n"
    parses = lambda fill: is_parse_valid(before + fill + after, "python")  # noqa: E731
    assert close_to_pass(before, [", 1", ")"], parses) == (0, ", 1))")
    assert close_to_pass(before, [" + '"], parses) == (-1, "))")
    # Nothing is open: nothing to try.
    assert close_to_pass("x = 1", ["+"], parses) is None


def test_close_to_pass_stops_after_its_budget_of_tests():
    calls = []
    assert close_to_pass("f(" * 10, [str(i) for i in range(20)], lambda fill: calls.append(fill) and False) is None
    assert len(calls) == MAX_TRIES and len(set(calls)) == MAX_TRIES
