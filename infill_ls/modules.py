"""What a module of Python's standard library defines: `from pathlib import` + `get` imports a name no `pathlib` has,
and `re.` + `parent` reads one no `re` has. Only the standard library is read. A module written in Python whose names
its text alone tells is read from its source without running it. One whose text does not tell them (it writes to
`globals()`, makes an enum's members its own with `_convert_` or `global_enum`, runs code in its own namespace with
`exec`, or imports all of a module written in C, as `os` does `posix`), or one written in C (`sys`, `math`), is
imported by this interpreter in a child process of its own (`_imported_names`), so that nothing its import does
reaches the server; never one whose import acts (`antigravity` opens a web page), nor one with a module
`__getattr__`, which makes names as they are read."""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

# Calls and decorators by which a module may make names its text does not list: an enum's members made the module's.
_MAKERS = frozenset({"_convert_", "_convert", "global_enum"})
# Standard modules a package installed beside them may stand in for: setuptools' own `distutils`.
_REPLACED = frozenset({"distutils"})
# How deep a chain of `from x import *` is followed.
_STAR_DEPTH = 4
# Standard modules whose import acts (opens a web page, prints, starts a program): not imported, not even apart.
_ACTS_ON_IMPORT = frozenset({"antigravity", "this", "idlelib", "turtledemo", "__hello__", "__phello__", "__main__"})
# How long the child that imports a module may take; one that takes longer leaves its names untold.
_IMPORT_SECONDS = 10.0
# Run by the child: the names of the module its argument names once imported, as JSON on stdout (null where it cannot
# be imported or has a module `__getattr__`). What the import prints or warns goes nowhere.
_LIST_NAMES = """
import importlib, json, os, sys, warnings
warnings.simplefilter("ignore")
out, sys.stdout = sys.stdout, open(os.devnull, "w")
try:
    module = importlib.import_module(sys.argv[1])
except BaseException:
    module = None
names = None if module is None or "__getattr__" in vars(module) else sorted(dir(module))
out.write(json.dumps(names))
"""


# Names modules get as the interpreter runs, not as they are imported: `site` puts `help`, `exit` and the rest in
# `builtins` (None: its names are not judged at all); an interactive session, a traceback or a frozen build sets
# these of `sys`.
_SET_AS_IT_RUNS: dict[str, frozenset[str] | None] = {
    "builtins": None,
    "sys": frozenset({"ps1", "ps2", "tracebacklimit", "last_type", "last_value", "last_traceback", "last_exc",
                      "frozen"}),
}


def lacks(module: str, name: str) -> bool:
    """Whether ``module`` (dotted, absolute) is the standard library's and binds no public ``name``, nor holds a
    submodule of that name; False where its names are not told. A private name (`_x`) is never judged: modules set
    those in too many ways; nor one the module gets as the interpreter runs (`_SET_AS_IT_RUNS`). The names are this
    interpreter's, of its version and platform: a newer Python's (`itertools.batched` on 3.11), or another
    platform's (`os.startfile` on Linux), is lacking where the code reads it unguarded."""
    run_time = _SET_AS_IT_RUNS.get(module, frozenset())
    if name.startswith("_") or run_time is None or name in run_time:
        return False
    names = module_names(module)
    return names is not None and name not in names


def module_names(module: str, depth: int = 0) -> frozenset[str] | None:
    """The names ``module`` binds at its top level, a package's submodules among them; None where that is not told."""
    top = module.partition(".")[0]
    if not top or top not in sys.stdlib_module_names or top in _REPLACED or depth > _STAR_DEPTH:
        return None
    names = _names_in(_stdlib_folder(), module, depth)
    if names is None and depth == 0:
        names = _imported_names(module)
    return names


@functools.lru_cache(maxsize=1024)
def is_module(module: str) -> bool:
    """Whether ``module`` (dotted, absolute) is a module or package of the standard library's folder: `xml.etree`,
    not `os.path` (a name `os` binds to `posixpath`) nor `collections.OrderedDict`."""
    top = module.partition(".")[0]
    if not top or top not in sys.stdlib_module_names or top in _REPLACED:
        return False
    path = _stdlib_folder().joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@functools.cache
def _stdlib_folder() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


@functools.lru_cache(maxsize=256)
def _names_in(folder: Path, module: str, depth: int) -> frozenset[str] | None:
    path = folder.joinpath(*module.split("."))
    package = path / "__init__.py"
    source = package if package.is_file() else path.with_suffix(".py")
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if _makes_names(tree):
        return None
    names = _bound_at_top(tree.body, module if package.is_file() else module.rpartition(".")[0], depth)
    if names is None:
        return None
    names |= _submodules(path)
    # A `global` in a function binds its names at the top level when the function runs.
    names |= {name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names}
    return frozenset(names)


def _submodules(path: Path) -> set[str]:
    """The modules and packages a package's folder ``path`` holds, which its import need not bind."""
    if not (path / "__init__.py").is_file():
        return set()
    return {child.stem for child in path.iterdir() if child.suffix == ".py" or (child / "__init__.py").is_file()}


@functools.lru_cache(maxsize=256)
def _imported_names(module: str) -> frozenset[str] | None:
    """The names ``module`` binds once imported, and a package's submodules: asked of this interpreter in a child
    process, isolated from the user's site-packages and working directory (`-I -S`); None where it cannot be
    imported, acts as it is imported (`_ACTS_ON_IMPORT`) or has a module `__getattr__`."""
    if any(part in _ACTS_ON_IMPORT for part in module.split(".")) or getattr(sys, "frozen", False):
        return None  # a frozen build's executable is no interpreter to run code with
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _LIST_NAMES, module], capture_output=True,
                              stdin=subprocess.DEVNULL, text=True, timeout=_IMPORT_SECONDS,
                              creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        names = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    return frozenset(names) | _submodules(_stdlib_folder().joinpath(*module.split(".")))


def _makes_names(tree: ast.Module) -> bool:
    """Whether the module may make names its text does not list: a module `__getattr__`, a call or decorator of
    `_MAKERS`, `globals()` other than read by a subscript, `vars()`, `exec` with no namespace, `sys.modules[__name__]`.
    """
    reads = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _calls(node.value, "globals"):
            reads.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__" and node in tree.body:
            return True
        if isinstance(node, ast.Call) and (_named(node.func) in _MAKERS
                                           or (_calls(node, "globals") and id(node) not in reads)
                                           # the namespace it runs in, or reads, is the caller's
                                           or (_calls(node, "vars") and not node.args)
                                           or (_calls(node, "exec") and len(node.args) < 2)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and any(_named(d) in _MAKERS for d in node.decorator_list):
            return True
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "modules"
                and isinstance(node.slice, ast.Name) and node.slice.id == "__name__"):
            return True
    return False


def _named(node: ast.expr) -> str:
    """The name ``node`` calls or decorates with: `f`, `x.f`, `f(...)`'s `f`."""
    if isinstance(node, ast.Call):
        node = node.func
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _calls(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _bound_at_top(body: list[ast.stmt], package: str, depth: int) -> set[str] | None:
    """The names ``body``'s statements bind, those under a module-level `if`, `try`, `with` or loop included; None
    where a `from x import *` names a module whose names are not told. ``package``: what a relative import is of."""
    names: set[str] = set()
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
            continue
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names |= {node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)}
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            names |= {node.id for item in statement.items if item.optional_vars is not None
                      for node in ast.walk(item.optional_vars) if isinstance(node, ast.Name)}
        elif isinstance(statement, ast.Import):
            names |= {alias.asname or alias.name.partition(".")[0] for alias in statement.names}
        elif isinstance(statement, ast.ImportFrom):
            if any(alias.name == "*" for alias in statement.names):
                starred = _star_names(statement, package, depth)
                if starred is None:
                    return None
                names |= starred
            else:
                names |= {alias.asname or alias.name for alias in statement.names}
        elif isinstance(statement, ast.ExceptHandler) and statement.name:
            names.add(statement.name)
        for block in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(statement, block, None)
            if inner:
                bound = _bound_at_top(inner, package, depth)
                if bound is None:
                    return None
                names |= bound
    return names


def _star_names(statement: ast.ImportFrom, package: str, depth: int) -> set[str] | None:
    """The names `from x import *` may bind: `x`'s public ones, which its `__all__`, however it is made, lists no
    more of."""
    if statement.level:
        base = package.split(".") if package else []
        if statement.level - 1 > len(base):
            return None
        base = base[:len(base) - (statement.level - 1)]
        module = ".".join([*base, statement.module] if statement.module else base)
    else:
        module = statement.module or ""
    names = module_names(module, depth + 1)
    return None if names is None else {name for name in names if not name.startswith("_")}
