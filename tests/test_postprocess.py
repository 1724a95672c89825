"""Fills the editor is not shown: one holding a replacement character (U+FFFD) the text around the hole has none
of is bytes the model broke off a character, which the editor would show as `�`."""

import pytest

from infill_ls.context import WindowBudget, build_context
from infill_ls.documents import DocumentStore
from infill_ls.postprocess import postprocess, postprocess_all
from infill_ls.syntax import SyntaxIndex

CHARS = WindowBudget(prefix_tokens=10_000, suffix_tokens=10_000, count_tokens=len, chars_per_token=1.0)


def context(marked: str):
    offset = marked.index("|")
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open("file:///greet.py", "python", 1, marked.replace("|", "", 1))
    index.opened(snapshot)
    return build_context(index.parse(snapshot), offset, CHARS)


@pytest.mark.parametrize("fill", ["\ufffd", 'h\ufffd"', ' 세\ufffd\ufffd",', "f'{lang}\ufffd'"])
def test_a_fill_with_a_replacement_character_the_file_lacks_is_dropped(fill):
    ctx = context('GREETINGS = {"zh": "你好", "emoji": "👋"}\nmessage = GREETINGS.get(lang, |)\n')
    assert postprocess(ctx, fill) is None
    assert postprocess_all(ctx, [fill, '"Hello"']) == ['"Hello"']


def test_a_replacement_character_in_what_the_hole_cuts_off_is_no_matter():
    ctx = context('GREETINGS = {"zh": "你好", "emoji": "👋"}\nmessage = GREETINGS.get(lang, |)\n')
    assert postprocess(ctx, '"Hello")\n\ufffd\n') == '"Hello"'


def test_a_file_that_holds_replacement_characters_gets_fills_with_them():
    ctx = context('BROKEN = "\ufffd"\nmessage = decoded.replace(|)\n')
    assert postprocess(ctx, '"\ufffd", "?"') == '"\ufffd", "?"'
