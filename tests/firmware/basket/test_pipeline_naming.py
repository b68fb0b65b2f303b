"""Naming an add in the pipeline: a track whose own add still stands names no second item as
that same product (its crops show the old item)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from firmware.basket.changes import BasketChange, Candidate
from firmware.basket.fusion import NamedEvent
from firmware.pipeline import CartPipeline
from smartcart.catalog import default_catalog

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PEPPER = (("green-bell-pepper", 0.8), ("kaiser", 0.1))
PEAR = (("kaiser", 0.7), ("green-bell-pepper", 0.2))


@dataclass(frozen=True)
class Rec:
    top: tuple[tuple[str, float], ...]


class Recognizer:
    """Every crop of this test shows ``top``."""

    def __init__(self, top: tuple[tuple[str, float], ...]) -> None:
        self.top = top

    def recognize(self, crops: list[np.ndarray]) -> list[Rec]:
        return [Rec(self.top) for _ in crops]


def name_second_add(vote: tuple[tuple[str, float], ...], first: list[BasketChange]) -> tuple:
    """Track 11's add of a green pepper (the changes ``first``), then a second add of track 11
    whose crops vote ``vote``: the names it is given."""
    pipe = CartPipeline(
        None,  # type: ignore[arg-type]  # no frames here: only naming
        Recognizer(vote),
        default_catalog(),
        ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)),
        (320, 240),
        (640, 480),
        T0,
    )
    pipe._note_basket(first)
    pipe._bank.offer(11, 0.9, np.zeros((8, 8, 3), np.uint8))
    names = pipe._name_event(NamedEvent(11, "add", 21.0, (), False, 21.4))
    return tuple(c.sku for c in names)


ADDED = BasketChange("add", T0, 16.7, sku="green-bell-pepper", grams=174, track_id=11)
REMOVED = BasketChange("remove", T0, 19.0, sku="green-bell-pepper", grams=174, track_id=11)
ASKED = BasketChange(
    "unresolved", T0, 16.7, action="add", grams=174, track_id=11,
    candidates=(Candidate("green-bell-pepper", 0.5), Candidate("red-bell-pepper", 0.3)),
)  # fmt: skip
CASES = {
    "its add stands, crops still show that product: no name": (PEPPER, [ADDED], ()),
    "... also when that add was a question": (PEPPER, [ASKED], ()),
    "its crops show another product: named by them": (
        PEAR,
        [ADDED],
        ("kaiser", "green-bell-pepper"),
    ),
    "its add was removed since: named as ever": (
        PEPPER,
        [ADDED, REMOVED],
        ("green-bell-pepper", "kaiser"),
    ),  # fmt: skip
    "no add of its own: named as ever": (PEPPER, [], ("green-bell-pepper", "kaiser")),
}


@pytest.mark.parametrize("vote,first,expected", CASES.values(), ids=CASES.keys())
def test_second_add_of_a_track(vote: tuple, first: list[BasketChange], expected: tuple) -> None:
    assert name_second_add(vote, first) == expected


LAY = (100.0, 100.0, 140.0, 130.0)  # where the pepper lay when its add was emitted
AWAY = (20.0, 30.0, 60.0, 60.0)


def name_new_track(
    vote: tuple[tuple[str, float], ...], old_last: tuple[float, tuple], new_box: tuple
) -> tuple[tuple[str, ...], dict[int, str]]:
    """Track 11's pepper was added lying at LAY; its track was last seen (time, box)
    ``old_last``; track 15, first seen at 20.5 s at ``new_box``, comes to rest and its crops
    vote ``vote``: the names its add is given, and which track accounts for what after."""
    pipe = CartPipeline(
        None,  # type: ignore[arg-type]  # no frames here: only naming
        Recognizer(vote),
        default_catalog(),
        ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)),
        (320, 240),
        (640, 480),
        T0,
    )
    pipe._sightings[11] = (10.0, 16.7, LAY)
    pipe._note_basket([ADDED])
    pipe._sightings[11] = (10.0, *old_last)
    pipe._sightings[15] = (20.5, 21.4, new_box)
    pipe._bank.offer(15, 0.9, np.zeros((8, 8, 3), np.uint8))
    names = pipe._name_event(NamedEvent(15, "add", 21.0, (), False, 21.4))
    return tuple(c.sku for c in names), pipe._accounted


NEAR_LAY = (102.0, 98.0, 141.0, 131.0)
REFOUND = {
    "the old track vanished, a new one lies where the pepper lay and shows it: the pepper again": (
        PEPPER, (20.0, LAY), NEAR_LAY, (), {15: "green-bell-pepper"}
    ),
    "... also when the old track slid off it and is still seen elsewhere": (
        PEPPER, (21.4, AWAY), NEAR_LAY, (), {15: "green-bell-pepper"}
    ),
    "the old track still lies on the pepper: a second pepper beside it": (
        PEPPER, (21.4, LAY), NEAR_LAY, ("green-bell-pepper", "kaiser"), {11: "green-bell-pepper"}
    ),
    "the new track lies elsewhere: a new item": (
        PEPPER, (20.0, LAY), AWAY, ("green-bell-pepper", "kaiser"), {11: "green-bell-pepper"}
    ),
    "it lies where the pepper lay but shows another product: that product": (
        PEAR, (20.0, LAY), NEAR_LAY, ("kaiser", "green-bell-pepper"), {11: "green-bell-pepper"}
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    "vote,old_last,new_box,expected,accounted", REFOUND.values(), ids=REFOUND.keys()
)
def test_an_added_item_found_again_under_a_new_track(
    vote: tuple, old_last: tuple, new_box: tuple, expected: tuple, accounted: dict
) -> None:
    names, after = name_new_track(vote, old_last, new_box)
    assert names == expected
    assert after == accounted
