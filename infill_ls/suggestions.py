"""Suggestions, and the order they are offered in: those the file parses with first, or, where it cannot yet, those
that mend the lines at the cursor; where none does, one closed with the brackets and the `;` its line owes comes
before them all (`parsing_first`). What is not shown while typing is `typing_filter`'s. Plain functions over a
parsed snapshot: no model, no protocol."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from engine.closers import (CLOSERS, PAIRS, SCAN_CHARS, TAB_WIDTH, close_to_pass, indent_width, open_brackets,
                            owed_below, owed_on_line, scan_window, still_open)

from .syntax import (BODY_FIELDS, LanguageSpec, ParsedSnapshot, Replacement, adds_errors, code_end, empty_body_at,
                     error_nodes, iter_problems, tree_after)

if TYPE_CHECKING:
    import tree_sitter

# What the quote scan of a `#define`'s body (`open_literal`) steps over whole: a comment; a number, C++14's and
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

    def with_word_typed(self, text: str) -> Suggestion:
        """This suggestion for ``text`` begun where the word it goes on from begins (the word characters right before
        it, on its line): `weight` over `wei` rather than `ght` after it. An editor's completion list filters its
        items by the word before the cursor (Emacs's eglot, Zed); one that began at the cursor matched none."""
        start = self.start
        while start > 0 and WORD_CHARACTER.match(text, start - 1):
            start -= 1
        return replace(self, text=text[start:self.start] + self.text, start=start)


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


def code_line_above(parsed: ParsedSnapshot, line: int) -> str | None:
    """The text of the nearest line above ``line`` that holds code, not a comment alone; None where none does."""
    snap = parsed.snapshot
    for above in range(line - 1, -1, -1):
        code = snap.line_text(above)
        if code.strip() and not in_comment(parsed, snap.line_starts[above] + len(code) - len(code.lstrip())):
            return code
    return None


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
           should_stop: Callable[[], bool] | None, ends_block: bool = False) -> Callable[..., bool]:
    """The test of a text at ``offset`` that `parsing_first` ranks and closes by: the file parses with it; or, where it
    cannot yet (a body whose `}` is written later, an error far away), the syntax errors near the cursor
    (`error_near`) are gone, none but a body's missing `}` left there (`error_nodes`), none is added elsewhere
    (`adds_errors`), and no bracket opened on the cursor's line takes a closer the layout gives to a block around it
    (`_closer_left_below`). Where that fails, the same with the `}`s the statement's bodies still owe put on a line
    below it (`engine.closers.owed_below`): tree-sitter-rust reads a body left open as one ERROR from the file's
    start, where the other grammars invent its `}`. Never with a `;` that makes a header's body empty, ends a
    function's value or follows an item (`misplaced_semicolon`) or ends a function's header (`_ends_signature`),
    nor with a closer that ends a statement the `;` is still owed (`_owes_statement_end`), nor where the parse
    invents a closer in the text or right before code after it on the line (`_invents_closer`: tree-sitter-rust's
    match `}` before `f(v);`); with ``closing`` (the text ends in closers `parsing_first` added), never where its end
    is text of a string or a comment; with it, or where the text is closers alone (`_closers_alone`: the model's
    `)`), never where the statement owes its `;` (`owed_terminator`) and the parse runs the closer on into the statement
    on a line below (`_runs_on`). In a `#define`'s body (``body``: `macro_body`'s answer), only where the body's
    brackets are balanced too, and with ``closing`` never where the body before the cursor and the text leave a
    string or a character literal open (`open_literal`). With ``ends_block`` (`_body_end_texts`: the body's `}` is
    due at the cursor), only a text that begins with that `}`. The scans read the cursor's line up to `SCAN_CHARS`
    either side of it."""
    near = _near(parsed, offset) if error_near(parsed, offset) else None
    snap, spec = parsed.snapshot, parsed.spec
    start = snap.byte_offset(offset)
    line_start, line_end = snap.line_starts[snap.line_of(offset)], snap.line_end(snap.line_of(offset))
    before_on_line = snap.text[max(line_start, offset - SCAN_CHARS):offset]
    after_on_line = snap.text[offset:min(line_end, offset + SCAN_CHARS)]
    literal = open_literal(snap.text[body[0]:offset]) if body is not None else ""  # each text is scanned after it
    left_below = _closer_left_below(parsed, offset)
    line_start_byte = snap.byte_offset(line_start)
    row = snap.line_of(offset)
    owes_end = body is None and bool(owed_terminator(parsed, offset))
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
            return misplaced_semicolon(tree, last, spec) or _ends_signature(tree, last, spec)
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
        if ends_block and not text.lstrip().startswith("}"):
            return False  # the body's `}` is due here, not written later: a fill that leaves it open mends nothing
        if body is not None:
            if closing and open_literal(literal + text):
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
        below = with_rules(owed_below, spec)(snap.text[max(line_start - 2 * SCAN_CHARS, 0):line_start] + line,
                                              snap.text[line_end:line_end + SCAN_CHARS])
        return bool(below) and passes([Replacement(offset, line_end, f"{text}{snap.text[offset:line_end]}\n{below}")],
                                      text, closing)

    return mends


def macro_body(parsed: ParsedSnapshot, offset: int) -> tuple[int, int] | None:
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


def open_literal(code: str) -> str:
    """The string or character literal, from its quote, that ``code`` (a `#define`'s body cut at the cursor) leaves
    open (`_BODY_TOKEN`); "" where it leaves none: tree-sitter keeps the body as text, so its parse cannot tell.
    The scan needs the body from its start, as one that began inside a literal would take its end for an opening."""
    for token in _BODY_TOKEN.finditer(code):
        if token["quote"] and not token["closed"]:
            return code[token.start():]
    return ""


def _body_end_texts(parsed: ParsedSnapshot, offset: int) -> tuple[str, ...]:
    """The texts that may end the body around the cursor, to be tried in turn, where the cursor stands at the start of
    a line's code, at the indentation of the line that opened that body, below code of it, with nothing after it on
    the line or only the rest of the expression the body stands in (`, [deps]);` after a callback's body, `)` after
    an object argument's, the `;` that ends an assignment of an object or a C++ class) or a word that goes on after a
    body's `}` (`else`, `catch`: the language's `after_body_words`); none elsewhere. As the text is
    laid out the body is written and ends here, so its `}` is due at the cursor (`engine.closers.owed_on_line` on a
    blank line; before the rest of an expression, where the innermost bracket still open is that `{` and the cursor
    stands at or left of its line), not one the parse may leave missing for a body still being written
    (`error_nodes`). Before the rest of an expression, after the `}` alone, the `}` followed by the closers of the
    brackets opened before it on its opener's line, innermost first: `Object.defineProperty(o, "k", {` ... `|;` takes
    `})`. Not right below the opener (an empty body, whose code is yet to come: a namespace's, at column 0), nor in a
    language whose `{` opens no block (Python)."""
    snap, spec = parsed.snapshot, parsed.spec
    row = snap.line_of(offset)
    line, column = snap.line_text(row), offset - snap.line_starts[row]
    rest = line[column:].strip()
    goes_on = rest[:1] in ("", ",", ")", "]", ";") or re.match(r"\w*", rest).group() in spec.after_body_words
    if "{" not in spec.block_openers or line[:column].strip() or not goes_on:
        return ()
    above = next((snap.line_text(r).rstrip() for r in range(row - 1, max(row - 50, -1), -1)
                  if snap.line_text(r).strip()), "")
    if not above or above.endswith("{"):
        return ()
    before = scan_window(snap.text[:offset])
    if not rest:
        owed = with_rules(owed_on_line, spec)(before, snap.text[offset:offset + SCAN_CHARS])
        return ("}",) if owed.startswith("}") else ()
    stack = open_brackets(before, spec.line_comments)
    if not (stack and stack[-1].char == "{" and not stack[-1].ended
            and indent_width(line[:column]) <= stack[-1].indent):
        return ()
    texts = ["}"]
    opener_line = before.rfind("\n", 0, stack[-1].at) + 1
    for outer in reversed(stack[:-1]):
        if outer.at < opener_line:
            break
        texts.append(texts[-1] + PAIRS[outer.char])
    return tuple(texts)


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


def misplaced_semicolon(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` is no code the user means: the whole body of a header
    (`empty_body_at`: `if (!order);`), the end of a function's value (`_ends_value`), one after an item's `}` where
    the language wants an item (`_follows_item`), the end of code on its line that does not parse (`_ends_error`: a
    method's header in a class, `total(id);`), an empty statement (`_stands_alone`: `1;;`, `if (v) { };`), or a
    statement that does nothing (`_ends_idle`: `rb->data;`)."""
    return (empty_body_at(tree, byte) or _ends_value(tree, byte, spec) or _follows_item(tree, byte, spec)
            or _ends_error(tree, byte) or _stands_alone(tree, byte) or _ends_idle(tree, byte, spec))


# Expressions that read a name's member, and do nothing more: `rb->data`, `this.store`, `graph::index`.
_ACCESS_TYPES = frozenset({"field_expression", "member_expression", "field_access", "qualified_identifier",
                           "scoped_identifier"})


def _ends_idle(tree: tree_sitter.Tree, byte: int, spec: LanguageSpec) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` ends a statement that does nothing: one name, literal
    (`LanguageSpec.idle_value_types`) or member of a name read and dropped (`adjacency_;`, `rb->data;`, `store;`),
    which a compiler warns of (Java's and Go's refuse it) and no one means."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    statement = node.parent if node is not None and node.type == ";" else None
    if (statement is None or statement.type != "expression_statement" or statement.named_child_count != 1
            or statement.parent is None or statement.parent.type not in spec.body_types):
        return False  # a statement of a body alone: Java's `case X -> 0;` gives its switch the value
    value = statement.named_children[0]
    pending = [value]
    while pending:
        part = pending.pop()
        if part.type in _ACCESS_TYPES:
            pending.extend(part.named_children)
        elif not (part.type in spec.idle_value_types or part.type.endswith("identifier") or part.type == "this"):
            return False
    return True


def _stands_alone(tree: tree_sitter.Tree, byte: int) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` is an empty statement of its own after a `;` (`int v = 1;;`) or after
    the `}` of a statement's block (`if (v) { };`, `for (...) { };`): formatters delete it, and no one means it.
    Not after a declaration's `}` (`function f() {};`, a habit the language takes), nor a label's (C's `end: ;`)."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type != ";" or node.parent is None:
        return False
    parent = node.parent
    if parent.start_byte == node.start_byte and parent.end_byte == node.end_byte:
        if parent.type not in ("expression_statement", "empty_statement"):
            return False
        statement = parent
    elif parent.type == "block":  # Java's grammar holds a lone `;` in the block itself
        statement = node
    else:
        return False
    before = statement.prev_sibling
    if before is None or before.end_byte == 0 or before.type == "{":
        return False
    last = tree.root_node.descendant_for_byte_range(before.end_byte - 1, before.end_byte)
    return last is not None and (last.type == ";" or last.type == "}" and before.type.endswith("_statement"))


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


def with_rules(closers: Callable[..., str], spec: LanguageSpec) -> Callable[[str, str], str]:
    """``closers`` (`owed_on_line`, `owed_below`) with the language's rules: what begins its line comments, and
    whether its `{` opens a block (not in Python, where a `{` is a dict's or a set's, closed as a bracket is)."""
    return partial(closers, line_comments=spec.line_comments, block_braces="{" in spec.block_openers)


def owed_terminator(parsed: ParsedSnapshot, offset: int) -> str:
    """The `;` a statement closed at ``offset`` owes (`LanguageSpec.statement_end`), where nothing follows on the
    cursor's line but a comment (`syntax.code_end`)."""
    return parsed.spec.statement_end if code_end(parsed, parsed.snapshot.line_of(offset)) <= offset else ""


def parsing_first(parsed: ParsedSnapshot, offset: int, suggestions: list[Suggestion],
                  should_stop: Callable[[], bool] | None = None) -> list[Suggestion]:
    """Suggestions after which the file parses (or, where it cannot yet, is mended near the cursor: `_mends`) come
    first, each group in the order given (confidence): the rule the code actions choose by. Where none does (or
    none is offered), the first closed so that it does comes before them all: a suggestion followed by the
    brackets still open before ``offset`` that the cursor is inside by the file's layout and that may close on its
    line (`engine.closers.owed_on_line`, with the language's comments and braces: `with_rules`; never a block's
    `}` after code), and by the `;` the statement owes (`owed_terminator`; before the `}` of a block the line opened,
    where only that parses: `if (x) { return g(2` -> `); }`; that `}` never left out where the code below stands
    outside the block), else, where the file has a syntax error
    near the cursor (`error_near`) or a body ends at it (`_body_end_texts`: its `}` due there), those brackets
    alone; in a `#define`'s body, the body's (`_around`). Inside a
    string or a comment (`in_literal`) nothing is closed, nor is a closer offered that the parse reads as one's text
    (`_mends`). The model's closers alone that the `;` is still owed after are those closers with it (`_cut_short`:
    `free(buf` above `buf = NULL;` -> `);`). A small model often stops a closing span a bracket short; on 150
    held-out closing spans the file parsed after 100% of the fills chosen when invoked, where it did after 93.3%
    (docs/evaluation.md). In plain text (`syntax_checked`) the suggestions stay as given. Raises
    `engine.errors.Cancelled` once ``should_stop`` says so."""
    if not syntax_checked(parsed):
        return suggestions
    body = macro_body(parsed, offset)  # once: each lookup walks the tree at the cursor
    ends_block = _body_end_texts(parsed, offset) if body is None else ()
    mends = _mends(parsed, offset, body, should_stop, bool(ends_block))
    passing = [mends(s.text) for s in suggestions]
    suggestions, passing = _cut_short(parsed, offset, body, mends, suggestions, passing)
    if any(passing):
        return [s for s, ok in zip(suggestions, passing) if ok] + [s for s, ok in zip(suggestions, passing) if not ok]
    if in_literal(parsed, offset):
        return suggestions
    before, after, alone, terminator = _around(parsed, offset, body)
    closed = close_to_pass(before, [s.text for s in suggestions], partial(mends, closing=True), after=after,
                           owing=with_rules(owed_on_line, parsed.spec), alone=alone or bool(ends_block),
                           terminator=terminator,
                           line_comments=parsed.spec.line_comments)
    if closed is None and ends_block:
        # Before the rest of the expression on the line, which the line's own closers leave be.
        closed = next(((-1, text) for text in ends_block if mends(text, closing=True)), None)
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
    (`owed_terminator`: `free(buf` above `buf = NULL;` -> `);`); each text once. Read as a fill, `)` owes no more
    closers, so closing it adds nothing, not even the `;`: that comes with the brackets alone."""
    if not any(not ok and _closers_alone(s.text) for s, ok in zip(suggestions, passing)) or in_literal(parsed, offset):
        return suggestions, passing
    before, after, _, terminator = _around(parsed, offset, body)
    closed = None if not terminator else close_to_pass(
        before, [], partial(mends, closing=True), after=after, owing=with_rules(owed_on_line, parsed.spec),
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
    (`error_near`); in the `#define`'s body ``offset`` stands in (`macro_body`), the body's, the brackets alone
    where it leaves one open, and no `;`."""
    whole = parsed.snapshot.text
    if body is None:
        return whole[:offset], whole[offset:], error_near(parsed, offset), owed_terminator(parsed, offset)
    before, after = whole[body[0]:offset], whole[offset:body[1]]
    return before, after, bool(still_open(before + after, line_comments=parsed.spec.line_comments)), ""
