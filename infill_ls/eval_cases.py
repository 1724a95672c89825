"""A held-out hole as the server meets it: the file with the hole's text cut out, open and parsed, the cursor
where the text stood. The server-side evaluations (`close_eval`, `typing_eval`) start from here."""

from __future__ import annotations

from pathlib import PurePosixPath

from engine.holes import HoleCase

from .documents import DocumentStore
from .syntax import LANGUAGES, ParsedSnapshot, SyntaxIndex

_LANGUAGE_IDS = {spec.name: spec.language_ids[0] for spec in LANGUAGES}


def cut_out(case: HoleCase, uri: str = "file:///held-out") -> tuple[ParsedSnapshot, int]:
    """The parsed file without the case's middle, and the cursor offset where the middle was."""
    store, index = DocumentStore(), SyntaxIndex()
    language_id = _LANGUAGE_IDS.get(case.language, case.language)
    snapshot = store.open(uri + PurePosixPath(case.path).suffix, language_id, 1, case.prefix + case.suffix)
    index.opened(snapshot)
    return index.parse(snapshot), len(case.prefix)
