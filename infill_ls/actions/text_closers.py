"""Close structure's closers for text that the grammar reads as code once it is left open: markup's opening tags
(JSX) get their ends, its elements their closing tags, template literals and the strings of a line their quote. The
language's row names the nodes (`LanguageSpec.markup_tag_types`, `LanguageSpec.template_quotes`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import tree_sitter

from engine.closers import OPENER_OF, PAIRS, next_line, scan_window, still_open

from ..context import leading_whitespace
from ..documents import Snapshot
from ..postprocess import indent_columns
from ..suggestions import code_line_above
from ..syntax import ParsedSnapshot, Replacement, parsed_after, token_before
from .edits import NEAR_LINES, leaves, merged_insertions, opener_line, own_lines, tokens, walk


def open_text_closers(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> list[list[Replacement]]:
    """The fixes that close the text left open near the cursor, each one edit: the ends of the opening tags left
    without theirs and the closing tags of the elements left open (`_element_closers`), all in one; then the quote
    of a template literal left open, at each place it may go (`_template_quotes`); then that of a string the
    cursor's line leaves open (`_string_quotes`)."""
    quotes = _template_quotes(parsed, region, offset) + _string_quotes(parsed, offset)
    return [tags for tags in _element_closers(parsed, region, offset) if tags] + [[quote] for quote in quotes]


# A string's opening quote as a token of its own (`"`, Python's `f"`, `"""`), and the quote itself.
_QUOTE = re.compile(rb"[A-Za-z]*(\"(?:\"\")?|'(?:'')?|`)")


def open_quote_before(parsed: ParsedSnapshot, at: int) -> tree_sitter.Node | None:
    """The quote that the line of ``at`` leaves open between its last opener and ``at``: the last of an odd number of
    quotes that the parse holds in an ERROR or in a string it closes with a made-up quote (`_unclosed`). One
    before an opener may open an f-string whose field that opener begins (`f"{parameters.pop('height'`): there a
    closer is code."""
    snap = parsed.snapshot
    start = snap.byte_offset(snap.line_starts[snap.line_of(at)])
    quotes: list[tree_sitter.Node] = []
    for token in tokens(parsed.tree.root_node, start, snap.byte_offset(at), parsed.spec.comment_types):
        if _in_closed_field(token, parsed.spec.code_in_literal_types):
            continue  # `{name}` of `f"hello, {name}!`: the string it stands in is still open
        if token.type in PAIRS:
            quotes = []
        elif _unclosed(parsed, token.parent) and _QUOTE.fullmatch(snap.utf8[token.start_byte : token.end_byte]):
            quotes.append(token)
    return quotes[-1] if len(quotes) % 2 else None


def _in_closed_field(token: tree_sitter.Node, fields: frozenset[str]) -> bool:
    """Whether ``token`` stands in a field of code in a string (of the ``fields`` types: an f-string's `{name}`) that
    its own closer ends."""
    node = token.parent
    while node is not None:
        if node.type in fields:
            last = node.children[-1] if node.child_count else None
            return last is not None and last.type in OPENER_OF and not last.is_missing
        node = node.parent
    return False


def _unclosed(parsed: ParsedSnapshot, holder: tree_sitter.Node | None) -> bool:
    """Whether a quote ``holder`` holds may open a string that nothing closes: an ERROR, or a string whose closing
    quote the parse made up (tree-sitter-rust's in a macro's arguments)."""
    if holder is None:
        return False
    return holder.is_error or holder.type in parsed.spec.literal_types and any(c.is_missing for c in holder.children)


def _string_quotes(parsed: ParsedSnapshot, offset: int) -> list[Replacement]:
    """The quote of a string that the cursor's line leaves open (`open_quote_before` where its code ends), at each
    place it may go: at the cursor where it stands in the string, and where the code of the line ends. Without it
    only a fill closed the string, and the file's or the model's said more than the quote (`'react` closed as
    `'react-error-boundary'`). Not a string of three quotes, nor a template literal, which may span lines
    (`_template_quotes`)."""
    if parsed.spec is None:
        return []
    snap = parsed.snapshot
    line = snap.line_of(offset)
    end = snap.line_starts[line] + len(snap.line_text(line).rstrip())
    quote = open_quote_before(parsed, end)
    if quote is None:
        return []
    mark = _QUOTE.fullmatch(snap.utf8[quote.start_byte : quote.end_byte]).group(1).decode()
    if len(mark) != 1 or mark == "`":
        return []
    opened = snap.char_offset(quote.end_byte)
    points = [at for at in (offset, end) if at >= opened]
    item = "," if _an_item_of_a_list(parsed, line, quote) else ""
    return [Replacement(at, at, mark + (item if at == end else "")) for at in dict.fromkeys(points)]


def _an_item_of_a_list(parsed: ParsedSnapshot, line: int, quote: tree_sitter.Node) -> bool:
    """Whether the string ``quote`` opens is an item of its own line in a list over lines whose items end with a
    `,`, above another item: its line begins with it, in a bracket a line above opened, below a line of code that
    ends with a `,` and above one that begins with a string. Then it ends with a `,` too: without one, it and the
    next line's string are one, joined (Python's `'hash` above `'init',` in a tuple of names)."""
    snap, spec = parsed.snapshot, parsed.spec
    start = snap.line_starts[line]
    if snap.text[start:snap.char_offset(quote.start_byte)].strip() \
            or not still_open(scan_window(snap.text[:start]), line_comments=spec.line_comments):
        return False
    above = code_line_above(parsed, line) or ""
    below = next_line(snap.text[start:], spec.line_comments) or ""
    return above.rstrip().endswith(",") and below.lstrip()[:1] in ("'", '"', "`")


def _element_closers(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> list[list[Replacement]]:
    """The ends the opening tags near ``offset`` owe (`_tag_ends`), and the closing tags of the elements then left
    open (`_open_elements`), found in the text with those ends: without them, the grammar reads the text after a
    tag as more of its attributes (`</form>` below `<input value={v}`), or leaves it all in an ERROR. Where no tag
    lacks its end, as many more fixes as there are such elements, each closing one alone: where a closing tag went
    missing inside an element that a `.map(` callback returns, the grammar reads the closing tags around it as
    no tags, and their elements were closed again (`</li>` with two more `</div>`)."""
    ends = _tag_ends(parsed, region, offset)
    if not ends:
        elements = _open_elements(parsed, walk(region), offset)
        alone = [[element] for element in elements] if len(elements) > 1 else []
        return [_closing_tags(parsed, offset, chosen) for chosen in [elements, *alone]]
    after = parsed_after(parsed, ends)
    moved = offset + sum(len(r.text) for r in ends if r.start <= offset)
    tags = _closing_tags(after, moved, _open_elements(after, _region_after(after, region, ends), moved))
    return [merged_insertions(ends + [Replacement(_before(ends, r.start), _before(ends, r.end), r.text)
                                      for r in tags])]


def _tag_ends(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> list[Replacement]:
    """The ends of the opening tags near ``offset`` left without theirs (`_unended_tags`): `>` where the element
    holds something, its closing tag after it (an element of its name open there is closed by it) or children
    below it, standing deeper than its tag's line; ` />` where it holds nothing (`<input value={v}`)."""
    unended = _unended_tags(parsed, region, offset)
    if not unended:
        return []
    opened = [Replacement(at, at, ">") for _, at in unended]
    after = parsed_after(parsed, opened)
    still_open = {_before(opened, after.snapshot.char_offset(tag.start_byte))
                  for tag, _ in _open_elements(after, _region_after(after, region, opened), offset)}
    snap = parsed.snapshot
    return [Replacement(at, at, " />" if snap.char_offset(tag.start_byte) in still_open and
                        not _children_below(parsed, tag, at) else ">") for tag, at in unended]


def _unended_tags(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> list[tuple[tree_sitter.Node, int]]:
    """The `<`s in ``region`` within `NEAR_LINES` of ``offset`` that open a tag (`_opens_a_tag`) whose end (`>`,
    `/>`) the text leaves out, each with where the end goes: after its name and the attributes that follow it. What
    comes after those is no part of the tag: a token other than its end, an ERROR (`</` of the `</form>` the
    grammar went on to read as an attribute), braces that spread nothing (`_a_child_expression`), type arguments
    a line below the name (`<p>` read as `<div<p>`)."""
    spec = parsed.spec
    if spec is None or not spec.markup_tag_types:
        return []
    line = parsed.snapshot.line_of(offset)
    found: list[tuple[tree_sitter.Node, int]] = []
    for start in leaves(region):
        if start.type != "<" or not _opens_a_tag(parsed, start) or abs(opener_line(parsed, start) - line) > NEAR_LINES:
            continue
        last, part = start, start.next_sibling
        if part is None and start.parent.is_error:
            part = start.parent.next_sibling  # an ERROR of the `<` alone, among the attributes of a tag before it
        while part is not None and part.is_named and not part.has_error and not _a_child_expression(part) and \
                (part.type not in spec.type_argument_types or part.start_byte == last.end_byte):
            last, part = part, part.next_sibling
        if last is not start and not (part is not None and part.type in (">", "/>", "/") and not part.is_missing):
            found.append((start, parsed.snapshot.char_offset(last.end_byte)))
    return found


def _a_child_expression(part: tree_sitter.Node) -> bool:
    """Whether a part of a tag is braces that spread nothing (`{name}`): no attribute, though the grammar takes it
    for one, but an expression among the element's children."""
    return part.text.startswith(b"{") and not part.text[1:].lstrip().startswith(b"...")


def _opens_a_tag(parsed: ParsedSnapshot, start: tree_sitter.Node) -> bool:
    """Whether a `<` opens markup's tag: one the parse puts in a tag, or in an ERROR among a tag's attributes, or
    in one elsewhere after a token that ends no operand (`return <input`, not `a <b`, which compares)."""
    spec = parsed.spec
    tags = (spec.markup_tag_types[0], spec.markup_types[1])
    holder = start.parent
    if holder is None or not (holder.type in tags or holder.is_error):
        return False
    if holder.type in tags or holder.parent is not None and holder.parent.type in tags:
        return True  # an ERROR among a tag's attributes (the tag before it lacks its end) holds no operand
    before = token_before(start)
    return before is None or not (
        before.type in (")", "]") or before.is_named and before.type not in spec.markup_text_types
        or before.parent is not None and before.parent.type in spec.literal_types
    )


def _children_below(parsed: ParsedSnapshot, tag: tree_sitter.Node, end: int) -> bool:
    """Whether the first line of text below that of ``end``, where the tag that ``tag`` opens ends, stands deeper
    than the tag's first line: the element's children."""
    snap = parsed.snapshot
    below = next((text for n in range(snap.line_of(end) + 1, snap.line_count)
                  for text in (snap.line_text(n),) if text.strip()), None)
    indent = leading_whitespace(snap.line_text(opener_line(parsed, tag)))
    return below is not None and indent_columns(leading_whitespace(below)) > indent_columns(indent)


def _region_after(after: ParsedSnapshot, region: tree_sitter.Node, insertions: list[Replacement]
                  ) -> Iterable[tree_sitter.Node]:
    """The nodes of ``after`` (the file with ``insertions`` made in ``region``) that begin where ``region`` spans."""
    end = region.end_byte + sum(len(r.text.encode("utf-8")) for r in insertions)
    return (node for node in walk(after.tree.root_node) if region.start_byte <= node.start_byte < end)


def _before(insertions: list[Replacement], at: int) -> int:
    """Where ``at``, in the text with ``insertions`` made, stands in the text without them."""
    shift = 0
    for r in sorted(insertions, key=lambda r: r.start):
        if r.start + shift + len(r.text) > at:
            break
        shift += len(r.text)
    return at - shift


def _open_elements(parsed: ParsedSnapshot, nodes: Iterable[tree_sitter.Node], offset: int
                   ) -> list[tuple[tree_sitter.Node, int | None]]:
    """The opening tags of ``nodes`` (a region's, in order) within `NEAR_LINES` of ``offset`` that no closing tag of
    their name closes, innermost (the last opened) first, each with the byte where the closing tag of an element
    around it begins (None where none closes one): a closing tag closes the innermost element open of its name, and
    with it those opened inside that are still open (`<li>two` above `</ul>`), whatever element the grammar pairs it
    with by its place alone."""
    if parsed.spec is None or not parsed.spec.markup_tag_types:
        return []
    opening, closing = parsed.spec.markup_tag_types
    stack: list[tree_sitter.Node] = []
    found: list[tuple[tree_sitter.Node, int | None]] = []
    for node in nodes:
        if node.type == opening:
            stack.append(node)
        elif node.type == closing:
            name = _tag_name(node)
            index = next((i for i in range(len(stack) - 1, -1, -1) if _tag_name(stack[i]) == name), None)
            if index is not None:
                found += [(tag, node.start_byte) for tag in reversed(stack[index + 1 :])]
                del stack[index:]
    found += [(tag, None) for tag in reversed(stack)]
    line = parsed.snapshot.line_of(offset)
    near = [(tag, bound) for tag, bound in found if abs(opener_line(parsed, tag) - line) <= NEAR_LINES]
    return sorted(near, key=lambda pair: -pair[0].start_byte)


def _tag_name(tag: tree_sitter.Node) -> bytes:
    """The name a tag gives its element (`Foo.Bar`); a fragment's (`<>`) is empty."""
    name = tag.child_by_field_name("name")
    return b"" if name is None else name.text


def _closing_tags(parsed: ParsedSnapshot, offset: int, open_elements: list[tuple[tree_sitter.Node, int | None]]
                  ) -> list[Replacement]:
    """The closing tags of ``open_elements``, each where its element ends by the layout: on a line of its own at
    its opening tag's line's indentation, after the lines below that stand deeper than that line (on the cursor's
    blank line where it stands right after them); where none does, on the opening tag's line, after its text
    (`_inline_tag_end`). Never after the closing tag of an element around it."""
    snap = parsed.snapshot
    inline: list[Replacement] = []
    groups: dict[int, list[str]] = {}  # where: the closing tags' lines that go there, innermost first
    cursor_line = snap.line_of(offset)
    for tag, bound in open_elements:
        closer = "</" + _tag_name(tag).decode("utf-8", "replace") + ">"
        line = opener_line(parsed, tag)
        indent = leading_whitespace(snap.line_text(line))
        last_line = snap.line_of(snap.char_offset(bound)) if bound is not None else snap.line_count - 1
        last = line
        for n in range(line + 1, last_line + (bound is None)):
            text = snap.line_text(n)
            if not text.strip():
                continue
            if indent_columns(leading_whitespace(text)) <= indent_columns(indent):
                break
            last = n
        if last == line:
            end = _inline_tag_end(parsed, tag, bound)
            inline.append(Replacement(end, end, closer))
            continue
        point = snap.line_starts[last] + len(snap.line_text(last).rstrip())
        if cursor_line > last and not any(snap.line_text(n).strip() for n in range(last + 1, cursor_line + 1)):
            point = offset  # a blank line right below the element's last, the cursor's: the tag goes there
        groups.setdefault(point, []).append(indent + closer)
    return merged_insertions(inline + [own_lines(parsed, point, lines) for point, lines in groups.items()])


def _inline_tag_end(parsed: ParsedSnapshot, tag: tree_sitter.Node, bound: int | None) -> int:
    """Where an element whose text stays on its opening tag's line ends: after that text (`_text_end`), before the
    closing tag of an element around it on the line."""
    snap = parsed.snapshot
    start = snap.char_offset(tag.end_byte)
    stop = snap.line_end(snap.line_of(start))
    return _text_end(parsed, start, stop if bound is None else min(stop, snap.char_offset(bound)))


def _template_quotes(parsed: ParsedSnapshot, region: tree_sitter.Node, offset: int) -> list[Replacement]:
    """The quote of a template literal left open (`_open_template`), after the closers of its substitution still
    open (`${n + 1` owes `}`), at each place it may go: at the cursor where it stands in the literal, and where the
    text of the cursor's line ends (the literal's line, where the cursor stands before it), before what ends the
    statement there (`_text_end`: `console.log(`total: ${n});`). A literal may hold any text over any lines: the
    cursor says where it ends, but where the line goes on after it, the parse decides."""
    quote = _open_template(parsed, region)
    if quote is None:
        return []
    snap = parsed.snapshot
    start = snap.char_offset(quote.end_byte)
    line = snap.line_of(max(offset, start))
    in_literal = offset >= start
    if _closes_a_block_between(snap, snap.line_of(start), line):
        # Code, not the literal's text, stands between: closed at the cursor, the literal took in the `}` of its
        # function and the next function's header. It ends on its own line.
        line, in_literal = snap.line_of(start), False
    end = _text_end(parsed, max(start, snap.line_starts[line]), snap.line_end(line))
    # The cursor after the text of the literal's first line, past the `;` (or the closers) that end the statement
    # it began, where the user who just typed the line stands: closed there, the quote takes them into the literal
    # (`${n} abc;` + `` ` ``). On a later line a `;` is the literal's own (CSS's `margin: 0;`, SQL's).
    past_end = line == snap.line_of(offset) == snap.line_of(start) and offset > end
    points = [offset] if in_literal and not past_end else []
    points.append(end)
    return [Replacement(at, at, _substitutions_open(parsed, quote, at) + quote.type) for at in dict.fromkeys(points)]


def _closes_a_block_between(snap: Snapshot, first: int, last: int) -> bool:
    """Whether a line after ``first`` up to ``last`` begins with a closer (`}`, `)`, `]`) left of ``first``'s
    indentation: the end of the block the line ``first`` stands in. A literal's own lines may stand at any depth
    (SQL at column 0 in a function), but none closes the code around it."""
    depth = indent_columns(leading_whitespace(snap.line_text(first)))
    opened = 0  # brackets the literal's own lines opened: the `}` of its JSON or CSS at column 0 is its own
    for number in range(first + 1, last + 1):
        text = snap.line_text(number)
        code = text.lstrip()
        if code[:1] in OPENER_OF and not opened and indent_columns(text[: len(text) - len(code)]) < depth:
            return True
        opened = max(0, opened + sum(c in PAIRS for c in code) - sum(c in OPENER_OF for c in code))
    return False


def _open_template(parsed: ParsedSnapshot, region: tree_sitter.Node) -> tree_sitter.Node | None:
    """The quote in ``region`` that opens a template literal (`LanguageSpec.template_quotes`) that nothing closes: of
    the literals' quotes the parse holds outside a literal of their kind (in an ERROR), the last of an odd number."""
    if parsed.spec is None or not parsed.spec.template_quotes:
        return None
    kinds = {quote: kind for kind, quote in parsed.spec.template_quotes}
    loose = [n for n in leaves(region) if n.type in kinds and (n.parent is None or n.parent.type != kinds[n.type])]
    return loose[-1] if len(loose) % 2 else None


def _substitutions_open(parsed: ParsedSnapshot, quote: tree_sitter.Node, at: int) -> str:
    """The closers of the brackets a template literal's text opens between its quote and ``at`` (a substitution's
    `${`, the brackets in it), innermost first."""
    owed: list[str] = []
    for token in tokens(parsed.tree.root_node, quote.end_byte, parsed.snapshot.byte_offset(at),
                        parsed.spec.comment_types):
        if token.type == "${" or token.type in PAIRS:
            owed.append("}" if token.type == "${" else PAIRS[token.type])
        elif token.type in OPENER_OF and owed and owed[-1] == token.type:
            owed.pop()
    return "".join(reversed(owed))


def _text_end(parsed: ParsedSnapshot, start: int, stop: int) -> int:
    """Where text (markup's, a literal's) that runs from ``start`` to the end of its line at ``stop`` ends: before a
    closer that closes a bracket opened before ``start`` (`return (<b>{x});`), and before the `;`s that end the
    line's statement (`return <div>hello;`); its blanks left out."""
    text = parsed.snapshot.text
    depth = 0
    for i in range(start, stop):
        depth += (text[i] in "([{") - (text[i] in ")]}")
        if depth < 0:
            stop = i
            break
    return start + len(text[start:stop].rstrip().rstrip(";").rstrip())
