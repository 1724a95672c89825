"""Tree-sitter parse trees for open documents, one table row per language.

Trees are brought up to date lazily: each snapshot carries the edits that produced it, the
index queues them, and the first reader of a newer version applies them with ``Tree.edit``
and re-parses incrementally. Reads happen on the inference worker, so no handler waits for a
parse; but py-tree-sitter holds the interpreter lock while it parses, so the event loop pauses
for as long as one runs (tens of ms for an incremental parse of an ordinary file, seconds for
the first parse of a file of megabytes).
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
import sys
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass, field, replace
from pathlib import PurePosixPath
from typing import NamedTuple, Protocol
from urllib.parse import unquote, urlparse

import tree_sitter

from engine.errors import Cancelled
from engine.languages import Language, grammar_problem, language_named, parser_for

from .documents import Edit, Snapshot, language_names, point_at
from .notebooks import NOT_LINE_BREAK, CellMagics


@dataclass(frozen=True)
class Stub:
    """A stand-in for code that Fill placeholders fills: a node of ``node_type`` whose text matches ``text`` (a
    regular expression over all of it; None: any text). With ``alone``, only as its body's one statement
    (docstrings and comments aside); with ``whole``, only as the function's: `raise NotImplementedError` as all of
    a function is a stub, but one in a branch (`else: raise NotImplementedError(mode)`) is code. With ``marked``,
    also as a branch's one statement where a TODO comment stands beside it: `except OSError: pass` alone ignores
    the error on purpose, with a `# TODO` it holds a place."""

    node_type: str
    label: str  # how messages and docs name it
    text: str | None = None
    alone: bool = False
    whole: bool = False
    marked: bool = False
    # Besides a body's statements: the nodes whose value it may be (Rust's `_ => todo!(),`, `|| todo!()`).
    within: frozenset[str] = frozenset()

    def matches(self, node_text: str) -> bool:
        return self.text is None or re.fullmatch(self.text, node_text, re.DOTALL) is not None


# A thrown or panicked message that says the code is still to be written: "not (yet) implemented" or
# "unimplemented" in it, or "TODO" first ("Todo list is empty" is an error of a to-do application).
_UNWRITTEN = (r"""\s*(["'`])(?:[^"'`]*?(?i:\bnot\s+(?:yet\s+)?implemented\b|\bunimplemented\b)[^"'`]*"""
              r"""|\s*TODO\b[^"'`]*)\1\s*""")


class LayoutError(NamedTuple):
    """Where the language does not read code its grammar does (`LanguageSpec.layout_error`)."""

    message: str
    # The bytes of the code read that are at fault, where the error is one no text typed after it mends (a name
    # given twice, a `break` in no loop; not a `(` left open); else None.
    final: tuple[int, int] | None
    # Where a line is indented deeper than the code above it goes on (a body after a header's body on its own line,
    # items after their bracket closed): the byte its line begins at; else None.
    indented: int | None = None


# CPython's errors in code that says what it cannot mean, whatever is typed after it: names and arguments given twice
# or out of order, a jump out of its scope, an assignment to what takes none.
_PYTHON_FINAL = re.compile(r"duplicate argument|keyword argument repeated|outside (?:async )?(?:loop|function)|"
                           r"not properly in loop|cannot (?:assign|delete)|Maybe you meant '=='|follows keyword|"
                           r"follows (?:a )?(?:parameter with a default|default argument)|non-default argument|"
                           r"is parameter and|no binding for nonlocal|nonlocal declaration not allowed|"
                           r"is (?:assigned to|used prior to) (?:nonlocal|global) declaration|"
                           # a definition's name followed by what no parameter list begins with: `def __it` + `er__:`
                           r"expected '\('|"
                           # a statement between a `try`'s body and its `except`: no line typed below mends that
                           r"expected 'except' or 'finally' block")


class Masks(Protocol):
    """What a language's text holds that its grammar does not read, blanked before each parse (`grammar_bytes`)."""

    def masked(self, data: bytes) -> bytes:
        """``data`` (UTF-8) with each such span blanked byte for byte, its line breaks kept, so every offset stays
        valid; ``data`` itself where there is none."""
        ...


# CUDA's declaration qualifiers, and a kernel's launch configuration: `scale<<<blocks, threads>>>(data, n)` reads as
# the call `scale(data, n)` once it is blanked.
# Each pattern begins with its literal, which the search skips to; what stands before it is looked at after
# (`CudaAdditions.masked`).
_CUDA_QUALIFIERS = re.compile(rb"__(?:global|device|host|shared|constant|managed|forceinline|noinline)__(?!\w)"
                              rb"|__launch_bounds__\s*\([^()]*\)")
# A launch follows the kernel's name (or its template arguments' `>`), and holds no string: `"<<<<<<<"` in a string
# is no launch.
_CUDA_LAUNCH = re.compile(rb"<<<[^;{}\"']*?>>>")
_LAUNCHED = re.compile(rb"[\w>]\s*\Z")
# What tells a file with CUDA in it, found by plain searches: a regular expression over a megabyte of C++ headers,
# where `__` stands at every `__attribute__`, took 18 ms, on each parse.
_CUDA_WORDS = (b"<<<", b"__global__", b"__device__", b"__host__", b"__shared__", b"__constant__", b"__managed__",
               b"__forceinline__", b"__noinline__", b"__launch_bounds__")


class CudaAdditions:
    """What CUDA adds to C++ (its qualifiers, `__global__` and the rest, and a kernel launch's `<<<...>>>`), which
    the C++ grammar reads as errors: every CUDA file had one, so Close structure was offered anywhere in it and
    mended a launch eight lines from the cursor with a made-up name (`scale<<block<4, 256>>>`)."""

    def masked(self, data: bytes) -> bytes:
        if not any(word in data for word in _CUDA_WORDS):  # most C++
            return data
        spans = [m.span() for m in _CUDA_QUALIFIERS.finditer(data)
                 if m.start() == 0 or not (chr(data[m.start() - 1]).isalnum() or data[m.start() - 1] == ord("_"))]
        spans += [m.span() for m in _CUDA_LAUNCH.finditer(data)
                  if _LAUNCHED.search(data, max(0, m.start() - 64), m.start()) is not None]
        if not spans:
            return data
        out = bytearray(data)
        for start, end in spans:
            out[start:end] = NOT_LINE_BREAK.sub(b" ", data[start:end])
        return bytes(out)


@dataclass(frozen=True)
class LanguageSpec:
    """What the server needs to know about one grammar. Everything language-specific lives
    here so the code that uses it stays one path for all languages."""

    grammar: Language  # the engine's row: name, grammar package, the extensions it reads
    language_ids: tuple[str, ...]  # LSP languageIds
    block_openers: tuple[str, ...]  # a line ending with one of these opens a body
    closers: tuple[str, ...]  # tokens that close a body opened on a previous line
    body_types: frozenset[str]  # nodes holding a sequence of statements
    function_types: frozenset[str]
    comment_types: frozenset[str]
    # Nodes that hold a string's or a character's text, and those inside one that are code again (an f-string's
    # `{}`, a template literal's `${}`): no closer goes in one.
    literal_types: frozenset[str]
    code_in_literal_types: frozenset[str] = frozenset()
    # Of those, the literals whose quote may open text over lines (a template literal), each as (its node, its quote
    # token): the grammar reads one left open as an ERROR, and what follows it as code.
    template_quotes: tuple[tuple[str, str], ...] = ()
    stubs: tuple[Stub, ...] = ()  # stand-ins for code besides TODO comments
    # Where an opener also ends other things (Python's `:` ends an annotation, a dict key, a slice's start), the
    # words a body's header starts with; a header broken over lines ends on a line that starts with a closing
    # bracket. Empty: every line that ends with an opener opens a body.
    header_words: frozenset[str] = frozenset()
    # Words that go on after a body's closer on its line and begin no statement (`} else {`, `} catch (e) {`): a line
    # at its opener's indentation that begins with one ends that body where it begins.
    after_body_words: frozenset[str] = frozenset({"else"})
    # Nodes whose `{` opens an expression or a list (an object, a composite literal, an initializer list), not a
    # body: with the editor's `}` after it, such a brace holds one line.
    inline_brace_types: frozenset[str] = frozenset()
    # Where a switch's labels stand at the switch's own indentation (gofmt): the words such a switch's header starts
    # with, and the words its labels start with. The body after the header starts at the header's indentation, and a
    # label's line (`case "a":`, `default:`) opens a body one step inside it. Empty where the labels go one step
    # inside the switch like any statement (C, Java, JavaScript).
    flush_labels: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    indent: str = "    "  # the community's usual step, for files too short to show their own
    # What begins a line comment: elsewhere a `#` is code (Rust's `#[derive(..)]`, JavaScript's `this.#items`).
    line_comments: tuple[str, ...] = ("//",)
    # What ends a statement that a fill closed at the cursor still owes (`;`); empty where statements need none
    # (JavaScript's is optional, Go and Python have none).
    statement_end: str = ""
    # Where a statement may go without its end (JavaScript's `;`), the nodes of statements that may: Close structure
    # ends one its closers end as the file ends most of its own.
    optional_end_types: frozenset[str] = frozenset()
    # Nodes that declare a function without its body (a prototype, an interface's method, a trait's `fn`): a
    # `statement_end` that ends one ends a header typed for the body that follows. Where one is a declarator
    # (C's), the declaration it stands in is such a node.
    signature_types: frozenset[str] = frozenset()
    # The brackets in which a `statement_end` may stand without ending the statement (Rust's `[x; n]`), besides a
    # `for (` header's: elsewhere a `;` inside a bracket opened on the line ends the line too early.
    bracket_statement_ends: str = ""
    # The extension fallback serves editors whose languageId names no language (`language_for`); it keeps a few
    # choices of its own (``.h`` opens as C) where the engine's corpus reader differs.
    extra_extensions: tuple[str, ...] = ()
    skipped_extensions: tuple[str, ...] = ()
    # What a notebook's cell of the language may hold that the grammar does not read (IPython's magics): the cell's
    # documents take the row's variant that blanks them (`in_cell`); in a file of its own such a line is an error.
    cell_magics: CellMagics | None = None
    # Set on that variant only: every parse of the text reads it with them blanked (`grammar_bytes`); on C++'s own
    # row, CUDA's additions (`CudaAdditions`).
    masked: Masks | None = None
    # Where the grammar keeps a macro's body as text (C's `#define`), the nodes that define one and the body's node:
    # any fill there parses, so its brackets are what a fill is held to.
    macro_types: frozenset[str] = frozenset()
    macro_body_type: str = ""
    # Where a macro call that a block holds as its last expression is still a statement that owes its
    # `statement_end` (Rust), the macros whose value is `()` (printing, asserting) or `!` (never returning), and the
    # nodes whose body's value is `()` whatever its last expression (a loop; a function with no return type). Any
    # other macro's value is used where it stands: `write!(f, "[")?;`, `vec![1, 2].iter()`, and the `?` or `.`
    # typed next comes before the `;`.
    unit_macros: frozenset[str] = frozenset()
    unit_bodies: frozenset[str] = frozenset()
    # Where a function's body has a value (a `unit_bodies` node with a return type), the expressions that are no
    # value it returns (a `return`, an assignment): a `statement_end` after one as the body's last statement takes
    # nothing from it, where after any other it makes the body's value `()` (rustc's E0308).
    valueless_types: frozenset[str] = frozenset()
    # Nodes that hold items (a file's, a module's, an impl's), where a `;` after an item's `}` is none: rustc wants an
    # item there (`expected item, found ;`), gofmt deletes it. Empty where it is an empty statement the language
    # takes (JavaScript's, C++'s `};` after a class).
    item_bodies: frozenset[str] = frozenset()
    # Where the language reads a layout its grammar does not (tree-sitter-python takes an indented line under no
    # header, or a header with nothing indented below it, without an error), the test that a stretch of whole
    # top-level statements, as the grammar reads its bytes, is read by the language: None where it is, else its first
    # error (`layout_problems`).
    layout_error: Callable[[bytes], LayoutError | None] | None = None
    # Where the grammar reads markup among the code (JSX), the nodes of an element (with `open_tag` and `close_tag`
    # fields, each tag with its `name`), of one that closes itself, and of the text among elements: the grammar reads
    # a closing tag whatever its name (`<li>..</ul>`), and a `;` after a child element as text the page shows.
    markup_types: tuple[str, ...] = ()
    # There, the nodes of an element's opening tag and of its closing tag (its `open_tag` and `close_tag`): an
    # opening tag that no closing tag of its name follows stands alone in the tree, and the text after it (`);`, `}`)
    # is the page's.
    markup_tag_types: tuple[str, ...] = ()
    # Nodes whose `<`..`>` hold type arguments or parameters (`HashMap<String, usize>`, `f<T>()`): a `>` right after
    # one's own closes nothing, and the ERROR the parse makes of it may stand where a half-typed line had one already.
    type_argument_types: frozenset[str] = frozenset()
    # Where a `;` never ends a line (gofmt deletes it there, and no one types it), the words of the headers whose
    # clauses a `;` parts (`for i := 0; i < n; i++ {`, `if v, ok := m[k]; ok {`): a line of one still being typed may
    # end with one. None where a `;` may end a line (C's, JavaScript's; Python's too, where a notebook's
    # `plt.plot(x);` keeps the cell from showing the value).
    semicolon_headers: frozenset[str] | None = None
    # Declarations that bind their names once in a scope (ECMAScript's `const`, `let`, class, function): a second of
    # a name the scope binds already is "Identifier 'x' has already been declared", though it parses.
    once_binding_types: frozenset[str] = frozenset()
    # Declarations of a block's local names (C's `int n = 0;`, Java's `String s;`) and the blocks that hold them: a
    # second of a name its block declares already, or the parameter of the function it is the body of, is "redeclaration
    # of 'n'", though it parses (`local_redeclarations`). A nested block may declare it again, as C shadows it.
    local_declaration_types: frozenset[str] = frozenset()
    local_block_types: frozenset[str] = frozenset()
    # Whether a function is told from the others of its scope by its name and parameters (its receiver's in Go), so
    # that a second of the same is a redeclaration whatever its return type (`redeclares`). Not in Python, where a
    # name defined again replaces the first: a property's `@x.deleter`, `@overload`'s stubs.
    unique_signatures: bool = True
    # How the names a fill reads are held to what binds them (`scopes.READERS`): "python", to the scopes around it
    # (`scopes.unbound_reads`); "ecmascript", to the file's text and the language's globals (`scopes.unknown_reads`).
    # A line copied from another function, or another file, brings its names along. "": not read.
    names_read: str = ""
    # Where an identifier binds a local name (a parameter, a variable declared, a pattern's name): (its parent's type,
    # the field it stands in, "" for none, "*" for any), and the nodes it may stand inside on the way (a pattern of
    # patterns, a pointer's declarator). A fill that reads a name only another function binds is a line copied from it
    # with its locals (`scopes.locals_of_others`). Empty where no such table is kept (Python's names are read by scope).
    local_bindings: frozenset[tuple[str, str]] = frozenset()
    binding_wrappers: frozenset[str] = frozenset()
    # Functions whose declared results every `return` in them gives back, checked where the grammar reads any count
    # (Go's `result` list, Rust's `return_type`): `typing_filter._returns_what_its_function_does_not`.
    returns_checked: frozenset[str] = frozenset()
    # The expressions that do nothing as a statement of their own: a name, and a literal that holds no text (a string
    # alone may be a docstring or a directive, `...` a stub's body; a call, `self` or `return` do something). A block
    # fill of one is noise (`postprocess.fit_block`).
    idle_value_types: frozenset[str] = frozenset()
    # The words the language reserves, which its grammar reads as a name (an `identifier` node) where a name may stand
    # and no keyword can (`if (default)`, `let n = fn;`): the parse has no error, the compiler does (`reserved_names`).
    # Only words reserved in every context (Rust's `union`, Java's `var` and `record` are names somewhere), and the
    # nodes in which the language does take one as a name (`import { default as x }`, Rust's `'static`, a macro's
    # tokens). Empty for C and C++: their macros make the grammar read type keywords as names in code that compiles
    # (`__at_align__ double tmp[n];`), as it reads C++'s `static_cast<T>` in a `.h` file opened as C.
    reserved_words: frozenset[str] = frozenset()
    reserved_word_holders: frozenset[str] = frozenset()
    # The preprocessor's directives a `#` line calls alone (C's, C++'s): one of another word (`# return v;`, a
    # comment in another language's style, an `#endif` with no `#if`) parses as such a call, and does not compile
    # (`unknown_directives`).
    directives: frozenset[str] = frozenset()
    # Nodes the grammar reads where the language takes none, each with the node it stands in there: C's and C++'s
    # function defined as a statement of a body (`if (x) { foo(a` + `) {` reads as a function `foo` defined there,
    # which only a compiler's extension takes; a local class's method stands in its class's members); ECMAScript's
    # label on an expression or a bare block (a loop's passes; a block's a `break` leaves, rare, goes with them), an
    # object's member or a type's written as a statement (`function f(o) {` + `message: {`, `options: string`), and
    # an object that begins a statement or is an arrow function's body, unbracketed: the language reads that `{` as a
    # block's, its members as labels, where the grammar reads an object (`if (!has) {` + `data: event.data,`, `() =>
    # {` + `id: v.id,`). A fill that writes one is noise (`typing_filter._misplaced_nodes`).
    misplaced_nodes: frozenset[tuple[str, str]] = frozenset()
    # The quotes of the string and character literals that end on their line, and of those that may run over lines
    # (Python's `"""`, a template literal, Go's raw string, any Rust string): a fill that leaves one of the first
    # open at its line's end, or that is a quote alone, is no code (`typing_filter._opens_literal`). Where a quote
    # before a name is a lifetime or a label (Rust's `'a`, `'outer:`), that quote.
    line_quotes: tuple[str, ...] = ()
    span_quotes: tuple[str, ...] = ()
    lifetime_quote: str = ""
    # Other languages' words that are only names here, which the model writes out of habit (Python's `None` in Go or
    # TypeScript, `null` in Rust); a real word of the language (Rust's `None`, Java's `null`) is none of them. One
    # written as a name the file never spells is noise (`typing_filter._foreign_names`).
    foreign_words: frozenset[str] = frozenset()
    # Nodes whose `{`..`}` hold members or arms that are more than one name or literal each (a struct's fields with
    # their types, a class's members, an interface's, a switch's `case`s, a match's `=>` arms): a fill that makes
    # one hold a lone token (`struct {` + `str`) is noise. Not an enum's: its first variant alone is one.
    member_body_types: frozenset[str] = frozenset()
    # The nodes that import, each with the field that names what (Go's spec's path, Rust's `use` path, an ECMAScript
    # import's name, a C `#include`'s path), or "" where it is the whole statement (Python's `import os`, Java's): a
    # fill that writes a second import of what the file imports already is noise.
    import_keys: tuple[tuple[str, str], ...] = ()
    # Where a function's stub body is a declaration meant to stay, not a placeholder to fill (Fill placeholders): the
    # decorators that make one (`@typing.overload`, `@abstractmethod`) and the bases that make every method of a
    # class one (a `Protocol`'s), by their last name; the file extensions of files of declarations alone (`.pyi`).
    declaration_decorators: frozenset[str] = frozenset()
    declaration_bases: frozenset[str] = frozenset()
    declaration_extensions: tuple[str, ...] = ()
    # What such a file writes for a body it declares none of (Python's `...`, after a header's `:` or on a line of
    # its own): a copy from one into a file of code leaves it out (`copies_from`).
    declared_bodies: re.Pattern[str] | None = None

    @property
    def name(self) -> str:
        return self.grammar.name

    @property
    def markup_self_closing_types(self) -> frozenset[str]:
        """The node of an element that closes itself (`markup_types`' second: `<br />`)."""
        return frozenset(self.markup_types[1:2])

    @property
    def markup_text_types(self) -> frozenset[str]:
        """The node of text among markup's elements (`markup_types`' last): what the page shows, not code."""
        return frozenset(self.markup_types[2:])

    def in_cell(self) -> LanguageSpec:
        """The row as a notebook's cells read: the same, its ``cell_magics`` blanked before each parse."""
        return self if self.cell_magics is None else replace(self, masked=self.cell_magics)

    @property
    def extensions(self) -> tuple[str, ...]:
        kept = tuple(e for e in self.grammar.extensions if e not in self.skipped_extensions)
        return kept + self.extra_extensions


_C_FAMILY_OPENERS = ("{",)
_C_FAMILY_MISPLACED = frozenset({("function_definition", "compound_statement")})
_ECMASCRIPT_MISPLACED = frozenset({("expression_statement", "labeled_statement"),
                                   ("statement_block", "labeled_statement"), ("object", "expression_statement"),
                                   ("object", "arrow_function")})
# The directives a `#` line calls alone (`""`: the null directive, a `#` alone). The grammar reads `#define`,
# `#include` and the conditionals as nodes of their own; read as a call, one is malformed or unmatched (`#endif {`).
_C_FAMILY_DIRECTIVES = frozenset({"", "undef", "line", "error", "warning", "pragma", "ident", "sccs", "assert",
                                  "unassert", "import", "include_next", "embed"})
_C_FAMILY_CLOSERS = ("}",)
_AFTER_TRY_BODIES = frozenset({"else", "catch", "finally"})
_ECMASCRIPT_BODIES = frozenset({"statement_block", "class_body", "program", "switch_body"})
_ECMASCRIPT_INLINE_BRACES = frozenset(
    {"object", "object_pattern", "object_type", "named_imports", "export_clause", "jsx_expression"}
)
_ECMASCRIPT_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "function_expression",
        "arrow_function",
        "method_definition",
        "generator_function",
        "generator_function_declaration",
    }
)

_ECMASCRIPT_LITERALS = frozenset({"string", "template_string"})
_ECMASCRIPT_CODE_IN_LITERALS = frozenset({"template_substitution"})
_ECMASCRIPT_TEMPLATES = (("template_string", "`"),)
_C_MACROS = frozenset({"preproc_def", "preproc_function_def"})
_JSX = ("jsx_element", "jsx_self_closing_element", "jsx_text")
_JSX_TAGS = ("jsx_opening_element", "jsx_closing_element")
_TYPESCRIPT_TYPE_ARGUMENTS = frozenset({"type_arguments", "type_parameters"})
_ECMASCRIPT_VALUES = frozenset({"identifier", "number", "true", "false", "null", "undefined", "this"})
# ECMAScript's reserved words, in every mode (`let`, `yield`, `await` and strict mode's are names somewhere), and the
# names a module imports and exports, which may be any (`export { f as default }`).
_ECMASCRIPT_RESERVED = frozenset(
    "break case catch class const continue debugger default delete do else enum export extends false finally for "
    "function if import in instanceof new null return super switch this throw true try typeof var void while "
    "with".split()
)
_ECMASCRIPT_MODULE_NAMES = frozenset({"import_specifier", "export_specifier", "namespace_export"})
_ECMASCRIPT_ONCE_BINDING = frozenset({"lexical_declaration", "class_declaration", "abstract_class_declaration",
                                      "function_declaration", "generator_function_declaration"})

_ECMASCRIPT_QUOTES = ("'", '"')
_ECMASCRIPT_SPAN_QUOTES = ("`",)
_ECMASCRIPT_FOREIGN = frozenset({"None", "True", "False", "nil", "elif", "except"})
_ECMASCRIPT_IMPORT_KEYS = (("import_specifier", "name"), ("import_statement", ""))
_C_FAMILY_IMPORT_KEYS = (("preproc_include", "path"),)
_TYPESCRIPT_MEMBER_BODIES = frozenset({"class_body", "switch_body", "interface_body", "object_type"})
# C's and C++'s macros give other languages' words a meaning (X11's `None`, `True`, `False`): only these are foreign.
_C_FAMILY_FOREIGN = frozenset({"nil", "undefined", "elif", "except"})

_ECMASCRIPT_STUBS = (
    Stub("throw_statement", 'a lone `throw new Error("not implemented")`',
         r"throw\s+new\s+Error\s*\(" + _UNWRITTEN + r"\)\s*;?", alone=True, whole=True),
)


# IPython's: the escapes a line may start with (a magic `%`, `%%`, a shell line `!`, `!!`, help `?`, `??`, and
# autocall's `/`, `,`, `;`), a magic or shell line's value assigned (`files = !ls`, `a, b = %who_ls`), and help
# asked with a trailing `?` after a dotted name, wildcards allowed (`df.head?`, `np.*load*?`). Non-ASCII bytes
# stand for the letters of a name. The cell magics whose body is Python run it: the rest (`%%bash`) hold another
# language.
_NAME = rb"(?:[\w*]|[\x80-\xff])+"
_IPYTHON = CellMagics(
    hint=re.compile(rb"^[ \t]*[%!?/,;]|\?[ \t]*\r?$|=[ \t]*[!%]", re.MULTILINE),
    cell=re.compile(rb"%%(?P<name>\w+)"),
    code_bodies=frozenset({b"time", b"timeit", b"capture", b"prun", b"debug", b"python", b"python3", b"pypy",
                           b"memit"}),
    escaped=re.compile(rb"[ \t]*(?P<command>[%!?/,;])"),
    assigned=re.compile(rb"[ \t]*" + _NAME + rb"(?:\." + _NAME + rb")*(?:\[[^\]\n]*\])?(?:[ \t]*,[ \t]*" + _NAME
                        + rb")*[ \t]*=[ \t]*(?P<command>[!%])"),
    help=re.compile(rb"[ \t]*(?P<command>" + _NAME + rb"(?:\." + _NAME + rb")*\?\??)[ \t]*\r?$"),
)


def _engine_row(name: str) -> Language:
    row = language_named(name)
    if row is None:
        raise LookupError(f"engine.languages has no language named {name!r}")
    return row


def _python_error(source: bytes) -> LayoutError | None:
    """Where CPython does not compile ``source``, whole top-level statements, its first error; None where it does.
    What the grammar is lenient about: the indentation, a `return` left outside a function by a header rewritten as a
    class's, a keyword argument given twice, a parameter named twice, a `break` in no loop. A top-level `await`
    compiles: a notebook's cell runs it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an invalid escape in a string is the user's own
        try:
            compile(source, "<layout>", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        except SyntaxError as err:
            final = _PYTHON_FINAL.search(err.msg) is not None and err.lineno and err.offset \
                and not _type_parameters_unread(source, err)
            indented = err.msg == "unexpected indent" and err.lineno
            return LayoutError(err.msg, _error_bytes(source, err) if final else None,
                               _line_start(_line_starts(source), err.lineno) if indented else None)
        except (ValueError, RecursionError, MemoryError):
            return None
    return None


def _line_start(starts: list[int], line: int) -> int:
    """The byte where line ``line`` (1-based, as CPython counts it) begins, of a text whose lines begin at ``starts``
    (`_line_starts`); its last line's where it has fewer."""
    return starts[min(max(line, 1), len(starts)) - 1]


def _line_starts(source: bytes) -> list[int]:
    """The byte each line of ``source`` begins at, lines ending as CPython ends them (LF, CRLF, CR)."""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(source)]


_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def _type_parameters_unread(source: bytes, err: SyntaxError) -> bool:
    """Whether ``err`` is an interpreter before 3.12 refusing PEP 695's type parameters (`def first[T](...)`): its
    "expected '('" points at their `[`, which a newer one reads."""
    if not err.msg.startswith("expected '('") or sys.version_info >= (3, 12):
        return False
    start, _ = _error_bytes(source, err)
    return source[start:start + 1] == b"["


def _error_bytes(source: bytes, err: SyntaxError) -> tuple[int, int]:
    """The bytes of ``source`` that ``err`` (CPython's, with a line and a column) points at."""
    starts = _line_starts(source)

    def at(line: int, column: int) -> int:
        begin = _line_start(starts, line)
        if not _columns_in_bytes():
            text = source[begin:].split(b"\n", 1)[0].decode("utf-8", "replace")
            column = len(text[:column].encode("utf-8"))
        return min(begin + column, len(source))

    start = at(err.lineno, err.offset - 1)
    end = at(err.end_lineno or err.lineno, (err.end_offset or err.offset + 1) - 1)
    return start, max(end, start + 1)


@functools.cache
def _columns_in_bytes() -> bool:
    """Whether this CPython counts a SyntaxError's columns in a line's bytes, not its characters."""
    probe = "'\u00e9'; f(a=1, a=2)"
    try:
        compile(probe.encode("utf-8"), "<probe>", "exec", dont_inherit=True)
    except SyntaxError as err:
        return err.offset == probe.encode("utf-8").index(b"a=2") + 1
    return True


# Where an identifier binds a local name in JavaScript and TypeScript (`LanguageSpec.local_bindings`); `scopes`
# reads an ECMAScript fill's names by it too.
ECMASCRIPT_LOCALS = frozenset(
    {(t, "*") for t in ("formal_parameters", "required_parameter", "optional_parameter", "catch_clause",
                        "array_pattern", "rest_pattern")}
    | {("variable_declarator", "name"), ("arrow_function", "parameter"), ("for_in_statement", "left"),
       ("assignment_pattern", "left"), ("pair_pattern", "value")})
_GO_LOCALS = frozenset({("parameter_declaration", "name"), ("variadic_parameter_declaration", "name"),
                        ("var_spec", "name"), ("const_spec", "name"), ("short_var_declaration", "left"),
                        ("range_clause", "left"), ("type_switch_statement", "alias")})
_RUST_LOCALS = frozenset({("parameter", "pattern"), ("let_declaration", "pattern"), ("for_expression", "pattern"),
                          ("closure_parameters", ""), ("match_pattern", ""), ("field_pattern", "pattern"),
                          ("let_condition", "pattern")})
_RUST_PATTERNS = frozenset({"tuple_pattern", "mut_pattern", "reference_pattern", "ref_pattern", "slice_pattern",
                            "tuple_struct_pattern", "or_pattern", "captured_pattern"})
_JAVA_LOCALS = frozenset({("formal_parameter", "name"), ("variable_declarator", "name"),
                          ("catch_formal_parameter", "name"), ("enhanced_for_statement", "name"),
                          ("lambda_expression", "parameters"), ("inferred_parameters", ""), ("resource", "name")})
_C_LOCALS = frozenset({("init_declarator", "declarator"), ("declaration", "declarator"),
                       ("parameter_declaration", "declarator"), ("structured_binding_declarator", ""),
                       ("for_range_loop", "declarator")})
_C_DECLARATORS = frozenset({"pointer_declarator", "array_declarator", "reference_declarator"})


# JavaScript's; TypeScript's and TSX's are its, but for what their grammars add.
_JAVASCRIPT = LanguageSpec(
    grammar=_engine_row("javascript"),
    reserved_words=_ECMASCRIPT_RESERVED,
    reserved_word_holders=_ECMASCRIPT_MODULE_NAMES,
    idle_value_types=_ECMASCRIPT_VALUES,
    misplaced_nodes=_ECMASCRIPT_MISPLACED,
    line_quotes=_ECMASCRIPT_QUOTES,
    span_quotes=_ECMASCRIPT_SPAN_QUOTES,
    foreign_words=_ECMASCRIPT_FOREIGN,
    import_keys=_ECMASCRIPT_IMPORT_KEYS,
    indent="  ",
    # `js`, `js2`, `rjsx`, `js-jsx`: Emacs's eglot, which names a buffer's language after its mode (js-mode).
    language_ids=("javascript", "javascriptreact", "js", "js2", "rjsx", "js-jsx"),
    member_body_types=frozenset({"class_body", "switch_body"}),
    block_openers=_C_FAMILY_OPENERS,
    closers=_C_FAMILY_CLOSERS,
    after_body_words=_AFTER_TRY_BODIES,
    body_types=_ECMASCRIPT_BODIES,
    function_types=_ECMASCRIPT_FUNCTIONS,
    inline_brace_types=_ECMASCRIPT_INLINE_BRACES,
    comment_types=frozenset({"comment"}),
    literal_types=_ECMASCRIPT_LITERALS,
    code_in_literal_types=_ECMASCRIPT_CODE_IN_LITERALS,
    template_quotes=_ECMASCRIPT_TEMPLATES,
    once_binding_types=_ECMASCRIPT_ONCE_BINDING,
    names_read="ecmascript",
    local_bindings=ECMASCRIPT_LOCALS,
    stubs=_ECMASCRIPT_STUBS,
    markup_types=_JSX,
    markup_tag_types=_JSX_TAGS,
    optional_end_types=frozenset({"expression_statement", "lexical_declaration", "variable_declaration",
                                  "return_statement", "throw_statement", "import_statement", "break_statement",
                                  "continue_statement", "public_field_definition", "field_definition",
                                  "type_alias_declaration"}),
)


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        grammar=_engine_row("python"),
        idle_value_types=frozenset({"identifier", "integer", "float", "true", "false", "none"}),
        line_quotes=("'", '"'),
        span_quotes=('"""', "'''"),
        foreign_words=frozenset({"null", "nil", "undefined", "true", "false"}),
        import_keys=(("import_statement", ""), ("import_from_statement", "")),
        declaration_decorators=frozenset({"overload", "abstractmethod", "abstractproperty", "abstractclassmethod",
                                          "abstractstaticmethod"}),
        declaration_bases=frozenset({"Protocol"}),
        declaration_extensions=(".pyi",),
        # `def area(self) -> float: ...` keeps its `:` (and a comment after); a line of `...` alone is left blank.
        declared_bodies=re.compile(r"(?<=:)[ \t]*\.\.\.(?=[ \t]*(?:#[^\r\n]*)?\r?$)"
                                   r"|^[ \t]*\.\.\.[ \t]*(?:#[^\r\n]*)?(?=\r?$)", re.M),
        line_comments=("#",),
        layout_error=_python_error,
        cell_magics=_IPYTHON,
        language_ids=("python",),
        extra_extensions=(".pyw",),
        block_openers=(":",),
        closers=(),
        header_words=frozenset({"if", "elif", "else", "for", "while", "with", "def", "class", "try", "except",
                                "finally", "async", "match", "case"}),
        body_types=frozenset({"block", "module"}),
        function_types=frozenset({"function_definition", "lambda"}),
        unique_signatures=False,
        names_read="python",
        comment_types=frozenset({"comment"}),
        literal_types=frozenset({"string"}),
        code_in_literal_types=frozenset({"interpolation"}),
        stubs=(Stub("ellipsis", "`...`"),
               Stub("pass_statement", "a `pass`-only function", alone=True, whole=True, marked=True),
               Stub("raise_statement", "a lone `raise NotImplementedError`", r"raise\s+NotImplementedError\b.*",
                    alone=True, whole=True)),
    ),
    _JAVASCRIPT,
    replace(_JAVASCRIPT, grammar=_engine_row("typescript"), language_ids=("typescript",),
            member_body_types=_TYPESCRIPT_MEMBER_BODIES, markup_types=(), markup_tag_types=(),
            type_argument_types=_TYPESCRIPT_TYPE_ARGUMENTS),
    replace(_JAVASCRIPT, grammar=_engine_row("tsx"),
            language_ids=("typescriptreact", "tsx"),  # `tsx`: eglot (tsx-ts-mode) and Zed
            member_body_types=_TYPESCRIPT_MEMBER_BODIES, type_argument_types=_TYPESCRIPT_TYPE_ARGUMENTS),
    LanguageSpec(
        grammar=_engine_row("go"),
        local_bindings=_GO_LOCALS,
        returns_checked=frozenset({"function_declaration", "method_declaration", "func_literal"}),
        binding_wrappers=frozenset({"expression_list"}),
        idle_value_types=frozenset({"identifier", "int_literal", "float_literal", "imaginary_literal", "true", "false",
                                    "nil", "iota"}),
        indent="\t",
        language_ids=("go",),
        line_quotes=('"', "'"),
        span_quotes=("`",),
        foreign_words=frozenset({"None", "True", "False", "null", "undefined", "elif", "except"}),
        import_keys=(("import_spec", "path"),),
        member_body_types=frozenset({"field_declaration_list", "interface_type", "expression_switch_statement",
                                     "type_switch_statement", "select_statement"}),
        block_openers=_C_FAMILY_OPENERS,
        closers=_C_FAMILY_CLOSERS,
        body_types=frozenset({"block", "statement_list", "source_file"}),
        function_types=frozenset({"function_declaration", "method_declaration", "func_literal"}),
        inline_brace_types=frozenset({"literal_value"}),
        flush_labels=(frozenset({"switch", "select"}), frozenset({"case", "default"})),
        item_bodies=frozenset({"source_file"}),
        semicolon_headers=frozenset({"for", "if", "switch"}),
        comment_types=frozenset({"comment"}),
        literal_types=frozenset({"interpreted_string_literal", "raw_string_literal", "rune_literal"}),
        stubs=(Stub("expression_statement", 'a lone `panic("not implemented")`', r"panic\(" + _UNWRITTEN + r"\)",
                    alone=True, whole=True),),
    ),
    LanguageSpec(
        grammar=_engine_row("rust"),
        local_bindings=_RUST_LOCALS,
        returns_checked=frozenset({"function_item"}),
        binding_wrappers=_RUST_PATTERNS,
        reserved_words=frozenset(
            "as break const continue crate else enum extern false fn for if impl in let loop match mod move mut pub "
            "ref return static struct super trait true type unsafe use where while async await dyn".split()
        ),
        reserved_word_holders=frozenset({"lifetime", "token_tree"}),
        idle_value_types=frozenset({"identifier", "integer_literal", "float_literal", "boolean_literal"}),
        statement_end=";",
        signature_types=frozenset({"function_signature_item"}),
        language_ids=("rust", "rustic"),  # `rustic`: eglot (rustic-mode)
        line_quotes=("'",),
        span_quotes=('"',),
        lifetime_quote="'",
        foreign_words=frozenset({"null", "nil", "undefined", "True", "False", "elif", "except"}),
        import_keys=(("use_declaration", "argument"),),
        member_body_types=frozenset({"field_declaration_list", "match_block", "declaration_list"}),
        block_openers=_C_FAMILY_OPENERS,
        closers=_C_FAMILY_CLOSERS,
        body_types=frozenset({"block", "declaration_list", "source_file"}),
        function_types=frozenset({"function_item", "closure_expression"}),
        inline_brace_types=frozenset({"field_initializer_list", "use_list"}),
        comment_types=frozenset({"line_comment", "block_comment"}),
        literal_types=frozenset({"string_literal", "raw_string_literal", "char_literal"}),
        bracket_statement_ends="[",
        type_argument_types=frozenset({"type_arguments", "type_parameters"}),
        unit_macros=frozenset({"println", "print", "eprintln", "eprint", "assert", "assert_eq", "assert_ne",
                               "debug_assert", "debug_assert_eq", "debug_assert_ne", "panic", "todo",
                               "unimplemented", "unreachable"}),
        unit_bodies=frozenset({"for_expression", "while_expression", "loop_expression", "function_item"}),
        valueless_types=frozenset({"return_expression", "break_expression", "continue_expression",
                                   "assignment_expression", "compound_assignment_expr"}),
        item_bodies=frozenset({"source_file", "declaration_list"}),
        stubs=(Stub("macro_invocation", "`todo!()`, `unimplemented!()`", r"(?:todo|unimplemented)\s*!\s*[(\[{].*",
                    within=frozenset({"match_arm", "closure_expression"})),),
    ),
    LanguageSpec(
        grammar=_engine_row("java"),
        local_bindings=_JAVA_LOCALS,
        import_keys=(("import_declaration", ""),),
        reserved_words=frozenset(
            "abstract assert boolean break byte case catch char class const continue default do double else enum "
            "extends final finally float for goto if implements import instanceof int interface long native new "
            "package private protected public return short static strictfp super switch synchronized this throw "
            "throws transient try void volatile while true false null".split()
        ),
        reserved_word_holders=frozenset({"switch_label"}),  # `case null, default ->`
        idle_value_types=frozenset({"identifier", "decimal_integer_literal", "hex_integer_literal",
                                    "octal_integer_literal", "binary_integer_literal",
                                    "decimal_floating_point_literal", "hex_floating_point_literal", "true", "false",
                                    "null_literal", "this"}),
        statement_end=";",
        signature_types=frozenset({"method_declaration", "constructor_declaration"}),
        language_ids=("java",),
        line_quotes=('"', "'"),
        span_quotes=('"""',),
        foreign_words=frozenset({"None", "True", "False", "nil", "undefined", "elif", "except"}),
        member_body_types=frozenset({"class_body", "interface_body", "switch_block", "annotation_type_body"}),
        block_openers=_C_FAMILY_OPENERS,
        closers=_C_FAMILY_CLOSERS,
        after_body_words=_AFTER_TRY_BODIES,
        body_types=frozenset({"block", "class_body", "constructor_body", "program"}),
        function_types=frozenset(
            {"method_declaration", "constructor_declaration", "lambda_expression"}
        ),
        local_declaration_types=frozenset({"local_variable_declaration"}),
        local_block_types=frozenset({"block", "constructor_body"}),
        inline_brace_types=frozenset({"array_initializer", "element_value_array_initializer"}),
        comment_types=frozenset({"line_comment", "block_comment"}),
        literal_types=frozenset({"string_literal", "character_literal", "text_block"}),
        stubs=(Stub("throw_statement", "a lone `throw new UnsupportedOperationException(...)`",
                    r"throw\s+new\s+UnsupportedOperationException\s*\(.*\)\s*;", alone=True,
                    whole=True),),
    ),
    LanguageSpec(
        grammar=_engine_row("c"),
        local_bindings=_C_LOCALS,
        binding_wrappers=_C_DECLARATORS,
        idle_value_types=frozenset({"identifier", "number_literal", "true", "false", "null"}),
        statement_end=";",
        signature_types=frozenset({"function_declarator"}),
        language_ids=("c",),
        line_quotes=('"', "'"),
        foreign_words=_C_FAMILY_FOREIGN,
        import_keys=_C_FAMILY_IMPORT_KEYS,
        member_body_types=frozenset({"field_declaration_list"}),
        extra_extensions=(".h",),
        block_openers=_C_FAMILY_OPENERS,
        closers=_C_FAMILY_CLOSERS,
        body_types=frozenset({"compound_statement", "translation_unit"}),
        function_types=frozenset({"function_definition"}),
        local_declaration_types=frozenset({"declaration"}),
        local_block_types=frozenset({"compound_statement"}),
        inline_brace_types=frozenset({"initializer_list"}),
        comment_types=frozenset({"comment"}),
        literal_types=frozenset({"string_literal", "char_literal"}),
        macro_types=_C_MACROS,
        macro_body_type="preproc_arg",
        misplaced_nodes=_C_FAMILY_MISPLACED,
        directives=_C_FAMILY_DIRECTIVES,
    ),
    LanguageSpec(
        grammar=_engine_row("cpp"),
        local_bindings=_C_LOCALS,
        binding_wrappers=_C_DECLARATORS,
        idle_value_types=frozenset({"identifier", "number_literal", "true", "false", "null", "this"}),
        statement_end=";",
        signature_types=frozenset({"function_declarator"}),
        # `c++`: Emacs's eglot and Zed; `cuda` and `arduino` (`.ino`): Neovim. CUDA is C++ with a few additions (a
        # kernel launch's `<<<`, `__global__`), blanked before each parse; Arduino's sketches are C++.
        language_ids=("cpp", "c++", "cuda-cpp", "cuda", "arduino"),
        masked=CudaAdditions(),
        line_quotes=('"', "'"),
        foreign_words=_C_FAMILY_FOREIGN,
        import_keys=_C_FAMILY_IMPORT_KEYS,
        member_body_types=frozenset({"field_declaration_list", "declaration_list"}),
        # Capital `.C` and `.H` are C++ by the compilers' convention (`language_for` reads them before lowercasing).
        extra_extensions=(".c++", ".h++", ".ipp", ".inl", ".ino", ".ixx", ".cppm", ".tpp", ".C", ".H"),
        skipped_extensions=(".h",),
        block_openers=_C_FAMILY_OPENERS,
        closers=_C_FAMILY_CLOSERS,
        after_body_words=frozenset({"else", "catch"}),
        body_types=frozenset(
            {"compound_statement", "translation_unit", "declaration_list", "field_declaration_list"}
        ),
        function_types=frozenset({"function_definition", "lambda_expression"}),
        local_declaration_types=frozenset({"declaration"}),
        local_block_types=frozenset({"compound_statement"}),
        inline_brace_types=frozenset({"initializer_list"}),
        type_argument_types=frozenset({"template_argument_list", "template_parameter_list"}),
        comment_types=frozenset({"comment"}),
        literal_types=frozenset({"string_literal", "raw_string_literal", "char_literal"}),
        macro_types=_C_MACROS,
        macro_body_type="preproc_arg",
        misplaced_nodes=_C_FAMILY_MISPLACED,
        directives=_C_FAMILY_DIRECTIVES,
    ),
)

_BY_LANGUAGE_ID = {lid: spec for spec in LANGUAGES for lid in spec.language_ids}
_BY_EXTENSION = {ext: spec for spec in LANGUAGES for ext in spec.extensions}


def uri_extension(uri: str) -> str:
    return PurePosixPath(unquote(urlparse(uri).path)).suffix


# The languageIds of no language (VS Code's, Zed's and Sublime's `plaintext`, Neovim's `text`, none at all): the
# file's extension says what it holds.
_NO_LANGUAGE_IDS = frozenset({"", "plaintext", "text"})


def _named_by(language_id: str) -> LanguageSpec | None:
    """The grammar a languageId names: the first of its names (`language_names`) that is one of a grammar's."""
    return next((spec for name in language_names(language_id) if (spec := _BY_LANGUAGE_ID.get(name))), None)


def _by_extension(uri: str) -> LanguageSpec | None:
    """The grammar of a file's extension, as written (`.C` is C++) and then in lower case (`.GO` is Go)."""
    extension = uri_extension(uri)
    return _BY_EXTENSION.get(extension) or _BY_EXTENSION.get(extension.lower())


def language_for(language_id: str, uri: str) -> LanguageSpec | None:
    """The grammar for a document; None means plain text. The languageId decides: one of a grammar's
    ``language_ids`` (`_named_by`) is that grammar; one that names no language (`_NO_LANGUAGE_IDS`) leaves it to
    the file's extension; any other names a language with no grammar here, whatever the extension (`objective-c`
    on a `.h` file is not C)."""
    spec = _named_by(language_id)
    if spec is None and language_id.lower() in _NO_LANGUAGE_IDS:
        return _by_extension(uri)
    if spec is not None and spec.name == "typescript" and uri_extension(uri).lower() == ".tsx":
        # A `.tsx` file named plain TypeScript (Neovim's compound `typescript.tsx`, which its plugin sends as
        # `typescript`; clients that name the language, not the dialect): TypeScript's grammar reads every JSX tag
        # as an error, and nothing was shown while typing among them. TSX's reads all of TypeScript but `<T>x` casts,
        # which a `.tsx` file cannot hold.
        return _BY_LANGUAGE_ID["tsx"]
    return spec


# Grammars whose files hold one another's code: a C file's headers (VS Code opens a `.h` as C++), a TSX component's
# `.ts` modules (their types, the functions it calls).
_KIN = {"c": "cpp", "tsx": "typescript"}


def kin(language_id: str, uri: str) -> str:
    """What a document's open neighbours must share with it for their fills to be searched: its grammar, or the one
    its grammar's files hold code of (`_KIN`), whatever id names it (a `.jsx` tab's `javascriptreact` beside a `.js`
    file's `javascript`); for a document no grammar reads, its languageId."""
    spec = language_for(language_id, uri)
    return _KIN.get(spec.name, spec.name) if spec is not None else f"id:{language_id.lower()}"


_KIN_SUFFIXES = {family: tuple(sorted({ext for spec in LANGUAGES if _KIN.get(spec.name, spec.name) == family
                                        for ext in spec.extensions}))
                 for family in {_KIN.get(spec.name, spec.name) for spec in LANGUAGES}}


def kin_suffixes(language_id: str, uri: str) -> tuple[tuple[str, ...], ...]:
    """The file extensions of the files on disk searched beside a document, in two groups, the files of the first
    searched first: its grammar's (a C file's `.c` and `.h` headers, a module's `.py` and `.pyi` stub), then its
    kin's (`kin`: a C file's C++ `.cpp` and `.hpp`, a TSX component's `.ts` modules); none for a document no grammar
    reads, whose own extension alone is searched."""
    spec = language_for(language_id, uri)
    if spec is None:
        return ()
    # The grammar's every extension, those it leaves to another grammar by extension too: C++'s `.h` headers, which
    # C reads by extension alone, are a C++ file's own (most C++ projects name theirs `.h`).
    own = tuple(sorted({*spec.grammar.extensions, *spec.extra_extensions}))
    return tuple(group for group in (own, tuple(sorted(set(_KIN_SUFFIXES[kin(language_id, uri)]) - set(own))))
                 if group)


def copies_from(language_id: str, uri: str) -> Callable[[str, str], str] | None:
    """How the text of a file beside a document, by that file's suffix, reads where the document's fills are
    copied from it: a file of declarations alone's (`LanguageSpec.declaration_extensions`) without the bodies it
    declares none of (`declared_bodies`), where the document itself is no such file: in `shop.py`, `def area(self`
    was offered `) -> float: ...` from `shop.pyi`, where the module writes a body below its header's `:`. None
    where every file reads as it is (a stub beside a stub: its `...` is what the stub writes too)."""
    spec = language_for(language_id, uri)
    if spec is None or spec.declared_bodies is None or \
            uri_extension(uri).lower() in spec.declaration_extensions:
        return None
    bodies, stubs = spec.declared_bodies, spec.declaration_extensions

    def copied(suffix: str, text: str) -> str:
        return bodies.sub("", text) if suffix.lower() in stubs else text

    return copied


# A carriage return not followed by a line feed: a line break for LSP (old Mac files), which the grammars do not
# take for one (they read such a file as one line, full of errors).
_LONE_CR = re.compile(rb"\r(?!\n)")


def grammar_bytes(data: bytes, spec: LanguageSpec | None = None) -> bytes:
    """A text's UTF-8 as the grammar reads it: each lone CR as LF, so the grammar's lines are the editor's, and what
    the language's text holds that its grammar does not read blanked (``spec.masked``: the lines a notebook cell's
    kernel reads, CUDA's additions to C++). The same length, so every byte offset stays valid; ``data`` itself, not a
    copy, where it has neither."""
    if b"\r" in data and _LONE_CR.search(data) is not None:
        data = _LONE_CR.sub(b"\n", data)
    return data if spec is None or spec.masked is None else spec.masked.masked(data)


def parse_text(spec: LanguageSpec, text: str) -> tree_sitter.Tree:
    """A fresh parse, for one-off checks such as whether an edited text still parses."""
    return parser_for(spec.name).parse(grammar_bytes(text.encode("utf-8", "surrogatepass"), spec))


def parses_cleanly(spec: LanguageSpec | None, text: str) -> bool:
    """True when the text has no ERROR or MISSING nodes (`problem_count`); plain text always parses."""
    if spec is None:
        return True
    return problem_count(parse_text(spec, text)) == 0


def nodes_touching(node: tree_sitter.Node, lo: int, hi: int) -> Iterator[tree_sitter.Node]:
    """``node`` and those inside it that hold a byte of ``lo``..``hi``, outermost first: a span across two statements
    of a long file stands in the file's root, and the rest of the file is no part of it. No recursion, as a long chain
    of operators nests as deep as it is long."""
    pending = [node]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(child for child in reversed(node.children) if child.start_byte < hi and lo < child.end_byte)


def iter_problems(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """ERROR and MISSING nodes below ``node``, in document order, skipping clean subtrees. A node that has an error
    none of its children shows (tree-sitter leaves some so: `self.loaded.add(x)``` as a block) is one itself; so is
    an ERROR node given here (a tree's root) below which none shows, as `problem_count` counts it."""
    if not node.has_error:
        return
    found = False
    for child in node.children:
        if child.is_error or child.is_missing:
            found = True
            yield child
        elif child.has_error:
            found = True
            if any(c.has_error or c.is_error or c.is_missing for c in child.children):
                yield from iter_problems(child)
            else:
                yield child
    if node.is_error and not found:
        yield node


def _ts_edit(tree: tree_sitter.Tree, edit: Edit) -> None:
    tree.edit(
        start_byte=edit.start_byte,
        old_end_byte=edit.old_end_byte,
        new_end_byte=edit.new_end_byte,
        start_point=(edit.start_point.row, edit.start_point.column),
        old_end_point=(edit.old_end_point.row, edit.old_end_point.column),
        new_end_point=(edit.new_end_point.row, edit.new_end_point.column),
    )


# A larger document is read as plain text, never parsed: py-tree-sitter holds the interpreter's lock while it parses,
# so the server's event loop (every keystroke's message) waits for each parse. Measured on 2 busy cores: in 5 MB of
# minified JavaScript (one line) 1.8 s to parse and about 0.5 s per keystroke after; in 5 MB of Python 0.6 s and
# 35-75 ms. A suggestion check re-parses the whole text again, about 45 ms per MB, up to 16 times a keystroke. A
# file that large is generated, minified or data: its suggestions are shown as the model and the lookup rank them.
PARSED_CHARS = 1_000_000

# Edits queued for a tree before it is dropped instead: a document edited this often with nothing reading its tree
# (a language the settings leave out, a client that never asks) would otherwise hold every keystroke's edit, and the
# next reader would apply them all. A fresh parse of the text costs about as much as a few hundred edits.
MAX_PENDING_EDITS = 256


@dataclass
class _Entry:
    spec: LanguageSpec
    parser: tree_sitter.Parser
    revision: int | None = None  # the snapshot's (`Snapshot.revision`) the tree is of
    tree: tree_sitter.Tree | None = None
    pending: list[tuple[int, Edit]] = field(default_factory=list)
    # `pending` holds every edit of a later revision than this one: a tree of an older snapshot cannot be brought
    # up to date from it, so it is not kept.
    queued_after: int = 0
    # Whether the grammar read the tree's text otherwise than as it is (`grammar_bytes`), so that tree is not edited
    # but parsed afresh: with a lone CR an edit's points (`Snapshot.point`) count LF only where the grammar counts the
    # CR too; in a cell, an edit that makes a line a magic (or no longer one) changes bytes beyond its own.
    altered: bool = False


@dataclass(frozen=True)
class ParsedSnapshot:
    snapshot: Snapshot
    spec: LanguageSpec | None
    tree: tree_sitter.Tree | None


@dataclass
class ParseStats:
    full_parses: int = 0
    incremental_parses: int = 0


class SyntaxIndex:
    """Parse trees for the open documents, kept incrementally."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.stats = ParseStats()
        # Languages whose grammar does not load here (`grammar_problem`), each with a line for the user.
        self.unusable: dict[str, str] = {}

    def opened(self, snapshot: Snapshot, cell: bool = False) -> LanguageSpec | None:
        """Start keeping the document's tree, from this text; ``cell``: it is a notebook's cell (`in_cell`). A
        language whose grammar does not load (not installed, or built for another tree-sitter) is read as plain
        text, as one with no grammar here, and noted in `unusable`."""
        spec = language_for(snapshot.language_id, snapshot.uri)
        if spec is not None and (problem := grammar_problem(spec.name)) is not None:
            self.unusable.setdefault(
                spec.name, f"{problem}; {', '.join(spec.extensions)} files are completed as plain text")
            spec = None
        if spec is not None and cell:
            spec = spec.in_cell()
        with self._lock:
            if spec is None:
                self._entries.pop(snapshot.uri, None)
                return None
            self._entries[snapshot.uri] = _Entry(spec, parser_for(spec.name), queued_after=snapshot.revision)
        return spec

    def changed(self, snapshot: Snapshot) -> None:
        with self._lock:
            entry = self._entries.get(snapshot.uri)
            if entry is None:
                return
            if (entry.tree is None or len(entry.pending) + len(snapshot.edits) > MAX_PENDING_EDITS
                    or len(snapshot.text) > PARSED_CHARS):
                # No tree to edit (none parsed yet, as in a language the settings leave out, or dropped), too many
                # edits for one, or a text past `PARSED_CHARS`: the next reader parses from scratch, from this
                # snapshot on, if the text is back under it. (A parse never runs meanwhile: it holds the lock.)
                entry.tree, entry.revision, entry.pending = None, None, []
                entry.queued_after = snapshot.revision
            else:
                entry.pending.extend((snapshot.revision, edit) for edit in snapshot.edits)

    def closed(self, uri: str) -> None:
        with self._lock:
            self._entries.pop(uri, None)

    def pending_edits(self, uri: str) -> int:
        """Edits queued for the document's tree, to be applied by its next reader."""
        with self._lock:
            entry = self._entries.get(uri)
            return len(entry.pending) if entry else 0

    def spec(self, uri: str) -> LanguageSpec | None:
        with self._lock:
            entry = self._entries.get(uri)
            return entry.spec if entry else None

    def parses(self, snapshot: Snapshot) -> bool:
        """Whether the document gets a tree at this snapshot: it has a grammar, and a text within `PARSED_CHARS`."""
        with self._lock:
            return snapshot.uri in self._entries and len(snapshot.text) <= PARSED_CHARS

    def parse(self, snapshot: Snapshot) -> ParsedSnapshot:
        """The tree for exactly this snapshot's text; none (plain text) past `PARSED_CHARS`."""
        with self._lock:
            entry = self._entries.get(snapshot.uri)
            if entry is None or len(snapshot.text) > PARSED_CHARS:
                return ParsedSnapshot(snapshot, None, None)
            if entry.tree is not None and entry.revision == snapshot.revision:
                return ParsedSnapshot(snapshot, entry.spec, entry.tree)
            data = grammar_bytes(snapshot.utf8, entry.spec)
            altered = data is not snapshot.utf8
            if (entry.tree is not None and entry.revision is not None and entry.revision < snapshot.revision
                    and not (altered or entry.altered)):
                old = entry.tree.copy()  # readers may still hold the previous tree
                remaining: list[tuple[int, Edit]] = []
                for revision, edit in entry.pending:
                    if revision <= snapshot.revision:
                        _ts_edit(old, edit)
                    else:
                        remaining.append((revision, edit))
                tree = entry.parser.parse(data, old)
                entry.pending = remaining
                self.stats.incremental_parses += 1
            else:
                tree = entry.parser.parse(data)
                self.stats.full_parses += 1
                if (entry.revision is not None and entry.revision > snapshot.revision) or (
                    snapshot.revision < entry.queued_after
                ):
                    # A stale snapshot: answer it but keep the newer tree, or none where the edits since it were
                    # not queued.
                    return ParsedSnapshot(snapshot, entry.spec, tree)
                entry.pending = [(r, e) for r, e in entry.pending if r > snapshot.revision]
            entry.revision = snapshot.revision
            entry.tree = tree
            entry.altered = altered
            return ParsedSnapshot(snapshot, entry.spec, tree)


@dataclass(frozen=True)
class Replacement:
    """Replace ``start..end`` (code-point offsets) with ``text``."""

    start: int
    end: int
    text: str


def apply_replacements(text: str, replacements: list[Replacement]) -> str:
    out = []
    last = 0
    for r in sorted(replacements, key=lambda r: r.start):
        out.append(text[last : r.start])
        out.append(r.text)
        last = r.end
    out.append(text[last:])
    return "".join(out)


# The trees `tree_after` made of each snapshot's text with some replacements, the last few by the replacements: a
# keystroke's checks of one fill (`no_worse`'s, `redeclares`', `parsing_first`'s, `adds_errors`') read one parse of it,
# where each re-parsed the whole file (26 ms at 1 MB). Each is kept as (the grammar's row, the snapshot's tree it was
# made from, itself), held weakly by snapshot: the trees go with their snapshot.
AFTER_KEPT = 8
_AFTER: weakref.WeakKeyDictionary[Snapshot, OrderedDict] = weakref.WeakKeyDictionary()
_AFTER_LOCK = threading.Lock()


def tree_after(parsed: ParsedSnapshot, replacements: list[Replacement],
               should_stop: Callable[[], bool] | None = None) -> tree_sitter.Tree | None:
    """The tree of the snapshot's text once the replacements are made; None for plain text.

    Re-parses incrementally from the snapshot's tree, so checking several candidate fills
    in a large file stays cheap, and the same replacements of the same snapshot only once (`_AFTER`): the tree is
    shared, read but never edited (`Tree.copy` it first). Raises `engine.errors.Cancelled`, and parses nothing,
    once ``should_stop`` says so. (Not within the parse: py-tree-sitter 0.26 stops one only when it reads the text
    through a callback, and then keeps a reference to every chunk it is handed, the whole text for each parse.) A
    text the grammar reads otherwise than as it is, before or after (a lone CR, a cell's magic), is parsed afresh
    (`_Entry.altered`).
    """
    if parsed.spec is None or parsed.tree is None:
        return None
    if should_stop is not None and should_stop():
        raise Cancelled("syntax check cancelled")
    key = tuple(sorted(replacements, key=lambda r: r.start))
    with _AFTER_LOCK:
        kept = _AFTER.get(parsed.snapshot)
        found = kept.get(key) if kept is not None else None
        # Made from the same tree, by the same grammar (a cell's reads its magics blanked).
        if found is not None and found[0] is parsed.spec and found[1] is parsed.tree:
            kept.move_to_end(key)
            return found[2]
    tree = _parsed_after(parsed, replacements)
    with _AFTER_LOCK:
        kept = _AFTER.setdefault(parsed.snapshot, OrderedDict())
        kept[key] = (parsed.spec, parsed.tree, tree)
        while len(kept) > AFTER_KEPT:
            kept.popitem(last=False)
    return tree


def _parsed_after(parsed: ParsedSnapshot, replacements: list[Replacement]) -> tree_sitter.Tree:
    """`tree_after`'s parse, of a snapshot with a tree."""
    snap = parsed.snapshot
    parser = parser_for(parsed.spec.name)
    new_data = apply_replacements(snap.text, replacements).encode("utf-8", "surrogatepass")
    grammar_data = grammar_bytes(new_data, parsed.spec)
    masks = parsed.spec.masked
    if grammar_data is not new_data or snap.lone_cr or (masks is not None and masks.masked(snap.utf8) is not snap.utf8):
        return parser.parse(grammar_data)
    tree = parsed.tree.copy()
    # Back to front, so every replacement's coordinates in the original text stay valid.
    for r in sorted(replacements, key=lambda r: r.start, reverse=True):
        start_byte = snap.byte_offset(r.start)
        old_end_byte = snap.byte_offset(r.end)
        inserted = r.text.encode("utf-8", "surrogatepass")
        row, column = astuple(point_at(snap.text, r.start))
        old_end_point = point_at(snap.text, r.end)
        new_rows = inserted.count(b"\n")
        new_column = (
            column + len(inserted) if new_rows == 0 else len(inserted) - inserted.rfind(b"\n") - 1
        )
        tree.edit(
            start_byte=start_byte,
            old_end_byte=old_end_byte,
            new_end_byte=start_byte + len(inserted),
            start_point=(row, column),
            old_end_point=astuple(old_end_point),
            new_end_point=(row + new_rows, new_column),
        )
    return parser.parse(new_data, tree)


def parsed_after(parsed: ParsedSnapshot, replacements: list[Replacement] | tuple[Replacement, ...],
                 tree: tree_sitter.Tree | None = None) -> ParsedSnapshot:
    """The snapshot once the replacements are made, parsed (``tree``: where the caller has `tree_after`'s already),
    for the checks that read a document: the same URI, version and language, no edits pending."""
    snap = parsed.snapshot
    text = apply_replacements(snap.text, list(replacements))
    if tree is None:
        tree = tree_after(parsed, list(replacements))
    return ParsedSnapshot(replace(snap, text=text, edits=(), known_line_starts=None), parsed.spec, tree)


def parses_after(parsed: ParsedSnapshot, replacements: list[Replacement],
                 should_stop: Callable[[], bool] | None = None) -> bool:
    """Whether the snapshot's text still parses once the replacements are made. Plain text always parses."""
    return problem_count(tree_after(parsed, replacements, should_stop)) == 0


def problem_count(tree: tree_sitter.Tree | None) -> int:
    """ERROR and MISSING nodes in the tree (an ERROR node counts once, whatever it holds); 0 for plain text and only
    for a tree that parses (a root that is itself an ERROR node holds none below it, and counts as one), or whose
    last problems are only for want of the text's final line break (`_with_final_line_break`)."""
    if tree is None or not tree.root_node.has_error:
        return 0
    problems = list(iter_problems(tree.root_node))
    ended = _with_final_line_break(tree, problems)
    if ended is not None:
        return problem_count(ended)
    return max(1, len(problems))


def _with_final_line_break(tree: tree_sitter.Tree, problems: list[tree_sitter.Node]) -> tree_sitter.Tree | None:
    """The tree of the text with a line break added at its end, where it has none and its last problem is one no
    node shows at the end of its code (`iter_problems` gives the node that holds it, or nothing for the root's): a
    grammar that ends a statement with a line break reports a zero-width one missing there, hidden (tree-sitter-go's
    terminator after the last declaration, tree-sitter-c's after a `#include`), where the language takes a file
    without it. None elsewhere."""
    root = tree.root_node
    # First what the nodes tell: a half-typed line's ERROR or MISSING node, on nearly every check while typing,
    # costs no copy of the text.
    if root.is_error or (problems and (problems[-1].is_error or problems[-1].is_missing)):
        return None
    data = root.text  # from the first token on; the root ends where the text does
    if data is None or data.endswith((b"\n", b"\r")):
        return None
    if problems and root.start_byte + len(data.rstrip()) > problems[-1].end_byte:
        return None
    parser = tree_sitter.Parser(tree.language)
    if root.start_byte:  # the blanks before the first token, which the tree keeps no text of
        row, column = root.start_point
        return parser.parse(b"\n" * row + b" " * column + data + b"\n")
    edited = tree.copy()
    end, (row, column) = root.end_byte, root.end_point
    edited.edit(start_byte=end, old_end_byte=end, new_end_byte=end + 1, start_point=(row, column),
                old_end_point=(row, column), new_end_point=(row + 1, 0))
    return parser.parse(data + b"\n", edited)


def problems_after(parsed: ParsedSnapshot, replacements: list[Replacement]) -> int:
    """`problem_count` of the snapshot's text once the replacements are made, and one more where they break a layout
    the language reads and its grammar does not (`layout_problems`), for each reserved word written as a name
    (`reserved_names`) and each directive the language has none of (`unknown_directives`): 0 when it parses."""
    tree = tree_after(parsed, replacements)
    return (problem_count(tree) + layout_problems(parsed, replacements, tree)
            + reserved_names(parsed, replacements, tree) + unknown_directives(parsed, replacements, tree))


def _statements_around(body: tree_sitter.Node, data: bytes, start: int, end: int) -> tuple[int, int]:
    """The bytes of the whole lines of the statements of ``body`` (a file, a class's body) that touch bytes
    ``start..end`` of ``data``, with those indented deeper than the body around them: the grammar makes a line indented
    under no header a statement of its own."""
    children = body.children
    column = body.start_point[1] if body.parent is not None else 0
    touching = [i for i, child in enumerate(children) if child.end_byte >= start and child.start_byte <= end]
    if touching:
        first, last = touching[0], touching[-1]
        while first > 0 and children[first].start_point[1] > column:
            first -= 1
        while last + 1 < len(children) and children[last + 1].start_point[1] > column:
            last += 1
        start, end = min(start, children[first].start_byte), max(end, children[last].end_byte)
    return _whole_lines(data, start, end)


def _whole_lines(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The bytes of the lines of ``data`` that bytes ``start..end`` stand on, whole."""
    line_end = data.find(b"\n", end)
    return data.rfind(b"\n", 0, start) + 1, len(data) if line_end < 0 else line_end


def _layout_span(spec: LanguageSpec, tree: tree_sitter.Tree, data: bytes, start: int, end: int) -> tuple[int, int]:
    """The bytes of ``data`` the language compiles to read its bytes ``start..end`` (``tree`` its parse), whole lines:
    the outermost function (its decorators too) that holds them inside the innermost class body, or the file, that
    does, with the lines after it indented deeper than it (`_statements_around`'s strays); else the statements of that
    class body, or of the file, that touch them (`_statements_around`). A function is a scope that no `return`,
    `await` or `break` outside it reaches, and a class body one that none inside it reaches out of: the cut reads as
    the whole file does, and a keystroke in a 2,000-line class compiles one method, not the class."""
    node = tree.root_node.descendant_for_byte_range(start, end)
    function = None
    while node is not None and node.parent is not None and not _class_body(spec, node):
        if node.parent.type in spec.body_types and _defines_function(spec, node):
            function = node
        node = node.parent
    if function is not None:
        last = function
        while (following := last.next_sibling) is not None and following.start_point[1] > function.start_point[1]:
            last = following
        first, stop = _whole_lines(data, function.start_byte, last.end_byte)
    else:
        first, stop = _statements_around(tree.root_node if node is None else node, data, start, end)
    return _whole_lines(data, min(first, start), max(stop, end))


def _layout_source(data: bytes, first: int, end: int) -> tuple[bytes, int]:
    """Bytes ``first..end`` of ``data``, whole lines, as the language compiles them: lines cut from an indented body
    are the body of an `if 1:`; blank ones, nothing to compile. With the source, the byte of ``data`` its first byte
    stands for."""
    lines = data[first:end]
    if not lines.strip():
        return b"", first
    return (b"if 1:\n" + lines, first - len(b"if 1:\n")) if lines[:1] in (b" ", b"\t") else (lines, first)


def _class_body(spec: LanguageSpec, node: tree_sitter.Node) -> bool:
    """Whether ``node`` is a class's body: one of a definition that names what it defines (a `name` field), not a
    function's."""
    owner = node.parent
    return (node.type in spec.body_types and owner is not None and owner.type not in spec.function_types
            and owner.child_by_field_name("name") is not None)


def _defines_function(spec: LanguageSpec, node: tree_sitter.Node) -> bool:
    """Whether the statement ``node`` defines a function: is one, or decorates one (its `definition`)."""
    definition = node.child_by_field_name("definition")
    return node.type in spec.function_types or (definition is not None and definition.type in spec.function_types)


@functools.lru_cache(maxsize=64)
def _compiled(layout_error: Callable[[bytes], LayoutError | None], source: bytes) -> LayoutError | None:
    """``layout_error(source)``, remembered: every suggestion at a keystroke asks it of the same text before them,
    and typing along a suggestion asks it of the text that suggestion made."""
    return layout_error(source)


def _layout_error(spec: LanguageSpec, data: bytes, first: int, end: int) -> LayoutError | None:
    """`LanguageSpec.layout_error` of bytes ``first..end`` of ``data`` (`_layout_source`), its bytes counted in
    ``data``."""
    source, first = _layout_source(data, first, end)
    error = _compiled(spec.layout_error, source)
    if error is None:
        return error
    return error._replace(final=None if error.final is None else (first + error.final[0], first + error.final[1]),
                          indented=None if error.indented is None else first + error.indented)


def layout_problems(parsed: ParsedSnapshot, replacements: list[Replacement],
                    tree: tree_sitter.Tree | None) -> int:
    """1 where the language does not read the code around the replacements (``tree`` is the text's after them) that
    the grammar does (``spec.layout_error``): when it read it before (`return None` rewritten `else:`, a header
    rewritten as a call with its body still indented below, a `try:` with no body), or, when it did not (a half-typed
    line), where its first error now is one no text typed after them mends, in code they write (`LayoutError.final`:
    `f(a=1, ` + `a=2)`, `def f(a, ` + `a):`, `b` + `reak` in no loop; not `f(a=1, a=2, ` + `b=3)`); else 0. Only that
    code is read, the function around the replacements or the statements they touch (`_layout_span`), with them and
    without, so the check costs what it does, not the file; a text read before is read once (`_compiled`)."""
    spec = parsed.spec
    if spec is None or spec.layout_error is None or tree is None or parsed.tree is None or not replacements:
        return 0
    snap = parsed.snapshot
    edits = byte_edits(snap, replacements)
    old_start, old_end = edits[0][0], edits[-1][1]
    shift = sum(length - (stop - begin) for begin, stop, length in edits[:-1])
    new_start, new_end = edits[0][0], edits[-1][0] + shift + edits[-1][2]
    new_data = grammar_bytes(apply_replacements(snap.text, replacements).encode("utf-8", "surrogatepass"), spec)
    first, last = _layout_span(spec, tree, new_data, new_start, new_end)
    after = _layout_error(spec, new_data, first, last)
    # The same code without them: a cut of the text before, where the cursor stood on a blank line below a body,
    # would be that line alone, and any code joined to the body would read as newly broken.
    grown = (new_end - new_start) - (old_end - old_start)
    before = _layout_error(spec, grammar_bytes(snap.utf8, spec), first, last - grown)
    if after is None or before is None:
        return int(after is not None)
    if after.final is not None and after.final[0] < new_end and new_start < after.final[1]:
        return 1
    # The replacements end their line where the code below goes on indented deeper, which the line no longer takes:
    # a header given a body on its own line above its body (`) -> W` + `arningsChecker: ...`), a bracket closed above
    # its items. No text typed after them mends that; where it was the code's error before them, it stays the user's.
    return int(after.indented is not None and before.indented is None
               and after.indented == _next_code_line(new_data, new_end))


def _next_code_line(data: bytes, at: int) -> int:
    """The byte where the first line after byte ``at``'s that holds code begins; -1 where none does."""
    for line in re.finditer(rb"\n[ \t]*([^ \t\r\n#])?", data[at:]):
        if line.group(1):
            return at + line.start() + 1
    return -1


def reserved_names(parsed: ParsedSnapshot, replacements: list[Replacement], tree: tree_sitter.Tree | None) -> int:
    """How many names the replacements write (``tree`` is the text's after them) are words the language reserves
    (`LanguageSpec.reserved_words`): the grammar reads `if (default)` without an error, the compiler does not. A
    name counts where a byte of it is written: `de` typed and `fault)` filled makes `default`."""
    spec = parsed.spec
    if spec is None or not spec.reserved_words or tree is None:
        return 0
    # A type's name too: `Map<class>` parses, and no compiler takes it.
    return sum(node.type in ("identifier", "type_identifier")
               and node.text.decode("utf-8", "replace") in spec.reserved_words
               and node.parent is not None and node.parent.type not in spec.reserved_word_holders
               for node in _written_nodes(parsed, replacements, tree))


def unknown_directives(parsed: ParsedSnapshot, replacements: list[Replacement], tree: tree_sitter.Tree | None) -> int:
    """How many preprocessor directives the replacements write (``tree`` is the text's after them) are none the
    language calls alone (`LanguageSpec.directives`): `# return v;` and an unmatched `#endif` parse as a directive's
    call, and do not compile."""
    spec = parsed.spec
    if spec is None or not spec.directives or tree is None:
        return 0
    return sum(node.type == "preproc_directive"
               and node.text.decode("utf-8", "replace").lstrip("#").strip() not in spec.directives
               for node in _written_nodes(parsed, replacements, tree))


def _written_nodes(parsed: ParsedSnapshot, replacements: list[Replacement],
                   tree: tree_sitter.Tree) -> Iterator[tree_sitter.Node]:
    """The nodes of ``tree`` (the text's after the replacements) that hold a byte the replacements write, and its
    root."""
    shift = 0
    for start, end, length in byte_edits(parsed.snapshot, replacements):
        lo, hi = start + shift, start + shift + length  # where the text stands once the replacements are made
        shift += length - (end - start)
        pending = [tree.root_node] if length else []
        while pending:  # no recursion: a long chain of operators nests as deep as it is long
            node = pending.pop()
            yield node
            pending.extend(child for child in node.children if child.start_byte < hi and lo < child.end_byte)


def expression_brace(spec: LanguageSpec, node: tree_sitter.Node) -> bool:
    """Whether the `{` or `}` token ``node`` is one of an expression's braces (an object, a composite literal, an
    initializer list: ``inline_brace_types``) rather than a body's."""
    return node.parent is not None and node.parent.type in spec.inline_brace_types


def token_before(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The token of the parse before ``node``; None at the file's start."""
    while node.prev_sibling is None:
        if node.parent is None:
            return None
        node = node.parent
    node = node.prev_sibling
    while node.child_count:
        node = node.children[-1]
    return node


def token_after(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The token of the parse after ``node``; None at the file's end."""
    while node.next_sibling is None:
        if node.parent is None:
            return None
        node = node.parent
    node = node.next_sibling
    while node.child_count:
        node = node.children[0]
    return node


def code_end(parsed: ParsedSnapshot, line: int) -> int:
    """Where the code of ``line`` ends: before a comment that ends the line, its blanks left out; the line's start
    where it holds no code (blank, or a comment alone). Without a parse, where its text ends."""
    snap = parsed.snapshot
    start = snap.line_starts[line]
    end = start + len(snap.line_text(line).rstrip())
    if parsed.tree is None or parsed.spec is None or end == start:
        return end
    last = snap.byte_offset(end - 1)
    node = parsed.tree.root_node.descendant_for_byte_range(last, last + 1)
    while node is not None and node.type not in parsed.spec.comment_types:
        node = node.parent
    if node is None:
        return end
    return start + len(snap.text[start : max(start, snap.char_offset(node.start_byte))].rstrip())


# Where grammars put a statement's body (tree-sitter's shared field names): a `;` alone there is an empty body.
BODY_FIELDS = frozenset({"body", "consequence", "alternative"})


def empty_body_at(tree: tree_sitter.Tree, byte: int) -> bool:
    """Whether the `;` at ``byte`` of ``tree`` stands alone in a statement's body (`BODY_FIELDS`): `if (ready(a));`
    parses, with an `if` that does nothing (a `while` that never ends). A `;` that ends a statement of its own in
    a body (`if (a) x = g(1);`) is none."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type != ";":
        return False
    for held in (node, node.parent):
        parent = held.parent if held is not None and held.start_byte == node.start_byte else None
        if parent is not None and any(child.id == held.id and parent.field_name_for_child(i) in BODY_FIELDS
                                      for i, child in enumerate(parent.children)):
            return True
    return False


def error_nodes(tree: tree_sitter.Tree, spec: LanguageSpec | None = None) -> list[tree_sitter.Node]:
    """ERROR nodes in the tree (one counts once, whatever it holds), and MISSING ones but for a body's closer
    (``spec.closers``, not one of an expression's brace: ``inline_brace_types``): that one the parser invents is
    what a line that opens a block leaves until its body is written, where an invented `)` or an object's `}` is
    an expression a suggestion left open (`f(2`, `{a: 1`). A block that opens leaves its `}` missing after it,
    where the body around it ends; one missing right before a `{` on its line (`_cut_short_by`) is a body the
    parser ended early to read that `{` as a block of its own: an interface's, after a member's type (`lines:
    Order {`)."""

    def body_closer(node: tree_sitter.Node) -> bool:
        return (spec is not None and node.is_missing and node.type in spec.closers and not expression_brace(spec, node)
                and not _cut_short_by(node, spec.block_openers))

    return [node for node in iter_problems(tree.root_node) if not body_closer(node)]


def _cut_short_by(node: tree_sitter.Node, openers: tuple[str, ...]) -> bool:
    """Whether the token after ``node`` (the parse's next leaf, blanks aside) is one of ``openers`` on its line."""
    following = token_after(node)
    return following is not None and following.type in openers and following.start_point.row == node.end_point.row


def error_count(tree: tree_sitter.Tree, spec: LanguageSpec | None = None) -> int:
    """How many `error_nodes` the tree has."""
    return len(error_nodes(tree, spec))


def byte_edits(snap: Snapshot, replacements: list[Replacement] | tuple[Replacement, ...]
               ) -> list[tuple[int, int, int]]:
    """The replacements as edits of the text's bytes, in order: (start, old end, new length)."""
    return [(snap.byte_offset(r.start), snap.byte_offset(r.end), len(r.text.encode("utf-8", "surrogatepass")))
            for r in sorted(replacements, key=lambda r: r.start)]


def _old_byte(byte: int, edits: list[tuple[int, int, int]], end: bool) -> int:
    """Where a byte of the edited text was before ``edits`` (start, old end, new length: sorted, not overlapping);
    one in an inserted text is at the edit's start, or at its old end for a span's ``end``."""
    shift = 0  # new bytes less old ones, over the edits before
    for start, old_end, length in edits:
        if byte <= start + shift:
            break
        if byte < start + shift + length:
            return old_end if end else start
        shift += length - (old_end - start)
    return byte - shift


def _new_problem(node: tree_sitter.Node, before: _Spans, old_root_is_error: bool,
                 edits: list[tuple[int, int, int]]) -> bool:
    """Whether the problem ``node`` of the edited tree stands where the old tree had none: no old problem touches
    its span (in old bytes). A root that is itself an ERROR (the parser made nothing of the file) says nothing of
    where: it stands for one only where the old root was one too."""
    if node.parent is None:
        return not old_root_is_error
    start, end = _old_byte(node.start_byte, edits, end=False), _old_byte(node.end_byte, edits, end=True)
    return before.reach(start, end) is None


class _Spans:
    """The byte spans of a tree's problems (its root aside), to ask which touch a span. A C header full of macros
    the grammar cannot read has thousands of problems, and asking each new one against each old one took 38 s a
    suggestion in one of 4,200 lines with 3,768 of them."""

    def __init__(self, problems: list[tree_sitter.Node]) -> None:
        spans = sorted((p.start_byte, p.end_byte) for p in problems if p.parent is not None)
        self._starts = [start for start, _ in spans]
        self._reach: list[int] = []  # the furthest end of the spans up to each, in order of start
        for _, end in spans:
            self._reach.append(max(end, self._reach[-1]) if self._reach else end)

    def reach(self, start: int, end: int) -> int | None:
        """Where the furthest-reaching span that touches ``start..end`` ends (one that starts at ``end`` or before and
        ends at ``start`` or after); None where none does."""
        last = bisect.bisect_right(self._starts, end)
        return self._reach[last - 1] if last > 0 and self._reach[last - 1] >= start else None


def adds_errors(parsed: ParsedSnapshot, replacements: list[Replacement],
                should_stop: Callable[[], bool] | None = None, tree: tree_sitter.Tree | None = None) -> bool:
    """Whether the replacements leave the text with more ERROR nodes than it has now (`error_nodes`), or with one
    where it has none.

    Half-typed code rarely parses, so "parses afterwards" is too strict a test for a suggestion made while
    typing; one the parser cannot make sense of (a lone quote, a stray keyword, an extra bracket) is not worth
    showing. Counts alone miss one in a file the parser reads as a single ERROR: that counts once before the lone
    quote and after it. Plain text never gets worse. ``tree``: the text's after the replacements (`tree_after`),
    where the caller has parsed it already.
    """
    if tree is None:
        tree = tree_after(parsed, replacements, should_stop)
    if tree is None:
        return False
    before, after = error_nodes(parsed.tree, parsed.spec), error_nodes(tree, parsed.spec)
    if len(after) > len(before):
        return True
    snap = parsed.snapshot
    edits = byte_edits(snap, replacements)
    held = _Spans(before)
    return any(_new_problem(node, held, parsed.tree.root_node.is_error, edits) for node in after)


def covers_code_above(parsed: ParsedSnapshot, replacements: list[Replacement], tree: tree_sitter.Tree | None) -> bool:
    """Whether an ERROR of ``tree`` (the text's after the replacements) covers a whole line of code that stands above
    the lines they touch and above the statement they stand in (`_statement_around`), and that no problem of the old
    tree touched (in the old text's bytes): a `)` that closes a signature two lines above its own `):` (`api` +
    `_key=api_key)`) makes one ERROR of the whole file, which overlaps the half-typed line's own and so counts once,
    as that did (`adds_errors`). Only a closer's sign: what a fill leaves open runs on below it (an open call's
    arguments take in the lines after them), and a body's ` {` takes the `}` below as its own, so that the parser
    gives up on the class around it, from above."""
    if tree is None or parsed.tree is None or parsed.tree.root_node.is_error or not replacements:
        return False  # a file the parser read as one ERROR: every line was held by one
    errors = [node for node in iter_problems(tree.root_node) if node.is_error and node.parent is not None]
    if not errors:
        return False
    snap = parsed.snapshot
    edits = byte_edits(snap, replacements)
    data = grammar_bytes(snap.utf8, parsed.spec)
    lo, hi = edits[0][0], edits[-1][1]
    top = data.rfind(b"\n", 0, lo) + 1
    statement = _statement_around(parsed.tree, parsed.spec, lo, hi)
    if statement is not None:
        top = min(top, statement.start_byte)
    held = _Spans(list(iter_problems(parsed.tree.root_node)))
    return any(_line_outside(data, _old_byte(node.start_byte, edits, end=False),
                             min(top, _old_byte(node.end_byte, edits, end=True)), held) for node in errors)


def _line_end(data: bytes, byte: int) -> int:
    """Where the line that holds ``byte`` of ``data`` ends, before its line break."""
    end = data.find(b"\n", byte)
    return len(data) if end < 0 else end


def _statement_around(tree: tree_sitter.Tree, spec: LanguageSpec | None, lo: int, hi: int) -> tree_sitter.Node | None:
    """The statement of a body (``spec.body_types``) that holds bytes ``lo..hi`` of ``tree``; None between statements,
    or where the file's root is all that holds them."""
    node = tree.root_node.descendant_for_byte_range(lo, hi)
    if node is None or spec is None or node.type in spec.body_types:
        return None
    while node.parent is not None and node.parent.type not in spec.body_types:
        node = node.parent
    return node if node.parent is not None else None


def _line_outside(data: bytes, start: int, end: int, held: _Spans) -> bool:
    """Whether the bytes ``start..end`` of ``data`` hold a whole line of code (its blanks aside) that no span of
    ``held`` touches."""
    at = data.rfind(b"\n", 0, start) + 1
    while at < end:
        stop = _line_end(data, at)
        line = data[at:stop]
        code = line.strip()
        if code:
            first = at + len(line) - len(line.lstrip())
            last = first + len(code)
            if start <= first and last <= end:
                reach = held.reach(first, last)
                if reach is None:
                    return True
                stop = max(stop, _line_end(data, reach))
        at = stop + 1
    return False
