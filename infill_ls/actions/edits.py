"""What the code actions share: their kinds, the candidate edits they weigh and how one is chosen, the holes they
fill through the engine, and how they read the tree near the cursor and lay out the closers they add (Close
structure's brackets in `closing`, its closing tags in `text_closers`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

import tree_sitter

from engine.closers import OPENER_OF, PAIRS

from ..completion import into_cells, unbound_names, window_budget
from ..context import windows
from ..notebooks import NO_SURROUNDINGS, Surroundings
from ..postprocess import broken_characters, plain_text
from ..settings import Settings
from ..suggestions import Suggestion
from ..syntax import (LanguageSpec, ParsedSnapshot, Replacement, apply_replacements, iter_problems, problem_count,
                      problems_after, tree_after)
from ..typing_filter import no_worse

if TYPE_CHECKING:
    from engine.infill import HolesCandidate, InfillEngine


class ActionKind(str, Enum):
    REWRITE_SELECTION = "rewriteSelection"
    FILL_PLACEHOLDERS = "fillPlaceholders"
    CLOSE_STRUCTURE = "closeStructure"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def command(self) -> str:
        return "infill." + self.value


_TITLES = {
    ActionKind.REWRITE_SELECTION: "Rewrite selection",
    ActionKind.FILL_PLACEHOLDERS: "Fill placeholders",
    ActionKind.CLOSE_STRUCTURE: "Close structure",
}


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Request:
    """What one action runs with: the model, the user's settings, the test that says the request was stopped
    (cancelled, superseded) and, in a notebook, the cells around the document."""

    engine: InfillEngine
    settings: Settings
    should_stop: Callable[[], bool] = _never
    surroundings: Surroundings = NO_SURROUNDINGS


@dataclass(frozen=True)
class Candidate:
    replacements: tuple[Replacement, ...]
    confidence: float
    problems: int  # ERROR and MISSING nodes in the file once the replacements are made (0: it parses)
    distance: int = 0  # from the cursor, to break ties in favour of nearby fixes
    preference: int = 0  # the last tie-breaker: what a fill came from (`close_structure`)

    @property
    def parses(self) -> bool:
        return self.problems == 0


def candidate(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...], confidence: float, distance: int = 0,
              preference: int = 0) -> Candidate:
    return Candidate(replacements, confidence, problems_after(parsed, list(replacements)), distance, preference)


@dataclass(frozen=True)
class NoEdit:
    """Why an action has no edit to offer, for the user."""

    reason: str


@dataclass(frozen=True)
class ActionEdit:
    kind: ActionKind
    uri: str
    version: int
    replacements: tuple[Replacement, ...]
    parses: bool
    confidence: float


def best(candidates: list[Candidate], most_problems: int) -> Candidate | None:
    """Of the candidates that leave the file with at most `most_problems` syntax problems: parsing first, then
    confidence, then closeness to the cursor, then preference."""
    usable = [c for c in candidates if c.replacements and c.problems <= most_problems]
    if not usable:
        return None
    return max(usable, key=lambda c: (c.parses, c.confidence, -c.distance, c.preference))


@dataclass(frozen=True)
class Mending:
    """What Close structure mends: the parse problem nearest the cursor (`closing.problem_to_close`), and the cursor
    (code points) it was asked for at."""

    problem: tree_sitter.Node
    cursor: int


def mends(parsed: ParsedSnapshot, mending: Mending, c: Candidate) -> bool:
    """Whether ``c`` mends the problem: once its replacements are made the file has fewer syntax problems, none of
    them where the problem began nor in what ``c`` writes (`_left_at`); or it parses but for what the file's other
    errors hold (`closes_here`). With another error in the file the count alone said neither: a `,` that joined the
    ERROR of `string = h.symbols[` to the one of another error below took one from the count and left the `[` open;
    a `)` after `encode(label` took none where the parse had read it and the `[` left open in the next function as
    one ERROR, which the `[` then made alone."""
    if c.problems < problem_count(parsed.tree) and not _left_at(parsed, mending.problem, c):
        return True
    return closes_here(parsed, mending, c)


def closes_here(parsed: ParsedSnapshot, mending: Mending, c: Candidate) -> bool:
    """Whether ``c`` leaves the file parsing but for what its other errors hold: once its replacements are made, the
    statement at the top of the file that holds the cursor and all ``c`` writes has no syntax problem, where the one
    there before had one; and each problem left stands in text that one held before, another error's, or the
    problem's where the parse read it and another as one ERROR. The cursor's, not where the problem began: the
    ERROR that `return [y, 2` and `z = (1 + 2` below it make begins at the first, and a `]` there left the cursor's
    `(` open. In a file with no other error, one that leaves it parsing."""
    if c.parses or not c.replacements:
        return c.parses
    tree = tree_after(parsed, list(c.replacements))
    if tree is None or parsed.tree is None:
        return False
    if c.problems != problem_count(tree):
        return False  # it breaks a layout, or writes a reserved word as a name (`syntax.problems_after`)
    edits = _byte_edits(parsed, c)
    held = [(_moved_byte(edits, p.start_byte, False), _moved_byte(edits, p.end_byte, True))
            for p in iter_problems(parsed.tree.root_node)]
    if not all(any(start <= q.start_byte and q.end_byte <= end for start, end in held)
               for q in iter_problems(tree.root_node)):
        return False
    written = _written(edits)
    statement = _statement_at(tree, written[0][0], written[-1][1])
    there = _statement_at(parsed.tree, edits[0][0], edits[0][0]) or parsed.tree.root_node
    if statement is None or statement.has_error or not there.has_error:
        return False
    cursor = parsed.snapshot.byte_offset(mending.cursor)
    return statement.start_byte <= _moved_byte(edits, cursor, False) and \
        _moved_byte(edits, cursor, True) <= statement.end_byte


def _statement_at(tree: tree_sitter.Tree, start: int, end: int) -> tree_sitter.Node | None:
    """The node at the top of ``tree`` (a child of its root) that holds the bytes ``start``..``end``; None where only
    the root does."""
    node = tree.root_node.descendant_for_byte_range(start, end)
    while node is not None and node.parent is not None and node.parent.parent is not None:
        node = node.parent
    return node if node is not None and node.parent is not None else None


def _left_at(parsed: ParsedSnapshot, problem: tree_sitter.Node, c: Candidate) -> bool:
    """Whether a syntax problem, once ``c``'s replacements are made, begins where ``problem`` began (or in the text
    ``c`` writes there), or begins or ends in the text ``c`` writes, at its ends too: `)` after `if
    (Array.isArray(entry` left the `)` of the `if` missing right after it, and `)) {` after its `{` left that `{` an
    ERROR right before it."""
    tree = tree_after(parsed, list(c.replacements))
    if tree is None:
        return False
    edits = _byte_edits(parsed, c)
    began = (_moved_byte(edits, problem.start_byte, False), _moved_byte(edits, problem.start_byte, True))
    written = _written(edits)
    return any(began[0] <= q.start_byte <= began[1] or
               any(start <= q.start_byte <= end or start <= q.end_byte <= end for start, end in written)
               for q in iter_problems(tree.root_node))


def _byte_edits(parsed: ParsedSnapshot, c: Candidate) -> list[tuple[int, int, int]]:
    """``c``'s replacements as (start byte, end byte, bytes written), in order."""
    snap = parsed.snapshot
    return sorted((snap.byte_offset(r.start), snap.byte_offset(r.end), len(r.text.encode("utf-8", "surrogatepass")))
                  for r in c.replacements)


def _written(edits: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """The bytes of the text each of the ``edits`` writes, once they are made."""
    return [(at, at + length) for start, _, length in edits for at in (_moved_byte(edits, start, False),)]


def _moved_byte(edits: list[tuple[int, int, int]], byte: int, after: bool) -> int:
    """Where ``byte`` stands once the ``edits`` (start, end, bytes written; in order) are made: before the text one
    inserts there, or with ``after`` after it; in the text one writes over it, that text's start, or its end."""
    shift = 0
    for start, end, written in edits:
        if end < byte or (end == byte and (start < end or after)):
            shift += written - (end - start)
        elif start < byte:
            return start + shift + (written if after else 0)
        else:
            break
    return byte + shift


def choose_edit(kind: ActionKind, parsed: ParsedSnapshot, candidates: list[Candidate],
                mending: Mending | None = None, what: str = "fill",
                refused: Callable[[Candidate], bool] | None = None) -> ActionEdit | NoEdit:
    """The best candidate as an edit. One that adds a syntax problem never is (with ``mending``: nor one that does
    not mend its problem, `mends`, nor one that adds a closer nothing opened, `_stray_closers`): a fill that opens
    a string or a bracket can turn the rest of the file into an error, and a stray `)` takes an ERROR's place as
    one; nor one holding a character the model broke (`broken_characters`), nor one ``refused`` refuses."""
    before = problem_count(parsed.tree)
    text = parsed.snapshot.text
    strays: list[int] = []  # the file's stray closers, counted once, where a candidate needs them

    refusals = []  # the candidates `refused` refused

    def unsound(c: Candidate) -> bool:
        if mending is not None and not mends(parsed, mending, c):
            return True
        if hides_code(parsed, c.replacements):
            return True
        if mending is not None and c.replacements:
            strays[:] = strays or [_stray_closers(parsed.tree)]
            if _stray_closers(tree_after(parsed, list(c.replacements))) > strays[0]:
                return True
        if refused is not None and refused(c):
            refusals.append(c)
            return True
        return False

    whole = [c for c in candidates if not any(broken_characters(r.text, text) for r in c.replacements)]
    chosen = best(whole, before)
    shown = whole
    while chosen is not None and unsound(chosen):
        shown = [c for c in shown if c is not chosen]
        chosen = best(shown, before)
    if chosen is None:
        if not any(c.replacements for c in candidates):
            return NoEdit(f"the model wrote no {what} here")
        if not any(c.replacements for c in whole):
            return NoEdit(f"the model broke a character (U+FFFD) in every {what} it wrote here")
        if mending is not None:
            return NoEdit(f"found no {what} here after which the syntax error nearest the cursor is gone")
        if refusals:
            return NoEdit(f"found no {what} that reads right where it stands (those that add no syntax error parse as "
                          "code no one means: a `return` above statements that then never run, a name declared again, "
                          "a statement that does nothing)")
        return NoEdit(f"found no {what} that adds no syntax error")
    snap = parsed.snapshot
    return ActionEdit(kind, snap.uri, snap.version, chosen.replacements, chosen.parses, chosen.confidence)


def hides_code(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...]) -> bool:
    """Whether a replacement opens a comment, a string or markup's text (`LanguageSpec.markup_types`) that holds the
    code after it on its line: a fill before the code of a line (`// done` before `return {`) turns it into text,
    and the error count may still drop, an ERROR counting once whatever it holds. A string the user opened that a
    closer's quote now ends holds the user's text as before."""
    spec, snap = parsed.spec, parsed.snapshot
    if parsed.tree is None or spec is None or not replacements:
        return False
    hiding = spec.comment_types | spec.literal_types | spec.markup_text_types
    ordered = sorted(replacements, key=lambda r: r.start)
    tree = tree_after(parsed, ordered)
    if tree is None:
        return False
    after = apply_replacements(snap.text, ordered)
    shift = 0
    for r in ordered:
        start = r.start + shift
        shift += len(r.text) - (r.end - r.start)
        rest = snap.text[r.end :].split("\n", 1)[0]
        if not rest.strip():
            continue
        at = r.end + len(rest) - len(rest.lstrip())
        opened = (len(after[:start].encode("utf-8", "surrogatepass")),
                  len(after[: start + len(r.text)].encode("utf-8", "surrogatepass")))
        holder = _holder(tree, len(after[: at + shift].encode("utf-8", "surrogatepass")), hiding, spec)
        if holder is not None and opened[0] <= holder.start_byte <= opened[1] and \
                _holder(parsed.tree, snap.byte_offset(at), hiding, spec) is None:
            return True
    return False


def _stray_closers(tree: tree_sitter.Tree | None) -> int:
    """How many of the tree's closing brackets close no opener before them: each closes the innermost still open of
    its kind, and those opened inside it with it; a `}` also a template's `${` (any token that ends in `{`)."""
    if tree is None:
        return 0
    stray, stack = 0, []
    for node in leaves(tree.root_node):
        kind = node.type
        if kind in PAIRS or kind.endswith("{"):
            stack.append("{" if kind.endswith("{") else kind)
        elif kind in OPENER_OF:
            index = next((i for i in range(len(stack) - 1, -1, -1) if stack[i] == OPENER_OF[kind]), None)
            if index is None:
                stray += 1
            else:
                del stack[index:]
    return stray


def _holder(tree: tree_sitter.Tree, byte: int, hiding: frozenset[str], spec: LanguageSpec) -> tree_sitter.Node | None:
    """The comment, string or markup text that holds the character at ``byte``; None in code (a template's `${}`
    included)."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    while node is not None:
        if node.type in spec.code_in_literal_types:
            return None
        if node.type in hiding and node.start_byte <= byte < node.end_byte:
            return node
        node = node.parent
    return None


def fails_typing_checks(parsed: ParsedSnapshot, c: Candidate) -> bool:
    """Whether the checks a suggestion passes while typing (`typing_filter.no_worse`) refuse one of ``c``'s
    replacements, each read in the file alone: code that parses but does not read right, a `return` above the
    statements of its block (`return groups;` in place of a loop), a `;` ending a Go line, a local its block declares
    already (`unsigned data = NULL;`), a statement that does nothing (`rb->count;`)."""
    text = parsed.snapshot.text
    for r in c.replacements:
        if no_worse(parsed, [Suggestion(r.text, r.start, r.end, 0.0)]):
            continue
        # What the file did already is the user's (an early `return` left above dead code while debugging): only a
        # check that the text replaced passes refuses the edit.
        if no_worse(parsed, [Suggestion(text[r.start:r.end], r.start, r.end, 0.0)]):
            return True
    return False


def names_read_anew(parsed: ParsedSnapshot, replacement: Replacement) -> set[str]:
    """The names ``replacement`` reads that nothing binds where it stands (`completion.unbound_names`) and the text
    it replaces did not read."""
    start, end = replacement.start, replacement.end
    read = set(unbound_names(parsed, Suggestion(replacement.text, start, end, 0.0)))
    return read - set(unbound_names(parsed, Suggestion(parsed.snapshot.text[start:end], start, end, 0.0)))


def with_eol(text: str, eol: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", eol) if eol != "\n" else text


def infill_spans(parsed: ParsedSnapshot, spans: list[tuple[int, int]], hole_tokens: int, request: Request
                 ) -> list[HolesCandidate]:
    """Each span (code-point offsets, in document order) becomes a hole of up to
    ``hole_tokens``; all are filled together, with windows of the text around them (in a notebook, continued into
    the cells around it: `into_cells`). The fills come back as plain text: LF line breaks, cut at any control
    character."""
    snap, engine, settings = parsed.snapshot, request.engine, request.settings
    first, last = spans[0][0], spans[-1][1]
    budget = window_budget(engine, hole_tokens * len(spans), settings)
    prefix, suffix = windows(parsed, first, last, budget)
    between = [snap.text[a_end:b_start] for (_, a_end), (b_start, _) in zip(spans, spans[1:])]
    before, after, suffix_is_end = into_cells(
        budget, snap.text[prefix.start : first], snap.text[last : suffix.end], from_start=prefix.start == 0,
        to_end=suffix.end == len(snap.text), surroundings=request.surroundings)
    found = engine.infill_holes(
        [before, *between, after],
        max_tokens=hole_tokens,
        num_candidates=settings.candidates,
        max_steps=settings.max_steps,
        should_stop=request.should_stop,
        suffix_is_end=suffix_is_end,
        prompt_tokens=settings.prefix_tokens,
    )
    return [replace(c, fills=[plain_text(f) for f in c.fills]) for c in found]


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def node_span(parsed: ParsedSnapshot, node: tree_sitter.Node) -> tuple[int, int]:
    """The node's code points, less trailing whitespace: most grammars end a line comment
    after the carriage return of a CRLF line break, and Rust's doc comments after the line
    break itself, which belongs to the line, not the comment."""
    snap = parsed.snapshot
    start, end = snap.char_offset(node.start_byte), snap.char_offset(node.end_byte)
    while end > start and snap.text[end - 1] in " \t\r\n":
        end -= 1
    return start, end


def tokens(node: tree_sitter.Node, start_byte: int, end_byte: int, skipped: frozenset[str] = frozenset()
           ) -> Iterator[tree_sitter.Node]:
    """The tokens under ``node`` within ``start_byte``..``end_byte``, in order; none the parse made up (MISSING),
    and none of or under a node of the ``skipped`` types (a comment: Rust's holds a `//` token of its own)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.end_byte <= start_byte or current.start_byte >= end_byte or current.type in skipped:
            continue
        if current.child_count:
            stack.extend(reversed(current.children))
        elif not current.is_missing and current.start_byte >= start_byte and current.end_byte <= end_byte:
            yield current


def token_text(parsed: ParsedSnapshot, token: tree_sitter.Node | None) -> str:
    """The text of ``token`` in ``parsed``; "" for none."""
    if token is None:
        return ""
    return parsed.snapshot.utf8[token.start_byte : token.end_byte].decode("utf-8", "replace")


# How far from the cursor a parse problem still counts as "here".
NEAR_LINES = 30


def opener_line(parsed: ParsedSnapshot, opener: tree_sitter.Node) -> int:
    snap = parsed.snapshot
    return snap.line_of(snap.char_offset(opener.start_byte))


def leaves(region: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """The tokens under ``region``, in order, but none the parse made up (MISSING): the brackets and quotes the text
    holds."""
    return (n for n in walk(region) if not n.child_count and not n.is_missing)


def own_lines(parsed: ParsedSnapshot, at: int, lines: list[str]) -> Replacement:
    """``lines`` after the line of ``at``. On a blank line, on it from the cursor (the indentation already before
    the cursor is the first line's), so that no blank line is left before them, and the file keeps its final line
    break; where the cursor stands deeper than the first line's indentation (or in blanks of another kind), in place
    of the blanks before it: kept, they put a body's `}` at the depth of the statements it ends."""
    snap = parsed.snapshot
    eol = snap.eol(at)
    line = snap.line_of(at)
    if not snap.line_text(line).strip():
        start = snap.line_starts[line]
        head = snap.text[start:at]
        first, start = (lines[0][len(head) :], at) if lines[0].startswith(head) else (lines[0], start)
        final = eol if at == len(snap.text) else ""
        return Replacement(start, at, first + "".join(eol + text for text in lines[1:]) + final)
    return Replacement(at, at, "".join(eol + text for text in lines))


def merged_insertions(replacements: list[Replacement]) -> list[Replacement]:
    """Insertions at one place as one, in order: an editor need not apply two at one place in the order given."""
    merged: list[Replacement] = []
    for r in sorted(replacements, key=lambda r: r.start):
        if merged and merged[-1].start == merged[-1].end == r.start == r.end:
            merged[-1] = Replacement(r.start, r.end, merged[-1].text + r.text)
        else:
            merged.append(r)
    return merged
