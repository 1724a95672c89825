"""The names a fill reads that nothing binds where it stands: a line copied from another function brings that function's
locals along (`self.apply(Move(sku, qty, source, target))` in a method with no `source`), and a line copied from a
file beside it that file's (`fs.readFile` where nothing imports `fs`). Such a fill parses, and raises NameError
(ReferenceError) when it runs. How a language's names are read is `READERS`'s, by `LanguageSpec.names_read`:
ECMAScript's against the file's words and the language's globals (`unknown_reads`); Python's against its scopes
(`unbound_reads`). There a name is bound where it stands when the scopes around it bind it anywhere (a function's
locals are its whole body's, the module's names its whole text's), or the builtins hold it; a class body's names are
not its methods'. A file with a `from m import *` binds names no text shows, and so does a notebook's other cells,
whose words (``known``) count as bound. An assignment that alone binds a name and reads it (`total += qty` first,
`header = header.USER`) reads it unbound too. Both also read the members of `self` or `this` against what the class
binds (`unknown_attributes`, `unknown_members`). In the languages with braces, a name only another function binds
is read as unbound (`locals_of_others`, by `LanguageSpec.local_bindings`), and in Python an import of a name its
standard module does not define (`imported_from_nowhere`, `modules`), or a read of one as the module's member
(`members_modules_lack`: `re.` + `parent`)."""

from __future__ import annotations

import builtins
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from types import MappingProxyType
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

from .modules import is_module, lacks
from .syntax import ECMASCRIPT_LOCALS, nodes_touching

if TYPE_CHECKING:
    import tree_sitter

    from .syntax import LanguageSpec

# Besides the builtins: a module's own names, and IPython's, which a notebook's cells read as builtins.
BUILTINS = frozenset(dir(builtins)) | {"__file__", "__path__", "__cached__", "__builtins__", "__annotations__",
                                       "__class__", "display", "get_ipython"}
_SCOPES = frozenset({"function_definition", "lambda", "class_definition"})
# Patterns a name is bound in: their names are bound, an attribute's or a subscript's are read.
_PATTERNS = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "parenthesized_expression",
                       "list_splat_pattern", "list_splat", "as_pattern_target", "expression_list"})
_PARAMETERS = frozenset({"parameters", "lambda_parameters"})
_IMPORTS = frozenset({"import_statement", "import_from_statement", "future_import_statement"})
# The parts of a definition's header read in the scope around it: parameters' annotations and defaults, the return
# annotation, a class's bases. (A function's parameters bind in its own scope; `_bindings` reads them so.)
_HEADERS = frozenset({"parameters", "lambda_parameters", "type", "argument_list"})
_BINDING_EXPRESSIONS = frozenset({"list_comprehension", "set_comprehension", "dictionary_comprehension",
                                  "generator_expression", "named_expression"})


def unbound_reads(tree: tree_sitter.Tree, lo: int, hi: int, known: Iterable[str] = ()) -> list[str]:
    """The names a Python fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) reads that no scope around
    it binds, nor the builtins, nor ``known``; none in a file that imports `*`, nor where the parse around a name
    has an error (a half-typed line reads otherwise)."""
    root = tree.root_node
    if _imports_everything(root):
        return []
    cache: dict[int, Set[str]] = {}
    known = set(known)
    unbound = []
    for name in _reads(root, lo, hi):
        text = name.text.decode("utf-8", "replace")
        if text in BUILTINS or text in known or text in unbound:
            continue
        if not any(text in _cached_bindings(scope, cache) for scope in _visible_scopes(name)):
            unbound.append(text)
        elif _reads_its_own_first_binding(name, text, lo, hi):
            unbound.append(text)
    # `total ` + `+= qty`: the fill makes the name typed before it a read.
    for statement in nodes_touching(root, lo, hi):
        operator = statement.child_by_field_name("operator") if statement.type == "augmented_assignment" else None
        target = statement.child_by_field_name("left")
        if operator is None or target is None or target.type != "identifier" or not lo <= operator.start_byte < hi:
            continue
        text = target.text.decode("utf-8", "replace")
        if text not in unbound and text not in known and _reads_its_own_first_binding(target, text, lo, hi):
            unbound.append(text)
    return unbound


# How many places of a name `left_unbound` reads: each is a walk of the scopes around it.
_PLACES_READ = 64


def left_unbound(old: tree_sitter.Tree, new: tree_sitter.Tree, lo: int, hi: int, written: int) -> list[str]:
    """The names that Python code outside bytes ``lo``..``hi`` of ``old`` reads unbound once they are rewritten
    (``written`` bytes from ``lo`` in ``new``) and read bound before: `total = 0` rewritten away above `return total`,
    a parameter or an import dropped. Only the names that the scope around the rewrite binds before and not after
    are read, at their first `_PLACES_READ` places outside it, so a rewrite in a long module costs its names' places,
    not the module."""
    before, after = _scope_around(old.root_node, lo, hi), _scope_around(new.root_node, lo, lo + written)
    dropped = _bindings(before) - _bindings(after)
    data, shift = old.root_node.text or b"", written - (hi - lo)
    left = []
    for name in sorted(dropped):
        word = re.compile(rb"(?<![\w.])" + re.escape(name.encode("utf-8", "surrogatepass")) + rb"(?!\w)")
        places = (m.span() for m in word.finditer(data) if not lo <= m.start() < hi)
        for start, end in itertools.islice(places, _PLACES_READ):
            moved = start if start < lo else start + shift
            if name in unbound_reads(new, moved, moved + end - start) and name not in unbound_reads(old, start, end):
                left.append(name)
                break
    return left


def _scope_around(root: tree_sitter.Node, lo: int, hi: int) -> tree_sitter.Node:
    """The innermost scope (a function, a lambda, a class, else the module) that holds bytes ``lo``..``hi`` and more:
    a function rewritten whole is its parent's name."""
    node = root.descendant_for_byte_range(lo, max(lo, hi - 1))
    while node is not None and node.parent is not None and not (
            node.type in _SCOPES and (node.start_byte < lo or node.end_byte > hi)):
        node = node.parent
    return node if node is not None else root


def _cached_bindings(scope: tree_sitter.Node, cache: dict[int, Set[str]]) -> Set[str]:
    """`_bindings(scope)`, read once for each scope of one tree (`setdefault` read it anew for every name)."""
    found = cache.get(scope.id)
    if found is None:
        found = cache[scope.id] = _bindings(scope)
    return found


def _reads_its_own_first_binding(name: tree_sitter.Node, text: str, lo: int, hi: int) -> bool:
    """Whether ``name`` is read by the assignment the fill writes that alone binds it in the scopes it sees: `total =
    total + 1`, `total += qty` or `orders = clean(orders)` where nothing else binds `total` or `orders` reads it
    unbound (UnboundLocalError, NameError at a module's level)."""
    statement = name.parent
    while statement is not None and statement.type not in ("assignment", "augmented_assignment", "block", "module"):
        statement = statement.parent
    if statement is None or statement.type in ("block", "module"):
        return False
    value = statement.child_by_field_name("right")
    if not (statement.type == "augmented_assignment" or value is not None and value.start_byte <= name.start_byte):
        return False  # the name bound, not read: `x = 1`
    bound_here: set[str] = set()
    _targets(bound_here, statement.child_by_field_name("left"))
    if text not in bound_here:
        return False
    return not any(text in _bindings(scope, skip=statement) for scope in _visible_scopes(name))


def _reads(root: tree_sitter.Node, lo: int, hi: int) -> Iterator[tree_sitter.Node]:
    """The identifiers that hold a byte of ``lo``..``hi`` and are read: not an attribute's name after its `.`, a
    keyword argument's or a pattern's keyword, nor a name an import names; none under an ERROR."""
    pending = [root]
    while pending:
        node = pending.pop()
        if node.type == "ERROR" or node.type in _IMPORTS:
            continue
        if node.type == "identifier":
            parent, field = node.parent, _field(node)
            if not ((parent.type == "attribute" and field == "attribute")
                    or (parent.type == "keyword_argument" and field == "name")
                    or (parent.type == "keyword_pattern" and parent.named_children[0].id == node.id)
                    or _names_a_parameter(node, parent, field)
                    or (parent.type in ("function_definition", "class_definition") and field == "name")):
                yield node
            continue
        pending.extend(child for child in node.children if child.start_byte < hi and lo < child.end_byte
                       or child.start_byte == child.end_byte == lo)


def _names_a_parameter(node: tree_sitter.Node, parent: tree_sitter.Node, field: str | None) -> bool:
    """Whether the identifier ``node`` is the name a parameter binds (`x`, `x: int`, `x=1`, `*args`), which its
    function's scope binds; not a name its annotation or default reads, which the scope around it does."""
    if parent.type in _PARAMETERS:
        return True
    if parent.type in ("default_parameter", "typed_default_parameter"):
        return field == "name"
    return parent.type in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern") \
        and parent.parent is not None and parent.parent.type in _PARAMETERS | {"typed_parameter"}


def _visible_scopes(name: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """The scopes whose names ``name`` sees: the functions around it, innermost first, the class it stands in
    directly (not one around a function it is in), and the module. A function's annotations and default values, and
    a class's bases, are read where the definition stands, not in the scope it makes: `def f(ty: ty)` reads the `ty`
    around it (but for a definition with type parameters, whose scope holds them)."""
    node, child, innermost, bound_within = name.parent, name, True, False
    while node is not None:
        # A comprehension or `:=` in a header binds in the scope the header makes, where `_bindings` reads it.
        bound_within = bound_within or node.type in _BINDING_EXPRESSIONS
        if node.type in _SCOPES:
            header = child.type in _HEADERS and node.child_by_field_name("type_parameters") is None \
                and not bound_within
            if not header:
                if node.type != "class_definition" or innermost:
                    yield node
                innermost = False
        elif node.parent is None:
            yield node
        node, child = node.parent, node


def _bindings(scope: tree_sitter.Node, skip: tree_sitter.Node | None = None, imports: bool = True) -> Set[str]:
    """The names ``scope`` (a module, a function, a lambda or a class) binds anywhere in it: assigned, looped over,
    imported, defined, taken `as`, declared `global` or `nonlocal`, matched, and a function's parameters; not in the
    scopes inside it, whose own names stay theirs (their definitions' names are its). A comprehension's are taken as
    its scope's: a name it binds and reads outside it is rare, and counted bound. ``skip``: an assignment whose names
    are left out; ``imports`` False: the names imports bind are too. A module's are its statements'
    (`_module_binds`)."""
    if scope.type == "module":
        found = _module_binds(scope, skip)
        return found.bound if imports else found.otherwise
    names: set[str] = set()
    # PEP 695's type parameters (`def f[T, U: int, *Ts](x: T)`): each the first name of its part of the brackets.
    parameters = scope.child_by_field_name("type_parameters") if scope.type in _SCOPES else None
    for parameter in parameters.named_children if parameters is not None else ():
        while parameter.type != "identifier" and parameter.named_children:
            parameter = parameter.named_children[0]
        _add(names, parameter)
    if scope.type in _SCOPES and scope.type != "class_definition":
        parameters = scope.child_by_field_name("parameters")
        starts = [parameters, scope.child_by_field_name("body")]
    elif scope.type == "class_definition":
        # (its bases too: a comprehension there binds in the class's scope, as one in a function's header does)
        starts = [scope.child_by_field_name("body"), scope.child_by_field_name("superclasses")]
    else:
        starts = [scope]
    _walk_bindings([node for node in starts if node is not None], skip, names, names if imports else None)
    return names


def _walk_bindings(pending: list[tree_sitter.Node], skip: tree_sitter.Node | None, names: set[str],
                   imported: set[str] | None) -> None:
    """The names the nodes ``pending`` bind in the scope they stand in (`_bindings`) into ``names``, those imports
    bind into ``imported`` (None: left out)."""
    while pending:
        node = pending.pop()
        kind = node.type
        if kind in ("function_definition", "class_definition"):
            _add(names, node.child_by_field_name("name"))
            continue
        if kind == "lambda" or kind == "ERROR" or _binds_nothing(node):
            continue
        if kind in ("assignment", "augmented_assignment", "for_statement", "for_in_clause") \
                and (skip is None or node.id != skip.id):
            _targets(names, node.child_by_field_name("left"))
        elif kind == "as_pattern_target":
            _targets(names, node)
        elif kind == "named_expression":
            _add(names, node.child_by_field_name("name"))
        elif kind in ("global_statement", "nonlocal_statement", "case_pattern", "type_alias_statement"):
            names.update(n.text.decode("utf-8", "replace") for n in _descendants(node) if n.type == "identifier")
        elif kind in _PARAMETERS:
            for parameter in node.named_children:
                _parameter(names, parameter)
        elif kind in _IMPORTS:
            if imported is not None:
                _imported(imported, node)
            continue
        pending.extend(node.children)


class _StatementBinds(NamedTuple):
    """What one statement at a module's level binds (`_module_binds`)."""

    otherwise: frozenset[str]
    imported: frozenset[str]
    modules: tuple[tuple[str, str | None], ...]  # (name bound, module) for each name its imports bind


_Kept = TypeVar("_Kept")


class _KeptByText(Generic[_Kept]):
    """What is read from a text, by its kind and the text: bounded by the bytes of the texts kept (and
    `_ENTRY_BYTES` for each, so that many short ones count too), the least recently read dropped first; a text of
    more than a quarter of them is not kept. Shared by the threads that check fills."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, bytes], _Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, keys: list[tuple[str, bytes]]) -> list[_Kept | None]:
        """What is kept for each of ``keys``, None where nothing is."""
        with self._lock:
            found = [self._entries.get(key) for key in keys]
            for key, value in zip(keys, found):
                if value is not None:
                    self._entries.move_to_end(key)
        return found

    def put(self, values: dict[tuple[str, bytes], _Kept]) -> None:
        """Keeps each of ``values`` by its key, dropping the least recently read past the bound."""
        with self._lock:
            for key, value in values.items():
                if key not in self._entries and len(key[1]) <= self._max_bytes // 4:
                    self._entries[key] = value
                    self._bytes += len(key[1]) + _ENTRY_BYTES
            while self._bytes > self._max_bytes:
                self._bytes -= len(self._entries.popitem(last=False)[0][1]) + _ENTRY_BYTES


# What an entry of `_KeptByText` holds besides its text, about: its key, a short statement's sets.
_ENTRY_BYTES = 256
# What the statements of modules bind, by their texts (`_module_binds`): a fill changes one statement of a module,
# and the trees after two fills hold different nodes for the others (a node's id is no key). A 25,000-line module's
# statements that are no definition are 70 KB.
_STATEMENTS: _KeptByText[_StatementBinds] = _KeptByText(8 << 20)
# What a whole module binds, by its text: the names read from one tree are held to it more than once (`_bindings`
# then `_scope_imports` for a fill's, `left_unbound` for each place of a name).
_MODULES: _KeptByText[_ScopeImports] = _KeptByText(16 << 20)


def _module_binds(module: tree_sitter.Node, skip: tree_sitter.Node | None = None) -> _ScopeImports:
    """What ``module``'s statements bind, each statement's kept in `_STATEMENTS`, by its kind and its text, where
    it starts a line and has no syntax error (such a statement parses alike wherever it stands in a module): after
    each fill tried a module was walked whole, 10 ms at 25,000 lines and more than once a fill, where the fill
    changes one statement. A definition is its name alone; a statement with ``skip`` in it is read anew."""
    data = module.text or b""
    # The root starts after the text's leading whitespace (a blank line, a BOM), and its text from there.
    base = module.start_byte
    if skip is None and (whole := _MODULES.get([("module", data)])[0]) is not None:
        return whole
    otherwise: set[str] = set()
    read: list[_StatementBinds] = []
    keyed: list[tuple[tuple[str, bytes], tree_sitter.Node]] = []  # (its key in `_STATEMENTS`, the statement)
    pending = list(reversed(module.children))
    while pending:
        statement = pending.pop()
        kind = statement.type
        if kind in ("function_definition", "class_definition"):
            _add(otherwise, statement.child_by_field_name("name"))
        elif kind == "decorated_definition":
            # Its decorators, and its definition's name: not the whole definition's text, as a key.
            pending.extend(reversed(statement.children))
        elif kind != "comment":
            start, end = statement.start_byte, statement.end_byte
            if statement.has_error or data[start - base - 1:start - base] not in (b"", b"\n") \
                    or (skip is not None and start <= skip.start_byte and skip.end_byte <= end):
                read.append(_statement_binds(statement, skip))
            else:
                keyed.append(((kind, data[start - base:end - base]), statement))
    kept = _STATEMENTS.get([key for key, _ in keyed])
    missing = {key: _statement_binds(statement) for (key, statement), binds in zip(keyed, kept) if binds is None}
    _STATEMENTS.put(missing)
    imported: set[str] = set()
    modules: dict[str, set[str | None]] = {}
    for binds in itertools.chain(read, kept, missing.values()):
        if binds is None:
            continue
        if binds.otherwise:
            otherwise |= binds.otherwise
        if binds.imported:
            imported |= binds.imported
        for name, module_name in binds.modules:
            modules.setdefault(name, set()).add(module_name)
    # Read only: the cache hands the same one to every caller, on any thread.
    whole = _ScopeImports(frozenset(otherwise | imported), frozenset(otherwise),
                          MappingProxyType({k: frozenset(v) for k, v in modules.items()}))
    if skip is None:
        _MODULES.put({("module", data): whole})
    return whole


def _statement_binds(statement: tree_sitter.Node, skip: tree_sitter.Node | None = None) -> _StatementBinds:
    """What ``statement``, at a module's level, binds there: as `_bindings` and `_scope_imports` read the module,
    from this statement down."""
    otherwise: set[str] = set()
    imported: set[str] = set()
    _walk_bindings([statement], skip, otherwise, imported)
    # The module's imports are read down to its scopes and expression statements, not into them (`_NO_IMPORTS`).
    imports = () if statement.type in _NO_IMPORTS else (
        node for node in _descendants(statement, stop=_NO_IMPORTS) if node.type in _IMPORTS)
    modules = tuple(pair for node in imports for pair in _modules_imported(node))
    return _StatementBinds(frozenset(otherwise), frozenset(imported), modules)


def _parameter(names: set[str], parameter: tree_sitter.Node) -> None:
    if parameter.type == "identifier":
        _add(names, parameter)
    elif parameter.type in ("default_parameter", "typed_default_parameter"):
        _add(names, parameter.child_by_field_name("name"))
    elif parameter.type in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern"):
        _add(names, next((c for c in parameter.named_children if c.type == "identifier"), None))


def _imported(names: set[str], statement: tree_sitter.Node) -> None:
    """The names an import binds (`_imported_nodes`)."""
    for node in _imported_nodes(statement):
        _add(names, node)


def _targets(names: set[str], target: tree_sitter.Node | None) -> None:
    if target is None:
        return
    if target.type == "identifier":
        _add(names, target)
    elif target.type in _PATTERNS:
        for child in target.named_children:
            _targets(names, child)


def _add(names: set[str], node: tree_sitter.Node | None) -> None:
    if node is not None and node.type == "identifier":
        names.add(node.text.decode("utf-8", "replace"))


def _field(node: tree_sitter.Node) -> str | None:
    parent = node.parent
    for i, child in enumerate(parent.children):
        if child.id == node.id:
            return parent.field_name_for_child(i)
    return None


# What holds no import: the scopes inside a scope hold their own, and an expression's statement none. A module of
# data (one dict of 200,000 nodes) was walked whole for its imports, at each suggestion.
_NO_IMPORTS = _SCOPES | {"expression_statement"}
# A literal whose text writes neither `:=` nor a comprehension's `for` binds no name; one large enough to cost a walk
# is read for them first.
_LITERALS = frozenset({"dictionary", "list", "set", "tuple"})
_LARGE_LITERAL_BYTES = 4096


def _binds_nothing(node: tree_sitter.Node) -> bool:
    """Whether ``node`` is a large literal that binds no name (`_bindings`): a module-level table of 500 KB took
    half a second to walk, for every name a suggestion reads."""
    if node.type not in _LITERALS or node.end_byte - node.start_byte <= _LARGE_LITERAL_BYTES:
        return False
    text = node.text or b""
    return b":=" not in text and not _writes_word(text, b"for")


def _writes_word(text: bytes, word: bytes) -> bool:
    """Whether ``text`` holds ``word`` as a word of its own. (A regular expression's `\\b` took 12 ms over 500 KB.)"""
    at = text.find(word)
    while at >= 0:
        before, after = text[at - 1 : at], text[at + len(word) : at + len(word) + 1]
        if not (before.isalnum() or before == b"_") and not (after.isalnum() or after == b"_"):
            return True
        at = text.find(word, at + 1)
    return False


# `import *` as the text may write it (a backslash may break its line): where it does not, no walk of the tree looks
# for one. The word's start is asserted after it (`\b` before it, as a lookbehind): a pattern that begins with its
# literal is searched for it, where one that began with `\b` was tried at every byte, 10 ms a search in 900 KB, and
# two a suggestion checked.
_WILDCARD_TEXT = re.compile(rb"import(?<!\wimport)[\s\\]*\*")


def _imports_everything(root: tree_sitter.Node) -> bool:
    """Whether a Python file imports `*` outside its functions and classes: the names it reads are then no one's
    to judge. The text says first whether one can be there: the walk over a module of data (a dict of 200,000
    nodes) took 0.25 s, at each suggestion."""
    if _WILDCARD_TEXT.search(root.text or b"") is None:
        return False
    return any(node.type == "wildcard_import" for node in _descendants(root, stop=_SCOPES))


def _descendants(node: tree_sitter.Node, stop: frozenset[str] = frozenset()) -> Iterator[tree_sitter.Node]:
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        if current is node or current.type not in stop:
            pending.extend(current.children)


def imported_again(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """The names an import a fill writes (its bytes ``lo``..``hi`` of ``tree``) binds where another import of the
    same scope binds them already: `from datetime import datetime` under `from datetime import datetime, timezone`.
    Only a name whose bytes the fill writes counts: the user's own is theirs."""
    again = []
    for statement in nodes_touching(tree.root_node, lo, hi):
        if statement.type not in _IMPORTS:
            continue
        written = _imported_nodes(statement)
        names = {n.text for n in written if n.start_byte < hi and lo < n.end_byte}
        if not names:
            continue
        scope = statement.parent
        while scope.parent is not None and scope.type not in _SCOPES:
            scope = scope.parent
        for other in _descendants(scope, stop=_NO_IMPORTS):
            if other.type in _IMPORTS and other.id != statement.id:
                again.extend(n.text.decode("utf-8", "replace") for n in _imported_nodes(other) if n.text in names)
    return again


def imported_from_nowhere(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """The names a `from m import` the fill writes (its bytes ``lo``..``hi`` of ``tree``) takes from a module of the
    standard library that defines no such name (`modules.lacks`), where the file reads the name it binds nowhere
    else: `from pathlib import ` + `get`. One read elsewhere (a newer Python's, the user's next line's) stays, as does
    an import of the project's own modules."""
    data = tree.root_node.text or b""
    missing = []
    for statement in nodes_touching(tree.root_node, lo, hi):
        module = statement.child_by_field_name("module_name") if statement.type == "import_from_statement" else None
        if module is None or module.type != "dotted_name":
            continue
        rest = data[:statement.start_byte] + b"\n" + data[statement.end_byte:]
        for name, alias in _import_names(statement):
            bound = alias or name
            if not (name.start_byte < hi and lo < name.end_byte):
                continue
            text = name.text.decode("utf-8", "replace")
            if "." not in text and lacks(module.text.decode("utf-8", "replace"), text) \
                    and re.search(rb"(?<![\w.])" + re.escape(bound.text) + rb"(?!\w)", rest) is None:
                missing.append(text)
    return missing


def members_modules_lack(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """The members ``m.x`` a Python fill (its bytes ``lo``..``hi`` of ``tree``) reads, or ends where they were typed
    before it, where ``m`` is a name its scope binds only by importing a module of the standard library that defines
    no ``x`` (`modules.lacks`), or a submodule read as its attribute, and the file reads ``m.x`` nowhere else: `re.` +
    `parent`, `warnings.` + `warnings(`, `os.p` + `()`, `importlib.util.cache_` + `path(`. Not judged: a name bound
    otherwise too (assigned, a parameter, another module's import: `from lxml import etree` beside `from xml.etree
    import ElementTree as etree`), a member assigned or deleted (`sys.tracebacklimit = 0`), a read the code guards
    (in an `if` on the platform, the version or `hasattr`, or a `try` with an `except`: `os.startfile` on Windows,
    `itertools.batched` on a Python newer than the server's), anything in a file that imports `*`. The dotted path
    an import names is read so too: `from collections.` + `dict import OrderedDict`, `import importlib.` +
    `module`."""
    root = tree.root_node
    if _imports_everything(root):
        return []
    data = root.text or b""
    scopes: dict[int, _ScopeImports] = {}
    missing = []
    for node in _attributes_written(root, lo, hi):
        if node.type == "dotted_name":
            parts = node.named_children
            pairs = [(b".".join(p.text for p in parts[:i]), parts[i]) for i in range(1, len(parts))]
        else:
            owner, member = node.child_by_field_name("object"), node.child_by_field_name("attribute")
            # The module first: its lookups are kept for the call, and most objects read are none.
            module = _module_of(owner, scopes) if owner is not None and member is not None else None
            if module is None or _written_to(node) or _guarded(node):
                continue
            pairs = [(module.encode("utf-8"), member)]
        for module_bytes, member in pairs:
            # A name the fill writes, or one typed that it ends (`os.p` + `()`).
            if not (member.start_byte < hi and lo <= member.end_byte) \
                    or not lacks(module_bytes.decode("utf-8", "replace"), member.text.decode("utf-8", "replace")):
                continue
            # Read elsewhere in the file (the text less this read; copied only for a member the module lacks).
            read = data[node.start_byte:member.end_byte]
            rest = data[:node.start_byte] + b"\n" + data[node.end_byte:]
            if re.search(rb"(?<![\w.])" + re.escape(read) + rb"(?!\w)", rest) is None:
                missing.append(read.decode("utf-8", "replace"))
    return missing


# Where a dotted name names a module: an import's, its `as`'s, a `from`'s.
_NAMES_MODULES = frozenset({"import_statement", "import_from_statement", "aliased_import"})
# Statements a member is written by, not read: `m.x = ...`, `m.x += ...`, `del m.x`.
_WRITES = frozenset({"assignment", "augmented_assignment"})
# What a condition guarding a member's read names: the platform, the version, whether the member is there.
_GUARDS = re.compile(rb"\b(?:sys\.platform|os\.name|sys\.version_info|sys\.version|platform\.\w+|hasattr|getattr"
                     rb"|TYPE_CHECKING)\b")


def _attributes_written(root: tree_sitter.Node, lo: int, hi: int) -> Iterator[tree_sitter.Node]:
    """The attribute reads (`m.x`), and the dotted paths imports name, that hold a byte of ``lo``..``hi`` or end where
    it begins; none under an ERROR."""
    pending = [root]
    while pending:
        node = pending.pop()
        if node.type == "ERROR":
            continue
        if node.type == "attribute" or (node.type == "dotted_name" and node.parent is not None
                                        and node.parent.type in _NAMES_MODULES):
            yield node
        pending.extend(child for child in node.children if child.start_byte < hi and lo <= child.end_byte)


def _written_to(attribute: tree_sitter.Node) -> bool:
    """Whether ``attribute`` is a target: assigned (alone or among others), or deleted."""
    node = attribute
    while node.parent is not None and node.parent.type in _PATTERNS:
        node = node.parent
    parent = node.parent
    return parent is not None and ((parent.type in _WRITES and _field(node) == "left")
                                   or parent.type == "delete_statement")


def _guarded(node: tree_sitter.Node) -> bool:
    """Whether code around ``node`` reads it only where it may be there: under an `if` (or a conditional expression,
    a `while`, an `and`) whose conditions name the platform, the version or `hasattr` (`_GUARDS`), or in a `try`
    that has an `except`."""
    child, parent = node, node.parent
    while parent is not None and parent.type not in _SCOPES:
        if any(_GUARDS.search(condition.text or b"") for condition in _conditions(parent)):
            return True
        if parent.type == "try_statement" and child.type == "block" \
                and any(c.type == "except_clause" for c in parent.children):
            return True
        child, parent = parent, parent.parent
    return False


def _conditions(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The conditions ``node`` (an `if` with its `elif`s, a conditional expression, a `while`, an `and`) tests."""
    if node.type == "if_statement":
        clauses = [node, *(c for c in node.children if c.type == "elif_clause")]
        return [c for clause in clauses if (c := clause.child_by_field_name("condition")) is not None]
    if node.type == "while_statement":
        return [c for c in [node.child_by_field_name("condition")] if c is not None]
    if node.type == "conditional_expression" and len(node.named_children) == 3:
        return [node.named_children[1]]
    if node.type == "boolean_operator":
        return [c for c in [node.child_by_field_name("left")] if c is not None]
    return []


class _ScopeImports(NamedTuple):
    """What a scope binds (`_bindings`, `_scope_imports`; a module's as `_module_binds` reads them)."""

    bound: Set[str]  # every name the scope binds
    otherwise: Set[str]  # those it binds but by an import
    modules: Mapping[str, Set[str | None]]  # a name imports bind -> the modules (None: not the library's)


def _scope_imports(scope: tree_sitter.Node, cache: dict[int, _ScopeImports]) -> _ScopeImports:
    found = cache.get(scope.id)
    if found is None and scope.type == "module":
        found = cache[scope.id] = _module_binds(scope)  # one reading of its statements for all three
    elif found is None:
        modules: dict[str, set[str | None]] = {}
        for statement in _descendants(scope, stop=_NO_IMPORTS):
            if statement.type in _IMPORTS:
                for bound, module in _modules_imported(statement):
                    modules.setdefault(bound, set()).add(module)
        found = cache[scope.id] = _ScopeImports(_bindings(scope), _bindings(scope, imports=False), modules)
    return found


def _module_of(node: tree_sitter.Node, cache: dict[int, _ScopeImports]) -> str | None:
    """The standard-library module ``node`` is: a name bound to one (`_module_bound_to`), or a submodule of one read
    as its attribute (`importlib.util` where `import importlib.util` binds `importlib`); else None."""
    if node.type == "identifier":
        return _module_bound_to(node, cache)
    owner, member = node.child_by_field_name("object"), node.child_by_field_name("attribute")
    if node.type != "attribute" or owner is None or member is None:
        return None
    module = _module_of(owner, cache)
    if module is None:
        return None
    submodule = f"{module}.{member.text.decode('utf-8', 'replace')}"
    return submodule if is_module(submodule) else None


def _module_bound_to(name: tree_sitter.Node, cache: dict[int, _ScopeImports]) -> str | None:
    """The standard-library module the nearest scope around ``name`` that binds it binds it to, where it binds it only
    by imports of that one module (`import re`, `import xml.etree.ElementTree as ET`, `from xml.etree import
    ElementTree`); else None: bound otherwise too, or by the import of another module (a relative one, one not the
    library's: `from lxml import etree` in a `try` whose `except` imports `xml.etree.ElementTree as etree`)."""
    text = name.text.decode("utf-8", "replace")
    for scope in _visible_scopes(name):
        found = _scope_imports(scope, cache)
        if text not in found.bound:
            continue
        modules = found.modules.get(text, set())
        if text in found.otherwise or len(modules) != 1:
            return None
        return next(iter(modules))
    return None


def _modules_imported(statement: tree_sitter.Node) -> Iterator[tuple[str, str | None]]:
    """(name bound, module) for each name an import binds: `import a.b` binds `a` to `a`, `import a.b as c` `c` to
    `a.b`, `from a import b` `b` to `a.b` where that is a module of the standard library's folder; else to None (a
    name `from` a module imports, a relative import's)."""
    source = statement.child_by_field_name("module_name") if statement.type == "import_from_statement" else None
    relative = statement.type == "import_from_statement" and (source is None or source.type != "dotted_name")
    for path, alias in _import_names(statement):
        if path.type != "dotted_name":
            continue
        dotted = path.text.decode("utf-8", "replace")
        if source is not None or relative:
            module = f"{source.text.decode('utf-8', 'replace')}.{dotted}" if not relative else None
            bound = (alias or path).text.decode("utf-8", "replace")
            yield bound, module if module is not None and is_module(module) else None
        elif alias is not None:
            yield alias.text.decode("utf-8", "replace"), dotted
        else:
            first = dotted.partition(".")[0]
            yield first, first


def _import_names(statement: tree_sitter.Node) -> Iterator[tuple[tree_sitter.Node, tree_sitter.Node | None]]:
    """(the name an import names, the alias it takes it as or None) for each of ``statement``'s: `import a.b as c`
    gives (`a.b`, `c`), `from m import x` (`x`, None)."""
    for i, child in enumerate(statement.children):
        if statement.field_name_for_child(i) != "name":
            continue
        aliased = child.type == "aliased_import"
        name = child.child_by_field_name("name") if aliased else child
        alias = child.child_by_field_name("alias") if aliased else None
        if name is not None and (alias is not None or not aliased):
            yield name, alias


def _imported_nodes(statement: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The name nodes an import binds: each alias, else an `import a.b`'s `a`, a `from m import b`'s `b`."""
    nodes = []
    for name, alias in _import_names(statement):
        if alias is not None:
            nodes.append(alias)
        elif name.named_children:
            parts = name.named_children
            nodes.append(parts[0] if statement.type == "import_statement" else parts[-1])
    return nodes


# ECMAScript's globals, a browser's and Node's, and a test runner's: a name read that the file spells nowhere is one
# of these or bound nowhere.
ECMASCRIPT_GLOBALS = frozenset("""
    Object Function Array Number parseFloat parseInt Infinity NaN undefined Boolean String Symbol Date Promise RegExp
    Error AggregateError EvalError RangeError ReferenceError SyntaxError TypeError URIError globalThis JSON Math Intl
    ArrayBuffer SharedArrayBuffer Atomics Uint8Array Int8Array Uint16Array Int16Array Uint32Array Int32Array
    Float32Array Float64Array Uint8ClampedArray BigUint64Array BigInt64Array DataView Map BigInt Set WeakMap WeakSet
    Proxy Reflect FinalizationRegistry WeakRef decodeURI decodeURIComponent encodeURI encodeURIComponent escape
    unescape eval isFinite isNaN arguments console structuredClone queueMicrotask setTimeout clearTimeout setInterval
    clearInterval setImmediate clearImmediate fetch Request Response Headers URL URLSearchParams AbortController
    AbortSignal TextEncoder TextDecoder Blob File FormData crypto performance atob btoa Event EventTarget
    CustomEvent require module exports process Buffer __dirname __filename global window document navigator location
    history localStorage sessionStorage alert confirm prompt HTMLElement Element Node NodeList DocumentFragment
    requestAnimationFrame cancelAnimationFrame getComputedStyle MutationObserver IntersectionObserver ResizeObserver
    WebSocket Worker XMLHttpRequest Image Audio FileReader self matchMedia screen devicePixelRatio customElements
    describe it test expect beforeEach afterEach beforeAll afterAll jest vi
""".split())
# The members of ECMAScript's namespace objects and of its constructors, as the language (to ES2026) and a browser's or
# Node's `console` define them; every object has `Object.prototype`'s too, and a constructor a function's.
_ECMASCRIPT_STATICS = {name: frozenset(members.split()) for name, members in {
    "JSON": "parse stringify rawJSON isRawJSON",
    "Math": """abs acos acosh asin asinh atan atan2 atanh cbrt ceil clz32 cos cosh exp expm1 floor fround f16round
               hypot imul log log10 log1p log2 max min pow random round sign sin sinh sqrt sumPrecise tan tanh trunc E
               LN10 LN2 LOG10E LOG2E PI SQRT1_2 SQRT2""",
    # reflect-metadata's too, which decorators of TypeScript's frameworks read (NestJS, Angular, TypeORM)
    "Reflect": """apply construct defineProperty deleteProperty get getOwnPropertyDescriptor getPrototypeOf has
                  isExtensible ownKeys preventExtensions set setPrototypeOf metadata decorate defineMetadata
                  getMetadata getOwnMetadata hasMetadata hasOwnMetadata getMetadataKeys getOwnMetadataKeys
                  deleteMetadata""",
    "Atomics": "add and compareExchange exchange isLockFree load notify or pause store sub wait waitAsync xor",
    "Intl": """Collator DateTimeFormat DisplayNames DurationFormat ListFormat Locale NumberFormat PluralRules
               RelativeTimeFormat Segmenter getCanonicalLocales supportedValuesOf""",
    "console": """assert clear count countReset debug dir dirxml error exception group groupCollapsed groupEnd info
                  log table time timeEnd timeLog timeStamp trace warn profile profileEnd context createTask memory
                  Console""",
    "Object": """assign create defineProperties defineProperty entries freeze fromEntries getOwnPropertyDescriptor
                 getOwnPropertyDescriptors getOwnPropertyNames getOwnPropertySymbols getPrototypeOf groupBy hasOwn
                 is isExtensible isFrozen isSealed keys preventExtensions seal setPrototypeOf values""",
    "Array": "from fromAsync isArray of",
    "Number": """EPSILON MAX_SAFE_INTEGER MAX_VALUE MIN_SAFE_INTEGER MIN_VALUE NaN NEGATIVE_INFINITY
                 POSITIVE_INFINITY isFinite isInteger isNaN isSafeInteger parseFloat parseInt""",
    "String": "fromCharCode fromCodePoint raw",
    "Promise": "all allSettled any race reject resolve try withResolvers",
    "Symbol": """asyncDispose asyncIterator dispose for hasInstance isConcatSpreadable iterator keyFor match matchAll
                 replace search species split toPrimitive toStringTag unscopables metadata observable""",
    "Date": "now parse UTC",
    "BigInt": "asIntN asUintN",
}.items()}
_OBJECT_MEMBERS = frozenset("""constructor hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString
                               valueOf __proto__ __defineGetter__ __defineSetter__ __lookupGetter__
                               __lookupSetter__""".split())
_FUNCTION_MEMBERS = frozenset("prototype length name call apply bind caller arguments".split())
_ECMASCRIPT_NAMESPACES = frozenset({"JSON", "Math", "Reflect", "Atomics", "Intl", "console"})


def unknown_statics(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """The members an ECMAScript fill (its bytes ``lo``..``hi`` of ``tree``) reads of a namespace object or a
    constructor of the language that it does not have (`_ECMASCRIPT_STATICS`), or ends one typed before it, where the
    file binds no name of the object's and reads that member of it nowhere else: `JSON.` + `trim()`, `Object.` +
    `argv.length`, `Math.` + `length`, `JSON.pars` + `(text)`. A member assigned (a polyfill's) is not judged."""
    root = tree.root_node
    data = root.text or b""
    unknown: list[str] = []
    declared: dict[bytes, bool] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        if node.type == "ERROR":
            continue
        pending.extend(child for child in node.children if child.start_byte < hi and lo <= child.end_byte)
        if node.type != "member_expression" or _field(node) == "left":
            continue
        owner, member = node.child_by_field_name("object"), node.child_by_field_name("property")
        # A member the fill writes, or one typed that it ends (`JSON.pars` + `(text)`).
        if owner is None or member is None or owner.type != "identifier" or member.type != "property_identifier" \
                or not (member.start_byte < hi and lo <= member.end_byte):
            continue
        name, text = owner.text.decode("utf-8", "replace"), member.text.decode("utf-8", "replace")
        statics = _ECMASCRIPT_STATICS.get(name)
        # A private member of the console (Node's `console._stdout`) is the runtime's own business.
        if statics is None or (name == "console" and text.startswith("_")) or text in statics \
                or text in _OBJECT_MEMBERS \
                or (name not in _ECMASCRIPT_NAMESPACES and text in _FUNCTION_MEMBERS):
            continue
        read = data[node.start_byte:member.end_byte]
        rest = data[:node.start_byte] + b"\n" + data[node.end_byte:]
        if re.search(rb"(?<![\w$.])" + re.escape(owner.text) + rb"\s*\??\.\s*" + re.escape(member.text) + rb"(?![\w$])",
                     rest):
            continue
        if owner.text not in declared:
            declared[owner.text] = _declared_in(root, owner.text)
        if not declared[owner.text]:
            unknown.append(read.decode("utf-8", "replace"))
    return unknown


def _declared_in(root: tree_sitter.Node, name: bytes) -> bool:
    """Whether the file binds ``name`` anywhere: imports it, declares it or takes it as a parameter; or adds to what
    the global of that name holds: a TypeScript declaration of it (`interface JSON`, `namespace Math`, or any in a
    `declare global`), or one put in its place (`global.Promise = require("bluebird")`)."""
    data = root.text or b""
    escaped = re.escape(name)
    if re.search(rb"\bdeclare\s+global\b|\b(?:interface|namespace|module)\s+" + escaped + rb"\b"
                 rb"|\b(?:global|globalThis|window|self)\s*\.\s*" + escaped + rb"\s*=[^=]", data):
        return True
    for match in re.finditer(rb"(?<![\w$.])" + re.escape(name) + rb"(?![\w$])", data):
        node = root.descendant_for_byte_range(match.start(), match.end())
        if node is None or node.type not in ("identifier", "shorthand_property_identifier_pattern"):
            continue
        if (node.type == "shorthand_property_identifier_pattern" or node.parent.type in _ECMASCRIPT_IMPORTS
                or (node.parent.type in _ECMASCRIPT_DECLARED and _field(node) == "name")
                or _binds_local(node, ECMASCRIPT_LOCALS)):
            return True
    return False


# Where an ECMAScript identifier binds the name it spells besides a local's place (`syntax.ECMASCRIPT_LOCALS`): an
# import, or the name of the function, class or method it declares.
_ECMASCRIPT_IMPORTS = frozenset({"import_clause", "import_specifier", "namespace_import"})
_ECMASCRIPT_DECLARED = frozenset({"function_declaration", "function_expression", "class", "class_declaration",
                                  "generator_function_declaration", "method_definition"})


def unknown_reads(tree: tree_sitter.Tree, lo: int, hi: int, text: str, known: Iterable[str] = ()) -> list[str]:
    """The names an ECMAScript fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) reads that neither the
    file's own ``text`` (as it is without the fill) spells, nor the fill binds, nor the language's globals hold
    (`ECMASCRIPT_GLOBALS`): a line copied from another file brings its names along (`state.loading = true` in a
    server, `fs.readFile` in a browser's script). The text is read as words, not scopes: a name another function
    binds passes."""
    reads, bound = [], set(known)
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        if node.type == "ERROR":
            continue
        if node.type in ("identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern"):
            name = node.text.decode("utf-8", "replace")
            parent = node.parent
            binds = (node.type == "shorthand_property_identifier_pattern" or parent.type in _ECMASCRIPT_IMPORTS
                     or parent.type in _ECMASCRIPT_DECLARED and _field(node) == "name"
                     or _binds_local(node, ECMASCRIPT_LOCALS))
            (bound.add if binds else reads.append)(name)
            continue
        pending.extend(child for child in node.children if child.start_byte < hi and lo < child.end_byte)
    unknown = []
    for name in reads:
        if name in bound or name in ECMASCRIPT_GLOBALS or name in unknown:
            continue
        if not spelled_in(name, text):
            unknown.append(name)
    return unknown


def locals_of_others(tree: tree_sitter.Tree, lo: int, hi: int, spec: LanguageSpec,
                     known: Iterable[str] = ()) -> list[str]:
    """The names a fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) reads that only another function
    binds: the outermost function around the fill spells them nowhere else, no code outside the file's functions
    does, and another function binds them as its locals (`LanguageSpec.local_bindings`): `if (err) {` copied from a
    handler into a function with no `err`, Go's `range s.books` in a method whose receiver is `h`. A name no function
    binds (a library's, a global the grammar reads as a name) is not judged."""
    if not spec.local_bindings or hi <= lo:
        return []
    root = tree.root_node
    outer = _outermost_function(root, lo, hi, spec)
    if outer is None:
        return []
    data = root.text or b""
    reads, bound = [], {name.encode("utf-8", "surrogatepass") for name in known}
    for node in nodes_touching(root, lo, hi):
        if node.type != "identifier" or node.start_byte >= hi or node.end_byte <= lo:
            continue
        name = node.text
        if _binds_local(node, spec.local_bindings, spec.binding_wrappers):
            bound.add(name)
        elif _field(node) not in _MEMBER_FIELDS and name not in reads:
            reads.append(name)
    reads = [name for name in reads if name not in bound]
    if not reads:
        return []
    around = data[outer.start_byte:lo] + b"\n" + data[hi:outer.end_byte]
    outside = None  # the code no function holds: read only for a name the function around does not spell
    others = []
    for name in reads:
        word = re.compile(rb"(?<![\w$])" + re.escape(name) + rb"(?![\w$])")
        if word.search(around):
            continue
        if outside is None:
            outside = b"\n".join(data[a:b] for a, b in _outside_functions(root, spec.function_types, len(data)))
        if word.search(outside):
            continue
        for match in itertools.islice(word.finditer(data), 64):
            if outer.start_byte <= match.start() < outer.end_byte:
                continue
            other = root.descendant_for_byte_range(match.start(), match.end())
            if other is not None and other.type == "identifier" and _binds_local(other, spec.local_bindings,
                                                                                spec.binding_wrappers):
                others.append(name.decode("utf-8", "replace"))
                break
    return others


# Fields in which an identifier names a member, a method or a label, not a variable read.
_MEMBER_FIELDS = frozenset({"field", "property", "name", "label"})


def dropped_locals(old: tree_sitter.Tree, new: tree_sitter.Tree, lo: int, hi: int, written: int,
                   spec: LanguageSpec) -> list[str]:
    """The locals that the bytes ``lo``..``hi`` of ``old`` bind (`LanguageSpec.local_bindings`) and their rewrite,
    ``written`` bytes from ``lo`` in ``new``, does not, which the outermost function around the rewrite still reads
    outside it: `let t = 0;` rewritten away above `return t;`."""
    if not spec.local_bindings:
        return []
    dropped = _locals_bound(old.root_node, lo, hi, spec) - _locals_bound(new.root_node, lo, lo + written, spec)
    if not dropped:
        return []
    outer = _outermost_function(new.root_node, lo, max(lo + 1, lo + written), spec)
    if outer is None:
        return []
    read = []
    for node in nodes_touching(outer, outer.start_byte, outer.end_byte):
        if node.type == "identifier" and node.text in dropped and node.text not in read \
                and not lo <= node.start_byte < lo + written and _field(node) not in _MEMBER_FIELDS:
            read.append(node.text)
    return [name.decode("utf-8", "replace") for name in read]


def _outermost_function(root: tree_sitter.Node, lo: int, hi: int, spec: LanguageSpec) -> tree_sitter.Node | None:
    """The outermost of the functions (`LanguageSpec.function_types`) around the bytes ``lo``..``hi``."""
    outer, node = None, root.descendant_for_byte_range(lo, hi - 1)
    while node is not None:
        if node.type in spec.function_types:
            outer = node
        node = node.parent
    return outer


def _locals_bound(root: tree_sitter.Node, lo: int, hi: int, spec: LanguageSpec) -> set[bytes]:
    return {node.text for node in nodes_touching(root, lo, hi)
            if node.type == "identifier" and lo <= node.start_byte and node.end_byte <= hi
            and _binds_local(node, spec.local_bindings, spec.binding_wrappers)}


def _binds_local(node: tree_sitter.Node, bindings: frozenset[tuple[str, str]],
                 wrappers: frozenset[str] = frozenset()) -> bool:
    """Whether the identifier ``node`` binds a local name (`bindings`, a `LanguageSpec.local_bindings`), through the
    patterns or declarators it stands inside (`wrappers`, its `binding_wrappers`)."""
    while node.parent is not None:
        parent, field = node.parent, _field(node) or ""
        if (parent.type, field) in bindings or (parent.type, "*") in bindings:
            return True
        if parent.type not in wrappers or field not in ("", "declarator", "pattern"):
            return False
        node = parent
    return False


def _outside_functions(root: tree_sitter.Node, function_types: frozenset[str], end: int) -> list[tuple[int, int]]:
    """The byte spans of the file that no function holds: its imports, globals, types and class members."""
    spans, at, pending = [], 0, [root]
    while pending:
        node = pending.pop()
        if node.type in function_types:
            spans.append((at, node.start_byte))
            at = node.end_byte
        else:
            pending.extend(reversed(node.children))
    spans.append((at, end))
    return spans


def ecmascript_reads(tree: tree_sitter.Tree, lo: int, hi: int, text: str, known: Iterable[str] = ()) -> list[str]:
    """`unknown_reads`, `unknown_members`, `unknown_statics`, `undeclared_private_names` and `misused_bindings`, as
    `READERS` calls them."""
    return unknown_reads(tree, lo, hi, text, known) + unknown_members(tree, lo, hi) + unknown_statics(tree, lo, hi) \
        + undeclared_private_names(tree, lo, hi) + misused_bindings(tree, lo, hi)


_ECMASCRIPT_WRITES = {"assignment_expression": "left", "augmented_assignment_expression": "left",
                      "update_expression": "argument"}
# Where a name read in a declaration's value is read later, when it is called, not as the declaration runs.
_ECMASCRIPT_DEFERRED = frozenset({"arrow_function", "function_expression", "function", "function_declaration",
                                  "generator_function", "generator_function_declaration", "method_definition",
                                  "class", "class_declaration", "class_body"})


def misused_bindings(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """What an ECMAScript fill (its bytes ``lo``..``hi`` of ``tree``) does with a name that the language refuses as it
    runs, or as it parses, where the grammar reads it without an error: a `const` or `let` read in its own
    declaration's value (`const label = findLabel(this.locale, ` + `label)`), or a name the file declares only as a
    `const` assigned to (`Object.defineProperty(response, kSt` + `atus = Symbol('kStatus')`)."""
    found: list[str] = []
    consts: dict[bytes, bool] = {}
    for node in nodes_touching(tree.root_node, lo, hi):
        if node.type != "identifier" or not (node.start_byte < hi and lo < node.end_byte) or _intrinsic_tag(node):
            continue
        label = node.text.decode("utf-8", "replace")
        written = node.parent is not None and node.parent.type in _ECMASCRIPT_WRITES and \
            _field(node) == _ECMASCRIPT_WRITES[node.parent.type]
        if written:
            if node.text not in consts:
                consts[node.text] = _declared_only_const(tree.root_node, node.text)
            bad = consts[node.text]
        else:
            bad = _read_in_own_declaration(node)
        if bad and label not in found:
            found.append(label)
    return found


_JSX_TAGS = frozenset({"jsx_opening_element", "jsx_closing_element", "jsx_self_closing_element"})


def _intrinsic_tag(name: tree_sitter.Node) -> bool:
    """Whether the identifier ``name`` is a JSX element's lowercase tag (`<header>`): a string, not a read."""
    return name.parent is not None and name.parent.type in _JSX_TAGS and _field(name) == "name" and \
        name.text[:1].islower()


def _read_in_own_declaration(name: tree_sitter.Node) -> bool:
    """Whether the identifier ``name`` is read in the value of the `const` or `let` declarator that declares it, as
    that runs (not in a function there)."""
    node = name
    while node.parent is not None and node.type not in _ECMASCRIPT_DEFERRED:
        parent = node.parent
        if parent.type == "variable_declarator" and _field(node) == "value":
            declared = parent.child_by_field_name("name")
            return (declared is not None and declared.type == "identifier" and declared.text == name.text
                    and parent.parent is not None and parent.parent.type == "lexical_declaration")
        node = parent
    return False


def _declared_only_const(root: tree_sitter.Node, name: bytes) -> bool:
    """Whether the file binds ``name``, and only ever as a `const`: no `let`, `var`, parameter, function, class or
    import of that name, in any scope. A `const` destructured (`const { a } = b`) is not looked for."""
    # Most names assigned to are no `const`: the file's text says so without a walk of its tree, on a keystroke.
    if re.search(rb"\bconst\s+" + re.escape(name) + rb"(?![\w$])", root.text or b"") is None:
        return False
    seen = False
    for node in _descendants(root):
        if node.type not in ("identifier", "shorthand_property_identifier_pattern") or node.text != name:
            continue
        parent = node.parent
        if parent is not None and (parent.type in _ECMASCRIPT_IMPORTS or parent.type in _ECMASCRIPT_DECLARED
                                   and _field(node) == "name"):
            return False
        if node.type == "shorthand_property_identifier_pattern" or _binds_local(node, ECMASCRIPT_LOCALS):
            # The declaration the binding is made by: a function's parameters are its own, though the function
            # stands in a `const`'s value (`const set = (value) => ...`).
            declaration = node.parent
            while declaration is not None and declaration.type not in _BINDING_SCOPES:
                declaration = declaration.parent
            if declaration is None or declaration.type != "lexical_declaration" or \
                    declaration.child(0) is None or declaration.child(0).type != "const":
                return False
            seen = True
    return seen


_BINDING_SCOPES = frozenset({"lexical_declaration", "variable_declaration", "program", "statement_block",
                             "formal_parameters", "catch_clause", "for_in_statement"}) | _ECMASCRIPT_DEFERRED


def undeclared_private_names(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """The private names (`#name`) an ECMAScript fill (its bytes ``lo``..``hi`` of ``tree``) writes that no class
    around it declares: JavaScript refuses the whole file for one as it parses it, and the grammar reads it without
    an error (`FetchRequest.#` + `DEFAULT` in a class whose private names are `#resolveProperty` and `#setInternal`).
    A private name is its own class's alone: no base class lends one."""
    unknown: list[str] = []
    for node in nodes_touching(tree.root_node, lo, hi):
        if node.type != "private_property_identifier" or not (node.start_byte < hi and lo < node.end_byte):
            continue
        if node.parent is not None and node.parent.type in _MEMBER_DECLARATIONS and _field(node) in ("name",
                                                                                                     "property"):
            continue  # the declaration itself
        declared, cls = False, node.parent
        while cls is not None and not declared:
            if cls.type in _ECMASCRIPT_CLASSES and (body := cls.child_by_field_name("body")) is not None:
                declared = node.text in _member_names(body)
            cls = cls.parent
        label = node.text.decode("utf-8", "replace")
        if not declared and label not in unknown:
            unknown.append(label)
    return unknown


_ECMASCRIPT_CLASSES = frozenset({"class_declaration", "class", "abstract_class_declaration"})
# Functions with a `this` of their own: one in a method's body is not the instance.
_OWN_THIS = frozenset({"function_declaration", "function_expression", "function", "generator_function_declaration",
                       "generator_function"})


def unknown_members(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """The members of `this` an ECMAScript fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it) reads that
    its class never binds: no field, method, accessor or TypeScript parameter property of that name, no `this.name =
    ...` in its methods, nor in the base classes the file defines: `this.todos` copied into a class whose list is
    `items`. A class with a base the file does not define, or that sets members by name (`this[...]`,
    `Object.assign`, `defineProperty`), is not judged."""
    return _unbound_members(tree, lo, hi, _read_of_this, _class_members)


def _read_of_this(node: tree_sitter.Node) -> tuple[tree_sitter.Node, tree_sitter.Node] | None:
    """(the member, its class) where ``node`` reads a member of `this` in a class's method (not a function's own)."""
    owner, member = node.child_by_field_name("object"), node.child_by_field_name("property")
    if node.type != "member_expression" or owner is None or member is None or owner.type != "this":
        return None
    if node.parent is not None and node.parent.type in ("assignment_expression", "augmented_assignment_expression") \
            and _field(node) == "left":
        return None
    cls = node.parent
    while cls is not None and cls.type not in _ECMASCRIPT_CLASSES and not _owns_this(cls):
        cls = cls.parent
    return None if cls is None or _owns_this(cls) else (member, cls)


def _owns_this(node: tree_sitter.Node) -> bool:
    """Whether ``node`` is a function with a `this` of its own, or an object literal's method."""
    return node.type in _OWN_THIS or (node.type == "method_definition" and node.parent is not None
                                      and node.parent.type == "object")


def _class_members(root: tree_sitter.Node, cls: tree_sitter.Node, depth: int) -> frozenset[bytes] | None:
    """The members the class ``cls`` and the bases the file defines bind; None where that is not told."""
    body = cls.child_by_field_name("body")
    text = body.text or b"" if body is not None else b""
    if body is None or depth > _BASE_DEPTH or b"this[" in text or b"Object.assign" in text \
            or b"defineProperty" in text:
        return None
    names: set[bytes] = set()
    for heritage in (c for c in cls.children if c.type == "class_heritage"):
        extended = next((c for c in heritage.named_children if c.type != "implements_clause"), None)
        if extended is None:
            continue  # `implements` alone adds no member
        if extended.type == "extends_clause":
            extended = extended.child_by_field_name("value")
        defined = _class_named(root, extended.text, _ECMASCRIPT_CLASSES) if extended is not None and \
            extended.type == "identifier" else None
        inherited = _class_members(root, defined, depth + 1) if defined is not None else None
        if inherited is None:
            return None
        names |= inherited
    names |= _member_names(body)
    for node in _descendants(body):
        if node.type == "required_parameter" and any(c.type == "accessibility_modifier" or c.type == "readonly"
                                                       for c in node.children):
            pattern = node.child_by_field_name("pattern")
            if pattern is not None:
                names.add(pattern.text)
        elif node.type == "member_expression" and node.parent is not None and _field(node) == "left" \
                and node.parent.type in ("assignment_expression", "augmented_assignment_expression"):
            owner, member = node.child_by_field_name("object"), node.child_by_field_name("property")
            if owner is not None and owner.type == "this" and member is not None:
                names.add(member.text)
    return frozenset(names)


# A top-level statement that wraps a definition (an export, a decorator), and the field that holds it.
_WRAPPED_IN = {"export_statement": "declaration", "decorated_definition": "definition"}


# What an ECMAScript class body declares its members with, each named by its `name` or `property`.
_MEMBER_DECLARATIONS = frozenset({"method_definition", "field_definition", "public_field_definition",
                                  "method_signature", "abstract_method_signature"})


def _member_names(body: tree_sitter.Node) -> set[bytes]:
    """The names an ECMAScript class ``body``'s own members declare (`#name`s among them), not its nested classes'."""
    names = set()
    for member in body.named_children:
        if member.type in _MEMBER_DECLARATIONS:
            name = member.child_by_field_name("name") or member.child_by_field_name("property")
            if name is not None:
                names.add(name.text)
    return names


def _class_named(root: tree_sitter.Node, name: bytes, class_types: frozenset[str]) -> tree_sitter.Node | None:
    """The file's class named ``name`` (a node of one of ``class_types``), where it declares one at its top level,
    exported or decorated or not."""
    for node in root.children:
        field = _WRAPPED_IN.get(node.type)
        definition = node.child_by_field_name(field) if field else node
        if definition is not None and definition.type in class_types:
            named = definition.child_by_field_name("name")
            if named is not None and named.text == name:
                return definition
    return None


def spelled_in(name: str, text: str) -> bool:
    """Whether ``text`` holds ``name`` as a whole word (no letter, digit, `_` or `$` on either side)."""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text) is not None


def python_reads(tree: tree_sitter.Tree, lo: int, hi: int, text: str, known: Iterable[str] = ()) -> list[str]:
    """`unbound_reads`, `unknown_attributes` and `members_modules_lack`, as `READERS` calls them."""
    return unbound_reads(tree, lo, hi, known) + unknown_attributes(tree, lo, hi) + members_modules_lack(tree, lo, hi)


def unknown_attributes(tree: tree_sitter.Tree, lo: int, hi: int) -> list[str]:
    """The attributes of `self` (or `cls`) a Python fill (its bytes ``lo``..``hi`` of ``tree``, the file's with it)
    reads that its class never binds: no method, class-level name or annotation of that name, no `x.name = ...` in its
    methods: `if self.quantity <= 0:` copied from another class into `Order`. A class whose attributes its text does
    not tell is not judged: one with a base class the file does not define, one that sets attributes by name
    (`setattr`, `__dict__`, `__getattr__`, `__slots__`)."""
    return _unbound_members(tree, lo, hi, _read_of_self, _class_attributes)


def _read_of_self(node: tree_sitter.Node) -> tuple[tree_sitter.Node, tree_sitter.Node] | None:
    """(the attribute, its class) where ``node`` reads an attribute of `self` or `cls` (not a dunder's) in a class."""
    owner, name = node.child_by_field_name("object"), node.child_by_field_name("attribute")
    if (node.type != "attribute" or owner is None or name is None or owner.type != "identifier"
            or owner.text not in (b"self", b"cls") or name.text.startswith(b"__") or _assigned(node)):
        return None
    cls = node.parent
    while cls is not None and cls.type != "class_definition":
        cls = cls.parent
    return None if cls is None else (name, cls)


def _unbound_members(tree: tree_sitter.Tree, lo: int, hi: int,
                     read: Callable[[tree_sitter.Node], tuple[tree_sitter.Node, tree_sitter.Node] | None],
                     bound: Callable[[tree_sitter.Node, tree_sitter.Node, int], frozenset[bytes] | None]) -> list[str]:
    """The members of an instance a fill (its bytes ``lo``..``hi`` of ``tree``) reads, as ``read`` finds them (the
    member's name and its class), that the class never binds (``bound``: the names it binds, None where its text does
    not tell); each as the fill's text writes it (`self.quantity`, `this.todos`)."""
    unknown: list[str] = []
    told: dict[int, frozenset[bytes] | None] = {}
    for node in nodes_touching(tree.root_node, lo, hi):
        found = read(node)
        if found is None or not (found[0].start_byte < hi and lo < found[0].end_byte):
            continue
        name, cls = found
        if cls.id not in told:
            told[cls.id] = bound(tree.root_node, cls, 0)
        label = node.text.decode("utf-8", "replace")
        if told[cls.id] is not None and name.text not in told[cls.id] and label not in unknown:
            unknown.append(label)
    return unknown


def _assigned(attribute: tree_sitter.Node) -> bool:
    """Whether ``attribute`` is what an assignment, a `for` or a `with` binds (`self.x = 1`), not a read."""
    node = attribute
    while node.parent is not None and node.parent.type in _PATTERNS:
        node = node.parent
    parent = node.parent
    return parent is not None and parent.type in ("assignment", "for_statement", "for_in_clause", "as_pattern_target") \
        and _field(node) in ("left", None)


_PYTHON_CLASSES = frozenset({"class_definition"})
# How deep a chain of base classes the file defines is followed.
_BASE_DEPTH = 8


def _class_attributes(root: tree_sitter.Node, cls: tree_sitter.Node, depth: int) -> frozenset[bytes] | None:
    """The names the class ``cls`` and the bases the file defines bind for its instances; None where that is not
    told (`unknown_attributes`)."""
    body = cls.child_by_field_name("body")
    if body is None or depth > _BASE_DEPTH or any(w in (body.text or b"") for w in _DYNAMIC_ATTRIBUTES):
        return None
    names: set[bytes] = set()
    bases = cls.child_by_field_name("superclasses")
    for base in bases.named_children if bases is not None else ():
        if base.type == "keyword_argument":
            return None  # a metaclass makes what it makes
        if base.type == "identifier" and base.text == b"object":
            continue
        defined = _class_named(root, base.text, _PYTHON_CLASSES) if base.type == "identifier" else None
        inherited = _class_attributes(root, defined, depth + 1) if defined is not None else None
        if inherited is None:
            return None
        names |= inherited
    pending = list(body.children)
    while pending:
        node = pending.pop()
        if node.type in ("function_definition", "class_definition") and node.parent is not None \
                and node.parent.id == body.id:
            names.add(node.child_by_field_name("name").text)
        elif node.type == "decorated_definition" and node.parent.id == body.id:
            definition = node.child_by_field_name("definition")
            if definition is not None and definition.child_by_field_name("name") is not None:
                names.add(definition.child_by_field_name("name").text)
        elif node.type == "assignment" and _at_class_level(node, body):
            left = node.child_by_field_name("left")
            names |= {n.text for n in _descendants(left) if n.type == "identifier"} if left is not None else set()
        elif node.type == "attribute" and _assigned(node):
            names.add(node.child_by_field_name("attribute").text)
        pending.extend(node.children)
    return frozenset(names)


def _at_class_level(node: tree_sitter.Node, body: tree_sitter.Node) -> bool:
    """Whether ``node`` stands in the class ``body`` outside its methods (under an `if TYPE_CHECKING:` too)."""
    parent = node.parent
    while parent is not None and parent.id != body.id:
        if parent.type in ("function_definition", "lambda", "class_definition"):
            return False
        parent = parent.parent
    return parent is not None


# Text in a class's body by which it may set attributes its text does not name.
_DYNAMIC_ATTRIBUTES = (b"setattr", b"__dict__", b"__getattr__", b"__getattribute__", b"__slots__", b"vars(")


# `LanguageSpec.names_read` -> how a fill's reads are held to what binds them: the names none binds.
READERS = {"python": python_reads, "ecmascript": ecmascript_reads}
