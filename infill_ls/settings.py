"""The server's settings: one typed, fully defaulted object.

Clients send them as ``initializationOptions`` and ``workspace/didChangeConfiguration``
(either bare or under an ``infill`` section), with camelCase keys; keys the server does
not know belong to the editor and are left alone, but for a near-miss of one of its own, which is
named. A value that does not validate keeps the setting as it was (the default, on start-up) and
produces a message for the user; it never stops the server, and a typo does not undo what the user
set before. A null, for a setting that has no null, sets it back to the server's own value.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .documents import language_names

SECTION = "infill"
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16", "float16")
MAX_THREADS = 256  # the `threads` setting's and `--threads`' most


@dataclass(frozen=True)
class Settings:
    model_path: str | None = None  # None: the model that ships with the package
    device: str = "auto"
    dtype: str = "auto"
    max_hole_tokens: int = 48
    max_steps: int | None = None  # None: the checkpoint's generation config decides
    # Completions requested while typing get at most this many steps: latency matters more there than the last
    # refinements, and an explicit request still runs the full schedule. None: as max_steps.
    typing_max_steps: int | None = 6
    # While typing on a blank line, or at the end of a header's line (`def f(x):|`), whether the model guesses the
    # lines there (the file's fills are shown either way).
    # None: the checkpoint's generation config decides (`infill_new_lines`; off for the embedded model, whose
    # guesses there were noise; on for a checkpoint that states nothing).
    typing_new_lines: bool | None = None
    debounce_ms: int = 60
    enabled_languages: tuple[str, ...] = ("*",)  # LSP languageIds; "*" enables every one
    candidates: int = 3  # how many fills to offer when completion is invoked explicitly
    # Offer first the fills the file already spells out between the same text (engine.lookup).
    file_lookup: bool = True
    # Search the other open documents in the language, and the files of the document's directory, for such fills
    # too (infill_ls.neighbors).
    neighbor_files: bool = True
    threads: int | None = None  # CPU threads for the model; None: half the cores
    # Tokens of the text before the hole the encoder reads. None: the checkpoint's own `infill_prompt_tokens`
    # (256 for the embedded model, which was trained on prompts that long; 1024 for a checkpoint that states none).
    prefix_tokens: int | None = None
    # Refuse a checkpoint the device has no room for before its weights are read (engine.checkpoint.check_memory).
    # Off only from the command line (`--no-memory-check`): the memory the system counts is the machine's, the same
    # in every workspace, and where it is wrong (swap left out) it is wrong for each.
    memory_check: bool = True

    def language_enabled(self, language_id: str) -> bool:
        """Whether a document's languageId is enabled: one of its names (`language_names`: in any case, a compound
        filetype's parts, without `-ts`) is one of an entry's, as the grammar is looked up."""
        if "*" in self.enabled_languages:
            return True
        enabled = {name for entry in self.enabled_languages for name in language_names(entry)}
        return any(name in enabled for name in language_names(language_id))


class _Invalid(ValueError):
    pass


def _int_in(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _Invalid(f"expected an integer from {lo} to {hi}")
        return value

    return check


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)

    return optional


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise _Invalid("expected one of " + ", ".join(choices))
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("expected true or false")
    return value


def _path(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid("expected a directory path")
    return value


def _languages(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid('expected a list of languageIds, or ["*"]')
    return tuple(value)


# camelCase key -> (field name, validator)
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "modelPath": ("model_path", _path),
    "device": ("device", _one_of(DEVICES)),
    "dtype": ("dtype", _one_of(DTYPES)),
    "maxHoleTokens": ("max_hole_tokens", _int_in(1, 512)),
    "maxSteps": ("max_steps", _optional(_int_in(1, 512))),
    "typingMaxSteps": ("typing_max_steps", _optional(_int_in(1, 512))),
    "typingNewLines": ("typing_new_lines", _optional(_bool)),
    "debounceMs": ("debounce_ms", _int_in(0, 5000)),
    "enabledLanguages": ("enabled_languages", _languages),
    "numCandidates": ("candidates", _int_in(1, 8)),
    "fileLookup": ("file_lookup", _bool),
    "neighborFiles": ("neighbor_files", _bool),
    "threads": ("threads", _optional(_int_in(1, MAX_THREADS))),
    "prefixTokens": ("prefix_tokens", _optional(_int_in(16, 131_072))),
}
# How close (difflib's ratio) an unknown key must be to one of ours to be named as its misspelling: looser, and
# keys editors keep beside ours (`enabled`) would be.
_NEAR_MISS = 0.8


def _bare(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


_BARE_FIELDS = {_bare(key): key for key in _FIELDS}


def _meant(key: str) -> str | None:
    """The setting an unknown key is a misspelling of: the same but for case, `_` and `-`, or close to it."""
    bare = _bare(key)
    close = difflib.get_close_matches(bare, _BARE_FIELDS, n=1, cutoff=_NEAR_MISS)
    return _BARE_FIELDS.get(bare) or (_BARE_FIELDS[close[0]] if close else None)


def _misplaced_sections(raw: Mapping) -> list[str]:
    """Top-level keys named like our section but not it (`infill-ls`, `Infill`): settings there are never read."""
    # The key quoted: bare, "infill-ls" read as the server's own prefix said twice.
    return [f'"{key}" is not read: settings go under "{SECTION}"' for key in raw
            if isinstance(key, str) and key != SECTION and _bare(key) in (SECTION, SECTION + "ls")]


@dataclass(frozen=True)
class _Given:
    """One key of a settings object as read by its setting."""
    key: Any
    name: str | None  # its setting's field; None: no setting of ours
    value: Any = None  # as its setting takes it
    wrong: str | None = None  # why its setting does not take it
    # A null its setting does not take: the setting's value at the start, as editors send for one the user removed.
    reset: bool = False
    meant: str | None = None  # for a key that is no setting, the one it is a misspelling of (`_meant`)

    @property
    def unknown(self) -> str:
        """The problem of a key that is no setting."""
        return f"{SECTION}.{self.key}: unknown setting" + (f"; did you mean {self.meant}?" if self.meant else "")


def _read(raw: Mapping) -> Iterator[_Given]:
    """Each key of ``raw`` and its value checked by the setting it names: one walk for the server's settings
    (`parse_settings`) and a command line's (`refused_settings`), which differ only in what they make of it."""
    for key, value in raw.items():
        known = _FIELDS.get(key)
        if known is None:
            yield _Given(key, None, meant=_meant(key) if isinstance(key, str) else None)
            continue
        name, check = known
        try:
            checked = check(value)
        except _Invalid as why:
            if value is None:
                yield _Given(key, name, reset=True)
            else:
                yield _Given(key, name, wrong=f"{SECTION}.{key}: {why}, got {as_json(value, 80)}")
            continue
        yield _Given(key, name, checked)


def parse_settings(raw: Any, base: Settings | None = None, started: Settings | None = None
                   ) -> tuple[Settings, list[str]]:
    """Settings from a client's JSON value, over ``base`` for keys it leaves out.

    Returns the settings and one message per problem; an invalid value leaves its setting as in ``base``, a null
    that is not one of its values sets it to its value in ``started``, what the server started with (its command
    line over the defaults; by default ``base``): editors send null for a setting the user removed.
    """
    settings = base or Settings()
    started = started or settings
    if raw is None:
        return settings, []
    problems = _misplaced_sections(raw) if isinstance(raw, Mapping) else []
    if isinstance(raw, Mapping) and SECTION in raw:
        # {"infill": {...}}, as editors send a section; a section of another type is a mistake in the user's settings
        # file, not the settings themselves.
        if raw[SECTION] is None:
            return settings, problems
        raw = raw[SECTION]
    if not isinstance(raw, Mapping):
        return settings, [*problems, f"{SECTION} settings: expected an object, got {as_json(raw, 80)}"]
    changes: dict[str, Any] = {}
    for given in _read(raw):
        if given.name is None:
            # Editors keep their own keys in the same section (how to start the server, tracing); one close to ours
            # is the user's misspelling, and would otherwise change nothing without a word.
            if given.meant is not None:
                problems.append(given.unknown)
        elif given.reset:
            changes[given.name] = getattr(started, given.name)
        elif given.wrong is None:
            changes[given.name] = given.value
        else:
            problems.append(f"{given.wrong}; keeping {as_json(getattr(settings, given.name))}")
    if changes.get("enabled_languages") == ():
        problems.append(f'{SECTION}.enabledLanguages is empty: no language gets suggestions or actions (["*"] '
                        "enables every one)")
    return replace(settings, **changes), problems


def refused_settings(raw: Mapping[str, Any]) -> list[str]:
    """What is wrong with settings given on a command line, where nothing is kept in their place: any key that is
    not a setting (no editor shares the section there), and each value its setting does not take (a null is the
    setting's value at the start, as from an editor: `_Given.reset`)."""
    problems = []
    for given in _read(raw):
        if given.name is None:
            problems.append(given.unknown)
        elif given.wrong is not None:
            problems.append(given.wrong)
    return problems


def as_json(value: Any, limit: int | None = None) -> str:
    """A value as the client wrote it (JSON), so that a message can show it to be pasted back; a wrong one cut to
    `limit` characters, so that the message stays one line."""
    text = json.dumps(list(value) if isinstance(value, tuple) else value, default=repr)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def model_differs(old: Settings, new: Settings) -> bool:
    """Whether ``new`` names another model than ``old``: one loaded from disk in place of the other."""
    return (old.model_path, old.device, old.dtype) != (new.model_path, new.device, new.dtype)
