"""The reference sampler as small pure functions over tensors.

Random numbers are drawn in the reference's order (initial canvas; then per step one multinomial over the canvas
and one uniform re-noise draw) so that a seeded run matches the reference token for token. Infilling draws its
tokens with `draw` instead of `reference_draw`: the same distribution, many times faster on a CPU.
"""

from __future__ import annotations

import torch


def temperature(cur_step: int, max_steps: int, t_min: float, t_max: float) -> torch.Tensor:
    """Linear cooling; `cur_step` counts down from max_steps (first step, t_max) to 1.

    Computed from an int32 step tensor, i.e. in float32, as the reference does: a float64 temperature differs in the
    last bit often enough to change sampled tokens.
    """
    step = torch.tensor(cur_step, dtype=torch.int32)
    return t_min + (t_max - t_min) * (step / max_steps)


def logsumexp(x: torch.Tensor) -> torch.Tensor:
    """torch.logsumexp over the last dimension (keepdim), to the same bits, without its slow path on a CPU.

    On x86 CPUs torch's exp falls back to scalar code for inputs below about -87, where float32 underflows; after
    dividing by a cool temperature (0.1) most of an 8k vocabulary lies there, and the entropy cost 4 ms a step
    instead of 0.7. Clamping those inputs at -87 turns terms of under 2^-126 into 2^-126-sized ones, which vanish
    in a sum that holds exp(0) = 1: the result is the same to the bit.
    """
    top = x.amax(dim=-1, keepdim=True)
    shift = top.masked_fill(top.abs() == float("inf"), 0.0)
    out = (x - shift).clamp_(min=-87.0).exp_().sum(-1, keepdim=True).log_().add_(shift)
    return torch.where(top == -float("inf"), top, out)  # a row of -inf only: -inf, as torch's


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy per position, computed exactly as torch.distributions.Categorical does: (..., V) -> (...)."""
    logp = logits - logsumexp(logits)
    probs = torch.softmax(logp, dim=-1)
    # In place from here: the same operations without two more vocabulary-wide tensors.
    return logp.clamp_(min=torch.finfo(logp.dtype).min).mul_(probs).sum(-1).neg_()


def accept_mask(entropy: torch.Tensor, bound: float) -> torch.Tensor:
    """Entropy-bound acceptance: the k most certain positions with sum(H_1..k) - max(H_1..k) <= bound.

    Anchors should come in as +inf so they sort last and never use up the budget.
    """
    sorted_h, order = torch.sort(entropy, dim=-1, descending=False)
    keep = torch.cumsum(sorted_h, dim=-1) - sorted_h <= bound
    return torch.scatter(torch.zeros_like(keep), dim=-1, index=order, src=keep)


def reference_draw(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One token per row of probs (N, V) -> (N,), with the reference's random stream."""
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


def draw(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One token per row of probs (N, V) -> (N,), by inverting the cumulative distribution.

    Exactly the multinomial's distribution, but a cumulative sum and a binary search: on a CPU, torch.multinomial
    over an 8k vocabulary costs about as much as a small model's whole decoder pass.
    """
    cdf = probs.cumsum(dim=-1)  # (N, V)
    u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device, dtype=cdf.dtype) * cdf[:, -1:]
    # right=True: the first token whose cumulative mass exceeds u, so a zero-probability token is never drawn.
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp_(max=probs.shape[-1] - 1)


def random_tokens(shape: tuple[int, ...], vocab_size: int, generator: torch.Generator | None,
                  device: torch.device) -> torch.Tensor:
    return torch.randint(0, vocab_size, shape, generator=generator, device=device)


def renoise(canvas: torch.Tensor, accepted: torch.Tensor, noise: torch.Tensor, anchor: torch.Tensor,
            anchor_ids: torch.Tensor) -> torch.Tensor:
    """Positions not accepted this step become fresh noise; anchors are put back untouched."""
    return torch.where(anchor, anchor_ids, torch.where(accepted, canvas, noise))


class StableAndConfident:
    """Stop a canvas when its argmax has not changed for `threshold` steps and the mean hole entropy is low."""

    def __init__(self, threshold: int, confidence: float, previous: torch.Tensor | None = None):
        """`previous` (B, L): what each row's canvas was before the first pass, or -1 where it was noise; a drafted
        row whose first pass reproduces its draft with confidence is stable already, as if a pass had written it."""
        self.threshold = threshold
        self.confidence = confidence
        self.history: list[torch.Tensor] = [] if previous is None else [previous]

    def __call__(self, argmax: torch.Tensor, entropy: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
        if self.threshold == 0:
            stable = torch.ones(argmax.shape[0], dtype=torch.bool, device=argmax.device)
        else:
            stable = torch.ones(argmax.shape[0], dtype=torch.bool, device=argmax.device)
            if len(self.history) < self.threshold:
                stable = torch.zeros_like(stable)
            for past in self.history:
                stable &= (past == argmax).all(dim=-1)
            self.history = (self.history + [argmax])[-self.threshold:]
        holes_f = holes.to(entropy.dtype)
        mean_h = (entropy.masked_fill(~holes, 0.0) * holes_f).sum(-1) / holes_f.sum(-1).clamp(min=1)
        return stable & (mean_h < self.confidence)
