"""Replay wiring: feed video + frames.csv + scale.csv through the pipeline to feed-format events.

Uses the colour-blob test doubles of ``synthetic_feed`` in place of the ONNX models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic_feed import AlwaysLemon, ColourDetector, write_feed

from firmware.errors import CameraError
from firmware.replay import replay_feed, write_events
from smartcart.catalog import default_catalog


def test_add_then_remove_confirmed_by_the_scale(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed")
    rec = AlwaysLemon()
    result = replay_feed(feed, ColourDetector(), rec, default_catalog())
    write_events(tmp_path / "events.jsonl", result.changes)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(e["type"], e.get("sku"), e.get("grams")) for e in events] == [
        ("add", "lemon", 111),
        ("remove", "lemon", 111),
    ]
    assert 2.0 <= events[0]["t"] <= 2.6  # came to rest at 2.0 s, released at 2.3 s
    assert 5.0 <= events[1]["t"] <= 5.9
    # Named as it landed (its crops on the way in) and, that unconfirmed, at rest from the
    # crops not seen before: each crop once, never every frame.
    assert 0 < rec.crops_seen <= 2 * 4
    assert result.frames == 120 and result.bad_frames == 0


def test_without_scale_a_sure_per_unit_item_is_still_added(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed", scale=False)
    result = replay_feed(feed, ColourDetector(), AlwaysLemon(), default_catalog())
    assert [(c.type, c.sku, c.grams) for c in result.changes] == [
        ("add", "lemon", None),
        ("remove", "lemon", None),
    ]


def test_scale_disagreeing_makes_the_event_unresolved(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed", grams=70.0)  # a lime's weight, not a lemon's
    result = replay_feed(feed, ColourDetector(), AlwaysLemon(), default_catalog())
    first = result.changes[0]
    assert first.type == "unresolved" and first.action == "add"
    assert [c.sku for c in first.candidates] == ["lime", "lemon"]


def test_truncated_video_is_a_clear_error_or_an_early_end(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed", truncate_video_at=40)
    with pytest.raises(CameraError, match="ended early at frame 40 of 120"):
        replay_feed(feed, ColourDetector(), AlwaysLemon(), default_catalog())
    result = replay_feed(
        feed, ColourDetector(), AlwaysLemon(), default_catalog(), tolerate_truncation=True
    )
    assert result.frames == 40 and result.bad_frames == 1


def test_idle_frames_skip_the_detector(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed", seconds=12.0, t_in=2.0, t_out=5.0)
    result = replay_feed(feed, ColourDetector(), AlwaysLemon(), default_catalog())
    # The item moves for ~2.6 s of 12; with the hold after motion well under half is detected.
    assert result.times.detected_frames < result.frames * 0.6
