"""What `infill-engine evaluate` reads: held-out source documents and pass@1 problems.

Sources of documents: a corpus split file (`heldout.jsonl`, one {path, language, text} object a line), a corpus
manifest (`manifest.jsonl`, one {path, split} object a line; the held-out files are read from disk), a directory,
or glob patterns. Problems: a JSONL of {prefix, suffix, canonical_solution, test, entry_point} objects (an
optional task_id names each).
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from engine.holes import HOLE_SYNTAX, SourceDocument, documents_from_paths, language_for_path


class EvaluationInputError(Exception):
    """Bad evaluation input; `str(err)` is one line naming the file and what is wrong."""


def jsonl_records(path: Path, what: str, blank: list[int] | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSONL file; line numbers are the file's, blank lines
    counted. `blank`: gets the numbers of the blank lines skipped, for a caller to say so."""
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise EvaluationInputError(f"{path}: cannot read {what}: {err.strerror}") from None
    with handle:
        # Decoded line by line, so that bytes that are not UTF-8 are named with their line. A byte order mark
        # (as some Windows editors write) is no part of the first record.
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise EvaluationInputError(f"{path}:{number}: not UTF-8") from None
            if not line.strip():
                if blank is not None:
                    blank.append(number)
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise EvaluationInputError(f"{path}:{number}: not JSON: {err.msg}") from None
            if not isinstance(record, dict):
                raise EvaluationInputError(f"{path}:{number}: expected a JSON object")
            yield number, record


# ---------------------------------------------------------------- source documents


def repository_packages(path: str | Path) -> list[str]:
    """The names `infill-engine corpus --repo` may give the file at `path` as its package, for each folder above it
    taken as the repository, the nearest first: the repository's name and the folders down to the file's
    (`engine.corpus.repository_files`), and the same down to the file itself (a file held out on its own)."""
    from engine.corpus import file_package, repository_package  # the corpus's names, where they are needed

    folder = Path(os.path.realpath(Path(path).parent))  # as the corpus resolves the repository
    names = []
    for top in (folder, *folder.parents):
        if not top.name:
            break  # the root names no repository
        package = repository_package(top, folder.relative_to(top))
        names += [package, file_package(package, str(path))]
    return names


def documents_from_split_dir(directory: Path) -> list[SourceDocument]:
    if not directory.is_dir():
        raise EvaluationInputError(f"{directory}: not a directory")
    return documents_from_paths(sorted(p for p in directory.rglob("*") if p.is_file()))


def documents_from_globs(patterns: Iterable[str]) -> list[SourceDocument]:
    found: set[Path] = set()
    for pattern in patterns:
        matches = [Path(m) for m in glob.glob(pattern, recursive=True)]
        if not matches:
            raise EvaluationInputError(f"{pattern}: matches no file")
        found.update(m for m in matches if m.is_file())
    return documents_from_paths(sorted(found))


def _language(record: dict) -> str | None:
    language = record.get("language")
    if isinstance(language, str) and language in HOLE_SYNTAX:
        return language
    return language_for_path(record["path"])


def documents_from_heldout(path: Path, split: str = "held-out") -> list[SourceDocument]:
    """The documents of a corpus split file (`heldout.jsonl`, or with ``split`` "training" `train.jsonl`)."""
    documents, seen = [], 0
    for number, record in jsonl_records(path, f"{split} documents"):
        if not isinstance(record.get("path"), str) or not isinstance(record.get("text"), str):
            raise EvaluationInputError(f"{path}:{number}: a document needs string fields 'path' and 'text'")
        seen += 1
        language = _language(record)
        if language is not None:
            package = record.get("package")
            documents.append(SourceDocument(record["path"], language, record["text"],
                                            package if isinstance(package, str) else None))
    # Said apart from "no holes": an empty split is the corpus's doing (nothing was held out), not the files'.
    if not seen:
        why = " (the corpus held none out)" if split == "held-out" else ""
        raise EvaluationInputError(f"{path}: no documents{why}")
    return documents


def add_languages_argument(parser) -> None:
    """`--languages`, which `in_languages` reads: the evaluations' one spelling of it."""
    parser.add_argument("--languages", nargs="+", choices=sorted(HOLE_SYNTAX), metavar="LANGUAGE",
                        help="only the files in these languages (default: all): " + ", ".join(sorted(HOLE_SYNTAX)))


def in_languages(documents: list[SourceDocument], languages: Sequence[str] | None,
                 source: str) -> list[SourceDocument]:
    """The documents in one of `languages` (all where None): a corpus built with npm packages beside Python
    (`corpus --node-modules`) holds out both, and each is measured on its own. None left is an error that names
    `source` and the languages it does hold."""
    if not languages:
        return documents
    kept = [d for d in documents if d.language in languages]
    if documents and not kept:
        held = ", ".join(sorted({d.language for d in documents}))
        raise EvaluationInputError(f"{source}: no document in {', '.join(languages)} (it holds {held})")
    return kept


def documents_from_manifest(path: Path) -> list[SourceDocument]:
    """The held-out files a corpus manifest lists; relative paths are taken from the manifest's directory."""
    documents, seen = [], 0
    for number, record in jsonl_records(path, "manifest"):
        if not isinstance(record.get("path"), str) or not isinstance(record.get("split"), str):
            raise EvaluationInputError(f"{path}:{number}: a manifest record needs string fields 'path' and 'split'")
        if record["split"] != "heldout":
            continue
        language = _language(record)
        if language is not None:
            package = record.get("package")
            documents.append(SourceDocument(str(path.parent / record["path"]), language, None,
                                            package if isinstance(package, str) else None))
        seen += 1
    if not seen:
        raise EvaluationInputError(f"{path}: lists no held-out files (the corpus held none out)")
    return documents


# ---------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    task_id: str
    prefix: str
    suffix: str
    canonical_solution: str
    test: str  # defines check(candidate)
    entry_point: str


_PROBLEM_FIELDS = ("prefix", "suffix", "canonical_solution", "test", "entry_point")


def load_problems(path: Path) -> list[Problem]:
    problems = []
    for number, record in jsonl_records(path, "problems"):
        for name in _PROBLEM_FIELDS:
            if not isinstance(record.get(name), str):
                raise EvaluationInputError(f"{path}:{number}: field {name!r} is missing or not a string")
        if not record["entry_point"].isidentifier():
            raise EvaluationInputError(f"{path}:{number}: entry_point {record['entry_point']!r} is not a name")
        task_id = record.get("task_id", f"{path.name}:{number}")
        problems.append(Problem(str(task_id), *(record[name] for name in _PROBLEM_FIELDS)))
    if not problems:
        raise EvaluationInputError(f"{path}: no problems")
    return problems
