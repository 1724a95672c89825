"""Ghost text in prose: a comment or a string's text, where any fill keeps the file parsing, so the syntax checks
pass whatever the model writes, and a document of prose (Markdown, plain text, a commit message), which no grammar
checks. There a small model's fill is mostly broken words (`# JSON withou` + `rt`, `the lates` + `class`); a fill is
kept only where each word it completes or writes is one the model's vocabulary holds whole, or one the file or a file
beside it spells. In code the same holds of each word of the names a fill writes, split at `_`, digits and case
humps (`totalSize`: `total`, `Size`): a name parses whatever its letters, and the model stutters in them
(`_TEELEMETELEET`, `iftinue`)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable

from .documents import language_names
from .suggestions import in_literal, syntax_checked
from .syntax import ParsedSnapshot

# Documents that are prose throughout, by the names of their language (VS Code's and Neovim's): where no grammar
# reads them as code (a `.py` file opened as plain text is Python).
# Zed sends a language's name in lower case (`git commit`); Emacs's eglot the major mode's (`gfm`, `org`).
PROSE_LANGUAGES = frozenset({"markdown", "plaintext", "text", "git-commit", "gitcommit", "git commit", "gfm", "org",
                             "restructuredtext", "rst", "asciidoc", "latex", "tex"})

# A word of prose, as the vocabulary holds one: letters, no digits or `_` (`v3`, `max_len` are names, not words to
# judge).
_WORD = re.compile(r"[^\W\d_]+")
# From Thai on, most scripts (Chinese, Japanese) write no spaces between words: a run of their letters is a phrase,
# which no vocabulary holds whole.
_UNSPACED = "\u0e00"
# The letters the cursor stands after: the word being typed, which the fill completes.
_TYPING = re.compile(r"[^\W\d_]+\Z")
# Letters looked back over for it: a search from the file's start tries every position in it.
_LONGEST = 64


def in_prose(parsed: ParsedSnapshot, offset: int) -> bool:
    """Whether ``offset`` stands in prose: a comment or a string's text (`in_literal`), or a document of prose."""
    if syntax_checked(parsed):
        return in_literal(parsed, offset)
    return prose_document(parsed)


def prose_document(parsed: ParsedSnapshot) -> bool:
    """Whether the document is prose throughout (`PROSE_LANGUAGES`), where no grammar reads it as code."""
    return not syntax_checked(parsed) and any(name in PROSE_LANGUAGES
                                              for name in language_names(parsed.snapshot.language_id))


def written_words(before: str, fill: str) -> list[str]:
    """The words a fill inserted after ``before`` leaves in the text: the one being typed as it completes it (not
    where the fill begins with no letter: the typed word is the user's), then each word it writes."""
    words = _WORD.findall(fill)
    if words and fill.startswith(words[0]):
        typing = _TYPING.search(before, max(0, len(before) - _LONGEST))
        if typing is not None:
            words[0] = typing.group() + words[0]
    return words


def humps(word: str) -> list[str]:
    """``word`` split where a capital follows a small letter, or begins a word after capitals: `HTTPServer` is
    `HTTP`, `Server`; `getX` is `get`, `X`."""
    parts, start = [], 0
    for i in range(1, len(word)):
        if word[i].isupper() and (word[i - 1].islower() or (i + 1 < len(word) and word[i + 1].islower())):
            parts.append(word[start:i])
            start = i
    return parts + [word[start:]]


def spelled_in(words: list[str], texts: Iterable[str], code: bool = False) -> bool:
    """Whether each of ``words`` is spelled whole, in any case, in one of ``texts`` (read in turn, each once); with
    ``code``, a word of a name counts too, between its case humps (`Lazy` in `AbstractLazyValue`)."""
    missing = {word.lower() for word in words}
    for text in texts:
        # Finds in the lowered text, each one's ends looked at: a case-blind regular expression cost 40 ms over a
        # 700 K file, on a keystroke.
        haystack = text.lower()
        # The humps are read in the text as written, where lowering kept its length (it does but for a few letters).
        written = text if code and len(haystack) == len(text) else None
        missing = {word for word in missing if not _spelled(word, haystack, written)}
        if not missing:
            return True
    return False


def _spelled(word: str, haystack: str, written: str | None = None) -> bool:
    at = haystack.find(word)
    while at >= 0:
        end = at + len(word)
        starts = not (at and haystack[at - 1].isalpha()) or (written is not None and written[at].isupper())
        ends = not (end < len(haystack) and haystack[end].isalpha()) or (written is not None and written[end].isupper())
        if starts and ends:
            return True
        at = haystack.find(word, at + 1)
    return False


def garbled(before: str, fill: str, after: str, is_word: Callable[[str], bool],
            elsewhere: Iterable[str] = (), code: bool = False) -> bool:
    """Whether ``fill``, inserted between ``before`` and ``after``, leaves a word that is neither a word of the model's
    vocabulary (``is_word``) nor spelled in the text around it or in ``elsewhere``; with ``code``, each word split at
    its case humps (`humps`), and a name that says a hump twice over (`_stutters`) the file does not spell is one too.
    Words of one or two letters pass: they are as often abbreviations as words."""
    words = written_words(before, fill)
    if code:
        # A name that says one of its humps twice over (`getSeSe`, `HttpErrorError`) is the model stuttering, whatever
        # the vocabulary holds, where the file spells no such name.
        if stutters := [word for word in words if _stutters(humps(word))]:
            elsewhere = list(elsewhere)  # read twice
            if not spelled_in(stutters, itertools.chain((before, after), elsewhere)):
                return True
        words = [part for word in words for part in humps(word)]
    unknown = [w for w in words if len(w) > 2 and max(w) < _UNSPACED and not is_word(w)]
    return bool(unknown) and not spelled_in(unknown, itertools.chain((before, after), elsewhere), code)


def _stutters(parts: list[str]) -> bool:
    return any(len(a) > 1 and a == b for a, b in zip(parts, parts[1:]))
