"""What filling a hole needs of a checkpoint but its weights (`InfillLookup`): the tokenizer, the canvases' geometry
and the fills the file spells out. No torch is imported here: a server offers those fills while torch and the
weights load (`engine.infill.InfillEngine` adds the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config import DEFAULT_MODEL_DIR, GenerationConfig, ModelConfig, read_json
from engine.errors import CheckpointError
from engine.lookup import lookup_fills
from engine.tokenizer import Tokenizer, model_text


@dataclass(frozen=True)
class Candidate:
    text: str
    # Mean log-probability of the chosen tokens over the hole (<= 0; higher is surer); a fill found in the file
    # takes the best model candidate's, as it is ranked above it.
    confidence: float
    steps: int  # denoising steps the request ran
    tokens_per_forward: float
    # or "file": the file spells it out elsewhere (engine.lookup); "beside": one of the files beside it does
    source: str = "model"


def default_model_dir() -> Path:
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise CheckpointError(
            f"{DEFAULT_MODEL_DIR}: the embedded default model is not installed; pass --model DIR")
    return DEFAULT_MODEL_DIR


def model_directory(model_dir: str | Path | None) -> Path:
    """The checkpoint directory a model path names, a leading `~` expanded; the embedded model's where none is given."""
    return Path(model_dir).expanduser() if model_dir else default_model_dir()


class InfillLookup:
    """What filling a hole needs of a checkpoint but its weights: its tokenizer and its canvases' geometry, for the
    windows around a hole, and the fills the file spells out (`copies`). Ready once the checkpoint's config and
    tokenizer are read (`engine.checkpoint.inspect_checkpoint`): a server offers those fills while the weights load,
    which takes minutes for a large checkpoint. Nothing here imports torch."""

    def __init__(self, config: ModelConfig, generation: GenerationConfig, tokenizer: Tokenizer, directory: Path):
        self.config = config
        self.generation = generation
        self.tokenizer = tokenizer
        self.model_dir = directory
        self.min_suffix_anchors = 8
        self.prompt_tokens = config.infill_prompt_tokens

    @classmethod
    def read(cls, directory: Path) -> "InfillLookup":
        """The checkpoint's config, generation config and tokenizer, read as `inspect_checkpoint` reads them (which
        checks all the rest). No torch: a server has these a torch import (seconds) before the model."""
        config = ModelConfig.load(directory / "config.json")
        gen_path = directory / "generation_config.json"
        generation = GenerationConfig.from_hf(read_json(gen_path) if gen_path.exists() else {}, config, str(gen_path))
        _check_readable(directory / "tokenizer.json")
        tokenizer = Tokenizer.from_file(directory / "tokenizer.json", config.pad_token_id, config.eos_token_id,
                                        config.bos_token_id, vocab_size=config.vocab_size,
                                        stop_ids=generation.eos_token_ids)
        return cls(config, generation, tokenizer, directory)

    # -- facts -------------------------------------------------------------------------------------------------
    @property
    def canvas_length(self) -> int:
        return self.config.canvas_length

    def count_tokens(self, text: str) -> int:
        """Tokens the model reads for `text` (`model_text`)."""
        return len(self.tokenizer.encode(model_text(text)))

    def prompt_room(self, requested: int | None = None) -> int:
        """The encoder's prompt length in tokens, `<bos>` included: `requested` (a caller's context setting), else
        the checkpoint's `infill_prompt_tokens`; never so long that the widest canvas after it would run past the
        positions the model has (`max_position_embeddings`)."""
        limit = self.config.max_position_embeddings - max(self.canvas_widths())
        return max(2, min(requested or self.prompt_tokens, limit))

    @property
    def hole_capacity(self) -> int:
        """The most tokens the holes of one canvas (and the text between them) may take: the widest canvas the model
        was trained on, less the fewest suffix anchors. Beyond it a canvas is wider than any the model has seen,
        and each step costs in proportion."""
        return max(self.canvas_widths()) - self.min_suffix_anchors

    def check_holes(self) -> None:
        """Raise `CheckpointError`, naming the config, where the widest canvas leaves no room for a hole beside the
        suffix anchors a fill keeps: every fill would fail, each with an error of its own."""
        if self.hole_capacity < 1:
            raise CheckpointError(
                f"{self.model_dir / 'config.json'}: the widest canvas is {max(self.canvas_widths())} tokens, no room "
                f"for a hole beside the {self.min_suffix_anchors} suffix anchors a fill keeps; filling holes needs "
                f"canvas_length or an infill_canvas_lengths entry of at least {self.min_suffix_anchors + 1}")

    def canvas_widths(self) -> list[int]:
        return sorted({*(self.config.infill_canvas_lengths or ()), self.canvas_length})

    def copies(self, before: str, after: str, *, max_tokens: int = 24, limit: int = 1,
               elsewhere: Sequence[str] = (), prose: bool = False) -> list[Candidate]:
        """Fills the file (or another file in `elsewhere`) spells out in the same surroundings (`engine.lookup`)
        that fit the hole's token budget, strongest first, at most `limit`; `prose`: the file is prose, searched by
        keys of whole words. No model pass: they come with confidence 0 and no steps."""
        # Converted as the lookup reads them, which it does only when the file's own finds leave room: a list built
        # here read a lazy `elsewhere` (the files beside a document) even for a keystroke the file itself answers.
        found = lookup_fills(model_text(before), model_text(after), limit=max(1, limit),
                             elsewhere=(model_text(text) for text in elsewhere), prose=prose)
        return [Candidate(fill.text, 0.0, 0, 0.0, "beside" if fill.elsewhere else "file")
                for fill in found if self.count_tokens(fill.text) <= max_tokens]


def _check_readable(path: Path) -> None:
    """Raise CheckpointError for a file there that this user may not read: the tokenizers library says so as an
    invalid file."""
    try:
        with open(path, "rb"):
            pass
    except (FileNotFoundError, IsADirectoryError):
        return  # said by the reader as a file not found
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be read ({err.strerror or err})") from None
