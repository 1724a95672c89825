"""Ghost text in prose (a comment, a string's text): a fill that leaves a broken word is not shown while typing
(`infill_ls.prose`); words the shipped tokenizer holds whole, or that the file or a file beside it spells, are. The
server runs over stdio with the shipped model, whose fills in a comment were mostly broken words."""

from __future__ import annotations

import re

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from engine.infill_lookup import InfillLookup, default_model_dir
from engine.lookup import prose_keys
from infill_ls.completion import complete, from_the_file, readable
from infill_ls.prose import garbled, humps, in_prose, written_words
from infill_ls.settings import Settings
from infill_ls.suggestions import Suggestion
from lsp_support import WritesFills, capabilities, config, init_params, parsed_text, shown_while_typing

LOAD = '''import json


def load(path):
    # Read the settings file and return its JSON withou|
    with open(path) as f:
        return json.load(f)
'''


@pytest.fixture(scope="module")
def holds_word():
    return InfillLookup.read(default_model_dir()).tokenizer.holds_word


@pytest.mark.parametrize("before, fill, words", [
    ("# JSON withou", "rt and", ["withourt", "and"]),
    ("# JSON ", "without it", ["without", "it"]),
    ("# max_len", " is 3", ["is"]),  # the typed word is not the fill's: it begins with no letter
    ("# see v3", "2 docs", ["docs"]),
    ("# 読み込", "み", ["読み込み"]),
])
def test_the_words_a_fill_writes_are_the_one_it_completes_and_its_own(before, fill, words):
    assert written_words(before, fill) == words


@pytest.mark.parametrize("before, fill, after, broken", [
    ("# Read its JSON withou", "rt", "\n", True),
    ("# Read its JSON withou", "t", "\n", False),
    ("# Read the settings file and re", "adsual", "\n", True),
    ("# Read the settings file and re", "turn it", "\n", False),
    # A word the vocabulary lacks passes where the file spells it, before or after the cursor, in any case.
    ("# Frobn", "icate it", "\nfrobnicate(x)\n", False),
    ("FROBNICATE = 1\n# Frobn", "icate it", "\n", False),
    ("# Frobn", "icator it", "\nfrobnicate(x)\n", True),
    ("# see ", "xq or zv", "\n", False),  # two letters: as often an abbreviation as a word
    ("# 設定ファイルを読", "み込む", "\n", False),  # a phrase with no spaces is not judged
])
def test_a_fill_that_leaves_a_word_neither_the_vocabulary_nor_the_file_knows_is_garbled(
        holds_word, before, fill, after, broken):
    assert garbled(before, fill, after, holds_word) is broken


@pytest.mark.parametrize("before, fill, after, broken", [
    # In code, the words of the names a fill writes, split at `_` and case humps.
    ("class A:\n    def f(self):\n        ", "iftinue", "\n", True),
    ("_TELEMETRY_QUEUE = None\n", "_TEELEMETELEET", "\n", True),
    ("def f(values):\n    return ", "MergedLazValueValue", "\n", True),
    ("def f(values):\n    ", "total_size = sum(values)", "\n", False),
    ("function f(values) {\n  const ", "totalSize = 0;", "\n}\n", False),
    ("function f(values) {\n  const totalSi", "ze = 0;", "\n}\n", False),  # the name typed, completed
    ("class HTTPServer:\n    pass\n\nserver = ", "HTTPServer()", "\n", False),
    ("def f(values):\n    return ", "frobnicate(values)", "\n\ndef frobnicate(v): ...\n", False),
    # A word the file spells only inside a name, between its humps (`Lazy`), is spelled; a broken one is not.
    ("class AbstractLazyValue:\n    pass\n\nclass LazyKnownValue", "(AbstractLazyValue)", ":\n", False),
    ("class AbstractLazyValue:\n    pass\n\nclass KnownValue", "(AbstractLazyValue)", ":\n", False),
    ("class AbstractLazyValue:\n    pass\n\nclass KnownValue", "(AbstractLazValue)", ":\n", True),
])
def test_a_fill_that_writes_a_name_of_a_word_neither_the_vocabulary_nor_the_file_knows_is_garbled_in_code(
        holds_word, before, fill, after, broken):
    assert garbled(before, fill, after, holds_word, code=True) is broken


@pytest.mark.parametrize("fills, listed", [
    # Beside a readable fill, a broken name is not listed; alone, it is what the user asked for.
    ((["MergedLazValueValue"], ["merged"], ["sorted(values)"]), ["merged", "sorted(values)"]),
    ((["MergedLazValueValue"],), ["MergedLazValueValue"]),
])
def test_an_invoked_request_lists_no_broken_name_beside_a_readable_fill(fills, listed):
    text = "def f(values):\n    merged = list(values)\n    return \n"
    at = text.index("return ") + len("return ")
    shown = complete(WritesFills(*fills), parsed_text("python", text), at, Settings(file_lookup=False),
                     explicit=True, should_stop=lambda: False)
    assert sorted(s.text for s in shown) == sorted(listed)


@pytest.mark.parametrize("word, parts", [
    ("totalSize", ["total", "Size"]), ("HTTPServer", ["HTTP", "Server"]), ("getX", ["get", "X"]),
    ("TEELEMETELEET", ["TEELEMETELEET"]), ("Über", ["Über"]), ("parseÜberSicht", ["parse", "Über", "Sicht"]),
])
def test_a_name_splits_at_its_case_humps(word, parts):
    assert humps(word) == parts


def test_a_word_a_file_beside_spells_is_known(holds_word):
    assert garbled("# Frobn", "icate it", "\n", holds_word)
    assert not garbled("# Frobn", "icate it", "\n", holds_word, elsewhere=["def frobnicate(): ..."])


def test_prose_in_a_comment_or_a_string_keeps_the_words_and_drops_the_broken_ones(holds_word):
    engine = InfillLookup.read(default_model_dir())
    for marked in (LOAD, 'MESSAGE = "Read its JSON withou|"\n'):
        at = marked.index("|")
        parsed = parsed_text("python", marked.replace("|", "", 1))
        kept = readable(engine, parsed, [Suggestion(text, at, at, -0.1) for text in ("rtual", "t", "t it")])
        assert [s.text for s in kept] == ["t", "t it"]


@pytest.mark.parametrize("language_id, uri, marked, prose", [
    ("markdown", "file:///notes.md", "The model reaches an accuracy of|", True),
    ("git-commit", "file:///COMMIT_EDITMSG", "Fix the reader|", True),
    # Zed's names in lower case, eglot's major modes'.
    ("git commit", "file:///COMMIT_EDITMSG", "Fix the reader|", True),
    ("gfm", "file:///notes.md", "The model reaches an accuracy of|", True),
    ("org", "file:///notes.org", "The model reaches an accuracy of|", True),
    ("python.django", "file:///v.py", "x = 1|", False),  # code, between literals
    ("python", "file:///v.py", "x = 1  # the reader|", True),
    ("plaintext", "file:///v.py", "x = 1|", False),  # read as Python by its extension
    ("ruby", "file:///v.rb", "x = 1|", False),  # no grammar here: code all the same
])
def test_prose_is_a_comment_or_a_string_or_a_document_of_prose(language_id, uri, marked, prose):
    at = marked.index("|")
    assert in_prose(parsed_text(language_id, marked.replace("|", ""), uri), at) is prose


# What the shipped model wrote at the end of each comment before broken words were dropped: `withou` + `rtual`,
# `sett` + `h`, `re` + `adsual`, `Rea` + `t`; and the words a fill there may complete.
WORDS = {
    "# Read the settings file and return its JSON withou": {"without"},
    "# Read the sett": {"setting", "settings"},
    "# Read the settings file and re": {"read", "reads", "return", "returns", "reload", "rewrite", "retry"},
    "# Rea": {"read", "reads", "ready", "real", "really"},
}

pytestmark_lsp = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(), debounceMs=0, device="cpu"))
    yield
    await lsp_client.shutdown_session()


@pytestmark_lsp
@pytest.mark.parametrize("line", list(WORDS))
async def test_while_typing_a_comment_the_shipped_model_shows_no_broken_word(client, line):
    marked = LOAD.replace("# Read the settings file and return its JSON withou", line)
    shown = await shown_while_typing(client, f"file:///tmp/prose{len(line)}.py", "python", marked)
    typing = re.search(r"\w+$", line).group()
    for item in shown:
        assert (typing + re.match(r"\w*", item).group()).lower() in WORDS[line], (line, shown)


NOTES = """Meeting notes, 12 March

Attendees: Ana, Bo, Chen, Dara

1. Low-stock report
   Chen showed the new report. Everyone agreed that the threshold
   should be configurable per warehouse rather than global.

2. On-call
   Dara is on call next week. Escalations go to Bo.
   Bo will run the smoke tests on the staging servers.
"""


@pytest.mark.parametrize("language_id, line, shown", [
    # One word (`Dara`, ` is on call next week.`), the end of one (`Low-stock` from `...stock`), two words: no key.
    ("markdown", "Attendees: Ana, Bo, Chen, Dara", None),
    ("plaintext", "1. Low-stock report", None),
    ("markdown", "## Contributing", None),
    ("markdown", "   Chen showed", None),
    # Three words the notes have written before go on as they went on there.
    ("markdown", "   Ana said that Bo will run the smo", "ke tests on the staging servers."),
])
def test_in_a_document_of_prose_a_copy_needs_a_key_of_three_whole_words(language_id, line, shown):
    """The lookup's keys in prose are whole words, three or more (`engine.lookup.prose_keys`): the tail of another
    sentence after one word, or after the end of a word, was shown on most lines of a README."""
    text = NOTES + line + "\n"
    found = from_the_file(InfillLookup.read(default_model_dir()), parsed_text(language_id, text), len(text) - 1,
                          Settings(), should_stop=lambda: False)
    assert [s.text for s in found] == ([] if shown is None else [shown])


@pytest.mark.parametrize("before, keys", [
    ("Attendees: Ana, Bo, Chen, Dara", [" Ana, Bo, Chen, Dara", " Bo, Chen, Dara"]),
    ("Ana asked whether the smok", [" asked whether the smok", " whether the smok"]),
    ("## Contributing", []),
    ("see the docs", []),  # the first word has no space before it
    ("x " * 40 + "end", [("x " * 40 + "end")[-k:] for k in range(48, 7, -2)]),  # at most 48 characters
])
def test_prose_keys_are_whole_words_with_the_space_before_them(before, keys):
    assert [before[-k:] for k in prose_keys(before)] == keys


def test_prose_eval_scores_the_copies_shown_while_a_sentence_is_written(tmp_path):
    import json
    import subprocess
    import sys

    doc = tmp_path / "notes.md"
    doc.write_text(NOTES + "   Ana said that Bo will run the smoke tests on the staging servers.\n\n"
                   "```\nBo will run the smoke tests\n```\n", encoding="utf-8")
    out = tmp_path / "cases.json"
    result = subprocess.run([sys.executable, "-m", "infill_ls.prose_eval", str(doc), "--per-file", "100",
                             "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    cases = json.loads(out.read_text(encoding="utf-8"))
    assert not [c for c in cases if c["line"] == NOTES.count("\n") + 3]  # the code block is no prose
    (right,) = [c for c in cases if c["before"] == "   Ana said that Bo will run the"]
    assert right["shown"] == " smoke tests on the staging servers." and right["right"] and right["first_word_right"]
    shown = [c for c in cases if c["shown"] is not None]
    assert f"cases {len(cases)} from 1 files; shown {len(shown)}; right {sum(c['right'] for c in shown)};" \
        in result.stdout


def test_the_readable_checks_script_says_a_missing_or_wrong_input_in_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "prose_eval.py"
    words, split = tmp_path / "words", tmp_path / "heldout.jsonl"
    words.write_text("total\n")
    split.write_text('{"name": "a.py"}\n')
    for argv, said in [(["--words", str(tmp_path / "none")], f"No such file or directory: '{tmp_path / 'none'}'"),
                       (["--words", str(words), "--heldout", str(split)],
                        f"{split}: not a held-out split of {{path, language, text}} lines (KeyError('path'))")]:
        result = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and result.stderr.startswith("prose_eval: ") and said in result.stderr \
            and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("before, fill, after, broken", [
    # A name that says one of its humps twice over: the model stuttering, though each hump is a word.
    ("value = getItem(", "this.getSeSe", ")\n", True),
    ("module.exports.H", "ttpErrorError", "\n", True),
    ("parse(Fetch", "Request.JSONSeSe", ")\n", True),
    # Where the file spells it, it is the file's name; humps that differ are none.
    ("value = ", "errorError", "\nerrorError = 1\n", False),
    ("m.scroll", "ToTop()", "\n", False),
    ("x.", "setSetting(1)", "\n", False),
])
def test_a_name_that_stutters_is_garbled_in_code(holds_word, before, fill, after, broken):
    assert garbled(before, fill, after, holds_word, code=True) is broken
