"""``bench`` prints every figure it promises (timings are printed, never asserted), and pairs
changes with a feed's truth the way the scorer does for its latency against truth."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from synthetic_feed import AlwaysLemon, ColourDetector, write_feed

from firmware.basket.changes import BasketChange, Candidate
from firmware.bench import latency_by_kind, run_bench, truth_latencies
from smartcart.catalog import default_catalog
from smartcart.feed.format import TRUTH, TruthEvent, write_events

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_bench_prints_all_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = write_feed(tmp_path / "feed")  # a lemon put in at about 2.3 s, taken out at 5.5 s
    write_events(feed / TRUTH, [TruthEvent(2.3, "add", "lemon", 111),
                                TruthEvent(5.5, "remove", "lemon", 111)])  # fmt: skip
    run_bench(feed, ColourDetector(), AlwaysLemon(), n_frames=150)
    out = capsys.readouterr().out
    for figure in (
        "decode+resize",
        "detector alone",
        "pipeline, gate off",
        "overhead",
        "pipeline, gate on",
        "idle cart",
        "latency truth->outbox",
        "over 2 of 2 truth events",
        "removes",
        "latency own-rest->outbox",
    ):
        assert figure in out


def change(type_: str, t_s: float, sku: str | None = None, **kw: object) -> BasketChange:
    return BasketChange(type_, T0, t_s, sku=sku, **kw)  # type: ignore[arg-type]


def test_truth_latency_pairs_each_truth_event_with_its_change() -> None:
    truth = [TruthEvent(3.0, "add", "lemon"), TruthEvent(6.0, "remove", "lemon"),
             TruthEvent(9.0, "add", "kiwi"), TruthEvent(20.0, "add", "lime")]  # fmt: skip
    stored = [
        (3.4, change("add", 3.2, "lemon")),
        (
            6.3,
            change(
                "unresolved",
                6.1,
                action="remove",
                candidates=(Candidate("lemon", 0.5), Candidate("lime", 0.4)),
            ),
        ),  # fmt: skip
        (9.9, change("add", 9.5, "banana", grams=120)),  # named wrong: still answers it
        (12.0, change("add", 11.6, "kiwi")),  # too far from the truth: an extra
    ]
    got = [(e.type, e.sku, round(lat, 2)) for e, _, lat in truth_latencies(stored, truth)]
    assert got == [("add", "lemon", 0.4), ("remove", "lemon", 0.3), ("add", "kiwi", 0.9)]


def test_latency_is_split_by_what_each_event_waited_for() -> None:
    """Per-kg adds wait for the load's ringing, questions for a name: the bench shows each
    kind's latency on its own line."""
    watermelon = TruthEvent(8.0, "add", "watermelon")  # sold per kg
    matched = [
        (TruthEvent(3.0, "add", "lemon"), change("add", 3.1, "lemon"), 0.3),
        (watermelon, change("add", 8.1, "watermelon", grams=2100), 0.7),
        (TruthEvent(12.0, "remove", "lemon"), change("remove", 12.1, "lemon"), 0.4),
        (
            TruthEvent(15.0, "add", "lime"),
            change("unresolved", 15.2, action="add", candidates=(Candidate("lime", 0.4),)),
            1.5,
        ),
        (TruthEvent(20.0, "add", "kiwi"), change("add", 20.1, "kiwi"), 0.2),
    ]
    assert latency_by_kind(matched, default_catalog()) == {
        "per-unit adds": [0.3, 0.2],
        "per-kg adds": [0.7],
        "removes": [0.4],
        "questions": [1.5],
    }
