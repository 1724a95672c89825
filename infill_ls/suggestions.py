"""Suggestions, and what one is held to before the editor is shown it: the file parses with it, or, where it cannot
yet, the lines at the cursor are mended and no error is added elsewhere (`parsing_first`); no function beside it is
declared again (`redeclares`); and, where nothing offered keeps the file parsing, one closed with the brackets and
the `;` its line owes comes first. Plain functions over a parsed snapshot: no model, no protocol."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from engine.closers import (CLOSERS, OPENER_OF, PAIRS, SCAN_CHARS, TAB_WIDTH, brackets_in_code, close_to_pass,
                            indent_width, open_brackets, owed_below, owed_on_line, scan_window, still_open)

from .syntax import (BODY_FIELDS, LanguageSpec, ParsedSnapshot, Replacement, adds_errors, apply_replacements,
                     code_end, empty_body_at, error_nodes, iter_problems, reserved_names, token_before,
                     tree_after)

if TYPE_CHECKING:
    import tree_sitter

# What the quote scan of a `#define`'s body (`_open_literal`) steps over whole: a comment; a number, C++14's and
# C23's digit separators in it (`1'000'000`); a name (`u8` of `u8'a'`); and a literal, closed or not, where a `\`
# escapes the character after it (a quote, a continued line's end).
_BODY_TOKEN = re.compile(r"""//[^\n]*|/\*.*?(?:\*/|\Z)|\.?\d(?:[eEpP][+-]|'?[\w.])*|\w+"""
                         r"""|(?P<quote>["'])(?:\\.|(?!(?P=quote))[^\\])*(?P<closed>(?P=quote))?""", re.DOTALL)


# A letter, digit or `_` of any script: a cursor before one stands inside a word.
WORD_CHARACTER = re.compile(r"\w")
# A word of code: a keyword, a name.
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: int  # code-point offsets in the snapshot the suggestion was made for
    end: int
    confidence: float
    # or "file" / "beside": spelled out elsewhere in the file / in a file beside it (Candidate); "closers": the
    # brackets still open before the cursor alone (`parsing_first`)
    source: str = "model"


def syntax_checked(parsed: ParsedSnapshot) -> bool:
    """Whether suggestions for the snapshot are held up to a parser: not in plain text (a language with no
    grammar here, or a file past `syntax.PARSED_CHARS`)."""
    return parsed.tree is not None


def _literal_at(parsed: ParsedSnapshot, offset: int) -> str | None:
    """The type of the string literal or comment ``offset`` stands inside (at the end of a line comment too); None
    in code, code inside one (`LanguageSpec.code_in_literal_types`) included."""
    return _literal_at_byte(parsed.tree, parsed.spec, parsed.snapshot.byte_offset(offset))


def _literal_at_byte(tree: tree_sitter.Tree, spec: LanguageSpec, byte: int) -> str | None:
    """`_literal_at` for a byte of ``tree``."""
    node = tree.root_node.descendant_for_byte_range(max(byte - 1, 0), byte)
    while node is not None:
        if node.type in spec.code_in_literal_types:
            return None
        if node.start_byte < byte and (
                (node.type in spec.literal_types and byte < node.end_byte)
                or (node.type in spec.comment_types
                    and (byte < node.end_byte or not node.text.endswith((b"*/", b"\n"))))):
            return node.type
        node = node.parent
    return None


def in_literal(parsed: ParsedSnapshot, offset: int) -> bool:
    """Whether ``offset`` stands inside a string literal or a comment (`_literal_at`): there the closers' scan,
    which reads the string cut at the cursor as unclosed, counts the brackets before it as open, and a closer
    inserted would be text of the string."""
    return _literal_at(parsed, offset) is not None


def in_comment(parsed: ParsedSnapshot, offset: int) -> bool:
    """Whether ``offset`` stands inside a comment (`_literal_at`), where anything keeps the file parsing: no test of
    a fill. Never in plain text (`syntax_checked`)."""
    return syntax_checked(parsed) and _literal_at(parsed, offset) in parsed.spec.comment_types


def _near(parsed: ParsedSnapshot, offset: int) -> tuple[int, int]:
    """The bytes from the start of the line of code before the cursor's line to the end of the one after it."""
    snap = parsed.snapshot
    line = snap.line_of(offset)
    first, last = line - 1, line + 1
    while first > 0 and not snap.line_text(first).strip():
        first -= 1
    while last < snap.line_count - 1 and not snap.line_text(last).strip():
        last += 1
    return (snap.byte_offset(snap.line_starts[max(first, 0)]),
            snap.byte_offset(snap.line_end(min(last, snap.line_count - 1))))


def error_near(parsed: ParsedSnapshot, offset: int) -> bool:
    """Whether the file as it stands has a syntax error (`iter_problems`) on the cursor's line or the lines of code
    next to it (`_near`), where closers at the cursor can mend it: a parser reports an unclosed call at the code
    that follows it, and a block's missing `}` at the end of the code before a blank line."""
    root = parsed.tree.root_node
    if not root.has_error:
        return False
    lo, hi = _near(parsed, offset)
    return any(node.start_byte <= hi and lo <= node.end_byte for node in iter_problems(root))


def _ends_signature(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` ends a function's declaration without its body
    (`LanguageSpec.signature_types`, the declaration or one of its declarators): `int main();` parses, as a
    prototype, while its header is typed. Not in a function's body, where C++ reads a local that a constructor
    builds (`Widget w(x);`) as one."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type != ";" or node.parent is None:
        return False
    held = declarator = node.parent
    while declarator is not None and declarator.type not in spec.signature_types:
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None:
        return False
    outer = held.parent
    while outer is not None and outer.type not in spec.function_types:
        outer = outer.parent
    return outer is None


def _mends(parsed: ParsedSnapshot, offset: int, body: tuple[int, int] | None,
           should_stop: Callable[[], bool] | None) -> Callable[..., bool]:
    """The test of a text at ``offset`` that `parsing_first` ranks and closes by: the file parses with it; or, where it
    cannot yet (a body whose `}` is written later, an error far away), the syntax errors near the cursor
    (`error_near`) are gone, none but a body's missing `}` left there (`error_nodes`), none is added elsewhere
    (`adds_errors`), and no bracket opened on the cursor's line takes a closer the layout gives to a block around it
    (`_closer_left_below`). Where that fails, the same with the `}`s the statement's bodies still owe put on a line
    below it (`engine.closers.owed_below`): tree-sitter-rust reads a body left open as one ERROR from the file's
    start, where the other grammars invent its `}`. Never with a `;` that makes a header's body empty, ends a
    function's value or follows an item (`_misplaced_semicolon`) or ends a function's header (`_ends_signature`),
    nor with a closer that ends a statement the `;` is still owed (`_owes_statement_end`), nor where the parse
    invents a closer in the text or right before code after it on the line (`_invents_closer`: tree-sitter-rust's
    match `}` before `f(v);`); with ``closing`` (the text ends in closers `parsing_first` added), never where its end
    is text of a string or a comment; with it, or where the text is closers alone (`_closers_alone`: the model's
    `)`), never where the statement owes its `;` (`_terminator`) and the parse runs the closer on into the statement
    on a line below (`_runs_on`). In a `#define`'s body (``body``: `_macro_body`'s answer), only where the body's
    brackets are balanced too, and with ``closing`` never where the body before the cursor and the text leave a
    string or a character literal open (`_open_literal`). The scans read the cursor's line up to `SCAN_CHARS` either
    side of it."""
    near = _near(parsed, offset) if error_near(parsed, offset) else None
    snap, spec = parsed.snapshot, parsed.spec
    start = snap.byte_offset(offset)
    line_start, line_end = snap.line_starts[snap.line_of(offset)], snap.line_end(snap.line_of(offset))
    before_on_line = snap.text[max(line_start, offset - SCAN_CHARS):offset]
    after_on_line = snap.text[offset:min(line_end, offset + SCAN_CHARS)]
    literal = _open_literal(snap.text[body[0]:offset]) if body is not None else ""  # each text is scanned after it
    left_below = _closer_left_below(parsed, offset)
    line_start_byte = snap.byte_offset(line_start)
    row = snap.line_of(offset)
    owes_end = body is None and bool(_terminator(parsed, offset))
    code_after = bool(after_on_line.strip())

    def runs_on(tree: tree_sitter.Tree, text: str, last: int) -> bool:
        """Whether the closer at ``last`` joins its statement to a line below that is a statement of its own: one at
        or left of the cursor's line, or one that begins with a name at or left of where the statement begins
        (`if (x) { foo(a` above `        bar();`). A line that goes on with it stands deeper, or begins with an
        operator (`int f(int x) { return g(x` above `    + 1;`)."""
        joined = _runs_on(tree, last, spec, row)
        if joined is None:
            return False
        statement, following = joined
        line = snap.line_text(following.start_point.row - text.count("\n"))
        begins = snap.line_text(row).encode("utf-8", "surrogatepass")[:statement.start_point.column]
        return indent_width(line) <= indent_width(snap.line_text(row)) or (
            indent_width(line) <= len(begins.decode("utf-8", "replace").expandtabs(TAB_WIDTH))
            and WORD_CHARACTER.match(line.lstrip(" \t")) is not None)

    def rejected(tree: tree_sitter.Tree, text: str, closing: bool) -> bool:
        last = start + len(text.encode("utf-8", "surrogatepass")) - 1  # the byte of the text's last character
        if closing and _literal_at_byte(tree, spec, last + 1) is not None:
            return True  # `",\)"`: the `\` typed escaped the string's quote, and the string runs on past the cursor
        if _invents_closer(tree, start, last + 1 if code_after else last):
            return True
        if text.endswith(";"):
            return _misplaced_semicolon(tree, last, spec) or _ends_signature(tree, last, spec)
        if (owes_end and ((closing and text.endswith(tuple(CLOSERS))) or _closers_alone(text))
                and runs_on(tree, text, last)):
            return True  # `free(buf)` above `buf = NULL;`: read as a declaration, it parses without its `;`
        return text.endswith((")", "]")) and _owes_statement_end(tree, last, spec)

    def passes(edit: list[Replacement], text: str, closing: bool) -> bool:
        """Whether the file mends with ``edit``, which puts ``text`` at ``offset``."""
        tree = tree_after(parsed, edit, should_stop)
        if rejected(tree, text, closing):
            return False
        if not tree.root_node.has_error:
            return True
        if near is None:
            return False
        grown = sum(len(r.text.encode("utf-8", "surrogatepass")) - snap.byte_offset(r.end) + snap.byte_offset(r.start)
                    for r in edit)
        if left_below is not None and _closes_from(tree, left_below + grown, line_start_byte):
            return False  # the function's `}` closes the literal (`Point{X: 1, Y: f(2)`); one is invented for it
        lo, hi = near[0], near[1] + grown
        if any(node.start_byte <= hi and lo <= node.end_byte for node in error_nodes(tree, spec)):
            return False
        return not adds_errors(parsed, edit, should_stop)

    def mends(text: str, closing: bool = False) -> bool:
        if body is not None:
            if closing and _open_literal(literal + text):
                return False  # the closers would be a literal's text
            balanced = not still_open(snap.text[max(body[0], offset - SCAN_CHARS):offset] + text
                                      + snap.text[offset:min(body[1], offset + SCAN_CHARS)],
                                      line_comments=spec.line_comments)
            return balanced and passes([Replacement(offset, offset, text)], text, closing)
        if passes([Replacement(offset, offset, text)], text, closing):
            return True
        line = before_on_line + text + after_on_line
        if near is None or still_open(line, line_comments=spec.line_comments).strip("}"):
            return False  # the line still owes a bracket of its own (a cheap scan spares the whole window's)
        below = _with_rules(owed_below, spec)(snap.text[max(line_start - 2 * SCAN_CHARS, 0):line_start] + line,
                                              snap.text[line_end:line_end + SCAN_CHARS])
        return bool(below) and passes([Replacement(offset, line_end, f"{text}{snap.text[offset:line_end]}\n{below}")],
                                      text, closing)

    return mends


def _macro_body(parsed: ParsedSnapshot, offset: int) -> tuple[int, int] | None:
    """The span (code-point offsets) of the `#define` body (`LanguageSpec.macro_body_type`) that ``offset`` stands
    in, past its first character; None elsewhere."""
    snap, spec = parsed.snapshot, parsed.spec
    if not spec.macro_types:
        return None
    byte = snap.byte_offset(offset)
    node = parsed.tree.root_node.descendant_for_byte_range(max(byte - 1, 0), byte)
    while node is not None and node.type != spec.macro_body_type:
        node = node.parent
    if node is None or node.parent is None or node.parent.type not in spec.macro_types or node.start_byte >= byte:
        return None
    return snap.char_offset(node.start_byte), snap.char_offset(node.end_byte)


def _open_literal(code: str) -> str:
    """The string or character literal, from its quote, that ``code`` (a `#define`'s body cut at the cursor) leaves
    open (`_BODY_TOKEN`); "" where it leaves none: tree-sitter keeps the body as text, so its parse cannot tell.
    The scan needs the body from its start, as one that began inside a literal would take its end for an opening."""
    for token in _BODY_TOKEN.finditer(code):
        if token["quote"] and not token["closed"]:
            return code[token.start():]
    return ""


def _closer_left_below(parsed: ParsedSnapshot, offset: int) -> int | None:
    """The byte of the closer that begins the first line of code below the cursor's, where that line stands left
    of the cursor's (a function's `}` under `p := Point{X: 1, Y: f(2`): as the text is laid out, it closes a block
    around the cursor's line, never a bracket opened on it. None where the line below is no such line."""
    snap = parsed.snapshot
    line = snap.line_of(offset)
    indent = indent_width(snap.line_text(line))
    for below in range(line + 1, snap.line_count):
        text = snap.line_text(below)
        if not text.strip():
            continue
        code = text.lstrip(" \t")
        if code[:1] not in CLOSERS or indent_width(text) >= indent:
            return None
        return snap.byte_offset(snap.line_starts[below] + len(text) - len(code))
    return None


def _closes_from(tree: tree_sitter.Tree, byte: int, line_start_byte: int) -> bool:
    """Whether the closer at ``byte`` of ``tree`` ends a node that begins on the cursor's line (at
    ``line_start_byte``) or after it."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    return (node is not None and node.type in CLOSERS and not node.is_missing and node.parent is not None
            and node.parent.start_byte >= line_start_byte)


def _closers_alone(text: str) -> bool:
    """Whether ``text`` is closers and nothing else (`)`, `)]`)."""
    return bool(text) and all(ch in CLOSERS for ch in text)


def _invents_closer(tree: tree_sitter.Tree, first: int, last: int) -> bool:
    """Whether the parse of ``tree`` invents a closer (a MISSING one) from byte ``first`` to ``last``: a `}` missing
    there is none that a body's lines below are still to write, but one the text leaves open on its line."""
    return any(node.is_missing and node.type in CLOSERS and first <= node.start_byte <= last
               for node in iter_problems(tree.root_node))


def _runs_on(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec,
             row: int) -> tuple[tree_sitter.Node, tree_sitter.Node] | None:
    """The statement begun on ``row`` (the cursor's) that the parse runs on, after the closer at ``byte`` of
    ``tree``, into a line below, and the node there that it joins to it: tree-sitter-c reads `free(buf)` above
    `buf = NULL;` as a declaration of `buf` with a macro's type, and `f(x)` above `*p = 1;` as a product. None
    where the closer ends its statement, or what follows is the body of a header (`BODY_FIELDS`: `while (f(a))`
    above `{`, `int main()` above `{`) or closes a bracket around it."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type not in CLOSERS:
        return None
    while node.parent is not None and node.parent.end_byte == node.end_byte:
        node = node.parent  # the largest node the closer ends
    parent, following = node.parent, node.next_sibling
    while following is not None and following.type in spec.comment_types:
        following = following.next_sibling
    if (parent is None or parent.type in spec.body_types or following is None or following.is_missing
            or following.start_point.row <= node.end_point.row or following.type in CLOSERS
            or following.type in spec.body_types
            or any(child.id == following.id and parent.field_name_for_child(i) in BODY_FIELDS
                   for i, child in enumerate(parent.children))):
        return None
    statement = parent
    while statement.parent is not None and statement.parent.type not in spec.body_types:
        statement = statement.parent
    return (statement, following) if statement.start_point.row == row else None


def _owes_statement_end(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec) -> bool:
    """Whether the closer at ``byte`` of ``tree`` ends a `(` or `[` call of a macro whose value is `()`
    (`LanguageSpec.unit_macros`: `println!("{}", x)`) that a block holds as a statement without the `;` it owes
    (`LanguageSpec.statement_end`): tree-sitter-rust reads one so whether or not the `;` follows, but Rust wants
    it before another statement, and a call that ends a body whose value is `()` (a function with no return type,
    a loop's: `_unit_body`) is a statement too. Not a block's value, an argument or a `let`'s value, nor another
    macro's call (`write!(f, "[")?`, `vec![1, 2].iter()`)."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if not spec.unit_macros or node is None or node.type not in (")", "]") or node.next_sibling is not None:
        return False
    tokens = node.parent
    call = tokens.parent if tokens is not None and tokens.type == "token_tree" else None
    if call is None or call.type != "macro_invocation" or call.parent is None or call.parent.type != "block":
        return False
    if _macro_name(call) not in spec.unit_macros:
        return False
    following = call.next_named_sibling
    while following is not None and following.type in spec.comment_types:
        following = following.next_named_sibling
    return following is not None or _unit_body(call.parent, spec)


def _macro_name(call: tree_sitter.Node) -> str:
    """The name a Rust macro call calls, without its path (`println` of `std::println!(..)`)."""
    name = call.child_by_field_name("macro")
    if name is not None and name.type == "scoped_identifier":
        name = name.child_by_field_name("name")
    return "" if name is None or name.text is None else name.text.decode("utf-8", "replace")


def _unit_body(block: tree_sitter.Node, spec: LanguageSpec) -> bool:
    """Whether ``block`` is a body whose value is `()` (`LanguageSpec.unit_bodies`): a loop's, or a function's with
    no return type (or `-> ()`, `-> !`)."""
    owner = block.parent
    return owner is not None and owner.type in spec.unit_bodies and not _returns_value(owner)


def _returns_value(owner: tree_sitter.Node) -> bool:
    """Whether the function ``owner`` declares a return type that is a value: neither `()` nor `!`, whose body
    may end in a statement."""
    returned = owner.child_by_field_name("return_type")
    return returned is not None and returned.text not in (b"()", b"!")


def _misplaced_semicolon(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` is no code the user means: the whole body of a header
    (`empty_body_at`: `if (!order);`), the end of a function's value (`_ends_value`), one after an item's `}` where
    the language wants an item (`_follows_item`), or the end of code on its line that does not parse
    (`_ends_error`: a method's header in a class, `total(id);`)."""
    return (empty_body_at(tree, byte) or _ends_value(tree, byte, spec) or _follows_item(tree, byte, spec)
            or _ends_error(tree, byte))


def _ends_error(tree: tree_sitter.Tree, byte: int) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` comes right after an ERROR that begins on its line: it ends what the
    parser could not read, and a new error that overlaps the line's own goes uncounted (`adds_errors`)."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    before = node.prev_sibling if node is not None and node.type == ";" else None
    return before is not None and before.is_error and before.start_point.row == node.start_point.row


def _ends_value(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` ends the last statement of a body whose value its function returns (a
    `LanguageSpec.unit_bodies` node that is no `_unit_body`): `(1..=n).map(f).collect();` above the `}` of a
    `-> Vec<u32>` makes the body's value `()` (rustc's E0308), where the closers leave it off a value macro's call
    (`_owes_statement_end`) for the same reason. Not after a statement that is no value (`valueless_types`: `return
    x;`) or a `()`- or `!`-valued macro's call (`unit_macros`: `panic!(..);`), nor in a body a statement follows."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if not spec.unit_bodies or node is None or node.type != ";" or node.parent is None:
        return False
    statement = node.parent
    block = statement.parent
    if (statement.type != "expression_statement" or block is None or block.parent is None
            or block.parent.type not in spec.unit_bodies or _unit_body(block, spec)):
        return False
    following = statement.next_named_sibling
    while following is not None and following.type in spec.comment_types:
        following = following.next_named_sibling
    value = statement.named_children[0] if statement.named_children else None
    if following is not None or value is None or value.type in spec.valueless_types:
        return False
    return value.type != "macro_invocation" or _macro_name(value) not in spec.unit_macros


def _follows_item(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` stands alone among items (`LanguageSpec.item_bodies`), right after
    one that ends with a `}`: `fn f() {};`, which rustc reads as an item missing, and gofmt deletes. A `;` that ends
    an item (`struct S;`, `use a::b;`) is its item's."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if not spec.item_bodies or node is None or node.type != ";" or node.parent is None:
        return False
    alone = node.parent.start_byte == node.start_byte and node.parent.end_byte == node.end_byte
    held = node.parent if alone and node.parent.type not in spec.item_bodies else node  # an empty statement's
    if held.parent is None or held.parent.type not in spec.item_bodies:
        return False
    item = held.prev_sibling
    while item is not None and item.type in spec.comment_types:
        item = item.prev_sibling
    if item is None or item.end_byte == 0:
        return False
    last = tree.root_node.descendant_for_byte_range(item.end_byte - 1, item.end_byte)
    return last is not None and last.type == "}"


def _with_rules(closers: Callable[..., str], spec: LanguageSpec) -> Callable[[str, str], str]:
    """``closers`` (`owed_on_line`, `owed_below`) with the language's rules: what begins its line comments, and
    whether its `{` opens a block (not in Python, where a `{` is a dict's or a set's, closed as a bracket is)."""
    return partial(closers, line_comments=spec.line_comments, block_braces="{" in spec.block_openers)


def _terminator(parsed: ParsedSnapshot, offset: int) -> str:
    """The `;` a statement closed at ``offset`` owes (`LanguageSpec.statement_end`), where nothing follows on the
    cursor's line but a comment (`syntax.code_end`)."""
    return parsed.spec.statement_end if code_end(parsed, parsed.snapshot.line_of(offset)) <= offset else ""


def parsing_first(parsed: ParsedSnapshot, offset: int, suggestions: list[Suggestion],
                  should_stop: Callable[[], bool] | None = None) -> list[Suggestion]:
    """Suggestions after which the file parses (or, where it cannot yet, is mended near the cursor: `_mends`) come
    first, each group in the order given (confidence): the rule the code actions choose by. Where none does (or
    none is offered), the first closed so that it does comes before them all: a suggestion followed by the
    brackets still open before ``offset`` that the cursor is inside by the file's layout and that may close on its
    line (`engine.closers.owed_on_line`, with the language's comments and braces: `_with_rules`; never a block's
    `}` after code), and by the `;` the statement owes (`_terminator`; before the `}` of a block the line opened,
    where only that parses: `if (x) { return g(2` -> `); }`; that `}` never left out where the code below stands
    outside the block), else, where the file has a syntax error
    near the cursor (`error_near`), those brackets alone; in a `#define`'s body, the body's (`_around`). Inside a
    string or a comment (`in_literal`) nothing is closed, nor is a closer offered that the parse reads as one's text
    (`_mends`). The model's closers alone that the `;` is still owed after are those closers with it (`_cut_short`:
    `free(buf` above `buf = NULL;` -> `);`). A small model often stops a closing span a bracket short; on 150
    held-out closing spans the file parsed after 100% of the fills chosen when invoked, where it did after 93.3%
    (docs/evaluation.md). In plain text (`syntax_checked`) the suggestions stay as given. Raises
    `engine.errors.Cancelled` once ``should_stop`` says so."""
    if not syntax_checked(parsed):
        return suggestions
    body = _macro_body(parsed, offset)  # once: each lookup walks the tree at the cursor
    mends = _mends(parsed, offset, body, should_stop)
    passing = [mends(s.text) for s in suggestions]
    suggestions, passing = _cut_short(parsed, offset, body, mends, suggestions, passing)
    if any(passing):
        return [s for s, ok in zip(suggestions, passing) if ok] + [s for s, ok in zip(suggestions, passing) if not ok]
    if in_literal(parsed, offset):
        return suggestions
    before, after, alone, terminator = _around(parsed, offset, body)
    closed = close_to_pass(before, [s.text for s in suggestions], partial(mends, closing=True), after=after,
                           owing=_with_rules(owed_on_line, parsed.spec), alone=alone, terminator=terminator,
                           line_comments=parsed.spec.line_comments)
    if closed is None:
        return suggestions
    index, text = closed
    if index >= 0:
        return [replace(suggestions[index], text=text), *suggestions]
    confidence = suggestions[0].confidence if suggestions else 0.0
    return [Suggestion(text, offset, offset, confidence, "closers"), *suggestions]


def _cut_short(parsed: ParsedSnapshot, offset: int, body: tuple[int, int] | None, mends: Callable[..., bool],
               suggestions: list[Suggestion], passing: list[bool]) -> tuple[list[Suggestion], list[bool]]:
    """``suggestions`` and whether each passes (``passing``, by ``mends``), with each the model wrote of closers
    alone (`_closers_alone`) that ``mends`` turns down replaced, in its place, by the brackets alone closed so that
    the file passes (`engine.closers.close_to_pass`), where those go on from it to the `;` the statement owes
    (`_terminator`: `free(buf` above `buf = NULL;` -> `);`); each text once. Read as a fill, `)` owes no more
    closers, so closing it adds nothing, not even the `;`: that comes with the brackets alone."""
    if not any(not ok and _closers_alone(s.text) for s, ok in zip(suggestions, passing)) or in_literal(parsed, offset):
        return suggestions, passing
    before, after, _, terminator = _around(parsed, offset, body)
    closed = None if not terminator else close_to_pass(
        before, [], partial(mends, closing=True), after=after, owing=_with_rules(owed_on_line, parsed.spec),
        terminator=terminator, line_comments=parsed.spec.line_comments)
    if closed is None:
        return suggestions, passing
    text = closed[1]
    kept: list[tuple[Suggestion, bool]] = []
    for suggestion, ok in zip(suggestions, passing):
        if (not ok and _closers_alone(suggestion.text) and text.startswith(suggestion.text)
                and terminator in text[len(suggestion.text):]):
            suggestion, ok = replace(suggestion, text=text), True
        if not (suggestion.text == text and any(k.text == text for k, _ in kept)):
            kept.append((suggestion, ok))
    return [s for s, _ in kept], [ok for _, ok in kept]


def _around(parsed: ParsedSnapshot, offset: int, body: tuple[int, int] | None) -> tuple[str, str, bool, str]:
    """What `parsing_first` closes by: the text before and after ``offset``, whether the brackets alone are tried,
    and the statement's terminator. The file's, the brackets alone where the file has an error near the cursor
    (`error_near`); in the `#define`'s body ``offset`` stands in (`_macro_body`), the body's, the brackets alone
    where it leaves one open, and no `;`."""
    whole = parsed.snapshot.text
    if body is None:
        return whole[:offset], whole[offset:], error_near(parsed, offset), _terminator(parsed, offset)
    before, after = whole[body[0]:offset], whole[offset:body[1]]
    return before, after, bool(still_open(before + after, line_comments=parsed.spec.line_comments)), ""


def no_worse(parsed: ParsedSnapshot, suggestions: list[Suggestion],
             should_stop: Callable[[], bool] | None = None) -> list[Suggestion]:
    """The suggestions that leave the file with no more syntax errors than it has without them, and none where it
    has none (`adds_errors`): ghost text that would break the code (a lone quote, a stray keyword) is noise while
    typing. Nor one that leaves a closer on its lines with no opener (`_adds_stray_closer`): the cursor's statement
    is most often unfinished, and a new error that overlaps its own goes uncounted. Nor one with a `;` that parses
    but is no code the user means (`_misplaced_semicolon`: `if (!order);`), nor JSX that parses only as the grammar
    reads it, without looking at names (`_misread_markup`: `<li>..</ul>`, a `;` after a child element), nor one
    that re-declares a function its class already has (`redeclares`), or a name its scope already binds
    (`rebinds`). On a half-typed line, nor one whose own text the parser cannot read (`_writes_error`), one that ends
    a line that is not done (`_ends_open_line`: a `;` in an open call, on a `#` line), or one that unbalances a
    `#define`'s body (`_unbalances_macro`). Nor a `>` after type
    arguments closed (`_closes_type_arguments_again`: `Vec<u8` + `>>`), nor a keyword written where a name stands
    (`reserved_names`: `if (` + `default)`), nor a `;` that ends a line of a language
    whose lines none ends (`_semicolon_ends_line`: Go's). Whatever made the suggestion: the file's copy, or the
    model. One incremental re-parse each (two where a line of the file spells the new line); none, and
    every suggestion kept, in plain text (`syntax_checked`)."""
    if not syntax_checked(parsed):
        return suggestions
    return [s for s in suggestions if _no_worse(parsed, s, should_stop)]


def _no_worse(parsed: ParsedSnapshot, suggestion: Suggestion, should_stop: Callable[[], bool] | None) -> bool:
    """`no_worse`'s test of one suggestion, its checks reading one re-parse. Only the `;`s the suggestion writes are
    held to `_misplaced_semicolon`: one the text had is the user's."""
    edit = [Replacement(suggestion.start, suggestion.end, suggestion.text)]
    tree = tree_after(parsed, edit, should_stop)
    start = parsed.snapshot.byte_offset(suggestion.start)
    written = suggestion.text.encode("utf-8", "surrogatepass")
    semicolons = [start + i for i, byte in enumerate(written) if byte == ord(";")]
    return not (adds_errors(parsed, edit, should_stop, tree=tree)
                or any(_misplaced_semicolon(tree, byte, parsed.spec) for byte in semicolons)
                or _writes_error(parsed, suggestion, tree, start, start + len(written), should_stop)
                or _ends_open_line(parsed, suggestion, tree, semicolons)
                or _unbalances_macro(parsed, suggestion)
                or _adds_stray_closer(parsed, suggestion, tree)
                or _closes_type_arguments_again(parsed, suggestion, tree)
                or reserved_names(parsed, edit, tree)
                or _semicolon_ends_line(parsed, suggestion, tree, semicolons)
                or _misread_markup(tree, start, start + len(written), semicolons, parsed.spec)
                or redeclares(parsed, suggestion, should_stop)
                or rebinds(parsed, suggestion, tree))


# Headers whose `(` holds `;`s of its own: C's and Java's `for (i = 0; i < n; i++)`, Java's `try (A a = f(); ...)`.
_SEMICOLON_HEADER = re.compile(r"\b(?:for|try)\s*$")
# Statements that open no body: a `{` after a call's `)` on one (`return !isZero() {`) is a header's, copied.
_NO_BODY_STATEMENT = re.compile(r"\s*(?:return|throw|break|continue|goto)\b")
# What makes a `{` after `return` a value's: an anonymous class, a function (`new Runnable() {`, `[&](int a) {`,
# `func() {`).
_OPENS_VALUE = re.compile(r"\b(?:new|func|function)\b|\]\s*\(|=>|->")
_INCLUDE = re.compile(r"\s*#\s*include\b")
# A C `#include`'s path, up to its closing quote or `>`.
_INCLUDE_PATH = re.compile(r"\s*#\s*include\s*(?:\"[^\"\n]*\"|<[^>\n]*>)")


def _writes_error(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree, lo: int, hi: int,
                  should_stop: Callable[[], bool] | None = None) -> bool:
    """Whether ``tree`` (the file's with ``suggestion``, whose bytes are ``lo``..``hi``) cannot read what the
    suggestion wrote on the cursor's line. Where no ERROR held the byte before the cursor: an ERROR (not a MISSING
    node: what a half-typed line leaves the parser to invent) that begins on the line holds a byte the suggestion
    wrote (`using ul` + `e::irSeSegment(`), where `adds_errors` misses one that overlaps an error the line had
    already; not one that begins above the line: a header's ` {` takes the `}` below as its own, and the parser
    gives up on the class around it, whose `}` is still to come. Whatever the line's state: a token invented amid
    the suggestion's own (`_invents_amid`: `use std::collections::Hash` + `Map::new();`); what it wrote set down
    loose in an ERROR that begins on the line (`_loose_tokens`: a doc comment's prose after `var ErrNotFound`,
    `if (` + `default)`), unless the line, done after it, reads it (`_closed_to_read`: the rest of a call's
    arguments while the line still lacks its `)`, a header whose body is still to come); an error the line
    had before the cursor that the suggestion leaves as it was, read as a statement of its own after it
    (`_left_as_it_was`: `for ` + `i in re`). The rest of the name at the cursor, where the line stays as unfinished
    as it was (`var ErrNot` + `Found`), stands in the token the user began: none of its own."""
    if hi <= lo:
        return False
    snap = parsed.snapshot
    line_start = snap.byte_offset(snap.line_starts[snap.line_of(suggestion.start)])

    def errors(root: tree_sitter.Node, first: int, last: int) -> bool:
        return any(node.is_error and node.parent is not None and line_start <= node.start_byte < last
                   and first < node.end_byte for node in iter_problems(root))

    if errors(tree.root_node, lo, hi) and not errors(parsed.tree.root_node, lo - 1, lo):
        return True
    if _invents_amid(tree, lo, hi, parsed.spec):
        return True
    if _loose_tokens(tree, line_start, lo, hi):
        return not _closed_to_read(parsed, suggestion, line_start, lo, hi, should_stop)
    return (not any(node.start_byte >= line_start for node in _errors_over(tree.root_node, lo, hi))
            and _left_as_it_was(parsed, tree, line_start, lo))


def _errors_over(root: tree_sitter.Node, lo: int, hi: int) -> Iterator[tree_sitter.Node]:
    """The ERROR nodes below ``root``, at any depth (one inside another too), that hold a byte of ``lo``..``hi``."""
    pending = [root]
    while pending:
        node = pending.pop()
        if node.is_error and node.parent is not None:
            yield node
        pending.extend(child for child in node.children
                       if (child.has_error or child.is_error) and child.start_byte < hi and lo < child.end_byte)


def _loose_tokens(tree: tree_sitter.Tree, line_start: int, lo: int, hi: int) -> list[tree_sitter.Node]:
    """What ``tree`` holds right inside an ERROR that begins at or after ``line_start`` (the cursor's line), a
    nested one too, and that begins in ``lo``..``hi`` (bytes a suggestion wrote): a token, or a construct the
    parser built (the string `""` after `{todo.title`), that it set down without fitting it into anything. One
    it fitted stands in a node that holds it whatever ERROR holds that node (the `c` of `Some(&(_, c` in the
    pattern the user began); a token that began before ``lo`` is the user's, the rest of the name being typed
    written into it."""
    return [node for error in _errors_over(tree.root_node, lo, hi) if error.start_byte >= line_start
            for node in error.children
            if not node.is_missing and not node.is_error and lo <= node.start_byte < hi]


def _closed_to_read(parsed: ParsedSnapshot, suggestion: Suggestion, line_start: int, lo: int, hi: int,
                    should_stop: Callable[[], bool] | None) -> bool:
    """Whether the line, done after ``suggestion`` (its bytes ``lo``..``hi``), reads what the suggestion wrote: no
    ERROR that begins on the line holds a byte of it. An honest half of a line reads once the line is done, as the
    line before it did, where prose or a keyword out of place does not. A string or a character literal the
    suggestion opened on its last line (`_open_literal`) is closed first (`errors.New("inventory: item`), then
    three ways of ending the line are tried, a re-parse each, up to the first that reads: the brackets the line
    owes at the suggestion's end (`engine.closers.owed_on_line`, with the language's rules: `_with_rules`) and the
    `;` its statement owes (`_terminator`): `total += max(ite` + `ms, n` + `)`; every bracket the line leaves open,
    a body's `{` too, closed after the rest of the line (`engine.closers.still_open`): `func (s *Store) Summa` +
    `ry() string {` + `}`, where Go reads a `{` whose `}` the lines below have not written yet as an ERROR; those
    and an empty body (`: pass` where a `:` opens one, ` {}` elsewhere): `for i in ran` + `ge(n` + `): pass`, a
    function's header."""
    snap, spec = parsed.snapshot, parsed.spec
    line_end = snap.line_end(snap.line_of(suggestion.end))
    rest = snap.text[suggestion.end:line_end]
    line = (snap.text[snap.line_starts[snap.line_of(suggestion.start)]:suggestion.start]
            + suggestion.text).rsplit("\n", 1)[-1]
    literal = _open_literal(line)
    written = suggestion.text + (literal[0] if literal and len(literal) <= len(suggestion.text) else "")
    owed = _with_rules(owed_on_line, spec)(scan_window(snap.text[:suggestion.start] + written),
                                           snap.text[suggestion.end:suggestion.end + SCAN_CHARS])
    ends_line = still_open(line + written[len(suggestion.text):] + rest, line_comments=spec.line_comments)
    body = ": pass" if ":" in spec.block_openers else " {}"
    done = (written + owed + _terminator(parsed, suggestion.end) + rest, written + rest + ends_line,
            written + rest + ends_line + body)
    for text in dict.fromkeys(done):
        if text == suggestion.text + rest:
            continue
        edit = [Replacement(suggestion.start, line_end, text)]
        tree = tree_after(parsed, edit, should_stop)
        if not any(error.start_byte >= line_start for error in _errors_over(tree.root_node, lo, hi)):
            return True
    return False


def _left_as_it_was(parsed: ParsedSnapshot, tree: tree_sitter.Tree, line_start: int, lo: int) -> bool:
    """Whether an ERROR that holds the last code before ``lo`` (the cursor's byte) on its line, beginning there,
    stands in ``tree`` (the file's with a suggestion written at ``lo``, which no ERROR of the line holds) as it
    stood before: the parser reads the suggestion only by setting the line's own text aside, as a statement of its
    own after it (`for ` + `i in re`: `i in re` an expression after a lone `for`), where a suggestion that goes
    on with the line mends that error or joins it."""
    typed = parsed.snapshot.text.encode("utf-8", "surrogatepass")[line_start:lo].rstrip()
    if not typed:
        return False
    code_end = line_start + len(typed)
    before = {(node.start_byte, node.end_byte) for node in iter_problems(parsed.tree.root_node)
              if node.is_error and node.parent is not None and line_start <= node.start_byte
              and code_end <= node.end_byte <= lo}
    return bool(before) and any(node.is_error and (node.start_byte, node.end_byte) in before
                                for node in iter_problems(tree.root_node))


def _invents_amid(tree: tree_sitter.Tree, lo: int, hi: int, spec: LanguageSpec) -> bool:
    """Whether ``tree`` invents a token (a MISSING node) inside ``lo``..``hi``, bytes a suggestion wrote, before
    more of them on its line than a comment: `use std::collections::Hash` + `Map::new();` reads as a `use` of
    `HashMap::new` with its `;` invented, and `();` after it. One invented at the end is what the line still owes
    (`f(a, ` + `b`)."""
    for node in iter_problems(tree.root_node):
        if not (node.is_missing and lo < node.start_byte < hi):
            continue
        following = node
        while following.next_sibling is None and following.parent is not None:
            following = following.parent
        following = following.next_sibling
        while following is not None and following.child_count and following.type not in spec.comment_types:
            following = following.children[0]
        if (following is not None and following.start_byte < hi and following.type not in spec.comment_types
                and following.start_point.row == node.start_point.row):
            return True
    return False


def _ends_open_line(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree,
                    semicolons: list[int]) -> bool:
    """Whether ``suggestion`` ends its line where the line is not done: a `;` inside a `(` or `[` opened on the
    line (`g(a, ` + `b;`; not a `for (` header's), or on a C preprocessor line (`#define KEY` + `SIZE;`); text after
    an `#include`'s path (`"yarr` + `ow.h" x`); a `{` after a statement that opens no body (`return f()` + ` {`), or
    before a next line of code that is itself the body's `{` (K&R's `usage(int n)` above `{`)."""
    snap, spec = parsed.snapshot, parsed.spec
    line = snap.line_of(suggestion.start)
    before = snap.text[snap.line_starts[line]:suggestion.start]
    first = suggestion.text.split("\n", 1)[0]
    directive = bool(spec.macro_types) and before.lstrip().startswith("#")
    at = [i for i, ch in enumerate(suggestion.text) if ch == ";"]  # ASCII: the n-th `;` is at ``semicolons[n]``
    for i, byte in zip(at, semicolons):
        written = suggestion.text[:i]
        if directive and "\n" not in written:
            # The parser keeps a `#define`'s body as text: the scan tells a literal's or a comment's `;`.
            code = before + written
            if _INCLUDE.match(code) or not (_open_literal(code) or "//" in code or "/*" in code):
                return True
            continue
        node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
        if node is None or node.type != ";":
            continue  # a string's or a comment's
        code = (before + written).rsplit("\n", 1)[-1]
        opened = open_brackets(code, spec.line_comments)
        if (opened and opened[-1].char in "([" and opened[-1].char not in spec.bracket_statement_ends
                and not _SEMICOLON_HEADER.search(code[:opened[-1].at])):
            return True
    if directive:
        path = _INCLUDE_PATH.match(before + first)
        if path is not None and path.end() > len(before):
            tail = (before + first)[path.end():].strip()
            if tail and not tail.startswith(("//", "/*")):
                return True
    if not first.rstrip().endswith("{") or "\n" in suggestion.text:
        return False
    header = (before + first).rstrip()[:-1].rstrip()
    if (header.endswith((")", " const")) and _NO_BODY_STATEMENT.match(before)
            and not _OPENS_VALUE.search(before + first)):
        return True
    following = snap.text[snap.line_end(line):].lstrip()
    return following.startswith("{")


def _unbalances_macro(parsed: ParsedSnapshot, suggestion: Suggestion) -> bool:
    """Whether ``suggestion``, in a `#define`'s body (`_macro_body`: the parser keeps it as text), closes a bracket
    the body never opened (`)` after `setmode(fileno(file), O_BINARY)`), or leaves open a body whose brackets
    balanced."""
    body = _macro_body(parsed, suggestion.start)
    if body is None:
        return False
    text, comments = parsed.snapshot.text, parsed.spec.line_comments
    old = text[body[0]:body[1]]
    new = text[body[0]:suggestion.start] + suggestion.text + text[suggestion.end:body[1]]
    if _stray_closers([], new, True, comments) > _stray_closers([], old, True, comments):
        return True
    return not still_open(old, line_comments=comments) and bool(still_open(new, line_comments=comments))


def _misread_markup(tree: tree_sitter.Tree, lo: int, hi: int, semicolons: list[int], spec: LanguageSpec) -> bool:
    """Whether the bytes ``lo``..``hi`` of ``tree``, those a suggestion wrote (its `;`s at ``semicolons``), hold
    markup the grammar reads without looking (`LanguageSpec.markup_types`): a tag's name that is not the name of
    its element's other tag (`</` inside an `<li>` + `ul>`: the grammar pairs tags by their place alone), or a `;`
    that begins the text after a child element (`{item} <span>{n}</span>` + `;`: a statement's end, as after
    `return <span>{n}</span>`, and a `;` on the page here)."""
    if not spec.markup_types:
        return False
    element, alone, text = spec.markup_types
    return (any(_names_differ(node, lo, hi) for node in _touching(tree.root_node, lo, hi) if node.type == element)
            or any(_begins_text_after_element(tree, byte, (element, alone), text) for byte in semicolons))


def _touching(node: tree_sitter.Node, lo: int, hi: int) -> Iterator[tree_sitter.Node]:
    """``node`` and those inside it that hold a byte of ``lo``..``hi``, outermost first; no recursion, as a long
    chain of operators nests as deep as it is long."""
    pending = [node]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(child for child in reversed(node.children) if child.start_byte < hi and lo < child.end_byte)


def _names_differ(element: tree_sitter.Node, lo: int, hi: int) -> bool:
    """Whether ``element``'s opening and closing tags name it otherwise (a fragment's tags name nothing), where a
    byte of ``lo``..``hi`` is one of a name's: the suggestion wrote it."""
    tags = element.child_by_field_name("open_tag"), element.child_by_field_name("close_tag")
    if any(tag is None for tag in tags):
        return False
    names = [tag.child_by_field_name("name") for tag in tags]
    written = any(name is not None and name.start_byte < hi and lo < name.end_byte for name in names)
    opening, closing = (None if name is None else name.text for name in names)
    return written and opening != closing


def _begins_text_after_element(tree: tree_sitter.Tree, byte: int, elements: tuple[str, str], text: str) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` begins, whitespace aside, a ``text`` node right after one of
    ``elements``."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type != text or node.text[:byte - node.start_byte].strip():
        return False
    return node.prev_sibling is not None and node.prev_sibling.type in elements


def _adds_stray_closer(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree) -> bool:
    """Whether ``suggestion`` leaves more closers with no opener on the lines it stands on (`_stray_closers`: the
    cursor's, the text after the cursor on it included, the editor's `)` after `f(x|`) than they have without it,
    and the parse finds a problem on them too: `if len(fields)` + `)`, `[key, value|])` + `)`. The brackets still
    open from the lines above (`engine.closers.open_brackets`, up to `SCAN_CHARS` of them) are the line's to close.
    The scan is rough (`engine.closers`): where the file parses with the suggestion, it is taken at its word."""
    if not tree.root_node.has_error or not any(ch in PAIRS or ch in OPENER_OF for ch in suggestion.text):
        return False  # the same brackets as before (or a file that parses): no closer can have lost its opener
    snap, comments = parsed.snapshot, parsed.spec.line_comments
    first, last = snap.line_starts[snap.line_of(suggestion.start)], snap.line_end(snap.line_of(suggestion.end))
    lines = snap.text[first:suggestion.start] + suggestion.text + snap.text[suggestion.end:last]
    lo = snap.byte_offset(first)
    hi = lo + len(lines.encode("utf-8", "surrogatepass"))
    if not any(node.start_byte <= hi and lo <= node.end_byte for node in iter_problems(tree.root_node)):
        return False
    above = scan_window(snap.text[:first])
    stack = [opener.char for opener in open_brackets(above, comments)]
    known = len(above) == first  # scanned from the file's start: a closer with nothing open before it has none
    return _stray_closers(stack, lines, known, comments) > _stray_closers(stack, snap.text[first:last], known, comments)


def _closes_type_arguments_again(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree) -> bool:
    """Whether ``suggestion`` writes a `>` (in ``tree``, the file's with it) right after the `>` that closes type
    arguments (`LanguageSpec.type_argument_types`), with no `<` left open before it on its line (`_angles_open`):
    `HashMap<String, u` + `size>>`, `Vec<u8` + `>>>`, a copy of the file's `Vec<Vec<u8>>`. `_stray_closers` counts
    brackets alone, and the ERROR the parse makes of the `>` overlaps the half-typed line's own, so the count of
    errors need not grow. The `<` of a type broken over lines stands above, where the line's count does not see
    it."""
    kinds = parsed.spec.type_argument_types
    if not kinds or ">" not in suggestion.text:
        return False
    lo = parsed.snapshot.byte_offset(suggestion.start)
    hi = lo + len(suggestion.text.encode("utf-8", "surrogatepass"))
    for node in _touching(tree.root_node, lo, hi):
        if node.child_count or not node.type.startswith(">") or not lo <= node.start_byte < hi:
            continue
        if node.parent is not None and node.parent.type in kinds:
            continue  # a closer of type arguments: `Vec<Vec<u8` + `>>`
        before = token_before(node)
        if (before is not None and before.type == ">" and before.parent is not None and before.parent.type in kinds
                and not _angles_open(tree, node)):
            return True
    return False


def _angles_open(tree: tree_sitter.Tree, node: tree_sitter.Node) -> bool:
    """Whether the tokens of ``node``'s line before it open more `<` than their `>`s close (`Vec<Vec<u8>` before a
    second `>` where the parse made no type arguments of the outer one). A comparison's `<` counts too: it leaves
    a `>` unjudged, never a right one dropped."""
    first = node.start_byte - node.start_point.column
    depth = 0
    for token in _touching(tree.root_node, first, node.start_byte):
        if token.child_count or not first <= token.start_byte < node.start_byte:
            continue
        if token.type == "<":
            depth += 1
        elif token.type and token.type.strip(">") == "":
            depth -= len(token.type)
    return depth > 0


def _semicolon_ends_line(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree,
                         semicolons: list[int]) -> bool:
    """Whether ``suggestion`` ends a line of code with a `;` (its `;`s at ``semicolons`` of ``tree``; a comment may
    follow it) in a language whose lines none ends (`LanguageSpec.semicolon_headers`): `s.mu.RLock()` + `;`,
    `return Err` + `r;`, which gofmt deletes. Not a string's or a comment's `;`, nor one on the line of a header
    whose clauses a `;` parts (`for i := 0` + `;`)."""
    headers = parsed.spec.semicolon_headers
    if headers is None or not semicolons:
        return False
    snap = parsed.snapshot
    before = snap.text[snap.line_starts[snap.line_of(suggestion.start)]:suggestion.start]
    after = snap.text[suggestion.end:snap.line_end(snap.line_of(suggestion.end))]
    text = suggestion.text
    at = [i for i, ch in enumerate(text) if ch == ";"]  # ASCII: the n-th `;` is at ``semicolons[n]``
    for i, byte in zip(at, semicolons):
        node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
        if node is None or node.type != ";":
            continue  # a string's or a comment's
        rest = text[i + 1:]
        tail = rest.split("\n", 1)[0] if "\n" in rest else rest + after
        code = tail.lstrip()
        if code:
            blank = len(tail) - len(code)
            node = tree.root_node.descendant_for_byte_range(byte + 1 + blank, byte + 2 + blank)
            while node is not None and node.type not in parsed.spec.comment_types:
                node = node.parent
            if node is None:
                continue  # code follows on the line: `if v, ok := m[k]; ok {`
        if headers.isdisjoint(WORD.findall((before + text[:i]).rsplit("\n", 1)[-1])):
            return True
    return False


def _stray_closers(stack: list[str], lines: str, known: bool, line_comments: tuple[str, ...]) -> int:
    """How many closers of ``lines`` (whole lines) close no bracket: neither one opened before them on it nor one
    left open above (``stack``, innermost last), or whose bracket is of another kind (`f(a]`). One with nothing
    open counts only where ``known`` (the scan above began at the file's start): else its opener may stand above
    the lines scanned. Strings and comments (those ``line_comments`` begin) hold none."""
    stack, stray = list(stack), 0
    for _, bracket in brackets_in_code(lines, line_comments):
        if bracket in PAIRS:
            stack.append(bracket)
        elif bracket in OPENER_OF:
            if stack and PAIRS[stack[-1]] == bracket:
                stack.pop()
            elif stack or known:
                stray += 1
    return stray


def _squeezed(line: str) -> str:
    """``line`` without its whitespace: a header's spacing is no part of what it declares."""
    return "".join(line.split())


def _name(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """A function's name: its `name` field, or its innermost `declarator` (C, C++); None for a lambda."""
    name = node.child_by_field_name("name")
    inner = node.child_by_field_name("declarator")
    while name is None and inner is not None:
        name, inner = inner, inner.child_by_field_name("declarator")
    return name


def _code_end_byte(tree: tree_sitter.Tree, spec: LanguageSpec, line: str, start: int) -> int:
    """The byte of ``tree`` past the last code of ``line``, which begins at byte ``start``: before the comments that
    end it (`syntax.code_end`, for a tree of an edited text), ``start`` where it holds none. A comment after a
    one-line function stands beside it in the tree (`getX() { return x; } // accessor`)."""
    code = line.encode("utf-8", "surrogatepass")
    end = len(code.rstrip())
    while end:
        node = tree.root_node.descendant_for_byte_range(start + end - 1, start + end)
        while node is not None and node.type not in spec.comment_types:
            node = node.parent
        if node is None:
            return start + end
        end = len(code[:max(node.start_byte - start, 0)].rstrip())
    return start


def redeclares(parsed: ParsedSnapshot, suggestion: Suggestion,
               should_stop: Callable[[], bool] | None = None) -> bool:
    """Whether ``suggestion`` makes the cursor's line the line that names a function (`LanguageSpec.function_types`,
    the one its last code stands in, a comment after it aside: `_code_end_byte`) and, whitespace aside, the line
    that names another function of the same class or block, its sibling in the tree. The file's copy of a header
    completes a half-typed name to one already declared (`public int get` -> `X() {`): a second `getX` parses, but
    does not compile. An overload spells other parameters, another line."""
    snap, spec = parsed.snapshot, parsed.spec
    row = snap.line_of(suggestion.start)
    start, end = snap.line_starts[row], snap.line_end(snap.line_of(suggestion.end))
    written = (snap.text[start:suggestion.start] + suggestion.text + snap.text[suggestion.end:end]).split("\n")[0]
    line = _squeezed(written)
    # Most lines written are in the file nowhere: its longest word, searched for as it is, says so at once.
    if not line or max(written.split(), key=len) not in snap.text or \
            not any(_squeezed(other) == line for other in snap.text.split("\n")):
        return False  # no line of the file spells it: no re-parse
    edit = Replacement(suggestion.start, suggestion.end, suggestion.text)
    lines = apply_replacements(snap.text, [edit]).split("\n")
    tree = tree_after(parsed, [edit], should_stop)
    first = len("\n".join(lines[:row]).encode("utf-8", "surrogatepass")) + 1 if row else 0  # the line's first byte
    end = _code_end_byte(tree, spec, lines[row], first)
    if end == first:
        return False  # a comment alone names nothing
    node = tree.root_node.descendant_for_byte_range(end - 1, end)
    while node is not None and node.type not in spec.function_types:
        node = node.parent
    name = _name(node) if node is not None else None
    if name is None or name.start_point.row != row or node.parent is None:
        return False
    return any(other.type in spec.function_types and other.start_byte != node.start_byte
               and (other_name := _name(other)) is not None and _squeezed(lines[other_name.start_point.row]) == line
               for other in node.parent.named_children)


# What else binds a name in a scope that a declaration binding its names once (`LanguageSpec.once_binding_types`:
# ECMAScript's) may not bind again: a `var`, an import, an enum. (An interface, a type alias or a namespace names a
# type, which a value of its name may stand beside; an overload's signature, no body.)
_ALSO_BINDING = frozenset({"variable_declaration", "import_statement", "enum_declaration"})
_SCOPES = frozenset({"program", "statement_block"})
# The words a line that declares such a name holds: no re-parse is read for a suggestion whose lines hold none.
_BINDING_WORD = re.compile(r"\b(?:const|let|class|function)\b")


def rebinds(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree) -> bool:
    """Whether ``suggestion`` (``tree``: the file with it in) writes the name of a declaration that binds it once
    (`LanguageSpec.once_binding_types`: a `const`, a `let`, a class, a function) where another statement of the same
    scope (a file's, a block's, or a parameter of the function the block is the body of) binds it already: `const` + `
    path = path` below `const path = require("path")` parses, and does not run. Only a name the suggestion writes
    counts: the user's own half of a line (`const path` typed, ` = ...` offered) is theirs."""
    kinds = parsed.spec.once_binding_types if parsed.spec else frozenset()
    if not kinds or not suggestion.text:
        return False
    snap = parsed.snapshot
    first, last = snap.line_starts[snap.line_of(suggestion.start)], snap.line_end(snap.line_of(suggestion.end))
    if not _BINDING_WORD.search(snap.text[first:suggestion.start] + suggestion.text + snap.text[suggestion.end:last]):
        return False
    lo = snap.byte_offset(suggestion.start)
    hi = lo + len(suggestion.text.encode("utf-8", "surrogatepass"))
    for node in _touching(tree.root_node, lo, hi):
        if node.type not in kinds:
            continue
        statement = node.parent if node.parent is not None and node.parent.type == "export_statement" else node
        scope = statement.parent
        if scope is None or scope.type not in _SCOPES:
            continue
        written = {name.text for name in _bound_names(node) if name.start_byte < hi and lo < name.end_byte}
        if not written:
            continue
        bound = {name.text for other in scope.named_children if other.start_byte != statement.start_byte
                 for name in _bound_names(_declared(other), kinds | _ALSO_BINDING)}
        owner = scope.parent
        if scope.type == "statement_block" and owner is not None and owner.type in parsed.spec.function_types:
            parameters = owner.child_by_field_name("parameters")
            bound.update(name.text for name in _pattern_names(parameters) if parameters is not None)
        if written & bound:
            return True
    return False


def _declared(statement: tree_sitter.Node) -> tree_sitter.Node:
    """The declaration a statement of a scope makes: an `export`'s, or the statement itself."""
    inner = statement.child_by_field_name("declaration") if statement.type == "export_statement" else None
    return inner if inner is not None else statement


def _bound_names(declaration: tree_sitter.Node, kinds: frozenset[str] | None = None) -> list[tree_sitter.Node]:
    """The names ``declaration`` binds, where it is one of ``kinds`` (any): each declarator's pattern's, a class's or
    a function's name, an import's local names."""
    if kinds is not None and declaration.type not in kinds:
        return []
    if declaration.type in ("lexical_declaration", "variable_declaration"):
        return [name for declarator in declaration.named_children if declarator.type == "variable_declarator"
                for name in _pattern_names(declarator.child_by_field_name("name"))]
    if declaration.type == "import_statement":
        clause = next((c for c in declaration.named_children if c.type in ("import_clause", "import_require_clause")),
                      None)
        return [] if clause is None else _import_names(clause)
    name = declaration.child_by_field_name("name")
    return [] if name is None else [name]


def _import_names(clause: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The local names an import's clause binds: the default's, a namespace's, each specifier's alias or name."""
    names = []
    for part in clause.named_children:
        if part.type == "identifier":
            names.append(part)
        elif part.type == "namespace_import":
            names.extend(c for c in part.named_children if c.type == "identifier")
        elif part.type == "named_imports":
            for spec in part.named_children:
                name = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                if name is not None:
                    names.append(name)
    return names


# Fields of a pattern's parts that bind nothing: a default value, an object pattern's key, a type.
_NOT_BOUND = frozenset({"right", "key", "type", "value"})


def _pattern_names(pattern: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    """The names a pattern (a declarator's name, a function's parameters) binds: `{ URL, k: v, d = 1, ...rest }`
    binds `URL`, `v`, `d` and `rest`."""
    names, pending = [], [] if pattern is None else [pattern]
    while pending:
        node = pending.pop()
        if node.type in ("identifier", "shorthand_property_identifier_pattern"):
            names.append(node)
            continue
        for i, child in enumerate(node.named_children):
            field = node.field_name_for_named_child(i)
            if field not in _NOT_BOUND or (node.type == "pair_pattern" and field == "value"):
                pending.append(child)
    return names
