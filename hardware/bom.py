"""The bill of materials, ``bom.csv``, as the Markdown table in README.md, with the total.

Run: ``.venv/bin/python hardware/bom.py`` and paste between the ``bom:begin``/``bom:end``
markers in hardware/README.md (tests/hardware fails when the two drift apart). Prices are
indicative single-unit list prices in USD, before tax and shipping.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

BOM_CSV = Path(__file__).parent / "bom.csv"


@dataclass(frozen=True, slots=True)
class Line:
    ref: str
    item: str
    manufacturer: str
    part_number: str
    qty: int
    unit_price_usd: Decimal  # decimal: a sum of prices must not pick up binary float error
    notes: str

    @property
    def price_usd(self) -> Decimal:
        return self.qty * self.unit_price_usd


def read_bom(path: Path = BOM_CSV) -> list[Line]:
    with path.open(newline="", encoding="utf-8") as f:
        return [
            Line(
                r["ref"],
                r["item"],
                r["manufacturer"],
                r["part_number"],
                int(r["qty"]),
                Decimal(r["unit_price_usd"]),
                r["notes"],
            )
            for r in csv.DictReader(f)
        ]


def markdown(lines: list[Line]) -> str:
    rows = [
        "| ref | item | manufacturer | part number | qty | USD each | USD |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    rows += [
        f"| {x.ref} | {x.item} | {x.manufacturer} | {x.part_number} | {x.qty} | "
        f"{x.unit_price_usd:.2f} | {x.price_usd:.2f} |"
        for x in lines
    ]
    total = sum((x.price_usd for x in lines), Decimal(0))
    rows.append(f"| | **total, one cart** | | | | | **{total:.2f}** |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown(read_bom()))
