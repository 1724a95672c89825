"""Draw a canvas as it denoises: on a terminal redrawn in place, accepted tokens bright, noise dim, anchors blue; in a
log, frame after frame as plain text."""

from __future__ import annotations

from typing import TextIO

from engine.generate import CanvasDone, Step
from engine.tokenizer import Tokenizer

BRIGHT, DIM, BLUE, RESET = "\x1b[1;32m", "\x1b[2m", "\x1b[34m", "\x1b[0m"


def token_cell(text: str) -> str:
    """A token as one cell of the drawing: control characters shown, so noise can't break the layout."""
    return "".join(ch if ch.isprintable() else ("\u21b5" if ch == "\n" else "\u00b7") for ch in text)


class CanvasView:
    def __init__(self, tokenizer: Tokenizer, out: TextIO, row: int = 0):
        self.tok = tokenizer
        self.out = out
        self.row = row
        self.tty = out.isatty()

    def render(self, step: Step) -> str:
        current = step.current[self.row].tolist()
        accepted = step.accepted[self.row].tolist()
        anchor = step.anchor[self.row].tolist()
        cells = self._cells(current, [BLUE if anc else BRIGHT if acc else DIM for acc, anc in zip(accepted, anchor)])
        done = " (stopped)" if bool(step.finished[self.row]) else ""
        head = (f"canvas {step.canvas_index + 1}  step {step.step}  "
                f"accepted {sum(accepted)}/{len(current) - sum(anchor)}{done}")
        return head + "\n" + cells + "\n"

    def render_result(self, done: CanvasDone) -> str:
        """The canvas as it goes into the output: the last pass's argmax, pad after EOS. A step's frame shows the
        next pass's input, re-noised where nothing was accepted, which at the step limit is mostly noise."""
        ids = done.canvas[self.row].tolist()
        cells = self._cells(ids, [DIM if tok_id == self.tok.pad_id else BRIGHT for tok_id in ids])
        how = "stopped" if bool(done.stopped[self.row]) else "step limit"
        return (f"canvas {done.canvas_index + 1}  result after {done.steps} step{'s' * (done.steps != 1)} ({how})\n"
                + cells + "\n")

    def _cells(self, ids: list[int], colors: list[str]) -> str:
        # Colour codes only for a terminal: in a log they are noise.
        cells = (token_cell(self.tok.token_text(tok_id)) for tok_id in ids)
        return "".join(f"{color}{cell}{RESET}" if self.tty else cell for cell, color in zip(cells, colors))

    def draw(self, step: Step) -> None:
        self._frame(self.render(step))

    def draw_result(self, done: CanvasDone) -> None:
        self._frame(self.render_result(done))

    def _frame(self, text: str) -> None:
        # On a terminal, redraw in place; in a log, frames follow each other.
        prefix = "\x1b[H\x1b[2J" if self.tty else ""
        self.out.write(prefix + text)
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")
        self.out.flush()
