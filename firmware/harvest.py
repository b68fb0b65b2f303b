"""Labelled crops from recorded trips: what a store fits its store head on.

A store records trips with ``smartcart cart record`` and writes down what really went in
(``truth.jsonl``, the feed format's events: from the receipts the shoppers confirmed, or by
watching the video). ``harvest`` replays each feed through the cart's own pipeline and, for
every add paired with a true add (as the scorer pairs them: the same SKU first, then the same
action with another SKU, so the items the cart named wrong are kept, labelled right), writes the
crops the cart named that item from, under the true SKU. The layout is ``smartcart sim
crops``' (``images/*.jpg`` + ``labels.csv``), so ``smartcart models fit-store-head --crops``
reads it. Images are written here only, on the command's explicit request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from firmware.basket.changes import BasketChange
from firmware.bench import truth_latencies
from firmware.errors import FirmwareError
from firmware.pipeline import DetectorLike, RecognizerLike
from firmware.replay import replay_feed
from smartcart.catalog import Catalog
from smartcart.crops import LABELS, read_labels, write_labels
from smartcart.feed.format import read_events

TRUTH = "truth.jsonl"


class HarvestError(FirmwareError):
    pass


@dataclass(frozen=True, slots=True)
class HarvestReport:
    feeds: int
    true_adds: int
    labelled_adds: int  # true adds paired with an add the cart named from a track's crops
    relabelled_adds: int  # of those, the ones the cart had named wrong
    crops: int


def harvest(
    feeds: Sequence[Path],
    detector: DetectorLike,
    recognizer: RecognizerLike,
    catalog: Catalog,
    out_dir: Path,
) -> HarvestReport:
    missing = [f for f in feeds if not (f / TRUTH).is_file()]
    if missing:
        raise HarvestError(f"no {TRUTH} (what really went in) in {', '.join(map(str, missing))}")
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str]] = []
    # Numbered after what the folder holds already, so a second harvest writes over nothing.
    first = len(read_labels(out_dir)) if (out_dir / LABELS).is_file() else 0
    true_adds = labelled = relabelled = 0
    for feed in feeds:
        truth = read_events(feed / TRUTH)
        true_adds += sum(e.type == "add" for e in truth)
        crops: dict[int, list[np.ndarray]] = {}  # id(change) -> its track's crops

        def keep(change: BasketChange, images: list[np.ndarray], crops=crops) -> None:
            if (change.action or change.type) == "add" and images:
                crops[id(change)] = images

        result = replay_feed(feed, detector, recognizer, catalog, on_crops=keep)
        stored = [(c.t_s, c) for c in result.changes]
        for event, change, _ in truth_latencies(stored, truth):
            if event.type != "add" or id(change) not in crops:
                continue
            labelled += 1
            named = change.sku or next((c.sku for c in change.candidates), None)
            relabelled += named != event.sku
            for k, image in enumerate(crops[id(change)]):
                name = f"{first + len(rows):06d}_{feed.resolve().name}_{k}.jpg"
                if not cv2.imwrite(str(out_dir / "images" / name), image):
                    raise HarvestError(f"cannot write {out_dir / 'images' / name}")
                rows.append((name, event.sku))
    write_labels(out_dir, rows, append=True)
    return HarvestReport(len(feeds), true_adds, labelled, relabelled, len(rows))
