"""The fills a document of prose spells out, shown while a sentence is written, scored against the sentence.

    python -m infill_ls.prose_eval FILE.md [FILE ...] [--per-file N] [--seed S] [--language ID] [--model DIR]
                                   [--out PATH]

Each case is a cursor after a word in a line of prose (not in a fenced code block), with the rest of that line not yet
written, as when a sentence is typed at the end of a line; the lines below stand as they are. What the server shows
there with no model pass (`completion.from_the_file`, the lookup alone) is scored: how often a fill is shown, how
often it is right (the line goes on with it, trailing spaces aside), and how often its first word is. No model and no
torch: a model's fill in prose is held to the words its vocabulary and the file spell (`prose.garbled`), which this
does not measure.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.infill_lookup import InfillLookup, default_model_dir

from .completion import from_the_file
from .eval_cases import parsed_document
from .settings import Settings

# A word's end with more of the line after it: a space, then a word.
_WORD_END = re.compile(r"(?<=\w) (?=\w)")
_FIRST_WORD = re.compile(r"\s*\S+")


@dataclass
class ProseCase:
    path: str
    line: int
    before: str  # the line up to the cursor
    rest: str  # the line's rest, not yet written
    shown: str | None
    right: bool
    first_word_right: bool


def cursors(text: str) -> list[tuple[int, int]]:
    """(line start, cursor) for each word's end in a prose line of ``text`` that more of the line follows; lines in a
    fenced code block (```) are code, not prose."""
    out, fenced, start = [], False, 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.extend((start, start + m.start()) for m in _WORD_END.finditer(line.rstrip("\r\n")))
        start += len(line)
    return out


def run_case(lookup: InfillLookup, settings: Settings, path: str, language: str, text: str, line_start: int,
             cursor: int) -> ProseCase:
    line_end = text.find("\n", cursor)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[cursor:line_end]
    parsed = parsed_document(Path(path).resolve().as_uri(), language, text[:cursor] + text[line_end:])
    found = from_the_file(lookup, parsed, cursor, settings, should_stop=lambda: False)
    shown = found[0].text if found else None
    right = shown is not None and shown.rstrip() != "" and rest.startswith(shown.rstrip())
    first = _FIRST_WORD.match(shown or "")
    first_right = first is not None and rest.startswith(first.group())
    return ProseCase(path, text.count("\n", 0, cursor), text[line_start:cursor], rest, shown, right, first_right)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infill_ls.prose_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="documents of prose (Markdown, plain text)")
    parser.add_argument("--per-file", type=int, default=20, metavar="N", help="cursors drawn per file (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed for drawing the cursors (default 0)")
    parser.add_argument("--language", default="markdown", help="the documents' language id (default markdown)")
    parser.add_argument("--model", type=Path, help="checkpoint directory whose tokenizer sizes the hole (default: "
                        "the embedded model)")
    parser.add_argument("--out", type=Path, metavar="PATH", help="write every case as JSON here")
    args = parser.parse_args(argv)
    if args.per_file < 1:
        print("prose_eval: --per-file must be at least 1", file=sys.stderr)
        return 2
    lookup = InfillLookup.read(args.model or default_model_dir())
    settings = Settings()
    rng = random.Random(args.seed)
    cases: list[ProseCase] = []
    for path in args.files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            print(f"prose_eval: {path}: cannot be read ({err})", file=sys.stderr)
            return 2
        found = cursors(text)
        for line_start, cursor in sorted(rng.sample(found, min(args.per_file, len(found)))):
            cases.append(run_case(lookup, settings, str(path), args.language, text, line_start, cursor))
    shown = [c for c in cases if c.shown is not None]
    right = sum(c.right for c in shown)
    print(f"cases {len(cases)} from {len(args.files)} files; shown {len(shown)}; right {right}; "
          f"first word right {sum(c.first_word_right for c in shown)}; shown and wrong {len(shown) - right}")
    if args.out is not None:
        args.out.write_text(json.dumps([asdict(c) for c in cases], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
