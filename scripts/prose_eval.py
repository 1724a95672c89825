"""Ghost text while typing prose: Python comments and docstring lines of held-out files, and Markdown lines, each cut
at a random point with the rest of its line gone, as it stands while the line is typed. Completion runs as the
server runs it for a keystroke, with and without the prose check (`infill_ls.prose`), in one run. Prints, per kind:
requests, suggestions shown, those that match how the text goes on, and those that write a word neither a word list
(``--words``, one word a line, as /usr/share/dict/words) nor the file holds.

    .venv/bin/python scripts/prose_eval.py --heldout data/corpus/heldout.jsonl --words /usr/share/dict/words \
        --markdown README.md docs/*.md --max-cases 400 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import torch

import infill_ls.completion as completion
from engine.arguments import add_memory_check_option
from engine.errors import EngineError
from engine.infill import InfillEngine
from infill_ls.documents import DocumentStore
from infill_ls.settings import Settings
from infill_ls.syntax import SyntaxIndex

WORD = re.compile(r"[^\W\d_]+")
COMMENT = re.compile(r"^[ \t]*#[ ]?(\S.*\S)$", re.M)
DOCSTRING = re.compile(r"^[ \t]*(?:\"\"\"|''')?([A-Z][a-z]+ [^\"'\n]*[a-z.,])$", re.M)
MARKDOWN = re.compile(r"^([A-Z][a-z]+ [a-z][^\n`|<>]{30,})$", re.M)
MACHINE = ("!", "-*-", "type:", "noqa", "pragma")


def lines_of(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    """The spans of prose of four words or more that ``pattern`` finds in ``text``."""
    return [m.span(1) for m in pattern.finditer(text) if len(m.group(1).split()) >= 4
            and not m.group(1).startswith(MACHINE)]


def cases(args: argparse.Namespace, rng: random.Random) -> list[tuple[str, str, str, int, int]]:
    """(kind, language id, text, start, end) of lines to type, up to `--max-cases` cut points in all."""
    found = []
    with open(args.heldout, encoding="utf-8") as lines:
        documents = [json.loads(line) for line in lines]
    rng.shuffle(documents)
    for doc in documents:
        if not doc["path"].endswith(".py"):
            continue
        for kind, pattern in (("comment", COMMENT), ("docstring", DOCSTRING)):
            spans = lines_of(doc["text"], pattern)
            if spans:
                found.append((kind, "python", doc["text"], *rng.choice(spans)))
    for path in args.markdown:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        found += [("markdown", "markdown", text, *span) for span in lines_of(text, MARKDOWN)]
    rng.shuffle(found)
    return found[:args.max_cases]


def written(text: str, at: int, fill: str) -> list[str]:
    """The words ``fill`` leaves at ``at``: the one being typed as completed, then its own."""
    words = WORD.findall(fill)
    typing = re.search(r"[^\W\d_]+\Z", text[max(0, at - 64):at])
    if words and typing and fill.startswith(words[0]):
        words[0] = typing.group() + words[0]
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heldout", default="data/corpus/heldout.jsonl")
    parser.add_argument("--words", default="/usr/share/dict/words")
    parser.add_argument("--markdown", nargs="*", default=[])
    parser.add_argument("--max-cases", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    add_memory_check_option(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    try:
        dictionary = {w.strip().lower() for w in open(args.words, encoding="utf-8", errors="replace")}
        chosen = cases(args, rng)
    except OSError as err:  # a file missing or unreadable: the error names it
        print(f"prose_eval: {err}", file=sys.stderr)
        sys.exit(2)
    except (ValueError, KeyError, TypeError, AttributeError) as err:  # no JSON, no path, a path of no text
        print(f"prose_eval: {args.heldout}: not a held-out split of {{path, language, text}} lines ({err!r})",
              file=sys.stderr)
        sys.exit(2)
    try:
        engine = InfillEngine.load(None, memory_check=args.memory_check, ways=frozenset({"device"}))
    except EngineError as err:  # the embedded model not installed, or too large for the memory free
        print(f"prose_eval: {err}", file=sys.stderr)
        sys.exit(2)
    checked = completion.readable
    counts: dict[tuple[str, str], list[int]] = {}
    for n, (kind, language, text, start, end) in enumerate(chosen):
        at = rng.randrange(start + 3, end - 1)
        typed = text[:at] + text[end:]
        store, index = DocumentStore(), SyntaxIndex()
        snapshot = store.open(f"file:///case{n}.{'md' if language == 'markdown' else 'py'}", language, 1, typed)
        index.opened(snapshot)
        parsed = index.parse(snapshot)
        known = {w.lower() for w in WORD.findall(text)} | dictionary
        for check in ("without", "with"):
            completion.readable = checked if check == "with" else (lambda engine, parsed, shown, elsewhere=(): shown)
            shown = completion.complete(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
            row = counts.setdefault((kind, check), [0, 0, 0, 0])
            row[0] += 1
            if shown:
                fill = shown[0].text
                row[1] += 1
                row[2] += text[at:end].startswith(fill)
                row[3] += any(len(w) > 2 and w.lower() not in known for w in written(typed, at, fill))
    completion.readable = checked
    print("| kind | prose check | requests | shown | as the text goes on | with a word no list or file has |")
    print("|---|---|---:|---:|---:|---:|")
    for (kind, check), (requests, shown, going_on, broken) in sorted(counts.items()):
        print(f"| {kind} | {check} | {requests} | {shown} | {going_on} | {broken} |")


if __name__ == "__main__":
    main()
