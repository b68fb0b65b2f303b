"""Power budget of one cart, and the power bank it needs.

Run: ``.venv/bin/python hardware/power_budget.py [--off-dock-h 8 --shopping-share 0.5]``.

Every figure is at the Pi's 5 V USB-C input and says where it comes from: *measured* figures
cite who measured them; *assumed* ones are ours and are the first thing to replace with a USB-C
power meter (e.g. an FNB58 between bank and Pi) on the first built cart. The cart draws more
while a shopper uses it (detector and recognizer busy, screen lit) than while it waits (motion
gate idle, screen blanked).

Sizing rule: carts charge whenever they stand in the corral dock, so the bank must carry the
longest stretch a cart spends away from the dock on a busy day (default 8 h, half of it
shopping), at the end of the bank's life (80 % of rated capacity), after the bank's own
3.7 V -> 5 V conversion (85 %). Banks are kept at or under 100 Wh, the limit below which
lithium-ion packs ship and are handled without dangerous-goods paperwork (UN 3480 Section II).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

CONVERSION_EFFICIENCY = 0.85  # assumed: typical boost converter + cable loss of a PD bank at 5 V
END_OF_LIFE_CAPACITY = 0.80  # assumed: a Li-ion bank after ~500 cycles (one per day, ~18 months)
PD_5V_3A_W = 15.0  # the profile every USB-C PD bank offers; the Pi 5 asks for 5 A only from its PSU


@dataclass(frozen=True, slots=True)
class Load:
    name: str
    shopping_w: float
    idle_w: float
    source: str


@dataclass(frozen=True, slots=True)
class Bank:
    name: str
    part_number: str
    rated_wh: float


LOADS: tuple[Load, ...] = (
    Load(
        "Raspberry Pi 5 4 GB (incl. Wi-Fi)",
        7.9,
        3.0,
        "shopping: measured 7.9 W with all four cores busy (Geekbench), geerlingguy/sbc-reviews"
        "#21 - an upper bound, our detector runs 1-2 threads; idle: assumed 3.0 W",
    ),
    Load(
        "Touch Display 2, 7-inch",
        2.0,
        0.3,
        "assumed: 2.0 W backlight at ~60 %, 0.3 W blanked (kiosk blanks it when idle)",
    ),
    Load(
        "Camera Module 3 Wide, streaming",
        0.3,
        0.3,
        "assumed: IMX708 streaming 1536x864 binned (the motion gate needs it on when idle)",
    ),
    Load(
        "Active Cooler fan",
        0.45,
        0.1,
        "shopping: measured 0.45 W for a Pi fan (chipwired.com/raspberry-pi-power-use, Pi 4);"
        " idle: assumed, the Pi 5 fan is temperature-controlled",
    ),
    Load(
        "HX711 + 4 half-bridge load cells",
        0.03,
        0.03,
        "datasheets: HX711 < 1.5 mA at 5 V; 1 kOhm bridge excited at 4.3 V = 18 mW",
    ),
)

BANKS: tuple[Bank, ...] = (
    Bank("any 10,000 mAh USB-C PD bank (for comparison)", "-", 37.0),
    Bank("Anker 737 Power Bank (PowerCore 24K)", "A1289", 86.4),
    Bank("Anker Prime Power Bank 27,650 mAh 250 W", "A1340", 99.5),
)


@dataclass(frozen=True, slots=True)
class Budget:
    shopping_w: float
    idle_w: float
    average_w: float
    needed_wh: float  # at 5 V over the off-dock stretch
    rated_wh_needed: float  # what the bank's label must say


def budget(off_dock_h: float, shopping_share: float) -> Budget:
    shopping_w = sum(load.shopping_w for load in LOADS)
    idle_w = sum(load.idle_w for load in LOADS)
    average_w = shopping_share * shopping_w + (1 - shopping_share) * idle_w
    needed_wh = average_w * off_dock_h
    rated = needed_wh / CONVERSION_EFFICIENCY / END_OF_LIFE_CAPACITY
    return Budget(shopping_w, idle_w, average_w, needed_wh, rated)


def runtime_h(bank: Bank, average_w: float, end_of_life: bool) -> float:
    capacity_wh = bank.rated_wh * (END_OF_LIFE_CAPACITY if end_of_life else 1.0)
    return capacity_wh * CONVERSION_EFFICIENCY / average_w


def smallest_sufficient(b: Budget) -> Bank | None:
    fitting = [bank for bank in BANKS if bank.rated_wh >= b.rated_wh_needed]
    return min(fitting, key=lambda bank: bank.rated_wh) if fitting else None


def main(
    off_dock_h: Annotated[float, typer.Option(help="Longest time away from the dock")] = 8.0,
    shopping_share: Annotated[float, typer.Option(help="Share of it spent shopping")] = 0.5,
) -> None:
    """Print the budget, the runtime of each candidate bank, and the choice."""
    typer.echo(f"{'load':38} {'shopping':>9} {'idle':>7}  source")
    for load in LOADS:
        typer.echo(f"{load.name:38} {load.shopping_w:7.2f} W {load.idle_w:5.2f} W  {load.source}")
    b = budget(off_dock_h, shopping_share)
    typer.echo(f"{'total':38} {b.shopping_w:7.2f} W {b.idle_w:5.2f} W")
    peak_a = b.shopping_w / 5.0
    typer.echo(
        f"\npeak {b.shopping_w:.1f} W = {peak_a:.1f} A at 5 V: within a 5 V / 3 A PD profile "
        f"({PD_5V_3A_W:.0f} W) with {PD_5V_3A_W - b.shopping_w:.1f} W to spare"
    )
    typer.echo(
        f"average over {off_dock_h:g} h off the dock ({shopping_share:.0%} shopping): "
        f"{b.average_w:.2f} W -> {b.needed_wh:.1f} Wh at 5 V -> "
        f"{b.rated_wh_needed:.1f} Wh rated (÷{CONVERSION_EFFICIENCY} conversion, "
        f"÷{END_OF_LIFE_CAPACITY} end of life)\n"
    )
    typer.echo(f"{'bank':46} {'part':6} {'rated':>8} {'new':>7} {'worn':>7}")
    for bank in BANKS:
        new_h, worn_h = runtime_h(bank, b.average_w, False), runtime_h(bank, b.average_w, True)
        typer.echo(
            f"{bank.name:46} {bank.part_number:6} {bank.rated_wh:6.1f}Wh "
            f"{new_h:5.1f} h {worn_h:5.1f} h"
        )
    chosen = smallest_sufficient(b)
    if chosen is None:
        typer.echo("\nno candidate bank is large enough: dock more often or add a second bank")
        raise typer.Exit(1)
    typer.echo(f"\nchoice: {chosen.name} ({chosen.part_number}), {chosen.rated_wh:g} Wh")


if __name__ == "__main__":
    typer.run(main)
