"""Close structure's closers for type arguments: `<` is also less-than, so the brackets' scan counts none, and the
parse names one missing `>` at most (`Vec<Vec<i32` got none)."""

from __future__ import annotations

import re
from dataclasses import replace

import tree_sitter

from engine.closers import OPENER_OF, PAIRS

from ..syntax import (ParsedSnapshot, Replacement, apply_replacements, code_end, problem_count, problems_after,
                      tree_after)
from .edits import Candidate, candidate, token_text, tokens


def type_argument_candidates(parsed: ParsedSnapshot, offset: int, aim: int) -> list[Candidate]:
    """The `>`s the type arguments left open on the line of ``offset`` owe (`type_argument_closers`), as near as
    ``aim`` (where Close structure aims) wherever it stands on their line; and, where they end the line, the same
    with the `;` the statement may owe, kept as the parse decides, after the `>`s alone, which win a tie."""
    angles = type_argument_closers(parsed, offset)
    if not angles:
        return []
    snap = parsed.snapshot
    line = snap.line_of(angles[0].start)
    closed = candidate(parsed, angles, 0.0, 0 if snap.line_of(aim) == line else abs(angles[0].start - aim))
    if not closed.problems or angles[-1].end != code_end(parsed, line):
        return [closed]
    # `let v: Vec<Vec<i32` at a line's end owes its `;`, as the closers' statements may.
    ended = (*angles[:-1], replace(angles[-1], text=angles[-1].text + ";"))
    tree = tree_after(parsed, list(ended))
    if not _declares(parsed, ended, tree):
        return [closed]
    return [closed, Candidate(ended, 0.0, problem_count(tree), closed.distance)]


def type_argument_closers(parsed: ParsedSnapshot, offset: int) -> tuple[Replacement, ...]:
    """A `>` for each `<` of type arguments left open on the line of ``offset``, wherever the cursor stands on it,
    after the type they hold (`_type_ends`): of the places that type may end, the first where the file is left with
    the fewest syntax errors (`Map<String, List<Integer m = new HashMap<>();` closed after `Integer`, `unsigned int`
    after `int`). At the cursor, the `>`s went into the declaration (`vec![];>>`) or split the type."""
    if parsed.tree is None or parsed.spec is None:
        return ()
    return tuple(min(places, key=lambda r: problems_after(parsed, [r]))
                 for places in _type_ends(parsed, parsed.snapshot.line_of(offset)))


# A `<` before one of these compared (`a<b && c`): they are no type's.
_COMPARING = frozenset({"&&", "||", "==", "!=", "===", "!==", "<=", ">="})
# The type in type arguments may end before a declarator (a name after it: `List<String names`), a `=` (or hold it:
# Rust binds an associated type, `Iterator<Item = u32`) or a `(` (a call's: `collect::<Vec<_()`, or a function
# type's: `std::function<void(int`); and does before a `;`, a `{` or a closer whose opener is before it.
_MAY_END = frozenset({"=", "("})
_ENDS = frozenset({";", "{", *OPENER_OF})
# What a type can end with, a name begin with, and a name end with.
_TYPE_END = re.compile(r"[\w>\]*&?)]$")
_NAME_START = re.compile(r"[^\W\d]|\$")
_NAME_END = re.compile(r"\w$")
# Places tried for one `<`'s type: each costs a parse.
MOST_TYPE_ENDS = 8


def _type_ends(parsed: ParsedSnapshot, line: int) -> list[list[Replacement]]:
    """For each run of type arguments left open on ``line``, the places their `>`s may go, in order. A `<` right
    after a name or `::` opens type arguments (`Vec<`, `std::vector<`, `collect::<`); a spaced one (`a < b`), or
    one a comparison's operator follows (`a<b && c`), compares. Tokens, not characters: a `<` in a string or a
    comment is none."""
    snap = parsed.snapshot
    start, end = snap.line_starts[line], code_end(parsed, line)
    runs: list[list[Replacement]] = []
    places: list[Replacement] = []
    opened, depth, previous = 0, 0, None
    for token in tokens(parsed.tree.root_node, snap.byte_offset(start), snap.byte_offset(end),
                         parsed.spec.comment_types):
        kind = token.type
        if opened and kind in _COMPARING:
            opened, depth, places = 0, 0, []
        elif opened and not depth and (kind in _ENDS or kind in _MAY_END or _declarator(parsed, previous, token)):
            places = [*places, _after(parsed, previous, opened)][:MOST_TYPE_ENDS]
            if kind in _ENDS:
                runs.append(places)
                opened, places = 0, []
        if kind == "<" and _opens_type_arguments(parsed, previous, token):
            opened += 1
        elif opened and kind in (">", ">>"):
            opened = max(0, opened - len(kind))
            depth, places = (depth, places) if opened else (0, [])
        elif opened and kind in PAIRS:
            depth += 1
        elif opened and kind in OPENER_OF:
            depth = max(0, depth - 1)
        previous = token
    if opened:
        runs.append([*places, _after(parsed, previous, opened)][:MOST_TYPE_ENDS])
    return runs


def _opens_type_arguments(parsed: ParsedSnapshot, previous: tree_sitter.Node | None, token: tree_sitter.Node
                          ) -> bool:
    """Whether the `<` ``token`` opens type arguments: right after a name or `::`. The parse is no judge: with
    the `>` missing, it reads the `<` of `List<List<String names` as a comparison."""
    if previous is None or previous.end_byte != token.start_byte:
        return False
    return previous.type == "::" or bool(_NAME_END.search(token_text(parsed, previous)))


def _declarator(parsed: ParsedSnapshot, previous: tree_sitter.Node | None, token: tree_sitter.Node) -> bool:
    """Whether ``token`` may be the name a declaration gives after its type (`Integer m`, `char* v`): a name,
    spaced from a token that can end a type."""
    return previous is not None and previous.end_byte < token.start_byte and \
        bool(_NAME_START.match(token_text(parsed, token))) and \
        bool(_TYPE_END.search(token_text(parsed, previous)))


def _after(parsed: ParsedSnapshot, token: tree_sitter.Node, opened: int) -> Replacement:
    at = parsed.snapshot.char_offset(token.end_byte)
    return Replacement(at, at, ">" * opened)



def _declares(parsed: ParsedSnapshot, ended: tuple[Replacement, ...], tree: tree_sitter.Tree | None) -> bool:
    """Whether the `;` at the end of the last of ``ended`` (in document order) ends, in ``tree``, a statement of
    more than the type it closes (`let v: Vec<Vec<i32>>;`, `using A = std::vector<int>;`): a type alone
    (`std::map<int, int>;`) parses as a statement, but declares nothing, and compilers refuse it."""
    if tree is None:
        return False
    text = apply_replacements(parsed.snapshot.text, list(ended))
    last = ended[-1]
    shift = sum(len(r.text) - (r.end - r.start) for r in ended[:-1])
    byte = len(text[:last.start + shift + len(last.text) - 1].encode("utf-8", "surrogatepass"))
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    return node is not None and node.type == ";" and not node.is_missing and node.parent is not None and \
        node.parent.named_child_count > 1
