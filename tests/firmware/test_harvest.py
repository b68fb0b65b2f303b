"""Harvesting labelled crops from recorded trips, with the colour-blob doubles of the models."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import pytest
from synthetic_feed import AlwaysLemon, ColourDetector, write_feed

from firmware.harvest import HarvestError, harvest
from smartcart.catalog import default_catalog


def with_truth(feed: Path, sku: str) -> Path:
    events = [
        {"t": 2.2, "type": "add", "sku": sku, "grams": 111},
        {"t": 5.3, "type": "remove", "sku": sku, "grams": 111},
    ]
    (feed / "truth.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return feed


def labels(out: Path) -> list[dict[str, str]]:
    with (out / "labels.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_the_crops_of_each_true_add_are_written_under_the_true_sku(tmp_path: Path) -> None:
    feed = with_truth(write_feed(tmp_path / "feed"), "lime")  # the cart says lemon: it was a lime
    out = tmp_path / "crops"
    report = harvest([feed], ColourDetector(), AlwaysLemon(), default_catalog(), out)
    assert (report.true_adds, report.labelled_adds, report.relabelled_adds) == (1, 1, 1)
    rows = labels(out)
    assert 1 <= len(rows) == report.crops <= 4  # the track's best crops, no more
    assert {r["sku"] for r in rows} == {"lime"}
    for r in rows:
        image = cv2.imread(str(out / "images" / r["file"]))
        assert image is not None and image.shape[2] == 3


def test_a_second_harvest_appends_to_the_same_folder(tmp_path: Path) -> None:
    out = tmp_path / "crops"
    for name, sku in (("a", "lemon"), ("b", "lime")):
        feed = with_truth(write_feed(tmp_path / name), sku)
        harvest([feed], ColourDetector(), AlwaysLemon(), default_catalog(), out)
    rows = labels(out)
    assert {r["sku"] for r in rows} == {"lemon", "lime"}
    assert len({r["file"] for r in rows}) == len(rows)  # no file written over


def test_a_feed_without_truth_is_refused_before_anything_runs(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed")
    with pytest.raises(HarvestError, match="truth.jsonl"):
        harvest([feed], ColourDetector(), AlwaysLemon(), default_catalog(), tmp_path / "out")
    assert not (tmp_path / "out").exists()
