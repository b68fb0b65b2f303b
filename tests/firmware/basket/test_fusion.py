"""Table tests of vision + weight fusion: confirmed, unresolved, degraded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from firmware.basket.changes import Candidate
from firmware.basket.fusion import Fuser, NamedEvent
from firmware.scale.samples import WeightStep
from smartcart.catalog import default_catalog

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LEMON = (Candidate("lemon", 0.9), Candidate("lime", 0.08))  # lemon 110 g, lime 70 g, per unit
UNSURE = (Candidate("lemon", 0.48), Candidate("lime", 0.41))
BANANA = (Candidate("banana", 0.95),)  # per kg, nominal 130 g


def decide(
    action: str, candidates: tuple[Candidate, ...], step_g: float | None, scale_live: bool = True
) -> tuple:
    fuser = Fuser(default_catalog(), T0)
    fuser.add_event(NamedEvent(1, action, 10.0, candidates))  # type: ignore[arg-type]
    if step_g is not None:
        fuser.add_step(WeightStep(10.1, step_g, settled=True))
    [change] = fuser.flush(10.0, scale_live)
    return (
        change.type,
        change.sku or change.action,
        tuple(c.sku for c in change.candidates),
        change.grams,
    )


CASES = {
    "sure and weight agrees: add": (("add", LEMON, 112.0), ("add", "lemon", (), 112)),
    "sure and weight agrees: remove": (("remove", LEMON, -108.0), ("remove", "lemon", (), 108)),
    "weight says lime: unresolved, lime first": (
        ("add", LEMON, 71.0),
        ("unresolved", "add", ("lime", "lemon"), 71),
    ),
    "unsure even though weight fits": (
        ("add", UNSURE, 110.0),
        ("unresolved", "add", ("lemon", "lime"), 110),
    ),
    "scale saw nothing: unresolved": (
        ("add", LEMON, None),
        ("unresolved", "add", ("lemon", "lime"), None),
    ),
    "a step of the wrong sign is not a confirmation": (
        ("add", LEMON, -110.0),
        ("unresolved", "add", ("lemon", "lime"), None),
    ),
    "per kg takes the measured grams": (("add", BANANA, 412.0), ("add", "banana", (), 412)),
    "per kg implausible weight": (("add", BANANA, 2.0), ("unresolved", "add", ("banana",), 2)),
}


@pytest.mark.parametrize("args,expected", CASES.values(), ids=CASES.keys())
def test_fusion(args: tuple, expected: tuple) -> None:
    assert decide(*args) == expected


def test_scale_silent_sure_per_unit_goes_through_without_grams() -> None:
    assert decide("add", LEMON, None, scale_live=False) == ("add", "lemon", (), None)


def test_scale_silent_per_kg_needs_the_shopper() -> None:
    assert decide("add", BANANA, None, scale_live=False) == ("unresolved", "add", ("banana",), None)


def test_event_waits_for_its_step_then_each_step_confirms_one_event() -> None:
    fuser = Fuser(default_catalog(), T0, wait_s=1.5)
    fuser.add_event(NamedEvent(1, "add", 10.0, LEMON))
    assert fuser.poll(10.2, scale_live=True) == []  # still waiting for the scale
    fuser.add_step(WeightStep(10.3, 110.0, settled=True))
    fuser.add_event(NamedEvent(2, "add", 10.4, LEMON))
    first = fuser.poll(10.5, scale_live=True)
    assert [(c.type, c.track_id) for c in first] == [("add", 1)]
    [second] = fuser.poll(12.0, scale_live=True)
    assert second.type == "unresolved"  # its step was already used by the first
    assert second.occurred_at == datetime(2026, 11, 25, 9, 0, 10, 400000, tzinfo=UTC)


def test_uncertain_remove_needs_the_scale() -> None:
    fuser = Fuser(default_catalog(), T0)
    fuser.add_event(NamedEvent(1, "remove", 10.0, LEMON, certain=False))
    assert fuser.flush(10.0, scale_live=True) == []
    fuser.add_event(NamedEvent(2, "remove", 20.0, LEMON, certain=False))
    fuser.add_step(WeightStep(19.8, -109.0, settled=True))
    [change] = fuser.flush(20.0, scale_live=True)
    assert (change.type, change.sku) == ("remove", "lemon")


def test_a_step_that_agrees_beats_a_closer_press() -> None:
    fuser = Fuser(default_catalog(), T0)
    fuser.add_event(NamedEvent(1, "add", 10.0, LEMON))
    fuser.add_step(WeightStep(9.0, 111.0, settled=True))
    fuser.add_step(WeightStep(10.0, 40.0, settled=True))  # a hand leaning on the basket
    [change] = fuser.flush(10.0, scale_live=True)
    assert (change.type, change.grams) == ("add", 111)
