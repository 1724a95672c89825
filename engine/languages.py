"""The source languages the engine knows: file extensions and tree-sitter grammars, one table."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

import tree_sitter


@dataclass(frozen=True)
class Language:
    name: str
    extensions: tuple[str, ...]
    grammar_module: str
    grammar_function: str = "language"


LANGUAGES: tuple[Language, ...] = (
    Language("python", (".py", ".pyi"), "tree_sitter_python"),
    Language("javascript", (".js", ".mjs", ".cjs", ".jsx"), "tree_sitter_javascript"),
    Language("typescript", (".ts", ".mts", ".cts"), "tree_sitter_typescript", "language_typescript"),
    Language("tsx", (".tsx",), "tree_sitter_typescript", "language_tsx"),
    Language("go", (".go",), "tree_sitter_go"),
    Language("rust", (".rs",), "tree_sitter_rust"),
    Language("java", (".java",), "tree_sitter_java"),
    Language("c", (".c",), "tree_sitter_c"),
    # Headers are parsed as C++: the C++ grammar reads nearly all C, the C grammar rejects C++ headers.
    Language("cpp", (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".h", ".cuh", ".cu"), "tree_sitter_cpp"),
)

_BY_EXTENSION = {ext: lang for lang in LANGUAGES for ext in lang.extensions}
_BY_NAME = {lang.name: lang for lang in LANGUAGES}


def language_for_path(path: str | PurePath) -> Language | None:
    return _BY_EXTENSION.get(PurePath(path).suffix.lower())


def language_named(name: str) -> Language | None:
    return _BY_NAME.get(name)


@lru_cache(maxsize=None)
def _grammar(name: str) -> tree_sitter.Language:
    lang = _BY_NAME[name]
    module = importlib.import_module(lang.grammar_module)
    return tree_sitter.Language(getattr(module, lang.grammar_function)())


@lru_cache(maxsize=None)
def grammar_problem(name: str) -> str | None:
    """Why language ``name``'s grammar cannot be used here, in one line with the remedy; None when it can. Its
    package is a dependency, but an environment may lack it, or hold one built for another tree-sitter."""
    package = _BY_NAME[name].grammar_module.replace("_", "-")
    try:
        _grammar(name)
    except ImportError:
        return f"{name}: its grammar is not installed (pip install {package})"
    except ValueError as error:  # `Incompatible Language version 15. Must be between 13 and 14`
        return f"{name}: {package} does not load with tree-sitter {_version('tree-sitter')}: {error}"
    return None


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "(version unknown)"


def parser_for(name: str) -> tree_sitter.Parser:
    """A fresh parser (parsers hold state, grammars are shared)."""
    return tree_sitter.Parser(_grammar(name))
