"""Evaluation holes cut at tree-sitter node boundaries.

A source file that parses without errors is cut into (prefix, middle, suffix) cases of four kinds:

- ``line``: an expression that runs to the end of its line, after something else on that line
  (the right side of an assignment, a call's arguments, a return value, a condition);
- ``statement``: one whole single-line statement of a body;
- ``block``: the multi-line body of a function, class, loop or branch (braces stay in the context);
- ``closing``: the closing span of a structure: the closing bracket plus up to two tokens before it on
  its line, or the last statement of a multi-line block together with the block's end.

Tree-sitter reports byte offsets into the UTF-8 encoding; every case is cut on ``str`` offsets.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from tree_sitter import Node, Parser, Tree

from engine import languages
# A file read from disk (`--heldout-manifest`, globs) is cut only if the corpus would hold it, so both routes to a
# held-out split cut the same holes from the same files.
from engine.rejection import MAX_FILE_BYTES
from engine.tokenizer import model_text

KINDS: tuple[str, ...] = ("line", "statement", "block", "closing")


@dataclass(frozen=True)
class HoleSyntax:
    """Where a language keeps its statements: the node types the cutter looks for."""

    bodies: frozenset[str]  # nodes whose named children are statements
    blocks: frozenset[str]  # multi-line bodies cut as `block` holes


def _syntax(bodies: list[str], blocks: list[str]) -> HoleSyntax:
    return HoleSyntax(frozenset(bodies), frozenset(blocks))


_BRACE_JS = _syntax(["program", "statement_block", "class_body"], ["statement_block"])

# Keyed by the names in engine.languages; a language missing here is not evaluated.
HOLE_SYNTAX: dict[str, HoleSyntax] = {
    "python": _syntax(["module", "block"], ["block"]),
    "javascript": _BRACE_JS,
    "typescript": _BRACE_JS,
    "tsx": _BRACE_JS,
    "go": _syntax(["source_file", "statement_list"], ["block"]),
    "rust": _syntax(["source_file", "block", "declaration_list"], ["block"]),
    "java": _syntax(["program", "block", "class_body"], ["block"]),
    "c": _syntax(["translation_unit", "compound_statement"], ["compound_statement"]),
    "cpp": _syntax(["translation_unit", "compound_statement", "field_declaration_list"], ["compound_statement"]),
}

CLOSERS = frozenset({")", "]", "}"})
# What may follow a `line` hole on its line: statement terminators, a Python colon, an opening brace.
_LINE_TAIL = re.compile(r"[ \t]*[;,:]?[ \t]*\{?[ \t]*")

# Size limits keep every case fillable within an evaluation's token budget.
MAX_LINE_CHARS = 120
MAX_STATEMENT_CHARS = 160
MAX_BLOCK_LINES = 15
MAX_BLOCK_CHARS = 800


@dataclass(frozen=True)
class HoleCase:
    kind: str
    language: str
    path: str
    prefix: str
    middle: str
    suffix: str


def language_for_path(path: str | Path) -> str | None:
    """The name of the path's language when holes can be cut in it."""
    lang = languages.language_for_path(path)
    return lang.name if lang is not None and lang.name in HOLE_SYNTAX else None


@lru_cache(maxsize=None)
def _parser(language: str) -> Parser:
    return languages.parser_for(language)


def parse(text: str, language: str) -> Tree:
    return _parser(language).parse(text.encode("utf-8"))


def is_parse_valid(text: str, language: str) -> bool:
    """True when the text parses with no ERROR and no MISSING node."""
    return not parse(text, language).root_node.has_error


class _Offsets:
    """UTF-8 byte offset -> str offset for one text."""

    def __init__(self, text: str, data: bytes):
        self._identity = len(text) == len(data)
        if not self._identity:
            starts = [0] * (len(data) + 1)
            b = 0
            for i, ch in enumerate(text):
                starts[b] = i
                b += len(ch.encode("utf-8"))
            starts[b] = len(text)
            self._chars = starts

    def __call__(self, byte_offset: int) -> int:
        return byte_offset if self._identity else self._chars[byte_offset]


class _Lines:
    """Line geometry of a text in str offsets."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def start(self, row: int) -> int:
        return self.starts[row]

    def end(self, row: int) -> int:
        """Offset of the newline ending `row` (or the text's end)."""
        return self.starts[row + 1] - 1 if row + 1 < len(self.starts) else len(self.text)

    def content_start(self, row: int) -> int:
        line = self.text[self.start(row):self.end(row)]
        return self.start(row) + len(line) - len(line.lstrip())

    def content_end(self, row: int) -> int:
        return self.start(row) + len(self.text[self.start(row):self.end(row)].rstrip())


def _walk(root: Node) -> Iterator[Node]:
    cursor = root.walk()
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def _is_comment(node: Node) -> bool:
    return "comment" in node.type


def _inside_string(node: Node) -> bool:
    # A string's delimiters and content pieces are nodes too, but no one completes half a literal.
    return node.parent is not None and "string" in node.parent.type


class _Cutter:
    def __init__(self, text: str, language: str):
        self.text = text
        self.spec = HOLE_SYNTAX[language]
        data = text.encode("utf-8")
        self.tree = _parser(language).parse(data)
        self.at = _Offsets(text, data)
        self.lines = _Lines(text)

    def span(self, node: Node) -> tuple[int, int]:
        return self.at(node.start_byte), self.at(node.end_byte)

    def spans(self) -> dict[str, set[tuple[int, int]]]:
        found: dict[str, set[tuple[int, int]]] = {k: set() for k in KINDS}
        for node in _walk(self.tree.root_node):
            if node.is_named:
                if _is_comment(node) or node.is_extra:
                    continue
                self._line(node, found["line"])
                if node.type in self.spec.bodies:
                    self._statements(node, found["statement"])
                if node.type in self.spec.blocks:
                    self._block(node, found["block"], found["closing"])
            elif node.type in CLOSERS:
                self._closing_bracket(node, found["closing"])
        return found

    def _line(self, node: Node, out: set) -> None:
        if node.start_point.row != node.end_point.row or _inside_string(node):
            return
        start, end = self.span(node)
        row = node.start_point.row
        if start <= self.lines.content_start(row) or end - start > MAX_LINE_CHARS:
            return
        if _LINE_TAIL.fullmatch(self.text[end:self.lines.end(row)]) and self.text[start:end].strip():
            out.add((start, end))

    def _statements(self, body: Node, out: set) -> None:
        for child in body.named_children:
            if _is_comment(child) or child.start_point.row != child.end_point.row:
                continue
            start, end = self.span(child)
            row = child.start_point.row
            whole_line = start == self.lines.content_start(row) and end == self.lines.content_end(row)
            if whole_line and 0 < end - start <= MAX_STATEMENT_CHARS:
                out.add((start, end))

    def _block(self, block: Node, blocks: set, closings: set) -> None:
        inner = block.named_children
        if len(inner) == 1 and inner[0].type in self.spec.bodies:
            inner = inner[0].named_children  # Go wraps a block's statements in a statement_list
        inner = [c for c in inner if not _is_comment(c)]
        if not inner:
            return
        first, last = inner[0], inner[-1]
        start, end = self.at(first.start_byte), self.at(last.end_byte)
        rows = last.end_point.row - first.start_point.row + 1
        if 2 <= rows <= MAX_BLOCK_LINES and end - start <= MAX_BLOCK_CHARS:
            blocks.add((start, end))
        # Closing a block: its last statement (one line) through the block's own end.
        if last.start_point.row == last.end_point.row:
            last_start = self.at(last.start_byte)
            if last_start == self.lines.content_start(last.start_point.row):
                closings.add((last_start, self.at(block.end_byte)))

    def _closing_bracket(self, closer: Node, out: set) -> None:
        parent = closer.parent
        if parent is None or parent.children[-1].start_byte != closer.start_byte:
            return
        row = closer.start_point.row
        end = self.at(closer.end_byte)
        # The closer alone, then with one or two tokens before it on the same line.
        leaf: Node | None = closer
        for _ in range(3):
            # A closing span starts at code, never inside or at a string literal: those are line holes.
            if leaf is None or leaf.start_point.row != row or _inside_string(leaf) or "string" in leaf.type:
                break
            out.add((self.at(leaf.start_byte), end))
            leaf = _previous_leaf(leaf, parent)


def _previous_leaf(node: Node, within: Node) -> Node | None:
    """The token before `node` inside `within`, skipping comments."""
    while True:
        sibling = node.prev_sibling
        if sibling is None:
            node = node.parent
            if node is None or node == within:
                return None
            continue
        while sibling.child_count:
            sibling = sibling.children[-1]
        if not _is_comment(sibling):
            return sibling
        node = sibling


def hole_spans(text: str, language: str, kinds: Sequence[str] = KINDS) -> dict[str, list[tuple[int, int]]]:
    """(start, end) str offsets of every hole of the requested kinds in one source text, in file order.

    A text that does not parse cleanly yields none: parse-validity of a fill is only meaningful
    against an original that was valid.
    """
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown hole kind {kind!r} (expected one of {', '.join(KINDS)})")
    cutter = _Cutter(text, language)
    if cutter.tree.root_node.has_error:
        return {k: [] for k in kinds}
    spans = cutter.spans()
    return {k: sorted(spans[k]) for k in kinds}


def make_case(kind: str, language: str, path: str, text: str, span: tuple[int, int]) -> HoleCase:
    start, end = span
    return HoleCase(kind, language, path, text[:start], text[start:end], text[end:])


def cut_holes(text: str, language: str, path: str = "", kinds: Sequence[str] = KINDS) -> dict[str, list[HoleCase]]:
    """Every hole case of the requested kinds in one source text, in file order."""
    return {k: [make_case(k, language, path, text, span) for span in spans]
            for k, spans in hole_spans(text, language, kinds).items()}


@dataclass(frozen=True)
class SourceDocument:
    path: str
    language: str
    text: str | None = None  # None: read from `path` when the document is visited
    package: str | None = None  # the corpus package it belongs to, where known

    def read(self) -> str | None:
        """The document's text, or None when its file is too large, unreadable or not UTF-8."""
        text = self.text
        if text is None:
            try:
                if Path(self.path).stat().st_size > MAX_FILE_BYTES:
                    return None
                text = Path(self.path).read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                return None
        # Holes are cut by lines; one newline convention keeps a line's tail free of carriage returns.
        return model_text(text)


def documents_from_paths(paths: Iterable[str | Path]) -> list[SourceDocument]:
    """The paths in a language holes can be cut in, as documents read on demand."""
    found = []
    for path in paths:
        language = language_for_path(path)
        if language is not None:
            found.append(SourceDocument(str(path), language))
    return found


def sample_cases(
    documents: Iterable[SourceDocument],
    *,
    kinds: Sequence[str] = KINDS,
    max_cases: int = 100,
    seed: int = 0,
    per_file: int = 2,
) -> list[HoleCase]:
    """Up to `max_cases` cases of each kind, at most `per_file` of a kind from any one document, and at most one
    of the spans that end at one place (`)`, `b)` and `(a, b)` test the same closing).

    Deterministic for a given document set and seed, and a kind's cases do not depend on which other kinds are
    asked for: documents are visited in a seeded shuffle of their sorted paths, and each kind draws from its own
    generator (with one shared, `--kinds line` and `--kinds line closing` drew different line holes, so figures
    measured apart could not be set side by side).
    """
    docs = sorted((d for d in documents if d.language in HOLE_SYNTAX), key=lambda d: d.path)
    random.Random(seed).shuffle(docs)
    draws = {k: random.Random(f"{seed}:{k}") for k in kinds}
    chosen: dict[str, list[HoleCase]] = {k: [] for k in kinds}
    for doc in docs:
        wanted = [k for k in kinds if len(chosen[k]) < max_cases]
        if not wanted:
            break
        text = doc.read()
        if text is None:
            continue
        found = hole_spans(text, doc.language, wanted)
        for kind in wanted:
            rng = draws[kind]
            by_end: dict[int, list[tuple[int, int]]] = {}
            for span in found[kind]:
                by_end.setdefault(span[1], []).append(span)
            ends = [rng.choice(group) for _, group in sorted(by_end.items())]
            take = min(per_file, max_cases - len(chosen[kind]), len(ends))
            chosen[kind].extend(make_case(kind, doc.language, doc.path, text, span)
                                for span in rng.sample(ends, take))
    return [case for kind in kinds for case in chosen[kind]]
