"""Training-engine speed and the accuracy trends of docs/training.md.  Prints tables; no asserts.

    python benchmarks/bench_training.py [--repeats N]        # epoch time, 784-256-256-10, 60k samples
    python benchmarks/bench_training.py --trends [--seeds N]  # the digits experiments of docs/training.md

Speed: one epoch of 60,000 samples through a 784-256-256-10 MLP (MNIST from disk if
``--data``/$CIMCOST_DATA/ /usr/share/datasets has it, else random data of that shape), batch
100, float32, one BLAS thread, with ideal arithmetic and with the default floorplan's effects.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402

from cimcost.config import load_config  # noqa: E402
from cimcost.errors import InputError  # noqa: E402
from cimcost.training import Dataset, Hardware, Options, Trainer, load_dataset  # noqa: E402


def mnist_or_random(path: str | None) -> Dataset:
    for name in ("mnist", "fashion-mnist"):
        try:
            return load_dataset(name, path)
        except InputError:
            continue
    rng = np.random.default_rng(0)
    x = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    return Dataset("random 60000x784", "classification", x, y, x[:10000], y[:10000])


def speed(args: argparse.Namespace) -> None:
    data = mnist_or_random(args.data).subset(train=60000)
    chip = Hardware.from_config(load_config())
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy "
          f"{np.__version__}, data: {data.name}, {len(data.x_train)} samples per epoch")
    print(f"{'hardware':10} {'rule':5} {'batch':>5}  epoch time (best / median of {args.repeats})")
    for hw_name, hw in (("ideal", Hardware.ideal()), ("default", chip)):
        for rule in ("bp", "dfa", "drtp", "elm"):
            for batch in (100,) if not args.batches else args.batches:
                times = []
                for r in range(args.repeats):
                    t = Trainer([784, 256, 256, 10], ["relu", "relu", "softmax"], rule, hw,
                                Options(batch_size=batch, seed=r))
                    x, y = data.x_train.astype(np.float32), data.y_train
                    order = t.shuffle_rng.permutation(len(x))
                    start = time.perf_counter()
                    for s in range(0, len(x), batch):
                        idx = order[s:s + batch]
                        t.step(x[idx], y[idx])
                    times.append(time.perf_counter() - start)
                print(f"{hw_name:10} {rule:5} {batch:5d}  {min(times):6.2f} s / "
                      f"{statistics.median(times):6.2f} s")


# ------------------------------------------------------------------------------ trends


def _acc(sizes: list[int], acts: list[str], rule: str, hw: Hardware, data: Dataset, epochs: int,
         seeds: int, **opts: object) -> tuple[float, float]:
    """Mean and spread over seeds of the mean test accuracy of the last 3 epochs."""
    finals = []
    for seed in range(seeds):
        t = Trainer(sizes, acts, rule, hw, Options(batch_size=32, seed=seed, **opts))  # type: ignore[arg-type]
        hist = t.fit(data, epochs)
        finals.append(float(np.mean([h.test_accuracy or 0.0 for h in hist[-3:]])))
    return float(np.mean(finals)), float(np.std(finals))


def _row(label: str, cells: list[tuple[float, float]]) -> str:
    return f"| {label} | " + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in cells) + " |"


def trends(args: argparse.Namespace) -> None:
    data = load_dataset("digits")
    chip = Hardware.from_config(load_config())
    ep, seeds = args.epochs, args.seeds
    relu3 = ["relu", "relu", "relu", "softmax"]
    print(f"digits: {len(data.x_train)} train / {len(data.x_test)} test; {ep} epochs, batch 32, "
          f"{seeds} seeds; cells: mean ± std over seeds of the mean test accuracy of the last "
          "3 epochs; default floorplan effects unless noted\n")

    print("### Width (64-W-W-W-10)\n\n| W | dfa | bp |\n|---|---|---|")
    for w in (4, 8, 16, 32, 64, 256):
        cells = [_acc([64, w, w, w, 10], relu3, r, chip, data, ep, seeds) for r in ("dfa", "bp")]
        print(_row(str(w), cells), flush=True)

    net, acts = [64, 256, 256, 10], ["relu", "relu", "softmax"]
    print("\n### ADC bits (forward, feedback and transposed ADCs), 64-256-256-10\n")
    print("| ADC bits | dfa | bp |\n|---|---|---|")
    for bits in (1, 2, 3, 4, 6):
        hw = replace(chip, adc_bits=bits, transposed_adc_bits=bits)
        print(_row(str(bits), [_acc(net, acts, r, hw, data, ep, seeds) for r in ("dfa", "bp")]),
              flush=True)

    print("\n### Cycle-to-cycle variation (sigma of the conductance range per write)\n")
    print("| c2c sigma | dfa | bp |\n|---|---|---|")
    for sigma in (0.0, 0.01, 0.02, 0.05):
        hw = replace(chip, c2c_sigma=sigma)
        print(_row(f"{sigma:g}", [_acc(net, acts, r, hw, data, ep, seeds) for r in ("dfa", "bp")]),
              flush=True)

    print("\n### Weight resolution (levels per weight), 64-256-256-10\n")
    print("| levels | elm (sign-WH) | bp (SGD) | bp (sign updates) |\n|---|---|---|---|")
    for levels in (4, 8, 16, 32, 64, 256):
        hw = replace(chip, weight_levels=levels)
        cells = [_acc(net, acts, "elm", hw, data, ep, seeds),
                 _acc(net, acts, "bp", hw, data, ep, seeds),
                 _acc(net, acts, "bp", hw, data, ep, seeds, sign_updates=True)]
        print(_row(str(levels), cells), flush=True)

    print("\n### Non-linear asymmetric updates (nu_ltp = nu_ltd), 32 levels\n")
    print("| nu | elm | bp | dfa |\n|---|---|---|---|")
    for nu in (0.0, 0.5, 1.0):
        hw = replace(chip, nonlinearity_ltp=nu, nonlinearity_ltd=nu)
        print(_row(f"{nu:g}", [_acc(net, acts, r, hw, data, ep, seeds) for r in ("elm", "bp", "dfa")]),
              flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trends", action="store_true", help="run the digits experiments instead")
    p.add_argument("--data", help="folder or .npz of MNIST-format data for the speed run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batches", type=int, nargs="*", help="batch sizes for the speed run")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    if args.trends:
        trends(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
