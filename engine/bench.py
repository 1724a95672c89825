"""`infill-engine bench`: encoder ms, ms per denoising step, steps per canvas, tokens per forward, tokens/s.

Two modes: the model's own sampler on an infill (what an editor sees), and `--fixed-steps N` over full canvases of
random weights built from a config (a throughput figure comparable across implementations; `--reference` runs the
transformers implementation on the same weights in the same process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from engine.arguments import add_model_options, given_flags, nonnegative_int, positive_int, user_path
from engine.config import GenerationConfig, ModelConfig, read_json
from engine.errors import EngineError

SNIPPET = '''def parse_header(line: str) -> dict[str, str]:
    """Split an HTTP header line into name and value."""
    name, _, value = line.partition(":")
    return {"name": name.strip().lower(), "value": value.strip()}


'''


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device) -> tuple[object, float]:
    sync(device)
    started = time.perf_counter()
    out = fn()
    sync(device)
    return out, (time.perf_counter() - started) * 1000


def bench_infill(args) -> int:
    """The sampler as the server runs it: one prompt, a hole of `--hole` tokens, suffix anchors."""
    from engine.infill import InfillEngine

    eng = InfillEngine.load(args.model, device=args.device, dtype=args.dtype, memory_check=args.memory_check)
    if args.hole is None:  # not given: the default, where the checkpoint's canvas holds it
        args.hole = min(DEFAULT_HOLE, eng.hole_capacity)
    if args.hole > eng.hole_capacity:
        # A wider hole would time a canvas wider than any the model was trained on, which no editor runs.
        raise EngineError(f"--hole {args.hole}: {eng.model_dir.name} fills at most {eng.hole_capacity} tokens in "
                          "one canvas")
    device = eng.model.device
    text = SNIPPET * 200
    prefix = text[max(0, len(text) - args.prompt_chars):] + "def total(values):\n    return "  # [-0:]: all of it
    # The encoder reads <bos> and the end of the prefix, at most the model's prompt window: that is what is timed.
    prefix_tokens = eng.count_tokens(prefix)
    prompt_tokens = min(prefix_tokens + 1, eng.prompt_room())
    suffix = "\n\n\nprint(total([1, 2, 3]))\n"
    encode_ms, step_ms, steps, tpf, tps = [], [], [], [], []
    for r in range(args.warmup + args.repeats):
        eng.prefix_cache.ids = []  # measure a cold prompt encode each time
        started = time.perf_counter()
        last = None
        times = []
        t0 = time.perf_counter()
        for last in eng.infill_steps([prefix, suffix], max_tokens=args.hole, seed=r):
            sync(device)
            times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
        best = eng.rank(last)[0]
        total_s = time.perf_counter() - started
        if r < args.warmup:
            continue
        encode_ms.append(last.encode_ms)
        # The first step's time includes the encode.
        step_ms.extend([times[0] - last.encode_ms] + times[1:])
        steps.append(best.steps)
        tpf.append(best.tokens_per_forward)
        tps.append(best.tokens / total_s)
    report(args, eng.description, prompt_tokens, {
        "encoder_ms": statistics.median(encode_ms),
        "ms_per_step": statistics.median(step_ms),
        "steps_per_canvas": statistics.mean(steps),
        "tokens_per_forward": statistics.mean(tpf),
        "tokens_per_s": statistics.mean(tps),
    }, prefix_tokens)
    return 0


def random_model(cfg: ModelConfig, device: torch.device, dtype: str, float32_max: int | None = None):
    """Random weights for `cfg` on `device`, in the dtype `dtype` names (auto: by the rule a checkpoint of the same
    size loads by; float32_max: its threshold, see resolve_dtype). Built on the meta device and given storage in
    that dtype at once, each weight drawn in place: built in float32 and converted, with two float32 temporaries per
    weight drawn, a bfloat16 model peaked at five times its size."""
    from engine.checkpoint import resolve_dtype
    from engine.model import DiffusionGemma

    with torch.device("meta"):
        model = DiffusionGemma(cfg)
    dt = resolve_dtype(dtype, device, parameters=model.num_parameters()[0], float32_max=float32_max)
    # Storage as a checkpoint's tensors get it (to_empty would do, but from the meta device its empty_like imports
    # sympy: half a second and 35 MB).
    empty = {name: torch.empty(t.shape, dtype=dt, device=device) for name, t in model.state_dict().items()}
    model.load_state_dict(empty, strict=True, assign=True)
    model.init_weights(std=0.02, seed=0)
    return model.eval().requires_grad_(False)


def bench_fixed(args) -> int:
    """Full canvases, exactly `--fixed-steps` decoder passes each, random weights: pure network throughput."""
    from engine.checkpoint import resolve_device
    from engine.cli import refuse_past_positions
    from engine.generate import denoise, make_generator
    from engine import canvas as canvases

    device = resolve_device(args.device)
    hf = read_json(Path(args.config))
    cfg = ModelConfig.from_hf(hf, source=args.config)
    L = args.canvas or cfg.canvas_length
    refuse_past_positions("--prompt-tokens" + (", --canvas" if args.canvas else ""),
                          f"a prompt of {args.prompt_tokens} tokens and a canvas of {L}", args.prompt_tokens + L,
                          cfg.max_position_embeddings, args.config)
    model = random_model(cfg, device, args.dtype)
    dtype = model.dtype
    # Never stop early: a threshold no canvas meets.
    gen = GenerationConfig(max_denoising_steps=args.fixed_steps, confidence_threshold=-1.0)
    prompt = torch.randint(3, cfg.vocab_size, (args.batch, args.prompt_tokens), device=device,
                           generator=torch.Generator(device).manual_seed(0))
    blank = canvases.empty(args.batch, L)

    def run_ours():
        with torch.inference_mode():
            cache = model.encode(prompt)
            for _ in denoise(model, cache, blank, gen, make_generator(0, device)):
                pass

    figures = {}
    times = [timed(run_ours, device)[1] for _ in range(args.warmup + args.repeats)][args.warmup:]
    ms = statistics.median(times)
    figures["ours_tokens_per_s"] = args.batch * L / (ms / 1000)
    figures["ours_ms_per_canvas"] = ms
    total, active = model.num_parameters()
    if args.reference:
        # Both models need not fit at once: ours goes before the reference is built.
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
        figures.update(reference_figures(args, hf, prompt, L, device, dtype))
        figures["speedup_vs_reference"] = figures["ours_tokens_per_s"] / figures["reference_tokens_per_s"]
    report(args, f"random {cfg.num_hidden_layers}-layer config from {args.config} ({count(total)} params, "
                 f"{count(active)} active; {device.type}, {str(dtype).removeprefix('torch.')})",
           args.prompt_tokens, figures)
    return 0


def reference_figures(args, hf: dict, prompt, L, device, dtype) -> dict:
    """The transformers implementation, its own random weights, `--fixed-steps` passes per canvas."""
    from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion

    config = DiffusionGemmaConfig(**{k: v for k, v in hf.items() if k not in ("architectures",)})
    config.canvas_length = L
    with torch.device(device):
        ref = DiffusionGemmaForBlockDiffusion(config).to(dtype).eval()

    def run_ref():
        with torch.inference_mode():
            ref.generate(prompt, max_new_tokens=L, max_denoising_steps=args.fixed_steps,
                         confidence_threshold=1e-30)

    times = [timed(run_ref, device)[1] for _ in range(args.warmup + args.repeats)][args.warmup:]
    ms = statistics.median(times)
    return {"reference_tokens_per_s": args.batch * L / (ms / 1000), "reference_ms_per_canvas": ms}


def count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def report(args, what: str, prompt_tokens: int, figures: dict, prefix_tokens: int | None = None) -> None:
    """`prompt_tokens`: what the encoder reads; `prefix_tokens` (the infill mode): the whole prefix's tokens, of
    which the model reads the end."""
    if args.json:
        prefix = {} if prefix_tokens is None else {"prefix_tokens": prefix_tokens}
        print(json.dumps({"model": what, "prompt_tokens": prompt_tokens, **prefix, **figures}))
        return
    print(f"model: {what}")
    cut = ""
    if prefix_tokens is not None and prefix_tokens + 1 > prompt_tokens:
        cut = f" (the most the model reads; the prefix has {prefix_tokens:,})"
    print(f"prompt tokens: {prompt_tokens}{cut}, threads: {torch.get_num_threads()}")
    for key, value in figures.items():
        print(f"{key:>24}: {value:,.2f}")


# Each mode's own flags, with their defaults: given to the other mode, a flag was ignored without a word.
# (`--hole`: `DEFAULT_HOLE`, or what the checkpoint's canvas holds, set once it is read; `--canvas`: the config's.)
INFILL_FLAGS = {"model": None, "hole": None, "prompt_chars": 2000}
FIXED_FLAGS = {"fixed_steps": 16, "canvas": None, "batch": 1, "prompt_tokens": 128, "reference": False}
DEFAULT_HOLE = 16


def run(args) -> int:
    mine, theirs = (FIXED_FLAGS, INFILL_FLAGS) if args.config else (INFILL_FLAGS, FIXED_FLAGS)
    if stray := given_flags(args, theirs):
        raise EngineError(f"{', '.join(stray)}: only " + ("without --config (the infill mode)" if args.config
                                               else "with --config CONFIG_JSON (the fixed-steps mode)"))
    for name, default in mine.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.reference:
        try:
            import transformers  # noqa: F401
        except ImportError:
            raise EngineError("--reference: needs transformers (pip install 'infill-ls[test]')") from None
    if args.threads:
        torch.set_num_threads(args.threads)
    return bench_fixed(args) if args.config else bench_infill(args)


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="speed of the encoder and denoising steps",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p)
    p.add_argument("--hole", type=positive_int,
                   help="hole size in tokens for the infill mode, at most what one canvas holds (default: 16, or "
                        "what one canvas of the model holds if less)")
    p.add_argument("--prompt-chars", type=nonnegative_int,
                   help="prefix length in characters; the model reads at most its prompt window of the end "
                        "(default: 2000)")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed runs (default: 5)")
    p.add_argument("--warmup", type=nonnegative_int, default=1, help="untimed runs before them (default: 1)")
    p.add_argument("--threads", type=nonnegative_int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--config", type=user_path, metavar="CONFIG_JSON",
                   help="fixed-steps mode: random weights from this config.json instead of a checkpoint")
    p.add_argument("--fixed-steps", type=positive_int, help="passes per canvas (default: 16)")
    p.add_argument("--canvas", type=positive_int, help="canvas length (default: the config's)")
    p.add_argument("--batch", type=positive_int, help="rows (default: 1)")
    p.add_argument("--prompt-tokens", type=positive_int, help="prompt length in tokens (default: 128)")
    p.add_argument("--reference", action="store_true", help="also time the transformers implementation")
    p.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    p.set_defaults(func=run)
