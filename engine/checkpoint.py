"""Checkpoints in the Hugging Face layout: config.json, generation_config.json, safetensors (one file or shards
with an index) and tokenizer.json. Only safetensors and JSON are ever read."""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from engine.config import GenerationConfig, ModelConfig, new_file_mode, read_json
from engine.errors import CheckpointError
from engine.infill_lookup import InfillLookup
from engine.memory import ADDRESS_SPACE, MEMORY, device_available
from engine.model import DiffusionGemma
from engine.tokenizer import Tokenizer

SHARD_BYTES = 16 * 1024 * 1024
DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# safetensors' names of the dtypes weights may be stored in
STORAGE_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}
FLOAT_STORAGE = tuple(STORAGE_DTYPES)
INDEX = "model.safetensors.index.json"
log = logging.getLogger(__name__)
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
    if dev.type == "meta":
        # Shapes with no values: the weights would load nowhere, and a step would fail far from here.
        raise CheckpointError(f"device {device!r} holds no weights; use auto, cpu or cuda")
    if dev.type not in ("cpu", "cuda"):
        # A type torch names but was not built for (mps off a Mac): said now, not as the first shard it cannot hold.
        try:
            torch.zeros(1).to(dev)
        except (RuntimeError, AssertionError, NotImplementedError) as err:
            raise CheckpointError(f"device {device!r} cannot be used here ({first_line(err)}); "
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
    """The safetensors files to read, and the shard index's weight_map (tensor name to file) when there is one.
    model.safetensors comes first, as Hugging Face transformers reads it: a folder holding it beside an index (a
    consolidated file saved over old shards, or the other way round) serves the same weights here as there, and the
    index left unread is said, as either may be the stale one."""
    index, single = directory / INDEX, directory / "model.safetensors"
    if single.is_file():
        if index.is_file():
            log.warning("%s: also holds %s; reading model.safetensors, as transformers does, not the shards that index "
                        "lists (remove the stale one)", directory, INDEX)
        return [single], None
    if index.is_file():
        return _shards(index)
    _check_not_a_broken_link(single)
    _check_not_a_broken_link(index)
    raise CheckpointError(f"{directory}: no model.safetensors or {INDEX}")


def _shards(index: Path) -> tuple[list[Path], dict[str, str]]:
    weight_map = read_json(index).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(f"{index}: no weight_map")
    for name, file in weight_map.items():
        # Shards lie beside the index: a path would read a file that is not part of this checkpoint.
        if not isinstance(file, str) or file in ("", ".", "..") or "/" in file or "\\" in file:
            raise CheckpointError(f"{index}: weight_map gives tensor {name} the file {file!r}; "
                                  "expected the name of a shard in this directory")
    files = [index.parent / f for f in dict.fromkeys(weight_map.values())]
    for f in files:
        if not f.is_file():
            _check_not_a_broken_link(f)
            raise CheckpointError(f"{f}: shard listed in {index.name} is missing")
    return files, weight_map


def _check_not_a_broken_link(path: Path) -> None:
    """A link whose target is gone (a Hugging Face snapshot whose blob was never downloaded whole, or was deleted):
    `ls` lists it, and a message calling the file missing sent its reader looking for what is in plain sight."""
    if path.is_symlink() and not path.exists():
        raise CheckpointError(f"{path}: a broken link to {os.readlink(path)}, which does not exist (a download that "
                              "did not finish? fetch the checkpoint again)")


@dataclass
class Checkpoint:
    model: DiffusionGemma
    config: ModelConfig
    generation: GenerationConfig
    tokenizer: Tokenizer
    directory: Path


@dataclass(frozen=True)
class _Stored:
    """One tensor a shard holds for the model: its names and where its bytes lie in the file."""

    name: str  # the checkpoint's
    native: str  # ours
    dtype: torch.dtype
    shape: tuple[int, ...]
    start: int
    end: int


@dataclass
class CheckpointPlan:
    """All of a checkpoint that load_checkpoint reads but the weights' bytes, each checked: the network built on the
    meta device, and where each of its tensors lies in which shard."""

    directory: Path
    config: ModelConfig
    generation: GenerationConfig
    tokenizer: Tokenizer
    model: DiffusionGemma
    device: torch.device
    dtype: torch.dtype
    tensors: dict[Path, list[_Stored]]

    @property
    def weight_bytes(self) -> int:
        return self.parameters * self.dtype.itemsize

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def staging_bytes(self, dtype: torch.dtype | None = None, device: torch.device | None = None) -> int:
        """The CPU buffer the tensors pass through that are converted (to `dtype`) or moved (to `device`; each the
        plan's unless given): as large as the largest."""
        dtype, device = dtype or self.dtype, device or self.device
        return max((t.end - t.start for ts in self.tensors.values() for t in ts
                    if t.dtype != dtype or device.type != "cpu"), default=0)

    def load_bytes(self, dtype: torch.dtype | None = None) -> int:
        """The memory of the plan's device that read_weights holds at its peak, in `dtype` (the plan's unless
        given): the weights, and on the CPU the staging buffer beside them."""
        dtype = dtype or self.dtype
        staging = self.staging_bytes(dtype) if self.device.type == "cpu" else 0
        return self.parameters * dtype.itemsize + staging


# What a refusal of the memory check may tell the user to change (`check_memory`): a command that fixes its dtype or
# its device (grow and ship_model load on the CPU, training holds float32) leaves those out, so that no refusal names
# a way the command does not take.
WAYS = frozenset({"dtype", "device"})


def inspect_checkpoint(directory: str | Path, device: str = "auto", dtype: str = "auto",
                       lookup: InfillLookup | None = None, memory_check: bool = True,
                       releasing: int = 0, ways: frozenset[str] = WAYS) -> CheckpointPlan:
    """Every check load_checkpoint makes before it reads a weight: seconds at most, for a checkpoint of any size.
    ``lookup``: the directory's config, generation config and tokenizer, where the caller has read them already.
    ``memory_check``: refuse weights the device has no room for (`check_memory`); ``releasing``: bytes of that
    device the caller frees before it reads them (a model it holds until then); ``ways``: those of `WAYS` the
    caller's user can change."""
    directory = Path(directory)
    _check_directory(directory)
    lookup = lookup or InfillLookup.read(directory)
    cfg, generation, tokenizer = lookup.config, lookup.generation, lookup.tokenizer
    # The weights' files and their headers first: a directory without them, or weights of another depth than the
    # config's, is said at once, before a network its config describes is built (seconds and gigabytes for a
    # config of thousands of layers).
    files, weight_map = weight_files(directory)
    headers = {path: _header(path) for path in files}
    _check_layer_count(cfg, headers, directory / "config.json")
    dev = resolve_device(device)
    with torch.device("meta"):
        model = DiffusionGemma(cfg)
    dt = resolve_dtype(dtype, dev, parameters=sum(p.numel() for p in model.parameters()))
    expected = {k: v.shape for k, v in model.state_dict().items()}
    seen: set[str] = set()
    tensors = {path: _stored_tensors(path, header, start, expected, weight_map, seen, cfg)
               for path, (header, start) in headers.items()}
    missing = [k for k in expected if k not in seen]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise CheckpointError(f"{directory}: missing tensor {native_to_hf(missing[0])}"
                              + "".join(f", {native_to_hf(m)}" for m in missing[1:3]) + more)
    plan = CheckpointPlan(directory, cfg, generation, tokenizer, model, dev, dt, tensors)
    if memory_check:
        room = device_available(dev)
        if room is not None:
            check_memory(plan, room.free + releasing, room.bound, ways)
    return plan


def load_checkpoint(directory: str | Path, device: str = "auto", dtype: str = "auto",
                    memory_check: bool = True, ways: frozenset[str] = WAYS) -> Checkpoint:
    return read_weights(inspect_checkpoint(directory, device, dtype, memory_check=memory_check, ways=ways))


# What a load is refused without beyond the bytes it holds at its peak (`CheckpointPlan.load_bytes`): the
# allocator's rounding and what torch and Python hold around the weights, and what the estimate of the memory
# available leaves out.
MEMORY_MARGIN = 1.1


def check_memory(plan: CheckpointPlan, available: int, bound: str = MEMORY, ways: frozenset[str] = WAYS) -> None:
    """Refuse `plan` where loading it would take more than `available` bytes of its device, of what `bound` names
    (engine.memory). On a CPU the load is not refused by the system: Linux overcommits, and the process is killed
    (SIGKILL, no word) as the weights fill the memory. Said with what would fit: a narrower dtype, a GPU (those of
    them in ``ways``, `WAYS`), another checkpoint, a higher address-space limit."""
    need = math.ceil(plan.load_bytes() * MEMORY_MARGIN)
    if need <= available:
        return
    said = []
    if "dtype" in ways and plan.dtype.itemsize > torch.bfloat16.itemsize:
        narrower = math.ceil(plan.load_bytes(torch.bfloat16) * MEMORY_MARGIN)
        if narrower <= available:
            said.append(f"dtype bfloat16 ({_size(narrower)})")
    if "device" in ways:
        said.append("a GPU" if plan.device.type == "cpu" else "a GPU with more memory free")
    said.append("a smaller checkpoint")
    if bound == ADDRESS_SPACE:
        said.append("a higher ulimit -v")
    use = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} or {said[-1]}"
    raise CheckpointError(f"{plan.directory}: its weights need {_size(plan.weight_bytes)} in {_dtype_name(plan.dtype)} "
                          f"on {plan.device} ({_size(need)} to load them), and {_size(available)} of {bound} is "
                          f"available there; use {use}, or --no-memory-check to load it anyway")


def read_weights(plan: CheckpointPlan) -> Checkpoint:
    """The checkpoint `plan` checked, its weights read into the network it built: all the time a large one takes."""
    staging = _staging(plan, plan.device)
    state: dict[str, torch.Tensor] = {}
    for path, stored in plan.tensors.items():
        state.update(_read_tensors(path, stored, plan, staging, plan.device))
    del staging
    model = plan.model
    model.load_state_dict(state, strict=True, assign=True)
    model.eval().requires_grad_(False)
    return Checkpoint(model, plan.config, plan.generation, plan.tokenizer, plan.directory)


def check_weights(plan: CheckpointPlan) -> None:
    """The checks read_weights makes of the weights' values (NaN, a value past the dtype's range), each weight read
    on the CPU and let go: memory for one at a time. A second read of the files, for a caller that must know before
    it gives up what it holds for them (a server keeping the model it serves while another one is in doubt)."""
    cpu = torch.device("cpu")
    staging = _staging(plan, cpu)
    for path, stored in plan.tensors.items():
        for _ in _read_tensors(path, stored, plan, staging, cpu):
            pass


def _staging(plan: CheckpointPlan, device: torch.device) -> torch.Tensor:
    """One buffer for the tensors that are converted or moved, as large as the largest: reused, it keeps the peak
    at the weights and one tensor (a buffer a tensor, freed in turn, stayed with the allocator's heap)."""
    return torch.empty(plan.staging_bytes(device=device), dtype=torch.uint8)


def _check_directory(directory: Path) -> None:
    """Raise CheckpointError unless `directory` is one; a Hugging Face cache folder or repo id is pointed to the
    snapshot on disk that is the checkpoint, where there is one (nothing is downloaded)."""
    if directory.is_dir():
        if not (directory / "config.json").exists() and (directory / "snapshots").is_dir() and \
                (directory / "refs").is_dir():
            raise CheckpointError(f"{directory}: a Hugging Face cache folder, not a checkpoint directory; "
                                  f"its checkpoint is in {_snapshot(directory)}")
        return
    if directory.is_file() and (directory.parent / "config.json").is_file():
        # `--model ckpt/config.json`: taken for a Hugging Face repo id.
        raise CheckpointError(f"{directory}: a file of a checkpoint, not its directory; give {directory.parent}")
    raise CheckpointError(f"{directory}: not a checkpoint directory{_repo_id_hint(directory)}")


def _snapshot(repo: Path) -> str:
    """The snapshot of a Hugging Face cache folder to load: the one refs/main names, else the only one."""
    snapshots = repo / "snapshots"
    try:
        main = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        main = ""
    if main and "/" not in main and (snapshots / main).is_dir():
        return f"{snapshots / main} (refs/main)"
    revisions = sorted(p.name for p in snapshots.iterdir() if p.is_dir())
    if len(revisions) == 1:
        return str(snapshots / revisions[0])
    return f"{snapshots}/<revision>" + (f" ({', '.join(revisions)})" if revisions else ", of which it holds none")


def _hub_cache() -> Path:
    """Where huggingface_hub keeps downloads, by its own environment variables."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return cache / "huggingface" / "hub"


def _repo_id_hint(directory: Path) -> str:
    name = str(directory)
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", name) or name.startswith("."):
        return ""
    cached = _hub_cache() / f"models--{name.replace('/', '--')}"
    if (cached / "snapshots").is_dir():
        return f"; the Hugging Face cache holds that repo in {_snapshot(cached)}"
    return " (a Hugging Face repo id? only local directories are read: download it and give its directory)"


def _header(path: Path) -> tuple[dict[str, dict], int]:
    """A safetensors file's header, by tensor name in order, and where its data begins."""
    try:
        file = open(path, "rb")
    except OSError as err:
        # safetensors says "No such file or directory" of a file it may not read.
        raise CheckpointError(f"{path}: cannot be read ({err.strerror or err})") from None
    with file:
        try:
            with safe_open(str(path), framework="pt", device="cpu"):
                pass  # the library's checks of the header against the file: offsets, sizes, overlaps
            (length,) = struct.unpack("<Q", file.read(8))
            header = json.loads(file.read(length))
        except (SafetensorError, OSError, RuntimeError, ValueError, MemoryError, struct.error) as err:
            if out_of_memory(err):
                raise CheckpointError(f"{path.parent}: out of memory reading the header of {path.name}") from None
            raise CheckpointError(f"{path}: not a readable safetensors file ({first_line(err)})") from None
    header.pop("__metadata__", None)
    return {name: header[name] for name in sorted(header)}, 8 + length


_LAYER = re.compile(r"model\.(?:decoder|encoder\.language_model)\.layers\.(\d+)\.")


def _check_layer_count(cfg: ModelConfig, headers: dict[Path, tuple[dict[str, dict], int]], source: Path) -> None:
    """Refuse a config whose layer count the weights do not hold, before its network is built."""
    held = {int(m.group(1)) for header, _ in headers.values() for name in header if (m := _LAYER.match(name))}
    if held and max(held) + 1 != cfg.num_hidden_layers:
        raise CheckpointError(f"{source}: text_config.num_hidden_layers is {cfg.num_hidden_layers}, but the weights "
                              f"hold {max(held) + 1} layers (0 to {max(held)})"
                              + cfg.absent_note(("num_hidden_layers",), file=""))


def _stored_tensors(path: Path, header: dict[str, dict], start: int, expected: dict[str, torch.Size],
                    weight_map: dict[str, str] | None, seen: set[str], cfg: ModelConfig) -> list[_Stored]:
    """The model's tensors in `path` not `seen` in a file before it; with a shard index, only those its weight_map
    places in this file."""
    if weight_map is not None:
        absent = [n for n, file in weight_map.items() if file == path.name and n not in header]
        if absent:
            raise CheckpointError(f"{path}: no tensor {absent[0]}, which {INDEX} places in this file")
    out = []
    for name, info in header.items():
        native = hf_to_native(name)
        if native is None:
            continue
        if weight_map is not None and weight_map.get(name, path.name) != path.name:
            continue  # a second copy: the index says which shard holds the one to read
        if native == "" or native not in expected:
            raise CheckpointError(f"{path}: unexpected tensor {name}")
        if weight_map is not None and name not in weight_map:
            raise CheckpointError(f"{path}: tensor {name} is not in the weight_map of {INDEX}")
        if native in seen:
            continue
        # Converting integer, float8 or bool storage to floats would run quantized or packed numbers as if they
        # were weights: a wrong model with no error.
        if info["dtype"] not in STORAGE_DTYPES:
            raise CheckpointError(f"{path}: tensor {name} is stored as {info['dtype']}; only float "
                                  f"weights ({', '.join(FLOAT_STORAGE)}) are supported")
        shape = tuple(info["shape"])
        if shape != tuple(expected[native]):
            raise CheckpointError(f"{path}: tensor {name} has shape {list(shape)}, "
                                  f"expected {list(expected[native])}{cfg.absent_note()}")
        seen.add(native)
        begin, end = info["data_offsets"]
        out.append(_Stored(name, native, STORAGE_DTYPES[info["dtype"]], shape, start + begin, start + end))
    return out


def _read_tensors(path: Path, stored: list[_Stored], plan: CheckpointPlan, staging: torch.Tensor,
                  device: torch.device) -> Iterator[tuple[str, torch.Tensor]]:
    """The tensors `stored` in `path` by their names of ours, read one at a time into memory of the process's own,
    on `device` in the plan's dtype; `staging`: room for the bytes of one that is converted or moved."""
    dtype = plan.dtype
    try:
        with open(path, "rb") as file:
            for tensor in stored:
                yield tensor.native, _read(file, tensor, path, device, dtype, staging)
    except (OSError, RuntimeError, ValueError, MemoryError) as err:
        if isinstance(err, CheckpointError):
            raise
        if out_of_memory(err):
            # Reading a tensor or converting it: either can meet a full memory.
            raise CheckpointError(f"{path.parent}: out of memory loading {path.name} onto {device} "
                                  f"({_size(plan.weight_bytes)} needed for its weights in {_dtype_name(dtype)})"
                                  ) from None
        if isinstance(err, OSError):
            raise CheckpointError(f"{path}: cannot be read ({err.strerror or err})") from None
        raise CheckpointError(f"{path}: not a readable safetensors file ({first_line(err)})") from None


def _read(file, stored: _Stored, path: Path, device: torch.device, dtype: torch.dtype,
          staging: torch.Tensor) -> torch.Tensor:
    """One tensor's bytes copied out of the file. Not mapped from it: a weight mapped from a file that is rewritten
    in place (cp, scp, rsync --inplace) changed with it, silently, and killed the process (SIGBUS) once the file
    was shorter."""
    target = _allocate(stored.shape, dtype, device, path)
    size = stored.end - stored.start
    if size != target.numel() * stored.dtype.itemsize:
        raise CheckpointError(f"{path}: tensor {stored.name} takes {size} bytes, not the "
                              f"{target.numel() * stored.dtype.itemsize} of its shape and dtype")
    direct = stored.dtype == dtype and device.type == "cpu"
    into = target.reshape(-1).view(torch.uint8) if direct else staging[:size]
    if size:
        file.seek(stored.start)
        if file.readinto(into.numpy()) != size:
            raise CheckpointError(f"{path}: ends inside tensor {stored.name} (was it replaced while it was read?)")
    source = into.view(stored.dtype).view(stored.shape)
    if not direct:
        target.copy_(source)
    if not _finite(target):
        _refuse_not_finite(stored, path, source, dtype)
    return target


def _finite(tensor: torch.Tensor) -> bool:
    """Whether every value is finite, from the least and the greatest (NaN spreads to both, and an infinity is one
    of them): one pass with no mask beside it, some thirty times the speed of torch.isfinite(...).all() on a CPU,
    where a mask of the whole tensor added a tensor's worth to the load's time and to its peak of memory."""
    if tensor.numel() == 0:
        return True
    low, high = torch.aminmax(tensor)
    return math.isfinite(low.item()) and math.isfinite(high.item())


def _refuse_not_finite(stored: _Stored, path: Path, source: torch.Tensor, dtype: torch.dtype) -> None:
    """A NaN or an infinity in a weight (a diverged run, a bad export) makes every output NaN: each fill would come
    back empty and each generation fail, far from its cause. Said of the file where it is stored so; else the
    conversion to `dtype` made it, from a value past that dtype's range."""
    if _finite(source):
        peak = source.abs().max().item()
        wider = "bfloat16 or float32" if dtype == torch.float16 else "float64"
        raise CheckpointError(f"{path}: tensor {stored.name} holds {peak:.4g}, past the range of {_dtype_name(dtype)} "
                              f"(at most {torch.finfo(dtype).max:.4g}): converting it to {_dtype_name(dtype)} makes "
                              f"it infinite; use dtype {wider}")
    held = "NaN" if bool(source.isnan().any()) else "an infinite value"
    raise CheckpointError(f"{path}: tensor {stored.name} holds {held}")


def _allocate(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, path: Path) -> torch.Tensor:
    """Room for a tensor on `device`; a device that cannot take it is said as such, not as a corrupt file."""
    try:
        return torch.empty(shape, dtype=dtype, device=device)
    except RuntimeError as err:
        if out_of_memory(err):
            raise
        raise CheckpointError(f"{path.parent}: cannot load {path.name} onto device {str(device)!r} "
                              f"({first_line(err)})") from None


_MEMORY_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")


def out_of_memory(err: BaseException) -> bool:
    """Whether `err` is an allocation that failed: torch says so in RuntimeError text on a CPU (the allocator, a
    mapping), as torch.OutOfMemoryError on a GPU."""
    if isinstance(err, (MemoryError, torch.OutOfMemoryError)):
        return True
    if isinstance(err, OSError) and err.errno == errno.ENOMEM:
        return True
    return any(m in str(err).lower() for m in _MEMORY_MESSAGES)


def first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e9:.1f} GB" if nbytes >= 1e9 else f"{max(1, round(nbytes / 1e6))} MB"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """safetensors' `save_file`, the file then given a new file's permissions (the umask's, as the config beside it
    gets): safetensors makes it readable by its owner alone, and a server run as another user could not load it."""
    save_file(tensors, str(path), metadata=metadata)
    os.chmod(path, new_file_mode())


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
        save_tensors(shards[0], directory / "model.safetensors", metadata={"format": "pt"})
    else:
        weight_map = {}
        for i, shard in enumerate(shards, 1):
            fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            save_tensors(shard, directory / fname, metadata={"format": "pt"})
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
