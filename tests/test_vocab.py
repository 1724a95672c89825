"""Tokenizer: byte-level BPE with fixed special ids and an exact round trip of code."""

from __future__ import annotations

import inspect
import json

import pytest

import engine.corpus
import engine.languages
from engine.vocab import BOS_ID, EOS_ID, PAD_ID, encode, load_tokenizer, round_trip_failures, train_tokenizer

TRICKY = [
    "def f(x):\n\treturn x\t# tab-indented\n",
    "if a:\r\n    b = 1\r\n",  # CRLF
    "s = 'héllo wörld — ∑ λ 日本語 🐍'\n",
    "trailing spaces   \n\n\n   \n",
    "x = '<eos>' + \"<pad>\" + '<bos>'\n",  # special-token text in code is ordinary text
    "  \u00a0nbsp and \u200bzero-width\n",
    "#include <stdio.h>\nint main(void) { return 0; }\n",
    "",
    "\n",
    "0x1F + 1_000_000 + 3.14e-10j\n",
]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    texts = [inspect.getsource(engine.corpus), inspect.getsource(engine.languages)] * 3
    tok = train_tokenizer(texts, vocab_size=600)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return load_tokenizer(path), path


def test_special_ids_and_size(tokenizer):
    tok, path = tokenizer
    assert tok.token_to_id("<pad>") == PAD_ID == 0
    assert tok.token_to_id("<eos>") == EOS_ID == 1
    assert tok.token_to_id("<bos>") == BOS_ID == 2
    assert tok.get_vocab_size() == 600
    data = json.loads(path.read_text())
    assert data["model"]["type"] == "BPE" and data["normalizer"] is None


def test_round_trip_exact(tokenizer):
    tok, _ = tokenizer
    assert round_trip_failures(tok, TRICKY) == 0
    for text in TRICKY:
        ids = encode(tok, text)
        assert PAD_ID not in ids and EOS_ID not in ids and BOS_ID not in ids, text
        assert tok.decode(ids, skip_special_tokens=False) == text


def test_merges_learned(tokenizer):
    tok, _ = tokenizer
    text = "def license_verdict(metadata) -> LicenseVerdict:\n"
    assert len(encode(tok, text)) < len(text.encode()) / 2


def test_a_bad_corpus_line_or_tokenizer_file_is_one_line_naming_it(tmp_path):
    from engine.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = json.dumps({"path": "a.py", "package": "a", "language": "python", "text": "x = 1\n"})
    (corpus / "train.jsonl").write_text(good + "\n" + good + "\n{not json\n")
    (corpus / "heldout.jsonl").write_text(good + "\n")
    with pytest.raises(engine.corpus.EngineError, match=r"train.jsonl:3: not a JSON document"):
        list(engine.corpus.read_documents(corpus / "train.jsonl"))
    assert main(["tokenizer", "--corpus", str(corpus), "--out", str(tmp_path / "tok.json"), "--vocab-size", "300"]) == 2
    assert not (tmp_path / "tok.json").exists()
    (corpus / "train.jsonl").write_text(good.replace('"text": "x = 1\\n"', '"text": 5') + "\n")
    with pytest.raises(engine.corpus.EngineError, match=r"train.jsonl:1: a corpus document needs string fields"):
        list(engine.corpus.read_documents(corpus / "train.jsonl"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(engine.corpus.EngineError, match=r"config.json: not a tokenizer.json"):
        load_tokenizer(tmp_path / "config.json")


def test_a_tokenizer_whose_ids_0_to_2_are_not_special_tokens_is_refused_for_training(tmp_path):
    # Samples are laid out with ids 0-2 as <pad>, <eos>, <bos>; here they would be '!', '"' and '#'.
    plain = train_tokenizer(["x = 1\n"] * 4, 300)
    plain.save(str(tmp_path / "plain.json"))
    from tokenizers import Tokenizer, models
    bare = Tokenizer(models.BPE(vocab={"!": 0, '"': 1, "#": 2}, merges=[]))
    bare.save(str(tmp_path / "bare.json"))
    load_tokenizer(tmp_path / "plain.json")
    with pytest.raises(engine.corpus.EngineError, match=r"bare.json: id 0 is the ordinary token '!'; training needs "
                                                        r"a special token there \(<pad>\)$"):
        load_tokenizer(tmp_path / "bare.json")


def test_an_out_path_that_is_a_file_is_one_line(tmp_path):
    import subprocess
    import sys

    taken = tmp_path / "taken"
    taken.write_text("")
    doc = {"path": "a.py", "package": "a", "language": "python", "text": "x = 1\n"}
    (tmp_path / "train.jsonl").write_text(json.dumps(doc) + "\n")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "pretokenize", "--corpus", str(tmp_path),
                           "--tokenizer", "engine/default_model/tokenizer.json", "--out", str(taken)],
                          capture_output=True, text=True, cwd=engine.corpus.Path(__file__).parent.parent)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"pretokenize: {taken}: File exists"


@pytest.mark.parametrize("argv", [
    ["corpus", "--heldout-fraction", "2"], ["corpus", "--near-dup-threshold", "0"], ["corpus", "--workers", "0"],
    ["pretokenize", "--workers", "-1"], ["bench", "--repeats", "0"], ["bench", "--threads", "-2"],
])
def test_a_number_out_of_range_is_refused_before_any_work(argv, capsys):
    from engine.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {argv[1]}: must be" in last, last
