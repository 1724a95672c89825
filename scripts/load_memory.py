"""The memory a load really takes on the CPU against what the memory check counts for it, and the time the check
adds to inspect_checkpoint. Linux only (the peak is the kernel's, /proc/self/status).

    python scripts/load_memory.py [--model DIR] [--dtype float32 bfloat16]

Each load runs in a process of its own: the peak of resident memory (VmHWM, reset once torch and the plan are in
memory) less what was resident then, beside `CheckpointPlan.load_bytes` and the bytes the check refuses below
(that and `MEMORY_MARGIN`). Without --model: the embedded model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Run in a child: the peak of a process that has loaded nothing else.
LOAD = """
import json, sys
sys.path.insert(0, sys.argv[3])
from engine.checkpoint import inspect_checkpoint, read_weights, MEMORY_MARGIN

def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":")) * 1024

plan = inspect_checkpoint(sys.argv[1], device="cpu", dtype=sys.argv[2], memory_check=False)
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # the peak from here on
before = status("VmRSS")
checkpoint = read_weights(plan)
print(json.dumps({"peak": status("VmHWM") - before, "weights": plan.weight_bytes, "load": plan.load_bytes(),
                  "refused_below": int(plan.load_bytes() * MEMORY_MARGIN)}))
"""


def measure(model: Path, dtype: str) -> dict:
    out = subprocess.run([sys.executable, "-c", LOAD, str(model), dtype, str(ROOT)], capture_output=True, text=True,
                         check=True, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    return json.loads(out.stdout)


def check_time(model: Path, dtype: str, runs: int = 20) -> tuple[float, float]:
    """Median ms of inspect_checkpoint with the check and without it."""
    from engine.checkpoint import inspect_checkpoint
    from engine.errors import CheckpointError

    def median(check: bool) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            try:
                inspect_checkpoint(model, device="cpu", dtype=dtype, memory_check=check)
            except CheckpointError:
                pass  # refused for the memory free now: the check's time all the same, which is what is measured
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    median(True)  # warm: imports, the page cache
    return median(True), median(False)


def main() -> int:
    from engine.config import DEFAULT_MODEL_DIR
    from engine.memory import cpu_available

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"])
    args = parser.parse_args()
    mb = 1e6
    room = cpu_available()
    print(f"{args.model}: available now {room.free / mb:.0f} MB of {room.bound}")
    print(f"{'dtype':9} {'weights':>10} {'estimate':>10} {'peak RSS':>10} {'refused<':>10}  peak/estimate")
    for dtype in args.dtype:
        got = measure(args.model, dtype)
        print(f"{dtype:9} {got['weights'] / mb:8.1f}MB {got['load'] / mb:8.1f}MB {got['peak'] / mb:8.1f}MB "
              f"{got['refused_below'] / mb:8.1f}MB  {got['peak'] / got['load']:.3f}")
    for dtype in args.dtype:
        with_check, without = check_time(args.model, dtype)
        print(f"inspect_checkpoint, {dtype}: {with_check:.2f} ms with the memory check, {without:.2f} ms without")
    runs = 1000
    started = time.perf_counter()
    for _ in range(runs):
        cpu_available()
    print(f"cpu_available(): {(time.perf_counter() - started) * 1000 / runs:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
