"""The ``cimcost`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .errors import InputError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: same shape, exit 2
        self.print_usage(sys.stderr)
        print(f"cimcost: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parse_mlp(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = int(part)
        except ValueError:
            raise InputError(f"'{part}' is not a whole number", field="--mlp",
                             expected="comma-separated layer widths, e.g. 784,1024,10") from None
        sizes.append(value)
    return sizes


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--floorplan", help="floorplan YAML (default: floorplans/default.yaml)")
    p.add_argument("--tech", help="CMOS node YAML or name, e.g. 22nm (default: the floorplan's)")
    p.add_argument("--memory", help="memory cell YAML or name, e.g. rram (default: the floorplan's)")
    p.add_argument("--circuits", help="circuit library YAML (default: techfiles/circuits.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override one field, e.g. subarray.rows=256, adc.bits=4, tech.vdd=0.8, "
                        "training.wgus=2 (repeatable)")


# Further commands live in their own modules; each defines ``register(subparsers)`` which adds
# its parser and sets ``func`` (a callable taking the parsed args and returning an exit code).
# Modules must keep heavy imports inside their functions: every CLI call builds the parser.
COMMAND_MODULES: tuple[str, ...] = ("cimcost.compare", "cimcost.training.cli",
                                    "cimcost.sweeps", "cimcost.pareto", "cimcost.reports",
                                    "cimcost.importers", "cimcost.schema")


def add_config_args(p: argparse.ArgumentParser) -> None:
    """The flags every design-evaluating command shares."""
    _add_config_args(p)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from .rules import rule_names

    parser = _Parser(prog="cimcost", description="What a neural network and its learning rule "
                     "cost on a compute-in-memory chip.")
    parser.add_argument("--version", action="version", version="cimcost 0.1.0")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    est = sub.add_parser("estimate", help="area, energy, latency and traffic of one design")
    est.add_argument("network", nargs="?", help="network YAML file")
    est.add_argument("--mlp", help="an MLP inline instead of a file: widths, input first, "
                     "e.g. 784,1024,1024,10")
    est.add_argument("--rule", default="inference",
                     help=f"learning rule: {', '.join(rule_names())}, or a rule YAML file "
                          "(default: inference)")
    _add_config_args(est)
    est.add_argument("--json", action="store_true", help="print JSON (SI units) instead of tables")
    est.set_defaults(func=_run_estimate)
    sub.add_parser("rules", help="list the learning rules").set_defaults(func=_run_rules)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def network_from_args(args: argparse.Namespace) -> Any:
    """The network named by a positional file argument or by ``--mlp``."""
    from .network import load_network, mlp

    if args.network and args.mlp:
        raise InputError("give a network file or --mlp, not both", field="network")
    if args.mlp:
        return mlp(_parse_mlp(args.mlp))
    if not args.network:
        raise InputError("no network given", field="network",
                         expected="a network YAML file or --mlp 784,1024,10")
    return load_network(args.network)


def run(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args))


def _run_rules(args: argparse.Namespace) -> int:
    from .rules import builtin_rules

    seen = set()
    for rule in builtin_rules().values():
        if rule.name in seen:
            continue
        seen.add(rule.name)
        print(f"{rule.name:10s} {' '.join(rule.description.split())}")
    return 0


def _run_estimate(args: argparse.Namespace) -> int:
    from .estimate import estimate

    result = estimate(network_from_args(args), args.rule, floorplan=args.floorplan, tech=args.tech,
                      memory=args.memory, circuits=args.circuits, set=args.set)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from .report import render

        render(result.to_dict())
    return 0


def main(argv: list[str] | None = None) -> None:
    try:
        code = run(argv)
    except InputError as exc:
        print(f"cimcost: error: {exc.render()}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("cimcost: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as exc:  # an internal bug: say so plainly; traceback only on request
        if os.environ.get("CIMCOST_DEBUG"):
            raise
        print(f"cimcost: internal error: {type(exc).__name__}: {exc} "
              "(set CIMCOST_DEBUG=1 for a traceback, and please report it)", file=sys.stderr)
        code = 1
    sys.exit(code)
