"""Decoding a fill: the byte-level BPE writes a character a byte at a time, so a fill can stop inside one; what it
holds up to its last whole character is its text, not a replacement character for the bytes after it."""

import pytest

from engine.infill import DEFAULT_MODEL_DIR
from engine.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.from_file(DEFAULT_MODEL_DIR / "tokenizer.json")


@pytest.mark.parametrize("text", ['x = "你好"', 's = "👋🌍"', "名"])
def test_a_fill_that_stops_inside_a_character_ends_at_the_last_whole_one(tok, text):
    ids = tok.encode(text)
    for size in range(len(ids) + 1):
        decoded = tok.decode(ids[:size])
        assert "\ufffd" not in decoded
        assert text.startswith(decoded)
    # An end of fill after the broken character ends it there too.
    assert tok.decode([*tok.encode('"你')[:-1], tok.eos_id, *tok.encode("x")]) == '"'


def test_a_whole_replacement_character_the_model_writes_stays(tok):
    for text in ["\ufffd", 'bad = "\ufffd"', "a\ufffd\ufffd"]:
        assert tok.decode(tok.encode(text)) == text


def test_broken_bytes_inside_a_fill_are_left_to_the_caller(tok):
    # Only the end is cut: bytes the model broke off before more text stay a replacement character, which the
    # server drops (infill_ls.postprocess).
    broken = tok.encode("你")[:-1] + tok.encode('a"')
    assert tok.decode(broken) == '\ufffda"'
