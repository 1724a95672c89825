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


def _wrapped(inner) -> Tokenizer:
    return Tokenizer(inner)


def test_the_longest_tokens_characters_bound_a_texts_tokens_only_where_every_character_reaches_the_model():
    # Where it holds, a text of n characters has at least n / it tokens: the embedded byte-level BPE's.
    from tokenizers import AddedToken, Tokenizer as HF, models, pre_tokenizers

    assert Tokenizer.from_file(DEFAULT_MODEL_DIR / "tokenizer.json").longest_token_chars == 43
    bpe = HF(models.BPE({"a": 0, "b": 1, "ab": 2, "<unk>": 3}, [("a", "b")], unk_token="<unk>"))
    assert _wrapped(bpe).longest_token_chars == 5  # `<unk>`: an unknown character is a token of its own
    # Each of these writes one token for a run of any length, or drops characters: no bound, and a long selection is
    # counted, not refused by its length.
    unigram = HF(models.Unigram([("<unk>", 0.0), ("a", -1.0), ("ab", -2.0)], 0, False))
    assert len(unigram.encode("z" * 500).ids) == 1 and _wrapped(unigram).longest_token_chars is None
    words = HF(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    assert len(words.encode("a" + " " * 200 + "a").ids) == 2 and _wrapped(words).longest_token_chars is None
    spaced = HF(models.BPE({"a": 0, "<unk>": 1}, [], unk_token="<unk>"))
    spaced.pre_tokenizer = pre_tokenizers.Whitespace()
    assert _wrapped(spaced).longest_token_chars is None
    stripping = HF(models.BPE({"a": 0, "<unk>": 1}, [], unk_token="<unk>"))
    stripping.add_special_tokens([AddedToken("<sep>", lstrip=True, rstrip=True)])
    assert _wrapped(stripping).longest_token_chars is None
