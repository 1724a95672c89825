"""What is not shown while typing: a suggestion that leaves the file with more syntax errors than it has without it,
or that parses but is no code the user means (`no_worse`). Plain functions over a parsed snapshot: no model, no
protocol."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from engine.closers import (OPENER_OF, PAIRS, SCAN_CHARS, brackets_in_code, next_line, open_brackets, owed_on_line,
                            scan_window, still_open)

from .context import comment_around, leading_whitespace
from .documents import LINE_BREAK, Snapshot
from .postprocess import writes_a_line_again
from .scopes import BUILTINS, ECMASCRIPT_GLOBALS, imported_again, imported_from_nowhere, spelled_in
from .suggestions import (WORD, Suggestion, code_line_above, in_comment, in_literal, macro_body, misplaced_semicolon,
                          open_literal, owed_terminator, parsing_first, syntax_checked, with_rules)
from .syntax import (LanguageSpec, ParsedSnapshot, Replacement, adds_errors, apply_replacements, covers_code_above,
                     iter_problems, layout_problems, nodes_touching, reserved_names, token_before, tree_after,
                     unknown_directives)

if TYPE_CHECKING:
    import tree_sitter


def no_worse(parsed: ParsedSnapshot, suggestions: list[Suggestion],
             should_stop: Callable[[], bool] | None = None) -> list[Suggestion]:
    """The suggestions that leave the file with no more syntax errors than it has without them, and none where it
    has none (`adds_errors`): ghost text that would break the code (a lone quote, a stray keyword) is noise while
    typing. Nor one that leaves a closer on its lines with no opener (`_adds_stray_closer`): the cursor's statement
    is most often unfinished, and a new error that overlaps its own goes uncounted. Nor one with a `;` that parses
    but is no code the user means (`misplaced_semicolon`: `if (!order);`), nor JSX that parses only as the grammar
    reads it, without looking at names (`_misread_markup`: `<li>..</ul>`, a `;` after a child element), nor one that
    re-declares a function its class already has (`redeclares`), a name its scope already binds (`rebinds`), or a
    local its block already declares or a parameter its list names (`local_redeclarations`: C's, C++'s, Java's). On a
    half-typed line, nor one whose own text the parser cannot read (`_writes_error`), one that ends a line that is
    not done (`_ends_open_line`: a `;` in an open call, on a `#` line), or one that unbalances a `#define`'s body
    (`_unbalances_macro`). Nor a `>` after type arguments closed (`_closes_type_arguments_again`: `Vec<u8` + `>>`),
    nor a keyword written where a name stands (`reserved_names`: `if (` + `default)`), nor a `#` line of no directive
    (`unknown_directives`: C's `# return v;`), nor a node the grammar reads
    where the language takes none (`_misplaced_nodes`: `if (x) { foo(a` + `) {`, a function defined in a body; an
    object where JavaScript's block begins, `if (!has) {` + `data: event.data,`), nor
    a `;` that ends a line of a language whose lines none ends (`_semicolon_ends_line`: Go's), nor code the language
    does not read where its grammar does (`_breaks_layout`: a `try:` with no body, a `return` at a class's level).
    Nor, where the line's own error hides theirs or the code parses, a quote alone or a string left open at a line's
    end (`_opens_literal`: `collect(` + `'`), another language's word as a name (`_foreign_names`: `T | ` + `None`),
    a body of members or arms that holds one lone token (`_lone_token_body`: `struct {` + `str`), line comments with
    no word (`_comments_no_word`: `#` where a statement goes), a last line that
    takes in the next line's statement (`_joins_the_next_statement`: `{` + `return` above `f();`), a jump above
    statements of its block (`_jumps_over`), a line ended as a statement done above the body it opens
    (`_ends_above_its_body`: `toSt` + `ring();`), a label ended with `;` (`_ends_a_label_with_semicolon`), a call of a
    literal (`_calls_no_function`), a value its comma makes a tuple no statement means (`_tuples_one_value`,
    `_ends_a_statement_with_a_comma`: `se` + `lf,`), a Python import of a name
    imported already (`_imports_a_name_again`), a
    second import of
    what the file imports (`_imports_again`). Nor, read before any parse, one that writes the line beside it again
    (`writes_a_line_again`: `self.x = 1` under `self.x = 1`). Whatever made the suggestion: the file's copy, or the
    model. One incremental re-parse each (two where a line of the file spells the new line, or where a header it
    ends its line with is read with a body); none, and every suggestion kept, in plain text (`syntax_checked`)."""
    if not syntax_checked(parsed):
        return suggestions
    text = parsed.snapshot.text
    return [s for s in suggestions
            if not writes_a_line_again(text, s.start, s.end, s.text) and _no_worse(parsed, s, should_stop)]


def _no_worse(parsed: ParsedSnapshot, suggestion: Suggestion, should_stop: Callable[[], bool] | None) -> bool:
    """`no_worse`'s test of one suggestion, its checks reading one re-parse. Only the `;`s the suggestion writes are
    held to `misplaced_semicolon`: one the text had is the user's."""
    edit = [Replacement(suggestion.start, suggestion.end, suggestion.text)]
    tree = tree_after(parsed, edit, should_stop)
    start = parsed.snapshot.byte_offset(suggestion.start)
    written = suggestion.text.encode("utf-8", "surrogatepass")
    semicolons = [start + i for i, byte in enumerate(written) if byte == ord(";")]
    return not (adds_errors(parsed, edit, should_stop, tree=tree)
                or any(misplaced_semicolon(tree, byte, parsed.spec) for byte in semicolons)
                or _writes_error(parsed, suggestion, tree, start, start + len(written), should_stop)
                or _ends_open_line(parsed, suggestion, tree, semicolons)
                or _unbalances_macro(parsed, suggestion)
                or _adds_stray_closer(parsed, suggestion, tree)
                or _closes_type_arguments_again(parsed, suggestion, tree)
                or reserved_names(parsed, edit, tree)
                or unknown_directives(parsed, edit, tree)
                or _misplaced_nodes(parsed, suggestion, tree, start, start + len(written))
                or _semicolon_ends_line(parsed, suggestion, tree, semicolons)
                or _misread_markup(tree, start, start + len(written), semicolons, parsed.spec)
                or redeclares(parsed, suggestion, should_stop)
                or rebinds(parsed, suggestion, tree)
                or local_redeclarations(parsed, suggestion, tree)
                or _opens_literal(parsed, suggestion, tree)
                or _closes_with_another_quote(parsed, suggestion)
                or _foreign_names(parsed, suggestion, tree, start, start + len(written))
                or _lone_token_body(parsed, suggestion, tree)
                or _comments_no_word(parsed, suggestion, tree, start)
                or _joins_the_next_statement(parsed, suggestion, tree, start + len(written))
                or _jumps_over(parsed, tree, start, start + len(written))
                or _calls_no_function(tree, start, start + len(written))
                or _tuples_one_value(tree, start, start + len(written))
                or _ends_a_statement_with_a_comma(parsed, suggestion, tree, start + len(written))
                or _repeats_a_key(tree, start, start + len(written))
                or _ends_a_half_word(parsed, suggestion)
                or _stops_in_a_name(parsed, suggestion, tree, start + len(written))
                or _dangles_an_operator(parsed, suggestion, tree, start + len(written))
                or _ends_above_its_body(parsed, suggestion, tree, start + len(written))
                or _ends_a_label_with_semicolon(parsed, suggestion)
                or _returns_what_its_function_does_not(parsed.spec, tree, start, start + len(written))
                or _imports_a_name_again(parsed, tree, start, start + len(written))
                or _imports_from_nowhere(parsed, tree, start, start + len(written))
                or _imports_again(parsed, tree, start, start + len(written))
                or _breaks_layout(parsed, suggestion, edit, tree, should_stop))


def _misplaced_nodes(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree, lo: int,
                     hi: int) -> bool:
    """Whether ``tree`` (the file's with ``suggestion``, whose bytes are ``lo``..``hi``) holds more nodes the
    language takes nowhere the grammar reads them (`LanguageSpec.misplaced_nodes`: `if (x) { foo(a` + `) {`, a
    function defined in a body; an object the grammar reads where JavaScript begins a block, `if
    (!Reflect.has(listener, kBoundListener)) {` + `data: event.data,`, whose members the language reads as labels)
    around those bytes than the file had around the text it replaces: one the user wrote stays theirs."""
    pairs = parsed.spec.misplaced_nodes
    if not pairs or parsed.tree is None:
        return False
    old_hi = parsed.snapshot.byte_offset(suggestion.end)
    return _count_misplaced(tree, lo, hi, pairs) > _count_misplaced(parsed.tree, lo, old_hi, pairs)


def _count_misplaced(tree: tree_sitter.Tree, lo: int, hi: int, pairs: frozenset[tuple[str, str]]) -> int:
    """The nodes of ``pairs`` ((type, parent's type)) in ``tree`` that touch the bytes ``lo``..``hi``: hold one, or
    end or begin at its edge (an empty span's too: where an insertion goes in the old text)."""
    return sum(1 for node in nodes_touching(tree.root_node, lo - 1, hi + 1)
               if node.parent is not None and (node.type, node.parent.type) in pairs)


def _breaks_layout(parsed: ParsedSnapshot, suggestion: Suggestion, edit: list[Replacement], tree: tree_sitter.Tree,
                   should_stop: Callable[[], bool] | None) -> bool:
    """Whether the language does not read the code around ``suggestion`` (``edit``, ``tree`` the file's with it) that
    it read without it (`layout_problems`), where the grammar does: a `try:` whose body is missing, a docstring
    indented deeper than the body it begins, a `return` at a class's level, `import signal` + `.getsignal(sig)`. A
    header that ends the suggestion's last line with no body below it is read with one (`_with_body`): the user types
    it next (`d` + `ef load(self):` on a blank line between methods)."""
    if not layout_problems(parsed, edit, tree):
        return False
    bodied = _with_body(parsed, suggestion, tree)
    return bodied is None or bool(layout_problems(parsed, bodied, tree_after(parsed, bodied, should_stop)))


def _with_body(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree) -> list[Replacement] | None:
    """``suggestion``, and the rest of its last line, with ` pass` after the body's opener (`LanguageSpec.
    block_openers`: where only layouts open a body) that ends that line's code in ``tree`` (the file's with it), a
    comment after it aside; None where the line's code ends otherwise, or the body that opener opens is below it."""
    snap = parsed.snapshot
    line_end = snap.line_end(snap.line_of(suggestion.end))
    text = (suggestion.text + snap.text[suggestion.end:line_end]).encode("utf-8", "surrogatepass")
    start = snap.byte_offset(suggestion.start)
    code = start + len(text.rstrip())
    last = tree.root_node.descendant_for_byte_range(code - 1, code) if code > start else None
    token = token_before(last) if last is not None and last.type in parsed.spec.comment_types else last
    if (token is None or token.type not in parsed.spec.block_openers or token.end_byte <= start
            or token.end_point.row != last.end_point.row):
        return None
    body = token.next_sibling
    if body is not None and body.type in parsed.spec.body_types and body.named_child_count \
            and body.start_point.row > token.end_point.row:
        return None  # the body the header opens stands below it: what the language reads is the header's
    at = token.end_byte - start
    bodied = text[:at] + b" pass" + text[at:]
    return [Replacement(suggestion.start, line_end, bodied.decode("utf-8", "surrogatepass"))]


# A quote that begins a name (Rust's lifetime `'a`, a label `'outer:`) where no quote follows the name.
_LIFETIME = re.compile(r"'[A-Za-z_]\w*(?!['\w])")
# One name, number or one-line string literal: all a body of members holds in `_lone_token_body`'s noise.
_LONE_TOKEN = re.compile(r"[\w$]+|\"[^\"\n]*\"|'[^'\n]*'|`[^`\n]*`")
# A letter, digit or `_`: text typed in a string the fill leaves open, not only the closers after its quote.
_WORDED = re.compile(r"\w")


def _opens_literal(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree) -> bool:
    """Whether ``suggestion``, where the cursor stood in code, is a quote alone (or a body that holds one: `switch
    key {` + `'`), or leaves a literal that ends on its line (`LanguageSpec.line_quotes`) open at the end of a line
    it writes (`_open_quote`), which ``tree`` (the file's with it) reads as a problem: `collect(` + `'a` takes the
    editor's `)` into the string. The line's own error may hide the one the quote makes from the parse's count. A
    string the fill's own text stops in, at the end of the line, is half a line whose end the user types
    (`errors.New("inventory: item`). Text that may run over lines (`LanguageSpec.span_quotes`: a docstring, a
    template literal) may be left open, its quote alone aside; a quote the parse reads as a name's (a Rust
    lifetime), or one after a cursor in markup's text, opens nothing. A cursor in a string or a comment, the
    parse's or one the line leaves open before it (`"ab` + `"`), or on a line that begins inside one, is not
    judged: a quote there may close it."""
    spec = parsed.spec
    quotes = spec.line_quotes + spec.span_quotes
    if not any(quote in suggestion.text for quote in quotes):
        return False
    snap = parsed.snapshot
    line_start = snap.line_starts[snap.line_of(suggestion.start)]
    if (in_literal(parsed, suggestion.start) or (line_start and in_literal(parsed, line_start))
            or _open_quote(snap.text[line_start:suggestion.start], spec) is not None):
        return False
    if len(suggestion.text.strip()) == 1:
        return True  # the one character is a quote
    cursor = snap.byte_offset(suggestion.start)
    node = parsed.tree.root_node.descendant_for_byte_range(max(cursor - 1, 0), cursor)
    if node is not None and node.type in spec.markup_text_types:
        return False  # the page's text, where a quote is an apostrophe: `<p>Don` + `'t`
    rest = snap.text[suggestion.end:snap.line_end(snap.line_of(suggestion.end))]
    lines = (snap.text[line_start:suggestion.start] + suggestion.text + rest).split("\n")
    first = snap.byte_offset(line_start)
    for n, line in enumerate(lines):
        found = _open_quote(line, spec)
        if found is not None:
            at, spans = found
            if spans:
                return False  # what follows is the literal's text, which no scan of a line can tell from code
            if n == len(lines) - 1 and not rest.strip() and _WORDED.search(line, at + 1):
                # The fill's own text, the string's end still to type: `errors.New("inventory: item`; not a quote
                # before the closers alone (`len(` + `")`), which leave nothing typed in it.
                return False
            quote = first + len(line[:at].encode("utf-8", "surrogatepass"))
            end = first + len(line.encode("utf-8", "surrogatepass"))
            return any(node.start_byte <= end and quote <= node.end_byte for node in iter_problems(tree.root_node))
        first += len(line.encode("utf-8", "surrogatepass")) + 1
    return False


# What may follow a string's closing quote to the end of a fill that ends the string: closers and punctuation.
_AFTER_A_STRING = re.compile(r"[\s)\]},;:]*\Z")


def _closes_with_another_quote(parsed: ParsedSnapshot, suggestion: Suggestion) -> bool:
    """Whether ``suggestion``, with the cursor in a one-line string its line opened (`_open_quote`), ends as a string
    ending with another quote than that string's, which leaves it open: `help="don't recurse into subdire` +
    `ctory')`, a copy of a line whose strings are `'...'`. An apostrophe inside a word is no string's end."""
    if not suggestion.text.strip():
        return False
    spec = parsed.spec
    snap = parsed.snapshot
    line_start = snap.line_starts[snap.line_of(suggestion.start)]
    before = snap.text[line_start:suggestion.start]
    found = _open_quote(before, spec)
    if found is None or found[1] or (line_start and in_literal(parsed, line_start)):
        return False
    opened = next(quote for quote in sorted(spec.line_quotes, key=len, reverse=True) if before.startswith(quote,
                                                                                                        found[0]))
    text = suggestion.text.split("\n", 1)[0].rstrip()
    rest = snap.text[suggestion.end:snap.line_end(snap.line_of(suggestion.end))] if "\n" not in suggestion.text else ""
    if opened in text or _open_quote(before + text + rest, spec) is None:
        return False  # its own quote ends it; or the editor's after the cursor does (`f"mode '` + `{mode}'` + `")`)
    inside = before[found[0] + len(opened):]
    for quote in spec.line_quotes:
        at = text.rfind(quote)
        if quote == opened or at < 0 or _AFTER_A_STRING.match(text, at + len(quote)) is None:
            continue
        # A quotation the string's text opened (`f"unknown mode '` + `{mode}'`), which this quote ends; an
        # apostrophe between two letters (`don't`) opens none.
        if len(re.findall(rf"(?<![^\W_]){re.escape(quote)}|{re.escape(quote)}(?![^\W_])", inside)) % 2:
            continue
        # A quote after a letter that ends the fill may be a plural's possessive (`"the users'`), a string's text.
        if at + len(quote) < len(text) or not (text[at - 1] if at else before[-1]).isalnum():
            return True
    return False


def _open_quote(line: str, spec: LanguageSpec) -> tuple[int, bool] | None:
    """The index of the quote whose string or character literal ``line`` (a line of code, from a point in code)
    leaves open at its end, and whether that literal may run over lines (`LanguageSpec.span_quotes`); None where it
    leaves none. A comment ends the scan; a `\\` escapes the character after it; a template literal's `${` holds
    code up to its `}` (`LanguageSpec.template_quotes`)."""
    quotes = sorted(spec.line_quotes + spec.span_quotes, key=len, reverse=True)
    templates = {quote for _, quote in spec.template_quotes}
    literal: tuple[str, int] | None = None  # the quote of the literal the scan is in, and its index
    substitutions: list[list] = []  # for each `${` open: the braces opened in it, and its literal
    i = 0
    while i < len(line):
        if literal is not None:
            quote = literal[0]
            if line.startswith(quote, i):
                literal, i = None, i + len(quote)
            elif quote in templates and line.startswith("${", i):
                substitutions.append([0, literal])
                literal, i = None, i + 2
            else:
                i += 2 if line[i] == "\\" else 1
            continue
        if line.startswith(spec.line_comments, i):
            return None
        if line.startswith("/*", i):
            end = line.find("*/", i + 2)
            if end < 0:
                return None
            i = end + 2
            continue
        if substitutions and line[i] in "{}":
            if line[i] == "}" and not substitutions[-1][0]:
                literal = substitutions.pop()[1]
            else:
                substitutions[-1][0] += 1 if line[i] == "{" else -1
            i += 1
            continue
        quote = next((q for q in quotes if line.startswith(q, i)), None)
        if quote is None or (quote == spec.lifetime_quote and _LIFETIME.match(line, i)):
            i += 1
            continue
        literal, i = (quote, i), i + len(quote)
    return None if literal is None else (literal[1], literal[0] in spec.span_quotes)


def _foreign_names(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree, lo: int,
                   hi: int) -> bool:
    """Whether ``suggestion`` (its bytes ``lo``..``hi`` of ``tree``, the file's with it) writes a byte of a name
    (an identifier node of any kind: code, never a string's or a comment's text) that is another language's word
    (`LanguageSpec.foreign_words`) the file never spells: `T | ` + `None` in TypeScript, `type L` + `evel = None` in
    Go. A file that spells one has a name of its own."""
    words = parsed.spec.foreign_words
    snap = parsed.snapshot
    line = snap.text[snap.line_starts[snap.line_of(suggestion.start)]:suggestion.start] + suggestion.text
    if not words or not words.intersection(WORD.findall(line)):
        return False
    return any(node.child_count == 0 and "identifier" in node.type and node.start_byte < hi and lo < node.end_byte
               and (word := node.text.decode("utf-8", "replace")) in words
               and re.search(rf"\b{word}\b", snap.text) is None
               for node in nodes_touching(tree.root_node, lo, hi))


def _lone_token_body(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree) -> bool:
    """Whether ``suggestion``, between a `{` and its `}` (whitespace aside), makes the body of members or arms they
    hold (`LanguageSpec.member_body_types`, as ``tree``, the file's with it, reads the `{`) hold one name or literal
    alone (`_LONE_TOKEN`): `type Config struct {` + `str`, `class Help {` + `_`. A field wants its type, an arm its
    `case` or its `=>`. Go's `switch r.Method {` (`LanguageSpec.flush_labels`' headers) whose cases stand below its
    `}` while the line is typed the grammar reads as a composite literal, `r.Method{}`: the header's word tells."""
    spec, code = parsed.spec, suggestion.text.strip()
    if not spec.member_body_types or _LONE_TOKEN.fullmatch(code) is None:
        return False
    snap = parsed.snapshot
    line_start = snap.line_starts[snap.line_of(suggestion.start)]
    before = snap.text[line_start:suggestion.start].rstrip()
    if not before.endswith("{") or not snap.text[suggestion.end:].lstrip().startswith("}"):
        return False
    if not spec.flush_labels[0].isdisjoint(WORD.findall(before)[:1]):
        return True
    brace = snap.byte_offset(line_start + len(before) - 1)
    node = tree.root_node.descendant_for_byte_range(brace, brace + 1)
    return (node is not None and node.type == "{" and node.parent is not None
            and node.parent.type in spec.member_body_types)


def _comments_no_word(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree, lo: int) -> bool:
    """Whether ``suggestion`` writes line comments alone, none with a word in it: `#` where `return None` goes, a
    file's `#------` rule copied to a blank line. Such ghost text says nothing and is one keystroke's typing or a
    divider the file has elsewhere. ``tree`` (the file's with it) must read a comment where it begins (a grammar may
    hold the `//` as a token of its own, Rust's): text in a string that looks like one is no comment."""
    lines = [line.strip() for line in suggestion.text.splitlines() if line.strip()]
    if not lines or any(not line.startswith(parsed.spec.line_comments) or _WORDED.search(line) for line in lines):
        return False
    first = lo + len(suggestion.text[:len(suggestion.text) - len(suggestion.text.lstrip())].encode(
        "utf-8", "surrogatepass"))
    return comment_around(parsed.spec, tree.root_node.descendant_for_byte_range(first, first + 1)) is not None


def _joins_the_next_statement(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree,
                              hi: int) -> bool:
    """Whether ``suggestion``, over lines (``tree``: the file's with it, whose bytes it ends at ``hi``), begins on
    its last line a statement that takes in the statement the next line of code began: `if (rb == NULL) {` +
    `\n        return` above `fprintf(stderr, ...);` reads `return fprintf(stderr, ...);`, which parses, and is
    not what either meant."""
    if "\n" not in suggestion.text or parsed.tree is None or parsed.spec is None:
        return False
    text = parsed.snapshot.text
    rest = len(text) - len(text[suggestion.end:].lstrip())
    if "\n" not in text[suggestion.end:rest] or rest == len(text):
        return False  # the line goes on after the fill, or no code follows
    old_at = parsed.snapshot.byte_offset(rest)
    began = _statement_at(parsed.tree.root_node, old_at, parsed.spec.body_types)
    if began is None or began.start_byte != old_at:
        return False
    now = _statement_at(tree.root_node, hi + old_at - parsed.snapshot.byte_offset(suggestion.end),
                        parsed.spec.body_types)
    last_line = hi - len(suggestion.text.rsplit("\n", 1)[1].encode("utf-8", "surrogatepass"))
    return now is not None and last_line <= now.start_byte < hi


# Statements after which nothing of their block runs.
_JUMPS = frozenset({"return_statement", "raise_statement", "throw_statement", "break_statement",
                    "continue_statement"})


def _jumps_over(parsed: ParsedSnapshot, tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) writes a `return`, `raise`, `break`
    or the like that a statement of its block the file had follows, which then never runs: `def is_receipt(self):`
    + `\n        return None` above the body it has, `} else {` + `return result;` above its own lines."""
    if parsed.spec is None:
        return False
    for node in nodes_touching(tree.root_node, lo, hi):
        if node.type not in _JUMPS or not (lo <= node.start_byte and node.end_byte <= hi):
            continue
        following = node.next_named_sibling
        while following is not None and following.type in parsed.spec.comment_types:
            following = following.next_named_sibling
        if following is not None and following.start_byte >= hi:
            return True
    return False


# A literal a call's `function` is: no value of one is called (`return 2` + `(*args, **kwargs)`).
_LITERALS = frozenset({"integer", "float", "string", "number", "number_literal", "string_literal", "int_literal",
                       "float_literal", "integer_literal", "true", "false", "none", "null", "concatenated_string",
                       "template_string", "raw_string_literal", "interpreted_string_literal"})


_NUMBERS = frozenset({"integer", "float", "number", "number_literal", "int_literal", "float_literal",
                      "integer_literal"})


def _calls_no_function(tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) calls a literal or indexes a number,
    or writes the call a Python `except` names as its type: `return 2` + `(*args, **kwargs)`, `return 0` + `[i]`,
    `except Sto` + `ckError(f"...")`. Each parses; the first two raise TypeError when they run, the last when an
    exception reaches it."""
    for node in nodes_touching(tree.root_node, lo, hi):
        if node.type in ("call", "call_expression"):
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if (function is not None and function.type in _LITERALS and arguments is not None
                    and arguments.end_byte > lo):
                return True
        elif node.type in ("subscript", "subscript_expression"):
            # A number indexed (`return 0` + `[args.command](args)`); a string's character is a value.
            value = node.child_by_field_name("value") or node.child_by_field_name("object")
            if value is not None and value.type in _NUMBERS and value.end_byte <= lo < node.end_byte:
                return True
        elif node.type == "except_clause" and node.named_children and node.named_children[0].type == "call":
            call = node.named_children[0]
            if call.start_byte < hi and lo < call.end_byte:
                return True
    return False


def _returns_what_its_function_does_not(spec: LanguageSpec, tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a `return` a fill writes (its bytes ``lo``..``hi`` of ``tree``, the file's with it) gives back other
    than its function returns (`LanguageSpec.returns_checked`): in Go, as many values as its results (a bare one where
    they are named; one call may give back several), in Rust, a value where the function's return type is one
    (`return;` in `fn get() -> i64`). Either fails to compile; the grammar reads both. A fill that ends on `return`
    is half a line."""
    if not spec.returns_checked:
        return False
    for node in nodes_touching(tree.root_node, lo, hi):
        if node.type not in ("return_statement", "return_expression") or not (node.start_byte < hi
                                                                             and lo < node.end_byte):
            continue
        # A fill that ends on the keyword is half a line: the value is typed next.
        bare = node.end_byte >= hi and not node.named_children
        function = node.parent
        while function is not None and function.type not in spec.function_types | spec.returns_checked:
            function = function.parent
        if function is None or function.type not in spec.returns_checked:
            continue
        results, returns = function.child_by_field_name("result"), function.child_by_field_name("return_type")
        if function.child_by_field_name("body") is None:
            continue
        if returns is not None or node.type == "return_expression":
            if not node.named_children and returns is not None and returns.type != "unit_type" and not bare:
                return True
            continue
        wanted = 0 if results is None else 1 if results.type != "parameter_list" else sum(
            max(1, sum(1 for c in d.children if c.type == "identifier")) for d in results.named_children
            if d.type == "parameter_declaration")
        named = results is not None and results.type == "parameter_list" and any(
            d.child_by_field_name("name") is not None for d in results.named_children)
        values = node.named_children[0].named_children if node.named_children and \
            node.named_children[0].type == "expression_list" else node.named_children
        given = len(values)
        if (given == 0 and wanted and not named and not bare) or (given and given != wanted
                                                    and not (given == 1 and values[0].type == "call_expression")):
            return True
    return False


# Nodes keyed within their container, and the field that holds the key ("" for the node's own text): a dictionary's
# or an object's pairs, a map literal's elements, a switch's cases (a `default` keyed as itself).
_KEYED = {"pair": "key", "keyed_element": "key", "switch_case": "value", "expression_case": "value",
          "case_statement": "value", "switch_label": "", "switch_default": "", "default_case": ""}
# Containers whose string elements are each written once: a list of names (`__all__`), a set.
_STRING_LISTS = frozenset({"list", "set", "array"})
# Keyed nodes that stand beside others of another type in the same container: a switch's cases and its `default`.
_KEYED_TOGETHER = ({"switch_case", "switch_default"}, {"expression_case", "default_case"})
# How far up from a case its switch's cases stand: Java's labels are in groups.
_SWITCHES = frozenset({"switch_body", "switch_block", "expression_switch_statement", "compound_statement"})


def _repeats_a_key(tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) writes a key its container holds
    already: a dictionary's or an object's key, a switch's case (or a second `default`), a string a list or set holds
    (`"Namespace",` again in `__all__`). A later key overwrites the first, a later case never runs, or a compiler
    refuses it; a name listed twice says nothing more."""
    for node in nodes_touching(tree.root_node, lo, hi):
        if node.type in _KEYED:
            key = _key_of(node)
            if key is None or not (key[0] < hi and lo < key[1]):
                continue
            container = node.parent
            if node.type in ("switch_label", "case_statement", "switch_case", "switch_default"):
                while container is not None and container.type not in _SWITCHES:
                    container = container.parent
            if container is None:
                continue
            others = [other for other in _keyed_in(container, node.type) if other.id != node.id]
            if any((k := _key_of(other)) is not None and k[2] == key[2] for other in others):
                return True
        elif node.type == "string" and node.start_byte < hi and lo < node.end_byte:
            text = _unquoted(node.text)
            if any(other.type == "string" and other.id != node.id and _unquoted(other.text) == text
                   for other in _listed_beside(node)):
                return True
    return False


def _listed_beside(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The elements of the list or set ``node`` stands in, those after the `[` of one still open (which the grammar
    reads as an ERROR: the list the user is writing) too; none where it stands in neither."""
    parent = node.parent
    if parent is None:
        return []
    if parent.type in _STRING_LISTS:
        return parent.named_children
    if parent.type != "ERROR":
        return []
    children = parent.children
    at = next(i for i, child in enumerate(children) if child.id == node.id)
    opened = next((i for i in range(at - 1, -1, -1) if children[i].type in ("[", "]")), None)
    if opened is None or children[opened].type != "[":
        return []
    elements = []
    for child in children[opened + 1:]:
        if child.type == "]":
            break
        elements.append(child)
    return elements


def _keyed_in(container: tree_sitter.Node, kind: str) -> list[tree_sitter.Node]:
    """The nodes keyed as ``kind`` is (a case, a pair) among ``container``'s children and their children."""
    kinds = next((group for group in _KEYED_TOGETHER if kind in group), {kind})
    found = []
    for child in container.named_children:
        if child.type in kinds:
            found.append(child)
        else:
            found.extend(grandchild for grandchild in child.named_children if grandchild.type in kinds)
    return found


def _key_of(node: tree_sitter.Node) -> tuple[int, int, bytes] | None:
    """The bytes of ``node``'s key and the key as compared: quotes and spaces aside; a `default` as itself."""
    field = _KEYED[node.type]
    key = node.child_by_field_name(field) if field else node
    if key is None:
        return (node.start_byte, node.end_byte, b"default") if node.type == "case_statement" else None
    text = b"".join(key.text.split()) if key.type != "string" else _unquoted(key.text)
    if node.type in ("switch_default", "default_case"):
        text = b"default"
    return key.start_byte, key.end_byte, text


def _unquoted(text: bytes) -> bytes:
    return text.strip(b"'\"`")


# Words after which a name is declared: its own, whatever the file holds.
_DECLARES = re.compile(r"\b(?:def|class|function|fn|func|struct|enum|interface|type|trait|let|const|var|mut|"
                       r"import|package|mod|use|namespace)\s+$")
# The name a half-typed word before the cursor may be: a letter or `_` or `$` first.
_WORD_BEFORE = re.compile(r"[A-Za-z_$][\w$]*$")


# Operators that take a right operand: a fill that ends its line with one takes the next line's code as that operand.
_BINARY_OPERATORS = frozenset({"&", "|", "&&", "||", "+", "-", "*", "/", "%", "^", "<<", "and", "or"})


def _dangles_an_operator(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree, hi: int) -> bool:
    """Whether ``suggestion`` (one line; its bytes end at ``hi`` of ``tree``, the file's with it) ends its line with a
    binary operator above a line of code, which then becomes the operator's right operand: `let s = (a +` + ` b) &`
    above `s.len()`, `to >=` + ` 0 &` above `throw ...`. Not where that line was an operand already, of an operator
    on a line above the fill's (`a &&` above `c;`, with `b &&` typed between)."""
    text = suggestion.text
    if "\n" in text or not text.strip() or parsed.tree is None or parsed.spec is None:
        return False
    snap = parsed.snapshot
    end = snap.text.find("\n", suggestion.end)
    rest = len(snap.text) - len(snap.text[suggestion.end:].lstrip())
    if end < 0 or snap.text[suggestion.end:end].strip() or rest == len(snap.text):
        return False  # the line goes on after the fill, or no code follows
    last = hi - (len(text.encode("utf-8", "surrogatepass")) - len(text.rstrip().encode("utf-8", "surrogatepass")))
    node = tree.root_node.descendant_for_byte_range(last - 1, last)
    if node is None or node.end_byte != last or node.type not in _BINARY_OPERATORS or node.parent is None \
            or "binary" not in node.parent.type:
        return False
    # Where the next line was an operand already, of an operator on a line above the fill's, it stays one.
    line_start = snap.byte_offset(snap.line_starts[snap.line_of(suggestion.start)])
    held = parsed.tree.root_node.descendant_for_byte_range(snap.byte_offset(rest), snap.byte_offset(rest) + 1)
    while held is not None:
        if "binary" in held.type and held.start_byte < line_start:
            return False
        held = held.parent
    return True


# The first character of a line that goes on with the statement of the line above: a member's `.`, a ternary's `?`
# and `:`, a closer, an arrow, an operator.
_GOES_ON = frozenset(".?:)]},=+-*/%&|^<>!")
# A header whose `;` parts its clauses (Go's `if err := f(); err != nil {`, `for i := 0; i < n; i++ {`).
_CLAUSED_HEADER = re.compile(r"\s*(?:if|for|switch|while|select)\b")


def _ends_above_its_body(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree, hi: int) -> bool:
    """Whether ``suggestion`` (one line; its bytes end at ``hi`` of ``tree``, the file's with it) ends its line as a
    statement or an item done, with a `;`, a `}` or a `},`, where the next line of code stands deeper: the body that
    the line opens in the file (`public String toSt` + `ring();` above the body of `toString() {`, Go's `Director:
    func(r` + ` *http.Request) {},` above the function's lines). The lines after one done stand no deeper in a
    language of braces; Python's layout is CPython's to read (`_breaks_layout`). Not where the line leaves a bracket
    open or its construct goes on below (a JSX tag's attributes), nor where the next line goes on with the statement
    (`.then(...)`, an operator), nor at a header whose `;` parts its clauses, nor on a preprocessor's line. Deeper is
    the same indentation and more, as written: a line of tabs below one of spaces tells nothing; nor does a line
    that stands left of the code above it (a debug print at column 0)."""
    text, spec, snap = suggestion.text, parsed.spec, parsed.snapshot
    if "\n" in text or not text.strip() or spec is None or spec.layout_error is not None:
        return False
    line = snap.line_of(suggestion.start)
    if snap.text[suggestion.end:snap.line_end(line)].strip():
        return False
    written = snap.text[snap.line_starts[line]:suggestion.start] + text
    if written.lstrip().startswith("#") or _CLAUSED_HEADER.match(written) \
            or still_open(written, line_comments=spec.line_comments):
        return False
    last = hi - (len(text.encode("utf-8", "surrogatepass")) - len(text.rstrip().encode("utf-8", "surrogatepass")))
    node = tree.root_node.descendant_for_byte_range(last - 1, last)
    if node is None or node.end_byte != last:
        return False
    anchor = token_before(node) if node.type == "," else node
    if anchor is None or anchor.type not in (";", "}") or (node.type == "," and anchor.type != "}"):
        return False
    first = snap.byte_offset(snap.line_starts[line] + len(written) - len(written.lstrip()))
    held = anchor  # the largest node the line begins that holds it; the file's own node (`program`) is no such
    while held.parent is not None and held.parent.parent is not None and held.parent.start_byte >= first:
        held = held.parent
    if held.end_byte > hi:
        return False  # the construct the line begins goes on below it
    indent = leading_whitespace(written)
    above = code_line_above(parsed, line)
    if above is not None and not indent.startswith(leading_whitespace(above)):
        return False
    below = next_line(snap.text[suggestion.end:], spec.line_comments)
    return below is not None and len(leading_whitespace(below)) > len(indent) \
        and leading_whitespace(below).startswith(indent) and below.lstrip()[0] not in _GOES_ON


# A `case` or `default` label of a switch that a `;` ends where its `:` goes; not an arm (Java's `case 1 -> 0;`).
_LABEL_ENDED = re.compile(r"\s*(?:case\b[^:=>]*|default\s*);\s*\Z")


def _ends_a_label_with_semicolon(parsed: ParsedSnapshot, suggestion: Suggestion) -> bool:
    """Whether ``suggestion`` ends a `case` or `default` label with a `;` where its `:` goes (`case Z_NEED` +
    `_ERROR;`), in a switch's body: the line is half-typed already, and the parse counts no new error. Not a line
    that goes on the one above (C++'s `= ` above `default;`), nor where no switch holds the line (a Rust `case`
    is a name)."""
    if "\n" in suggestion.text or ";" not in suggestion.text or parsed.spec is None \
            or parsed.spec.layout_error is not None or parsed.tree is None:
        return False
    snap = parsed.snapshot
    line = snap.line_of(suggestion.start)
    written = snap.text[snap.line_starts[line]:suggestion.start] + suggestion.text \
        + snap.text[suggestion.end:snap.line_end(line)]
    if _LABEL_ENDED.match(written) is None:
        return False
    above = code_line_above(parsed, line)
    if above is not None and above.rstrip().endswith("="):
        return False
    at = snap.byte_offset(suggestion.start)
    node = parsed.tree.root_node.descendant_for_byte_range(max(at - 1, 0), at)
    while node is not None and "switch" not in node.type:
        node = node.parent
    return node is not None


# A string alone that is code, not prose: an ECMAScript directive (`'use strict'`, `"use client"`).
_DIRECTIVE = re.compile(r"""(['"])use [\w ]+\1;?""")


def another_places_docstring(parsed: ParsedSnapshot, suggestion: Suggestion,
                             should_stop: Callable[[], bool] | None = None) -> bool:
    """Whether ``suggestion``, a fill the file (or a file beside it) spells out elsewhere, is a string that stands
    alone as a statement, on a line blank around the cursor: another definition's docstring (`\"\"\"Inputs for Fill
    Mask inference\"\"\"` at the start of the class of its outputs), which says what that definition does, not this
    one. A directive (`'use strict'`) is code, and passes; so does a comment, which a file repeats word for word
    (`//#endregion`, `// @ts-expect-error`, a rule of dashes)."""
    if suggestion.source not in ("file", "beside") or parsed.spec is None:
        return False
    snap = parsed.snapshot
    line = snap.line_of(suggestion.start)
    if (snap.text[snap.line_starts[line]:suggestion.start].strip()
            or snap.text[suggestion.end:snap.line_end(line)].strip()):
        return False
    code = suggestion.text.strip()
    if not code or "\n" in code or _DIRECTIVE.fullmatch(code):
        return False
    tree = tree_after(parsed, [Replacement(suggestion.start, suggestion.end, suggestion.text)], should_stop)
    if tree is None:
        return False
    indent = suggestion.text[:len(suggestion.text) - len(suggestion.text.lstrip())]
    lo = snap.byte_offset(suggestion.start) + len(indent.encode("utf-8", "surrogatepass"))
    hi = lo + len(code.encode("utf-8", "surrogatepass"))
    node = tree.root_node.named_descendant_for_byte_range(lo, hi)
    if node is not None and node.type in parsed.spec.literal_types:
        node = node.parent  # the string; its statement, where a `;` is no part of it, holds it
    return (node is not None and node.type == "expression_statement" and (node.start_byte, node.end_byte) == (lo, hi)
            and node.named_child_count == 1 and node.named_children[0].type in parsed.spec.literal_types)


def parsing_first_kept(parsed: ParsedSnapshot, offset: int, suggestions: list[Suggestion],
                       should_stop: Callable[[], bool] | None = None) -> list[Suggestion]:
    """`parsing_first`, less what it closes that ends a name half typed (`_ends_a_half_word`): the brackets the code
    owes, offered alone where no fill was kept, are held to the rule the fills were (`mul(p, qua` + `)` beside
    `quantity`). The fills given were held to it already."""
    given = {s.text for s in suggestions}
    return [s for s in parsing_first(parsed, offset, suggestions, should_stop)
            if s.text in given or not _ends_a_half_word(parsed, s)]


def _ends_a_half_word(parsed: ParsedSnapshot, suggestion: Suggestion) -> bool:
    """Whether ``suggestion`` ends the word typed before it as it stands (it begins with no letter of a name) where
    that word is a name the file spells nowhere, and the first part of one it does: `LineItem(sku, qua` + `)` in a
    file with `quantity`. The user is halfway through the longer name. A keyword, a builtin or a global of the
    language passes, and so does a word in a comment or a string, a name declared (`def lo` + `(self):`) or assigned
    (`total` + ` = 0` beside `totals`)."""
    text, at = parsed.snapshot.text, suggestion.start
    if parsed.spec is None or parsed.tree is None:
        return False  # plain text: no names to read
    if not suggestion.text or suggestion.text[0].isalnum() or suggestion.text[0] in "_$" \
            or (at < len(text) and (text[at].isalnum() or text[at] in "_$")):
        return False
    found = _WORD_BEFORE.search(text, max(0, at - 80), at)
    if found is None or len(found.group(0)) < 2 or in_literal(parsed, at) or in_comment(parsed, at):
        return False
    word = found.group(0)
    line = text[text.rfind("\n", 0, found.start()) + 1:found.start()]
    if _DECLARES.search(line) or re.match(r"\s*:?=(?!=)", suggestion.text):
        return False  # a name declared or assigned here is the user's own, new or not
    return _half_of_a_name(parsed, word, text[:found.start()] + " " + text[at:])


def _half_of_a_name(parsed: ParsedSnapshot, word: str, rest: str) -> bool:
    """Whether ``word`` is a name ``rest`` (the file's text but the word) spells nowhere, and the first part of one it
    does; a keyword, a builtin or a global of the language is none."""
    if word in parsed.spec.reserved_words or keyword.iskeyword(word) or word in BUILTINS or word in ECMASCRIPT_GLOBALS:
        return False
    return not spelled_in(word, rest) and re.search(rf"(?<![\w$]){re.escape(word)}[\w$]", rest) is not None


def _stops_in_a_name(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree, hi: int) -> bool:
    """Whether ``suggestion`` (its bytes end at ``hi`` of ``tree``, the file's with it) ends in the middle of a member's
    name it writes: its last word, a name after a `.` (`->`, `::`) as the grammar reads it (with the letters typed
    before it, where the fill begins in them), is one the file spells nowhere and the first part of one it does
    (`_half_of_a_name`, as for `_ends_a_half_word`): `return self.comp` beside `compute_total`, `merged_ =
    self.needs_` beside `needs_update`, `return self._` (the model's canvas ran out, or it wrote voids, halfway
    through the name). A member is read, not
    declared: a name of its own the user writes (a parameter, `def lo`) is none; a keyword or a builtin passes."""
    text, fill = parsed.snapshot.text, suggestion.text
    if parsed.spec is None or parsed.tree is None or not fill or not (fill[-1].isalnum() or fill[-1] in "_$"):
        return False
    node = tree.root_node.descendant_for_byte_range(hi - 1, hi)
    if node is None or node.end_byte != hi or not node.type.endswith("identifier"):
        return False  # a keyword, a number, a string's or a comment's text
    before = text[:suggestion.start] + fill
    found = _WORD_BEFORE.search(before, max(0, len(before) - 80))
    if found is None or (len(found.group(0)) < 2 and found.group(0) != "_"):
        return False
    word = found.group(0)
    if not before[:found.start()].endswith((".", "->", "::")):
        return False
    return _half_of_a_name(parsed, word, text[:min(found.start(), suggestion.start)] + " " + text[suggestion.end:])


# Nodes that an unbracketed comma makes a tuple of (Python's `x = None,`, `return None,`, `None,`).
_COMMA_LISTS = frozenset({"expression_list", "expression_statement"})


def _tuples_one_value(tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) ends a value with a comma that
    makes it a tuple of one, no bracket around it: `result = ` + `None,`. It parses and runs; a tuple of one is
    written `(None,)`, and the code after reads a tuple where it wants the value."""
    for node in nodes_touching(tree.root_node, lo, hi):
        if node.type in _COMMA_LISTS and node.named_child_count == 1 and node.child_count == 2:
            comma = node.children[1]
            if comma.type == "," and lo <= comma.start_byte < hi:
                return True
    return False


def _ends_a_statement_with_a_comma(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree,
                                   hi: int) -> bool:
    """Where a line's end ends its statement unless a bracket is open (Python's: `LanguageSpec.layout_error`),
    whether a fill (ending at byte ``hi`` of ``tree``, the file's with it) ends its line with a comma no bracket
    holds: the language reads a tuple that no statement means (`se` + `lf,`, `waveobj.writeframes` + `,`,
    `projec` + `t_path, directory, level,`). The grammar joins such a line to the next (`self,` above `self.impl =
    impl` parses as one assignment), so `_tuples_one_value` does not see it."""
    if parsed.spec is None or parsed.spec.layout_error is None:
        return False
    snap = parsed.snapshot
    written = suggestion.text.rstrip(" \t")
    if not written.endswith(",") or snap.text[suggestion.end:snap.line_end(snap.line_of(suggestion.end))].strip():
        return False
    comma = hi - len(suggestion.text[len(written) - 1:].encode("utf-8", "surrogatepass"))
    node = tree.root_node.descendant_for_byte_range(comma, comma + 1)
    if node is None or node.type != ",":
        return False
    bodies = parsed.spec.body_types
    while (node := node.parent) is not None:
        if node.type in bodies or node.parent is None and node.type != "ERROR":
            # A body's statements, a module's, hold no bracket of their own; and walking them cost 10 ms a check of
            # a module of 20,000 statements.
            continue
        # Counted over the children, not read off the node's type: a subscript's `[` is its second child, and an
        # ERROR holds a bracket left open (the line goes on below it) among its own tokens.
        depth = sum((child.type in PAIRS) - (child.type in OPENER_OF) for child in node.children
                    if child.end_byte <= comma)
        if depth > 0:
            return False
    return True


def _imports_from_nowhere(parsed: ParsedSnapshot, tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a fill imports from a module of Python's standard library a name it does not define and the file
    reads nowhere (`scopes.imported_from_nowhere`): `from pathlib import ` + `get`."""
    return bool(parsed.spec is not None and parsed.spec.names_read == "python" and imported_from_nowhere(tree, lo, hi))


def _imports_a_name_again(parsed: ParsedSnapshot, tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a fill imports a name another import of its scope binds already, where scopes are read
    (Python's, `LanguageSpec.names_read`; `scopes.imported_again`): `from datetime import datetime` under `from
    datetime import datetime, timezone`, `, field` after `from decimal import Decimal` where `field` comes from
    `dataclasses`."""
    return bool(parsed.spec is not None and parsed.spec.names_read == "python" and imported_again(tree, lo, hi))


def _statement_at(root: tree_sitter.Node, byte: int, bodies: frozenset[str]) -> tree_sitter.Node | None:
    """The statement (a node a body holds, `LanguageSpec.body_types`) that holds ``byte``, innermost."""
    node = root.descendant_for_byte_range(byte, byte + 1)
    while node is not None and (node.parent is None or node.parent.type not in bodies):
        node = node.parent
    return node


def _imports_again(parsed: ParsedSnapshot, tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether a fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) writes a byte of what an import
    names (`LanguageSpec.import_keys`, `_import_key`) that another import of the same scope (the statements of the
    body it stands in: `LanguageSpec.body_types`) names the same, whitespace aside: `use std::` + `thread` under
    `use std::thread;`, a Go import block's `"` + `log` where it has `"log"`, Python's `import ` + `os` under `import
    os`. Read where the import does not parse yet too (`import {` + ` name `, its `from` still to type). A Rust
    module's `mod tests` may import again."""
    spec = parsed.spec
    keys = dict(spec.import_keys)
    written = [(node, key) for node in nodes_touching(tree.root_node, lo, hi) if node.type in keys
               and (key := _import_key(node, keys[node.type])) is not None
               and key.start_byte < hi and lo < key.end_byte]
    for node, key in written:
        scope = node.parent
        while scope.parent is not None and scope.type not in spec.body_types:
            scope = scope.parent
        name = _squeezed(key.text.decode("utf-8", "replace"))
        pending = list(scope.children)
        while pending:
            other = pending.pop()
            if other.type == node.type and (other.start_byte >= hi or other.end_byte <= lo):
                found = _import_key(other, keys[other.type])
                if found is not None and _squeezed(found.text.decode("utf-8", "replace")) == name:
                    return True
            elif other.type not in spec.body_types:
                pending.extend(other.children)
    return False


def _import_key(node: tree_sitter.Node, field: str) -> tree_sitter.Node | None:
    """What ``node`` imports: its ``field``, or where that is "", the whole statement (`import os`, Java's `import
    java.util.List;`), which a second import names the same only written the same."""
    return node if not field else node.child_by_field_name(field)


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
    suggestion opened on its last line (`open_literal`) is closed first (`errors.New("inventory: item`), then
    three ways of ending the line are tried, a re-parse each, up to the first that reads: the brackets the line
    owes at the suggestion's end (`engine.closers.owed_on_line`, with the language's rules: `with_rules`) and the
    `;` its statement owes (`owed_terminator`): `total += max(ite` + `ms, n` + `)`; every bracket the line leaves open,
    a body's `{` too, closed after the rest of the line (`engine.closers.still_open`): `func (s *Store) Summa` +
    `ry() string {` + `}`, where Go reads a `{` whose `}` the lines below have not written yet as an ERROR; those
    and an empty body (`: pass` where a `:` opens one, ` {}` elsewhere): `for i in ran` + `ge(n` + `): pass`, a
    function's header."""
    snap, spec = parsed.snapshot, parsed.spec
    line_end = snap.line_end(snap.line_of(suggestion.end))
    rest = snap.text[suggestion.end:line_end]
    line = (snap.text[snap.line_starts[snap.line_of(suggestion.start)]:suggestion.start]
            + suggestion.text).rsplit("\n", 1)[-1]
    literal = open_literal(line)
    written = suggestion.text + (literal[0] if literal and len(literal) <= len(suggestion.text) else "")
    owed = with_rules(owed_on_line, spec)(scan_window(snap.text[:suggestion.start] + written),
                                           snap.text[suggestion.end:suggestion.end + SCAN_CHARS])
    ends_line = still_open(line + written[len(suggestion.text):] + rest, line_comments=spec.line_comments)
    body = ": pass" if ":" in spec.block_openers else " {}"
    done = (written + owed + owed_terminator(parsed, suggestion.end) + rest, written + rest + ends_line,
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
    an `#include`'s path (`"yarr` + `ow.h" x`); a `{` after a statement that opens no body (`return f()` + ` {`),
    or after a statement's `;` (`foo(a` + `); {`), or before a next line of code that is itself the body's `{` (K&R's
    `usage(int n)` above `{`)."""
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
            if _INCLUDE.match(code) or not (open_literal(code) or "//" in code or "/*" in code):
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
    if header.endswith(";") and spec.statement_end == ";":
        return True  # a bare block after a statement on its line (`foo(a` + `); {`): no body, a `}` owed more
    following = snap.text[snap.line_end(line):].lstrip()
    return following.startswith("{")


def _unbalances_macro(parsed: ParsedSnapshot, suggestion: Suggestion) -> bool:
    """Whether ``suggestion``, in a `#define`'s body (`macro_body`: the parser keeps it as text), closes a bracket
    the body never opened (`)` after `setmode(fileno(file), O_BINARY)`), or leaves open a body whose brackets
    balanced."""
    body = macro_body(parsed, suggestion.start)
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
    return (any(_names_differ(node, lo, hi) for node in nodes_touching(tree.root_node, lo, hi) if node.type == element)
            or any(_begins_text_after_element(tree, byte, (element, alone), text) for byte in semicolons))


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
    cursor's, the text after the cursor on it included, the editor's `)` after `f(x|`) and the next line of code
    than they have without it,
    and the parse finds a problem on them too: `if len(fields)` + `)`, `[key, value|])` + `)`. The brackets still
    open from the lines above (`engine.closers.open_brackets`, up to `SCAN_CHARS` of them) are the line's to close,
    so one the suggestion writes with no opener of its own may close a bracket of a statement above, whose own
    closer stands below (`api` + `_key=api_key)` in a signature broken over lines): that one is stray where an
    ERROR after it takes in code above the cursor's statement that none held before (`covers_code_above`). The scan
    is rough (`engine.closers`): where the file parses with the suggestion, it is taken at its word."""
    if not tree.root_node.has_error or not any(ch in PAIRS or ch in OPENER_OF for ch in suggestion.text):
        return False  # the same brackets as before (or a file that parses): no closer can have lost its opener
    snap, comments = parsed.snapshot, parsed.spec.line_comments
    first, last = snap.line_starts[snap.line_of(suggestion.start)], snap.line_end(snap.line_of(suggestion.end))
    # The next line of code too: a closer there may lose its opener to one the suggestion writes (`any(` above, `self.ex`
    # + `pected_warning) for w in self):` above the `):` that closes it).
    below = re.search(r"\n[ \t]*\S[^\n]*", snap.text[last:last + SCAN_CHARS])
    last = last + below.end() if below is not None else last
    lines = snap.text[first:suggestion.start] + suggestion.text + snap.text[suggestion.end:last]
    lo = snap.byte_offset(first)
    hi = lo + len(lines.encode("utf-8", "surrogatepass"))
    if not any(node.start_byte <= hi and lo <= node.end_byte for node in iter_problems(tree.root_node)):
        return False
    if (_stray_closers([], suggestion.text, True, comments)
            and covers_code_above(parsed, [Replacement(suggestion.start, suggestion.end, suggestion.text)], tree)):
        return True
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
    for node in nodes_touching(tree.root_node, lo, hi):
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
    for token in nodes_touching(tree.root_node, first, node.start_byte):
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
            if comment_around(parsed.spec, tree.root_node.descendant_for_byte_range(byte + 1 + blank,
                                                                                      byte + 2 + blank)) is None:
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


# Whitespace within a line (`str.split`'s, which is `\s`'s), between the characters of a squeezed line.
_SPACING = r"[^\S\r\n]*"


def _has_line_squeezed(snap: Snapshot, squeezed: str) -> bool:
    """Whether a line of ``snap`` is ``squeezed`` (not empty), whitespace aside (`_squeezed`). Searched for: splitting
    the file into lines and squeezing each took 10 to 25 ms in a file of 10,000 to 25,000 lines, for each suggestion
    checked. A match runs from its first character to its line's end; it is such a line where only whitespace stands
    before it on its line (a match after other characters of a line can only follow them: its first character is no
    whitespace, so none comes first where the line's whitespace does)."""
    pattern = re.escape(squeezed[0]) + "".join(_SPACING + re.escape(c) for c in squeezed[1:]) + _SPACING
    for found in re.finditer(pattern + r"(?![^\r\n])", snap.text):
        at = found.start()
        if not snap.text[snap.line_starts[snap.line_of(at)]:at].strip():
            return True
    return False


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
        node = comment_around(spec, tree.root_node.descendant_for_byte_range(start + end - 1, start + end))
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
    does not compile. An overload spells other parameters, another line. Where name and parameters tell a function
    (`LanguageSpec.unique_signatures`: but in Python), a line of the same name and parameters (`_signature`) whatever
    else it says clashes too (`Optional<Item> lowStockItems()` beside `List<Item> lowStockItems()`)."""
    snap, spec = parsed.snapshot, parsed.spec
    row = snap.line_of(suggestion.start)
    start, end = snap.line_starts[row], snap.line_end(snap.line_of(suggestion.end))
    written = LINE_BREAK.split(snap.text[start:suggestion.start] + suggestion.text + snap.text[suggestion.end:end])[0]
    line = _squeezed(written)
    if not line:
        return False
    # Most lines written are in the file nowhere: its longest word, searched for as it is, says so at once. Where a
    # name and parameters tell a function (`unique_signatures`), a call-like name of the line the file spells, then.
    spelled = max(written.split(), key=len) in snap.text and _has_line_squeezed(snap, line)
    if not spelled and not (spec.unique_signatures and any(
            re.search(rf"\b{re.escape(name)}\s*\(", snap.text) for name in _CALLED.findall(written))):
        return False  # no re-parse
    edit = Replacement(suggestion.start, suggestion.end, suggestion.text)
    after = apply_replacements(snap.text, [edit])
    lines = LINE_BREAK.split(after)  # indexed by the tree's rows, which count a lone "\r" as a break
    tree = tree_after(parsed, [edit], should_stop)
    # The edit starts on the cursor's line: the text before that line, and so its start, stay as they were.
    first = len(after[:snap.line_starts[row]].encode("utf-8", "surrogatepass"))  # the line's first byte
    end = _code_end_byte(tree, spec, lines[row], first)
    if end == first:
        return False  # a comment alone names nothing
    node = tree.root_node.descendant_for_byte_range(end - 1, end)
    while node is not None and node.type not in spec.function_types:
        node = node.parent
    name = _name(node) if node is not None else None
    if name is None or name.start_point.row != row or node.parent is None:
        return False
    signature = _signature(node) if spec.unique_signatures else None
    return any(other.type in spec.function_types and other.start_byte != node.start_byte
               and (other_name := _name(other)) is not None
               and (_squeezed(lines[other_name.start_point.row]) == line
                    or signature is not None and _signature(other) == signature)
               for other in node.parent.named_children)


# A name followed by `(`: a function's, where a line declares one.
_CALLED = re.compile(r"(\w+)\s*\(")


def _signature(function: tree_sitter.Node) -> tuple[bytes, ...] | None:
    """What tells a function from another of its scope where the language overloads by parameters alone: its name,
    its receiver (Go's), its parameters, whitespace aside (`List<Item> lowStockItems()` and `Optional<Item>
    lowStockItems()` clash; `find(int)` and `find(String)` do not). None where it has no name or parameters."""
    name, parameters = _name(function), _parameters(function)
    if name is None or parameters is None:
        return None
    receiver = function.child_by_field_name("receiver")
    return tuple(b"".join(part.text.split()) for part in (name, parameters, receiver) if part is not None)


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
    for node in nodes_touching(tree.root_node, lo, hi):
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


def local_redeclarations(parsed: ParsedSnapshot, suggestion: Suggestion, tree: tree_sitter.Tree) -> bool:
    """Whether ``suggestion`` (``tree``: the file with it in) writes the name of a local declaration
    (`LanguageSpec.local_declaration_types`) that another declaration of its block declares already, or a parameter
    of the function whose body the block is: `graph::NameIndex index;` two lines below the same line, `size_t
    written` below `size_t written`, parse, and do not compile; or a parameter's that its list names already
    (`_names_a_parameter_twice`). Only a name the suggestion writes counts."""
    kinds = parsed.spec.local_declaration_types if parsed.spec else frozenset()
    if not kinds or not suggestion.text.strip():
        return False
    lo = parsed.snapshot.byte_offset(suggestion.start)
    hi = lo + len(suggestion.text.encode("utf-8", "surrogatepass"))
    for node in nodes_touching(tree.root_node, lo, hi):
        block = node.parent
        if node.type not in kinds or block is None or block.type not in parsed.spec.local_block_types:
            continue
        written = {name.text for name in _declarator_names(node) if name.start_byte < hi and lo < name.end_byte}
        if not written:
            continue
        declared = {name.text for other in block.named_children if other.type in kinds and other.id != node.id
                    for name in _declarator_names(other)}
        owner = block.parent
        if owner is not None and owner.type in parsed.spec.function_types:
            declared.update(name.text for name in _parameter_names(owner))
        if written & declared:
            return True
    return _names_a_parameter_twice(parsed, tree, lo, hi)


def _names_a_parameter_twice(parsed: ParsedSnapshot, tree: tree_sitter.Tree, lo: int, hi: int) -> bool:
    """Whether the bytes ``lo``..``hi`` of ``tree`` write the name of a parameter that another of its list names
    (`StringJoiner(CharSequence delimiter,` above `Char` + `Sequence delimiter,`), which parses and does not
    compile."""
    for node in nodes_touching(tree.root_node, lo, hi):
        owner = node.parent.parent if node.parent is not None else None
        listed = owner.child_by_field_name("parameters") if owner is not None else None
        if listed is None or listed.id != node.parent.id:
            continue
        written = {name.text for name in _declarator_names(node) if name.start_byte < hi and lo < name.end_byte}
        others = {name.text for other in node.parent.named_children if other.id != node.id
                  for name in _declarator_names(other)}
        if written & others:
            return True
    return False


def _declarator_names(declaration: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The names a C-family declaration declares: each declarator's, through pointers, references, arrays and
    initializers (`int *p = 0, n[3];`: `p`, `n`); a function's declarator declares none here (a prototype written
    twice is the same one)."""
    names, pending = [], _fields(declaration, ("declarator", "name"))
    while pending:
        node = pending.pop()
        if node.type == "identifier":
            names.append(node)
        elif node.type != "function_declarator":
            inner = _fields(node, ("declarator", "name"))
            # A reference's or a structured binding's names hold no field (`int &r`, `auto [x, y]`).
            pending.extend(inner or [c for c in node.named_children
                                     if c.type == "identifier" or c.type.endswith("declarator")])
    return names


def _parameter_names(function: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The names of a function's parameters."""
    parameters = _parameters(function)
    return [] if parameters is None else [name for p in parameters.named_children for name in _declarator_names(p)]


def _parameters(function: tree_sitter.Node) -> tree_sitter.Node | None:
    """A function's parameter list: its `parameters` (Java's, Go's, Rust's), or its declarator's (C's)."""
    parameters = function.child_by_field_name("parameters")
    declarator = function.child_by_field_name("declarator")
    while parameters is None and declarator is not None:
        parameters = declarator.child_by_field_name("parameters")
        declarator = declarator.child_by_field_name("declarator")
    return parameters


def _fields(node: tree_sitter.Node, names: tuple[str, ...]) -> list[tree_sitter.Node]:
    return [child for i, child in enumerate(node.children) if node.field_name_for_child(i) in names]


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
