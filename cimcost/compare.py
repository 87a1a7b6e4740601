"""``cimcost compare``: one network, several learning rules, one table."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from . import units

COLUMNS = (
    ("area", "area", units.area),
    ("energy", "energy per step", lambda v: units.si(v, "J")),
    ("latency", "latency per step", lambda v: units.si(v, "s")),
    ("traffic", "traffic per step", units.data),
)


def register(sub: Any) -> None:
    from .cli import add_config_args

    p = sub.add_parser("compare", help="compare learning rules on one network")
    p.add_argument("network", nargs="?", help="network YAML file")
    p.add_argument("--mlp", help="an MLP inline: widths, input first, e.g. 784,1024,10")
    p.add_argument("--rules", default="bp,fa,dfa,sdfa,drtp,elm",
                   help="comma-separated rules (default: bp,fa,dfa,sdfa,drtp,elm)")
    add_config_args(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON: rule -> the estimate object")
    out.add_argument("--csv", action="store_true", help="CSV: one row per rule with the totals")
    p.set_defaults(func=run)


def compare(network: Any, rules: list[str], **config: Any) -> dict[str, dict[str, Any]]:
    """Estimate ``network`` under each rule; rule name -> the ``estimate --json`` object."""
    from .estimate import estimate

    return {rule: estimate(network, rule, **config).to_dict() for rule in rules}


def rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row of totals per rule (SI units)."""
    out = []
    for rule, d in results.items():
        steps = d["scope"]["steps"]
        out.append({
            "rule": rule,
            "area": d["area"]["total"],
            "energy_per_step": d["energy"]["total"] / steps,
            "latency_per_step": d["latency"]["total"] / steps,
            "traffic_per_step": d["traffic"]["total"] / steps,
            "wgus": d["hardware"]["wgus"],
            "stashed_bytes_per_sample": d["hardware"]["stashed_bytes_per_sample"],
            "dominant_area": max(d["area"]["breakdown"], key=d["area"]["breakdown"].get),
        })
    return out


def run(args: argparse.Namespace) -> int:
    from .cli import network_from_args
    from .rules import parse_rule_list

    rules = parse_rule_list(args.rules)
    results = compare(network_from_args(args), rules, floorplan=args.floorplan, tech=args.tech,
                      memory=args.memory, circuits=args.circuits, set=args.set)
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    table_rows = rows(results)
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(table_rows[0]))
        writer.writeheader()
        writer.writerows(table_rows)
        return 0
    from rich.console import Console
    from rich.table import Table

    first = next(iter(results.values()))
    table = Table(title=f"{first['network']} — batch {first['scope']['batch_size']:g}, per "
                  "training step", title_justify="left", header_style="bold cyan")
    table.add_column("")
    for rule in results:
        table.add_column(rule, justify="right")
    for key, label, fmt in COLUMNS:
        table.add_row(label, *(fmt(r[key if key == "area" else f"{key}_per_step"])
                               for r in table_rows))
    table.add_row("weight-gradient units", *(str(r["wgus"]) for r in table_rows))
    table.add_row("stored activations / sample",
                  *(units.data(r["stashed_bytes_per_sample"]) for r in table_rows))
    table.add_row("largest area share", *(r["dominant_area"] for r in table_rows))
    Console().print(table)
    return 0
