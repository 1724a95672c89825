"""Fill holes in text: the engine's entry point for the server, the CLI and evaluation.

The prefix goes through the encoder (its KV cache is reused while the next prompt shares a token prefix: the
keystroke case); the canvas holds the hole, then suffix anchors. The hole's length is unknown, so several lengths
(and seeds) run as one batch and the answer is the candidate the model is most confident in. Given the whole file
around the hole, fills the file already spells out in the same surroundings (`engine.lookup`) come first. Text is
read with LF line breaks (`model_text`) and fills come back with them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from engine import canvas as canvases
from engine.cache import PrefixCache
from engine.checkpoint import WAYS, Checkpoint, first_line, load_checkpoint, out_of_memory
from engine.config import DEFAULT_MODEL_DIR  # noqa: F401  (re-exported for callers)
from engine.errors import Cancelled, CheckpointError, RunFailed  # noqa: F401  (re-exported for callers)
from engine.generate import Step, denoise, make_generator
from engine.infill_lookup import Candidate, InfillLookup, model_directory
from engine.infill_lookup import default_model_dir  # noqa: F401  (re-exported)
from engine.lookup import COPIES_TESTED
from engine.tokenizer import model_text


@dataclass(frozen=True)
class HolesCandidate:
    fills: list[str]
    confidence: float
    steps: int
    tokens: int = 0  # filled (non-void) tokens over all holes

    @property
    def tokens_per_forward(self) -> float:
        return self.tokens / self.steps if self.steps else 0.0


def hole_lengths(max_tokens: int) -> list[int]:
    """Hole sizes tried side by side: the full budget, and half of it so a short fill need not spend the model's
    confidence on a long run of voids. Each size is one more canvas row per step."""
    return [max_tokens // 2, max_tokens] if max_tokens >= 8 else [max_tokens]


class InfillEngine(InfillLookup):
    def __init__(self, checkpoint: Checkpoint):
        super().__init__(checkpoint.config, checkpoint.generation, checkpoint.tokenizer, checkpoint.directory)
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self.prefix_cache = PrefixCache(self.model)
        self.narrow_anchors = 16  # enough of the suffix to see where the line and the next one go
        self._lock = threading.Lock()  # one denoiser at a time; the prefix cache is shared state
        self.runs = 0  # denoising runs begun: a caller tells a request answered with no model pass by it
        self.check_holes()

    @classmethod
    def load(cls, model_dir: str | Path | None = None, *, device: str = "auto", dtype: str = "auto",
             memory_check: bool = True, ways: frozenset[str] = WAYS) -> "InfillEngine":
        """``ways``: what a refusal of the memory check may tell the user to change (engine.checkpoint.WAYS)."""
        return cls(load_checkpoint(model_directory(model_dir), device=device, dtype=dtype, memory_check=memory_check,
                                   ways=ways))

    # -- facts -------------------------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self.model.device.type

    @property
    def dtype(self) -> str:
        return str(self.model.dtype).removeprefix("torch.")

    @property
    def description(self) -> str:
        total, active = self.model.num_parameters()
        return (f"{self.model_dir.name} ({total / 1e6:.1f}M params, {active / 1e6:.1f}M active; "
                f"{self.device}, {self.dtype}) from {self.model_dir}")

    # -- filling -----------------------------------------------------------------------------------------------
    def infill(self, prefix: str, suffix: str, *, max_tokens: int = 24, num_candidates: int = 1,
               max_steps: int | None = None, seed: int = 0,
               should_stop: Callable[[], bool] | None = None, suffix_is_end: bool = True,
               sizes: Sequence[int] | None = None, around: tuple[str, str] | None = None,
               elsewhere: Sequence[str] = (), accepts: Callable[[str], bool] | None = None,
               prompt_tokens: int | None = None, prose: bool = False) -> list[Candidate]:
        """Fills for the hole between `prefix` and `suffix` (the model's context windows), best first.

        `around`: the whole text before and after the hole, searched for fills the file already spells out in the
        same surroundings (`copies`), and so are the other files in `elsewhere`; up to `num_candidates` of them come
        before the model's. The model runs either way, so a caller always has its fill too, for when a copy will not
        do. `accepts`: the caller's own test of a fill (the server's: the file parses with it). Of the
        `COPIES_TESTED` strongest copies (or more, for more candidates), those that pass it come first. Each is also
        a draft row: if the model writes it back surely, it is the model's answer as well, and the request ends,
        often after one pass. `prompt_tokens`: the most of the prefix the encoder gets (`prompt_room`). `prose`: the
        text is prose, searched for copies by keys of whole words.
        """
        copies, passing = [], []
        if around is not None:
            found = self.copies(*around, max_tokens=max_tokens, elsewhere=elsewhere, prose=prose,
                                limit=max(num_candidates, COPIES_TESTED if accepts is not None else 1))
            for c in found:
                # Each test parses the whole file: stop once there are as many passing copies as will be listed.
                if accepts is None or len(passing) == num_candidates:
                    break
                if accepts(c.text):
                    passing.append(c)
            copies = (passing + [c for c in found if c not in passing])[:num_candidates]
        drafts = [[c.text] for c in copies if c in passing]
        found = self.infill_holes([prefix, suffix], max_tokens=max_tokens, num_candidates=num_candidates,
                                  max_steps=max_steps, seed=seed, should_stop=should_stop,
                                  suffix_is_end=suffix_is_end, sizes=sizes, drafts=drafts,
                                  prompt_tokens=prompt_tokens)
        model = [Candidate(c.fills[0], c.confidence, c.steps, c.tokens_per_forward) for c in found]
        if around is None:
            return model
        best = model[0]
        written = {c.text for c in model}
        # A copy is ranked above the model's fills, so it carries the best one's confidence, and the steps the
        # request ran. Its tokens count as written by those steps only where the model wrote it back (its draft
        # row ended as the copy); else the steps wrote the model's own fill, and that is their rate.
        copied = [replace(c, confidence=best.confidence, steps=best.steps,
                          tokens_per_forward=(self.count_tokens(c.text) / max(1, best.steps) if c.text in written
                                              else best.tokens_per_forward))
                  for c in copies]
        texts = {c.text for c in copied}
        return copied + [c for c in model if c.text not in texts]

    def infill_holes(self, segments: Sequence[str], *, max_tokens: int = 24, num_candidates: int = 1,
                     max_steps: int | None = None, seed: int = 0, should_stop: Callable[[], bool] | None = None,
                     suffix_is_end: bool = True, sizes: Sequence[int] | None = None,
                     drafts: Sequence[Sequence[str]] = (), prompt_tokens: int | None = None) -> list[HolesCandidate]:
        """Fill every hole between `segments` together in one canvas; best candidates first.

        `sizes`: the hole lengths tried side by side (one canvas row each, times the candidates); by default the
        full `max_tokens` and half of it. `drafts`: proposed fills (one per hole), each one more row that starts
        from them rather than from noise. `prompt_tokens`: the most of the first segment the encoder gets
        (`prompt_room`).
        """
        if len(segments) < 2:
            raise ValueError("infill_holes needs the text before and after at least one hole")
        last = None
        for last in self.infill_steps(segments, max_tokens=max_tokens, num_candidates=num_candidates,
                                      max_steps=max_steps, seed=seed, should_stop=should_stop,
                                      suffix_is_end=suffix_is_end, sizes=sizes, drafts=drafts,
                                      prompt_tokens=prompt_tokens):
            pass
        return self.rank(last, num_candidates)

    def infill_steps(self, segments: Sequence[str], *, max_tokens: int = 24, num_candidates: int = 1,
                     max_steps: int | None = None, seed: int = 0, should_stop: Callable[[], bool] | None = None,
                     suffix_is_end: bool = True, sizes: Sequence[int] | None = None,
                     drafts: Sequence[Sequence[str]] = (), prompt_tokens: int | None = None
                     ) -> Iterator["InfillStep"]:
        """The denoising steps of an infill, for viewers; the last one is what `rank` turns into candidates. They
        end when every row has stopped or, sooner, when the `num_candidates` most confident rows have
        (`leaders_finished`): a draft the model writes back surely stops after one pass."""
        for name, value, optional in (("max_tokens", max_tokens, False), ("num_candidates", num_candidates, False),
                                      ("max_steps", max_steps, True), ("prompt_tokens", prompt_tokens, True)):
            # 0 and negatives used to fall back to defaults, or fail deep in ranking: a caller's mistake, said.
            if not (optional and value is None) and (isinstance(value, bool) or not isinstance(value, int)
                                                      or value < 1):
                raise ValueError(f"{name} must be a positive integer{' or None' * optional}, got {value!r}")
        tok = self.tokenizer
        ids = [tok.encode(model_text(s)) for s in segments]
        prompt = [tok.bos_id] + ids[0][max(0, len(ids[0]) - (self.prompt_room(prompt_tokens) - 1)):]
        lengths = [max(1, n) for n in sizes] if sizes else hole_lengths(max(1, max_tokens))
        seeds = max(1, num_candidates)
        rows = [n for n in lengths for _ in range(seeds)]
        canvas = canvases.with_holes(ids[1:], rows, tok.eos_id, tok.void_id, self.suffix_room(lengths, ids[1:-1]),
                                     at_end=suffix_is_end)
        canvas = canvases.with_drafts(canvas, [[tok.encode(model_text(f)) for f in d] for d in drafts], tok.void_id)
        generator = make_generator(seed, self.model.device)
        self.runs += 1
        with self._lock, torch.inference_mode():
            try:
                started = time.perf_counter()
                cache = self.prefix_cache.encode(prompt, should_stop)
                encode_ms = (time.perf_counter() - started) * 1000
                for step in denoise(self.model, cache, canvas, self.generation, generator,
                                    should_stop=should_stop, max_steps=max_steps):
                    yield InfillStep(step, canvas, encode_ms)
                    if leaders_finished(step, canvas, seeds):
                        return
            except (MemoryError, RuntimeError) as err:
                # A long prefix or a wide canvas can be more than a GPU holds, and the next request fit: one line
                # that says so, which a caller can tell from a defect.
                if not out_of_memory(err):
                    raise
                raise RunFailed(f"out of memory on {self.model.device} for a prompt of {len(prompt)} tokens and "
                                f"{len(rows)} canvas rows ({first_line(err)})", "out of memory") from None

    def suffix_room(self, lengths: list[int], between: list[list[int]]) -> int:
        """Suffix anchors that fill the canvas out to a width the model was trained on: the narrowest that still
        leaves `narrow_anchors` of them (every step costs in proportion to the width), else the widest."""
        used = max(lengths) * (len(between) + 1) + sum(len(seg) for seg in between)
        widths = self.canvas_widths()
        width = next((w for w in widths if w - used >= self.narrow_anchors), widths[-1])
        return max(self.min_suffix_anchors, width - used)

    def rank(self, last: "InfillStep", num_candidates: int = 1) -> list[HolesCandidate]:
        step, canvas = last.step, last.canvas
        confidence = row_confidence(step, canvas).tolist()
        seen: dict[tuple[str, ...], HolesCandidate] = {}
        for row in sorted(range(len(confidence)), key=lambda r: -confidence[r]):
            token_fills = canvas.fills(step.argmax.cpu(), row)
            fills = tuple(self.tokenizer.decode(f) for f in token_fills)
            if fills not in seen:
                count = sum(len(self.tokenizer.strip(f)) for f in token_fills)
                seen[fills] = HolesCandidate(list(fills), confidence[row], step.step, count)
        return list(seen.values())[:max(1, num_candidates)]


def row_confidence(step: Step, canvas: canvases.Canvas) -> torch.Tensor:
    """(B,) mean log-probability of each row's argmax over its hole positions: how candidates are ranked. Of the
    logits as the step divided them by its temperature (t_min's sharpness at the end); read at temperature 1, the
    ranking was no better: 79 exact against 80 of 447 held-out holes, three candidates each, the model alone."""
    holes = (~canvas.anchor).to(step.argmax.device)
    chosen = step.argmax[holes]  # (N,)
    logp = torch.log_softmax(step.hole_logits.float(), dim=-1).gather(-1, chosen[:, None])[:, 0]  # (N,)
    row_of = holes.nonzero()[:, 0]
    per_row = torch.zeros(holes.shape[0], device=logp.device).index_add_(0, row_of, logp)
    return per_row / holes.sum(-1).clamp(min=1)


def leaders_finished(step: Step, canvas: canvases.Canvas, wanted: int) -> bool:
    """Whether the `wanted` most confident rows have stopped, though others run on.

    A request returns its most confident rows; a row still denoising behind them would only be listed after them,
    so the rest of the batch need not run to its end. On 150 held-out line and 150 closing holes this cut the steps
    per request by a quarter to a third, with one seed or three, at the same exact match.
    """
    finished = step.finished
    if not bool(finished.any()) or bool(finished.all()):
        return False
    leaders = row_confidence(step, canvas).topk(min(wanted, finished.numel())).indices
    return bool(finished[leaders].all())


@dataclass
class InfillStep:
    step: Step
    canvas: canvases.Canvas
    encode_ms: float
