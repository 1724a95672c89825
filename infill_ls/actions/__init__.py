"""Code actions as plain edits: rewrite a selection, fill placeholders, close a structure.

Each action turns part of a snapshot into one or more holes, asks the model for candidates (closing a
structure, also the fills the file spells out and the closers its brackets owe), and keeps the candidate after
which the file still parses, then the most confident one. A candidate that leaves the file with more syntax
errors than it has (for Close structure: one that leaves the error nearest the cursor, `edits.mends`) is never
applied; the action then says why it has no edit.
One module per action (`rewrite`, `placeholders`, `closing`, whose type arguments' `>`s are in `type_arguments`
and markup's closing tags and template literals' quotes in `text_closers`); what they share is in `edits`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..settings import Settings
from ..syntax import ParsedSnapshot
from .closing import close_structure, mechanical_fix, nearest_problem, problem_to_close, top_level
from .edits import ActionEdit, ActionKind, Candidate, Mending, NoEdit, Request, candidate, choose_edit
from .placeholders import fill_placeholders, find_placeholders
from .rewrite import refusal as rewrite_refusal
from .rewrite import rewrite_selection

if TYPE_CHECKING:
    from engine.infill import InfillLookup

__all__ = ["ActionEdit", "ActionKind", "Candidate", "Mending", "NoEdit", "Request", "available", "candidate",
           "choose_edit", "close_structure", "fill_placeholders", "find_placeholders", "mechanical_fix", "nearest_problem",
           "problem_to_close", "refusal", "rewrite_selection", "run_action", "top_level"]


def available(parsed: ParsedSnapshot, start: int, end: int) -> list[ActionKind]:
    """The actions that apply at a cursor or selection; cheap, never runs the model."""
    kinds = []
    if end > start and parsed.snapshot.text[start:end].strip():
        kinds.append(ActionKind.REWRITE_SELECTION)
    if find_placeholders(parsed, start):
        kinds.append(ActionKind.FILL_PLACEHOLDERS)
    if problem_to_close(parsed, start) is not None:
        kinds.append(ActionKind.CLOSE_STRUCTURE)
    return kinds


def refusal(kind: ActionKind, parsed: ParsedSnapshot, start: int, end: int, settings: Settings,
            lookup: InfillLookup) -> str | None:
    """Why ``kind`` would be refused here before its model runs, as its message would say (a selection longer than
    the model rewrites at once); None where it would run. Cheap: the tokenizer alone."""
    if kind is ActionKind.REWRITE_SELECTION:
        return rewrite_refusal(parsed, start, end, settings, lookup)
    return None


def run_action(kind: ActionKind, parsed: ParsedSnapshot, start: int, end: int, request: Request) -> ActionEdit | NoEdit:
    if kind is ActionKind.REWRITE_SELECTION:
        return rewrite_selection(parsed, start, end, request)
    if kind is ActionKind.FILL_PLACEHOLDERS:
        return fill_placeholders(parsed, start, request)
    return close_structure(parsed, start, request)
