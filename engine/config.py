"""Configuration read from a checkpoint's `config.json` and `generation_config.json` (Hugging Face layout)."""

from __future__ import annotations

import difflib
import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import CheckpointError

# The embedded default model, installed with the package: a light module holds it, so that the commands that write
# folders (corpus, train) refuse it as their --out without importing torch.
DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model"
ARCHITECTURE = "DiffusionGemmaForBlockDiffusion"
SLIDING = "sliding_attention"
FULL = "full_attention"
# ModelConfig fields that config.json keeps at its top level, beside text_config.
TOP_LEVEL = ("canvas_length", "infill_prompt_tokens", "infill_canvas_lengths")
# What the reference reads where config.json leaves a field out (the 26B checkpoint's shapes); ModelConfig's own
# defaults suit the small models built here, and read for a missing field they built a model of other shapes, or
# (canvas_length) silently denoised blocks of another size.
HF_TEXT_DEFAULTS: dict[str, Any] = {
    "vocab_size": 262_144, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 30,
    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
    "max_position_embeddings": 131_072, "rms_norm_eps": 1e-6, "sliding_window": 512,
    "final_logit_softcapping": 30.0,
}
HF_GLOBAL_HEAD_DIM = 512
HF_CANVAS_LENGTH = 256
# Fields that size the weights: one read as the reference's default for an absent key is named beside a tensor whose
# shape then does not match, which otherwise blamed the shard.
SHAPE_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
                "head_dim", "per_layer_config")
# The most layers a config may ask for. The deepest published transformers have under 130 (Llama 3.1 405B: 126,
# the 26B DiffusionGemma: 30); listing and building a hundred thousand took minutes before any weight was read, and
# a billion layers ran out of memory listing their kinds.
MAX_LAYERS = 1000
# The widest attention head a config may ask for. Published heads are at most 512 wide (Gemma's full layers); the
# RoPE tables are built at this width with the network, before any weight is read, and a billion-wide head took
# 12 s and 2 GB before it failed.
MAX_HEAD_DIM = 4096
# The coolest first temperature the sampler divides by: the step's temperature is a float32 (`sampler.temperature`),
# where a far smaller one is 0, and the logits over it no numbers.
MIN_TEMPERATURE = 1e-6
BIDIRECTIONAL = ("all", "vision")  # the reference's use_bidirectional_attention values besides null
# The tanh approximation is the network's activation; an exact "gelu" would run as it, a little off.
GELUS = ("gelu_pytorch_tanh", "gelu_new")


@dataclass(frozen=True)
class LayerSpec:
    """What differs between layers: attention kind, head size, KV heads and RoPE."""

    kind: str  # SLIDING or FULL
    head_dim: int
    num_kv_heads: int
    rope_theta: float
    rope_fraction: float  # share of each head's dims that rotate; the rest pass through (proportional RoPE)
    rope_type: str = "default"
    rope_factor: float = 1.0  # proportional RoPE divides its frequencies by this (context extension)

    @property
    def sliding(self) -> bool:
        return self.kind == SLIDING


def layer_kinds(types: Any, layers: int) -> Any:
    """The layers' kinds as the reference lays them out: by default five sliding layers to one full layer; either
    way the last layer is full (it attends to everything, whatever a list says). Anything but a list is left for
    `ModelConfig.check` to name."""
    if types is None:
        known = _is_int(layers) and layers <= MAX_LAYERS
        types = [FULL if (i + 1) % 6 == 0 else SLIDING for i in range(layers)] if known else []
    if isinstance(types, list) and types and types[-1] == SLIDING:
        return [*types[:-1], FULL]
    return types


@dataclass
class ModelConfig:
    vocab_size: int = 8192
    hidden_size: int = 256
    intermediate_size: int = 512
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    global_head_dim: int = 128
    num_global_key_value_heads: int = 1
    sliding_window: int = 512
    layer_types: list[str] | None = None
    num_experts: int = 8
    top_k_experts: int = 2
    moe_intermediate_size: int = 256
    rms_norm_eps: float = 1e-6
    final_logit_softcapping: float | None = 30.0
    rope_parameters: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            SLIDING: {"rope_type": "default", "rope_theta": 10_000.0},
            FULL: {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1_000_000.0},
        }
    )
    # Per-layer head size / KV heads; None derives them from global_head_dim for full layers, as the reference does.
    per_layer_config: dict[str, dict[str, int]] | None = None
    hidden_activation: str = "gelu_pytorch_tanh"
    encoder_bidirectional: bool = False
    pad_token_id: int = 0
    eos_token_id: int = 1
    # Further ids that end the output as EOS does: an instruction-tuned checkpoint lists its end-of-turn beside it.
    extra_eos_token_ids: list[int] = field(default_factory=list)
    bos_token_id: int = 2
    canvas_length: int = 64
    max_position_embeddings: int = 131_072
    # Longest prompt (prefix) an infill sends through the encoder; small models know only short contexts.
    infill_prompt_tokens: int = 1024
    # Canvas widths the model was trained on besides canvas_length: a short hole may use a narrower, cheaper one.
    infill_canvas_lengths: list[int] | None = None
    # What from_hf read for a key config.json leaves out, by field: "text_config.hidden_size is absent: read as 2304"
    defaulted: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        self.layer_types = layer_kinds(self.layer_types, self.num_hidden_layers)
        if isinstance(self.layer_types, list) and _is_int(self.num_hidden_layers) and \
                self.num_hidden_layers <= MAX_LAYERS and len(self.layer_types) != self.num_hidden_layers:
            raise ValueError(f"layer_types has {len(self.layer_types)} entries for {self.num_hidden_layers} layers")
        if self.per_layer_config is None:
            self.per_layer_config = {
                str(i): {"head_dim": self.global_head_dim, "num_key_value_heads": self.num_global_key_value_heads}
                for i, kind in enumerate(self.layer_types)
                if kind == FULL
            }

    def layer(self, index: int) -> LayerSpec:
        kind = self.layer_types[index]
        override = self.per_layer_config.get(str(index), {})
        rope = self.rope_parameters.get(kind) or {}
        rope_type = rope.get("rope_type", "default")
        if rope_type not in ("default", "proportional"):
            raise ValueError(f"unsupported rope_type {rope_type!r} for {kind}")
        return LayerSpec(
            kind=kind,
            head_dim=int(override.get("head_dim", self.head_dim)),
            num_kv_heads=int(override.get("num_key_value_heads", self.num_key_value_heads)),
            rope_theta=float(rope.get("rope_theta", 10_000.0)),
            rope_fraction=float(rope.get("partial_rotary_factor", 1.0)),
            rope_type=rope_type,
            rope_factor=float(rope.get("factor", 1.0)) if rope_type == "proportional" else 1.0,
        )

    @property
    def layers(self) -> list[LayerSpec]:
        return [self.layer(i) for i in range(self.num_hidden_layers)]

    # -- Hugging Face config.json ------------------------------------------------------------------------------
    @classmethod
    def from_hf(cls, data: dict[str, Any], source: str = "config.json") -> "ModelConfig":
        archs = data.get("architectures") or []
        model_type = data.get("model_type")
        if ARCHITECTURE not in archs and model_type != "diffusion_gemma":
            found = ", ".join(archs) or model_type or "nothing"
            raise CheckpointError(f"{source}: unknown architecture {found!r}; expected {ARCHITECTURE}")
        text = data.get("text_config")
        if not isinstance(text, dict):
            raise CheckpointError(f"{source}: missing text_config")
        for where, holder in (("", data), ("text_config.", text)):
            if holder.get("quantization_config") is not None:
                quant = holder["quantization_config"]
                method = f" ({quant['quant_method']})" if isinstance(quant, dict) and "quant_method" in quant else ""
                raise CheckpointError(f"{source}: {where}quantization_config{method}: quantized checkpoints are "
                                      "not supported")
        _check_flags(data, text, source)
        for key in ("num_experts", "top_k_experts", "moe_intermediate_size"):
            if not text.get(key):
                raise CheckpointError(f"{source}: text_config.{key} is required (every layer has experts)")
        known = {f.name for f in fields(cls)}
        kwargs = {**HF_TEXT_DEFAULTS, **{k: v for k, v in text.items() if k in known}}
        defaulted = _defaulted(text, known)
        layer_types = kwargs["layer_types"] = layer_kinds(kwargs.get("layer_types"), kwargs["num_hidden_layers"])
        count = kwargs["num_hidden_layers"]
        if not _is_int(count) or count < 1:
            # Said first: the layers' other settings read against it said "layer_types has 2 entries for 0 layers".
            raise CheckpointError(f"{source}: text_config.num_hidden_layers must be a positive integer, got {count!r}")
        if isinstance(layer_types, list) and count <= MAX_LAYERS and len(layer_types) != count:
            note = f" ({defaulted['num_hidden_layers']})" if "num_hidden_layers" in defaulted else ""
            raise CheckpointError(f"{source}: text_config.layer_types has {len(layer_types)} entries for {count} "
                                  f"layers{note}")
        if text.get("per_layer_config") is None and isinstance(layer_types, list):
            # The reference's derivation: full layers take global_head_dim (512 unless given), and their own KV
            # heads only where num_global_key_value_heads is given.
            override = {"head_dim": text.get("global_head_dim", HF_GLOBAL_HEAD_DIM)}
            if text.get("num_global_key_value_heads") is not None:
                override["num_key_value_heads"] = text["num_global_key_value_heads"]
            kwargs["per_layer_config"] = {str(i): dict(override) for i, kind in enumerate(layer_types) if kind == FULL}
        bidir = text.get("use_bidirectional_attention")
        # "vision": image tokens attend both ways, text causally; a text-only engine reads it as null.
        kwargs["encoder_bidirectional"] = bidir == "all"
        if bidir == "all":
            window = text.get("sliding_window")
            if not _is_int(window) or window < 1:
                raise CheckpointError(f"{source}: text_config.sliding_window must be a positive integer when "
                                      f'use_bidirectional_attention is "all", got {window!r}')
            # The reference stores 2*(w-1) and halves it on load: flash-attention uses exclusive bounds.
            kwargs["sliding_window"] = window // 2 + 1
        for key in ("eos_token_id", "pad_token_id", "bos_token_id"):
            value = text.get(key)
            if isinstance(value, list):
                kwargs[key] = value[0] if value else None
            elif value is None:
                kwargs.pop(key, None)
        # The reference keeps the ids that end a reply at the top level too; every one of them stops the output.
        stops = _id_list(text.get("eos_token_id"), source) + _id_list(data.get("eos_token_id"), source)
        kwargs["extra_eos_token_ids"] = _besides(kwargs.get("eos_token_id", cls.eos_token_id), stops)
        kwargs["canvas_length"] = HF_CANVAS_LENGTH
        for key in ("canvas_length", "infill_prompt_tokens"):
            if data.get(key) is not None:
                kwargs[key] = data[key]
        widths = data.get("infill_canvas_lengths")
        if widths is not None:
            if not isinstance(widths, list) or not all(isinstance(w, int) and w > 0 for w in widths):
                raise CheckpointError(f"{source}: infill_canvas_lengths must be a list of positive integers")
            kwargs["infill_canvas_lengths"] = sorted(set(widths))
        layers = kwargs.get("per_layer_config")
        if isinstance(layers, dict) and all(isinstance(v, dict) for v in layers.values()):
            # Keys are layer indices, which the reference writes zero-padded ("05" of 30 layers) and reads as
            # integers; read as text, "05" matched no layer and the full layers were built with sliding shapes.
            try:
                indices = {int(k): dict(v) for k, v in layers.items()}
            except ValueError:
                indices = {-1: {}}
            count = kwargs["num_hidden_layers"]
            if not all(0 <= i < count for i in indices):
                raise CheckpointError(f"{source}: text_config.per_layer_config keys must be layer indices below "
                                      f"num_hidden_layers ({count}), got {sorted(layers)!r}")
            kwargs["per_layer_config"] = {str(i): v for i, v in indices.items()}
        try:
            config = cls(**kwargs)
        except (TypeError, ValueError, AttributeError) as err:
            raise CheckpointError(f"{source}: {err}") from None
        config.defaulted = defaulted
        config.check(source)
        return config

    def absent_note(self, keys: tuple[str, ...] = SHAPE_FIELDS, file: str = "config.json") -> str:
        """What config.json left out of `keys` and was read as the reference's default, as a parenthesis for a
        message (`file`: named first, for a message about another file); "" when it left out none of them."""
        notes = [self.defaulted[k] for k in keys if k in self.defaulted]
        return f" ({file + ': ' if file else ''}{'; '.join(notes[:3])})" if notes else ""

    def check(self, source: str = "config.json") -> None:
        """Raise CheckpointError naming `source` and the field for a value the network cannot be built or run with,
        so that a hand-edited or foreign config fails at loading in one line rather than deep in a forward pass."""
        def fail(key: str, wanted: str, value: Any = ...) -> None:
            name = key if key in TOP_LEVEL else f"text_config.{key}"
            value = getattr(self, key) if value is ... else value
            raise CheckpointError(f"{source}: {name} must be {wanted}, got {value!r}")

        for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "head_dim", "global_head_dim", "num_global_key_value_heads",
                    "sliding_window", "num_experts", "top_k_experts", "moe_intermediate_size", "canvas_length",
                    "max_position_embeddings", "infill_prompt_tokens"):
            if not _is_int(getattr(self, key)) or getattr(self, key) < 1:
                fail(key, "a positive integer")
        if self.num_hidden_layers > MAX_LAYERS:
            fail("num_hidden_layers", f"at most {MAX_LAYERS} (the deepest published models have under 130)")
        for key in ("head_dim", "global_head_dim"):
            if getattr(self, key) > MAX_HEAD_DIM:
                fail(key, f"at most {MAX_HEAD_DIM} (published heads are at most 512 wide)")
        for key in ("pad_token_id", "eos_token_id", "bos_token_id"):
            if not _is_int(getattr(self, key)) or not 0 <= getattr(self, key) < self.vocab_size:
                fail(key, f"a token id below vocab_size ({self.vocab_size})")
        if not all(_is_int(i) and 0 <= i < self.vocab_size for i in self.extra_eos_token_ids):
            raise CheckpointError(f"{source}: eos_token_id must list token ids below vocab_size ({self.vocab_size}), "
                                  f"got {[self.eos_token_id, *self.extra_eos_token_ids]!r}")
        for width in (self.canvas_length, *(self.infill_canvas_lengths or ())):
            # Encoder prompt and canvas share the positions; a canvas as wide as all of them leaves no room.
            if _is_int(width) and width >= self.max_position_embeddings:
                raise CheckpointError(f"{source}: canvas width {width} must be smaller than "
                                      f"text_config.max_position_embeddings ({self.max_position_embeddings})")
        if self.top_k_experts > self.num_experts:
            fail("top_k_experts", f"at most num_experts ({self.num_experts})")
        if not _is_number(self.rms_norm_eps) or self.rms_norm_eps <= 0:
            fail("rms_norm_eps", "a positive number")
        if self.final_logit_softcapping is not None and (
                not _is_number(self.final_logit_softcapping) or self.final_logit_softcapping <= 0):
            fail("final_logit_softcapping", "a positive number or null")
        if self.hidden_activation not in GELUS:
            fail("hidden_activation", '"gelu_pytorch_tanh" (the network has no other activation)')
        if not isinstance(self.layer_types, list) or any(kind not in (SLIDING, FULL) for kind in self.layer_types):
            fail("layer_types", f'a list of "{SLIDING}" and "{FULL}"')
        if not isinstance(self.rope_parameters, dict) or not all(
                isinstance(self.rope_parameters.get(kind, {}), dict) for kind in set(self.layer_types)):
            fail("rope_parameters", "an object of one object per layer type")
        for kind in dict.fromkeys(self.layer_types):
            # The reference raises on a layer type without its RoPE, or without a theta; read as defaults, such
            # layers ran with another RoPE than the checkpoint was trained with (logits off by 0.3).
            if kind not in self.rope_parameters:
                raise CheckpointError(f"{source}: text_config.rope_parameters.{kind} is required: layer "
                                      f'{self.layer_types.index(kind)} is "{kind}"')
            rope = self.rope_parameters[kind]
            if "rope_theta" not in rope:
                raise CheckpointError(f"{source}: text_config.rope_parameters.{kind}.rope_theta is required")
            for key, wanted, ok in (("rope_theta", "a positive number", lambda v: v > 0),
                                    ("partial_rotary_factor", "a number from 0 to 1", lambda v: 0 <= v <= 1),
                                    ("factor", "a positive number", lambda v: v > 0)):
                if key in rope and not (_is_number(rope[key]) and ok(rope[key])):
                    fail(f"rope_parameters.{kind}.{key}", wanted, rope[key])
        if not isinstance(self.per_layer_config, dict) or not all(
                isinstance(v, dict) and all(_is_int(n) and n > 0 for n in v.values())
                and v.get("head_dim", 1) <= MAX_HEAD_DIM for v in self.per_layer_config.values()):
            fail("per_layer_config", "an object of {head_dim, num_key_value_heads} objects by layer index, "
                 f"head_dim at most {MAX_HEAD_DIM}")
        try:
            layers = self.layers
        except (TypeError, ValueError, OverflowError) as err:
            raise CheckpointError(f"{source}: text_config.rope_parameters: {err}") from None
        for i, layer in enumerate(layers):
            if self.num_attention_heads % layer.num_kv_heads:
                raise CheckpointError(f"{source}: layer {i} has {layer.num_kv_heads} KV heads, which do not divide "
                                      f"num_attention_heads ({self.num_attention_heads})")

    def to_hf(self) -> dict[str, Any]:
        text = asdict(self)
        for key in ("canvas_length", "infill_prompt_tokens", "infill_canvas_lengths", "encoder_bidirectional",
                    "global_head_dim", "num_global_key_value_heads"):
            text.pop(key)
        if text.pop("extra_eos_token_ids"):
            text["eos_token_id"] = self.eos_token_ids
        text.update(model_type="diffusion_gemma_text", tie_word_embeddings=True, attention_bias=False,
                    use_bidirectional_attention="all" if self.encoder_bidirectional else None)
        if self.encoder_bidirectional:
            text["sliding_window"] = 2 * (self.sliding_window - 1)  # as stored: from_hf halves it
        return {
            "architectures": [ARCHITECTURE],
            "model_type": "diffusion_gemma",
            "canvas_length": self.canvas_length,
            "infill_prompt_tokens": self.infill_prompt_tokens,
            **({"infill_canvas_lengths": self.infill_canvas_lengths} if self.infill_canvas_lengths else {}),
            "tie_word_embeddings": True,
            "text_config": text,
        }

    @property
    def eos_token_ids(self) -> list[int]:
        """Every id that ends the output, EOS first."""
        return [self.eos_token_id, *self.extra_eos_token_ids]

    @classmethod
    def load(cls, path: Path) -> "ModelConfig":
        run = Path(path).parent
        if not Path(path).exists() and (run / "last" / "config.json").is_file():
            # `--model runs/mine`: the run's folder, which holds its checkpoints.
            best = run / "best"
            raise CheckpointError(f"{run}: a training run's folder, not a checkpoint; its checkpoints are "
                                  + (f"{best} (the lowest held-out loss) and " if best.is_dir() else "")
                                  + f"{run / 'last'}")
        if not Path(path).exists() and run.is_dir() and not any(run.glob("*.safetensors")):
            # `--init-from ~/src/myproject`, the repository for the corpus: "config.json: file not found".
            raise CheckpointError(f"{run}: not a checkpoint directory (it holds no config.json nor weights)")
        return cls.from_hf(read_json(path), source=str(path))


# The sampler configuration a generation config names: the reference's, Hugging Face transformers' class name.
SAMPLER_CONFIG = "EntropyBoundSamplerConfig"


@dataclass
class GenerationConfig:
    """Sampler defaults; the reference's `generation_config.json` keys."""

    max_new_tokens: int = 256
    max_denoising_steps: int = 48
    entropy_bound: float = 0.1
    t_min: float = 0.4
    t_max: float = 0.8
    stability_threshold: int = 1
    confidence_threshold: float = 0.005
    eos_token_id: int | None = None
    pad_token_id: int | None = None
    extra_eos_token_ids: list[int] = field(default_factory=list)  # as ModelConfig's
    suppress_tokens: list[int] = field(default_factory=list)  # ids never written (Hugging Face's key)
    # Whether the model's own fill of a blank line (a whole line guessed with nothing typed on it) is worth showing
    # while typing: a small model's are noise (a server may let its user say otherwise).
    infill_new_lines: bool = True

    @classmethod
    def from_hf(cls, data: dict[str, Any], model: ModelConfig | None = None,
                source: str = "generation_config.json") -> "GenerationConfig":
        out = cls()
        for key in ("max_new_tokens", "max_denoising_steps", "t_min", "t_max", "stability_threshold",
                    "confidence_threshold", "eos_token_id", "pad_token_id"):
            value = data.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if value is not None:
                setattr(out, key, value)
        stops = _id_list(data.get("eos_token_id"), source) + (model.eos_token_ids if model is not None else [])
        sampler = data.get("sampler_config")
        if sampler is not None:
            # Held to what Hugging Face transformers loads it as, an EntropyBoundSamplerConfig of one field: a
            # misspelt `entropy_bnd`, or another sampler's config, ran the default bound without a word.
            if not isinstance(sampler, dict):
                raise CheckpointError(f"{source}: sampler_config must be an object, got {sampler!r}")
            kind = sampler.get("_cls_name", SAMPLER_CONFIG)
            if kind != SAMPLER_CONFIG:
                raise CheckpointError(f"{source}: sampler_config._cls_name must be {SAMPLER_CONFIG!r} (the one "
                                      f"sampler this engine runs), got {kind!r}")
            unknown = sorted(set(sampler) - {"_cls_name", "entropy_bound"})
            if unknown:
                raise CheckpointError(f"{source}: sampler_config.{unknown[0]}: not a field of {SAMPLER_CONFIG} "
                                      "(entropy_bound)")
            if sampler.get("entropy_bound") is not None:
                out.entropy_bound = sampler["entropy_bound"]
        if model is not None:
            out.eos_token_id = model.eos_token_id if out.eos_token_id is None else out.eos_token_id
            out.pad_token_id = model.pad_token_id if out.pad_token_id is None else out.pad_token_id
        out.extra_eos_token_ids = _besides(out.eos_token_id, stops)
        new_lines = data.get("infill_new_lines")
        if new_lines is not None:
            if not isinstance(new_lines, bool):
                raise CheckpointError(f"{source}: infill_new_lines must be true or false, got {new_lines!r}")
            out.infill_new_lines = new_lines
        suppressed = data.get("suppress_tokens")
        if suppressed is not None:
            if not isinstance(suppressed, list):
                raise CheckpointError(f"{source}: suppress_tokens must be a list of token ids, got {suppressed!r}")
            out.suppress_tokens = suppressed
        out.check(source, model.vocab_size if model is not None else None)
        return out

    def check(self, source: str = "generation_config.json", vocab_size: int | None = None) -> None:
        """Raise CheckpointError naming `source` and the key for a value the sampler cannot run with."""
        def fail(key: str, wanted: str, value: Any) -> None:
            raise CheckpointError(f"{source}: {key} must be {wanted}, got {value!r}")

        for key in ("max_new_tokens", "max_denoising_steps", "stability_threshold"):
            value = getattr(self, key)
            if not _is_int(value) or value < (0 if key == "stability_threshold" else 1):
                fail(key, "a positive integer" if key != "stability_threshold" else "an integer from 0", value)
        # t_min may be 0, as in the reference: the schedule never reaches it (the last step is t_min + (t_max-t_min)/N).
        for key in ("t_min", "t_max"):
            value, least = getattr(self, key), MIN_TEMPERATURE if key == "t_max" else 0
            if not _is_number(value) or value < least:
                fail(key, f"a positive number of at least {least:g}" if least else "a number from 0", value)
        if self.t_min > self.t_max:
            fail("t_min", f"at most t_max ({self.t_max})", self.t_min)
        for key, value in (("confidence_threshold", self.confidence_threshold),
                           ("sampler_config.entropy_bound", self.entropy_bound)):
            if not _is_number(value) or value < 0:
                fail(key, "a number from 0", value)
        for key in ("eos_token_id", "pad_token_id"):
            value = getattr(self, key)
            if value is not None and (not _is_int(value) or value < 0 or (vocab_size and value >= vocab_size)):
                fail(key, "a token id in the vocabulary", value)
        for value in self.extra_eos_token_ids:
            if not _is_int(value) or value < 0 or (vocab_size and value >= vocab_size):
                fail("eos_token_id", "a list of token ids in the vocabulary", self.eos_token_ids)
        for value in self.suppress_tokens:
            if not _is_int(value) or value < 0 or (vocab_size and value >= vocab_size):
                fail("suppress_tokens", "a list of token ids in the vocabulary", self.suppress_tokens)
        if vocab_size and len(set(self.suppress_tokens)) >= vocab_size:
            # Every logit -inf: the sampler's probabilities are NaN, and no step could write a token.
            raise CheckpointError(f"{source}: suppress_tokens lists every token id of the vocabulary ({vocab_size}), "
                                  "leaving none to write")
        self.entropy_bound = float(self.entropy_bound)

    @property
    def eos_token_ids(self) -> list[int]:
        """Every id that ends the output, EOS first (none when there is no EOS)."""
        return [] if self.eos_token_id is None else [self.eos_token_id, *self.extra_eos_token_ids]

    def to_hf(self) -> dict[str, Any]:
        data = asdict(self)
        if data.pop("extra_eos_token_ids"):
            data["eos_token_id"] = self.eos_token_ids
        if not data["suppress_tokens"]:
            del data["suppress_tokens"]
        data["sampler_config"] = {"entropy_bound": data.pop("entropy_bound"), "_cls_name": SAMPLER_CONFIG}
        return data


def _check_flags(data: dict[str, Any], text: dict[str, Any], source: str) -> None:
    """The reference's typed switches: a value of another type (the string "false") is refused, as it refuses it."""
    for where, holder in (("", data), ("text_config.", text)):
        for key in ("tie_word_embeddings", "attention_bias"):
            value = holder.get(key)
            if value is not None and not isinstance(value, bool):
                raise CheckpointError(f"{source}: {where}{key} must be true or false, got {value!r}")
    if text.get("attention_bias"):
        raise CheckpointError(f"{source}: attention_bias=true is not supported")
    if data.get("tie_word_embeddings") is False or text.get("tie_word_embeddings") is False:
        # The output layer is the input embedding here; an lm_head of its own would be skipped unread.
        raise CheckpointError(f"{source}: tie_word_embeddings=false (an output layer of its own) is not supported")
    bidir = text.get("use_bidirectional_attention")
    if bidir is not None and bidir not in BIDIRECTIONAL:
        raise CheckpointError(f'{source}: text_config.use_bidirectional_attention must be "all", "vision" or null, '
                              f"got {bidir!r}")


def _defaulted(text: dict[str, Any], known: set[str]) -> dict[str, str]:
    """For each field text_config leaves out and the reference's default fills in, a note saying so, with a key of
    text_config that looks like its misspelling."""
    strays = [k for k in text if k not in known]
    notes = {}
    for key, value in HF_TEXT_DEFAULTS.items():
        if key not in text:
            near = difflib.get_close_matches(key, strays, n=1, cutoff=0.8)
            notes[key] = f"text_config.{key} is absent: read as {value!r}" + \
                (f"; text_config has {near[0]}" if near else "")
    if text.get("per_layer_config") is None and "global_head_dim" not in text:
        notes["per_layer_config"] = ("text_config.per_layer_config and global_head_dim are absent: full layers "
                                     f"read with head_dim {HF_GLOBAL_HEAD_DIM}")
    return notes


def _id_list(value: Any, source: str) -> list[int]:
    """A token id setting, one id or a list of them, as a list."""
    ids = [] if value is None else list(value) if isinstance(value, list) else [value]
    if not all(_is_int(i) for i in ids):
        raise CheckpointError(f"{source}: eos_token_id must be a token id or a list of them, got {value!r}")
    return ids


def _besides(first: Any, ids: list[int]) -> list[int]:
    """`ids` in order, once each, leaving out `first`: the stop ids that go with an EOS id."""
    return [i for i in dict.fromkeys(ids) if i != first]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    # json reads NaN and Infinity, which pass every comparison check and poison the logits.
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def new_file_mode() -> int:
    """The permissions a file made now gets: 0o666 less the umask, which only setting it reads."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: a folder, not a file") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data
