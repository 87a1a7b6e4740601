"""Sweep throughput: design points per second for the paper's default 5-layer MLP
(784-1024x4-10) under bp and dfa, 10^3 ... 10^7 points, against a Python loop over single
``cimcost.estimate`` calls.

    python benchmarks/bench_sweep.py              # up to 10^7 points (takes minutes)
    python benchmarks/bench_sweep.py --max 1e6    # quicker

Each sweep runs in a fresh subprocess (local engine, all cores, Parquet output in a temporary
folder, so writing is included) so that its peak memory (``ru_maxrss`` of the process; the
largest ``VmHWM`` among its worker processes) is its own.  Points are a random sample of the space of
``examples/spaces/mlp-1m.yaml`` (node, memory cell, subarray rows/cols, columns per ADC, ADC
bits, WGU count).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NET = str(ROOT / "examples" / "mlp-784-1024x4-10.yaml")
PARAMS = {
    "tech": ["14nm", "22nm", "32nm", "45nm", "65nm", "90nm", "130nm"],
    "memory": ["fefet", "rram", "taox-reram", "pcm", "sram", "ftj", "enode", "lista"],
    "training.wgus": {"from": 1, "to": 5},
    "subarray.rows": {"from": 16, "to": 1024, "factor": 2},
    "subarray.cols": {"from": 16, "to": 1024, "factor": 2},
    "adc.columns_per_adc": {"from": 1, "to": 256, "factor": 2},
    "adc.bits": {"from": 2, "to": 10},
}


def space(points: int, rule: str) -> dict:
    return {"network": NET, "rules": [rule], "sample": {"points": points, "seed": 1},
            "parameters": PARAMS}


def one(points: int, rule: str) -> None:
    """Child process: run one sweep, print a JSON line."""
    import threading

    from cimcost.sweeps import sweep

    peak = {"kb": 0}
    stop = threading.Event()

    def watch() -> None:  # pool workers are children of the forkserver: watch descendants
        while not stop.wait(0.2):
            peak["kb"] = max(peak["kb"], max((_hwm_kb(p) for p in _descendants(os.getpid())),
                                             default=0))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = sweep(space(points, rule), Path(tmp) / "r.parquet")
        total = time.perf_counter() - t0
        size = (Path(tmp) / "r.parquet").stat().st_size
    stop.set()
    watcher.join()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = max(peak["kb"], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"points": points, "rule": rule, "seconds": total, "eval_seconds": res.seconds,
                      "rss_mb": self_kb / 1024, "worker_rss_mb": child_kb / 1024,
                      "bytes": size}))


def _descendants(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _hwm_kb(pid: int) -> int:
    """Peak resident set (VmHWM) of a process, in kB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def loop(n: int, rule: str) -> float:
    """Seconds per design point of a Python loop over single estimates."""
    import numpy as np

    import cimcost
    from cimcost.space import load_space
    from cimcost.sweeps import evaluate_chunk

    sp = load_space(space(n, rule))
    t = evaluate_chunk(sp, 0)
    names = [d.name for d in sp.dims]
    t0 = time.perf_counter()
    for i in range(n):
        sets = {}
        for name in names:
            v = t[name][i]
            sets[name] = str(v) if isinstance(v, np.str_) else int(v)
        tech, memory = sets.pop("tech"), sets.pop("memory")
        cimcost.estimate(NET, rule, tech=tech, memory=memory, set=sets)
    return (time.perf_counter() - t0) / n


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--max", type=float, default=1e7, help="largest sweep (default 1e7)")
    ap.add_argument("--loop", type=int, default=200, help="points for the Python-loop baseline")
    ap.add_argument("--one", nargs=2, metavar=("POINTS", "RULE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(int(float(args.one[0])), args.one[1])
        return
    sizes = [10 ** k for k in range(3, 8) if 10 ** k <= args.max]
    print(f"machine: {os.cpu_count()} cores (nproc), {cpu_model()}, Python "
          f"{platform.python_version()}, {datetime.date.today().isoformat()}")
    print("network: 784-1024x4-10 (default 5-layer MLP); engine: local, all cores; output: Parquet")
    print()
    header = (f"| {'points':>10} | rule | {'total s':>8} | {'points/s':>10} | {'peak RSS main':>13} | "
              f"{'peak RSS 1 worker':>17} | {'file':>9} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    rates: dict[str, float] = {}
    for rule in ("bp", "dfa"):
        for n in sizes:
            out = subprocess.run([sys.executable, __file__, "--one", str(n), rule], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            rate = n / r["seconds"]
            rates[rule] = rate
            print(f"| {n:>10,} | {rule:4} | {r['seconds']:8.2f} | {rate:10,.0f} | "
                  f"{r['rss_mb']:10.0f} MB | {r['worker_rss_mb']:14.0f} MB | "
                  f"{r['bytes'] / 1e6:6.1f} MB |", flush=True)
    print()
    print(f"Python loop over single cimcost.estimate calls ({args.loop} points, extrapolated):")
    for rule in ("bp", "dfa"):
        per = loop(args.loop, rule)
        big = sizes[-1]
        print(f"  {rule}: {per * 1e3:.2f} ms/point = {1 / per:,.0f} points/s; {big:,} points would "
              f"take {per * big / 3600:.1f} h; the sweep is {rates[rule] * per:,.0f}x faster",
              flush=True)


if __name__ == "__main__":
    main()
