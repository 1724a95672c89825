"""Turning a raw fill into text an editor can insert at the cursor or in place of a placeholder.

The fill is cut to the hole's shape, loses whatever the text after the cursor already says
(closing brackets the editor inserted, the next line), takes the file's indentation and line
breaks, and is dropped when nothing is left, when it holds characters the model broke (U+FFFD), or when
a body it fills is one name or literal that does nothing there (`idle_body`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.closers import OPENER_OF, PAIRS, brackets_in_code, still_open
from engine.lookup import repeats_a_neighbour

from .context import CLOSING, TAB_COLUMNS, HoleShape, InfillContext, indent_columns, leading_whitespace
from .syntax import LANGUAGES, parse_text

if TYPE_CHECKING:
    import tree_sitter

# Control characters other than tab and line breaks: source code does not hold them raw, an editor
# would draw them as ^X, and a model only writes them when it is lost. A fill stops at the first.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(fill: str) -> str:
    """The fill with LF line breaks, up to its first control character."""
    fill = fill.replace("\r\n", "\n").replace("\r", "\n")
    control = _CONTROL.search(fill)
    return fill[: control.start()] if control is not None else fill



_QUOTES = "\"'`"


def _owned_closers(text: str, openers: set[int] | None = None) -> set[int]:
    """Positions in ``text`` of the closing brackets and quotes that ``text`` itself opened; the positions of the
    quotes that open them are added to ``openers``, where given."""
    owned: set[int] = set()
    stack: list[tuple[str, int]] = []
    open_quote: dict[str, int] = {}
    for i, ch in enumerate(text):
        if ch in _QUOTES:
            if ch in open_quote:
                owned.add(i)
                if openers is not None:
                    openers.add(open_quote[ch])
                del open_quote[ch]
            else:
                open_quote[ch] = i
        elif ch in PAIRS:
            stack.append((ch, i))
        elif ch in OPENER_OF and stack and stack[-1][0] == OPENER_OF[ch]:
            stack.pop()
            owned.add(i)
    return owned


def _said_after(core: str, rest: str) -> int:
    """How much of the end of ``core`` the rest of the line already says: the longest tail of it that is a head of
    ``rest``, holding no bracket or quote that ``core`` opened itself. The editor's auto-inserted `)` after
    `print(|` is dropped from a fill `x)`, but a fill `f(x)` keeps its own."""
    owned = _owned_closers(core)
    for size in range(min(len(core), len(rest)), 0, -1):
        if core.endswith(rest[:size]) and not any(i in owned for i in range(len(core) - size, len(core))):
            return size
    return 0


def closers_written_again(text: str, line_before: str, rest_of_line: str) -> int:
    """How many characters at the start of ``rest_of_line`` (the line after the cursor, ``line_before`` the line
    before it) ``text`` writes again on its way: the closers and quotes an editor inserted as their openers were
    typed, where the fill closes those brackets itself and goes on (`Iterator[str` + `]:` before the `]` the editor
    put there; `f("abc` + `", x)` before `")`). A suggestion of ``text`` replaces them, rather than doubling them
    (`]:]`). They are the closers the fill writes for brackets and quotes it did not open, in their order, as the
    editor's are the ones the cursor stands in. Only where the line closes every bracket it opens: in `f(g(x|)`, which
    bracket the `)` is for the text does not tell. 0 where the fill writes none of them, or nothing else."""
    head = re.match(r"[)\]}\"'`]+", rest_of_line)
    if head is None or not _balanced(line_before + rest_of_line):
        return 0
    quoted: set[int] = set()
    owned = _owned_closers(text, quoted) | quoted
    theirs = [ch for i, ch in enumerate(text) if (ch in OPENER_OF or ch in _QUOTES) and i not in owned]
    size = 0
    for mine, editors in zip(theirs, head.group()):
        if mine != editors:
            break
        size += 1
    # As many as leave the line closing what it opens: a closer the fill still has the editor's close for (`rows[`
    # + `0][1`), or one in a string of its own (`append(` + `")" + sep`), is no closer written again.
    while size and not (text.strip() != head.group()[:size]
                        and _balanced(line_before + text + rest_of_line[size:])):
        size -= 1
    return size


def _balanced(line: str) -> bool:
    """Whether ``line``'s code closes each bracket it opens, and none it does not."""
    stack = []
    for _, bracket in brackets_in_code(line):
        if bracket in PAIRS:
            stack.append(bracket)
        elif bracket in OPENER_OF and (not stack or stack.pop() != OPENER_OF[bracket]):
            return False
    return not stack


def fit_line(ctx: InfillContext, fill: str) -> str:
    """One line that sits between the cursor and the rest of its line."""
    blank_before = not ctx.line_prefix.strip()
    text, ends_line, _ = (fill.lstrip("\n") if blank_before else fill).partition("\n")
    if blank_before:
        # On a blank line the fill brings its statement, the file brings the indentation.
        text = text.lstrip()
        indent = _indent_on_blank_line(ctx, text)
        if indent.startswith(ctx.line_prefix):
            text = indent[len(ctx.line_prefix) :] + text if text else text
    elif ctx.line_prefix[-1:] in (" ", "\t"):
        # After a space typed, the model's own space before its text doubles it (`read_csv(path, ` + ` sep=",")`).
        text = text.lstrip(" \t")
    rest = ctx.line_suffix.strip()
    if not rest:
        # The next line again (only the cursor's line being blank lets it be read so).
        if blank_before and (following := _following_lines(ctx)) and text.strip() == following[0].strip():
            return ""
        return text.rstrip()
    if blank_before and ends_line and text.strip():
        # A line of its own before the code the cursor stands at, which keeps its line and indentation (unless it
        # is that code again).
        return "" if text.strip() == rest else text.rstrip() + "\n" + ctx.line_prefix
    core = text.rstrip()
    cut = _said_after(core, rest)
    return core[: len(core) - cut] if cut else text


def _indent_on_blank_line(ctx: InfillContext, text: str) -> str:
    """The indentation of ``text`` written from a cursor with nothing before it on its line: a line that begins
    with the closer of the bracket open there stands where the opener's statement does (`owed_closer`), any other at
    the hole's. One left of the cursor cannot be shown, and the caller keeps the cursor's column."""
    if ctx.owed_closer is not None and text.startswith(ctx.owed_closer[0]):
        return ctx.owed_closer[1]
    return ctx.body_indent


# A fill's line as the column it stands at and its text without indentation ("" when blank).
_Placed = tuple[int, str]


def _placed(lines: list[str], first_column: int) -> list[_Placed]:
    """Each line at its column; the first goes on from ``first_column``."""
    return [
        (indent_columns(leading_whitespace(line)) + (first_column if i == 0 else 0), line.strip())
        for i, line in enumerate(lines)
    ]


def _within(lines: list[_Placed], base: int) -> list[_Placed]:
    """The lines up to the first that dedents below ``base``, less trailing blank lines."""
    body: list[_Placed] = []
    for column, text in lines:
        if text and column < base:
            break  # the fill left the body: what follows belongs to the suffix's code
        body.append((column, text))
    while body and not body[-1][1]:
        body.pop()
    return body


def _step(columns: list[int]) -> int:
    """The fill's own indentation step in columns."""
    widths = sorted(set(columns))
    steps = [b - a for a, b in zip(widths, widths[1:]) if b > a]
    return min(steps) if steps else TAB_COLUMNS


def _render(lines: list[_Placed], base: int, step: int, indent: str, unit: str) -> list[str]:
    """Lines at ``base`` get ``indent``; each ``step`` deeper one more of the file's ``unit``."""
    rendered = []
    for column, text in lines:
        levels, spaces = divmod(column - base, step)
        rendered.append(indent + unit * levels + " " * spaces + text if text else "")
    return rendered


def reindented(fill: str, line_indent: str, unit: str) -> str:
    """A fill that goes on from the text before it on a line indented by ``line_indent``, its further lines in the
    file's kind of indentation where the model wrote the other kind (spaces in a tab-indented file, or tabs in one
    indented with spaces): each of the model's steps becomes one ``unit``, what is left over stays as spaces. Where
    the kinds agree the fill is left as written: columns there can be alignment (a comment's ` * `, a hanging
    argument, a string's text), not depth."""
    lines = fill.split("\n")
    later = [(i, leading_whitespace(line)) for i, line in enumerate(lines) if i and line.strip()]
    base = indent_columns(line_indent)
    columns = [indent_columns(indent) for _, indent in later]
    if not later or min(columns) < base:
        return fill  # a line shallower than the fill's own: no depth to go by
    other_kind = " " if unit == "\t" else "\t"
    if not any(other_kind in indent for _, indent in later):
        return fill  # already the file's kind
    deltas = [b - a for a, b in zip([base, *columns], columns) if b - a >= 2]
    step = max(sorted(set(deltas)), key=deltas.count) if deltas else indent_columns(unit)  # the commonest step
    out = list(lines)
    for i, indent in later:
        levels, spaces = divmod(indent_columns(indent) - base, step)
        out[i] = line_indent + unit * levels + " " * spaces + lines[i].lstrip(" \t")
    return "\n".join(out)


def rebased(fill: str, written: str, line_indent: str, unit: str) -> str:
    """A fill whose first line the model wrote indented by ``written`` with that line at ``line_indent`` instead:
    each later line keeps its depth below the first (Python reads a block's body by it, and a `}` left at the
    model's column stands out of line with its block). A line shallower than the first goes as many columns
    shallower than ``line_indent``, in the file's ``unit``."""
    lines = fill.split("\n")
    shift = indent_columns(line_indent) - indent_columns(written)
    for i, line in enumerate(lines[1:], 1):
        indent = leading_whitespace(line)
        if not line.strip():
            continue
        if indent.startswith(written):
            lines[i] = line_indent + line[len(written) :]
        else:
            columns = max(0, indent_columns(indent) + shift)
            tabs, spaces = divmod(columns, TAB_COLUMNS) if unit == "\t" else (0, columns)
            lines[i] = "\t" * tabs + " " * spaces + line[len(indent) :]
    return "\n".join(lines)


def _closes_opener(lines: list[str], i: int) -> bool:
    """Whether line ``i`` of the fill is closers alone, a `}` among them, that close nothing the lines before it
    opened: the closer of the opener before the hole."""
    text = lines[i].strip()
    return "}" in text and set(text) <= CLOSING and not still_open("\n".join(lines[:i]))


def fit_block(ctx: InfillContext, fill: str) -> str:
    """Lines forming one body at ``ctx.body_indent``, in the file's indentation style."""
    lines = fill.split("\n")
    # A first line that goes on from a cursor standing in the indentation starts at the cursor's column.
    first_column = indent_columns(ctx.line_prefix) if lines[0].strip() and not ctx.line_prefix.strip() else 0
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return ""
    placed = _placed(lines, first_column)
    base = placed[0][0]
    body = _within(placed, base)
    # A closer that closes nothing the fill opened closes the opener, at whatever column the model wrote it (its
    # body's, a closer-only fill's own): the body ends before it.
    ends = next((i for i, (_, text) in enumerate(body) if text and _closes_opener(lines, i)), None)
    if ends is not None:
        body = _within(body[:ends], base)
    step = _step([column for column, text in (body[1:] if first_column else body) if text])
    rendered = _render(body, base, step, ctx.body_indent, ctx.indent_unit)
    # The line that left the body may be the model's closer for the opener: with nothing after the hole to close it,
    # it is kept (at the opener's indentation), unless the file's next line repeats it. One that dedents further
    # closes an outer block, or begins the code after the hole.
    closer = next(((column, text) for column, text in placed[len(body) :] if text), None)
    opener = ctx.opener_indent
    if (closer is not None and opener is not None and not ctx.line_suffix.strip()
            and "}" in closer[1] and set(closer[1]) <= CLOSING
            and (ends is not None or closer[0] == indent_columns(opener))):
        rendered.append(opener + closer[1])
    rendered = _drop_repeated_lines(rendered, ctx)
    if not rendered:
        return ""
    text = "\n".join(rendered)
    if ctx.line_prefix.strip():
        text = "\n" + text  # the cursor sits at the end of the opener's line
    elif text.startswith(ctx.line_prefix):
        text = text[len(ctx.line_prefix) :]  # the cursor already stands in the indentation
    else:
        text = text.lstrip(" \t")
    if ctx.line_suffix.strip():
        text += "\n" + ctx.line_indent  # the closer the editor inserted goes on its own line
    return "" if idle_body(ctx.language, ctx.prefix, text, ctx.suffix) else text


_SPECS = {spec.name: spec for spec in LANGUAGES}
# A fill's text that may be one such expression (a statement's `;` after it): only such a fill is parsed.
ONE_WORD = re.compile(r"[\w.]+;?")


def idle_body(language: str | None, prefix: str, text: str, suffix: str) -> bool:
    """Whether the block fill ``text`` is one name or literal (`LanguageSpec.idle_value_types`) and nothing else, as the
    grammar of ``language`` reads it between ``prefix`` and ``suffix``: as a statement of its own (Go's `n` under
    `func (s *Store) Count() int {`, which parses and does not compile; C's `x;`), or as the body's last expression,
    the body's value (Rust), where that value is `()` (`LanguageSpec.unit_bodies`: a loop's body, a function's with no
    return type) or where it is a name no pattern before it binds (`_bound_before`). A one-letter body is noise; but a
    literal, a parameter or a `let` as the value of a body that has one is what the body returns (`-> bool {` +
    `true`, `|x| {` + `x`, `fn id(n: u32) -> u32 {` + `n`)."""
    content = text.strip()
    spec = _SPECS.get(language or "")
    values = spec.idle_value_types if spec is not None else frozenset()
    if not values or "\n" in content or not ONE_WORD.fullmatch(content):
        return False
    start = len((prefix + text[: text.index(content)]).encode("utf-8", "surrogatepass"))
    end = start + len(content.encode("utf-8", "surrogatepass"))
    node = parse_text(spec, prefix + text + suffix).root_node.named_descendant_for_byte_range(start, end)
    if node is None or node.parent is None:
        return False
    if node.type in values:
        value, holder = node, node.parent
    elif node.named_child_count == 1:
        value, holder = node.named_children[0], node  # `x;`: the statement spans the fill, the name only its word
    else:
        return False
    if value.type not in values:
        return False
    if holder.type == "expression_statement":
        return (holder.start_byte, holder.end_byte) == (start, end) and holder.named_child_count == 1
    if holder.type not in spec.body_types or holder.named_children[-1] != value:
        return False
    owner = holder.parent
    if owner is not None and owner.type in spec.unit_bodies and not _returns_value(owner):
        return True
    return value.type == "identifier" and value.text not in _bound_before(value)


def _returns_value(owner: tree_sitter.Node) -> bool:
    """Whether the function ``owner`` declares a return type that is a value: neither `()` nor `!`."""
    returned = owner.child_by_field_name("return_type")
    return returned is not None and returned.text not in (b"()", b"!")


def _bound_before(node: tree_sitter.Node) -> set[bytes]:
    """The names that patterns before ``node``, in the scopes around it, bind: a function's or a closure's parameters,
    a `let` earlier in a block around it, the pattern of the `for`, the `match` arm or the `if let` it stands in."""
    names: set[bytes] = set()
    child = node
    while (up := child.parent) is not None:
        own = up.child_by_field_name("pattern")
        patterns = [own] if own is not None and own.end_byte <= child.start_byte else []
        for earlier in up.children:
            if earlier.start_byte >= child.start_byte:
                break
            patterns.extend(_patterns(earlier))
        names.update(name.text for pattern in patterns for name in _names_in(pattern) if name.text is not None)
        child = up
    return names


def _patterns(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """The patterns ``node`` binds names with for what follows it: its own (a `let`'s, an `if let`'s condition), or
    those of its parts (a function's parameters, the `let`s of a chain); a closure's `|a, b|` holds bare names."""
    own = node.child_by_field_name("pattern")
    if own is not None:
        yield own
        return
    for part in node.named_children:
        pattern = part.child_by_field_name("pattern")
        if pattern is not None:
            yield pattern
        elif part.type == "identifier" and node.type.endswith("parameters"):
            yield part


def _names_in(pattern: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """The names of ``pattern`` (a tuple struct's name among them, which no body's value is alone)."""
    pending = [pattern]
    while pending:
        node = pending.pop()
        if node.type == "identifier":
            yield node
        pending.extend(node.named_children)


def fit_placeholder(fill: str, line_indent: str, unit: str) -> str:
    """A fill in place of a placeholder on a line indented by ``line_indent``, "" when empty.

    The first line takes the placeholder's place. The model writes on from the text before the
    placeholder, so the further lines carry the file's absolute indentation: each keeps its
    depth below the placeholder's line, in the file's ``unit``, until one dedents out of it.
    Line breaks come out as LF.
    """
    lines = plain_text(fill).strip().split("\n")
    if not lines[0]:
        return ""
    base = indent_columns(line_indent)
    body = _within(_placed(lines, base), base)
    step = _step([base] + [column for column, text in body[1:] if text])
    rendered = _render(body, base, step, line_indent, unit)
    return "\n".join([body[0][1], *rendered[1:]])


def _following_lines(ctx: InfillContext) -> list[str]:
    """The non-blank lines after the hole as they will stand once the fill is in."""
    lines = ctx.suffix.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first, rest = lines[0], lines[1:]
    head = [ctx.line_indent + first.strip()] if first.strip() else []
    return [line.rstrip() for line in head + rest if line.strip()]


def _drop_repeated_lines(lines: list[str], ctx: InfillContext) -> list[str]:
    """Drop the fill's last lines when the text after the hole starts with the same lines."""
    following = _following_lines(ctx)
    content = [i for i, line in enumerate(lines) if line.strip()]
    for size in range(min(len(content), len(following)), 0, -1):
        tail = [lines[i].rstrip() for i in content[-size:]]
        if tail == following[:size]:
            return lines[: content[-size]]
    # Closer-only last lines that close nothing the fill opened repeat the file's next ones that begin with them at
    # the same indentation (the fill's `}` before the editor's `});`). The fill's closer for the opener stands at the
    # opener's indentation (`fit_block`): a next line at another closes an outer block, which the fill's `}` does not;
    # but for one at the indentation of the line the opener's statement starts on, or between (`if (a &&` above
    # `    b) {`, a call's arguments over lines), that closes the opener.
    first = len(content)
    while first and set(lines[content[first - 1]].strip()) <= CLOSING:
        first -= 1
    while first < len(content) and still_open("\n".join(lines[: content[first]])):
        first += 1
    for size in range(min(len(content) - first, len(following)), 0, -1):
        if all(next_line.strip().startswith(lines[i].strip()) and _closes_alike(lines[i], next_line, ctx)
               for i, next_line in zip(content[-size:], following)):
            return lines[: content[-size]]
    return lines


def _closes_alike(closer: str, next_line: str, ctx: InfillContext) -> bool:
    """Whether the file's ``next_line`` closes what the fill's ``closer`` line does, by their indentation."""
    column, next_column = indent_columns(leading_whitespace(closer)), indent_columns(leading_whitespace(next_line))
    if column == next_column:
        return True
    opener = None if ctx.opener_indent is None else indent_columns(ctx.opener_indent)
    statement = opener if ctx.statement_indent is None else indent_columns(ctx.statement_indent)
    return column == opener and statement is not None and statement <= next_column <= opener


def broken_characters(text: str, *around: str) -> bool:
    """Whether ``text`` holds a U+FFFD the text ``around`` it has none of: bytes the model broke off a character
    (the tokenizer decodes them so), which the editor would show as `�`. A file that holds some gets them."""
    return "\ufffd" in text and not any("\ufffd" in part for part in around)


def writes_a_line_again(text: str, start: int, end: int, written: str) -> bool:
    """Whether ``written``, in place of ``text[start:end]``, makes a line it writes code on read as the nearest line
    above or below it that is not blank (`engine.lookup.repeats_a_neighbour`, which a copy from the file is held to
    as well): a small model writes the line beside its hole again, which parses (`import sys` under `import sys`; a
    rewrite of a selection that is the line after it). Of several lines, the first that holds code is held to the
    line above it and the last to the line below."""
    if not written.strip():
        return False
    new = text[:start] + written + text[end:]
    lo = start + len(written) - len(written.lstrip())  # the first character of code written
    hi = start + len(written.rstrip())  # just after the last
    first, last = new.rfind("\n", 0, lo) + 1, new.rfind("\n", 0, hi) + 1  # their lines' starts
    first_end, last_end = (len(new) if (at := new.find("\n", i)) < 0 else at for i in (lo, hi))
    if first == last:
        return repeats_a_neighbour(new[first:last_end], new[:first], new[last_end:])
    return (repeats_a_neighbour(new[first:first_end], new[:first], "")
            or repeats_a_neighbour(new[last:last_end], "", new[last_end:]))


def postprocess(ctx: InfillContext, fill: str) -> str | None:
    """The text to insert at the cursor, or None when the fill adds nothing or holds broken characters."""
    fill = plain_text(fill)
    text = fit_line(ctx, fill) if ctx.shape is HoleShape.LINE else fit_block(ctx, fill)
    if not text.strip() or broken_characters(text, ctx.prefix, ctx.suffix):
        return None
    return text.replace("\n", ctx.eol) if ctx.eol != "\n" else text


def postprocess_all(ctx: InfillContext, fills: list[str]) -> list[str]:
    """Distinct usable fills, in the order given."""
    seen: set[str] = set()
    out: list[str] = []
    for fill in fills:
        text = postprocess(ctx, fill)
        if text is not None and text not in seen:
            seen.add(text)
            out.append(text)
    return out
