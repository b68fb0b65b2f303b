"""The scorer on hand-made cases: each rule of feed-format.md's Scoring section in isolation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartcart.catalog import default_catalog
from smartcart.cli import app
from smartcart.feed.format import Candidate, FeedMeta, FeedWriter, TruthEvent, write_events
from smartcart.feed.score import score, score_feed

CATALOG = default_catalog()


def add(t: float, sku: str, grams: int | None = None) -> TruthEvent:
    return TruthEvent(t, "add", sku, grams)


def remove(t: float, sku: str, grams: int | None = None) -> TruthEvent:
    return TruthEvent(t, "remove", sku, grams)


def unresolved(t: float, action: str, *skus: str) -> TruthEvent:
    cands = tuple(Candidate(s, 0.5 - 0.1 * i) for i, s in enumerate(skus))
    return TruthEvent(t, "unresolved", action=action, candidates=cands)  # type: ignore[arg-type]


TRUTH = [
    add(3.0, "arla-standard-milk"),
    add(8.0, "banana", 131),
    remove(12.0, "arla-standard-milk"),
]


def test_perfect() -> None:
    output = [
        add(3.4, "arla-standard-milk"),
        add(7.5, "banana", 133),
        remove(12.1, "arla-standard-milk"),
    ]
    result = score([("f", TRUTH, output)], CATALOG)
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)
    assert result.exact_basket_rate == 1.0
    assert sorted(result.time_errors_s()) == pytest.approx([-0.5, 0.1, 0.4])


def test_missed_event_costs_recall_and_basket() -> None:
    output = [add(3.0, "arla-standard-milk"), add(8.0, "banana", 131)]
    f = score_feed("f", TRUTH, output, CATALOG)
    assert (f.matched, f.missed, f.extra) == (2, (("remove", "arla-standard-milk"),), ())
    result = score([("f", TRUTH, output)], CATALOG)
    assert result.precision == 1.0 and result.recall == pytest.approx(2 / 3)
    assert result.exact_basket_rate == 0.0


def test_extra_event_costs_precision() -> None:
    output = [*TRUTH, add(20.0, "lime")]
    result = score([("f", TRUTH, output)], CATALOG)
    assert result.precision == pytest.approx(3 / 4) and result.recall == 1.0
    assert result.feeds[0].extra == (("add", "lime"),)
    assert result.exact_basket_rate == 0.0


def test_wrong_sku_is_a_confusion_not_a_match() -> None:
    output = [
        add(3.0, "arla-medium-fat-milk"),
        add(8.0, "banana", 131),
        remove(12.0, "arla-medium-fat-milk"),
    ]
    result = score([("f", TRUTH, output)], CATALOG)
    assert result.matched == 1
    assert result.confusions() == [("arla-standard-milk", "arla-medium-fat-milk", 2)]
    assert result.feeds[0].missed == () and result.feeds[0].extra == ()
    # Added then removed: the final basket is still right, only the events were wrong.
    assert result.exact_basket_rate == 1.0


def test_late_by_more_than_two_seconds_does_not_match() -> None:
    just_in = score_feed("f", [add(5.0, "lime")], [add(7.0, "lime")], CATALOG)
    too_late = score_feed("f", [add(5.0, "lime")], [add(7.01, "lime")], CATALOG)
    assert just_in.matched == 1
    assert too_late.matched == 0 and too_late.missed and too_late.extra


def test_matching_is_one_to_one_earliest_first() -> None:
    truth = [add(5.0, "lime"), add(6.0, "lime")]
    output = [add(5.5, "lime"), add(4.5, "lime"), add(6.5, "lime")]
    f = score_feed("f", truth, output, CATALOG)
    assert f.matched == 2 and f.extra == (("add", "lime"),)
    # Truth 5.0 takes the earliest qualifying output (4.5), truth 6.0 the next (5.5).
    assert sorted(f.time_errors_s) == pytest.approx([-0.5, -0.5])


def test_unresolved_takes_first_candidate_and_is_reported() -> None:
    output = [
        unresolved(3.2, "add", "arla-standard-milk", "arla-medium-fat-milk"),
        add(8.0, "banana", 131),
        unresolved(12.0, "remove", "lime", "arla-standard-milk"),
    ]
    result = score([("f", TRUTH, output)], CATALOG)
    assert result.matched == 2  # the second unresolved's first candidate is wrong
    assert result.unresolved_share == pytest.approx(2 / 3)
    assert result.confusions() == [("arla-standard-milk", "lime", 1)]


@pytest.mark.parametrize(("grams", "exact"), [(131, True), (137, True), (125, True), (138, False),
                                                (124, False), (None, False)])  # fmt: skip
def test_per_kg_grams_within_five_percent(grams: int | None, exact: bool) -> None:
    truth = [add(8.0, "banana", 131)]
    f = score_feed("f", truth, [add(8.0, "banana", grams)], CATALOG)
    assert f.matched == 1
    assert f.exact_basket is exact


def test_per_unit_grams_do_not_matter() -> None:
    f = score_feed("f", [add(3.0, "lime", 70)], [add(3.0, "lime", 120)], CATALOG)
    assert f.exact_basket


def test_totals_are_over_all_feeds() -> None:
    result = score(
        [("a", [add(1.0, "lime")], [add(1.0, "lime")]), ("b", [add(1.0, "kiwi")], [])], CATALOG
    )
    assert (result.precision, result.recall, result.exact_basket_rate) == (1.0, 0.5, 0.5)


def _feed(tmp_path: Path, name: str, truth: list[TruthEvent]) -> Path:
    polygon = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    meta = FeedMeta(cart_id="c", fps=15, width=64, height=64, basket_polygon=polygon,
                    source="simulated")  # fmt: skip
    with FeedWriter(tmp_path / name, meta) as w:
        w.write_truth(truth)
    return tmp_path / name


def test_cli_default_events_and_events_dir(tmp_path: Path) -> None:
    feed = _feed(tmp_path, "trip1", TRUTH)
    write_events(feed / "events.jsonl", TRUTH)
    runner = CliRunner()
    out = runner.invoke(app, ["score", str(feed), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["f1"] == 1.0
    (tmp_path / "replays").mkdir()
    write_events(tmp_path / "replays" / "trip1.jsonl", TRUTH[:1])
    out = runner.invoke(
        app, ["score", str(feed), "--events-dir", str(tmp_path / "replays"), "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["recall"] == pytest.approx(1 / 3)
    table = runner.invoke(app, ["score", str(feed)])
    assert table.exit_code == 0 and "exact-basket rate" in table.output


def test_cli_names_a_missing_output(tmp_path: Path) -> None:
    feed = _feed(tmp_path, "trip1", TRUTH)
    out = CliRunner().invoke(app, ["score", str(feed)])
    assert out.exit_code == 2
    assert "events.jsonl" in out.output
