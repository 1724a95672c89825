"""`infill-engine generate`: a prompt (--prompt, a file or stdin) to the text after it on stdout, canvas by canvas,
with the progress or the canvases drawn on stderr."""

from __future__ import annotations

import logging
import math
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

# engine.cli imports this module in `build_parser`, not at its top: its helpers are defined by then.
from engine.cli import UsageError, load_engine, read_text


def cmd_generate(args) -> int:
    prompt_text, source = read_prompt(args)
    # Frames on stderr: stdout holds the text alone, to pipe or redirect. They are the progress, where drawn.
    status = StatusLine(None if args.visual else sys.stderr)
    try:
        status.show(f"[loading {args.model or 'the embedded model'}]")
        return generate_text(args, prompt_text, source, status)
    finally:
        status.clear()


def generate_text(args, prompt_text: str, source: str, status: "StatusLine") -> int:
    import torch

    from engine.cache import PrefixCache
    from engine.checkpoint import first_line, out_of_memory
    from engine.generate import CanvasDone, Generation, generate_steps, make_generator
    from engine.visual import CanvasView

    eng = load_engine(args)
    status.clear()
    tok, model = eng.tokenizer, eng.model
    if args.chat:
        from engine.chat import read_chat_template, render_chat

        template = read_chat_template(eng.model_dir)
        text = render_chat(template, [{"role": "user", "content": prompt_text}], tok.special_tokens(),
                           source=chat_template_source(eng.model_dir))
        ids = tok.encode_markup(text)
        ids = ids if ids[:1] == [tok.bos_id] else [tok.bos_id, *ids]
    else:
        ids = [tok.bos_id, *tok.encode(prompt_text)]
    # Canvases are denoised whole; the text stops at the budget, as asked.
    budget = args.max_new_tokens or eng.generation.max_new_tokens
    ids = fit_context(eng, ids, budget, args, source)
    prompt = torch.tensor([ids], device=model.device)
    view = CanvasView(tok, sys.stderr) if args.visual else None
    # Frames redrawn in place would wipe text written between them: beside those, the text comes at the end.
    text = TextStream(sys.stdout, live=view is None or not view.tty)
    canvases, steps = math.ceil(budget / eng.canvas_length), eng.generation.max_denoising_steps
    started = time.perf_counter()
    result = None
    try:
        with torch.inference_mode():
            # On a CPU a causal encoder reads a long prompt in chunks, as infill's does: in one pass its attention
            # over T tokens takes T x T memory (one allocation of 8.4 GB at 45k tokens), and the process was killed.
            cache = PrefixCache(model).encode(ids)
            for event in generate_steps(model, prompt, eng.generation, make_generator(args.seed, model.device),
                                        max_new_tokens=budget, cache=cache):
                if isinstance(event, Generation):
                    result = event
                elif isinstance(event, CanvasDone):
                    if view is not None:
                        view.draw_result(event)
                    status.clear()
                    text.update(tok.decode(event.new_tokens[0, :budget].tolist()))
                elif view is not None:
                    view.draw(event)
                else:
                    status.show(f"[canvas {event.canvas_index + 1}/{canvases}  step {event.step}/{steps}]")
    except KeyboardInterrupt:
        # The finished canvases' text is out already, or held while frames were drawn: it ends as a whole run's.
        status.clear()
        if view is not None:
            view.finish()
        text.end()
        return 130
    except (MemoryError, RuntimeError) as err:
        if not out_of_memory(err):
            raise
        status.clear()
        if view is not None:
            view.finish()
        text.end()
        raise UsageError(f"{source}: out of memory on {model.device} for a prompt of {len(ids)} tokens and canvases "
                         f"of {eng.canvas_length} ({first_line(err)})") from None
    seconds = time.perf_counter() - started
    status.clear()
    if view is not None:
        view.finish()
    shown = result.new_tokens[0, :budget]
    text.update(tok.decode(shown.tolist()), final=True)
    text.end()
    # The tokens printed, not the whole last canvas's: `--max-new-tokens 8` of a 64-wide canvas said 4.00 a pass.
    written = int((shown != eng.generation.pad_token_id).sum()) if eng.generation.pad_token_id is not None \
        else shown.numel()
    canvases = f"{result.canvases} canvas{'es' if result.canvases != 1 else ''}"
    print(f"[{sum(result.steps_per_canvas)} steps over {canvases} "
          f"({', '.join(map(str, result.steps_per_canvas))}), "
          f"{written / max(int(result.forwards[0]), 1):.2f} tokens per forward, {seconds:.2f} s]", file=sys.stderr)
    return 0


def read_prompt(args) -> tuple[str, str]:
    """The prompt's text, and its name for messages."""
    if args.prompt is not None:
        return args.prompt, "--prompt"
    if args.prompt_file == "-":
        try:
            return sys.stdin.buffer.read().decode("utf-8-sig"), "stdin"
        except UnicodeDecodeError:
            raise UsageError("stdin: not UTF-8 text") from None
    return read_text(Path(args.prompt_file)), args.prompt_file


def fit_context(eng, ids: list[int], budget: int, args, source: str) -> list[int]:
    """`ids` (<bos> first) within the positions the model has, beside the new tokens' canvases, which are denoised
    whole: as infill's prompt, the text nearest the new tokens is kept, and what is left out is said. A chat prompt
    cut so would lose the template's opening of the turn, and is refused."""
    width, positions, name = eng.canvas_length, eng.checkpoint.config.max_position_embeddings, eng.model_dir.name
    canvases = math.ceil(budget / width)
    room = positions - canvases * width
    plural = "canvas" if canvases == 1 else "canvases"
    if room < 2:
        asked = (f"--max-new-tokens {budget}" if args.max_new_tokens
                 else f"max_new_tokens {budget} (the generation config's; give --max-new-tokens)")
        raise UsageError(f"{asked}: {name} has {positions} positions, too few for <bos>, a prompt and {canvases} "
                         f"{plural} of {width} new tokens")
    if len(ids) <= room:
        return ids
    if args.chat:
        raise UsageError(f"{source}: {len(ids)} tokens in the chat template, and {canvases} {plural} of {width} new "
                         f"tokens, take more than the {positions} positions {name} has")
    kept = room - 1
    # A warning of the engine's: the command says it as its own line (engine.cli's handler), begun with its name.
    logging.getLogger(__name__).warning(f"{source}: its first {len(ids) - 1 - kept} of {len(ids) - 1} tokens are left "
                                        f"out: {name} has {positions} positions, {canvases * width} of them for "
                                        f"{canvases} {plural} of new tokens")
    return [ids[0], *ids[len(ids) - kept:]]


class TextStream:
    """A text written to `out` as it grows: each part once no later tokens can change it."""

    def __init__(self, out: TextIO, live: bool = True):
        self.out = out
        self.live = live  # else held until `end`
        self.text = self.written = ""

    def update(self, text: str, final: bool = False) -> None:
        # A character cut short at the end decodes to U+FFFD (or to nothing, in a byte-level BPE's `decode`) until
        # the tokens with its other bytes come: held back, as the rest of it may yet change.
        self.text = text if final else text.rstrip("\ufffd")
        if self.live:
            self.flush()

    def flush(self) -> None:
        # A Ctrl-C between the write and its count (unbuffered, the reader already has it) had the part written again.
        with sigint_deferred():
            self.out.write(self.text[len(self.written):])
            self.written = self.text
            self.out.flush()

    def end(self) -> None:
        self.flush()
        self.out.write("\n")
        self.out.flush()


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """A Ctrl-C during the block raises KeyboardInterrupt after it."""
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


class StatusLine:
    """Progress at a terminal's cursor, taken away before anything else is written: text written to stdout on the
    same terminal goes on where it stopped. Without a terminal (`out` None or a file or pipe), nothing is shown."""

    def __init__(self, out: TextIO | None):
        self.out = out if out is not None and out.isatty() else None
        self.shown = False

    def show(self, text: str) -> None:
        if self.out is not None:
            # Cursor saved, the screen cleared from it, the status written dim, the cursor back where it was.
            self.out.write(f"\x1b7\x1b[J\x1b[2m{text}\x1b[0m\x1b8")
            self.out.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.out.write("\x1b[J")
            self.out.flush()
            self.shown = False


def chat_template_source(directory: Path) -> str:
    """Where read_chat_template found the template, for its errors: the file to open and fix."""
    jinja = directory / "chat_template.jinja"
    return str(jinja) if jinja.is_file() else f"{directory / 'tokenizer_config.json'}: chat_template"
