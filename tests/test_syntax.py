"""The parse trees of documents: a file whose lines end in a lone CR parses line by line as LSP counts its lines, and
a languageId names the grammar, the file extension only where the id names no language."""

import random

import pytest

from infill_ls.actions import ActionKind, NoEdit, Request, available, close_structure
from infill_ls.documents import DocumentStore, Position, PositionEncoding, Range, TextChange
from infill_ls.settings import Settings
from infill_ls.syntax import (Replacement, SyntaxIndex, _Spans, apply_replacements, grammar_bytes, language_for,
                              nodes_touching, parse_text, parses_after, parses_cleanly, problem_count, tree_after)
from lsp_support import WritesFills, parsed_text, tree_nodes

PYTHON = language_for("python", "")
VALID = "import os\n\ndef total(items):\n    result = 0\n    for item in items:\n        result += item.price\n    return result\n"
BROKEN = ("def total(items):\n    result = 0\n    for item in items:\n        result += item.price * (item.count\n"
          "    return result\n")


def _open(text, language_id="python", uri="file:///cr.py"):
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(uri, language_id, 1, text)
    index.opened(snapshot)
    return store, index, snapshot


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_a_valid_file_parses_with_any_line_break_and_its_rows_are_its_lines(eol):
    text = VALID.replace("\n", eol)
    assert parses_cleanly(PYTHON, text)
    _, index, snapshot = _open(text)
    tree = index.parse(snapshot).tree
    assert not tree.root_node.has_error
    # `return result` stands on the file's seventh line, at column 4.
    returned = next(n for n in _walk(tree.root_node) if n.type == "return_statement")
    assert tuple(returned.start_point) == (6, 4)
    assert snapshot.line_of(snapshot.char_offset(returned.start_byte)) == 6


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def test_a_lone_cr_file_has_no_syntax_error_to_close_and_a_broken_one_is_closed_where_it_breaks():
    valid = VALID.replace("\n", "\r")
    _, index, snapshot = _open(valid)
    parsed = index.parse(snapshot)
    at = snapshot.offset_at(Position(3, 14), PositionEncoding.UTF16)
    assert ActionKind.CLOSE_STRUCTURE not in available(parsed, at, at)

    broken = BROKEN.replace("\n", "\r")
    _, index, snapshot = _open(broken, uri="file:///broken.py")
    parsed = index.parse(snapshot)
    at = snapshot.offset_at(Position(3, 42), PositionEncoding.UTF16)
    edit = close_structure(parsed, at, Request(WritesFills(), Settings(file_lookup=False)))
    assert not isinstance(edit, NoEdit), edit
    assert apply_replacements(broken, list(edit.replacements)) == BROKEN.replace("(item.count\n", "(item.count)\n") \
        .replace("\n", "\r")


@pytest.mark.parametrize("eol", ["\r", "\n"])
def test_incremental_parses_of_a_file_with_lone_crs_match_a_fresh_parse(eol):
    store, index, snapshot = _open(VALID.replace("\n", eol) * 5)
    index.parse(snapshot)
    rng = random.Random(7)
    for version in range(2, 80):
        s = store.get("file:///cr.py")
        a = rng.randrange(len(s.text) + 1)
        b = min(len(s.text), a + rng.randrange(3))
        start, end = s.position_at(a, PositionEncoding.UTF16), s.position_at(b, PositionEncoding.UTF16)
        insert = rng.choice(["\r", "\n", "\r\n", "x", "(", " ", "名", ""])
        snapshot = store.change("file:///cr.py", version, [TextChange(Range(start, end), insert)])
        index.changed(snapshot)
        if version % 3 == 0:
            assert tree_nodes(index.parse(snapshot).tree) == tree_nodes(parse_text(PYTHON, snapshot.text)), version


@pytest.mark.parametrize("inserted", ["\r    total = 0", "\r    total = 0\r", "\n    total = 0\r\n    "])
def test_a_candidate_fill_in_a_lone_cr_file_is_parsed_as_the_file_would_be(inserted):
    text = VALID.replace("\n", "\r")
    _, index, snapshot = _open(text)
    parsed = index.parse(snapshot)
    at = text.index("    result = 0") - 1
    replacement = Replacement(at, at, inserted)
    after = apply_replacements(text, [replacement])
    assert tree_nodes(tree_after(parsed, [replacement])) == tree_nodes(parse_text(PYTHON, after))
    assert parses_after(parsed, [replacement]) == parses_cleanly(PYTHON, after)
    assert parses_after(parsed, [Replacement(at, at, "\r    total = 0")])


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_file_with_no_lone_cr_is_read_by_the_grammar_as_it_is(eol):
    from infill_ls.syntax import grammar_bytes

    # Not copied: the grammar reads the document's own bytes.
    _, _, snapshot = _open(VALID.replace("\n", eol))
    assert grammar_bytes(snapshot.utf8) is snapshot.utf8
    assert grammar_bytes(b"a\rb\r\nc\r") == b"a\nb\r\nc\n"


@pytest.mark.parametrize("language_id, uri, expected", [
    # Ids of languages without a grammar here: plain text, whatever the extension.
    ("objective-c", "file:///src/Person.h", None),  # VS Code
    ("objective-cpp", "file:///src/Person.h", None),
    ("objc", "file:///src/Person.h", None),  # Neovim
    ("markdown", "file:///notes.py", None),
    ("cobol", "untitled:Untitled-1", None),
    # Ids that name no language: the extension decides.
    ("plaintext", "file:///src/Person.h", "c"),
    ("text", "file:///main.go", "go"),
    ("", "file:///main.rs", "rust"),
    # Editors' own ids for the languages here, in any case.
    ("js", "file:///app.js", "javascript"),  # Emacs's eglot (js-mode, js-ts-mode)
    ("tsx", "file:///app.tsx", "tsx"),  # eglot, Zed
    ("rustic", "file:///lib.rs", "rust"),  # eglot (rustic-mode)
    ("js2", "file:///app.js", "javascript"),  # eglot (js2-mode)
    ("python-ts", "file:///x.py", "python"),  # a client naming it after python-ts-mode
    ("go-ts", "file:///x", "go"),
    ("arduino", "file:///blink.ino", "cpp"),  # Neovim
    ("Python", "file:///x", "python"),
    ("python.django", "file:///views.py", "python"),  # a Neovim compound filetype
    ("htmldjango.python", "file:///views.py", "python"),
    ("python", "file:///x.txt", "python"),
    # TypeScript named for a `.tsx` file (Neovim's compound `typescript.tsx`; a client that names the language, not
    # the dialect): TSX's grammar, which reads all of TypeScript but `<T>x` casts, which a `.tsx` file cannot hold.
    ("typescript", "file:///App.tsx", "tsx"),
    ("typescript.tsx", "file:///App.tsx", "tsx"),
    ("typescript", "file:///app.ts", "typescript"),
    # VS Code's Go extension's module files are no Go, whose grammar read `go.mod` as such.
    ("go.mod", "file:///go.mod", None),
    ("go.sum", "file:///go.sum", None),
    ("go.work", "file:///go.work", None),
])
def test_the_language_id_decides_and_the_extension_only_where_it_names_no_language(language_id, uri, expected):
    spec = language_for(language_id, uri)
    assert (spec.name if spec else None) == expected


@pytest.mark.parametrize("language_id, text", [
    ("go", "package main\n\ntype Socket struct {\n}"),
    ("go", "package main\n\ntype Celsius float64"),
    ("go", "\n\npackage main\n\nconst (\n\tA = 1\n)"),
    ("c", "int x;\n#include <stdio.h>"),
    ("cpp", "#pragma once"),
])
def test_a_file_without_a_final_line_break_has_no_problem_for_want_of_it(language_id, text):
    # tree-sitter-go's terminator after the last declaration and tree-sitter-c's after a preprocessor line are
    # reported missing at the end of the file (zero-width, hidden), where the compilers take the file as it is.
    spec = language_for(language_id, "")
    assert parse_text(spec, text).root_node.has_error
    assert problem_count(parse_text(spec, text)) == 0
    assert parses_cleanly(spec, text)
    parsed = parsed_text(language_id, text + "\n")
    assert parses_after(parsed, [Replacement(len(text), len(text) + 1, "")])


@pytest.mark.parametrize("language_id, text", [
    ("go", "package main\n\ntype Socket struct {"),
    ("go", "package main\n\nfunc f() {\n\tg(1"),
    ("c", "#include <stdio.h>\nint f(int x"),
])
def test_a_problem_at_the_end_of_a_file_without_a_final_line_break_still_counts(language_id, text):
    spec = language_for(language_id, "")
    assert problem_count(parse_text(spec, text)) >= 1
    assert not parses_cleanly(spec, text)


class _CountingParser:
    """A grammar's real parser that notes each text it is given."""

    def __init__(self, parser, texts):
        self._parser, self._texts = parser, texts

    def parse(self, data, *old):
        self._texts.append(bytes(data))
        return self._parser.parse(data, *old)


def test_a_fill_checked_while_typing_and_then_ranked_is_parsed_once_for_its_snapshot(monkeypatch):
    from infill_ls import syntax
    from infill_ls.suggestions import Suggestion, parsing_first
    from infill_ls.typing_filter import no_worse

    texts = []
    real = syntax.parser_for
    monkeypatch.setattr(syntax, "parser_for", lambda name: _CountingParser(real(name), texts))
    # `urn 1` makes a line the file spells above it: `redeclares` reads the filled file too.
    text = "def load(self):\n    return 1\n\n\ndef save(self):\n    ret\n"
    at = text.index("ret\n") + 3
    parsed = parsed_text("python", text)
    filled = apply_replacements(text, [Replacement(at, at, "urn 1")]).encode()
    fill = [Suggestion("urn 1", at, at, -0.1)]
    assert no_worse(parsed, fill) == fill
    assert parsing_first(parsed, at, fill) == fill
    assert texts.count(filled) == 1
    # Another snapshot of the same text is parsed again: the trees kept are its own snapshot's.
    again = parsed_text("python", text)
    assert parsing_first(again, at, fill) == fill
    assert texts.count(filled) == 2


def test_the_trees_of_fills_go_with_their_snapshot():
    import gc
    import weakref

    parsed = parsed_text("python", VALID)
    at = VALID.index("return result")
    tree_after(parsed, [Replacement(at, at, "x = 1\n    ")])
    held = weakref.ref(parsed.snapshot)
    del parsed
    gc.collect()
    assert held() is None


def test_the_nodes_touching_a_span_are_those_holding_one_of_its_bytes_outermost_first():
    text = VALID + "x = " + " + ".join(["1"] * 3000) + "\n"
    tree = parse_text(PYTHON, text)
    at = VALID.index("item.price")
    nodes = list(nodes_touching(tree.root_node, at, at + len("item")))
    assert nodes[0] == tree.root_node
    assert [n.type for n in nodes[1:]] == ["function_definition", "block", "for_statement", "block",
                                          "expression_statement", "augmented_assignment", "attribute", "identifier"]
    assert all(n.start_byte < at + 4 and at < n.end_byte for n in nodes[1:])
    # A chain of operators as long as the file's stack cannot hold, walked all the same.
    first = len(VALID) + len("x = ")
    chain = list(nodes_touching(tree.root_node, first, first + 1))
    assert chain[-1].text == b"1" and len(chain) > 3000


KERNEL = ("__global__ void __launch_bounds__(256, 2) scale(float *data, float factor, int n)\n{\n"
          "    __shared__ float tile[256];\n    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
          "    if (i < n) {\n        data[i] *= factor;\n    }\n}\n\n"
          "__host__ __device__ inline float square(float x) { return x * x; }\n\nint main()\n{\n"
          "    float *data = nullptr;\n    scale<<<4, 256>>>(data, 2.0f, 1024);\n"
          "    scale<float><<<grid,\n                 block, 0, stream>>>(data, 2.0f, 1024);\n    return a << 2;\n}\n")


@pytest.mark.parametrize("language_id, uri", [("cuda-cpp", "file:///k/scale.cu"), ("cpp", "file:///k/scale.cuh")])
def test_cuda_reads_as_the_cpp_it_is_once_its_additions_are_blanked(language_id, uri):
    # Each qualifier and launch was an error of the C++ grammar's: every CUDA file had some, and Close structure
    # mended a launch eight lines from the cursor (`scale<<block<4, 256>>>`).
    spec = language_for(language_id, uri)
    assert problem_count(parse_text(spec, KERNEL)) == 0
    masked = grammar_bytes(KERNEL.encode(), spec)
    assert len(masked) == len(KERNEL.encode()) and masked.count(b"\n") == KERNEL.count("\n")
    assert b"scale" + b" " * len("<<<4, 256>>>") + b"(data" in masked and b"a << 2" in masked  # a shift stays
    parsed = parsed_text(language_id, KERNEL, uri)
    edit = close_structure(parsed, KERNEL.index("data[i]"), Request(WritesFills(["block"]), Settings()))
    assert isinstance(edit, NoEdit) and "no syntax error" in edit.reason
    # An error of the user's own is still one.
    broken = KERNEL.replace("data[i] *= factor;", "data[i] *= factor(;")
    assert problem_count(parse_text(spec, broken)) > 0


def test_cpp_without_cuda_is_parsed_from_its_own_bytes():
    spec = language_for("cpp", "file:///a.cpp")
    data = b"int f(int a) { return a << 2; }\n"
    assert grammar_bytes(data, spec) is data


def test_the_spans_a_problem_is_asked_against_answer_as_each_span_asked_alone_would():
    class Span:  # a problem's bytes, as `_Spans` reads a node's
        def __init__(self, start, end, parent=True):
            self.start_byte, self.end_byte, self.parent = start, end, parent

    rng = random.Random(7)
    spans = [Span(s, s + rng.randrange(0, 40)) for s in (rng.randrange(0, 2000) for _ in range(300))]
    spans.append(Span(0, 5000, parent=None))  # the root: never a place of its own
    held = _Spans(spans)
    for _ in range(2000):
        start = rng.randrange(0, 2100)
        end = start + rng.randrange(0, 30)
        touching = [s.end_byte for s in spans if s.parent is not None and s.start_byte <= end and start <= s.end_byte]
        assert held.reach(start, end) == (max(touching) if touching else None)
