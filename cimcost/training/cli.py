"""``cimcost train``: accuracy per epoch of a configuration, and beside it that configuration's cost."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import InputError

DEFAULT_BATCH = 32


def register(subparsers: Any) -> None:
    from ..cli import add_config_args

    p = subparsers.add_parser(
        "train", help="train the network in numpy with the chip's non-idealities; print "
        "accuracy per epoch and the cost estimate of the same configuration")
    p.add_argument("network", nargs="?", help="network YAML file (e.g. examples/mlp-digits.yaml)")
    p.add_argument("--mlp", help="an MLP inline instead of a file, e.g. 64,256,256,10")
    p.add_argument("--hidden-activation", choices=("relu", "tanh", "sigmoid", "identity"),
                   help="replace the hidden layers' activation (the DRTP paper uses tanh)")
    p.add_argument("--output-activation", choices=("softmax", "sigmoid", "tanh", "identity"),
                   help="replace the output activation (default: the network's; for --mlp on a "
                        "regression task, tanh)")
    p.add_argument("--rule", default="bp", help="bp, fa, dfa, sdfa, drtp, elm (alias noprop)")
    p.add_argument("--dataset", default="digits",
                   help="digits, synthetic-classification, synthetic-regression, mnist, "
                        "fashion-mnist, or a path to MNIST-format files (default: digits)")
    p.add_argument("--data", metavar="PATH", help="where mnist/fashion-mnist files are: a folder "
                   "of IDX files (gz or not) or an .npz; never downloaded")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, help=f"mini-batch size (default: training.batch_size "
                   f"if given with --set, else {DEFAULT_BATCH}); the estimate uses the same")
    p.add_argument("--lr", type=float, help="learning rate (default: the rule's)")
    p.add_argument("--hidden-lr", type=float, help="hidden layers' learning rate (default: the rule's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N training samples")
    p.add_argument("--sign-updates", action="store_true",
                   help="one programming pulse in the sign of the gradient (always on for elm)")
    p.add_argument("--ideal", action="store_true",
                   help="floating-point training: no quantisation, ADC, variation or non-linearity")
    p.add_argument("--deterministic-rounding", action="store_true",
                   help="round pulse counts to nearest (default: stochastic rounding)")
    p.add_argument("--weight-range", type=float,
                   help="weight bounds as a multiple of the initial bound (default 2)")
    p.add_argument("--c2c-sigma", type=float, help="cycle-to-cycle variation, fraction of the "
                   "conductance range per write (overrides memory.c2c_sigma)")
    p.add_argument("--d2d-sigma", type=float, help="device-to-device variation of the extrema, "
                   "fraction of the range (overrides memory.d2d_sigma)")
    p.add_argument("--nonlinearity-ltp", type=float, help="0 linear .. 1 the ELM paper's non-linear "
                   "SET (overrides memory.nonlinearity_ltp)")
    p.add_argument("--nonlinearity-ltd", type=float, help="the same for RESET")
    add_config_args(p)
    p.add_argument("--plot", metavar="PNG", help="draw the accuracy curves to this file")
    p.add_argument("--json", action="store_true", help="print JSON: history, final_test_accuracy, "
                   "estimate")
    p.set_defaults(func=run)


def _split_overrides(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, float], Any]:
    """(overrides for the cost model, training-only memory knobs, loaded config).  A --set on a
    memory field the memory file does not define (c2c_sigma, ...) becomes a training knob."""
    from ..config import load_config, parse_set
    from .hardware import MEMORY_KNOBS

    overrides = dict(parse_set(item) for item in args.set)
    knobs: dict[str, float] = {}
    for _ in range(len(MEMORY_KNOBS) + 1):
        try:
            cfg = load_config(args.floorplan, args.tech, args.memory, args.circuits, overrides)
            break
        except InputError as exc:
            key = exc.field or ""
            name = key.removeprefix("memory.")
            if key.startswith("memory.") and name in MEMORY_KNOBS and key in overrides:
                try:
                    knobs[name] = float(overrides.pop(key))
                except (TypeError, ValueError):
                    raise InputError(f"'{overrides.get(key)}' is not a number", field=key) from None
                continue
            raise
    else:  # pragma: no cover - the loop always breaks or raises
        raise InputError("could not apply --set", field="--set")
    return overrides, knobs, cfg


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..cli import network_from_args
    from .data import load_dataset
    from .engine import Options, Trainer, TrainResult, check_fit, resolve_rule
    from .hardware import MEMORY_KNOBS, Hardware

    network = network_from_args(args)
    if args.epochs is not None and args.epochs < 1:
        raise InputError("--epochs must be at least 1", field="--epochs")
    overrides, knobs, cfg = _split_overrides(args)
    batch = args.batch_size or int(overrides.get("training.batch_size", DEFAULT_BATCH))
    if batch < 1:
        raise InputError("--batch-size must be at least 1", field="--batch-size")
    overrides["training.batch_size"] = batch
    for name in MEMORY_KNOBS:
        flag = getattr(args, name)
        if flag is not None:
            knobs[name] = float(flag)
    for name, value in knobs.items():
        if value < 0 and name.endswith("sigma"):
            raise InputError(f"{name} must not be negative", field=name)
    hw = Hardware.ideal() if args.ideal else Hardware.from_config(cfg, **knobs)
    if args.weight_range is not None:
        hw = replace(hw, weight_range=args.weight_range)
    if args.deterministic_rounding:
        hw = replace(hw, stochastic_rounding=False)

    rule, trained = resolve_rule(args.rule, network.depth)
    data = load_dataset(args.dataset, args.data, seed=args.seed)
    if args.limit:
        data = data.subset(train=args.limit)
    network = _with_activations(network, args, data.task)
    sizes = [network.input_features] + [ly.out_features for ly in network.layers]
    check_fit(sizes, data, f"network '{network.name}'")
    if data.task == "regression" and network.layers[-1].activation == "softmax":
        raise InputError(f"the {data.name} task has real-valued targets but the output layer is "
                         "softmax", field="activation",
                         expected="--output-activation tanh (or identity)")

    estimate, note = _estimate(network, args.rule, args, overrides)
    opts = Options(epochs=args.epochs, batch_size=batch, lr=args.lr, hidden_lr=args.hidden_lr,
                   seed=args.seed, sign_updates=True if args.sign_updates else None,
                   feedback=str(cfg.floorplan.training.feedback_matrix))
    trainer = Trainer(sizes, [ly.activation for ly in network.layers], rule, hw, opts, trained)
    result = TrainResult(rule, data.name, hardware=hw.to_dict(), options={
        "epochs": opts.epochs, "batch_size": batch, "lr": trainer.lr, "hidden_lr": trainer.hidden_lr,
        "seed": opts.seed, "sign_updates": trainer.sign_updates, "feedback": opts.feedback,
        "trained_layers": [ly.name for ly, t in zip(network.layers, trained, strict=True) if t],
        "train_samples": len(data.x_train), "test_samples": len(data.x_test)})

    if not args.json:
        print(f"cimcost train — network {network.name}, rule {rule}, dataset {data.name} "
              f"({len(data.x_train)} train / {len(data.x_test)} test), batch {batch}, "
              f"{'ideal arithmetic' if args.ideal else 'hardware effects on'}")
        print(f"{'epoch':>5}  {'train acc':>9}  {'test acc':>9}  {'train loss':>10}  {'test loss':>10}")

    def show(ep: Any) -> None:
        if args.json:
            return
        fmt = (lambda v: f"{v:9.4f}" if v is not None else f"{'-':>9}")  # noqa: E731
        print(f"{ep.epoch:5d}  {fmt(ep.train_accuracy)}  {fmt(ep.test_accuracy)}  "
              f"{ep.train_loss:10.4f}  {ep.test_loss:10.4f}", flush=True)

    result.history = trainer.fit(data, opts.epochs, show)
    if args.plot:
        plot_history(result, args.plot)

    if args.json:
        out: dict[str, Any] = {"history": [h.to_dict() for h in result.history],
               "final_test_accuracy": result.final_test_accuracy,
               "final_test_loss": result.history[-1].test_loss,
               "estimate": estimate, "training": {k: v for k, v in result.to_dict().items()
                                                  if k in ("rule", "dataset", "hardware", "options")}}
        if note:
            out["estimate_note"] = note
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    final = result.final_test_accuracy
    print(f"final test accuracy: {final:.4f}" if final is not None
          else f"final test loss: {result.history[-1].test_loss:.4f}")
    if estimate is None:
        print(f"no cost estimate: {note}")
        return 0
    from .. import units
    from ..report import render

    print(f"cost of this configuration ({estimate['scope']['samples']:g} samples): "
          f"area {units.area(estimate['area']['total'])}, "
          f"energy {units.si(estimate['energy']['total'], 'J')}, "
          f"latency {units.si(estimate['latency']['total'], 's')}\n")
    render(estimate)
    return 0


def _with_activations(network: Any, args: argparse.Namespace, task: str) -> Any:
    from dataclasses import replace

    hidden, output = args.hidden_activation, args.output_activation
    if output is None and args.mlp and task == "regression":
        output = "tanh"
    if hidden is None and output is None:
        return network
    last = len(network.layers) - 1
    layers = [replace(ly, activation=(output if i == last else hidden) or ly.activation)
              for i, ly in enumerate(network.layers)]
    return replace(network, layers=layers, _graph=None)


def _estimate(network: Any, rule: str, args: argparse.Namespace,
              overrides: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    from ..estimate import estimate

    try:
        est = estimate(network, rule, floorplan=args.floorplan, tech=args.tech, memory=args.memory,
                       circuits=args.circuits, set=overrides)
    except InputError as exc:
        if exc.field == "rule":      # a rule the cost model does not declare (yet)
            return None, exc.render()
        raise
    return est.to_dict(), None


def plot_history(result: Any, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib", field="--plot",
                         expected="pip install 'cimcost[plot]'") from None
    epochs = [h.epoch for h in result.history]
    fig, ax = plt.subplots(figsize=(6, 4))
    if result.history and result.history[0].test_accuracy is not None:
        ax.plot(epochs, [h.train_accuracy for h in result.history], "o-", label="train (running)")
        ax.plot(epochs, [h.test_accuracy for h in result.history], "s-", label="test")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
    else:
        ax.plot(epochs, [h.train_loss for h in result.history], "o-", label="train loss")
        ax.plot(epochs, [h.test_loss for h in result.history], "s-", label="test loss")
        ax.set_ylabel("loss")
    ax.set_xlabel("epoch")
    ax.set_title(f"{result.rule} on {result.dataset}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise InputError(f"cannot write the plot: {exc.strerror}", field="--plot", file=path) from None
    finally:
        plt.close(fig)
