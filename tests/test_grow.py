"""Growing a checkpoint deeper: the grown model computes what it did, loads from real files, and trains on."""

from __future__ import annotations

import inspect
import json

import pytest
import torch

import engine.canvas
import engine.grow
from engine.checkpoint import load_checkpoint
from engine.cli import main
from engine.dataset import pretokenize
from engine.grow import grow_model, layer_sources
from engine.model import DiffusionGemma
from engine.tiny import tiny_config, write_random_checkpoint
from engine.train import Trainer, TrainConfig
from engine.vocab import train_tokenizer

VOCAB = 512


@pytest.mark.parametrize("old, new, sources", [
    (4, 6, [0, 1, 1, 2, 3, 3]),  # the copies spread out, the last layer (full attention) last
    (4, 5, [0, 1, 2, 3, 3]),
    (2, 5, [0, 0, 1, 1, 1]),  # more copies than layers: the later ones take more
    (3, 3, [0, 1, 2]),
])
def test_each_new_layer_copies_the_one_before_it(old, new, sources):
    assert layer_sources(old, new) == sources


def test_fewer_layers_are_no_growth():
    with pytest.raises(ValueError, match="cannot grow 4 layers to 3"):
        layer_sources(4, 3)


def _random_model(seed: int = 0, **config) -> DiffusionGemma:
    model = DiffusionGemma(tiny_config(vocab_size=VOCAB, **config))
    model.init_weights(std=0.05, seed=seed)
    with torch.no_grad():
        for layer in model.layers:  # norms at 1 would hide a copy's norm left as it was
            for name, p in layer.named_parameters():
                if name.endswith("layernorm.weight"):
                    p.uniform_(0.5, 1.5)
    return model.eval()


def _outputs(model: DiffusionGemma, seed: int = 1) -> torch.Tensor:
    """Logits of one decoder pass over a random canvas after a random prompt, with self-conditioning."""
    gen = torch.Generator().manual_seed(seed)
    prompt = torch.randint(3, VOCAB, (2, 11), generator=gen)
    canvas = torch.randint(3, VOCAB, (2, 7), generator=gen)
    with torch.no_grad():
        cache = model.encode(prompt)
        first = model.decode(canvas, cache)
        logits = model.decode(canvas, cache, first)
    return logits


def test_the_grown_model_computes_what_the_checkpoint_did():
    model = _random_model(num_hidden_layers=3, layer_types=["sliding_attention", "sliding_attention",
                                                            "full_attention"])
    # A layer's constant output scale (the reference's checkpoints carry them) stays its own; a copy passes the
    # residual stream on unchanged.
    model.layers[2].layer_scalar.fill_(0.5)
    grown = grow_model(model, 5)
    assert grown.cfg.num_hidden_layers == 5
    assert grown.cfg.layer_types == ["sliding_attention", "sliding_attention", "sliding_attention",
                                     "full_attention", "full_attention"]
    assert sorted(grown.cfg.per_layer_config) == ["3", "4"]
    assert torch.equal(_outputs(model), _outputs(grown))
    # The copies are the layers they copy but for the two output norms: training has the copied features to scale.
    copy, source = grown.layers[4], model.layers[2]
    for name, p in copy.state_dict().items():
        if name in ("post_attention_layernorm.weight", "post_feedforward_layernorm.weight"):
            assert not p.any(), name
        elif name.endswith("layer_scalar"):
            assert torch.equal(p, torch.ones(1)), name
        else:
            assert torch.equal(p, source.state_dict()[name]), name
    assert torch.equal(grown.layers[3].layer_scalar, torch.full((1,), 0.5))


def test_grow_command_writes_a_checkpoint_that_loads_and_fills_as_before(tmp_path, capsys):
    source = write_random_checkpoint(tmp_path / "source", weight_std=0.05)
    (source / "training_data.json").write_text(json.dumps({"packages": ["corpus"], "unrecorded": False}))
    assert main(["grow", "--from", str(source), "--layers", "3", "--out", str(tmp_path / "grown")]) == 0
    said = capsys.readouterr().out
    assert f"grow: wrote {tmp_path / 'grown'}: 2 -> 3 layers (sources [0, 1, 1])" in said
    before = load_checkpoint(source, device="cpu", dtype="float32")
    after = load_checkpoint(tmp_path / "grown", device="cpu", dtype="float32")
    assert after.config.num_hidden_layers == 3
    assert torch.equal(_outputs(before.model), _outputs(after.model))
    assert (tmp_path / "grown" / "training_data.json").read_text() == (source / "training_data.json").read_text()
    assert (tmp_path / "grown" / "tokenizer.json").read_bytes() == (source / "tokenizer.json").read_bytes()


@pytest.mark.parametrize("layers, out_state, message", [
    (2, "new", "--layers 2: {source} has 2 layers already; give more"),
    (0, "new", "--layers 0: give a number of layers from 1 to 1000"),
    (3, "full", "--out {out}: exists and is not an empty folder; give a new one"),
])
def test_grow_refuses_in_one_line(tmp_path, capsys, layers, out_state, message):
    source = write_random_checkpoint(tmp_path / "source")
    out = tmp_path / "out"
    if out_state == "full":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    assert main(["grow", "--from", str(source), "--layers", str(layers), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"grow: {message.format(source=source, out=out)}\n"
    assert out_state == "full" or not out.exists()
    assert out_state != "full" or (out / "notes.txt").read_text() == "mine"


def test_a_grown_checkpoint_starts_training_where_its_source_was_and_its_copies_learn(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split, module in (("train", engine.canvas), ("heldout", engine.grow)):
        doc = {"path": split, "package": split, "language": "python", "text": inspect.getsource(module)}
        (corpus / f"{split}.jsonl").write_text(json.dumps(doc) + "\n")
    tok = train_tokenizer([inspect.getsource(engine.canvas), inspect.getsource(engine.grow)], vocab_size=VOCAB)
    tok.save(str(tmp_path / "tokenizer.json"))
    pretokenize(corpus, tmp_path / "tokenizer.json", tmp_path / "tokens", workers=1, log=lambda *_: None)
    source = write_random_checkpoint(tmp_path / "source", weight_std=0.05, canvas_length=16)
    (source / "tokenizer.json").write_bytes((tmp_path / "tokenizer.json").read_bytes())
    assert main(["grow", "--from", str(source), "--layers", "3", "--out", str(tmp_path / "grown")]) == 0

    def trainer(start, out):
        cfg = TrainConfig(data=str(tmp_path / "tokens"), tokenizer=str(tmp_path / "tokenizer.json"), out=str(out),
                          init_from=str(start), steps=3, batch_size=4, prefix_budgets=[16, 32], warmup_steps=1,
                          lr=3e-3, device="cpu", log_every=1, eval_every=3, eval_batches=1, save_every_s=1e9)
        return Trainer(cfg, log=lambda *_: None)

    grown = trainer(tmp_path / "grown", tmp_path / "tuned-grown")
    # The held-out batches and their noise are fixed: the same function scores the same, to the bit.
    assert grown.evaluate() == trainer(source, tmp_path / "tuned-source").evaluate()
    grown.run()
    tuned = load_checkpoint(tmp_path / "tuned-grown" / "last", device="cpu", dtype="float32").model
    assert tuned.layers[2].post_attention_layernorm.weight.abs().sum() > 0
    assert tuned.layers[2].post_feedforward_layernorm.weight.abs().sum() > 0


def test_a_grow_that_fails_midway_leaves_no_part_of_a_checkpoint(tmp_path, capsys, monkeypatch):
    source = write_random_checkpoint(tmp_path / "source")

    def full_disk(directory, *args, **kwargs):
        (directory / "config.json").parent.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text("{")
        raise OSError(28, "No space left on device", str(directory / "model.safetensors"))

    monkeypatch.setattr(engine.grow, "save_checkpoint", full_disk)
    (tmp_path / "out").mkdir()  # an empty folder given as --out stays as it was
    assert main(["grow", "--from", str(source), "--layers", "3", "--out", str(tmp_path / "out")]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "source"] and not any((tmp_path / "out").iterdir())
