"""A folder of labelled product crops: ``images/*.jpg`` and ``labels.csv`` (``file,sku``).

Written by the simulator (``smartcart sim crops``) and by harvesting recorded trips (``smartcart
cart harvest``); read by the recognizer's training and by ``smartcart models fit-store-head``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

LABELS = "labels.csv"


def read_labels(crops_dir: Path) -> list[tuple[Path, str]]:
    """(image path, sku) of a crops folder, in file order."""
    with (Path(crops_dir) / LABELS).open(newline="", encoding="utf-8") as f:
        return [(Path(crops_dir) / "images" / r["file"], r["sku"]) for r in csv.DictReader(f)]


def write_labels(crops_dir: Path, rows: Iterable[tuple[str, str]], append: bool = False) -> Path:
    """Write (or append) ``(file name under images/, sku)`` rows; returns the labels' path."""
    path = Path(crops_dir) / LABELS
    new = not (append and path.is_file())
    with path.open("w" if new else "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        if new:
            writer.writerow(("file", "sku"))
        writer.writerows(rows)
    return path
