"""The denoising loop (one canvas) and multi-canvas generation, each yielding every step so a viewer can draw it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from engine import sampler
from engine.canvas import Canvas
from engine.config import GenerationConfig
from engine.errors import Cancelled, RunFailed
from engine.model import DiffusionGemma, KVCache


@dataclass
class Step:
    """One decoder pass over a canvas."""

    canvas_index: int
    step: int  # 1-based within the canvas
    current: torch.Tensor  # (B, L) canvas fed to the next pass (accepted tokens + fresh noise + anchors)
    argmax: torch.Tensor  # (B, L) the canvas's answer so far
    accepted: torch.Tensor  # (B, L) bool, positions accepted this step
    anchor: torch.Tensor  # (B, L) bool
    hole_logits: torch.Tensor  # (N, V) temperature-scaled logits of this pass at the N hole positions, row-major
    finished: torch.Tensor  # (B,) bool, rows whose canvas has stopped

    @property
    def logits(self) -> torch.Tensor:
        """(B, L, V), zero at anchors (which get no logits)."""
        B, L = self.anchor.shape
        full = self.hole_logits.new_zeros(B, L, self.hole_logits.shape[-1])
        full[~self.anchor] = self.hole_logits
        return full


@dataclass
class CanvasDone:
    """A canvas appended to the output: its tokens are final, so what they say can be shown."""

    canvas_index: int
    steps: int  # decoder passes it took
    stopped: torch.Tensor  # (B,) bool, rows whose canvas stopped of itself, not at the step limit
    canvas: torch.Tensor  # (B, L) the last pass's argmax as it goes into the output: pad after EOS
    new_tokens: torch.Tensor  # (B, new so far) as the Generation will have them, this canvas last


@dataclass
class Generation:
    sequences: torch.Tensor  # (B, T + new) prompt followed by the canvases, pad after EOS
    new_tokens: torch.Tensor  # (B, new)
    canvases: int
    steps_per_canvas: list[int]
    forwards: torch.Tensor  # (B,) decoder passes per row
    tokens_per_forward: torch.Tensor  # (B,) non-pad new tokens per decoder pass
    cache: KVCache | None = field(default=None, repr=False)


def denoise(model: DiffusionGemma, cache: KVCache, canvas: Canvas, gen: GenerationConfig,
            generator: torch.Generator | None = None, canvas_index: int = 0,
            should_stop: Callable[[], bool] | None = None,
            max_steps: int | None = None,
            draw: Callable[[torch.Tensor, torch.Generator | None], torch.Tensor] = sampler.draw) -> Iterator[Step]:
    """Denoise one canvas; the last yielded Step holds the result in `argmax`.

    `max_steps` shortens the whole schedule rather than cutting it off: the temperature still cools from t_max to
    t_min, so a short run ends as sharp as a long one. `draw` samples one token per hole position; pass
    `sampler.reference_draw` to follow the reference's random stream.
    """
    device = model.device
    B, L = canvas.shape
    V = model.cfg.vocab_size
    max_steps = max_steps or gen.max_denoising_steps
    anchor = canvas.anchor.to(device)
    anchor_ids = canvas.ids.to(device)
    holes = ~anchor
    has_anchors = bool(anchor.any())
    start = sampler.random_tokens((B, L), V, generator, device)
    previous = None
    if canvas.drafted is not None and bool(canvas.drafted.any()):
        drafted = canvas.drafted.to(device)[:, None]
        start = torch.where(drafted, anchor_ids, start)
        # A draft is checked like speculative decoding's: kept after one pass if the model writes it back surely.
        previous = torch.where(drafted, anchor_ids, -1)
    current = torch.where(anchor, anchor_ids, start)
    argmax = current
    sc_logits = None
    finished = torch.zeros(B, dtype=torch.bool, device=device)
    stop = sampler.StableAndConfident(gen.stability_threshold, gen.confidence_threshold, previous)
    if cache.batch_size != B:
        cache = cache.expand(B)
    row_of = holes.nonzero()[:, 0]  # (N,) the row of each hole position
    suppressed = torch.tensor(gen.suppress_tokens, device=device) if gen.suppress_tokens else None
    for n, cur_step in enumerate(reversed(range(1, max_steps + 1)), start=1):
        if should_stop is not None and should_stop():
            raise Cancelled("denoising cancelled")
        # Logits only where there are holes: anchors keep their tokens whatever the model says. Without anchors
        # this is every position in the same order, so the random draws match the reference.
        if has_anchors:
            hole_logits = model.decode(current, cache, sc_logits, at=holes)  # (N, V)
        else:
            sc_full = sc_logits.view(B, L, V) if sc_logits is not None else None
            hole_logits = model.decode(current, cache, sc_full).view(B * L, V)
        # In place: the pass's logits are this loop's own.
        if suppressed is not None:
            hole_logits.index_fill_(-1, suppressed, -math.inf)
        hole_logits = hole_logits.div_(sampler.temperature(cur_step, max_steps, gen.t_min, gen.t_max).to(device))
        probs = torch.softmax(hole_logits, dim=-1, dtype=torch.float32)
        check_finite(probs, n)
        sampled = anchor_ids.clone()
        sampled[holes] = draw(probs, generator)
        new_argmax = anchor_ids.clone()
        new_argmax[holes] = hole_logits.argmax(dim=-1)
        entropy = torch.full((B, L), math.inf, device=device)
        entropy[holes] = sampler.token_entropy(hole_logits)
        accepted = sampler.accept_mask(entropy, gen.entropy_bound)
        noise = sampler.random_tokens((B, L), V, generator, device)
        new_current = sampler.renoise(sampled, accepted, noise, anchor, anchor_ids)
        if finished.any():
            # Rows that already stopped keep their canvas; their logits stay as they were for self-conditioning.
            new_argmax = torch.where(finished[:, None], argmax, new_argmax)
            new_current = torch.where(finished[:, None], current, new_current)
            hole_logits = torch.where(finished[row_of][:, None], sc_logits, hole_logits)
        finished = finished | stop(new_argmax, entropy, holes)
        current, argmax = new_current, new_argmax
        sc_logits = hole_logits.to(model.dtype)
        yield Step(canvas_index, n, current, argmax, accepted & holes, anchor, hole_logits, finished.clone())
        if bool(finished.all()):
            break


def check_finite(probs: torch.Tensor, step: int) -> None:
    """Refuse to draw from probabilities a non-finite logit made: torch's multinomial fails on them with a
    traceback, and the inverse-CDF draw quietly picks an arbitrary token. A softmax spreads a NaN or an infinity over
    its whole row, so one column tells for all: a check of N values, not of the N x V."""
    if not bool(probs[:, 0].isfinite().all()):
        raise RunFailed(f"denoising step {step}: the model's logits are not finite (NaN or inf); in float16 its "
                        "activations can overflow: use dtype bfloat16 or float32", "not finite")


def generate_steps(model: DiffusionGemma, prompt_ids: torch.Tensor, gen: GenerationConfig,
                   generator: torch.Generator | None = None, max_new_tokens: int | None = None,
                   canvas_length: int | None = None, cache: KVCache | None = None
                   ) -> Iterator[Step | CanvasDone | Generation]:
    """Chain canvases until EOS or the token budget, as the reference's `generate`: diffusion inside a canvas,
    autoregressive across canvases. Yields each Step, a CanvasDone after each canvas, then the Generation.
    `cache`: the prompt's encoder cache where the caller encoded it already (in chunks, say), else one pass here."""
    device = model.device
    L = canvas_length or model.cfg.canvas_length
    ids = prompt_ids.to(device)
    B, prompt_len = ids.shape
    max_new = max_new_tokens or gen.max_new_tokens
    max_length = prompt_len + max_new
    eos = torch.tensor(gen.eos_token_ids, device=device) if gen.eos_token_ids else None
    done = torch.zeros(B, dtype=torch.bool, device=device)
    forwards = torch.zeros(B, dtype=torch.int, device=device)
    steps_per_canvas = []
    if cache is None:
        cache = model.encode(ids)
    blank = Canvas(torch.zeros(B, L, dtype=torch.long), torch.zeros(B, L, dtype=torch.bool),
                   tuple(((0, L),) for _ in range(B)))
    for c in range(math.ceil(max_new / L)):
        if c > 0:
            cache = model.encode(ids[:, -L:], cache)
        last = None
        # Plain generation follows the reference's random stream, so seeded runs can be compared with it.
        for step in denoise(model, cache, blank, gen, generator, canvas_index=c, draw=sampler.reference_draw):
            forwards += ~(done | _previous_finished(last, B, device))
            last = step
            yield step
        steps_per_canvas.append(last.step)
        ids = torch.cat([ids, last.argmax], dim=-1)
        ids, done = finalize_canvas(ids, done, L, max_length, eos, gen.pad_token_id)
        yield CanvasDone(c, last.step, last.finished, ids[:, -L:], ids[:, prompt_len:])
        if bool(done.all()):
            break
    new = ids[:, prompt_len:]
    valid = (new != gen.pad_token_id).sum(-1) if gen.pad_token_id is not None else torch.full((B,), new.shape[1])
    yield Generation(ids, new, len(steps_per_canvas), steps_per_canvas, forwards, valid / forwards, cache)


def _previous_finished(step: Step | None, batch: int, device) -> torch.Tensor:
    return step.finished if step is not None else torch.zeros(batch, dtype=torch.bool, device=device)


def finalize_canvas(ids: torch.Tensor, done: torch.Tensor, L: int, max_length: int, eos: torch.Tensor | None,
                    pad_id: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """After a canvas: rows that hit EOS (or the length budget) finish; finished rows read as pad from there on."""
    finished_now = torch.full_like(done, ids.shape[1] >= max_length)
    if eos is not None:
        finished_now |= torch.isin(ids[:, -L:], eos).any(dim=-1)
    previously = done
    done = previously | finished_now
    if pad_id is not None and bool(done.any()):
        ids[previously, -L:] = pad_id
        if eos is not None and bool(finished_now.any()):
            new = ids[:, -L:]
            is_eos = torch.isin(new, eos)
            seen = is_eos.cumsum(dim=-1)
            new[(seen > 0) & ~((seen == 1) & is_eos)] = pad_id
    return ids, done


def generate(model: DiffusionGemma, prompt_ids: torch.Tensor, gen: GenerationConfig, seed: int | None = 0,
             max_new_tokens: int | None = None) -> Generation:
    generator = make_generator(seed, model.device)
    result = None
    for event in generate_steps(model, prompt_ids, gen, generator, max_new_tokens):
        result = event
    return result


def make_generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    return torch.Generator(device=device).manual_seed(seed)
