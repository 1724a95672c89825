"""Fill placeholders: the stubs and TODOs of the function around the cursor become holes, filled together."""

from __future__ import annotations

import re

import tree_sitter

from ..context import indent_unit, leading_whitespace
from ..postprocess import ONE_WORD, fit_placeholder, idle_body, indent_columns
from ..syntax import (PARSED_CHARS, LanguageSpec, ParsedSnapshot, Replacement, nodes_touching, parsed_after,
                      problem_count, uri_extension)
from .edits import (ActionEdit, ActionKind, NoEdit, Request, candidate, choose_edit, fails_typing_checks, infill_spans,
                    names_read_anew, node_span, walk, with_eol)

MIN_PLACEHOLDER_TOKENS = 4  # a placeholder's hole is no smaller: a statement needs a few tokens


def _node_at(parsed: ParsedSnapshot, offset: int) -> tree_sitter.Node | None:
    if parsed.tree is None:
        return None
    b = parsed.snapshot.byte_offset(offset)
    return parsed.tree.root_node.descendant_for_byte_range(b, b)


def enclosing_function(parsed: ParsedSnapshot, offset: int) -> tree_sitter.Node | None:
    """The function around ``offset``, or around the code of its line where it stands in the line's indentation or
    after its code (`_line_code`); on a decorator's line (`@property`) or an `export`, the function it
    decorates or exports."""
    for at in _line_code(parsed, offset):
        node = _node_at(parsed, at)
        while node is not None and parsed.spec is not None:
            if node.type in parsed.spec.function_types:
                return node
            wrapped = _decorated(node) or node.child_by_field_name("declaration")
            if wrapped is not None and wrapped.type in parsed.spec.function_types:
                return wrapped
            node = node.parent
    return None


def _line_code(parsed: ParsedSnapshot, offset: int) -> list[int]:
    """``offset``, then, where it stands in its line's indentation, the line's first code, and where it stands after
    the line's code, that code's last character: an editor leaves the cursor after the stub just typed (`pass|`,
    past the end of a Python function, which ends at its last token) and Neovim's commands send a line's column 0."""
    snap = parsed.snapshot
    line = snap.line_of(offset)
    start, end = snap.line_starts[line], snap.line_end(line)
    before, after = snap.text[start:offset], snap.text[offset:end]
    places = [offset]
    if not before.strip() and after.strip():
        places.append(offset + len(after) - len(after.lstrip()))
    if before.strip() and not after.strip():
        places.append(start + len(before.rstrip()) - 1)
    return places


def _decorated(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """What a decorator decorates: Python holds both in a `decorated_definition`; TypeScript puts a method's
    decorators before it, beside it in the class body."""
    if node.type == "decorated_definition":
        return node.child_by_field_name("definition")
    if node.type != "decorator":
        return None
    following = node.next_named_sibling
    while following is not None and following.type == "decorator":
        following = following.next_named_sibling
    return following


def _alone_in_body(node: tree_sitter.Node, parsed: ParsedSnapshot) -> bool:
    parent = node.parent
    if parent is None or parsed.spec is None:
        return False
    statements = [c for c in parent.named_children if c.type not in parsed.spec.comment_types and not _docstring(c)]
    return statements == [node]


def _docstring(node: tree_sitter.Node) -> bool:
    """A statement that is a string alone (a docstring; JavaScript's "use strict"): a stub's `pass` after one is
    still the body's only code."""
    return node.type == "expression_statement" and node.named_child_count == 1 and \
        node.named_children[0].type == "string"


_TODO = re.compile(rb"\bTODO\b")


def _is_todo_comment(node: tree_sitter.Node, parsed: ParsedSnapshot) -> bool:
    text = parsed.snapshot.utf8[node.start_byte : node.end_byte]
    if _TODO.search(text) is None:  # the word, not AUTODOC
        return False
    column = node.start_point[1]
    utf8 = parsed.snapshot.utf8
    line_head = utf8[node.start_byte - column : node.start_byte]
    if not line_head.strip():
        return True
    # After code, a comment speaks of that code, unless more code follows it on the line: `= /* TODO */ 0;` and
    # `{ /* TODO */ }` hold a place, `return w * h; /* TODO: overflow */` is a note on the line.
    line_end = utf8.find(b"\n", node.end_byte)
    return text.startswith(b"/*") and bool(utf8[node.end_byte : None if line_end < 0 else line_end].strip())


# The default value a stub returns after its TODO so that it compiles (Eclipse's `// TODO Auto-generated method
# stub` over `return null;`): the TODO's place with it. Filled apart, it stayed after the fill's own `return`.
_DEFAULT_VALUE = (r"""(?:null|nil|None|undefined|nullptr|false|False|0(?:\.0*)?[fFdDlL]?|""|''|\[\]|\{\}"""
                  r"""|Default::default\(\)|Ok\(\(\)\))""")
_DEFAULT_RETURN = re.compile(rf"return(?:\s+{_DEFAULT_VALUE}(?:\s*,\s*{_DEFAULT_VALUE})*)?\s*;?|{_DEFAULT_VALUE}")


def _default_return_after(comment: tree_sitter.Node, parsed: ParsedSnapshot) -> tree_sitter.Node | None:
    """The statement right after ``comment`` where it returns a default value, or is a stub that holds a place
    beside a TODO (`Stub.marked`: `pass`) as its body's one statement, and is the last of its body, through the
    bodies it opens (Go's `statement_list`, Python's `block` after a comment in the header)."""
    spec = parsed.spec
    node = comment.next_named_sibling
    while node is not None and spec is not None and node.type in spec.body_types and node.named_child_count:
        node = node.named_children[0]
    if node is None or spec is None or node.parent is None or node.parent.type not in spec.body_types:
        return None
    text = parsed.snapshot.utf8[node.start_byte : node.end_byte].decode("utf-8", "replace")
    marked = any(s.marked and s.node_type == node.type and s.matches(text) for s in spec.stubs)
    if _DEFAULT_RETURN.fullmatch(text) is None and not (marked and _alone_in_body(node, parsed)):
        return None
    at = node
    while at.parent is not None and at.id != comment.parent.id:
        if at.next_named_sibling is not None:
            return None
        at = at.parent
    return node


def _stands_as_code(node: tree_sitter.Node, body_types: frozenset[str]) -> bool:
    """A body's statement, all of one (`return ...`, `let x = todo!();`), or a body's final expression (Rust's
    `{ todo!() }`); not a value among others (`f(..., x)`)."""
    parent = node.parent
    if parent is None:
        return False
    return parent.type in body_types or (parent.parent is not None and parent.parent.type in body_types)


def _in_own_body(node: tree_sitter.Node, function: tree_sitter.Node, body_types: frozenset[str]) -> bool:
    """Whether ``node`` is a statement of ``function``'s own body, not of a branch or loop in it."""
    parent = node.parent
    while parent is not None and parent.id != function.id:
        if parent.type not in body_types:
            return False
        parent = parent.parent
    return parent is not None


def _todo_beside(node: tree_sitter.Node, parsed: ParsedSnapshot) -> bool:
    """Whether a TODO comment stands in ``node``'s block: among its statements, or before the first of them (where
    Python's grammar puts a comment that opens a block: in the `if` or the `except`, not its block)."""
    block = node.parent
    if block is None or parsed.spec is None:
        return False
    comments = list(block.named_children)
    before = block.prev_named_sibling
    while before is not None and before.type in parsed.spec.comment_types:
        comments.append(before)
        before = before.prev_named_sibling
    utf8 = parsed.snapshot.utf8
    return any(c.type in parsed.spec.comment_types and _TODO.search(utf8[c.start_byte : c.end_byte]) is not None
               for c in comments)


_LAST_NAME = re.compile(r"@?\s*(?:[\w.]*\.)?(\w+)")


def _declaration(function: tree_sitter.Node, parsed: ParsedSnapshot) -> bool:
    """Whether ``function`` is a declaration whose stub body is meant to stay (`LanguageSpec.declaration_*`): in a
    file of declarations, under a decorator that makes one, or a method of a class whose base makes it one."""
    spec = parsed.spec
    if spec is None:
        return False
    if uri_extension(parsed.snapshot.uri).lower() in spec.declaration_extensions:
        return True
    holder = function.parent
    if holder is not None and _decorated(holder) is not None:
        names = [_last_name(d) for d in holder.named_children if d.type == "decorator"]
        if spec.declaration_decorators.intersection(names):
            return True
        holder = holder.parent
    owner = holder.parent if holder is not None else None
    bases = owner.child_by_field_name("superclasses") if owner is not None else None
    return bases is not None and bool(spec.declaration_bases.intersection(_last_name(b) for b in bases.named_children))


def _last_name(node: tree_sitter.Node) -> str:
    """The last name of a decorator or a base, less its arguments: `overload` of `@t.overload`, `Protocol` of
    `typing.Protocol[T]`."""
    match = _LAST_NAME.match(node.text.decode("utf-8", "replace") if node.text is not None else "")
    return match.group(1) if match is not None else ""


def find_placeholders(parsed: ParsedSnapshot, offset: int) -> list[tuple[int, int]]:
    """Spans of the placeholders in the function around ``offset``, in document order; none in a declaration whose
    stub is its body (`_declaration`)."""
    spec = parsed.spec
    function = enclosing_function(parsed, offset)
    if spec is None or function is None or _declaration(function, parsed):
        return []
    spans: list[tuple[int, int]] = []
    utf8 = parsed.snapshot.utf8
    for node in walk(function):
        if node.type in spec.comment_types:
            if _is_todo_comment(node, parsed):
                start, end = node_span(parsed, node)
                default = _default_return_after(node, parsed)
                spans.append((start, end if default is None else node_span(parsed, default)[1]))
            continue
        stub = next((s for s in spec.stubs if s.node_type == node.type), None)
        if stub is None or not stub.matches(utf8[node.start_byte:node.end_byte].decode("utf-8", "replace")):
            continue
        if stub.alone:
            if _alone_in_body(node, parsed) and (not stub.whole or _in_own_body(node, function, spec.body_types)
                                                 or (stub.marked and _todo_beside(node, parsed))):
                spans.append(node_span(parsed, node))
        elif _stands_as_code(node, spec.body_types) or (node.parent is not None and node.parent.type in stub.within):
            spans.append(node_span(parsed, node))
    spans.sort()
    # Nested matches (a placeholder inside a TODO block comment cannot happen, but a
    # statement and its expression can both match): keep the outer span.
    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            continue
        merged.append(span)
    return merged


def placeholder_kinds(spec: LanguageSpec | None) -> str:
    """What Fill placeholders looks for in a language, for messages."""
    stubs = [stub.label for stub in spec.stubs] if spec is not None else []
    return ", ".join(["a TODO comment", *stubs][:-1]) + " or " + stubs[-1] if stubs else "a TODO comment"


def placeholder_replacements(
    parsed: ParsedSnapshot, holes: list[tuple[int, int]], fills: list[str]
) -> tuple[Replacement, ...]:
    """Each fill in place of its placeholder, further lines at the depth of the placeholder's
    line, in the file's indentation and line breaks. An empty fill leaves its placeholder be."""
    snap = parsed.snapshot
    unit = indent_unit(parsed.spec, snap)
    replacements = []
    for (start, end), fill in zip(holes, fills):
        replacement = _placed_fill(parsed, start, end, fill, unit)
        if replacement is not None:
            replacements.append(replacement)
    return tuple(replacements)


def _placed_fill(parsed: ParsedSnapshot, start: int, end: int, fill: str, unit: str) -> Replacement | None:
    """One fill in place of the placeholder at ``start..end``. A placeholder after a header on its line
    (`def f(x): ...`) that becomes more than one line starts a body on the next line, a step deeper than the
    header: Python takes no block after a statement on a header's line, though tree-sitter does."""
    snap = parsed.snapshot
    line = snap.line_of(start)
    line_start = snap.line_starts[line]
    head = snap.text[line_start:start]
    line_indent = leading_whitespace(head)
    line_end = line_start + len(snap.line_text(line))
    closed_after = snap.text[end:line_end].strip().startswith("}")
    if head.rstrip().endswith("{") and closed_after:
        # `{ /* TODO */ }`: a last line of the fill that is that `}` again (at the header's column or less) would
        # close the body twice.
        lines = fill.rstrip().split("\n")
        while len(lines) > 1 and lines[-1].strip() == "}" and \
                indent_columns(leading_whitespace(lines[-1])) <= indent_columns(line_indent):
            lines.pop()
        fill = "\n".join(lines)
    text = fit_placeholder(fill, line_indent, unit)
    if not text:
        return None
    if "\n" in text and head.rstrip().endswith((":", "{")):
        deeper = line_indent + unit
        body = fit_placeholder(fill, deeper, unit)
        if head.rstrip().endswith("{") and body.count("\n") < text.count("\n"):
            # Braces bound the body, not columns: fitted one step deeper, the lines the model wrote at the header's
            # own column were cut as leaving it, and lost. Those lines a step deeper; the others, fitted at the
            # line's depth, are a step deeper than it already.
            first, *rest = text.split("\n")
            body = first + "".join("\n" + (unit + line if line and leading_whitespace(line) == line_indent else line)
                                   for line in rest)
        text = "\n" + deeper + body
        start = line_start + len(head.rstrip())
        if closed_after:
            # `{ /* TODO */ }`: the body's closer goes on a line of its own, at the header's depth.
            text += "\n" + line_indent
            end += len(snap.text[end:line_end]) - len(snap.text[end:line_end].lstrip(" \t"))
    return Replacement(start, end, with_eol(text, snap.eol(start)))


def fill_placeholders(parsed: ParsedSnapshot, offset: int, request: Request) -> ActionEdit | NoEdit:
    """Every placeholder of the enclosing function becomes a hole; all are filled together. A fill that writes a
    placeholder again, its own or another (`...` over `...`), is left out: it fills nothing."""
    holes = find_placeholders(parsed, offset)
    if not holes:
        return NoEdit(_no_placeholder_reason(parsed, offset))
    text, engine = parsed.snapshot.text, request.engine
    between = sum(engine.count_tokens(text[a_end:b_start]) for (_, a_end), (b_start, _) in zip(holes, holes[1:]))
    # One canvas holds every hole and the code between them: each hole gets its share of what the model can write.
    hole_tokens = min(request.settings.max_hole_tokens, (engine.hole_capacity - between) // len(holes))
    if hole_tokens < MIN_PLACEHOLDER_TOKENS:
        return NoEdit(f"{len(holes)} placeholders with {between} tokens of code between them are more than the "
                      f"model fills at once ({engine.hole_capacity} tokens)")
    candidates, dropped = [], set()
    before, misnamed = problem_count(parsed.tree), False
    for c in infill_spans(parsed, holes, hole_tokens, request):
        replacements = placeholder_replacements(parsed, holes, c.fills)
        written, why = _writing_code(parsed, replacements)
        if written:
            found = candidate(parsed, written, c.confidence)
            # Held to the names as a rewrite is, where it adds no syntax problem: `return item;` in a function with
            # no `item` (copied from the loop of the function above) does not run.
            # Bare names only: an attribute of `self` its class never binds may be one the stub is there to add.
            if found.problems <= before and any("." not in name for r in written
                                                for name in names_read_anew(parsed, r)):
                misnamed = True
                continue
            candidates.append(found)
        dropped |= why
    if not candidates and dropped:
        wrote = next(what for why, what in _WROTE.items() if why in dropped)
        return NoEdit(f"the model wrote {wrote}; nothing was applied")
    if not candidates and misnamed:
        return NoEdit("found no fill that keeps to the file's names (the model's read a name nothing binds where it "
                      "stands)")
    return choose_edit(ActionKind.FILL_PLACEHOLDERS, parsed, candidates,
                       refused=lambda c: fails_typing_checks(parsed, c))


def _no_placeholder_reason(parsed: ParsedSnapshot, offset: int) -> str:
    if len(parsed.snapshot.text) > PARSED_CHARS:
        return (f"the file is read as plain text (over {PARSED_CHARS:,} characters); this action needs its parse "
                "to find placeholders")
    if parsed.spec is None or parsed.tree is None:
        return (f"the file is read as plain text (no grammar for {parsed.snapshot.language_id}); this action needs "
                "one to find placeholders")
    function = enclosing_function(parsed, offset)
    if function is None:
        return "the cursor is not in a function (placeholders are filled in the function around it)"
    if _declaration(function, parsed):
        return ("the function here is a declaration whose stub stays (an overload, an abstract method, a protocol's "
                "member or a stub file's)")
    return f"no placeholder in the function here ({placeholder_kinds(parsed.spec)})"


_WROTE_BACK, _ONLY_COMMENTS, _IDLE = "wrote back", "only comments", "idle"
# How Fill placeholders names what the model wrote where it left every placeholder be, the likeliest first.
_WROTE = {_WROTE_BACK: "the placeholder back", _ONLY_COMMENTS: "only comments in place of the placeholders",
          _IDLE: "only code that does nothing (a lone name, value or keyword) in place of the placeholders"}


def _writing_code(parsed: ParsedSnapshot, replacements: tuple[Replacement, ...]) -> tuple[tuple[Replacement, ...],
                                                                                          set[str]]:
    """The replacements that write code, and why the others were left out: their placeholder's text again, or,
    once made, a placeholder of the language (`throw new Error("not implemented yet")` over
    `throw new Error("not implemented")`), comments alone (`///` over `todo!()`, a doc comment of nothing), or
    statements that do nothing (`None` over `...`, a bare `return`)."""
    text = parsed.snapshot.text
    changed = [r for r in replacements if not _wrote_back(r, text)]
    dropped = {_WROTE_BACK} if len(changed) < len(replacements) else set()
    if not changed or parsed.tree is None:
        return tuple(changed), dropped
    after = parsed_after(parsed, changed)
    kept, shift = [], 0
    for r in sorted(changed, key=lambda r: r.start):
        start = r.start + shift
        shift += len(r.text) - (r.end - r.start)
        why = _no_code(after, start, start + len(r.text))
        if why is None:
            kept.append(r)
        else:
            dropped.add(why)
    return tuple(kept), dropped


def _wrote_back(replacement: Replacement, text: str) -> bool:
    """Whether ``replacement`` writes its placeholder's text (in ``text``) again, or only the default value returned
    after its TODO (`// TODO: the larger` over `return 0` -> `return 0`): the TODO gone, nothing written."""
    old, new = text[replacement.start : replacement.end].strip(), replacement.text.strip()
    return new == old or (_DEFAULT_RETURN.fullmatch(new) is not None
                          and "".join(old.split()).endswith("".join(new.split())))


def writes_code(parsed: ParsedSnapshot, start: int, end: int) -> bool:
    """Whether ``start..end``, written in place of code, holds code that does something: more than placeholders,
    comments, docstrings and statements that do nothing (`_no_code`), a keyword alone among them: `return` in place
    of `raise ValueError(msg)` drops what the code did."""
    return _no_code(parsed, start, end, replaced_code=True) is None


def _no_code(parsed: ParsedSnapshot, start: int, end: int, replaced_code: bool = False) -> str | None:
    """Why ``start..end`` holds no code: placeholders and nothing else; comments and docstrings (and placeholders);
    or besides those, statements that do nothing (`_does_nothing`). None where it holds code."""
    rest = parsed.snapshot.text[start:end]
    lead = len(rest) - len(rest.lstrip())
    rest = _blanked(rest, start, find_placeholders(parsed, start + lead))
    if not rest.strip():
        return _WROTE_BACK
    spec = parsed.spec
    if parsed.tree is None or spec is None:
        return None
    snap = parsed.snapshot
    first, last = snap.byte_offset(start), snap.byte_offset(end)
    around = parsed.tree.root_node.descendant_for_byte_range(first, last)
    while around is not None and around.parent is not None and \
            (around.parent.start_byte, around.parent.end_byte) == (around.start_byte, around.end_byte):
        around = around.parent  # the statement a word spans, not the word alone
    nodes = list(nodes_touching(around, first, last)) if around is not None else []
    prose = [node_span(parsed, n) for n in nodes if n.type in spec.comment_types or _docstring(n)]
    rest = _blanked(rest, start, prose)
    if not rest.strip():
        return _ONLY_COMMENTS
    idle = [node_span(parsed, n) for n in nodes
            if first <= n.start_byte and n.end_byte <= last and _does_nothing(n, parsed, replaced_code)]
    if not _blanked(rest, start, idle).strip():
        return _IDLE
    word = rest.strip()
    at = start + rest.index(word)
    text = snap.text
    return _IDLE if idle_body(spec.name, text[:at], word, text[at + len(word):]) else None


def _does_nothing(node: tree_sitter.Node, parsed: ParsedSnapshot, anywhere: bool) -> bool:
    """Whether ``node`` is a statement of one word that does nothing: an expression of a name, an attribute or a literal
    alone (`self.file`, `None`, `...`), or a keyword alone: a stub's (`pass`), or, ``anywhere`` or as the last
    statement of a function's own body, any (a bare `return`; one in a branch leaves it early). A name as a body's
    last expression may be its value (Rust's): that is `idle_body`'s to judge."""
    spec = parsed.spec
    if spec is None or node.parent is None or node.parent.type not in spec.body_types:
        return False
    text = parsed.snapshot.utf8[node.start_byte : node.end_byte].decode("utf-8", "replace")
    if ONE_WORD.fullmatch(text) is None:  # dotted names and all: `self.file`, `...`
        return False
    if node.type == "expression_statement":
        return True
    if node.named_child_count or node.type in spec.idle_value_types | spec.comment_types:
        return False
    return anywhere or any(stub.node_type == node.type for stub in spec.stubs) or _ends_function(node, spec)


def _ends_function(node: tree_sitter.Node, spec: LanguageSpec) -> bool:
    """Whether ``node`` is the last statement of a function's own body (comments aside)."""
    at = node
    while at.parent is not None and at.parent.type in spec.body_types:
        following = at.next_named_sibling
        while following is not None and following.type in spec.comment_types:
            following = following.next_named_sibling
        if following is not None:
            return False
        at = at.parent
    return at.parent is not None and at.parent.type in spec.function_types


def _blanked(text: str, start: int, spans: list[tuple[int, int]]) -> str:
    """``text``, which starts at ``start``, with the parts of it in ``spans`` made spaces."""
    for a, b in spans:
        a, b = max(a, start), min(b, start + len(text))
        if a < b:
            text = text[: a - start] + " " * (b - a) + text[b - start :]
    return text
