"""Our network and sampler against the reference implementation (transformers), on tiny random checkpoints that the
reference itself writes: two router widths, both layer kinds, vocab 512, a tiny vision tower in the file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

transformers = pytest.importorskip("transformers")
from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion  # noqa: E402
from transformers.cache_utils import DynamicCache  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from engine.checkpoint import load_checkpoint  # noqa: E402
from engine.config import GenerationConfig  # noqa: E402
from engine.generate import generate  # noqa: E402
from engine.tiny import SAMPLE  # noqa: E402
from engine.vocab import train_tokenizer  # noqa: E402

VOCAB = 512


def reference_config(num_experts: int, top_k: int) -> DiffusionGemmaConfig:
    text = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16, global_head_dim=32, num_global_key_value_heads=1,
                sliding_window=8, num_experts=num_experts, top_k_experts=top_k, moe_intermediate_size=32,
                layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"])
    vision = dict(model_type="gemma4_vision", hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=2, head_dim=16)
    return DiffusionGemmaConfig(text_config=text, vision_config=vision, canvas_length=8)


def write_reference(path, num_experts, top_k, seed=0, shard=None):
    torch.manual_seed(seed)
    ref = DiffusionGemmaForBlockDiffusion(reference_config(num_experts, top_k))
    with torch.no_grad():
        # Larger weights than the default init: logits far from uniform, so any mistake shows.
        for name, p in ref.named_parameters():
            if p.ndim >= 2:
                p.mul_(4.0)
            elif "vision" not in name:
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
        for name, b in ref.named_buffers():
            if name.endswith("layer_scalar"):
                b.copy_(0.5 + torch.rand_like(b))
    kwargs = {"max_shard_size": shard} if shard else {}
    ref.save_pretrained(path, **kwargs)
    train_tokenizer([SAMPLE] * 4, vocab_size=VOCAB, min_frequency=1).save(str(path / "tokenizer.json"))
    return ref.eval()


@pytest.fixture(scope="module", params=[(4, 2), (8, 3)], ids=["experts4-top2", "experts8-top3"])
def pair(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("ref")
    ref = write_reference(path, *request.param)
    ours = load_checkpoint(path, device="cpu", dtype="float32")
    return ref, ours, path


def reference_logits(ref, prompt, canvas, sc=None, cache=None):
    cache = cache if cache is not None else DynamicCache(config=ref.config.get_text_config(decoder=True))
    with torch.no_grad():
        out = ref(input_ids=prompt, past_key_values=cache, decoder_input_ids=canvas, self_conditioning_logits=sc)
    return out.logits, cache


def test_vision_tower_is_in_the_file_and_skipped(pair):
    _, ours, path = pair
    names = load_file(str(path / "model.safetensors")).keys()
    assert any(n.startswith("model.encoder.vision_tower.") for n in names)
    assert not any("vision" in n for n in ours.model.state_dict())


def test_logits_match_with_and_without_self_conditioning(pair):
    ref, ours, _ = pair
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, VOCAB, (2, 13), generator=g)  # longer than the sliding window
    canvas = torch.randint(0, VOCAB, (2, 8), generator=g)
    expected, _ = reference_logits(ref, prompt, canvas)
    with torch.no_grad():
        got = ours.model.decode(canvas, ours.model.encode(prompt))
    assert expected.abs().max() > 1.0  # the check has teeth
    assert (got - expected).abs().max() <= 1e-4

    sc = torch.randn(2, 8, VOCAB, generator=g) * 5
    expected, _ = reference_logits(ref, prompt, canvas, sc)
    with torch.no_grad():
        got = ours.model.decode(canvas, ours.model.encode(prompt), self_conditioning=sc)
    assert (got - expected).abs().max() <= 1e-4


def test_second_canvas_after_the_first_matches(pair):
    ref, ours, _ = pair
    g = torch.Generator().manual_seed(2)
    prompt = torch.randint(0, VOCAB, (1, 11), generator=g)
    first = torch.randint(0, VOCAB, (1, 8), generator=g)
    second = torch.randint(0, VOCAB, (1, 8), generator=g)
    cache = DynamicCache(config=ref.config.get_text_config(decoder=True))
    with torch.no_grad():
        ref.model.encoder(input_ids=prompt, past_key_values=cache)
        ref.model.encoder(input_ids=first, past_key_values=cache)
        expected = ref(past_key_values=cache, decoder_input_ids=second).logits
        mine = ours.model.encode(first, ours.model.encode(prompt))
        got = ours.model.decode(second, mine)
    assert (got - expected).abs().max() <= 1e-4


def test_sharded_checkpoint_loads(tmp_path):
    write_reference(tmp_path, 4, 2, seed=3, shard="100KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1
    ours = load_checkpoint(tmp_path, device="cpu", dtype="float32")
    single = DiffusionGemmaForBlockDiffusion.from_pretrained(tmp_path).eval()
    assert_same_logits(single, ours, torch.arange(3, 12)[None], torch.arange(20, 28)[None])


def assert_same_logits(ref, ours, prompt, canvas):
    expected, _ = reference_logits(ref, prompt, canvas)
    with torch.no_grad():
        got = ours.model.decode(canvas, ours.model.encode(prompt))
    assert (got - expected).abs().max() <= 1e-4


def test_a_deep_checkpoint_with_zero_padded_layer_keys_matches(tmp_path):
    # The reference writes per_layer_config keys zero-padded ("05", "11" of 12 layers, as of the 26B model's 30);
    # read as text they matched no layer, and the full layers were built with sliding shapes.
    text = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=12, num_attention_heads=4,
                num_key_value_heads=2, head_dim=8, global_head_dim=16, num_global_key_value_heads=1,
                sliding_window=8, num_experts=2, top_k_experts=1, moe_intermediate_size=16)
    torch.manual_seed(5)
    ref = DiffusionGemmaForBlockDiffusion(DiffusionGemmaConfig(text_config=text, canvas_length=8)).eval()
    ref.save_pretrained(tmp_path)
    train_tokenizer([SAMPLE] * 4, vocab_size=VOCAB, min_frequency=1).save(str(tmp_path / "tokenizer.json"))
    assert sorted(json.loads((tmp_path / "config.json").read_text())["text_config"]["per_layer_config"]) == \
        ["05", "11"]
    ours = load_checkpoint(tmp_path, device="cpu", dtype="float32")
    assert [spec.head_dim for spec in ours.config.layers] == [8] * 5 + [16] + [8] * 5 + [16]
    assert_same_logits(ref, ours, torch.arange(3, 14)[None], torch.arange(20, 28)[None])


def test_fields_a_config_leaves_out_are_read_as_the_reference_reads_them(tmp_path):
    from engine.config import ModelConfig

    text = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=6, num_attention_heads=4,
                num_key_value_heads=2, head_dim=8, sliding_window=8, num_experts=2, top_k_experts=1,
                moe_intermediate_size=16)
    DiffusionGemmaConfig(text_config=text).save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    for key in ("canvas_length",):
        data.pop(key)
    for key in ("per_layer_config", "layer_types", "final_logit_softcapping", "max_position_embeddings"):
        data["text_config"].pop(key, None)
    (tmp_path / "config.json").write_text(json.dumps(data))
    reference = DiffusionGemmaConfig.from_pretrained(tmp_path)
    ours = ModelConfig.load(tmp_path / "config.json")
    assert ours.canvas_length == reference.canvas_length == 256
    assert ours.layer_types == reference.text_config.layer_types
    ref_layers = reference.text_config.per_layer_config
    assert [(s.head_dim, s.num_kv_heads) for s in ours.layers] == \
        [(layer.head_dim, layer.num_key_value_heads) for layer in ref_layers]
    assert ours.final_logit_softcapping == 30.0 and ours.max_position_embeddings == 131_072


def test_logits_cli_writes_the_reference_numbers(pair, tmp_path):
    ref, _, path = pair
    prompt, canvas = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [40, 41, 42, 43, 44, 45, 46, 47]
    sc = torch.randn(8, VOCAB) * 3
    save_file({"logits": sc}, str(tmp_path / "sc.safetensors"))
    out = tmp_path / "logits.safetensors"
    subprocess.run([sys.executable, "-m", "engine.cli", "logits", "--model", str(path),
                    "--prompt-ids", ",".join(map(str, prompt)), "--canvas-ids", ",".join(map(str, canvas)),
                    "--self-conditioning", str(tmp_path / "sc.safetensors"), "--out", str(out)], check=True)
    got = load_file(str(out))["logits"]
    expected, _ = reference_logits(ref, torch.tensor([prompt]), torch.tensor([canvas]), sc[None])
    assert got.shape == (8, VOCAB) and got.dtype == torch.float32
    assert (got - expected[0]).abs().max() <= 1e-4


class ReferenceNetwork:
    """The reference network behind our model's interface, so our sampler loop can run on its logits.

    Two implementations' float32 logits differ in the last bit now and then, and self-conditioning feeds each step's
    logits into the next, so seeded generations of two different networks drift apart after some steps whatever the
    sampler. Driving our loop with the reference's own network isolates the sampler: then every random draw, every
    acceptance and every token must be the same.
    """

    def __init__(self, ref, ours_model):
        self.ref = ref
        self.cfg = ours_model.cfg
        self.device = torch.device("cpu")
        self.dtype = torch.float32

    class Cache:
        def __init__(self, dc, batch):
            self.dc, self.batch_size = dc, batch

    def encode(self, ids, cache=None):
        dc = cache.dc if cache is not None else DynamicCache(config=self.ref.config.get_text_config(decoder=True))
        self.ref.model.encoder(input_ids=ids, past_key_values=dc)
        return self.Cache(dc, ids.shape[0])

    def decode(self, canvas, cache, self_conditioning=None, sc_mask=None):
        return self.ref(past_key_values=cache.dc, decoder_input_ids=canvas,
                        self_conditioning_logits=self_conditioning).logits


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multi_canvas_generation_matches_reference_token_for_token(pair, seed):
    ref, ours, _ = pair
    prompt = torch.randint(3, VOCAB, (3, 11), generator=torch.Generator().manual_seed(seed))
    eos = int(prompt[0, 0])  # a token the model is likely to produce somewhere
    with torch.no_grad():
        torch.manual_seed(seed)
        expected = ref.generate(prompt, max_new_tokens=32, eos_token_id=eos, pad_token_id=0)
        gen = GenerationConfig(max_new_tokens=32, eos_token_id=eos, pad_token_id=0)
        got = generate(ReferenceNetwork(ref, ours.model), prompt, gen, seed=seed)
    assert torch.equal(got.sequences, expected.sequences)
    assert torch.allclose(got.tokens_per_forward, expected.tokens_per_forward.float())


def test_every_eos_id_a_checkpoint_lists_ends_the_output_as_in_the_reference(pair, tmp_path):
    """An instruction-tuned checkpoint lists its end of turn beside EOS (generation_config `[1, 106, 50]`)."""
    import shutil

    ref, ours, path = pair
    prompt = torch.randint(3, VOCAB, (3, 11), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        first = generate(ReferenceNetwork(ref, ours.model), prompt,
                         GenerationConfig(max_new_tokens=8, eos_token_id=None, pad_token_id=0), seed=4).new_tokens
    # A token each row writes in its first canvas, so that every row stops there.
    stops = list(dict.fromkeys([1, int(first[0, 3]), int(first[1, 5]), int(first[2, 2])]))
    copy = tmp_path / "chat"
    shutil.copytree(path, copy)
    config = json.loads((copy / "config.json").read_text())
    config["eos_token_id"] = stops[:2]
    (copy / "config.json").write_text(json.dumps(config))
    (copy / "generation_config.json").write_text(json.dumps({"eos_token_id": stops, "pad_token_id": 0}))
    loaded = load_checkpoint(copy, device="cpu", dtype="float32")
    assert loaded.generation.eos_token_ids == stops and loaded.tokenizer.stop_ids == set(stops)
    assert loaded.config.eos_token_ids == stops[:2]
    with torch.no_grad():
        torch.manual_seed(4)
        expected = ref.generate(prompt, max_new_tokens=32, eos_token_id=stops, pad_token_id=0)
        got = generate(ReferenceNetwork(ref, ours.model), prompt, loaded.generation, seed=4)
    assert torch.equal(got.sequences, expected.sequences)
    assert got.sequences.shape[1] == prompt.shape[1] + 8  # every row stopped in the first canvas
    # The reply ends at the first of them, and saving keeps the list.
    assert loaded.tokenizer.strip([5, 6, stops[1], 7]) == [5, 6]
    assert loaded.generation.to_hf()["eos_token_id"] == stops
    assert loaded.config.to_hf()["text_config"]["eos_token_id"] == stops[:2]


def test_our_network_follows_the_reference_until_rounding_drift(pair):
    """With our own network the first steps still agree token for token (the drift above comes later)."""
    ref, ours, _ = pair
    prompt = torch.randint(3, VOCAB, (2, 11), generator=torch.Generator().manual_seed(5))
    gen = GenerationConfig(max_new_tokens=8, max_denoising_steps=2, eos_token_id=None, pad_token_id=None)
    with torch.no_grad():
        torch.manual_seed(5)
        expected = ref.generate(prompt, max_new_tokens=8, max_denoising_steps=2)
        got = generate(ours.model, prompt, gen, seed=5)
    assert torch.equal(got.sequences, expected.sequences)


def test_fixed_steps_bench_times_ours_beside_the_reference(tmp_path):

    config = tmp_path / "config.json"
    config.write_text(json.dumps(reference_config(4, 2).to_dict()))
    result = subprocess.run([sys.executable, "-m", "engine.cli", "bench", "--config", str(config), "--fixed-steps",
                             "2", "--repeats", "1", "--warmup", "0", "--reference", "--json", "--device", "cpu"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["ours_tokens_per_s"] > 0 and figures["reference_tokens_per_s"] > 0
    assert figures["speedup_vs_reference"] == pytest.approx(
        figures["ours_tokens_per_s"] / figures["reference_tokens_per_s"])


@pytest.mark.parametrize("k_eq_v", [None, True, False])
def test_full_layer_head_counts_follow_the_reference_config(k_eq_v):
    from engine.config import ModelConfig

    text = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                head_dim=16, global_head_dim=32, num_global_key_value_heads=1, num_experts=4, top_k_experts=2,
                moe_intermediate_size=32, layer_types=["sliding_attention", "full_attention"])
    if k_eq_v is not None:
        text["attention_k_eq_v"] = k_eq_v
    raw = {"architectures": ["DiffusionGemmaForBlockDiffusion"], "model_type": "diffusion_gemma", "text_config": text}
    ours = ModelConfig.from_hf(raw).layer(1)
    ref = DiffusionGemmaConfig(text_config=dict(text)).text_config.per_layer_config[1]
    assert (ours.head_dim, ours.num_kv_heads) == (ref.head_dim, ref.num_key_value_heads)


def test_proportional_rope_factor_scales_frequencies_as_in_the_reference(tmp_path):
    """A config that stretches the full layers' RoPE (`factor`) gives the reference's logits, not the unstretched."""

    path = tmp_path / "ref"
    ref = write_reference(path, 4, 2)
    config = json.loads((path / "config.json").read_text())
    config["text_config"]["rope_parameters"]["full_attention"]["factor"] = 8.0
    (path / "config.json").write_text(json.dumps(config))
    stretched = DiffusionGemmaForBlockDiffusion.from_pretrained(path).eval()
    ours = load_checkpoint(path, device="cpu", dtype="float32")
    g = torch.Generator().manual_seed(2)
    prompt = torch.randint(0, VOCAB, (1, 13), generator=g)
    canvas = torch.randint(0, VOCAB, (1, 8), generator=g)
    expected, _ = reference_logits(stretched, prompt, canvas)
    unstretched, _ = reference_logits(ref, prompt, canvas)
    with torch.no_grad():
        got = ours.model.decode(canvas, ours.model.encode(prompt))
    assert (expected - unstretched).abs().max() > 1e-2  # the factor matters here
    assert (got - expected).abs().max() <= 1e-4
