"""What to fill at a cursor: the hole's shape and the text windows on both sides of it.

A pure function of a parsed snapshot. Windows are sized by the model's token budget and cut
where a syntax node begins (prefix) or ends (suffix) its line, so the model never sees half a
statement at the edge of its context.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

import tree_sitter

from engine.closers import LINE_COMMENTS, PAIRS, open_brackets, scan_window, still_open

from .documents import Snapshot
from .syntax import LanguageSpec, ParsedSnapshot, expression_brace


class HoleShape(str, Enum):
    LINE = "line"  # the rest of the cursor's line
    BLOCK = "block"  # several lines: a body after an opener, or an empty body


@dataclass(frozen=True)
class WindowBudget:
    """Token budgets for the text around a hole. ``count_tokens`` is the model's tokenizer."""

    prefix_tokens: int
    suffix_tokens: int
    count_tokens: Callable[[str], int]
    chars_per_token: float = 3.5  # first guess for a window; checked with count_tokens


@dataclass(frozen=True)
class Window:
    start: int
    end: int


@dataclass(frozen=True)
class InfillContext:
    uri: str
    version: int
    language: str | None
    offset: int  # the cursor, where the hole begins
    shape: HoleShape
    prefix: str
    suffix: str
    prefix_window: Window
    suffix_window: Window
    line_prefix: str  # the cursor line up to the cursor
    line_suffix: str  # the cursor line after the cursor
    line_indent: str  # leading whitespace of the cursor line
    body_indent: str  # where the first line of a multi-line fill belongs
    indent_unit: str  # the file's indentation step: a tab or some spaces
    eol: str
    # A block hole's: the indentation of the header (or label) its body follows, where the body's closer goes.
    opener_indent: str | None = None
    # A block hole's: the indentation of the line its opener's statement starts on, left of `opener_indent` where the
    # header or a call around it runs over lines (`if (a &&` above `    b) {`): a closer there closes the opener too.
    statement_indent: str | None = None
    # Where nothing but blanks stands before the cursor on its line: the closer of the innermost bracket open there,
    # and the indentation a line that begins with it takes (`_closer_indent`), not the statement's above it.
    owed_closer: tuple[str, str] | None = None


_INDENT = re.compile(r"[ \t]*")
# What may follow the cursor with the hole still open: closers, and what ends a statement or an item.
CLOSING = frozenset(")]};,")


def leading_whitespace(line: str) -> str:
    match = _INDENT.match(line)
    return match.group(0) if match else ""


TAB_COLUMNS = 4


def indent_columns(indent: str) -> int:
    """The columns an indentation takes, a tab to the next multiple of four."""
    return len(indent.expandtabs(TAB_COLUMNS))


# Openers of the comments and strings that can span lines, and the one-line comments and strings that can hold
# such an opener without opening anything (`"/*"`, `// it's`).
_SPANNING = re.compile(r'"""|\'\'\'|/\*|`|//[^\n]*|#[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')
_SPAN_END = {'"""': re.compile('"""'), "'''": re.compile("'''"), "/*": re.compile(r"\*/"), "`": re.compile(r"(?<!\\)`")}


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Rough extents of the comments and strings in ``text`` that span lines, in order."""
    spans = []
    at = 0
    while (found := _SPANNING.search(text, at)) is not None:
        end = _SPAN_END.get(found.group(0))
        if end is None:
            at = found.end()
            continue
        closing = end.search(text, found.end())
        at = closing.end() if closing is not None else len(text)
        if "\n" in text[found.start() : at]:
            spans.append((found.start(), at))
    return spans


# Characters of a file that its indentation step is read from.
INDENT_SCANNED = 200_000


def detect_indent_unit(text: str, max_chars: int = INDENT_SCANNED, usual: str | None = None) -> str | None:
    """The file's indentation step, by majority over its indented lines; None without any. Lines that start inside
    a comment or string (a JSDoc's ` * `, a raw string's SQL) are not the file's indentation. Ties go to ``usual``."""
    text = text[:max_chars]
    spans = iter(_quoted_spans(text))
    span = next(spans, None)
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous = start = 0
    for line in text.splitlines(keepends=True):
        start, line_start = start + len(line), start
        while span is not None and span[1] <= line_start:
            span = next(spans, None)
        if not line.strip() or (span is not None and span[0] < line_start):
            continue
        indent = leading_whitespace(line)
        if indent.startswith("\t"):
            tabs += 1
            continue
        width = len(indent)
        spaces += width > 0
        if width != previous and abs(width - previous) in (2, 3, 4, 8):
            steps[abs(width - previous)] += 1
        previous = width
    if tabs > spaces or (tabs and tabs == spaces and usual == "\t"):
        return "\t"
    if not spaces:
        return None
    if not steps:
        return " " * 4
    most = max(steps.values())
    if usual and usual.strip(" ") == "" and steps[len(usual)] == most:
        return usual
    return " " * next(step for step, count in steps.most_common() if count == most)


# The step found in each snapshot a request asks about (several times: its shape, its context, its action), held
# weakly: an entry goes with its snapshot, so the cache keeps no text alive. (By text, it kept the last few texts
# of every open document, and every keystroke missed it all the same.)
_UNITS: weakref.WeakKeyDictionary[Snapshot, str | None] = weakref.WeakKeyDictionary()
# And the last step found in each of the last few documents, by URI: (the snapshot's `Snapshot.revision`, the usual
# step it was found with, the step). A keystroke's snapshot takes it from the one before where its edit leaves the
# file's indentation as it was (`_indentation_kept`): every keystroke made a new snapshot, and rescanned the file
# (1.4 ms at 60,000 characters, 4.5 ms from 200,000 on).
_LAST_UNITS: OrderedDict[str, tuple[int, str | None, str | None]] = OrderedDict()
LAST_UNITS_KEPT = 64
_UNITS_LOCK = threading.Lock()


def indent_unit(spec: LanguageSpec | None, snap: Snapshot) -> str:
    """The snapshot's indentation step (`detect_indent_unit`), or the language's usual one."""
    usual = spec.indent if spec else None
    with _UNITS_LOCK:
        found = snap in _UNITS
        unit = _UNITS.get(snap)
        last = _LAST_UNITS.get(snap.uri)
    if not found:
        if last is not None and last[:2] == (snap.edited_revision, usual) and _indentation_kept(snap):
            unit = last[2]
        else:
            unit = detect_indent_unit(snap.text, max_chars=INDENT_SCANNED, usual=usual)
        with _UNITS_LOCK:
            _UNITS[snap] = unit
            _LAST_UNITS[snap.uri] = (snap.revision, usual, unit)
            _LAST_UNITS.move_to_end(snap.uri)
            while len(_LAST_UNITS) > LAST_UNITS_KEPT:
                _LAST_UNITS.popitem(last=False)
    return unit or usual or "    "


# Where `str.splitlines` (`detect_indent_unit`) ends a line, and what opens or closes a comment or a string there
# (`_quoted_spans`): a line that one leaves in a string or a comment, or takes out of one, is no longer the file's
# indentation, or is again.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_QUOTING = "\"'`/*#\\"
_BREAK = re.compile(f"[{_LINE_BREAKS}]")
_QUOTE = re.compile(f"[{re.escape(_QUOTING)}]")
_BREAK_OR_QUOTE = re.compile(f"[{_LINE_BREAKS}{re.escape(_QUOTING)}]")


def _indentation_kept(snap: Snapshot) -> bool:
    """Whether `detect_indent_unit` reads ``snap``'s text as it read the text before its one edit (`Snapshot.edits`):
    the edit starts past the characters it reads (`INDENT_SCANNED`); or it stands after the code that begins its
    line, writes and deletes no line break and nothing that opens or closes a comment or a string, with neither
    beside it (`"` + `""` opens one), and the cut after the characters read falls on the same line of both texts,
    which both read with code or both without (a line the edit moves across the cut, or its first code, counts in
    one text only)."""
    if len(snap.edits) != 1:
        return False
    edit, text = snap.edits[0], snap.text
    start, new_end = edit.start, edit.new_end
    if start >= INDENT_SCANNED:
        return True
    if (edit.removed is None or _BREAK_OR_QUOTE.search(edit.removed) or _BREAK_OR_QUOTE.search(text, start, new_end)
            or (start and _QUOTE.match(text, start - 1)) or _QUOTE.match(text, new_end)
            or not text[_line_start(text, start):start].strip()):
        return False
    # Where the read of each text stops, in this text's characters: past the edit, the text before was `growth`
    # characters shorter (the edit wrote that many more than it deleted).
    growth = new_end - start - len(edit.removed)
    old_cut = min(INDENT_SCANNED, len(text) - growth) + growth
    cut = min(INDENT_SCANNED, len(text))
    if min(cut, old_cut) < new_end:
        return False  # the edit crosses the cut
    if cut == old_cut:
        return True
    lo, hi = sorted((cut, old_cut))
    line_start = _line_start(text, lo)
    return not _BREAK.search(text, lo, hi) and bool(text[line_start:lo].strip()) == bool(text[line_start:hi].strip())


def _line_start(text: str, offset: int) -> int:
    """Where the line (as `str.splitlines` breaks them) that holds ``offset`` of ``text`` starts."""
    return max(text.rfind(ch, 0, offset) for ch in _LINE_BREAKS) + 1


# Bytes of a line looked at in one step beside a node: a line is read only as far as it takes to find text beside
# the node, never whole (a minified file is one line of megabytes, and this runs for every node near the windows).
_LINE_STEP = 128


def _starts_line(node: tree_sitter.Node, utf8: bytes) -> bool:
    """Whether only whitespace stands between the start of the node's line and the node."""
    line_start = node.start_byte - node.start_point[1]
    end = node.start_byte
    while end > line_start:
        begin = max(line_start, end - _LINE_STEP)
        if utf8[begin:end].strip():
            return False
        end = begin
    return True


def _ends_line(node: tree_sitter.Node, utf8: bytes) -> bool:
    """Whether only whitespace stands between the node and the end of its line."""
    start = node.end_byte
    while start < len(utf8):
        stretch = utf8[start : start + _LINE_STEP]
        newline = stretch.find(b"\n")
        if stretch[: len(stretch) if newline < 0 else newline].strip():
            return False
        if newline >= 0:
            return True
        start += _LINE_STEP
    return True


def _children_from(node: tree_sitter.Node, byte: int) -> Iterator[tree_sitter.Node]:
    """The node's children in order, from the first that ends after ``byte`` (all of them for a negative byte).
    The cursor skips the children before it without listing them: a minified file's root has tens of thousands."""
    cursor = node.walk()
    moved = cursor.goto_first_child() if byte < 0 else cursor.goto_first_child_for_byte(byte) is not None
    while moved:
        yield cursor.node
        moved = cursor.goto_next_sibling()


def _first_start(node: tree_sitter.Node, lo: int, hi: int, utf8: bytes) -> int | None:
    """Smallest byte >= lo (and <= hi) where a node begins its line."""
    # (Node.first_child_for_byte would skip ahead, but it crashes in this binding; a cursor does not.)
    for child in _children_from(node, lo):
        if child.start_byte > hi:
            return None
        if child.start_byte >= lo and _starts_line(child, utf8):
            return child.start_byte
        found = _first_start(child, lo, hi, utf8)
        if found is not None:
            return found
    return None


def _last_end(node: tree_sitter.Node, lo: int, hi: int, utf8: bytes) -> int | None:
    """Largest byte <= hi (and >= lo) where a node ends its line."""
    within = []
    for child in _children_from(node, lo - 1):  # those that end at lo or later
        if child.start_byte >= hi:
            break
        within.append(child)
    for child in reversed(within):
        if child.end_byte <= hi and _ends_line(child, utf8):
            return child.end_byte
        found = _last_end(child, lo, hi, utf8)
        if found is not None:
            return found
    return None


def _prefix_start(parsed: ParsedSnapshot, lo: int, cursor: int, cursor_byte: int) -> int:
    snap = parsed.snapshot
    if lo <= 0:
        return 0
    line = snap.line_of(lo)
    fallback = snap.line_starts[line] if snap.line_starts[line] == lo else lo
    if line + 1 < snap.line_count and snap.line_starts[line + 1] <= cursor:
        fallback = snap.line_starts[line + 1]
    if parsed.tree is None:
        return fallback
    # Byte offsets from the cursor's: only the window's text is converted, not all the text before it.
    lo_byte = cursor_byte - snap.bytes_between(lo, cursor)
    found = _first_start(parsed.tree.root_node, lo_byte, cursor_byte, snap.utf8)
    if found is None:
        return fallback
    # Keep the node's indentation with it.
    return snap.line_starts[snap.line_of(lo + snap.chars_between(lo_byte, found))]


def _suffix_end(parsed: ParsedSnapshot, cursor: int, hi: int, cursor_byte: int) -> int:
    snap = parsed.snapshot
    if hi >= len(snap.text):
        return len(snap.text)
    line = snap.line_of(hi)
    fallback = hi
    if line > 0 and snap.line_end(line - 1) >= cursor:
        fallback = snap.line_end(line - 1)
    if parsed.tree is None:
        return fallback
    found = _last_end(parsed.tree.root_node, cursor_byte, cursor_byte + snap.bytes_between(cursor, hi), snap.utf8)
    if found is None:
        return fallback
    return snap.line_end(snap.line_of(cursor + snap.chars_between(cursor_byte, found)))


def windows(parsed: ParsedSnapshot, start: int, end: int, budget: WindowBudget) -> tuple[Window, Window]:
    """The prefix window ending at ``start`` and the suffix window starting at ``end``."""
    snap = parsed.snapshot
    text = snap.text
    start_byte = snap.byte_offset(start)
    end_byte = start_byte + snap.bytes_between(start, end)
    prefix_chars = int(budget.prefix_tokens * budget.chars_per_token)
    suffix_chars = int(budget.suffix_tokens * budget.chars_per_token)
    prefix = suffix = None
    for _ in range(4):
        if prefix is None:
            lo = _prefix_start(parsed, _back(text, start, prefix_chars), start, start_byte)
            if budget.count_tokens(text[lo:start]) <= budget.prefix_tokens or prefix_chars <= 1:
                prefix = Window(lo, start)
            else:
                prefix_chars //= 2
        if suffix is None:
            hi = _suffix_end(parsed, end, _ahead(text, end, suffix_chars), end_byte)
            if budget.count_tokens(text[end:hi]) <= budget.suffix_tokens or suffix_chars <= 1:
                suffix = Window(end, hi)
            else:
                suffix_chars //= 2
        if prefix is not None and suffix is not None:
            return prefix, suffix
    # Still over budget after halving: fall back to plain character windows.
    return (
        prefix or Window(_back(text, start, prefix_chars), start),
        suffix or Window(end, _ahead(text, end, suffix_chars)),
    )


# The model reads LF line breaks (`model_text`), so windows are measured in its characters: a CRLF file's windows
# take its carriage returns on top, and hold the same lines as the same file with LF.
def _back(text: str, start: int, chars: int) -> int:
    """The offset `chars` characters before `start`, not counting carriage returns."""
    lo = max(0, start - chars)
    while (wider := max(0, start - chars - text.count("\r", lo, start))) != lo:
        lo = wider
    return lo


def _ahead(text: str, end: int, chars: int) -> int:
    """The offset `chars` characters after `end`, not counting carriage returns."""
    hi = min(len(text), end + chars)
    while (wider := min(len(text), end + chars + text.count("\r", end, hi))) != hi:
        hi = wider
    return hi


def _next_content_line(snap: Snapshot, line: int, step: int) -> int | None:
    line += step
    while 0 <= line < snap.line_count:
        if snap.line_text(line).strip():
            return line
        line += step
    return None


def comment_around(spec: LanguageSpec, node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    """The comment ``node`` stands in, if any."""
    while node is not None and node.type not in spec.comment_types:
        node = node.parent
    return node


def _opener_before(spec: LanguageSpec, tree: tree_sitter.Tree | None, snap: Snapshot, start: int,
                   end: int) -> tuple[int, tree_sitter.Node | None] | None:
    """The body opener that ends the code of the line from ``start`` to ``end``: its offset, and its token in the
    tree (None without one); None where the code ends otherwise. Comments after the code are passed over
    (`def f(x):  # noqa`, `{ // nolint`); text in a comment or a string (a JSDoc's ` * if (ready) {`, a docstring's
    `if x is None:`) opens nothing."""
    stripped = snap.text[start:end].rstrip()
    start_byte = 0 if tree is None else snap.byte_offset(start)
    while tree is not None and stripped:
        end_byte = start_byte + snap.bytes_between(start, start + len(stripped))
        comment = comment_around(spec, tree.root_node.descendant_for_byte_range(end_byte - 1, end_byte))
        if comment is None:
            break
        if comment.start_byte <= start_byte:
            return None  # the line is all comment (or ends one begun above it)
        stripped = stripped[: len(stripped) - snap.chars_between(comment.start_byte, end_byte)].rstrip()
    opener = next((opener for opener in spec.block_openers if stripped.endswith(opener)), None)
    if opener is None:
        return None
    at = start + len(stripped) - len(opener)
    if tree is None:
        return at, None
    byte = start_byte + snap.bytes_between(start, at)
    token = tree.root_node.descendant_for_byte_range(byte, byte + len(opener.encode()))
    # Not a token of its own: the opener is text of a string.
    return (at, token) if token is not None and token.type == opener else None


def _first_word(snap: Snapshot, node: tree_sitter.Node) -> str:
    """The word the node's text starts with (a header's keyword), or ""."""
    word = re.match(rb"[A-Za-z_]\w*", snap.utf8[node.start_byte : node.start_byte + 32])
    return word.group(0).decode() if word else ""


def _opens_block(spec: LanguageSpec | None, tree: tree_sitter.Tree | None, snap: Snapshot, start: int, end: int,
                 after: str = "") -> tuple[int, str] | None:
    """Where the line from ``start`` to ``end`` (``after`` following) is a body's header open at ``end``: the offset
    of its opener, and the indentation of the line the header starts on, which the body goes one step inside."""
    if spec is None or (found := _opener_before(spec, tree, snap, start, end)) is None:
        return None
    at, token = found
    indent = leading_whitespace(snap.text[start:end])
    if not spec.header_words:
        return at, indent
    if after.strip():
        return None  # `x: |)` or `x: |,` stands inside brackets or a list
    # A header broken over lines that its last line does not tell (`def f(a,\n      b):`, a backslash): the tree's
    # header node starts with the word.
    header = token.parent if token is not None else None
    if header is not None and not header.is_error and _first_word(snap, header) in spec.header_words:
        start_byte = snap.byte_offset(start)
        header_start = start - snap.chars_between(min(header.start_byte, start_byte), start_byte)
        return at, leading_whitespace(snap.line_text(snap.line_of(header_start)))
    # `name: |` at a line's end is an annotation; so is one inside a bracket the header's line opened (`def f(a: |`,
    # `key=lambda x: |`): the header is not written yet.
    word = re.match(r"\s*([A-Za-z_]\w*|[)\]}])", snap.text[start:at])
    if word is not None and (word.group(1) in spec.header_words or word.group(1) in ")]}") \
            and not still_open(snap.text[start:at]):
        return at, indent
    return None


def _inline_brace(spec: LanguageSpec | None, tree: tree_sitter.Tree | None, snap: Snapshot, brace: int) -> bool:
    """Whether the `{` at offset ``brace`` opens an expression rather than a body."""
    if spec is None or not spec.inline_brace_types or tree is None or snap.text[brace] != "{":
        return False
    byte = snap.byte_offset(brace)
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    return node is not None and node.type == "{" and expression_brace(spec, node)


# Code that ends where an expression starts (`x = {`, `f(a, {`, `return {`); `=>` ends an arrow function's parameters,
# whose `{` opens its body.
_EXPRESSION_BEFORE = re.compile(r"(?:[=(,\[]|\breturn)$")


def _inline_brace_at_end(spec: LanguageSpec | None, tree: tree_sitter.Tree | None, snap: Snapshot, line_start: int,
                         brace: int) -> bool:
    """Whether the `{` at offset ``brace``, with nothing after it on its line, opens an expression rather than a body.
    Without its `}` the parse is a guess (`if (a) {` reads as an object, a method's `{` in a C++ class as an
    initializer list), so the code before the brace must agree: it ends where an expression starts, and the tree does
    not make the brace a body's (Rust's `let x = {`); or the tree makes it an expression's after a name or a `>`
    (`std::vector<int> v{`, Go's `T{`, JSX's `<ul>{`), where a body's follows a `)` or a keyword."""
    if spec is None or tree is None or snap.text[brace] != "{":
        return False
    byte = snap.byte_offset(brace)
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type != "{" or node.parent is None:
        return False
    code = snap.text[line_start:brace].rstrip()
    if _EXPRESSION_BEFORE.search(code):
        return node.parent.type not in spec.body_types
    if not code or not expression_brace(spec, node):
        return False
    end = snap.byte_offset(line_start + len(code))
    last = tree.root_node.descendant_for_byte_range(end - 1, end)
    return last is not None and (last.is_named or last.type == ">")


def _closed_after(tree: tree_sitter.Tree | None, snap: Snapshot, brace: int, offset: int, after: str) -> bool:
    """Whether ``after``, the rest of the line from ``offset``, starts with the `}` that closes the `{` at ``brace``:
    the editor's, with code going on after it (`go func() {|}()`, `setTimeout(() => {|}, 100)`)."""
    if tree is None or snap.text[brace] != "{" or not after.lstrip().startswith("}"):
        return False
    byte = snap.byte_offset(brace)
    token = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if token is None or token.type != "{" or token.parent is None:
        return False
    # The brace's own `}`: a comment after it on the line can be its parent's last child (JavaScript's).
    closer = next((c for c in reversed(token.parent.children) if c.type == "}"), None)
    closer_byte = byte + snap.bytes_between(brace, offset + len(after) - len(after.lstrip()))
    return closer is not None and not closer.is_missing and closer.start_byte == closer_byte


def _closes_block(spec: LanguageSpec | None, line: str) -> bool:
    return spec is not None and any(line.strip().startswith(c) for c in spec.closers)


_WORD = re.compile(r"[ \t]*([A-Za-z_]\w*)")


def _body_indent(spec: LanguageSpec | None, header_line: str, header_indent: str, unit: str) -> str:
    """Where the body of the header on ``header_line`` starts: one step inside the header, or at the header's own
    indentation after a switch whose labels stand there (`LanguageSpec.flush_labels`)."""
    word = _WORD.match(header_line)
    if spec is not None and word is not None and word.group(1) in spec.flush_labels[0]:
        return header_indent
    return header_indent + unit


def _flush_label(spec: LanguageSpec | None, tree: tree_sitter.Tree | None, snap: Snapshot, line: int) -> str | None:
    """The indentation of ``line`` where it is a label that stands at its switch's own indentation and ends it
    (`case "a":`, `default:`), opening a body one step inside it; None otherwise. Text in a comment or a string is
    no label."""
    text = snap.line_text(line)
    word = _WORD.match(text)
    if spec is None or word is None or word.group(1) not in spec.flush_labels[1] or not text.rstrip().endswith(":"):
        return None
    if tree is not None:
        byte = snap.byte_offset(snap.line_starts[line] + word.start(1))
        token = tree.root_node.descendant_for_byte_range(byte, byte + len(word.group(1)))
        if token is None or token.type != word.group(1):
            return None
    return leading_whitespace(text)


def _statement_indent(spec: LanguageSpec | None, tree: tree_sitter.Tree | None, snap: Snapshot, opener: int,
                      header_indent: str) -> str:
    """The indentation of the line the statement holding the opener at offset ``opener`` starts on: a header's
    first line (`if (a &&` above `    b) {`, a parameter list over lines), or a call's whose arguments run on to
    it (`foo(a,` above `    b, () => {`). The walk up the parse stops at a body or a brace-delimited list (a
    `match`'s arms, an object's members), whose closer closes no opener inside it; ``header_indent`` (the opener's
    own line) where the parse says nothing clear, or gives a line right of it."""
    if spec is None or tree is None or snap.text[opener:opener + 1] != "{":
        return header_indent
    byte = snap.byte_offset(opener)
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type != "{" or node.parent is None:
        return header_indent
    node = node.parent  # the opener's own block
    while (parent := node.parent) is not None and parent.type not in spec.body_types:
        if parent.is_error:
            return header_indent
        first = parent.child(0)
        if first is not None and first.type == "{":
            break
        node = parent
    if node.is_error:
        return header_indent
    indent = leading_whitespace(snap.line_text(snap.line_of(opener - snap.chars_between(node.start_byte, byte))))
    return indent if indent_columns(indent) <= indent_columns(header_indent) else header_indent


def hole_shape(
    spec: LanguageSpec | None, snap: Snapshot, offset: int, unit: str, tree: tree_sitter.Tree | None = None
) -> tuple[HoleShape, str, str | None, str | None]:
    """The hole's shape at the cursor, the indentation of a multi-line fill's first line, and for a block the
    indentation of the header (or label) that opens it and of the line its statement starts on
    (`_statement_indent`)."""
    line = snap.line_of(offset)
    start, end = snap.line_starts[line], snap.line_end(line)
    before, after = snap.text[start:offset], snap.text[offset:end]
    indent = leading_whitespace(before + after)

    if before.strip() and (header := _opens_block(spec, tree, snap, start, offset, after)) is not None:
        opener, header_indent = header
        only_closers_after = all(ch in CLOSING or ch.isspace() for ch in after)
        # A `}` the editor inserted moves to a line of its own, with whatever follows it.
        inline = (_inline_brace(spec, tree, snap, opener) if after.strip()
                  else _inline_brace_at_end(spec, tree, snap, start, opener))
        if (only_closers_after or _closed_after(tree, snap, opener, offset, after)) and not inline:
            return (HoleShape.BLOCK, _body_indent(spec, before, header_indent, unit), header_indent,
                    _statement_indent(spec, tree, snap, opener, header_indent))
    if not before.strip() and not after.strip():
        above_line = _next_content_line(snap, line, -1)
        below_line = _next_content_line(snap, line, +1)
        above = None if above_line is None else snap.line_text(above_line)
        below = None if below_line is None else snap.line_text(below_line)
        header = None if above_line is None else _opens_block(
            spec, tree, snap, snap.line_starts[above_line], snap.line_end(above_line)
        )
        # The indentation of the header above, or of a label above that opens a body as a header does.
        outer = header[1] if header is not None else None
        if outer is None and above_line is not None:
            outer = _flush_label(spec, tree, snap, above_line)
        if outer is not None:
            body = _body_indent(spec, above, outer, unit) if header is not None else outer + unit
            if len(before) > len(outer):
                body = before  # the editor already indented the new line its own way
            below_indent = len(leading_whitespace(below)) if below is not None else -1
            if below is None or below_indent < len(body) or _closes_block(spec, below):
                statement = outer if header is None else _statement_indent(spec, tree, snap, header[0], outer)
                return HoleShape.BLOCK, body, outer, statement
        # A single statement on a blank line lines up with its neighbours.
        if before:
            return HoleShape.LINE, before, None, None
        if below is not None and not _closes_block(spec, below):
            return HoleShape.LINE, leading_whitespace(below), None, None
        if above is not None:
            return HoleShape.LINE, leading_whitespace(above), None, None
    return HoleShape.LINE, indent, None, None


def _closer_indent(parsed: ParsedSnapshot, offset: int) -> tuple[str, str] | None:
    """The closer of the innermost bracket open before ``offset`` and the indentation of the line its statement
    starts on (`_statement_indent`): a `}` written under a body's last statement closes the body's header, and
    stands in line with it, not with the statement. None where no bracket is open."""
    snap, spec = parsed.snapshot, parsed.spec
    window = scan_window(snap.text[:offset])
    stack = open_brackets(window, spec.line_comments if spec is not None else LINE_COMMENTS)
    if not stack:
        return None
    opener = offset - len(window) + stack[-1].at
    header_indent = leading_whitespace(snap.line_text(snap.line_of(opener)))
    return PAIRS[stack[-1].char], _statement_indent(spec, parsed.tree, snap, opener, header_indent)


def shape_at(parsed: ParsedSnapshot, offset: int) -> HoleShape:
    snap = parsed.snapshot
    return hole_shape(parsed.spec, snap, offset, indent_unit(parsed.spec, snap), parsed.tree)[0]


def build_context(
    parsed: ParsedSnapshot, offset: int, budget: WindowBudget, end: int | None = None
) -> InfillContext:
    """The context for a hole at ``offset`` (or replacing ``offset..end``)."""
    snap = parsed.snapshot
    offset = max(0, min(offset, len(snap.text)))
    end = offset if end is None else max(offset, min(end, len(snap.text)))
    unit = indent_unit(parsed.spec, snap)
    shape, body_indent, opener_indent, statement_indent = hole_shape(parsed.spec, snap, offset, unit, parsed.tree)
    prefix, suffix = windows(parsed, offset, end, budget)
    line = snap.line_of(offset)
    line_start = snap.line_starts[line]
    line_end = snap.line_end(snap.line_of(end))
    return InfillContext(
        uri=snap.uri,
        version=snap.version,
        language=parsed.spec.name if parsed.spec else None,
        offset=offset,
        shape=shape,
        prefix=snap.text[prefix.start : prefix.end],
        suffix=snap.text[suffix.start : suffix.end],
        prefix_window=prefix,
        suffix_window=suffix,
        line_prefix=snap.text[line_start:offset],
        line_suffix=snap.text[end:line_end],
        line_indent=leading_whitespace(snap.line_text(line)),
        body_indent=body_indent,
        opener_indent=opener_indent,
        statement_indent=statement_indent,
        owed_closer=None if snap.text[line_start:offset].strip() else _closer_indent(parsed, offset),
        indent_unit=unit,
        eol=snap.eol(offset),
    )
