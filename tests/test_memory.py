"""A checkpoint its device has no room for is refused before a weight is read, in one line that says what it needs,
what there is and what would fit: on Linux the load was not refused, and the kernel killed the process as the
weights filled the memory (an editor saw its server die with no word). The memory free is read from real
/proc/meminfo and cgroup files, under a root of the test's own; the end-to-end tests load a real checkpoint larger
than the machine's memory (its weights' files sparse: they take no disk), through `infill-engine` and the server."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
import torch
from lsprotocol import types
from pytest_lsp import LanguageClient

from engine.checkpoint import MEMORY_MARGIN, check_memory, inspect_checkpoint, native_to_hf, read_weights
from engine.errors import CheckpointError
from engine.memory import (ADDRESS_SPACE, MEMORY, Room, address_space_available, cgroup_available, cpu_available,
                           meminfo_available)
from engine.model import DiffusionGemma
from engine.tiny import tiny_config, write_random_checkpoint
from infill_ls import model_loader
from infill_ls.settings import Settings

from lsp_support import ROOT, capabilities, config, heldout_split, init_params, loaded, tiny_model

GiB = 1 << 30
# The largest file of the checkpoint larger than the memory: its header's check maps it twice over (safetensors, then
# torch), in the room `NET` leaves.
SHARD = 512 << 20
linux = pytest.mark.skipif(sys.platform != "linux", reason="the memory free is read on Linux only")


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


MEMINFO = "MemTotal:       16318420 kB\nMemFree:         1203840 kB\nMemAvailable:    9437184 kB\nBuffers: 0 kB\n"


# -- what the system says is free -----------------------------------------------------------------------------------
def test_memavailable_is_read_in_bytes_and_nothing_where_the_kernel_does_not_say_it(tmp_path):
    assert meminfo_available(write(tmp_path / "a", {"proc/meminfo": MEMINFO})) == 9 * GiB
    assert meminfo_available(write(tmp_path / "b", {"proc/meminfo": "MemTotal: 1024 kB\nMemFree: 512 kB\n"})) is None
    assert meminfo_available(tmp_path / "none") is None  # not Linux
    assert cpu_available(tmp_path / "none") is None


@pytest.mark.parametrize("limit, usage, inactive, room", [
    (4 * GiB, 3 * GiB, GiB // 2, 3 * GiB // 2),  # the page cache it may drop is room
    (4 * GiB, 5 * GiB, 0, 0),  # past its limit: none
])
def test_a_cgroup_v2_limit_leaves_its_limit_less_what_it_uses(tmp_path, limit, usage, inactive, room):
    group = "sys/fs/cgroup/user.slice/editor.scope"
    root = write(tmp_path, {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/user.slice/editor.scope\n",
                            f"{group}/memory.max": f"{limit}\n", f"{group}/memory.current": f"{usage}\n",
                            f"{group}/memory.stat": f"anon {usage}\nfile 0\ninactive_file {inactive}\n"})
    assert cgroup_available(root) == room
    assert cpu_available(root) == Room(min(room, 9 * GiB), MEMORY)


def test_the_smallest_limit_above_the_process_holds_and_max_is_none(tmp_path):
    root = write(tmp_path, {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/a/b\n",
                            "sys/fs/cgroup/a/b/memory.max": "max\n", "sys/fs/cgroup/a/b/memory.current": "100\n",
                            "sys/fs/cgroup/a/memory.max": f"{2 * GiB}\n",
                            "sys/fs/cgroup/a/memory.current": f"{GiB}\n"})
    assert cgroup_available(root) == GiB
    (root / "sys/fs/cgroup/a/memory.max").write_text("max\n")
    assert cgroup_available(root) is None and cpu_available(root) == Room(9 * GiB, MEMORY)


def test_a_cgroup_v1_container_is_read_from_its_own_hierarchy_and_its_no_limit_is_none(tmp_path):
    # Docker on cgroup v1 mounts the container's own group as the hierarchy, and /proc/self/cgroup names its path on
    # the host, which is not under the mount.
    memory = "sys/fs/cgroup/memory"
    root = write(tmp_path, {"proc/meminfo": MEMINFO, "proc/self/cgroup": "5:cpuset:/docker/f00\n4:memory:/docker/f00\n",
                            f"{memory}/memory.limit_in_bytes": f"{8 * GiB}\n",
                            f"{memory}/memory.usage_in_bytes": f"{7 * GiB}\n",
                            f"{memory}/memory.stat": f"cache {GiB}\ntotal_inactive_file {GiB // 4}\n"})
    assert cgroup_available(root) == GiB + GiB // 4
    assert cpu_available(root) == Room(GiB + GiB // 4, MEMORY)
    (root / memory / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert cgroup_available(root) is None


@linux
def test_an_address_space_limit_leaves_the_limit_less_the_process_size(tmp_path):
    # Under `ulimit -v` an allocation past the limit fails, whatever the memory free. The limit is the test process's
    # own, set as high as it may be (1 PiB, or the hard limit below that: nothing this process does nears it) and
    # set back after; its size is the root's.
    import resource  # not on Windows

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = 1 << 50 if hard == resource.RLIM_INFINITY else min(hard, 1 << 50)
    root = write(tmp_path, {"proc/meminfo": MEMINFO})
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        for room, expected in [(3 * GiB, Room(3 * GiB, ADDRESS_SPACE)), (20 * GiB, Room(9 * GiB, MEMORY))]:
            write(root, {"proc/self/status": f"Name:\tpython\nVmPeak:\t  1 kB\nVmSize:\t{(limit - room) // 1024} kB\n"})
            assert address_space_available(root) == room
            assert cpu_available(root) == expected
        assert address_space_available(tmp_path / "none") is None  # no /proc: not Linux
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if soft == resource.RLIM_INFINITY:
        assert address_space_available(root) is None


# -- the check, with a budget given ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("memory") / "model", seed=0)


def test_a_budget_below_the_load_is_refused_in_one_line_and_one_above_it_loads(model_dir):
    plan = inspect_checkpoint(model_dir, device="cpu", dtype="float32", memory_check=False)
    need = plan.load_bytes()
    assert need == plan.weight_bytes  # stored in float32: read straight into the weights, no staging
    with pytest.raises(CheckpointError) as refused:
        check_memory(plan, need // 2)
    assert str(refused.value) == (
        f"{model_dir}: its weights need 1 MB in float32 on cpu (1 MB to load them), and 1 MB of memory is available "
        "there; use a GPU or a smaller checkpoint, or --no-memory-check to load it anyway")
    check_memory(plan, 2 * need)
    assert read_weights(plan).model.embed_tokens.weight.dtype == torch.float32


def test_a_narrower_dtype_that_fits_is_named_with_what_it_takes(tmp_path):
    directory = write_random_checkpoint(tmp_path / "m", hidden_size=256, intermediate_size=512,
                                        moe_intermediate_size=256)
    wide = inspect_checkpoint(directory, device="cpu", dtype="float32", memory_check=False)
    narrow = inspect_checkpoint(directory, device="cpu", dtype="bfloat16", memory_check=False)
    # In bfloat16 each float32 tensor passes through the staging buffer: the largest of them is held beside.
    assert narrow.load_bytes() == narrow.weight_bytes + narrow.staging_bytes() > narrow.weight_bytes
    assert wide.load_bytes(torch.bfloat16) == narrow.load_bytes()
    fits = math.ceil(narrow.load_bytes() * MEMORY_MARGIN)  # bfloat16's load and its margin, no more
    with pytest.raises(CheckpointError, match=r"; use dtype bfloat16 \(\d+ MB\), a GPU or a smaller checkpoint, or "
                                              r"--no-memory-check to load it anyway$"):
        check_memory(wide, fits)
    check_memory(narrow, fits)
    # A command that fixes the dtype, or the device too (grow, ship_model: float32 on the CPU), is told no way it
    # does not take.
    with pytest.raises(CheckpointError, match=r"; use a GPU or a smaller checkpoint, or --no-memory-check to load it "
                                              r"anyway$"):
        check_memory(wide, fits, ways=frozenset({"device"}))
    with pytest.raises(CheckpointError, match=r"; use a smaller checkpoint, or --no-memory-check to load it anyway$"):
        check_memory(wide, fits, ways=frozenset())


# -- a checkpoint larger than this machine's memory -----------------------------------------------------------------
def memory_total() -> int:
    text = Path("/proc/meminfo").read_text()
    return int(re.search(r"^MemTotal:\s+(\d+) kB", text, re.M).group(1)) * 1024


def write_oversized_checkpoint(path: Path, weight_bytes: int) -> Path:
    """A real checkpoint of the tiny model's layout whose float32 weights take at least `weight_bytes`: its MLPs
    made wide and its layers many, each large tensor in a shard of its own, every shard sparse (zeros no disk
    holds). A shard is mapped whole as its header is checked: none is larger than `SHARD`, which the tests'
    processes have room for."""
    path = write_random_checkpoint(path, seed=0)
    (path / "model.safetensors").unlink()
    # A layer's MLP matrices of [wide, 64] and its experts' [4, 2 * narrow, 64] each fill a shard; the experts' other
    # matrix half of one: 4.5 shards a layer.
    wide, narrow = SHARD // (64 * 4), SHARD // (4 * 2 * 64 * 4)
    layers = -(-weight_bytes // (9 * SHARD // 2))
    cfg = tiny_config(intermediate_size=wide, moe_intermediate_size=narrow, num_hidden_layers=layers,
                      layer_types=["sliding_attention", "full_attention"] * (layers // 2) + ["full_attention"] * (
                          layers % 2))
    with torch.device("meta"):
        state = DiffusionGemma(cfg).state_dict()
    weight_map, small = {}, {}
    for name, tensor in state.items():
        if tensor.numel() * 4 > 1 << 20:
            file = f"model-{len(weight_map) + 1:05d}.safetensors"
            _write_sparse(path / file, {native_to_hf(name): list(tensor.shape)})
            weight_map[native_to_hf(name)] = file
        else:
            small[native_to_hf(name)] = list(tensor.shape)
    _write_sparse(path / "model-small.safetensors", small)
    weight_map.update({name: "model-small.safetensors" for name in small})
    (path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    (path / "config.json").write_text(json.dumps(cfg.to_hf()))
    return path


def _write_sparse(file: Path, shapes: dict[str, list[int]]) -> None:
    header, at = {}, 0
    for name, shape in shapes.items():
        size = 4 * int(torch.Size(shape).numel())
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [at, at + size]}
        at += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(file, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        out.truncate(out.tell() + at)


_HOLDER = tempfile.TemporaryDirectory(prefix="infill-ls-oversized-")  # removed as the tests end


@functools.cache
def oversized_checkpoint() -> Path:
    """Twice the machine's memory: more than it can have free, whatever else runs. Made once, by the first test that
    needs it (collecting the tests makes none)."""
    return write_oversized_checkpoint(Path(_HOLDER.name) / "model", 2 * memory_total())


@pytest.fixture
def oversized():
    if sys.platform != "linux":
        pytest.skip("the memory free is read on Linux only")
    return oversized_checkpoint()


# Were the check missing, the load would read the weights until the kernel killed the process (or another one):
# the tests' processes may take no more address space than they hold once torch is imported and this much more, so
# that the load fails as an allocation instead. That limit is the smallest room they have, and what they refuse by.
NET = ("import resource, sys, torch, engine.checkpoint\n"
       "vm = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmSize')) * 1024\n"
       "resource.setrlimit(resource.RLIMIT_AS, (vm + (2 << 30), resource.RLIM_INFINITY))\n")


def refused(directory: Path, bound: str, dtype: str = "float32", gpu: bool = True) -> str:
    """The refusal of the checkpoint larger than the memory, loaded in `dtype`, where `bound` is the least room, as a
    pattern whose groups are the weights' size, the load's and the room's, in GB; `gpu`: the command can put it on
    one, and the refusal says so."""
    ways = ["a GPU"] * gpu + ["a smaller checkpoint"] + ["a higher ulimit -v"] * (bound == ADDRESS_SPACE)
    ways = ways[0] if len(ways) == 1 else f"{', '.join(ways[:-1])} or {ways[-1]}"
    return (rf"{re.escape(str(directory))}: its weights need (\d+\.\d) GB in {dtype} on cpu \((\d+\.\d) GB to load "
            rf"them\), and (\d+\.\d) GB of {re.escape(bound)} is available there; use {ways}, or --no-memory-check to "
            r"load it anyway")


def test_a_checkpoint_past_the_memory_free_is_refused_before_a_weight_is_read(oversized):
    with pytest.raises(CheckpointError) as error:
        inspect_checkpoint(oversized, device="cpu", dtype="float32")
    need, load, free = map(float, re.fullmatch(refused(oversized, cpu_available().bound), str(error.value)).groups())
    assert need >= 2 * memory_total() / 1e9 - 0.1 and load > need and free < need
    # The room the caller frees before it reads them (a model it serves) counts as free; and unchecked, it passes.
    inspect_checkpoint(oversized, device="cpu", dtype="float32", releasing=3 * memory_total())
    inspect_checkpoint(oversized, device="cpu", dtype="float32", memory_check=False)


def test_the_command_line_refuses_it_in_one_line_and_loads_it_when_told_to(oversized):
    code = NET + "from engine.cli import main\nsys.exit(main(sys.argv[1:]))"
    run = ["generate", "--model", str(oversized), "--prompt", "x", "--device", "cpu", "--dtype", "float32"]
    result = subprocess.run([sys.executable, "-c", code, *run], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    # Refused by the address space the limit leaves, not by the memory free (which is more): the 2 GiB given, less
    # what the process took after it was set.
    said = re.fullmatch(f"generate: {refused(oversized, ADDRESS_SPACE)}\n", result.stderr)
    assert said and float(said[3]) <= 2.2, result.stderr
    # `--no-memory-check`: the weights are read, as far as the memory lets them (here the address space given).
    result = subprocess.run([sys.executable, "-c", code, *run, "--no-memory-check"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2 and "out of memory loading model-" in result.stderr, result.stderr


# Every other command that loads a checkpoint with the check: its argv after `python`, where {model} is the checkpoint
# and {tmp} a folder of the test's, what begins its line on stderr, and the dtype it loads the checkpoint in (over 2B
# parameters, "auto" is bfloat16 on a CPU). Each refuses in one line whose flag it has.
LOADERS = {
    "train --init-from": (["-m", "engine.cli", "train", "--init-from", "{model}", "--out", "{tmp}/run", "--device",
                           "cpu", "--threads", "1"], "train: ", "float32"),
    "grow": (["-m", "engine.cli", "grow", "--from", "{model}", "--layers", "1000", "--out", "{tmp}/grown"], "grow: ",
             "bfloat16", False),
    "typing_eval": (["-m", "infill_ls.typing_eval", "--model", "{model}", "--heldout", "{tmp}/heldout.jsonl",
                     "--threads", "1"], "typing_eval: ", "bfloat16"),
    "close_eval": (["-m", "infill_ls.close_eval", "--model", "{model}", "--heldout", "{tmp}/heldout.jsonl",
                    "--threads", "1"], "close_eval: ", "bfloat16"),
    "rewrite_eval": (["-m", "infill_ls.rewrite_eval", "--model", "{model}", "--heldout", "{tmp}/heldout.jsonl",
                      "--threads", "1"], "rewrite_eval: ", "bfloat16"),
    "infill_ls.bench": (["-m", "infill_ls.bench", "--model", "{model}", "--files", "{tmp}/typed.py", "--lines", "1",
                         "--device", "cpu", "--threads", "1"], "infill-ls bench: cannot load model: ", "bfloat16"),
    "ship_model.py": (["scripts/ship_model.py", "{model}", "--out", "{tmp}/shipped"], "ship_model: ", "float32", False),
}
# `python -m MODULE ...` or `python SCRIPT ...` run under the address-space limit of `NET`.
UNDER_NET = NET + ("import runpy\nsys.argv = sys.argv[1:]\n"
                   "if sys.argv[0] == '-m':\n    sys.argv = sys.argv[1:]\n"
                   "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
                   "else:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n")


@pytest.mark.parametrize("command", LOADERS)
def test_each_command_that_loads_a_checkpoint_refuses_it_naming_its_own_flag_and_loads_it_with_it(
        oversized, tmp_path, command):
    heldout_split(tmp_path / "heldout.jsonl")
    (tmp_path / "typed.py").write_text("def total(items):\n    return sum(item.price for item in items)\n")
    argv, said_as, dtype, *gpu = LOADERS[command]
    refuses_then_loads([a.format(model=oversized, tmp=tmp_path) for a in argv], ROOT, said_as, dtype, oversized, *gpu)


def test_the_prose_script_refuses_an_embedded_model_past_the_memory_naming_its_own_flag(oversized, tmp_path):
    # scripts/prose_eval.py runs the embedded model alone: here that of a copy of the packages (their files linked)
    # whose embedded model is the checkpoint larger than the memory.
    packages = tmp_path / "packages"
    (packages / "engine").mkdir(parents=True)
    for item in (ROOT / "engine").iterdir():
        (packages / "engine" / item.name).symlink_to(oversized if item.name == "default_model" else item)
    (packages / "infill_ls").symlink_to(ROOT / "infill_ls")
    split, words = heldout_split(tmp_path / "heldout.jsonl"), tmp_path / "words"
    words.write_text("total\nprice\n")
    refuses_then_loads([str(ROOT / "scripts/prose_eval.py"), "--heldout", str(split), "--words", str(words),
                        "--max-cases", "1"], packages, "prose_eval: ", "bfloat16", packages / "engine/default_model")


def refuses_then_loads(argv: list[str], cwd: Path, said_as: str, dtype: str, directory: Path, gpu: bool = True) -> None:
    """`python argv...`, run under `NET` in `cwd`, refuses the checkpoint in `directory` in one line that begins with
    `said_as`, by the address space left (`refused`: naming a GPU where `gpu`); with the flag the line names, reads
    its weights as far as that lets it."""
    run = [sys.executable, "-c", UNDER_NET, *argv]
    result = subprocess.run(run, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 2, result.stderr
    assert re.fullmatch(f"{re.escape(said_as)}{refused(directory, ADDRESS_SPACE, dtype, gpu)}\n", result.stderr), \
        result.stderr
    result = subprocess.run([*run, "--no-memory-check"], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 2 and "out of memory loading model-" in result.stderr, result.stderr


def test_a_model_held_counts_as_free_memory_on_its_device_only(model_dir):
    from engine.infill import InfillEngine

    held = InfillEngine.load(model_dir, device="cpu", dtype="float32")
    weights = sum(p.numel() * p.element_size() for p in held.model.parameters())
    assert model_loader._releasing(held, Settings(device="cpu")) == weights
    assert model_loader._releasing(held, Settings(device="auto")) == (0 if torch.cuda.is_available() else weights)
    assert model_loader._releasing(None, Settings(device="cpu")) == 0


async def test_a_reload_that_fits_only_in_the_place_of_the_model_it_replaces_loads(model_dir, tmp_path, monkeypatch):
    # The memory the system calls free is as little as the new model takes less half the old one's weights: it fits
    # once the old one is released, which the server does first. Checked again after that release, the load was
    # refused with no model left (memory the allocator keeps of a released model is not free to the system).
    from engine import checkpoint
    from infill_ls.service import InfillService

    other = write_random_checkpoint(tmp_path / "other", seed=1)
    service = InfillService(Settings(model_path=str(model_dir), device="cpu", dtype="float32"))
    try:
        service.load_model(lambda result: None)
        held = await service.model.engine()
        assert held is not None and str(model_dir) in held.description
        weights = sum(p.numel() * p.element_size() for p in held.model.parameters())
        need = math.ceil(inspect_checkpoint(other, device="cpu", dtype="float32", memory_check=False).load_bytes()
                         * MEMORY_MARGIN)
        monkeypatch.setattr(checkpoint, "device_available", lambda device: Room(need - weights // 2))
        del held
        problems, reload = service.configure({"modelPath": str(other)})
        assert problems == [] and reload
        service.load_model(lambda result: None)
        loaded_now = await service.model.engine()
        assert loaded_now is not None and str(other) in loaded_now.description, service.stats()
    finally:
        service.shutdown(wait_s=30)


# -- the server -----------------------------------------------------------------------------------------------------
SERVER = [sys.executable, "-c", NET + "from infill_ls.cli import main\nsys.exit(main(sys.argv[1:]))", "--stdio",
          "--device", "cpu"]


@pytest_lsp.fixture(config=config(SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params(capabilities(), modelPath=str(oversized_checkpoint()), dtype="float32"))
    yield
    await lsp_client.shutdown_session()


async def _settle(client: LanguageClient, said: int) -> tuple[str, str]:
    """The status a load begun after the first `said` statuses ended with."""
    for _ in range(2400):
        if len(client.statuses) > said and client.statuses[-1][0] != "loading":
            return client.statuses[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(client.statuses)


@linux
async def test_the_server_says_it_in_one_line_stays_up_and_keeps_the_model_it_serves(client: LanguageClient):
    refused_by = refused(oversized_checkpoint(), ADDRESS_SPACE)
    await loaded(client)
    kind, message = client.statuses[-1]
    assert kind == "error" and re.fullmatch(f"cannot load model: {refused_by}", message), message
    (error,) = [m for m in client.messages if m.type == types.MessageType.Error]
    assert error.message.endswith(message) and "\n" not in error.message
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    assert stats["model"] is None and re.search(refused_by, stats["model_error"])

    said = len(client.statuses)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"modelPath": tiny_model()}))
    assert (await _settle(client, said))[0] == "ready"
    said = len(client.statuses)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"modelPath": str(oversized_checkpoint())}))
    kind, message = await _settle(client, said)
    assert kind == "warning" and re.fullmatch(f"cannot load model: {refused_by}; "
                                              f"keeping the model loaded from {re.escape(tiny_model())}", message)
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    assert tiny_model() in stats["model"]
