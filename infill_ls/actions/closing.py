"""Close structure: the closers, bodies and fills that make the file parse again near the cursor."""

from __future__ import annotations

import ast
import functools
import math
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import replace

import tree_sitter

from engine.closers import OPENER_OF, PAIRS, is_label
from engine.lookup import COPIES_TESTED

from ..completion import around_hole
from ..suggestions import in_literal
from ..context import leading_whitespace
from ..documents import LINE_BREAK
from ..postprocess import indent_columns
from ..syntax import (LanguageSpec, ParsedSnapshot, Replacement, apply_replacements, code_end, empty_body_at,
                      expression_brace, grammar_bytes, iter_problems, parsed_after, problem_count, token_before,
                      tree_after)
from .edits import (NEAR_LINES, ActionEdit, ActionKind, Candidate, Mending, NoEdit, Request, candidate, choose_edit,
                    closes_here, infill_spans, leaves, merged_insertions, opener_line, own_lines, token_text, tokens,
                    walk, with_eol)
from .text_closers import open_quote_before, open_text_closers
from .type_arguments import type_argument_candidates

CLOSE_HOLE_TOKENS = 16


def nearest_problem(parsed: ParsedSnapshot, offset: int) -> tree_sitter.Node | None:
    """The ERROR or MISSING node closest to the cursor, if one is near it."""
    if parsed.tree is None:
        return None
    snap = parsed.snapshot
    cursor_line = snap.line_of(offset)
    cursor = snap.byte_offset(offset)
    nearest, distance = None, math.inf
    for node in iter_problems(parsed.tree.root_node):
        d = 0 if node.start_byte <= cursor <= node.end_byte else min(
            abs(node.start_byte - cursor), abs(node.end_byte - cursor)
        )
        lines = min(abs(node.start_point[0] - cursor_line), abs(node.end_point[0] - cursor_line))
        if lines <= NEAR_LINES and d < distance:
            nearest, distance = node, d
    return nearest


def problem_to_close(parsed: ParsedSnapshot, offset: int) -> tree_sitter.Node | None:
    """The parse problem Close structure mends: the nearest to the cursor (`nearest_problem`); where none is near, one
    far off whose top-level statement holds the cursor, where the layout shows what the lines up to the cursor's
    leave open (`_left_open_near`). A block's `}` deleted mid-function goes missing, for the parse, where the
    function ends, a hundred lines below; a Python header's `:`, where the parse takes the lines below in."""
    problem = nearest_problem(parsed, offset)
    if problem is not None or parsed.tree is None:
        return problem
    cursor, seen = parsed.snapshot.byte_offset(offset), set()
    for node in iter_problems(parsed.tree.root_node):
        region = top_level(node)
        if region.id not in seen and region.start_byte <= cursor <= region.end_byte:
            seen.add(region.id)
            if _left_open_near(parsed, region, offset):
                return node
    return None


def _left_open_near(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> bool:
    """Whether an opener of ``region`` on the cursor's line or one of the `NEAR_LINES` above it is still open, as
    the closers are matched to it by the layout (`_closed_by`, as `_unmatched` matches them), where its block ends as
    the text is laid out (`_layout_end`), that end on the cursor's line or within `NEAR_LINES` below it; or the
    cursor's line heads a body and lacks its `:` (`_heads_a_body`). The lines read end there: the action is asked for
    at each move of the cursor, and read to the end of the region, a wrapper's brace (a UMD module's) near the top
    was taken for left open by an odd layout thousands of lines below (200 ms a request, the edit far away)."""
    snap = parsed.snapshot
    line = snap.line_of(offset)
    line_end = snap.byte_offset(snap.line_end(line))
    window = snap.byte_offset(snap.line_starts[max(line - NEAR_LINES, 0)])
    last = snap.byte_offset(snap.line_end(min(line + NEAR_LINES, snap.line_count - 1)))
    near: dict[int, int] = {}  # the ids of the openers up to the cursor's line -> where each one's line ends
    # Opener's id -> the first byte of the line its block ends on; None where it ends out of reach, or above the
    # cursor's line: its closer is another place's to write (closed from here, a function's `}` went below the
    # namespace that follows it). Found only for an opener still open past its own line: a call's `(` most often
    # closes on it, and finding each one's end took 50 to 80 ms a request in a dense file.
    ends: dict[int, int | None] = {}
    # The bottom entry stands for the openers before the first line read: a closer that matches none read closes
    # one of those, and with it every one read that is still open.
    stack: list[tuple[tree_sitter.Node | None, int]] = [(None, -1)]

    def end_of(opener: tree_sitter.Node) -> int | None:
        if opener.id not in ends:
            end = _layout_end(parsed, opener, line + NEAR_LINES)
            ends[opener.id] = snap.byte_offset(snap.line_starts[end]) if end is not None and end >= line else None
        return ends[opener.id]

    def left_open(entries: list[tuple[tree_sitter.Node | None, int]], at: int | None = None) -> bool:
        for opener, _ in entries:
            if opener is None or opener.id not in near:
                continue
            if at is not None and at <= near[opener.id]:
                continue  # still on its own line, where its block has not ended
            end = end_of(opener)
            if end is not None and (at is None or end <= at):
                return True
        return False

    for node in tokens(region, window, last):
        if left_open(stack, node.start_byte):
            return True
        if node.start_byte >= line_end and not left_open(stack):
            break
        if node.type in PAIRS:
            columns, head = _construct_indent(parsed, node)
            stack.append((node, _goes_on_from(parsed, stack[1:], columns, head)))
            if node.start_byte < line_end:
                near[node.id] = snap.byte_offset(snap.line_end(opener_line(parsed, node)))
        elif node.type in OPENER_OF and _closes_a_bracket(node):
            index = _closed_by(snap.utf8, stack, node)
            if index is not None:
                if left_open(stack[index + 1:]):
                    return True
                del stack[max(index, 1):]
    else:
        if region.end_byte <= last and left_open(stack):
            return True  # the region ends with it open, before the end its layout gives
    end = code_end(parsed, line)
    return end > snap.line_starts[line] and not snap.text[:end].endswith(":") and \
        _heads_a_body(parsed, line, line) and not _opens_more_than_it_closes(parsed, line)


def _layout_end(parsed: ParsedSnapshot, opener: tree_sitter.Node, last: int) -> int | None:
    """The line, up to ``last``, that ends the block ``opener`` opens as the text is laid out (`_ends_block`, as
    `_ended_before` reads it): not a line of comment, nor one that goes on with a string, nor a line of the
    preprocessor (`#ifdef` at column 0 in a function), nor one that begins with a closer (it closes this block or
    one around it; `}(this, ...` closes a wrapper's function, not its call's `(`). None where none does by then, or
    where the block's lines stand at its header's column (`_flat_body`: a namespace's), which the layout does not
    end."""
    snap, spec = parsed.snapshot, parsed.spec
    if spec is None or _flat_body(parsed, opener):
        return None
    indent = indent_columns(_opener_indent(parsed, opener))
    stop = snap.byte_offset(snap.line_end(min(last, snap.line_count - 1)))
    for head, _ in _line_heads(parsed, opener.end_byte, stop):
        if head is None or head.type in OPENER_OF:
            continue
        if spec.directives and _line_head_text(parsed, head)[1].startswith("#"):
            continue
        if _ends_block(parsed, head, indent):
            return snap.line_of(snap.char_offset(head.start_byte))
    return None


def _opens_more_than_it_closes(parsed: ParsedSnapshot, line: int) -> bool:
    """Whether ``line`` holds more openers than closers: a header wrapped onto the next (`def total(self, values,`
    above `limit):`) ends there, with its `:`."""
    snap = parsed.snapshot
    start, end = snap.byte_offset(snap.line_starts[line]), snap.byte_offset(snap.line_end(line))
    opened = 0
    for token in tokens(parsed.tree.root_node, start, end):
        opened += (token.type in PAIRS) - (token.type in OPENER_OF)
    return opened > 0


def top_level(node: tree_sitter.Node) -> tree_sitter.Node:
    """The statement or definition at the top of the file that holds ``node``; the whole file where tree-sitter made
    its root an ERROR node: what it holds is then no longer split into statements."""
    while node.parent is not None and node.parent.parent is not None:
        node = node.parent
    if node.parent is not None and node.parent.is_error:
        return node.parent
    return node


def owed_openers(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int) -> list[tree_sitter.Node]:
    """The brackets to close at ``at``, innermost first: those still open there that nothing in the region closes
    (`_unmatched`), but for one whose block a line before ``at`` ends by the layout (`_ended_before`): that one
    is another place's to close (`_owed_elsewhere`)."""
    return _owed(parsed, *_unmatched(parsed, region, at), at)


def _owed(parsed: ParsedSnapshot, open_at: list[tree_sitter.Node], unmatched: set[int], at: int
          ) -> list[tree_sitter.Node]:
    return [o for o in reversed(open_at) if o.id in unmatched and not _ended_before(parsed, o, at)]


def _owed_elsewhere(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int) -> list[tree_sitter.Node]:
    """The brackets near ``at`` that nothing in the region closes and that are not owed at ``at``, innermost (the
    last opened) first: each is closed where its own block ends (`_close_own`)."""
    open_at, unmatched = _unmatched(parsed, region, at)
    owed = {o.id for o in _owed(parsed, open_at, unmatched, at)}
    line = parsed.snapshot.line_of(at)
    found = [o for o in leaves(region) if o.id in unmatched and o.id not in owed and
             abs(opener_line(parsed, o) - line) <= NEAR_LINES]
    return list(reversed(found))


def _unmatched(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int) -> tuple[list[tree_sitter.Node], set[int]]:
    """The brackets open at ``at`` (outermost first), and the ids of the region's openers that no closer closes. A
    closer closes an opener of its own kind, and with it those opened inside that are still open: one that begins
    its line (`}`, `});`) the innermost whose line is at or left of it, as the text is laid out; another the
    innermost. (A `}` taken for the unclosed call's `(` before it left the function's `{` owed where the call
    was; a `)` at a call's indentation taken for an inner call's left the outer call owed.)"""
    utf8 = parsed.snapshot.utf8
    at_byte = parsed.snapshot.byte_offset(at)
    stack: list[tuple[tree_sitter.Node, int]] = []  # (opener, columns of its line's indentation)
    open_at: list[tree_sitter.Node] | None = None
    openers, matched = [], set()
    for node in leaves(region):
        if open_at is None and node.start_byte >= at_byte:
            open_at = [o for o, _ in stack]
        if node.type in PAIRS:
            stack.append((node, _goes_on_from(parsed, stack, *_construct_indent(parsed, node))))
            openers.append(node)
        elif node.type in OPENER_OF and _closes_a_bracket(node):
            index = _closed_by(utf8, stack, node)
            if index is not None:
                matched.add(stack[index][0].id)
                del stack[index:]
    if open_at is None:
        open_at = [o for o, _ in stack]
    return open_at, {o.id for o in openers if o.id not in matched}


def _closed_by(utf8: bytes, stack: list[tuple[tree_sitter.Node | None, int]], closer: tree_sitter.Node) -> int | None:
    """The index in ``stack`` (of `_unmatched`) of the opener ``closer`` closes, as the text is laid out. An entry
    whose opener is None stands for the openers of every kind before those the stack holds."""
    kind = OPENER_OF[closer.type]
    columns, head = _indent_before(utf8, closer.start_byte)
    leading = not head.strip(b" \t)]}")
    of_kind = [i for i in range(len(stack) - 1, -1, -1) if stack[i][0] is None or stack[i][0].type == kind]
    return next((i for i in of_kind if not leading or stack[i][1] <= columns), of_kind[0] if of_kind else None)


_FIRST_WORD = re.compile(r"\}?[ \t]*(\w+)")


def _goes_on(parsed: ParsedSnapshot, code: str) -> bool:
    """Whether a line of ``code`` goes on with the statement of the block above it (after that block's `}`, or with
    it deleted): a word of the language's `after_body_words` begins it (`} else {`, `catch (e) {`; not C++'s
    `finally(...)`, a call). Such a line ends that block, though it stands a column right of it."""
    first = _FIRST_WORD.match(code)
    return first is not None and parsed.spec is not None and first.group(1) in parsed.spec.after_body_words


def _goes_on_from(parsed: ParsedSnapshot, stack: list[tuple[tree_sitter.Node, int]], columns: int,
                  head: bytes) -> int:
    """The indentation an opener's line counts with in `_unmatched`: that of the innermost `{` open before it
    where the line goes on with that block's statement (` else {` below `if (x) {`) a column right of it at most
    (so the `}` at the `if`'s indentation closes the `else`'s brace, and the `if`'s is owed); its own otherwise."""
    if not _goes_on(parsed, head.lstrip(b" \t").decode("utf-8", "replace")):
        return columns
    above = next((indent for o, indent in reversed(stack) if o.type == "{"), None)
    return above if above is not None and columns - 1 <= above <= columns else columns


def _indent_before(utf8: bytes, byte: int) -> tuple[int, bytes]:
    """(columns of the indentation of the line of ``byte``, the line's text before it)."""
    start = max(utf8.rfind(b"\n", 0, byte), utf8.rfind(b"\r", 0, byte)) + 1
    head = utf8[start:byte]
    return indent_columns(head[: len(head) - len(head.lstrip(b" \t"))].decode("ascii")), head


def _line_heads(parsed: ParsedSnapshot, start_byte: int, end_byte: int, comments: bool = False
                ) -> Iterator[tuple[tree_sitter.Node | None, tree_sitter.Node]]:
    """(the first token of its line or None, the token) for each token of code (with ``comments``, of a comment
    too) within the bytes, in order, from ``start_byte`` on a line of its own; a token that goes on a line another
    token ended on (after a string over several lines) heads none."""
    if parsed.tree is None or parsed.spec is None:
        return
    utf8 = parsed.snapshot.utf8
    previous_end = start_byte
    skipped = frozenset() if comments else parsed.spec.comment_types
    for token in tokens(parsed.tree.root_node, start_byte, end_byte, skipped):
        if token.end_byte == token.start_byte:
            continue
        gap = utf8[previous_end : token.start_byte]
        fresh = b"\n" in gap or b"\r" in gap
        previous_end = token.end_byte
        yield (token if fresh else None), token


def _line_head_text(parsed: ParsedSnapshot, head: tree_sitter.Node) -> tuple[int, str]:
    """(columns of indentation, the code from ``head`` on) of the line ``head`` begins."""
    utf8 = parsed.snapshot.utf8
    ends = [i for i in (utf8.find(b"\n", head.start_byte), utf8.find(b"\r", head.start_byte)) if i >= 0]
    code = utf8[head.start_byte : min(ends, default=len(utf8))].decode("utf-8", "replace")
    return _indent_before(utf8, head.start_byte)[0], code


def _ended_before(parsed: ParsedSnapshot, opener: tree_sitter.Node, at: int) -> bool:
    """Whether a line of code after the opener's and before ``at`` (the cursor's own, with code before it) ends
    the opener's block by the layout (`_ends_block`); one that begins with a closer only left of the opener's line
    (`} else {` goes on): the writer ended the block there (`total = sum(x` above `return total`)."""
    indent = indent_columns(_opener_indent(parsed, opener))
    flat = _flat_body(parsed, opener)
    for head, _ in _line_heads(parsed, opener.end_byte, parsed.snapshot.byte_offset(at)):
        if head is not None and (_line_head_text(parsed, head)[0] < indent if head.type in OPENER_OF
                                 else _ends_block(parsed, head, indent, flat)):
            return True
    return False


def _ends_block(parsed: ParsedSnapshot, head: tree_sitter.Node, indent: int, flat: bool = False) -> bool:
    """Whether the line ``head`` begins ends, as the text is laid out, a block whose opener's line is at ``indent``
    columns: it stands left of that line, or at it; or a column right of it where it goes on with the block's
    statement (` else {`, its `}` deleted). At it, a label (gofmt's `case` at its switch's indentation) and a
    body's brace (Allman's `{` below its header, its call's `(` still open) go on with the block, and so does any
    line of a ``flat`` body (`_flat_body`: a namespace's `void f() {` at the column of `namespace n {`); left of it,
    a label ends it too (`private:` ends a method)."""
    columns, code = _line_head_text(parsed, head)
    if _goes_on(parsed, code):
        return columns <= indent + 1
    if columns != indent:
        return columns < indent
    return not flat and not is_label(code) and not (head.type == "{" and _is_block_brace(parsed, head))


def _flat_body(parsed: ParsedSnapshot, opener: tree_sitter.Node) -> bool:
    """Whether ``opener`` is the `{` of a body whose lines stand at its header's column, as its first line does: the
    custom for some (a C++ namespace's, an `extern "C"` block's, a JavaScript module's wrapper `(function () {`), a
    writer's habit elsewhere (a Java class's members unindented). Such a line does not end the body, as it would by
    the layout (`_ends_block`): the body's first line ended it, the code below moved out of it. A `(` or `[` is
    judged by the `{` that ends its line (the wrapper's `(`), and is flat with it; else never (`f(a,` above a
    statement at its column was left open)."""
    snap = parsed.snapshot
    if parsed.tree is None:
        return False
    if opener.type != "{":
        line_end = snap.utf8.find(b"\n", opener.end_byte)
        last = None
        for last in tokens(parsed.tree.root_node, opener.end_byte, len(snap.utf8) if line_end < 0 else line_end,
                           parsed.spec.comment_types if parsed.spec is not None else frozenset()):
            pass
        return last is not None and last.type == "{" and _flat_body(parsed, last)
    first = next((head for head, _ in _line_heads(parsed, opener.end_byte, len(parsed.snapshot.utf8))
                  if head is not None), None)
    return first is not None and _line_head_text(parsed, first)[0] == indent_columns(_opener_indent(parsed, opener))


def _block_end(parsed: ParsedSnapshot, opener: tree_sitter.Node, at: int) -> int:
    """Where the block ``opener`` opens ends by the layout, from the line of ``at`` on: after the code of the last
    line below it that the block holds, before the first that ends it (`_ends_block`, or a closer at the opener's
    line); after the code of the line of ``at`` where there is none, or before that line where the cursor stands
    before the code of a line that ends it (` else {`, the `}` deleted before it). A body's closer put before
    such lines leaves the statements it holds outside it. A body's lines of comment count as its lines of code
    do: one at the body's depth is the body's (`// TODO` below its last statement); a bracket closes after code,
    never in a comment."""
    snap = parsed.snapshot
    point = max(at, _content_end(parsed, at))
    if _flat_body(parsed, opener):
        # Its lines stand at its header's column, so the layout tells nothing of where it ends: it closes where the
        # cursor stands (a namespace's `}` put after `int h() {` below closed `h` in `f`).
        return point
    indent = indent_columns(_opener_indent(parsed, opener))
    line = snap.line_of(at)
    start = snap.line_starts[line]
    if line and not snap.text[start:at].strip() and point > at:
        before = _line_heads(parsed, snap.byte_offset(start) - 1, snap.byte_offset(point))
        head = next(before, (None, None))[0]
        if head is not None and _ends_block(parsed, head, indent):
            previous = snap.line_starts[line - 1]
            return previous + len(snap.line_text(line - 1).rstrip())
    last = None
    comments = _is_block_brace(parsed, opener)
    for head, token in _line_heads(parsed, snap.byte_offset(point), len(snap.utf8), comments):
        if head is not None and (_ends_block(parsed, head, indent) or
                                 head.type in OPENER_OF and _line_head_text(parsed, head)[0] == indent):
            break
        last = token
    if last is None:
        return point
    line = snap.line_of(snap.char_offset(last.end_byte))
    return max(point, snap.line_starts[line] + len(snap.line_text(line).rstrip()))


def _closes_a_bracket(closer: tree_sitter.Node) -> bool:
    """Whether a closer closes one of `PAIRS`' brackets: not the `}` of a template's `${...}`, whose opener is
    another token (taken for a bracket's, it closed an open call's `(`), though it may under an ERROR node, where
    the grammar has split its opener off."""
    parent = closer.parent
    if parent is None or parent.is_error:
        return True
    opener = next(o for o, c in PAIRS.items() if c == closer.type)
    return any(child.type == opener for child in parent.children)


def _is_block_brace(parsed: ParsedSnapshot, opener: tree_sitter.Node) -> bool:
    """A `{` that opens a body. One that opens an expression or a list (`inline_brace_types`: an initializer list,
    an object) holds one line, and closes on it like a bracket."""
    spec = parsed.spec
    if opener.type != "{" or (spec is not None and "{" not in spec.block_openers):
        return False  # Python's braces are dicts, sets and f-strings' fields: all inline
    before = token_before(opener)
    if token_text(parsed, before) in _BODY_WORDS:
        return True  # tree-sitter-cpp reads `else {` without the `}` before it as a compound literal
    if spec is not None and before is not None and (before.type in spec.markup_text_types or (
            before.parent is not None and (before.parent.type in spec.markup_tag_types or
                                           before.parent.type in spec.markup_self_closing_types))):
        # Among markup's children (`<Provider>` above `{props.children`): an expression's, though an ERROR holds
        # it, where the grammar would read a `jsx_expression`, and closed as one, on its line.
        return False
    return spec is None or not (expression_brace(spec, opener) or _initialiser_brace(opener))


# Words a body's brace follows whatever the parse makes of the brace.
_BODY_WORDS = frozenset({"else", "try", "do", "finally"})


# What a type is in C++'s tree, where a `{` after one in an expression starts a value (`f(P{1, 2})`).
_TYPE_NODES = frozenset({"type_identifier", "template_type", "qualified_identifier", "primitive_type"})
# Tokens after which a type stands in an expression, not in a class's or an enum's header (`class X : B, C {`).
_EXPRESSION_TOKENS = frozenset({"(", "[", "=", "return"})


def _initialiser_brace(opener: tree_sitter.Node) -> bool:
    """A `{` that tree-sitter-cpp, while it is unclosed, reads as a body but that initialises a value: after a
    declarator with no parameter list (`names{"ada", "bob"`, read as the function `names`), or after a type in an
    expression (`f(P{1, 2`, an error). Closed as a body, on a line of its own, it no longer compiles."""
    holder = opener.parent
    if holder is None:
        return False
    if holder.is_error:
        kind = opener.prev_sibling
        before = kind.prev_sibling if kind is not None else None
        return kind is not None and kind.type in _TYPE_NODES and before is not None and \
            before.type in _EXPRESSION_TOKENS
    definition = holder.parent
    if definition is None or definition.type != "function_definition" or \
            _field(holder) != "body" or definition.child_by_field_name("declarator") is None:
        return False
    return not any(n.type == "parameter_list" for n in walk(definition.child_by_field_name("declarator")))


def _opener_indent(parsed: ParsedSnapshot, opener: tree_sitter.Node) -> str:
    return leading_whitespace(parsed.snapshot.line_text(_construct_line(parsed, opener)))


def _construct_indent(parsed: ParsedSnapshot, opener: tree_sitter.Node) -> tuple[int, bytes]:
    """`_indent_before` of the opener, measured on the line its construct begins (`_construct_line`): the whole of
    that line where it is another."""
    snap, line = parsed.snapshot, _construct_line(parsed, opener)
    if line == opener_line(parsed, opener):
        return _indent_before(snap.utf8, opener.start_byte)
    return _indent_before(snap.utf8, snap.byte_offset(snap.line_starts[line] + len(snap.line_text(line))))


def _construct_line(parsed: ParsedSnapshot, opener: tree_sitter.Node) -> int:
    """The line that begins the construct a `{` opens the body of: a header wrapped over lines (`if (a` above
    `        || b) {`, gofmt's `len(xs) == 0 {` below `if x == "" ||`) stands at its statement's indentation, not at
    its last line's continuation indent, which, taken for the brace's, matched the `}` of the block around it to
    the brace and closed the header's right after it, outside the statements it holds. The statement is the one
    the parse makes of the brace's body; where an ERROR holds the brace, the line that opens the brackets its own
    line closes before it (`        int b) {`). Every other opener's own line."""
    line = opener_line(parsed, opener)
    if opener.type != "{":
        return line
    snap, body = parsed.snapshot, opener.parent
    statement = body.parent if body is not None and not body.is_error else None
    if statement is not None and not statement.is_error and body.start_byte == opener.start_byte and \
            not _among_statements(parsed, statement):
        return min(line, snap.line_of(snap.char_offset(statement.start_byte)))
    if parsed.tree is None or parsed.spec is None:
        return line
    end, owed = opener.start_byte, 0  # closers on the lines seen that open on a line above
    while line:
        start = snap.byte_offset(snap.line_starts[line])
        for token in reversed(list(tokens(parsed.tree.root_node, start, end, parsed.spec.comment_types))):
            owed += (token.type in OPENER_OF) - (token.type in PAIRS)
            owed = max(owed, 0)
        if not owed:
            return line
        end, line = start, line - 1
    return line


def _among_statements(parsed: ParsedSnapshot, holder: tree_sitter.Node) -> bool:
    """Whether ``holder`` of a brace's body is a body itself (`LanguageSpec.body_types`): the body a block of its own
    among the statements, whose start is no header's. Where the parse takes a function whose `}` is missing to go on
    over the functions below, each of those is such a block, its header an ERROR before it: Go's `func (sc
    *socketContext) Done() {`, read at the indentation of the statements of the body it was taken into, matched the
    `}` of a function above, and the file was closed with a line copied from it."""
    return parsed.spec is not None and holder.type in parsed.spec.body_types


def _content_end(parsed: ParsedSnapshot, at: int) -> int:
    """Where the code of the line of ``at`` ends (`syntax.code_end`): before a comment that follows it on the line
    (`f(1, 2 // two`: the closers go before `//`; counted as code, they went after it, which put them on the next
    line, into the next statement); where its text ends on a line of no code."""
    snap = parsed.snapshot
    line = snap.line_of(at)
    end = code_end(parsed, line)
    return end if end > snap.line_starts[line] else snap.line_starts[line] + len(snap.line_text(line).rstrip())


def _statement_end(parsed: ParsedSnapshot, at: int, commas: bool) -> int:
    """Where the `;` (with ``commas``: also the `,`) that ends the text before ``at`` starts. A `,` there only ends
    the statement when the bracket opened on its line: in a list over several lines it separates the bracket's own
    items, and a closer before it would make the last item a tuple, or leave the rest of the list outside it."""
    text = parsed.snapshot.text
    start = at
    while start > 0 and (text[start - 1] == ";" or (commas and text[start - 1] == ",")):
        start -= 1
    return start


def _close_brackets(parsed: ParsedSnapshot, owed: list[tree_sitter.Node], at: int, terminator: str = "",
                    after_comma: bool = False) -> Replacement:
    """The brackets (innermost first, no body's brace among them) closed on the line, before a final `;` (and
    before a final `,` where the innermost opened on the line, but with ``after_comma``: a statement's outermost
    bracket holds it, `f(a,)`, where `f(a),` never parses); after a trailing comma of a list over several lines, or
    on a blank line (not one with text after it below items that began on the innermost's line), on a line of
    their own at the depth of the line that opens the innermost. `terminator` follows brackets closed on the line
    where the statement has none."""
    snap = parsed.snapshot
    closers = "".join(PAIRS[o.type] for o in owed)
    line = snap.line_of(at)
    on_line = opener_line(parsed, owed[0]) == line
    inline_at = _statement_end(parsed, at, commas=on_line and not after_comma)
    head = snap.text[snap.line_starts[line] : at]
    rest = snap.line_text(line)[at - snap.line_starts[line]:].strip()
    if line and not on_line and not head.strip() and (rest[:1] in OPENER_OF or
                                                      _below_items_begun_on_its_line(parsed, owed[0], at)):
        # The cursor stands in the indentation of a line that closes another bracket (`load(id` above `  }`), or on
        # a blank line below a bracket's items that began on its line: the closers go after the code above it, not
        # before the line's closer (`    )  }`), nor onto the blank line, which the file then lost (`use(x` `)`).
        above = _code_end_above(parsed, line)
        if above is not None:
            return _close_brackets(parsed, owed, above, terminator, after_comma)
    if not on_line and not head.strip():
        # The cursor begins its line (a blank one, or one the list's closer stands before): the closers go there,
        # and the statement's terminator after them where nothing follows on the line.
        rest_blank = not rest
        return Replacement(at, at, ("" if head else _opener_indent(parsed, owed[0])) + closers
                           + (terminator if rest_blank else ""))
    if not on_line and snap.text[:inline_at].rstrip().endswith(","):
        return own_lines(parsed, at, [_opener_indent(parsed, owed[0]) + closers + terminator])
    ended = snap.text.startswith(terminator, inline_at) if terminator else True
    return Replacement(inline_at, inline_at, closers + ("" if ended else terminator))


def _code_end_above(parsed: ParsedSnapshot, line: int) -> int | None:
    """Where the code of the last line above ``line`` that holds any ends (`syntax.code_end`); None where none does."""
    snap = parsed.snapshot
    return next((end for n in range(line - 1, -1, -1) for end in (code_end(parsed, n),)
                 if end > snap.line_starts[n]), None)


def _in_indentation(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int) -> int | None:
    """Where the code above ends (`_code_end_above`), where ``at`` stands in the indentation of a line of code (or
    at its start) that by the layout ends the innermost bracket owed there (no body's brace): the line stands at or
    left of the bracket's line. A place to close besides ``at``; which of the two the closers go at, the parse
    decides, ``at`` winning a tie: the line may go on with what holds the bracket (`    ),`, ` -> int:` where the
    parameters' `)` stood), or begin a statement of its own, before which a closer never parses (`  ]return xs;`),
    or that owes no closer at all, as a line that ends the bracket; and nothing was offered. A line that stands
    deeper holds the bracket's items."""
    snap = parsed.snapshot
    line = snap.line_of(at)
    start = snap.line_starts[line]
    if not line or snap.text[start:at].strip() or code_end(parsed, line) <= at:
        return None
    owed = owed_openers(parsed, region, at)
    if not owed or _is_block_brace(parsed, owed[0]) or \
            indent_columns(leading_whitespace(snap.line_text(line))) > indent_columns(_opener_indent(parsed, owed[0])):
        return None
    return _code_end_above(parsed, line)


def _below_items_begun_on_its_line(parsed: ParsedSnapshot, opener: tree_sitter.Node, at: int) -> bool:
    """Whether ``at`` stands on a blank line with text after it, below the items of ``opener`` where the first
    stands on its line (`use(x`): their closer goes after them, as from every other place. Where the opener ends
    its line, its closer stands on a line of its own, where the cursor is (black's `)` below the arguments)."""
    snap = parsed.snapshot
    line = snap.line_of(at)
    opener_end = snap.char_offset(opener.end_byte)
    return not snap.line_text(line).strip() and bool(snap.text[at:].strip()) and \
        _content_end(parsed, opener_end) > opener_end


def _close_blocks(parsed: ParsedSnapshot, owed: list[tree_sitter.Node], at: int, commas: bool,
                  terminator: str = "") -> list[Replacement]:
    """Braces (innermost first, from a body's), each on a line of its own where its block ends by the layout
    (`_block_end`): after the content of the line of ``at``, so that the rest of that line stays before them, or
    after the lines below that the block holds. The brackets that hold a brace close after its `}` (`});`),
    followed by the `;` that ends the statement before them: the call the brace was an argument of ends there
    too. `terminator` ends the outermost, where it has none (`struct P p = {` ... `};`)."""
    snap = parsed.snapshot
    groups: list[tuple[int, list[str]]] = []  # (where, the lines that go there)
    for opener in owed:
        if _is_block_brace(parsed, opener):
            point = max(_block_end(parsed, opener, at), groups[-1][0] if groups else 0)
            if not groups or groups[-1][0] != point:
                groups.append((point, []))
            groups[-1][1].append(_opener_indent(parsed, opener) + "}")
        else:
            groups[-1][1][-1] += PAIRS[opener.type]
    first = max(at, _content_end(parsed, at))
    fixes = []
    for point, lines in groups:
        code_end = len(snap.text[:point].rstrip())
        statement_end = snap.text[_statement_end(parsed, code_end, commas and point == first) : code_end]
        lines = [text if text.endswith("}") else text + statement_end for text in lines]
        if point == groups[-1][0] and terminator and not lines[-1].endswith(terminator):
            lines[-1] += terminator
        fixes.append(own_lines(parsed, point, lines))
    return fixes


def mechanical_fix(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int, terminator: str = "",
                   after_braces: str = "", also: list[tree_sitter.Node] | None = None, innermost: int | None = None,
                   after_comma: bool = False) -> list[Replacement]:
    """Close what is open at ``at`` without the model, innermost first: the brackets inside the innermost body's
    brace on the line (`_close_brackets`, followed by `terminator` where the statement has none; with
    ``after_comma``, after a `,` that ends the line), then the braces and the brackets around them (`_close_blocks`),
    each where its block ends, the outermost followed by `after_braces` (`};`, where the statement holds the braces:
    a lambda's body, a struct's). Where no bracket is owed inside the innermost brace, `terminator` ends the code of
    the line of ``at`` (`_end_statement`). Then the openers of ``also``, each where its own block ends
    (`_close_own`). With ``innermost``, only that many of those owed at ``at``."""
    open_at, unmatched = _unmatched(parsed, region, at)
    owed = _owed(parsed, open_at, unmatched, at)[:innermost]
    split = next((i for i, o in enumerate(owed) if _is_block_brace(parsed, o)), len(owed))
    fixes = []
    if split:
        after_comma = after_comma or not _held_in_a_bracket(parsed, open_at, owed[split - 1])
        fixes.append(_close_brackets(parsed, owed[:split], at, terminator, after_comma))
    elif owed and terminator:
        fixes.extend(_end_statement(parsed, owed[0], at, terminator))
    if split < len(owed):
        commas = opener_line(parsed, owed[0]) == parsed.snapshot.line_of(at)
        fixes.extend(_close_blocks(parsed, owed[split:], at, commas, after_braces))
        eol = parsed.snapshot.eol(at)
        if split and fixes[1].start < fixes[1].end == fixes[0].start:
            # The braces' first line takes the place of the blanks that the brackets closed on the cursor's blank
            # line go after (`own_lines`): one replacement, the brackets first.
            braces = fixes.pop(1)
            text = parsed.snapshot.text[braces.start : braces.end] + fixes[0].text + eol + braces.text
            fixes[0] = _unchanged_blanks_kept(parsed, Replacement(braces.start, braces.end, text))
        elif split and fixes[0].start == fixes[1].start and not fixes[0].text.endswith(eol) \
                and not fixes[1].text.startswith(eol):
            fixes[0] = replace(fixes[0], text=fixes[0].text + eol)  # the braces' lines start where the brackets end
    for opener in also or ():
        around = _unmatched(parsed, region, parsed.snapshot.char_offset(opener.end_byte))[0]
        fixes.extend(_close_own(parsed, opener, terminator, not _held_in_a_bracket(parsed, around, opener)))
    return merged_insertions(fixes)


def _held_in_a_bracket(parsed: ParsedSnapshot, open_at: list[tree_sitter.Node], opener: tree_sitter.Node) -> bool:
    """Whether a bracket of ``open_at`` (those open where ``opener`` closes, `_unmatched`) holds ``opener`` inside
    the innermost body's brace around it: a `,` that ends the opener's line then ends the item the opener is in
    (`a=f(1,` in `dict(`). Where none does, the `,` is the opener's own (`xs = [1, 2,`): closed before it, the
    statement became a tuple (Python's `xs = [1, 2],`), or a list of declarations."""
    before = [o for o in open_at if o.start_byte < opener.start_byte]
    braces = [i for i, o in enumerate(before) if _is_block_brace(parsed, o)]
    return any(not _is_block_brace(parsed, o) for o in before[braces[-1] + 1 if braces else 0 :])


def _unchanged_blanks_kept(parsed: ParsedSnapshot, fix: Replacement) -> Replacement:
    """``fix`` as an insertion where it begins with the blanks it replaces: the edit an editor shows is the text
    added."""
    blanks = parsed.snapshot.text[fix.start : fix.end]
    return Replacement(fix.end, fix.end, fix.text[len(blanks) :]) if fix.text.startswith(blanks) else fix


def _end_statement(parsed: ParsedSnapshot, brace: tree_sitter.Node, at: int, terminator: str) -> list[Replacement]:
    """``terminator`` after the code of the line of ``at``, a line of the block ``brace`` opens above it, where that
    code has none (`modified = true` at the end of the file, whose `;` went only after brackets closed on the
    line); none where the line holds no code."""
    snap = parsed.snapshot
    line = snap.line_of(at)
    end = code_end(parsed, line)
    if end == snap.line_starts[line] or opener_line(parsed, brace) >= line or snap.text[:end].endswith(terminator):
        return []
    return [Replacement(end, end, terminator)]


def _close_own(parsed: ParsedSnapshot, opener: tree_sitter.Node, terminator: str, after_comma: bool = False
               ) -> list[Replacement]:
    """``opener`` closed where its block ends by the layout (`_block_end`): a body's brace on a line of its own, a
    bracket after the code of its last line, followed by `terminator` where the statement has none (with
    ``after_comma``, after a `,` that ends the line: `_close_brackets`)."""
    opener_end = parsed.snapshot.char_offset(opener.end_byte)
    if _is_block_brace(parsed, opener):
        return _close_blocks(parsed, [opener], opener_end, False)
    return [_close_brackets(parsed, [opener], _block_end(parsed, opener, opener_end), terminator, after_comma)]


def _empties_a_body(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...], tree: tree_sitter.Tree | None
                    ) -> bool:
    """Whether a `;` the replacements add stands alone in a statement's body (`if (ready(x));`) in ``tree``, the
    text's once they are made: the parse takes it as an empty body, and with it the `if` does nothing (a `while`
    never ends)."""
    if tree is None:
        return False
    text = apply_replacements(parsed.snapshot.text, list(replacements))
    shift, added = 0, []
    for r in sorted(replacements, key=lambda r: r.start):
        start = r.start + shift
        added += [start + i for i, ch in enumerate(r.text) if ch == ";"]
        shift += len(r.text) - (r.end - r.start)
    for at in added:
        byte = len(text[:at].encode("utf-8", "surrogatepass"))
        if empty_body_at(tree, byte):
            return True
    return False


def _ends_a_macro_statement(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...],
                            tree: tree_sitter.Tree | None) -> bool:
    """Whether a replacement's last closer, in ``tree`` (the text's once they are made), ends a macro call with
    `(...)` or `[...]` that stands in a block before another statement with no `;` (`assert_eq!(x, 3)`): the
    parse takes it as a statement, rustc wants the `;`."""
    if tree is None or parsed.spec is None:
        return False
    text = apply_replacements(parsed.snapshot.text, list(replacements))
    shift = 0
    for r in sorted(replacements, key=lambda r: r.start):
        end = r.start + shift + len(r.text)
        shift += len(r.text) - (r.end - r.start)
        if not r.text.endswith((")", "]")):
            continue
        byte = len(text[:end].encode("utf-8", "surrogatepass"))
        closer = tree.root_node.descendant_for_byte_range(byte - 1, byte)
        arguments = closer.parent if closer is not None else None
        macro = arguments.parent if arguments is not None else None
        if macro is not None and macro.type == "macro_invocation" and arguments.end_byte == byte and \
                macro.parent is not None and macro.parent.type in parsed.spec.body_types and \
                _next_statement(macro, parsed.spec) is not None:
            return True
    return False


def _next_statement(node: tree_sitter.Node, spec: LanguageSpec) -> tree_sitter.Node | None:
    following = node.next_named_sibling
    while following is not None and following.type in spec.comment_types:
        following = following.next_named_sibling
    return following


def _field(node: tree_sitter.Node) -> str | None:
    """The field of its parent that ``node`` fills, if any."""
    parent = node.parent
    if parent is None:
        return None
    index = next((i for i, child in enumerate(parent.children) if child.id == node.id), None)
    return None if index is None else parent.field_name_for_child(index)


def _close_points(parsed: ParsedSnapshot, problem: tree_sitter.Node, region: tree_sitter.Node, offset: int
                  ) -> list[int]:
    """Where a closing fill may go: the cursor, the end of the cursor's line, the problem itself, and the end of the
    line that opens the innermost bracket still open there.

    The cursor comes first: tree-sitter often reports a missing closer after code that belongs outside it
    (``def f(x -> int:`` is missing its ``)`` before ``->``, not at the end of the line), and the cursor is where
    the user says the structure ends. An error that runs on over later lines (``return (y + 1`` followed by a
    ``def``) is best closed where its bracket opened: at the end of that line. Not where the bracket ends its line
    (``items = [`` and the items on the lines after): closed there, it would leave its items outside."""
    snap = parsed.snapshot
    problem_at = snap.char_offset(problem.start_byte if problem.is_missing else problem.end_byte)
    points = [offset, _content_end(parsed, offset), problem_at]
    owed = owed_openers(parsed, region, problem_at)
    if owed:
        opener_end = snap.char_offset(owed[0].end_byte)
        if _content_end(parsed, opener_end) > opener_end:
            points.append(_content_end(parsed, opener_end))
    return list(dict.fromkeys(points))


def _in_its_content(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> bool:
    """Whether ``offset`` stands between the items of the innermost bracket owed there, before the end of its line's
    code: right after the bracket, or beside a `,` (`compute(a, |b`, `foo(a|, b`), blanks between; and from the
    bracket (or the line's start, where it opened above) to that end, the code closes what it opens and nothing
    opened before it, so the rest of the line may be what the bracket holds. Not where the rest closes an outer
    bracket (`print([)`): the cursor is the place; nor where it opens a body (`while (n > 0 {`): its header's `)`
    goes before the brace (`_before_header_brace`); nor elsewhere in an item, where the rest of the line may go on
    with what holds the bracket (`firstEvent[1|[0]`, `getenv('HOME'| or home(),`); nor before a `,` that begins
    its line, where the closer stood (`        |),`)."""
    snap = parsed.snapshot
    owed = owed_openers(parsed, region, offset)
    end = _content_end(parsed, offset)
    if not owed or end <= offset or in_literal(parsed, offset):
        return False
    line_start = snap.line_starts[snap.line_of(offset)]
    opener_end = snap.char_offset(owed[0].end_byte)
    before = snap.text[max(opener_end, line_start) : offset].rstrip(" \t")
    if not (before.endswith(",") or before and snap.text[offset:end].lstrip(" \t").startswith(",") or
            opener_end >= line_start and not before):
        return False
    depth = 0
    for token in tokens(parsed.tree.root_node, snap.byte_offset(max(opener_end, line_start)), snap.byte_offset(end),
                         parsed.spec.comment_types):
        depth += (token.type in PAIRS) - (token.type in OPENER_OF)
        if depth < 0:
            return False
    return depth == 0


def _items_end(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int) -> int | None:
    """Where the items of the innermost bracket owed at ``at`` end by the layout (`_block_end`), where ``at`` ends the
    code of its line, that line ends with a `,` or with the bracket, and lines below it stand deeper than the
    bracket's line: after the code of the last of them. None where no item goes on below (`args = f(a,` above a
    line at its own indentation: the `,` ends the item the bracket is in)."""
    snap = parsed.snapshot
    line = snap.line_of(at)
    end = code_end(parsed, line)
    owed = owed_openers(parsed, region, at)
    if at < end or end == snap.line_starts[line] or not owed or _is_block_brace(parsed, owed[0]):
        return None
    if not snap.text[:end].endswith(",") and snap.char_offset(owed[0].end_byte) != end:
        return None
    last = _block_end(parsed, owed[0], end)
    return _content_end(parsed, last) if snap.line_of(last) > line else None


def _before_header_brace(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> int | None:
    """Before the `{` that ends the line of ``offset``, where a bracket the line opens is owed there: a header's
    (`for (x : xs {`), whose `)` goes before its body's brace; closed after it, it is inside the body. None where
    the line ends otherwise (tree-sitter-javascript names the `)` missing there; tree-sitter-java does not)."""
    snap = parsed.snapshot
    end = _content_end(parsed, offset)
    line = snap.line_of(offset)
    point = len(snap.text[: end - 1].rstrip())
    if not snap.text[:end].endswith("{") or point <= snap.line_starts[line]:
        return None
    owed = owed_openers(parsed, region, point)
    return point if any(o.type != "{" and opener_line(parsed, o) == line for o in owed) else None


def _then_closed(parsed: ParsedSnapshot, fixes: list[Replacement], offset: int, aim: int) -> list[Candidate]:
    """``fixes`` (what closes text left open: markup's tags, a literal's quote, `text_closers`) as a candidate; where
    the file still has an error with them, as many more with the closers then owed at the cursor
    (`_closer_candidates`, on the text with them): those that the open text held were no closers before (with its
    element open, the brackets around it, `return (` or a function's `{`, closed in the page's text, and none was
    owed)."""
    distance = min(abs(r.start - aim) for r in fixes)
    alone = candidate(parsed, tuple(fixes), 0.0, distance, 1)
    found = [alone]
    tree = tree_after(parsed, fixes) if alone.problems else None
    if tree is None:
        return found
    after = parsed_after(parsed, fixes, tree)
    moved = _moved(fixes, offset)
    problem = nearest_problem(after, moved)
    if problem is None:
        return found
    around = top_level(problem)
    others = _owed_elsewhere(after, around, moved)
    closers = [c for also in (([], others) if others else ([],))
               for c in _closer_candidates(after, around, moved, _moved(fixes, aim), also)]
    # A header's `:` after the string its line closes (`elif c != '\\` owes `':`).
    closers += _header_colons(after, [after.snapshot.line_of(moved)], _moved(fixes, aim))
    for c in closers:
        both = _with_fixes(fixes, c.replacements)
        if both is not None:
            found.append(Candidate(both, 0.0, c.problems, distance, 1))
    return found


def _moved(replacements: list[Replacement], at: int) -> int:
    """Where ``at`` stands once the replacements are made (after what they insert there)."""
    return at + sum(len(r.text) - (r.end - r.start) for r in replacements if r.end <= at)


def _with_fixes(first: list[Replacement], fixes: tuple[Replacement, ...]) -> tuple[Replacement, ...] | None:
    """``first`` and ``fixes`` (made on the text with ``first``) as one edit of the text without them, in the order
    the text with both has them; None where a fix goes into the text ``first`` wrote."""
    placed = []  # (where in the text with `first`, fixes before `first`'s there, the replacement in the text without)
    spans = []  # (start, end, shift before it) of each of `first`'s texts in the text with them
    shift = 0
    for r in sorted(first, key=lambda r: r.start):
        spans.append((r.start + shift, r.start + shift + len(r.text), shift))
        placed.append((r.start + shift, 1, r))
        shift += len(r.text) - (r.end - r.start)

    def back(at: int) -> int | None:
        for start, end, before in spans:
            if at <= start:
                return at - before
            if at < end:
                return None
        return at - shift

    for r in fixes:
        start, end = back(r.start), back(r.end)
        if start is None or end is None:
            return None
        placed.append((r.start, 0, Replacement(start, end, r.text)))
    return tuple(merged_insertions([r for _, _, r in sorted(placed, key=lambda p: p[:2])]))


def close_structure(parsed: ParsedSnapshot, offset: int, request: Request) -> ActionEdit | NoEdit:
    """Fill what is missing near the cursor (closers, bodies) so that the file parses.

    At each place a fill may go (`_close_points`), the closers the open brackets owe (and a Python header's `:`) come
    first: where one leaves the file parsing (but for what its other errors hold, `closes_here`), it is the edit.
    Only where none does are two more kinds of fill weighed with them: what the file (in a notebook, with the cells
    around it) spells out in the same surroundings, as completion offers it (`settings.file_lookup`), with confidence
    0, the most a mean log-probability can be; and the model's. None is an edit that leaves the problem nearest the
    cursor where it was (`edits.mends`), whatever it does to the file's other errors. On 100 held-out closing spans
    (seed 0), where the action was on offer, closers first restored the original in 72.6% of the files, at a median
    under 20 ms, no model run (the file's fill first where both parsed: 71.2%, 399 ms; the model alone where no
    closer parses: 65.8%; `python -m infill_ls.close_eval`, docs/evaluation.md). The files beside it are not
    searched: another file's close can name what this file does not (`def area(radius` closed as
    `def total(items: list[Item])`), and with them the same spans came back less often.
    """
    snap, settings = parsed.snapshot, request.settings
    problem = problem_to_close(parsed, offset)
    if problem is None:
        return NoEdit(f"no syntax error within {NEAR_LINES} lines of the cursor")
    region = top_level(problem)
    hole = min(settings.max_hole_tokens, CLOSE_HOLE_TOKENS)
    # Where the user says the structure ends, that the nearest fill wins: the cursor; but after the code of its
    # line where it stands in what the bracket holds there (`_in_its_content`). An editor's lightbulb sends the
    # cursor wherever it stands, and closed there the bracket left the rest of its content after it
    # (`values = [];add(1, 2), add(3, 4)`, `compute(a, );b`), which parses. The cursor stays a place to close:
    # where the rest of the line is no content (`Codec(.encode,`), only a closer there parses.
    # And where the items of the bracket closed there go on below its line (`_items_end`), after them: closed on
    # it, the bracket left them outside (`items = [` `"a",]` above `"b",`), which parses.
    aim = _content_end(parsed, offset) if _in_its_content(parsed, region, offset) else offset
    aim = _items_end(parsed, region, aim) or aim

    points = list(dict.fromkeys([*_close_points(parsed, problem, region, offset), aim]))
    closers: list[Candidate] = []
    for at in points:
        # The brackets owed at `at`; then those and the others the region leaves open near it, each closed where
        # its own block ends: two left open on two lines make one error, which closing either alone leaves. In a
        # line's indentation, the same after the code above too (`_in_indentation`).
        for place in dict.fromkeys(p for p in (at, _in_indentation(parsed, region, at)) if p is not None):
            others = _owed_elsewhere(parsed, region, place)
            for also in ([], others) if others else ([],):
                closers += _closer_candidates(parsed, region, place, aim, also)
    closers += _header_colons(parsed, (snap.line_of(at) for at in points), aim)
    header = _before_header_brace(parsed, region, offset)
    if header is not None:
        # Kept only where the file then parses: before the brace of a header that needs more than the `)` there
        # (Rust's `fn f(x: &[i32] -> i32 {`), the closer is no fix.
        also = _owed_elsewhere(parsed, region, header)
        closers += [c for c in _closer_candidates(parsed, region, header, aim, also) if c.parses]
    closers += type_argument_candidates(parsed, offset, aim)
    for fixes in open_text_closers(parsed, region, offset):
        closers += _then_closed(parsed, fixes, offset, aim)
    closers += _unclosed_far_off(parsed, region, aim)

    def refused(c: Candidate) -> bool:
        return _breaks_what_python_reads(parsed, c.replacements)

    # What closes, where that parses (in a file with another error, where it parses but for what that error holds,
    # `closes_here`: with an error in another function, `add(first, ` got the `second);` the file spells out): the
    # file's and the model's fills may say more than the user meant (a key the file never uses after `args[0`,
    # another method's return type after `def __str__(self`), and a fill as sure as a closer (a mean
    # log-probability of 0) tied with it. They are neither asked for nor weighed.
    mending = Mending(problem, offset)
    closed = [c for c in closers if c.parses] or [c for c in closers if closes_here(parsed, mending, c)]
    if closed:
        edit = choose_edit(ActionKind.CLOSE_STRUCTURE, parsed, closed, mending, refused=refused)
        if isinstance(edit, ActionEdit):
            return _ended_as_the_file_ends_statements(parsed, edit)
    fills: list[Candidate] = []

    def insert(at: int, fill: str, confidence: float, preference: int = 0) -> None:
        text = with_eol(fill.rstrip(), snap.eol(at))
        if text.strip():
            fills.append(candidate(parsed, (Replacement(at, at, text),), confidence, abs(at - aim), preference))

    for at in points:
        if settings.file_lookup:
            for c in request.engine.copies(*around_hole(snap.text, at, request.surroundings), max_tokens=hole,
                                           limit=COPIES_TESTED):
                insert(at, c.text, 0.0, 2)
        for c in infill_spans(parsed, [(at, at)], hole, request):
            insert(at, c.fills[0], c.confidence)
    missing = missing_tokens(parsed, region, offset)
    if missing:
        # Closers other than brackets (`>` of `Vec<i32`, a `:`) that the parse itself names, where it finds them
        # missing: the last resort, below every other fill that leaves the file as clean (the parse's guess takes
        # `Vec<Vec<i32` for `Vec<Vec<i32>` and a `>` later on, where the model's `>>` is right).
        tree = tree_after(parsed, list(missing))
        if not _empties_a_body(parsed, missing, tree):
            fills.append(Candidate(missing, LAST_RESORT, problem_count(tree), abs(missing[0].start - aim)))
    return choose_edit(ActionKind.CLOSE_STRUCTURE, parsed, closers + fills, mending, refused=refused)


def _ended_as_the_file_ends_statements(parsed: ParsedSnapshot, edit: ActionEdit) -> ActionEdit:
    """``edit`` (closers after which the file parses, or parses but for what its other errors hold), with the `;` a
    statement may go without
    (`LanguageSpec.optional_end_types`, JavaScript's) after its last closer, where that closer ends such a statement
    at the end of its line and the file ends most of its own with one (`_ends_its_statements`): `.edit('', undefined,
    true` closed as `true)` in a file whose other calls end `);`. Only where the `;` adds no syntax error to the file
    closed (with another error in it, the count was never none, and the `;` never came), and not where the next line
    goes on with the statement (`price(a` above `- discount;`)."""
    spec, snap = parsed.spec, parsed.snapshot
    if spec is None or not spec.optional_end_types or parsed.tree is None:
        return edit
    last = max(edit.replacements, key=lambda r: r.end)
    closer = last.text.rstrip(" \t")
    if not closer or closer[-1] not in ")]'\"" or snap.text[last.end:snap.line_end(snap.line_of(last.end))].strip():
        return edit
    shift = sum(len(r.text) - (r.end - r.start) for r in edit.replacements if r is not last and r.end <= last.start)
    at = last.start + shift + len(closer)  # where the `;` goes, in the text with the edit
    closed = parsed_after(parsed, edit.replacements)
    byte = closed.snapshot.byte_offset(at)
    statement = closed.tree.root_node.descendant_for_byte_range(byte - 1, byte)
    while statement is not None and statement.type not in spec.optional_end_types:
        statement = statement.parent
    if statement is None or statement.end_byte > byte:
        return edit  # the next line goes on with the statement (`price(a` above `- discount;`)
    ended = tuple(replace(r, text=closer + ";" + r.text[len(closer):]) if r is last else r for r in edit.replacements)
    tree = tree_after(parsed, list(ended))
    if problem_count(tree) > problem_count(closed.tree):
        return edit
    after = parsed_after(parsed, ended, tree)
    byte = after.snapshot.byte_offset(at)
    end = after.tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if end is None or end.type != ";" or end.parent is None or end.parent.type not in spec.optional_end_types:
        return edit
    return replace(edit, replacements=ended) if _ends_its_statements(after, end.parent) else edit


def _ends_its_statements(parsed: ParsedSnapshot, but: tree_sitter.Node) -> bool:
    """Whether the file ends four in five of its statements that may go without an end (of three or more, the first
    500 read; ``but`` aside) with one. Read in the text closed, where the statements around the error parse."""
    types, ended, seen = parsed.spec.optional_end_types, 0, 0
    for node in walk(parsed.tree.root_node):
        if node.type in types and node.id != but.id:
            seen += 1
            ended += node.children[-1].type == ";"
            if seen == 500:
                break
    return seen >= 3 and ended * 5 >= seen * 4


# The most openers left open far from the cursor that `_unclosed_far_off` closes at once.
FAR_OFF_OPENERS = 3


def _unclosed_far_off(parsed: ParsedSnapshot, region: tree_sitter.Node, aim: int) -> list[Candidate]:
    """The openers of ``region`` that no closer closes as the text is laid out (`_unmatched`), closed each where its
    own block ends (`_close_own`), as a candidate where the file then parses. A block's `}` deleted mid-function
    goes missing, for the parse, at the end of the file, where the function's own `}` was taken for it: closed there,
    the lines after the block, and every function below, moved into it."""
    unmatched = _unmatched(parsed, region, parsed.snapshot.char_offset(region.end_byte))[1]
    openers = [o for o in leaves(region) if o.id in unmatched]
    if not openers or len(openers) > FAR_OFF_OPENERS:
        return []
    found = []
    for terminator in dict.fromkeys(("", parsed.spec.statement_end)):
        fixes = tuple(merged_insertions([fix for opener in reversed(openers)
                                         for fix in _close_own(parsed, opener, terminator)]))
        if not fixes:
            continue
        tree = tree_after(parsed, list(fixes))
        if problem_count(tree):
            continue
        # A Rust macro statement closed without its `;` parses, and rustc refuses it.
        unended = not terminator and _ends_a_macro_statement(parsed, fixes, tree)
        found.append(Candidate(fixes, 0.0, 0, min(abs(r.start - aim) for r in fixes), 0 if unended else 1))
    return found


def _breaks_what_python_reads(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...]) -> bool:
    """Whether the language that reads its layout (`LanguageSpec.layout_error`, Python) reads the text with the
    replacements as broken on the lines they write, or indented wrong on the line after them, where it did not read
    that error there before: tree-sitter takes `trys` above an indented line for a statement and a block, CPython an
    unexpected indent. The whole text is read, as no cut of a file that does not compile yet reads as the file
    does; the parse alone (`ast`), not the compiler's checks, which a cell's top-level `await` fails. Where the text
    already failed before the lines written, that first error is the same, and the fill passes."""
    spec, snap = parsed.spec, parsed.snapshot
    if spec is None or spec.layout_error is None or not replacements:
        return False
    ordered = sorted(replacements, key=lambda r: r.start)
    after = _first_error(grammar_bytes(apply_replacements(snap.text, ordered).encode("utf-8", "surrogatepass"), spec))
    if after is None:
        return False
    line, message, indentation = after
    def added(r: Replacement) -> int:  # the lines a replacement adds
        return len(LINE_BREAK.findall(r.text)) - len(LINE_BREAK.findall(snap.text, r.start, r.end))

    written, shift = [], 0  # (first, last) line each replacement writes, in the text with them
    for r in ordered:
        first = snap.line_of(r.start) + shift
        written.append((first, first + len(LINE_BREAK.findall(r.text))))
        shift += added(r)
    if not any(first <= line <= last + indentation for first, last in written):
        return False
    before = _first_error(grammar_bytes(snap.utf8, spec))
    if before is None:
        return True
    moved = before[0] + sum(added(r) for r in ordered if snap.line_of(r.end) < before[0])
    return (moved, *before[1:]) != after



@functools.lru_cache(maxsize=16)
def _first_error(source: bytes) -> tuple[int, str, bool] | None:
    """(line, from 0; message; whether of the indentation) of the first error CPython's parser reads in
    ``source``; None where it reads none. Remembered: the text before every fill is read once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an invalid escape in a string is the user's own
        try:
            compile(source, "<closed>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as err:
            return (err.lineno or 1) - 1, err.msg, isinstance(err, IndentationError)
        except (ValueError, RecursionError, MemoryError):
            return None
    return None


def _closer_candidates(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int, offset: int,
                       also: list[tree_sitter.Node]) -> list[Candidate]:
    """The closers owed at ``at`` (`mechanical_fix`), with those of ``also`` each where its block ends, as
    candidates; and as many more with the `;`s their statements may owe, or the `,` after an object's member."""
    fixes, innermost = mechanical_fix(parsed, region, at, also=also), None
    tree = tree_after(parsed, fixes) if fixes else None
    while fixes and _closes_in_a_literal(parsed, tuple(fixes), tree):
        # A closer that lands in a string is the string's text (`}]` after `f"{i.name`, with the `[` before the
        # string taken for open): its opener and those around it are closed by the text after it.
        innermost = (len(owed_openers(parsed, region, at)) if innermost is None else innermost) - 1
        fixes, also = mechanical_fix(parsed, region, at, innermost=innermost) if innermost > 0 else [], []
        tree = tree_after(parsed, fixes) if fixes else None
    if not fixes:
        return []
    unended = _ends_a_macro_statement(parsed, tuple(fixes), tree)
    closed = Candidate(tuple(fixes), 0.0, problem_count(tree), abs(at - offset), 0 if unended else 1)
    candidates = [closed]
    # The statement the closers end may owe its `;` too (C, C++, Java, Rust: `LanguageSpec.statement_end`): after
    # the brackets on the line, after the braces around them, or both. Tried where the closers alone leave an error
    # (or a Rust macro statement without its `;`, which the parse takes and rustc does not), and kept as the parse
    # decides, but never as an empty body, nor before code on the line (`compute(a, );b` parses); the fewest first,
    # which wins a tie (C takes `};` after a function, an empty declaration). Then a Python header's `:`
    # (`_header_colon`). Last, a method's `}` in an object (`data() {` above `methods: {`) owes the `,` before the
    # next member.
    # Then the closers alone and each of those again with the brackets closed after a `,` that ends the line: a
    # statement's outermost bracket holds it (`f(a,)`; `f(a),` never parses); closed before it, one wins a tie.
    seen = [tuple(fixes)]
    if closed.problems and innermost is None:
        # Fewer of the brackets owed, the innermost: an opener the parse took for open after a closer went missing
        # (`queries || [` read as inside the `(` of a call above, closed as `])`) is none where the file with the
        # nearest alone parses.
        for fewer in range(1, len(owed_openers(parsed, region, at))):
            alone = tuple(mechanical_fix(parsed, region, at, innermost=fewer))
            if alone and alone not in seen:
                seen.append(alone)
                problems = problem_count(tree_after(parsed, list(alone)))
                if not problems:
                    candidates.append(Candidate(alone, 0.0, problems, abs(at - offset), 1))
    tried = [("", "")] + _terminators(parsed, region, at) if closed.problems or unended else []
    for after_comma, ends in [(False, ends) for ends in tried[1:]] + [(True, ends) for ends in tried]:
        ended = tuple(mechanical_fix(parsed, region, at, *ends, also=also, innermost=innermost,
                                     after_comma=after_comma))
        if ended in seen or _ends_before_code(parsed, ended, ends):
            continue
        seen.append(ended)
        tree = tree_after(parsed, list(ended))  # one parse, for all three tests
        if not _empties_a_body(parsed, ended, tree) and not _closes_in_a_literal(parsed, ended, tree):
            candidates.append(Candidate(ended, 0.0, problem_count(tree), abs(at - offset), 1))
    return candidates


def _terminators(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int) -> list[tuple[str, str]]:
    """The (after the brackets, after the braces) ends `_closer_candidates` tries, in order."""
    end = parsed.spec.statement_end if parsed.spec is not None else ""
    tried = [(end, ""), ("", end), (end, end)] if end else []
    return tried + ([(":", "")] if _header_colon(parsed, region, at) else []) + [("", ",")]


def _header_colon(parsed: ParsedSnapshot, region: tree_sitter.Node, at: int) -> bool:
    """Whether the closers at ``at`` end a body's header that owes its `:` (Python's `for i in range(len(xs)`): the
    line the outermost bracket owed there opened heads a body below the line of ``at`` (`_heads_a_body`). Whether
    the `:` is there already, the closers tell: one is added only where none follows them, and where nothing but a
    comment does (`_ends_before_code`)."""
    owed = owed_openers(parsed, region, at)
    return bool(owed) and _heads_a_body(parsed, opener_line(parsed, owed[-1]), parsed.snapshot.line_of(at))


def _heads_a_body(parsed: ParsedSnapshot, header_line: int, last_line: int) -> bool:
    """Whether ``header_line`` begins with a header's word (`LanguageSpec.header_words`) and the next line of code
    after ``last_line`` (where the header ends) is indented deeper than it, the body."""
    spec, snap = parsed.spec, parsed.snapshot
    if spec is None or not spec.header_words:
        return False
    header = snap.line_text(header_line)
    word = re.match(r"\s*([A-Za-z_]\w*)", header)
    if word is None or word.group(1) not in spec.header_words:
        return False
    below = next((snap.line_text(line) for line in range(last_line + 1, snap.line_count)
                  if code_end(parsed, line) > snap.line_starts[line]), None)
    return below is not None and \
        indent_columns(leading_whitespace(below)) > indent_columns(leading_whitespace(header))


def _header_colons(parsed: ParsedSnapshot, lines: Iterable[int], aim: int) -> list[Candidate]:
    """The `:` after the code of each of ``lines`` that heads a body (`_heads_a_body`) and does not end with one
    (`def area(radius)` above its body), kept as the parse decides. Where the header's brackets all close, no
    closer is owed to bring it (`_header_colon`)."""
    snap, found = parsed.snapshot, []
    for line in dict.fromkeys(lines):
        end = code_end(parsed, line)
        if end > snap.line_starts[line] and not snap.text[:end].endswith(":") and _heads_a_body(parsed, line, line):
            found.append(candidate(parsed, (Replacement(end, end, ":"),), 0.0, abs(end - aim), 1))
    return found


def _ends_before_code(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...], ends: tuple[str, str]) -> bool:
    """Whether a replacement that holds one of ``ends`` (a `;`, a `:`) is followed on its line by code: there it
    ends the statement before the rest of it (`compute(a, );b`). A method's `,` ends a line of its own."""
    snap = parsed.snapshot
    marks = [end for end in ends if end and end != ","]
    return any(any(mark in r.text for mark in marks) and code_end(parsed, snap.line_of(r.end)) > r.end
               for r in replacements)


def _closes_in_a_literal(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...],
                         tree: tree_sitter.Tree | None) -> bool:
    """Whether a closer the replacements insert is text of a string or a comment in ``tree``, the file's once they
    are made: `}]` after `f"{i.name` parses, with its `]` in the string; or goes after a quote that its line leaves
    open (`open_quote_before`), which tree-sitter-rust reads as no string: `foo("ada);`."""
    if tree is None or parsed.spec is None:
        return False
    if any(open_quote_before(parsed, r.start) for r in replacements if any(ch in OPENER_OF for ch in r.text)):
        return True
    after, shift = parsed_after(parsed, replacements, tree), 0
    for r in sorted(replacements, key=lambda r: r.start):
        start = r.start + shift
        shift += len(r.text) - (r.end - r.start)
        if any(ch in OPENER_OF and (in_literal(after, start + i + 1) or _in_markup_text(after, start + i))
               for i, ch in enumerate(r.text)):
            return True
    return False


def _in_markup_text(parsed: ParsedSnapshot, offset: int) -> bool:
    """Whether the character at ``offset`` is text of markup (JSX's between tags, `LanguageSpec.markup_types`),
    which the page shows: a `)` after `{todo}` there closes nothing."""
    text_types = parsed.spec.markup_text_types
    byte = parsed.snapshot.byte_offset(offset)
    node = parsed.tree.root_node.descendant_for_byte_range(byte, byte + 1) if text_types else None
    return node is not None and node.type in text_types


# The confidence of a fill no other beats (a model's mean log-probability is far above it).
LAST_RESORT = -1e9


def missing_tokens(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> tuple[Replacement, ...]:
    """The tokens tree-sitter reports MISSING in ``region`` on the line of ``offset`` (a `>`, a `)`, a `;`), each
    inserted where the parse expects it. A missing named node (an identifier, an expression) has no text to
    insert, and one on another line is the parse's guess about code the user is not at: both are left out."""
    snap = parsed.snapshot
    line = snap.line_of(offset)
    found = [Replacement(at, at, node.type) for node in iter_problems(region)
             if node.is_missing and not node.is_named
             for at in (snap.char_offset(node.start_byte),) if snap.line_of(at) == line]
    return tuple(merged_insertions(found))
