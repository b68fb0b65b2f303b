"""Naming an add in the pipeline: a track whose own add still stands names no second item as
that same product (its crops show the old item)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from firmware.basket.changes import BasketChange, Candidate
from firmware.basket.fusion import NamedEvent
from firmware.camera import Frame
from firmware.pipeline import REMEMBERED_ITEMS, CartPipeline
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


def pipeline(vote: tuple[tuple[str, float], ...] = PEPPER, **options: object) -> CartPipeline:
    """A pipeline for naming alone: no detector, every crop shows ``vote``."""
    return CartPipeline(
        None,  # type: ignore[arg-type]  # no detection here: tests feed what it would see
        Recognizer(vote),
        default_catalog(),
        ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)),
        (320, 240),
        (640, 480),
        T0,
        **options,  # type: ignore[arg-type]
    )


def name_second_add(vote: tuple[tuple[str, float], ...], first: list[BasketChange]) -> tuple:
    """Track 11's add of a green pepper (the changes ``first``), then a second add of track 11
    whose crops vote ``vote``: the names it is given."""
    pipe = pipeline(vote)
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


def test_a_remove_is_named_by_what_the_track_shows_now_not_by_its_add() -> None:
    """429446: a track named as it came in slid onto the item put down beside it; lifted, it
    is that item. Once a remove has dropped the track's crops, it keeps the name it had."""
    pipe = pipeline(PEPPER)
    pipe._bank.offer(11, 0.9, np.zeros((8, 8, 3), np.uint8))
    add = pipe._name_event(NamedEvent(11, "add", 5.0, (), True, 5.4, arriving=True))
    assert add[0].sku == "green-bell-pepper"
    pipe._bank.drop(11)  # a remove that was a hand hiding it: the crops went, the track stays
    pipe.recognizer = Recognizer(PEAR)
    pipe._bank.offer(11, 0.9, np.ones((8, 8, 3), np.uint8))  # on the pear now
    assert [c.sku for c in pipe._name(11, "remove")] == ["kaiser", "green-bell-pepper"]
    pipe._bank.drop(11)
    assert [c.sku for c in pipe._name(11, "remove")] == ["kaiser", "green-bell-pepper"]


def test_a_track_lying_where_an_added_item_lies_covers_that_product() -> None:
    """The pipeline remembers where each added item lay, after its track is lost; a track
    whose box lies mostly there covers that product, until that product is removed."""
    pipe = pipeline()
    pipe._boxes = {1: (100.0, 60.0, 200.0, 160.0)}
    pipe._note_basket([BasketChange("add", T0, 4.0, sku="banana", grams=600, track_id=1)])
    pipe._boxes = {  # the bananas' track is lost; a ginger on them, a lemon beside them
        16: (130.0, 100.0, 170.0, 130.0),
        17: (180.0, 100.0, 240.0, 140.0),
    }
    assert pipe._covered(16) == {"banana"}
    assert pipe._covered(17) == frozenset()  # a third of it on them
    pipe._note_basket([BasketChange("remove", T0, 30.0, sku="banana", grams=600, track_id=19)])
    assert pipe._covered(16) == frozenset()


def test_a_track_lost_while_its_event_waits_still_covers_what_it_lay_on() -> None:
    """A mushroom put down on the aubergine's place; its track is lost (the withdrawing hand)
    before its add is decided (430358): judged by its last box, it still lies on the aubergine,
    whose name its crops may show."""
    pipe = pipeline()
    pipe._boxes = {8: (204.0, 99.0, 285.0, 167.0)}
    pipe._note_basket([BasketChange("add", T0, 30.7, sku="aubergine", grams=300, track_id=8)])
    pipe._boxes = {21: (218.0, 128.0, 282.0, 167.0)}
    pipe._last_boxes = dict(pipe._boxes)
    assert pipe._covered(21) == {"aubergine"}
    pipe._boxes = {}  # lost; the zone still remembers it
    assert pipe._covered(21) == {"aubergine"}
    pipe._last_boxes = {}  # forgotten: nothing to judge by
    assert pipe._covered(21) == frozenset()


def test_the_pipeline_remembers_a_bounded_number_of_added_items() -> None:
    """One pipeline runs for the cart's lifetime and unloading is not always seen."""
    pipe = pipeline()
    for track_id in range(REMEMBERED_ITEMS + 6):
        pipe._boxes = {track_id: (10.0, 10.0, 50.0, 50.0)}
        pipe._note_basket([BasketChange("add", T0, 1.0, sku="lime", grams=70, track_id=track_id)])
    assert len(pipe._placed) == len(pipe._accounted) == REMEMBERED_ITEMS
    assert min(pipe._placed) == 6  # the oldest went first


@pytest.mark.parametrize(("last_hand_s", "named"), [(11.0, True), (11.8, False)])
def test_an_item_no_track_showed_is_named_where_the_basket_changed(
    last_hand_s: float, named: bool
) -> None:
    """The scale's own add with no track to name it: the recognizer names the crop of where
    the basket changed since its last view alone, if it is alone now (no hand for 0.5 s)."""
    pipe = pipeline(PEAR, motion_gate=False)  # no motion gate: "alone" is no hand alone
    before = np.full((240, 320, 3), 90, np.uint8)
    after = before.copy()
    after[100:140, 150:190] = (40, 60, 200)  # the pear, put down unseen
    pipe._views.append((9.0, before))
    pipe._frame = Frame(300, 12_000_000_000, after, np.repeat(np.repeat(after, 2, 0), 2, 1))
    pipe._t_s, pipe._last_hand_s = 12.0, last_hand_s
    votes = pipe._name_unexplained("add", 10.0)
    assert votes == ([(None, (Candidate("kaiser", 0.7), Candidate("green-bell-pepper", 0.2)))]
                     if named else [])  # fmt: skip


def test_the_same_change_asked_about_again_is_not_recognized_again() -> None:
    """An add waiting for a name that fits its weight asks every frame: the region where the
    basket changed is recognized once while it stays the same, and again once it differs."""
    calls: list[int] = []

    class Counting(Recognizer):
        def recognize(self, crops: list[np.ndarray]) -> list[Rec]:
            calls.append(len(crops))
            return super().recognize(crops)

    pipe = pipeline(PEAR, motion_gate=False)
    pipe.recognizer = Counting(PEAR)
    before = np.full((240, 320, 3), 90, np.uint8)
    pipe._views.append((9.0, before))
    pipe._t_s, pipe._last_hand_s = 12.0, 11.0
    for x0 in (150, 150, 150, 60):  # the pear, then something else put down elsewhere
        after = before.copy()
        after[100:140, x0 : x0 + 40] = (40, 60, 200)
        pipe._frame = Frame(300, 12_000_000_000, after, np.repeat(np.repeat(after, 2, 0), 2, 1))
        assert pipe._name_unexplained("add", 10.0)
    assert calls == [1, 1]
