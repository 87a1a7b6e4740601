"""Terminal tables (rich) for an estimate: every number with its unit and its share."""

from __future__ import annotations

from typing import Any

from . import units


def _table(title: str, columns: list[str]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", title_style="bold", show_edge=False,
                  header_style="bold cyan")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    return table


def _breakdown(title: str, book: dict[str, Any], fmt: Any, what: str = "component") -> Any:
    total = book["total"]
    table = _table(title, [what, "value", "share"])
    for key, val in sorted(book["breakdown"].items(), key=lambda kv: -kv[1]):
        if val == 0:
            continue
        table.add_row(key, fmt(val), units.share(val, total))
    table.add_row("[bold]total[/bold]", f"[bold]{fmt(total)}[/bold]", "100.0 %")
    return table


def _by_phase(title: str, book: dict[str, Any], fmt: Any, samples: float) -> Any:
    total = book["total"]
    table = _table(title, ["phase", "value", "per sample", "share"])
    for key, val in book["by_phase"].items():
        table.add_row(key, fmt(val), fmt(val / samples), units.share(val, total))
    table.add_row("[bold]total[/bold]", f"[bold]{fmt(total)}[/bold]", fmt(total / samples),
                  "100.0 %")
    return table


def render(data: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    hw = data["hardware"]
    scope = data["scope"]
    samples = scope["samples"]
    cfg = data["config"]
    console.print(f"[bold]cimcost estimate[/bold] — network [bold]{data['network']}[/bold], "
                  f"rule [bold]{data['rule']}[/bold]")
    console.print(f"technology {cfg['technology']} · memory {cfg['memory']} · floorplan "
                  f"{cfg['floorplan']}")
    console.print(f"scope: {scope['steps']:g} step(s) × batch {scope['batch_size']:g} = "
                  f"{samples:g} samples; totals cover the whole scope\n")
    for warning in data.get("warnings", []):
        console.print(f"[yellow]note:[/yellow] {warning}\n")

    t = _table("Hardware", ["item", "value"])
    t.add_row("tiles / PEs / subarrays", f"{hw['tiles']:g} / {hw['pes']:g} / {hw['subarrays']:g}")
    t.add_row("memory utilisation", units.share(hw["utilization"], 1.0))
    t.add_row("transposable readout", "yes" if hw["transposable"] else "no")
    t.add_row("feedback subarrays", f"{hw['feedback_subarrays']:g}")
    arrays = ", ".join(f"{a:g}" for a in hw["wgu_arrays"]) or "–"
    t.add_row("weight-gradient units", f"{hw['wgus']} (SRAM arrays each: {arrays})")
    t.add_row("global bus width", f"{hw['global_bus_width_bits']:g} bit")
    t.add_row("global buffer", units.data(hw["global_buffer_bytes"]))
    console.print(t)
    console.print()

    t = _table("Layers", ["layer", "rows × cols", "positions", "cells (rows × cols)", "tiles",
                          "subarrays", "copies", "utilisation"])
    for ly in hw["layers"]:
        t.add_row(f"{ly['name']} ({ly['type']})", f"{ly['rows']} × {ly['cols']}",
                  f"{ly['positions']}",
                  f"{ly['cells_rows']:g} × {ly['cells_cols']:g}", f"{ly['tiles']:g}",
                  f"{ly['subarrays']:g}", f"{ly['duplication']:g}",
                  units.share(ly["utilization"], 1.0))
    console.print(t)
    console.print()

    console.print(_breakdown("Area by component", data["area"], units.area))
    console.print()
    console.print(_by_phase("Energy by phase", data["energy"], lambda v: units.si(v, "J"),
                            samples))
    console.print()
    console.print(_breakdown("Energy by component", data["energy"], lambda v: units.si(v, "J")))
    console.print()
    console.print(_by_phase("Latency by phase (critical path)", data["latency"],
                            lambda v: units.si(v, "s"), samples))
    console.print()
    console.print(_breakdown("Latency by component (critical path)", data["latency"],
                             lambda v: units.si(v, "s")))
    console.print()
    console.print(_by_phase("Traffic by phase", data["traffic"], units.data, samples))
    console.print()
    console.print(_breakdown("Traffic by link", data["traffic"], units.data, what="link"))
