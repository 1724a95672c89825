"""The memory a device has free for a checkpoint's weights, as the system tells it before any is allocated.

On Linux a CPU allocation past the memory there is not refused: the kernel overcommits, and the process is
killed (SIGKILL, no message) as the weights fill it, or the machine swaps for minutes first. So the room is read
before the weights are: the smallest of /proc/meminfo's MemAvailable, in a container what its cgroup's limit
leaves, and under an address-space limit (`ulimit -v`) what that leaves. Elsewhere (macOS, Windows, a /proc that
cannot be read) nothing is known and nothing is checked: those systems refuse an allocation they cannot back,
which the load says as running out of memory.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

# A cgroup limit this large is none: cgroup v1 writes "no limit" as the largest page count its counter holds
# (9223372036854771712 bytes with 4 KiB pages), v2 as "max".
NO_LIMIT = 1 << 60

# What bounds the room, as a refusal names it: "2.1 GB of {bound} is available".
MEMORY = "memory"
ADDRESS_SPACE = "address space under the process's limit (ulimit -v)"


class Room(NamedTuple):
    """The bytes free on a device for new tensors, and what bounds them (`MEMORY`, `ADDRESS_SPACE`)."""

    free: int
    bound: str = MEMORY


def meminfo_available(root: str | Path = "/") -> int | None:
    """MemAvailable of `root`/proc/meminfo, in bytes: what the kernel can give without swapping (free memory and
    the page cache it may drop); None where it is not there (a kernel before 3.14, not Linux)."""
    return _field(Path(root) / "proc/meminfo", "MemAvailable")


def cgroup_available(root: str | Path = "/") -> int | None:
    """What the memory cgroup of this process, and each above it, lets it add before its limit (the smallest), in
    bytes; None where no limit holds or none can be read. Usage counts the page cache, which the kernel drops
    before it kills for the limit: its inactive part is taken as free, as `docker stats` and the kubelet take it
    (a checkpoint just copied in had its whole size charged so)."""
    root = Path(root)
    rooms = [room for v2, base, path in _cgroup_dirs(root) for room in _rooms(base, path, v2)]
    return min(rooms, default=None)


def _cgroup_dirs(root: Path) -> list[tuple[bool, Path, str]]:
    """(cgroup v2?, the hierarchy's mount, this process's path in it) of the memory controller's hierarchies."""
    try:
        lines = (root / "proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # cgroup v2's one hierarchy (on a hybrid system it holds no memory controller)
            out.append((True, root / "sys/fs/cgroup", path))
        elif "memory" in controllers.split(","):
            out.append((False, root / "sys/fs/cgroup/memory", path))
    return out


def _rooms(base: Path, path: str, v2: bool) -> list[int]:
    """The room each limit leaves from the process's cgroup up to the hierarchy's top. In a container the
    hierarchy mounted is often the container's own cgroup, while /proc/self/cgroup names its path on the host:
    where that path is not found under the mount, the mount itself is the process's cgroup."""
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    if not (base.joinpath(*parts)).is_dir():
        parts = []
    limit_file, usage_file = ("memory.max", "memory.current") if v2 else ("memory.limit_in_bytes",
                                                                          "memory.usage_in_bytes")
    cache_key = "inactive_file" if v2 else "total_inactive_file"
    rooms = []
    for depth in range(len(parts), -1, -1):
        directory = base.joinpath(*parts[:depth])
        limit = _number(directory / limit_file)
        if limit is None or limit >= NO_LIMIT:
            continue
        usage = _number(directory / usage_file)
        if usage is None:
            continue
        cache = _stat(directory / "memory.stat", cache_key) or 0
        rooms.append(max(0, limit - max(0, usage - cache)))
    return rooms


def _number(path: Path) -> int | None:
    """The integer a cgroup file holds; None for "max", or where it cannot be read."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _stat(path: Path, key: str) -> int | None:
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def address_space_available(root: str | Path = "/") -> int | None:
    """What the process's address-space limit (RLIMIT_AS, `ulimit -v`) leaves it: the limit less its virtual size
    (VmSize of `root`/proc/self/status), in bytes; None where no limit is set or the size cannot be read. Past it an
    allocation fails whatever the memory free, and the load with it, after reading the weights that fit."""
    try:
        import resource
    except ImportError:  # Windows, which has no such limit
        return None
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit == resource.RLIM_INFINITY:
        return None
    size = _field(Path(root) / "proc/self/status", "VmSize")
    return None if size is None else max(0, limit - size)


def _field(path: Path, key: str) -> int | None:
    """The number of a "Key:  N kB" line of a /proc file, in bytes; None where it is not there."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            number, unit = (value.split() + [""])[:2]
            return int(number) * (1024 if unit == "kB" else 1) if number.isdigit() else None
    return None


def cpu_available(root: str | Path = "/") -> Room | None:
    """The memory a process may still take on the CPU, and what bounds it; None where the system does not say (not
    Linux)."""
    known = [Room(n, bound) for n, bound in ((meminfo_available(root), MEMORY), (cgroup_available(root), MEMORY),
                                             (address_space_available(root), ADDRESS_SPACE)) if n is not None]
    return min(known, key=lambda room: room.free, default=None)


def device_available(device) -> Room | None:
    """The memory free on `device` (a torch.device) for new tensors; None where it cannot be known."""
    if device.type == "cuda":
        import torch

        try:
            free, _ = torch.cuda.mem_get_info(device)
        except RuntimeError:
            return None  # no context could be made (a full GPU, a driver in trouble): the load itself will say why
        # What torch's caching allocator holds but no tensor uses (a model's activations, after requests) is not free
        # to the driver, yet new tensors are put there first.
        return Room(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type == "cpu" and sys.platform.startswith("linux"):
        return cpu_available()
    return None
