"""Checkpoints in the Hugging Face layout: config.json, generation_config.json, safetensors (one file or shards
with an index) and tokenizer.json. Only safetensors and JSON are ever read."""

from __future__ import annotations

import errno
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from engine.config import GenerationConfig, ModelConfig, read_json
from engine.errors import CheckpointError
from engine.model import DiffusionGemma
from engine.tokenizer import Tokenizer

SHARD_BYTES = 16 * 1024 * 1024
DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
FLOAT_STORAGE = ("F32", "BF16", "F16", "F64")  # safetensors' names of the dtypes weights may be stored in
INDEX = "model.safetensors.index.json"
_SKIPPED = ("model.encoder.vision_tower.", "model.encoder.embed_vision.", "lm_head.")


def hf_to_native(name: str) -> str | None:
    """Our parameter name for a checkpoint tensor, or None for tensors we do not serve (vision, tied head)."""
    if name.startswith(_SKIPPED):
        return None
    if m := re.fullmatch(r"model\.encoder\.language_model\.layers\.(\d+)\.layer_scalar", name):
        return f"layers.{m.group(1)}.encoder_layer_scalar"
    for prefix in ("model.decoder.", "model.encoder.language_model."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return ""  # unknown


def native_to_hf(name: str) -> str:
    if m := re.fullmatch(r"layers\.(\d+)\.encoder_layer_scalar", name):
        return f"model.encoder.language_model.layers.{m.group(1)}.layer_scalar"
    return "model.decoder." + name


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CheckpointError(f"device {device!r} requested but no CUDA device is available")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise CheckpointError(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        n = torch.cuda.device_count()
        raise CheckpointError(f"device {device!r} requested but only {n} CUDA "
                              + ("device is" if n == 1 else "devices are") + " available")
    if dev.type not in ("cpu", "cuda", "meta"):
        # A type torch names but was not built for (mps off a Mac): said now, not as the first shard it cannot hold.
        try:
            torch.zeros(1).to(dev)
        except (RuntimeError, AssertionError, NotImplementedError) as err:
            raise CheckpointError(f"device {device!r} cannot be used here ({_first_line(err)}); "
                                  "use auto, cpu or cuda") from None
    return dev


# "auto" on a CPU runs a checkpoint of up to this many parameters in float32 (at most 8 GiB), which CPUs compute
# faster than bfloat16; a larger one stays in bfloat16, as a float32 copy would double its memory (the 26B
# checkpoint: 101 GB instead of 52).
CPU_FLOAT32_MAX_PARAMETERS = 2_000_000_000


def resolve_dtype(dtype: str, device: torch.device, parameters: int = 0, float32_max: int | None = None) -> torch.dtype:
    """The dtype `dtype` names; "auto" by the device and the model's parameter count (float32_max: the rule's
    threshold, CPU_FLOAT32_MAX_PARAMETERS unless given)."""
    if dtype == "auto":
        limit = CPU_FLOAT32_MAX_PARAMETERS if float32_max is None else float32_max
        if device.type == "cuda" or parameters > limit:
            return torch.bfloat16
        return torch.float32
    if dtype not in DTYPES:
        raise CheckpointError(f"unknown dtype {dtype!r}; use auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def weight_files(directory: Path) -> tuple[list[Path], dict[str, str] | None]:
    """The safetensors files to read, and the shard index's weight_map (tensor name to file) when there is one."""
    index = directory / INDEX
    if index.is_file():
        weight_map = read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{index}: no weight_map")
        for name, file in weight_map.items():
            # Shards lie beside the index: a path would read a file that is not part of this checkpoint.
            if not isinstance(file, str) or file in ("", ".", "..") or "/" in file or "\\" in file:
                raise CheckpointError(f"{index}: weight_map gives tensor {name} the file {file!r}; "
                                      "expected the name of a shard in this directory")
        files = [directory / f for f in dict.fromkeys(weight_map.values())]
        for f in files:
            if not f.is_file():
                raise CheckpointError(f"{f}: shard listed in {index.name} is missing")
        return files, weight_map
    single = directory / "model.safetensors"
    if not single.is_file():
        raise CheckpointError(f"{directory}: no model.safetensors or {INDEX}")
    return [single], None


@dataclass
class Checkpoint:
    model: DiffusionGemma
    config: ModelConfig
    generation: GenerationConfig
    tokenizer: Tokenizer
    directory: Path


def load_checkpoint(directory: str | Path, device: str = "auto", dtype: str = "auto") -> Checkpoint:
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a checkpoint directory")
    cfg = ModelConfig.load(directory / "config.json")
    gen_path = directory / "generation_config.json"
    generation = GenerationConfig.from_hf(read_json(gen_path) if gen_path.exists() else {}, cfg, str(gen_path))
    tokenizer = Tokenizer.from_file(directory / "tokenizer.json", cfg.pad_token_id, cfg.eos_token_id,
                                    cfg.bos_token_id, vocab_size=cfg.vocab_size, stop_ids=generation.eos_token_ids)
    # The weights' files first: a directory without them is said at once, before a network its config describes
    # is built (seconds and gigabytes for a config of thousands of layers).
    files, weight_map = weight_files(directory)
    dev = resolve_device(device)
    with torch.device("meta"):
        model = DiffusionGemma(cfg)
    dt = resolve_dtype(dtype, dev, parameters=sum(p.numel() for p in model.parameters()))
    expected = {k: v.shape for k, v in model.state_dict().items()}
    state: dict[str, torch.Tensor] = {}
    for path in files:
        state.update(_read_tensors(path, expected, dev, dt, weight_map))
    missing = [k for k in expected if k not in state]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise CheckpointError(f"{directory}: missing tensor {native_to_hf(missing[0])}"
                              + "".join(f", {native_to_hf(m)}" for m in missing[1:3]) + more)
    model.load_state_dict(state, strict=True, assign=True)
    model.eval().requires_grad_(False)
    return Checkpoint(model, cfg, generation, tokenizer, directory)


def _read_tensors(path: Path, expected: dict[str, torch.Size], device: torch.device, dtype: torch.dtype,
                  weight_map: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """The model's tensors in `path`; with a shard index, only those its weight_map places in this file."""
    out = {}
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            names = f.keys()
            if weight_map is not None:
                stored = set(names)
                absent = [n for n, file in weight_map.items() if file == path.name and n not in stored]
                if absent:
                    raise CheckpointError(f"{path}: no tensor {absent[0]}, which {INDEX} places in this file")
            for name in names:
                native = hf_to_native(name)
                if native is None:
                    continue
                if weight_map is not None and weight_map.get(name, path.name) != path.name:
                    continue  # a second copy: the index says which shard holds the one to read
                if native == "" or native not in expected:
                    raise CheckpointError(f"{path}: unexpected tensor {name}")
                if weight_map is not None and name not in weight_map:
                    raise CheckpointError(f"{path}: tensor {name} is not in the weight_map of {INDEX}")
                if native in out:
                    continue
                tensor = f.get_slice(name)
                # Converting integer, float8 or bool storage to floats would run quantized or packed numbers as
                # if they were weights: a wrong model with no error.
                if tensor.get_dtype() not in FLOAT_STORAGE:
                    raise CheckpointError(f"{path}: tensor {name} is stored as {tensor.get_dtype()}; only float "
                                          f"weights ({', '.join(FLOAT_STORAGE)}) are supported")
                shape = tuple(tensor.get_shape())
                if shape != tuple(expected[native]):
                    raise CheckpointError(f"{path}: tensor {name} has shape {list(shape)}, "
                                          f"expected {list(expected[native])}")
                out[native] = _place(f.get_tensor(name), path, device, dtype)
    except (SafetensorError, OSError, RuntimeError, ValueError, MemoryError) as err:
        if isinstance(err, CheckpointError):
            raise
        if _out_of_memory(err):
            # Mapping a shard, reading a tensor or converting it: any of them can meet a full memory.
            needed = sum(shape.numel() for shape in expected.values()) * dtype.itemsize
            raise CheckpointError(f"{path.parent}: out of memory loading {path.name} onto {device} "
                                  f"({_size(needed)} needed for its weights in {_dtype_name(dtype)})") from None
        raise CheckpointError(f"{path}: not a readable safetensors file ({_first_line(err)})") from None
    return out


def _place(tensor: torch.Tensor, path: Path, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """`tensor` on `device` in `dtype`; a device that cannot take it is said as such, not as a corrupt file."""
    try:
        return tensor.to(device=device, dtype=dtype)
    except RuntimeError as err:
        if _out_of_memory(err):
            raise
        raise CheckpointError(f"{path.parent}: cannot load {path.name} onto device {str(device)!r} "
                              f"({_first_line(err)})") from None


_MEMORY_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")


def _out_of_memory(err: BaseException) -> bool:
    """Whether `err` is an allocation that failed: torch says so in RuntimeError text on a CPU (the allocator, a
    mapping), as torch.OutOfMemoryError on a GPU."""
    if isinstance(err, (MemoryError, torch.OutOfMemoryError)):
        return True
    if isinstance(err, OSError) and err.errno == errno.ENOMEM:
        return True
    return any(m in str(err).lower() for m in _MEMORY_MESSAGES)


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e9:.1f} GB" if nbytes >= 1e9 else f"{max(1, round(nbytes / 1e6))} MB"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def save_checkpoint(directory: str | Path, model: DiffusionGemma, cfg: ModelConfig, generation: GenerationConfig,
                    tokenizer_json: str | Path, shard_bytes: int = SHARD_BYTES) -> Path:
    """Write `directory` in the Hugging Face layout (weights float32 unless the model is already lower)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {native_to_hf(k): v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    for old in directory.glob("model*.safetensors*"):
        old.unlink()
    if len(shards) == 1:
        save_file(shards[0], str(directory / "model.safetensors"), metadata={"format": "pt"})
    else:
        weight_map = {}
        for i, shard in enumerate(shards, 1):
            fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            save_file(shard, str(directory / fname), metadata={"format": "pt"})
            weight_map.update({name: fname for name in shard})
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        (directory / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=1))
    (directory / "config.json").write_text(json.dumps(cfg.to_hf(), indent=1))
    (directory / "generation_config.json").write_text(json.dumps(generation.to_hf(), indent=1))
    if Path(tokenizer_json).resolve() != (directory / "tokenizer.json").resolve():
        shutil.copyfile(tokenizer_json, directory / "tokenizer.json")
    return directory


# What a checkpoint was trained on, where known: `infill-engine train` writes it, `evaluate` reads it.
TRAINING_DATA = "training_data.json"


@dataclass(frozen=True)
class TrainingData:
    """The corpus packages every run that made a checkpoint was trained on. ``unrecorded``: some of its training
    lists none (a run on data pretokenized before packages were listed, or a start it was fine-tuned from that has
    no record, as the embedded model and Google's checkpoints)."""

    packages: frozenset[str] = frozenset()
    unrecorded: bool = False

    def with_run(self, packages: list[str] | None) -> TrainingData:
        """This record and one more run, on ``packages`` (None: not listed)."""
        return TrainingData(self.packages | frozenset(packages or ()), self.unrecorded or packages is None)


def read_training_data(directory: str | Path) -> TrainingData | None:
    """The checkpoint's record of its training data; None where it has none."""
    path = Path(directory) / TRAINING_DATA
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        packages, unrecorded = data["packages"], data["unrecorded"]
        if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages) or \
                not isinstance(unrecorded, bool):
            raise ValueError("'packages' must be a list of names and 'unrecorded' true or false")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path}: not a record of training data ({err})") from None
    return TrainingData(frozenset(packages), unrecorded)


def write_training_data(directory: str | Path, record: TrainingData) -> None:
    text = json.dumps({"packages": sorted(record.packages), "unrecorded": record.unrecorded}, indent=1)
    (Path(directory) / TRAINING_DATA).write_text(text + "\n", encoding="utf-8")
