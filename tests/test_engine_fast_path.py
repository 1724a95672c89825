"""Without gradients (every fill) the network skips work whose result is exactly zero or feeds nothing; with them
(training) it runs all of it. Both ways must give the same cache and tokens, and logits to float rounding: checked
here on a tiny random checkpoint, along with the rewritten pieces (norm, rotary embedding, experts, logit cap) against
their plain forms."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engine import canvas as canvases
from engine.checkpoint import load_checkpoint
from engine.generate import denoise, make_generator
from engine.model import RMSNorm, apply_rope, rope_cos_sin, rope_inv_freq
from engine.tiny import write_random_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    # Larger weights than a fresh init: logits far from uniform, so a wrong position or row shows.
    path = write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model", seed=5, weight_std=0.5)
    return load_checkpoint(path, device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def model(checkpoint):
    return checkpoint.model


def prompt_ids(checkpoint, text="def area(width, height):\n    return width * height\n\n\nclass Box:\n"):
    tok = checkpoint.tokenizer
    ids = [tok.bos_id] + tok.encode(text)
    # Longer than the tiny model's sliding window, so the decoder's window cut is in play.
    assert len(ids) > checkpoint.config.sliding_window
    return torch.tensor([ids])


def calls_of(module, run) -> list[tuple[int, ...]]:
    """The input shapes `module` is called with while `run` runs."""
    shapes = []
    handle = module.register_forward_hook(lambda _m, inputs, _out: shapes.append(tuple(inputs[0].shape)))
    try:
        run()
    finally:
        handle.remove()
    return shapes


def holes(B=3, L=12) -> torch.Tensor:
    at = torch.zeros(B, L, dtype=torch.bool)
    at[0, :4], at[1, 2:9], at[2, 5] = True, True, True  # different columns per row, one lone hole
    return at


def test_the_encoders_last_layer_gives_its_keys_and_values_and_nothing_else(checkpoint, model):
    ids = prompt_ids(checkpoint)
    last_router = model.layers[-1].router
    with torch.inference_mode():
        routed = calls_of(last_router, lambda: model.encode(ids))
        trimmed = model.encode(ids)
    with torch.enable_grad():
        plain = model.encode(ids)
    assert routed == []
    for a, b in zip(trimmed.keys + trimmed.values, plain.keys + plain.values, strict=True):
        assert torch.equal(a, b)
    # Training still runs every router: its load-balancing term is taken as they run.
    with torch.enable_grad():
        assert calls_of(last_router, lambda: model.encode(ids)) == [(ids.shape[1], model.cfg.hidden_size)]


@pytest.mark.parametrize("with_sc", [False, True], ids=["first pass", "self-conditioned"])
def test_a_pass_at_holes_runs_the_last_layer_and_self_conditioning_only_there(checkpoint, model, with_sc):
    cache = model.encode(prompt_ids(checkpoint))
    at = holes()
    canvas = torch.randint(3, model.cfg.vocab_size, at.shape, generator=torch.Generator().manual_seed(0))
    N, V, H = int(at.sum()), model.cfg.vocab_size, model.cfg.hidden_size
    sc = torch.randn(N, V, generator=torch.Generator().manual_seed(1)) * 4 if with_sc else None

    def run():
        return model.decode(canvas, cache, sc, at=at)

    with torch.inference_mode():
        last = calls_of(model.layers[-1].router, run)
        conditioned = calls_of(model.self_conditioning.pre_norm, run)
        trimmed = run()
    with torch.enable_grad():
        plain = run()
        assert calls_of(model.layers[-1].router, run) == [(at.numel(), H)]
    assert last == [(N, H)]
    assert conditioned == ([(N, H)] if with_sc else [])
    torch.testing.assert_close(trimmed, plain, rtol=0, atol=1e-5)
    assert torch.equal(trimmed.argmax(-1), plain.argmax(-1))


def test_rows_that_self_conditioning_turns_off_are_the_same_either_way(checkpoint, model):
    cache = model.encode(prompt_ids(checkpoint))
    at = holes()
    canvas = torch.randint(3, model.cfg.vocab_size, at.shape, generator=torch.Generator().manual_seed(2))
    sc = torch.randn(int(at.sum()), model.cfg.vocab_size, generator=torch.Generator().manual_seed(3)) * 4
    sc_mask = torch.tensor([True, False, True])
    with torch.inference_mode():
        trimmed = model.decode(canvas, cache, sc, sc_mask=sc_mask, at=at)
        none = model.decode(canvas, cache, at=at)
    with torch.enable_grad():
        plain = model.decode(canvas, cache, sc, sc_mask=sc_mask, at=at)
    torch.testing.assert_close(trimmed, plain, rtol=0, atol=1e-5)
    row_of = at.nonzero()[:, 0]
    # The row turned off is the pass without self-conditioning; the others are not.
    torch.testing.assert_close(trimmed[row_of == 1], none[row_of == 1], rtol=0, atol=1e-5)
    assert not torch.allclose(trimmed[row_of == 0], none[row_of == 0], atol=1e-3)


def test_a_pass_asked_for_no_logits_gives_none(checkpoint, model):
    cache = model.encode(prompt_ids(checkpoint))
    canvas = torch.randint(3, model.cfg.vocab_size, (2, 8), generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        assert model.decode(canvas, cache, at=torch.zeros(2, 8, dtype=torch.bool)).shape == (0, model.cfg.vocab_size)


def test_denoising_writes_the_same_tokens_either_way(checkpoint, model):
    tok = checkpoint.tokenizer
    suffix = tok.encode("\n\n\nprint(area(2, 3))\n")
    canvas = canvases.with_holes([suffix], [4, 8, 8], tok.eos_id, tok.void_id, 12)
    gen = checkpoint.generation
    ids = prompt_ids(checkpoint)

    def steps():
        cache = model.encode(ids)
        return [(s.current.clone(), s.argmax.clone(), s.finished.clone(), s.hole_logits.clone())
                for s in denoise(model, cache, canvas, gen, make_generator(0, model.device))]

    with torch.inference_mode():
        trimmed = steps()
    with torch.enable_grad():
        plain = steps()
    assert len(trimmed) == len(plain) > 1
    for (cur, arg, fin, logits), (cur2, arg2, fin2, logits2) in zip(trimmed, plain):
        assert torch.equal(cur, cur2) and torch.equal(arg, arg2) and torch.equal(fin, fin2)
        torch.testing.assert_close(logits, logits2, rtol=0, atol=1e-4)


@pytest.mark.parametrize("shape", [(3, 12, 64), (2, 5, 4, 16), (7, 64)])
@pytest.mark.parametrize("with_scale", [True, False])
def test_the_norm_in_one_call_is_the_plain_norm_to_the_bit(shape, with_scale):
    g = torch.Generator().manual_seed(0)
    norm = RMSNorm(shape[-1], 1e-6, with_scale=with_scale)
    if with_scale:
        with torch.no_grad():
            norm.weight.copy_(1 + 0.3 * torch.randn(shape[-1], generator=g))
    for scale in (1e-3, 1.0, 1e3):
        x = torch.randn(*shape, generator=g) * scale
        with torch.no_grad():
            fast = norm(x)
        with torch.enable_grad():
            plain = norm(x)
        assert torch.equal(fast, plain)


@pytest.mark.parametrize("kind", ["sliding_attention", "full_attention"])
def test_rope_with_the_sign_in_its_table_is_rotate_half_to_the_bit(model, kind):
    spec = next(s for s in model.cfg.layers if s.kind == kind)
    inv = rope_inv_freq(spec)
    positions = torch.arange(37, 37 + 9)
    x = torch.randn(2, 9, 3, spec.head_dim, generator=torch.Generator().manual_seed(0)) * 3
    freqs = positions[:, None].float() * inv
    emb = torch.cat([freqs, freqs], dim=-1)
    half = spec.head_dim // 2
    rotate_half = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    expected = x * emb.cos()[:, None] + rotate_half * emb.sin()[:, None]
    assert torch.equal(apply_rope(x, *rope_cos_sin(inv, positions, torch.float32)), expected)


@pytest.mark.parametrize("tokens", [0, 1, 3, 7, 40])
def test_grouped_experts_sum_each_tokens_experts(model, tokens):
    experts, router = model.layers[0].experts, model.layers[0].router
    x = torch.randn(tokens, model.cfg.hidden_size, generator=torch.Generator().manual_seed(tokens))
    with torch.no_grad():
        weights, index = router(x)
        got = experts(x, weights, index)
        expected = torch.zeros_like(x)
        for n in range(tokens):
            for w, e in zip(weights[n], index[n]):
                gate, up = F.linear(x[n], experts.gate_up_proj[e]).chunk(2)
                expected[n] += w * F.linear(F.gelu(gate, approximate="tanh") * up, experts.down_proj[e])
    assert got.shape == x.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_the_logit_cap_in_place_is_the_plain_cap_to_the_bit(model):
    hidden = torch.randn(5, model.cfg.hidden_size, generator=torch.Generator().manual_seed(0)) * 3
    assert model.cfg.final_logit_softcapping
    with torch.no_grad():
        in_place = model.logits(hidden)
    with torch.enable_grad():
        plain = model.logits(hidden.clone().requires_grad_(True))
    assert plain.requires_grad and torch.equal(in_place, plain.detach())
