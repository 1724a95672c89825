"""Rewrite selection: the selection becomes a hole, denoised again with both sides as context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..context import indent_unit, leading_whitespace
from ..postprocess import indent_columns, rebased, reindented, writes_a_line_again
from ..prose import in_prose
from ..scopes import dropped_locals, left_unbound, spelled_in
from ..settings import Settings
from ..suggestions import WORD_CHARACTER, syntax_checked
from ..syntax import ParsedSnapshot, Replacement, nodes_touching, parsed_after, problem_count, tree_after
from .edits import (ActionEdit, ActionKind, NoEdit, Request, candidate, choose_edit, fails_typing_checks, infill_spans,
                    names_read_anew, with_eol)
from .placeholders import writes_code

if TYPE_CHECKING:
    from engine.infill import InfillLookup


def rewrite_selection(parsed: ParsedSnapshot, start: int, end: int, request: Request) -> ActionEdit | NoEdit:
    """The selection becomes a hole, denoised again with both sides as context."""
    snap, engine, settings = parsed.snapshot, request.engine, request.settings
    selected = snap.text[start:end]
    if not selected.strip():
        return NoEdit("the selection holds no code")
    # Line breaks too: a selection made with shift+down from the end of a line starts with one.
    lead = selected[: len(selected) - len(selected.lstrip())]
    trail = selected[len(selected.rstrip()) :]
    needed, why = selection_size(selected, settings, engine)
    if why is not None:
        return NoEdit(why)
    most = min(4 * settings.max_hole_tokens, engine.hole_capacity)
    # Room for a rewrite somewhat longer than the original, within reason.
    hole = min(max(settings.max_hole_tokens, needed + needed // 4 + 4), most)
    candidates = []
    line_indent = leading_whitespace(snap.line_text(snap.line_of(start + len(lead))))
    unit = indent_unit(parsed.spec, snap)
    head = snap.text[snap.line_starts[snap.line_of(start)] : start]
    unchanged = idle = echoed = misnamed = slight = False
    checked = syntax_checked(parsed)
    # A name, a keyword, `...` or a comment in place of code replaces it with nothing; in place of a comment, a
    # docstring or a stub, prose is what was there.
    held_code = writes_code(parsed, start, end)
    # In a comment or a string's text, where the grammar reads any text: held to the check of a file none reads.
    prose = in_prose(parsed, start + len(lead)) and in_prose(parsed, end - len(trail))
    before = problem_count(parsed.tree)
    for c in infill_spans(parsed, [(start, end)], hole, request):
        body = c.fills[0].strip()
        if not body:
            continue
        written = _written_indent(head, c.fills[0])
        depth, first = line_indent, lead
        if written is not None and (not head or "\n" in lead):
            # The selection holds its first line's indentation: where it crosses a dedent, the model's shallower
            # depth may be where the rewrite's first line belongs.
            depth = _kept_depth(selected, written, line_indent)
            first = lead[: lead.rfind("\n") + 1] + depth
        if written is not None:
            body = rebased(body, written, depth, unit)  # the selection's depth, not the model's
        body = reindented(body, depth, unit)  # the file's indentation, not the model's
        replacement = Replacement(start, end, first + with_eol(body, snap.eol(start)) + trail)
        # The selection written back always parses, so it would win over every real rewrite, and as an edit that
        # changes nothing it would leave the user wondering whether the action ran.
        if replacement.text == selected:
            unchanged = True
            continue
        if held_code and not writes_code(parsed_after(parsed, (replacement,)), start, start + len(replacement.text)):
            idle = True
            continue
        if (not checked or prose) and drops_most_of(selected, body):
            slight = True
            continue
        # The line after the selection written in its place (or the line before) parses, and says it twice.
        if writes_a_line_again(snap.text, start, end, replacement.text):
            echoed = True
            continue
        found = candidate(parsed, (replacement,), c.confidence)
        # Held to the names only where it adds no syntax problem: one that does is refused as such.
        if found.problems <= before and breaks_names(parsed, replacement):
            misnamed = True
            continue
        candidates.append(found)
    if not candidates and echoed:
        return NoEdit("found no rewrite but the line before or after the selection written again")
    if not candidates and idle:
        return NoEdit("found no rewrite that writes code (the model wrote a lone name or keyword, a placeholder or a "
                      "comment in its place)")
    if not candidates and unchanged:
        return NoEdit("the model wrote the selection back unchanged")
    if not candidates and slight:
        where = "in a comment or string" if checked else "here"
        return NoEdit(f"found no rewrite that keeps as much as half the selection (no grammar {where} checks what the "
                      "model writes, and it wrote a few characters in place of the selection)")
    edit = choose_edit(ActionKind.REWRITE_SELECTION, parsed, candidates, what="rewrite",
                       refused=lambda c: fails_typing_checks(parsed, c))
    if isinstance(edit, NoEdit) and misnamed:
        return NoEdit("found no rewrite that keeps to the file's names (the model's read a name nothing binds where "
                      "the selection read none, or left out one the code defines or the rest of the file reads)")
    return edit


def drops_most_of(selected: str, rewrite: str) -> bool:
    """Whether ``rewrite`` writes less than half the selection's text (spaces aside), or no word: in a file no grammar
    reads, the one check there is on a rewrite. The embedded model wrote three quotes in place of a paragraph of
    Markdown, `exports [] =` in place of a shell function and `-` in place of an Objective-C method: of its rewrites
    of a selection in twelve files of such kinds, this refuses 7 of 12."""
    size = len("".join(rewrite.split()))
    return 2 * size < len("".join(selected.split())) or WORD_CHARACTER.search(rewrite) is None


def breaks_names(parsed: ParsedSnapshot, replacement: Replacement) -> bool:
    """Whether a rewrite reads a name nothing binds where it stands that the selection did not read so
    (`completion.unbound_names`), leaves out the name of a function or class the selection defines
    (`_defined_names`), or leaves the code around it reading a name that only the selection bound (`total = 0`
    rewritten away above `return total`: in Python by its scopes, `scopes.left_unbound`; elsewhere the function's
    locals, `scopes.dropped_locals`)."""
    if names_read_anew(parsed, replacement):
        return True
    if any(not spelled_in(name, replacement.text) for name in _defined_names(parsed, replacement)):
        return True
    if parsed.spec is None or parsed.tree is None:
        return False
    tree = tree_after(parsed, [replacement])
    if tree is None:
        return False
    snap = parsed.snapshot
    lo, hi = snap.byte_offset(replacement.start), snap.byte_offset(replacement.end)
    written = len(replacement.text.encode("utf-8", "surrogatepass"))
    if parsed.spec.names_read != "python":
        return bool(dropped_locals(parsed.tree, tree, lo, hi, written, parsed.spec))
    return bool(left_unbound(parsed.tree, tree, lo, hi, written))


def _defined_names(parsed: ParsedSnapshot, replacement: Replacement) -> list[str]:
    """The names of the functions and classes wholly inside the replaced text."""
    if parsed.spec is None or parsed.tree is None:
        return []
    snap = parsed.snapshot
    lo, hi = snap.byte_offset(replacement.start), snap.byte_offset(replacement.end)
    names = []
    for node in nodes_touching(parsed.tree.root_node, lo, hi):
        if lo <= node.start_byte and node.end_byte <= hi and (
                node.type in parsed.spec.function_types or "class" in node.type):
            name = node.child_by_field_name("name")
            if name is not None:
                names.append(name.text.decode("utf-8", "replace"))
    return names


def refusal(parsed: ParsedSnapshot, start: int, end: int, settings: Settings, lookup: InfillLookup) -> str | None:
    """Why a rewrite of the selection would be refused before the model runs (`too_long`), as its message says; None
    where it would run. Needs the tokenizer alone: what an offer of actions can say."""
    return selection_size(parsed.snapshot.text[start:end], settings, lookup)[1]


# Up to this many characters a selection's tokens are counted, in a few milliseconds, and a refusal says how many.
COUNTED_CHARACTERS = 10_000


def selection_size(selected: str, settings: Settings, lookup: InfillLookup) -> tuple[int, str | None]:
    """The tokens of `selected` and why a rewrite of it is refused for its length (`too_long`; None where it is not).
    A selection past COUNTED_CHARACTERS, and longer than the most tokens a rewrite takes can hold, each as long as
    the tokenizer's longest, is refused by its length alone, its tokens not counted (0): one of 2,000 lines was
    tokenized whole, 33,000 tokens in 45 ms at every offer of actions over it, to be found past a limit of 56."""
    most = min(4 * settings.max_hole_tokens, lookup.hole_capacity)
    widest = lookup.tokenizer.longest_token_chars
    # The characters the model reads: a CRLF is one line break to it (`engine.tokenizer.model_text`).
    characters = len(selected) - selected.count("\r\n")
    if widest is not None and characters > max(most * widest, COUNTED_CHARACTERS):
        return 0, too_long(f"{characters:,} characters, more than {most} tokens hold,", most, settings, lookup)
    needed = lookup.count_tokens(selected)
    return needed, too_long(f"{needed} tokens", most, settings, lookup) if needed > most else None


def too_long(size: str, most: int, settings: Settings, lookup: InfillLookup) -> str:
    """A hole wider than the model's canvas could only come back cut short (and slowly): say so instead, naming the
    setting where it, not the model, sets the limit. ``size``: the selection's, as it was found."""
    if most < lookup.hole_capacity:
        return (f"the selection is {size} and a rewrite takes at most {most} (4 x maxHoleTokens); "
                "select less or raise maxHoleTokens")
    return f"the selection is {size} and the model rewrites at most {most} at once; select less"


def _kept_depth(selected: str, written: str, line_indent: str) -> str:
    """The indentation of a rewrite's first line: its selection's first line's (``line_indent``), but where the model
    wrote it shallower (``written``) at a depth that a later line of the selection stands at, that line's: the
    selection crosses a dedent (a method's last line and the code after its class, a body's last statement and its
    `}`), and what the model wrote at the outer depth is outer code. Rebased to the first line's depth, a
    top-level statement moves into the method above it, and a function's `}` goes in by a step."""
    columns = indent_columns(written)
    if columns >= indent_columns(line_indent):
        return line_indent
    for line in selected.split("\n")[1:]:
        if line.strip() and indent_columns(leading_whitespace(line)) == columns:
            return leading_whitespace(line)
    return line_indent


def _written_indent(head: str, fill: str) -> str | None:
    """The indentation the model wrote the fill's first line at, going on from ``head`` (the text before the
    selection on its line); None after code there: the model then wrote the later lines at the file's columns."""
    text = fill.lstrip()
    blank = fill[: len(fill) - len(text)]
    if "\n" in blank:
        return blank[blank.rindex("\n") + 1 :]
    return None if head.strip() else head + blank
