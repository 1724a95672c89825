"""The config's pad/void, EOS and BOS ids must be the tokenizer's special tokens: the infill format strips voids and
ends a fill at EOS, so an ordinary token there would be cut out of every fill that writes it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from tokenizers import pre_tokenizers, trainers

from engine.checkpoint import load_checkpoint
from engine.config import ModelConfig
from engine.errors import CheckpointError
from engine.infill import DEFAULT_MODEL_DIR
from engine.tiny import SAMPLE, write_random_checkpoint
from engine.tokenizer import Tokenizer
from engine.vocab import new_tokenizer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "m")


@pytest.fixture
def copy(model_dir, tmp_path):
    return shutil.copytree(model_dir, tmp_path / "copy")


def without_specials(directory) -> None:
    """A byte-level BPE with no <pad>/<eos>/<bos>: ids 0, 1, 2 are the byte tokens '!', '"', '#'."""
    tok = new_tokenizer()
    tok.train_from_iterator([SAMPLE] * 4, trainers.BpeTrainer(
        vocab_size=300, min_frequency=1, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tok.save(str(directory / "tokenizer.json"))


def test_a_tokenizer_whose_pad_id_is_an_ordinary_token_is_refused_in_one_line(copy):
    without_specials(copy)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(copy, device="cpu", dtype="float32")
    assert str(caught.value) == (f"{copy / 'tokenizer.json'}: pad_token_id 0 is the ordinary token '!', "
                                 "not a special token")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "generate", "--model", str(copy), "--device", "cpu",
                           "--prompt", "x", "--max-new-tokens", "4"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [f"generate: {caught.value}"]


@pytest.mark.parametrize("key, value, expected", [
    ("eos_token_id", 40, "eos_token_id 40 is the ordinary token 'F', not a special token"),
    ("bos_token_id", 7, "bos_token_id 7 is the ordinary token '%', not a special token"),
    # The tokenizer has 499 tokens, the model's vocabulary 512 (a padded embedding).
    ("bos_token_id", 505, "bos_token_id 505 is not a token of this tokenizer"),
])
def test_each_id_is_named_by_its_config_key(copy, key, value, expected):
    config = json.loads((copy / "config.json").read_text())
    config["text_config"][key] = value
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(copy, device="cpu", dtype="float32")
    assert str(caught.value) == f"{copy / 'tokenizer.json'}: {expected}"


def test_a_special_token_that_is_only_added_text_is_refused(copy):
    # An added token that is not special is matched in code as text: a file spelling "<eos>" would end its fill.
    tok = json.loads((copy / "tokenizer.json").read_text())
    tok["added_tokens"][1]["special"] = False
    (copy / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(CheckpointError, match="eos_token_id 1 is the ordinary token '<eos>', not a special token"):
        load_checkpoint(copy, device="cpu", dtype="float32")


def test_the_tokenizers_the_project_makes_and_ships_still_load(tmp_path, model_dir):
    cfg = ModelConfig.load(DEFAULT_MODEL_DIR / "config.json")
    shipped = Tokenizer.from_file(DEFAULT_MODEL_DIR / "tokenizer.json", cfg.pad_token_id, cfg.eos_token_id,
                                  cfg.bos_token_id, vocab_size=cfg.vocab_size)
    assert shipped.special_tokens() == {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"}
    # `infill-engine tokenizer`, as a user trains one.
    doc = {"path": "a.py", "package": "a", "language": "python", "text": SAMPLE}
    for split in ("train", "heldout"):
        (tmp_path / f"{split}.jsonl").write_text(json.dumps(doc) + "\n")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "tokenizer", "--corpus", str(tmp_path), "--out",
                           str(tmp_path / "tokenizer.json"), "--vocab-size", "300"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert Tokenizer.from_file(tmp_path / "tokenizer.json").bos_id == 2
    # A Gemma-style layout: the specials and more (<unk>, <mask>, turn markers) in added_tokens, all special.
    gemma = tmp_path / "gemma"
    shutil.copytree(model_dir, gemma)
    tok = json.loads((gemma / "tokenizer.json").read_text())
    tok["added_tokens"] += [{"id": 3 + n, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                             "normalized": False, "special": True}
                            for n, c in enumerate(["<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"])]
    (gemma / "tokenizer.json").write_text(json.dumps(tok))
    assert load_checkpoint(gemma, device="cpu", dtype="float32").tokenizer.eos_id == 1
