"""The DiffusionGemma network: one set of layer weights used twice.

The encoder runs the layers causally over the prompt and writes a KV cache. The decoder runs the same layers over
the canvas with bidirectional attention among canvas positions plus read-only attention to the cached prompt.
Module names follow the reference's decoder names, so loading is a prefix strip (see `checkpoint.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.config import LayerSpec, ModelConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float, with_scale: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if with_scale else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32 and not torch.is_grad_enabled():
            # The arithmetic below in one call, to the bit: a norm of a few positions is mostly dispatch.
            return F.rms_norm(x, x.shape[-1:], self.weight, self.eps)
        # Normalise in float32 whatever the weights' dtype: bf16 mean-of-squares loses too much.
        h = x.float()
        h = h * torch.pow(h.pow(2).mean(-1, keepdim=True) + self.eps, -0.5)
        if self.weight is not None:
            h = h * self.weight.float()
        return h.type_as(x)


def gated_mlp(x: torch.Tensor, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
    return F.linear(F.gelu(F.linear(x, gate), approximate="tanh") * F.linear(x, up), down)


class MLP(nn.Module):
    def __init__(self, hidden: int, inner: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inner, bias=False)
        self.up_proj = nn.Linear(hidden, inner, bias=False)
        self.down_proj = nn.Linear(inner, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gated_mlp(x, self.gate_proj.weight, self.up_proj.weight, self.down_proj.weight)


def rope_inv_freq(spec: LayerSpec) -> torch.Tensor:
    """Inverse frequencies over half the head; 0 for dims that never rotate.

    "proportional" RoPE (full layers) spaces the rotated frequencies as if the whole head rotated and leaves the
    rest still; "default" RoPE spaces them over the rotated width.
    """
    if spec.rope_type == "proportional":
        rotated = int(spec.rope_fraction * spec.head_dim // 2)
        denom = spec.head_dim
    else:
        denom = int(spec.head_dim * spec.rope_fraction)
        rotated = denom // 2
    # Always on the CPU: the model may be built on the meta device, and these are not weights.
    exponents = torch.arange(0, 2 * rotated, 2, dtype=torch.int64, device="cpu").float() / denom
    inv = 1.0 / (spec.rope_theta ** exponents) / spec.rope_factor
    return torch.cat([inv, torch.zeros(spec.head_dim // 2 - rotated, device="cpu")])


def rope_cos_sin(inv_freq: torch.Tensor, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """cos and sin tables (T, 1, hs) for `apply_rope`; the sin table's first half negated (see there)."""
    freqs = positions[..., None].float() * inv_freq.float()  # (T, hs/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, hs)
    sin = emb.sin()
    sin[:, :freqs.shape[-1]].neg_()
    return emb.cos().to(dtype)[:, None], sin.to(dtype)[:, None]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1]: written as [x2, x1] times the sin table with its
    first half negated, the same numbers (a sign moves exactly) in fewer operations."""
    # x: (B, T, nh, hs); cos/sin: (T, 1, hs)
    return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * sin


@dataclass
class KVCache:
    """Keys and values of the encoded prompt for every layer: (B, n_kv, T, hs) each, unwindowed.

    Sliding layers keep every position so that a cache can be cut back to any shared prefix; the window is applied
    when attending instead.
    """

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    # (B, T) True for real prompt tokens; None when all are. Training batches left-pad short prompts.
    valid: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return self.keys[0].shape[2] if self.keys else 0

    @property
    def batch_size(self) -> int:
        return self.keys[0].shape[0]

    def truncate(self, length: int) -> "KVCache":
        valid = self.valid[:, :length] if self.valid is not None else None
        return KVCache([k[:, :, :length] for k in self.keys], [v[:, :, :length] for v in self.values], valid)

    def expand(self, batch: int) -> "KVCache":
        """Share one prompt's cache across `batch` canvases without copying."""
        valid = self.valid.expand(batch, -1) if self.valid is not None else None
        return KVCache([k.expand(batch, -1, -1, -1) for k in self.keys],
                       [v.expand(batch, -1, -1, -1) for v in self.values], valid)

    def rows(self, index: torch.Tensor) -> "KVCache":
        valid = self.valid[index] if self.valid is not None else None
        return KVCache([k[index] for k in self.keys], [v[index] for v in self.values], valid)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, spec: LayerSpec):
        super().__init__()
        self.spec = spec
        self.n_head = cfg.num_attention_heads
        hs, n_kv = spec.head_dim, spec.num_kv_heads
        self.q_proj = nn.Linear(cfg.hidden_size, self.n_head * hs, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, n_kv * hs, bias=False)
        # Full-attention layers have no v_proj: their values are the keys before norm and RoPE.
        self.v_proj = nn.Linear(cfg.hidden_size, n_kv * hs, bias=False) if spec.sliding else None
        self.o_proj = nn.Linear(self.n_head * hs, cfg.hidden_size, bias=False)
        self.q_norm = RMSNorm(hs, cfg.rms_norm_eps)
        self.k_norm = RMSNorm(hs, cfg.rms_norm_eps)
        self.v_norm = RMSNorm(hs, cfg.rms_norm_eps, with_scale=False)

    def project(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
        B, T, _ = x.shape
        hs = self.spec.head_dim
        q = self.q_norm(self.q_proj(x).view(B, T, -1, hs))  # (B, T, nh, hs)
        k_raw = self.k_proj(x).view(B, T, -1, hs)  # (B, T, n_kv, hs)
        v = self.v_proj(x).view(B, T, -1, hs) if self.v_proj is not None else k_raw
        q = apply_rope(q, cos, sin).transpose(1, 2)  # (B, nh, T, hs)
        k = apply_rope(self.k_norm(k_raw), cos, sin).transpose(1, 2)  # (B, n_kv, T, hs)
        v = self.v_norm(v).transpose(1, 2)  # (B, n_kv, T, hs)
        return q, k, v

    def attend(self, q, k, v, mask: torch.Tensor | None) -> torch.Tensor:
        B, _, T, hs = q.shape
        # q/k norms replace the 1/sqrt(d) scaling.
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0,
                                           enable_gqa=k.shape[1] != q.shape[1])  # (B, nh, T, hs)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_head * hs))


class Router(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.top_k = cfg.top_k_experts
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, with_scale=False)
        self.proj = nn.Linear(cfg.hidden_size, cfg.num_experts, bias=False)
        self.scale = nn.Parameter(torch.ones(cfg.hidden_size))
        self.per_expert_scale = nn.Parameter(torch.ones(cfg.num_experts))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.norm(x) * self.scale * x.shape[-1] ** -0.5
        probs = F.softmax(self.proj(h), dim=-1, dtype=torch.float32)  # (N, E)
        weights, index = torch.topk(probs, k=self.top_k, dim=-1)  # (N, K)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        return weights * self.per_expert_scale[index], index


EXPERT_DISPATCH = ("grouped", "dense")


class Experts(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        E, H, I = cfg.num_experts, cfg.hidden_size, cfg.moe_intermediate_size
        self.gate_up_proj = nn.Parameter(torch.empty(E, 2 * I, H))
        self.down_proj = nn.Parameter(torch.empty(E, H, I))
        # "grouped": each expert runs on the tokens routed to it, which needs the group sizes on the host (a
        # device sync per layer on a GPU). "dense": every expert runs on every token and the router's weights (zero
        # where a token is not routed) mix them; no sync and fixed shapes, for a few small experts on a GPU.
        self.dispatch = "grouped"

    def forward(self, x: torch.Tensor, weights: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if self.dispatch == "dense":
            return self.dense(x, weights, index)
        # x: (N, H); weights/index: (N, K). Group the (token, slot) pairs by expert so each expert runs once, on a
        # slice of the pairs' inputs gathered in that order.
        N, K = index.shape
        flat = index.reshape(-1)
        order = torch.argsort(flat, stable=True)  # (N*K,)
        counts = torch.bincount(flat, minlength=self.gate_up_proj.shape[0]).tolist()
        token_of = order // K
        inputs = x[token_of]  # (N*K, H)
        outputs = []
        start = 0
        for e, n in enumerate(counts):
            if n:
                gate, up = F.linear(inputs[start:start + n], self.gate_up_proj[e]).chunk(2, dim=-1)
                outputs.append(F.linear(F.gelu(gate, approximate="tanh") * up, self.down_proj[e]))
            start += n
        if not outputs:  # no tokens (a pass that asks for no logits)
            return torch.zeros_like(x)
        h = torch.cat(outputs) * weights.reshape(-1)[order, None]  # (N*K, H)
        # One add in pair order: each token's outputs go in expert by expert, as one add per expert would.
        return torch.zeros_like(x).index_add_(0, token_of, h.to(x.dtype))

    def dense(self, x: torch.Tensor, weights: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        mix = torch.zeros(x.shape[0], self.gate_up_proj.shape[0], dtype=weights.dtype, device=x.device)
        mix.scatter_(1, index, weights)  # (N, E), zero where the token is not routed
        gate, up = torch.einsum("nh,eih->eni", x, self.gate_up_proj).chunk(2, dim=-1)  # (E, N, I) each
        h = torch.einsum("eni,ehi->enh", F.gelu(gate, approximate="tanh") * up, self.down_proj)  # (E, N, H)
        return torch.einsum("enh,ne->nh", h, mix.to(h.dtype)).to(x.dtype)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, spec: LayerSpec):
        super().__init__()
        H = cfg.hidden_size
        eps = cfg.rms_norm_eps
        self.spec = spec
        self.self_attn = Attention(cfg, spec)
        self.mlp = MLP(H, cfg.intermediate_size)
        self.router = Router(cfg)
        self.experts = Experts(cfg)
        self.input_layernorm = RMSNorm(H, eps)
        self.post_attention_layernorm = RMSNorm(H, eps)
        self.pre_feedforward_layernorm = RMSNorm(H, eps)
        self.post_feedforward_layernorm = RMSNorm(H, eps)
        self.post_feedforward_layernorm_1 = RMSNorm(H, eps)
        self.pre_feedforward_layernorm_2 = RMSNorm(H, eps)
        self.post_feedforward_layernorm_2 = RMSNorm(H, eps)
        # The reference's sliding cache keeps only the last window-1 prompt positions for the decoder.
        self.window = cfg.sliding_window if spec.sliding else None
        # The encoder and decoder share every weight but this one (a constant, not trained).
        self.register_buffer("layer_scalar", torch.ones(1))
        self.register_buffer("encoder_layer_scalar", torch.ones(1))

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Dense MLP and routed experts side by side, each with its own norms, then summed."""
        dense = self.post_feedforward_layernorm_1(self.mlp(self.pre_feedforward_layernorm(x)))
        flat = x.reshape(-1, x.shape[-1])  # (B*T, H)
        weights, index = self.router(flat)
        routed = self.experts(self.pre_feedforward_layernorm_2(flat), weights, index).reshape(x.shape)
        return self.post_feedforward_layernorm(dense + self.post_feedforward_layernorm_2(routed))

    def forward(self, x, cos, sin, past_k, past_v, mask, decoder: bool, keep: torch.Tensor | None = None):
        """x: (B, T, H) -> (B, T, H), and this layer's keys and values (B, n_kv, T, hs).

        `keep` (B, T) bool: the output only at those positions, (N, H) row-major. Every position still gives its
        key and value; queries run only at positions some row keeps, and the feed-forward only where kept.
        """
        q, k, v = self.self_attn.project(self.input_layernorm(x), cos, sin)
        if past_k is not None:
            if decoder and self.window is not None:
                past_k, past_v = past_k[:, :, -(self.window - 1):], past_v[:, :, -(self.window - 1):]
                if mask is not None:
                    mask = mask[..., -(self.window - 1 + x.shape[1]):]
            k_all, v_all = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        else:
            k_all, v_all = k, v
        if keep is not None:
            columns = keep.any(dim=0).nonzero().squeeze(1)
            q, x, keep = q[:, :, columns], x[:, columns], keep[:, columns]  # (B, nh, C, hs), (B, C, H), (B, C)
        h = x + self.post_attention_layernorm(self.self_attn.attend(q, k_all, v_all, mask))
        if keep is not None:
            h = h[keep]  # (N, H)
        h = h + self.feed_forward(h)
        scalar = self.layer_scalar if decoder else self.encoder_layer_scalar
        return h * scalar, k, v


class SelfConditioning(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        H, I = cfg.hidden_size, cfg.intermediate_size
        self.pre_norm = RMSNorm(H, cfg.rms_norm_eps)
        self.post_norm = RMSNorm(H, cfg.rms_norm_eps, with_scale=False)
        self.gate_proj = nn.Linear(H, I, bias=False)
        self.up_proj = nn.Linear(H, I, bias=False)
        self.down_proj = nn.Linear(I, H, bias=False)

    def forward(self, embeds: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
        return self.post_norm(embeds + self.added(soft))

    def added(self, soft: torch.Tensor) -> torch.Tensor:
        """What a soft embedding adds to the token embeddings, position by position: exactly zero where `soft`
        is zero, so positions without self-conditioning can skip it."""
        h = self.pre_norm(soft)
        return gated_mlp(h, self.gate_proj.weight, self.up_proj.weight, self.down_proj.weight)


class DiffusionGemma(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        # Every weight is loaded or set by init_weights, so the embedding's own random draw is skipped: on the meta
        # device a normal_ imports torch._dynamo, which took longer than loading the whole embedded model.
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size,
                                         _weight=torch.empty(cfg.vocab_size, cfg.hidden_size))
        self.layers = nn.ModuleList(Block(cfg, spec) for spec in cfg.layers)
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_conditioning = SelfConditioning(cfg)
        self.layer_kinds = sorted({spec.kind for spec in cfg.layers})
        self._inv_freq = {spec.kind: rope_inv_freq(spec) for spec in cfg.layers}

    # -- pieces ------------------------------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return self.embed_tokens.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.embed_tokens.weight.device

    def embed_scale(self) -> torch.Tensor:
        # The reference rounds sqrt(H) to the weights' dtype before scaling.
        return torch.tensor(self.cfg.hidden_size ** 0.5, dtype=self.dtype, device=self.device)

    def rope(self, positions: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        return {kind: rope_cos_sin(inv.to(positions.device), positions, self.dtype) for kind, inv in self._inv_freq.items()}

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = F.linear(self.norm(hidden), self.embed_tokens.weight).float()
        cap = self.cfg.final_logit_softcapping
        if not cap:
            return logits
        # cap * tanh(x / cap), written with the sigmoid (tanh(y) = 2 sigmoid(2y) - 1): the same values to float32
        # rounding, at half the CPU cost over an 8k vocabulary. Without gradients, in place: the same operations
        # without three more vocabulary-wide tensors.
        if logits.requires_grad:
            return torch.sigmoid(logits * (2 / cap)) * (2 * cap) - cap
        return logits.mul_(2 / cap).sigmoid_().mul_(2 * cap).sub_(cap)

    def encoder_mask(self, start: int, n: int, sliding: bool) -> torch.Tensor:
        q = torch.arange(start, start + n, device=self.device)[:, None]
        k = torch.arange(start + n, device=self.device)[None, :]
        allowed = torch.ones(n, start + n, dtype=torch.bool, device=self.device)
        if not self.cfg.encoder_bidirectional:
            allowed &= k <= q
        if sliding:
            w = self.cfg.sliding_window
            allowed &= (k > q - w) if not self.cfg.encoder_bidirectional else ((q - k).abs() < w)
        return allowed

    # -- encoder / decoder -------------------------------------------------------------------------------------
    def encode(self, input_ids: torch.Tensor, cache: KVCache | None = None,
               valid: torch.Tensor | None = None) -> KVCache:
        """Run the prompt (B, T) causally and return the cache extended by it.

        `valid` (B, T) marks real tokens when short prompts are left-padded into a batch: padding is never attended
        (a padding query sees only itself, so no row is empty).
        """
        start = cache.length if cache is not None else 0
        B, T = input_ids.shape
        positions = torch.arange(start, start + T, device=self.device)
        rope = self.rope(positions)
        masks = {kind: self.encoder_mask(start, T, kind == "sliding_attention") for kind in self.layer_kinds}
        all_valid = None
        if valid is not None or (cache is not None and cache.valid is not None):
            old = cache.valid if cache is not None and cache.valid is not None else \
                torch.ones(B, start, dtype=torch.bool, device=self.device)
            new = valid.to(self.device) if valid is not None else torch.ones(B, T, dtype=torch.bool, device=self.device)
            all_valid = torch.cat([old, new], dim=1)  # (B, start + T)
            itself = torch.arange(start + T, device=self.device)[None, :] == positions[:, None]  # (T, start + T)
            keys_ok = all_valid[:, None, :] | itself[None]  # (B, T, start + T)
            masks = {kind: (m[None] & keys_ok)[:, None] for kind, m in masks.items()}  # (B, 1, T, start + T)
        x = self.embed_tokens(input_ids) * self.embed_scale()
        keys, values = [], []
        # The cache holds keys and values only: the last layer's output feeds nothing (but, in training, the
        # load-balancing term of its router: see `decode`).
        last = len(self.layers) - 1 if not torch.is_grad_enabled() else None
        for i, block in enumerate(self.layers):
            kind = block.spec.kind
            past_k = cache.keys[i] if cache is not None else None
            past_v = cache.values[i] if cache is not None else None
            if i == last:
                _, k, v = block.self_attn.project(block.input_layernorm(x), *rope[kind])
            else:
                x, k, v = block(x, *rope[kind], past_k, past_v, masks[kind], decoder=False)
            keys.append(k if past_k is None else torch.cat([past_k, k], dim=2))
            values.append(v if past_v is None else torch.cat([past_v, v], dim=2))
        return KVCache(keys, values, all_valid)

    def soft_embedding(self, logits: torch.Tensor) -> torch.Tensor:
        probs = logits.softmax(dim=-1, dtype=torch.float32).to(self.dtype)  # (..., V)
        return (probs @ self.embed_tokens.weight) * self.embed_scale()  # (..., H)

    def decode(self, canvas_ids: torch.Tensor, cache: KVCache, self_conditioning: torch.Tensor | None = None,
               sc_mask: torch.Tensor | None = None, at: torch.Tensor | None = None) -> torch.Tensor:
        """One denoiser pass over the canvas (B, L), positions following the cached prompt.

        Without `at`: logits (B, L, V) float32 everywhere, and `self_conditioning` is the previous pass's (B, L, V).
        With `at` (B, L) bool: logits (N, V) only at those N positions (row-major), and `self_conditioning` is the
        previous pass's (N, V); every other position gets no self-conditioning. Anchors never need logits, and at
        8k vocabulary the head and the soft embedding are most of a small model's step.
        `sc_mask` (B,) turns self-conditioning off for whole rows (training uses it on half of them).
        """
        B, L = canvas_ids.shape
        if cache.batch_size != B:
            cache = cache.expand(B)
        start = cache.length
        rope = self.rope(torch.arange(start, start + L, device=self.device))
        # With gradients off, work whose result is exactly zero or feeds nothing is skipped (`trimmed`): the same
        # logits but for float rounding (a matrix product of a few rows may round apart from one of many). Training
        # runs it all: each weight's gradient sums the same terms, and every router enters the load-balancing term
        # (`train.RouterBalance`).
        trimmed = not torch.is_grad_enabled()
        x = self.embed_tokens(canvas_ids) * self.embed_scale()  # (B, L, H)
        soft = None
        if self_conditioning is not None:
            soft = self.soft_embedding(self_conditioning)  # (B, L, H), or (N, H) at `at`
            if sc_mask is not None:
                on = sc_mask.to(soft.dtype)
                soft = soft * (on[:, None, None] if at is None else on[at.nonzero()[:, 0], None])
        if not trimmed:
            if soft is None:
                soft = torch.zeros_like(x)
            elif at is not None:
                # under autocast the soft embedding is bf16, the embedding not
                soft = soft.new_zeros(x.shape).index_put((at,), soft)
            x = self.self_conditioning(x, soft)
        else:
            # Self-conditioning adds exactly zero where the soft embedding is zero: it runs only where there is one.
            if soft is not None:
                added = self.self_conditioning.added(soft)
                x = x + added if at is None else x.index_put((at,), x[at] + added)
            x = self.self_conditioning.post_norm(x)
        mask = None
        if cache.valid is not None:
            # Canvas positions attend to every real prompt token and to the whole canvas.
            keys_ok = torch.cat([cache.valid, torch.ones(B, L, dtype=torch.bool, device=self.device)], dim=1)
            mask = keys_ok[:, None, None, :]  # (B, 1, 1, T + L)
        # Only the positions given logits need the last layer's output.
        keep = at if trimmed else None
        for i, block in enumerate(self.layers):
            last = i == len(self.layers) - 1
            x, _, _ = block(x, *rope[block.spec.kind], cache.keys[i], cache.values[i], mask, decoder=True,
                            keep=keep if last else None)
        return self.logits(x if at is None or keep is not None else x[at])

    def set_expert_dispatch(self, dispatch: str) -> None:
        """How every layer runs its experts (EXPERT_DISPATCH); the same function either way."""
        if dispatch not in EXPERT_DISPATCH:
            raise ValueError(f"expert dispatch {dispatch!r}: choose from {', '.join(EXPERT_DISPATCH)}")
        for block in self.layers:
            block.experts.dispatch = dispatch

    # -- sizes -------------------------------------------------------------------------------------------------
    def num_parameters(self) -> tuple[int, int]:
        """(total, active per token): only top_k of num_experts expert weights run for a token."""
        total = sum(p.numel() for p in self.parameters())
        expert = sum(b.experts.gate_up_proj.numel() + b.experts.down_proj.numel() for b in self.layers)
        active = total - expert + expert * self.cfg.top_k_experts // self.cfg.num_experts
        return total, active

    def init_weights(self, std: float = 0.02, seed: int | None = None) -> None:
        """Random weights for training from scratch, for test checkpoints and for a model built on the meta device
        and then given empty storage (`bench --config`): every parameter and buffer is set in place, on its device
        and in its dtype."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.ndim >= 2:
                    normal_(p, std, gen)
                elif name.endswith(("layer_scalar", "scale", "weight")):
                    p.fill_(1.0)
            for name, b in self.named_buffers():
                if name.endswith("layer_scalar"):
                    b.fill_(1.0)


# Elements drawn at once for a weight that is not float32 on the CPU: a float32 draw of at most 16 MiB, whatever the
# weight's size (a 262k-token embedding is 1.3 billion numbers).
INIT_CHUNK = 1 << 22


def normal_(p: torch.Tensor, std: float, gen: torch.Generator | None) -> None:
    """Fill `p` with N(0, std) numbers from the CPU generator `gen`, the same on every device. A float32 CPU weight
    is drawn into directly; any other in blocks of rows, each drawn on the CPU in float32 and copied over."""
    if p.device.type == "cpu" and p.dtype == torch.float32 and p.is_contiguous():
        torch.randn(p.shape, generator=gen, out=p.detach()).mul_(std)
        return
    rows = p.view(p.shape[0], -1)
    step = max(1, INIT_CHUNK // rows.shape[1])
    for start in range(0, rows.shape[0], step):
        block = rows[start:start + step]
        block.copy_(torch.randn(block.shape, generator=gen).mul_(std))
