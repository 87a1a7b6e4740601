"""Single-estimate speed: wall time of the CLI (interpreter start included), time inside
Python, import time, and how the cost grows with network size.  Prints a table; no asserts.

    python benchmarks/bench_estimate.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "examples" / "mlp-784-1024x4-10.yaml"


def _best(times: list[float]) -> str:
    return f"{min(times) * 1e3:8.1f} ms (median {statistics.median(times) * 1e3:.1f})"


def cli_wall(rule: str, repeats: int) -> list[float]:
    exe = shutil.which("cimcost") or str(Path(sys.executable).with_name("cimcost"))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([exe, "estimate", str(NET), "--rule", rule, "--json"], check=True,
                       capture_output=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        times.append(time.perf_counter() - t)
    return times


def import_time() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cimcost"], check=True)
    return time.perf_counter() - t


def in_process(sizes: list[int], rule: str, repeats: int) -> float:
    import cimcost

    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        cimcost.estimate(sizes, rule=rule)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller networks")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d')}\n")
    print("## cimcost estimate examples/mlp-784-1024x4-10.yaml (wall, interpreter start included)")
    for rule in ("inference", "bp", "dfa"):
        print(f"  --rule {rule:9s} {_best(cli_wall(rule, repeats))}")
    print(f"  python -c 'import cimcost'  {import_time() * 1e3:8.1f} ms")
    print("\n## estimate() inside Python, default 5-layer MLP")
    for rule in ("inference", "bp", "dfa"):
        t = in_process([784, 1024, 1024, 1024, 1024, 10], rule, repeats)
        print(f"  {rule:9s} {t * 1e3:8.2f} ms")
    print("\n## scaling with depth (width 1024), rule bp / dfa")
    depths = (2, 10, 100) if args.quick else (2, 10, 100, 300, 1000)
    for n in depths:
        sizes = [784] + [1024] * (n - 1) + [10]
        tb = in_process(sizes, "bp", 1)
        td = in_process(sizes, "dfa", 1)
        print(f"  {n:5d} layers  bp {tb * 1e3:9.1f} ms  dfa {td * 1e3:9.1f} ms  "
              f"({tb / n * 1e3:.2f} / {td / n * 1e3:.2f} ms per layer)")
    print("\n## scaling with width (5 layers), rule bp")
    for w in (64, 1024, 65536):
        t = in_process([784, w, w, w, w, 10], "bp", 3)
        print(f"  width {w:6d}  {t * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
