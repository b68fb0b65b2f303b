"""cartfeed/1 reading and writing: round trips and errors that say what is wrong where."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from smartcart.feed.errors import FeedError, FeedFormatError
from smartcart.feed.format import (
    Candidate,
    FeedMeta,
    FeedWriter,
    TruthEvent,
    open_feed,
    read_events,
    read_meta,
    write_events,
)

META = {
    "format": "cartfeed/1", "cart_id": "cart-0042", "fps": 15, "width": 96, "height": 64,
    "basket_polygon": [[0.08, 0.30], [0.92, 0.30], [0.97, 0.98], [0.03, 0.98]],
    "catalog": "grocery-store/81", "source": "recorded", "notes": "",
}  # fmt: skip


def test_round_trip(tmp_path: Path) -> None:
    meta = FeedMeta.model_validate(META)
    events = [
        TruthEvent(12.4, "add", "banana", 131),
        TruthEvent(19.85, "remove", "arla-standard-milk"),
        TruthEvent(31.1, "unresolved", action="add",
                   candidates=(Candidate("lemon", 0.48), Candidate("lime", 0.41))),
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    with FeedWriter(tmp_path / "f", meta) as w:
        for i in range(5):
            w.write_frame(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8), i / 15 + 0.001)
        w.write_scale([0.0, 0.1], [0.0, 131.5])
        w.write_truth(events)
    feed = open_feed(tmp_path / "f")
    assert feed.meta == meta
    assert feed.truth() == events
    assert [i for i, _, _ in feed.frames()] == [0, 1, 2, 3, 4]
    assert feed.frame_times() == pytest.approx([i / 15 + 0.001 for i in range(5)], abs=1e-4)
    scale = feed.scale()
    assert scale is not None and scale.at(0.15) == 131.5
    line = (tmp_path / "f" / "truth.jsonl").read_text().splitlines()[0]
    assert json.loads(line) == {"t": 12.4, "type": "add", "sku": "banana", "grams": 131}


def test_replay_extra_keys_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"t": 1.0, "type": "add", "sku": "lime", "confidence": 0.9, "track_id": 3}\n\n'
    )
    assert read_events(path) == [TruthEvent(1.0, "add", "lime")]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ('{"t": 1.0, "type": "add"}', "needs a sku"),
        ('{"t": 1.0, "type": "drop", "sku": "lime"}', "type"),
        ('{"t": -1, "type": "add", "sku": "lime"}', "t must be"),
        ('{"t": 1.0, "type": "unresolved", "action": "add", "candidates": []}', "candidate"),
        ('{"type": "add", "sku": "lime"}', "t"),
        ("[1, 2]", "JSON object"),
        ("{not json", "Expecting"),
    ],
)
def test_bad_event_lines_name_file_and_line(tmp_path: Path, line: str, complaint: str) -> None:
    path = tmp_path / "truth.jsonl"
    path.write_text('{"t": 0.5, "type": "add", "sku": "lime"}\n' + line + "\n")
    with pytest.raises(FeedFormatError, match=rf"truth.jsonl:2: .*{complaint}"):
        read_events(path)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"format": "cartfeed/2"}, "format"),
        ({"fps": 0}, "fps"),
        ({"basket_polygon": [[0, 0], [1, 1]]}, "at least 3 points"),
        ({"basket_polygon": [[0, 0], [1.5, 0], [1, 1]]}, "within 0..1"),
        ({"source": "dreamt"}, "source"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_meta_is_explained(tmp_path: Path, change: dict[str, object], complaint: str) -> None:
    path = tmp_path / "meta.json"
    path.write_text(json.dumps({**META, **change}))
    with pytest.raises(FeedFormatError, match=complaint):
        read_meta(path)


def test_missing_parts(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="not a feed folder"):
        open_feed(tmp_path / "nope")
    (tmp_path / "meta.json").write_text(json.dumps(META))
    with pytest.raises(FeedError, match="no video"):
        open_feed(tmp_path)


def test_frames_csv_must_count_up(tmp_path: Path) -> None:
    write_events(tmp_path / "truth.jsonl", [])
    (tmp_path / "meta.json").write_text(json.dumps(META))
    (tmp_path / "video.avi").write_bytes(b"")
    (tmp_path / "frames.csv").write_text("frame_index,t\n0,0.0\n2,0.1\n")
    with pytest.raises(FeedFormatError, match="frames.csv:3: frame_index 2, expected 1"):
        open_feed(tmp_path).frame_times()
