"""What a product weighs: which measured weights can be an item of which catalog product."""

from __future__ import annotations

import math

from firmware.basket.changes import Candidate
from firmware.basket.weights import ProductWeights
from smartcart.catalog import default_catalog

WEIGHTS = ProductWeights(default_catalog())  # lemon 110 g per unit, banana 130 g per kg


def test_a_per_unit_item_weighs_its_nominal_within_the_tolerance() -> None:
    assert WEIGHTS.agrees("lemon", 110 * 1.34)
    assert WEIGHTS.agrees("lemon", 110 * 0.66)
    assert not WEIGHTS.agrees("lemon", 110 * 1.36)
    assert not WEIGHTS.agrees("lemon", 110 * 0.64)


def test_a_per_kg_item_weighs_anything_plausible() -> None:
    assert WEIGHTS.agrees("banana", 130 * 0.4)
    assert WEIGHTS.agrees("banana", 130 * 5.0)  # a bunch
    assert not WEIGHTS.agrees("banana", 130 * 0.3)
    assert not WEIGHTS.agrees("banana", 130 * 5.5)


def test_an_unknown_sku_agrees_with_nothing() -> None:
    assert not WEIGHTS.agrees("no-such-product", 110)


def test_fitting_keeps_real_options_the_weight_agrees_with_best_first() -> None:
    # Nominal: lime 70 g, kiwi 90 g, lemon 110 g, all per unit.
    votes = (Candidate("lime", 0.5), Candidate("kiwi", 0.3), Candidate("lemon", 0.02))
    assert WEIGHTS.fitting(votes, 90) == votes[:2]  # the lemon is no real option
    assert WEIGHTS.fitting(votes, 125) == ()  # neither lime (70 g) nor kiwi (90 g)
    assert WEIGHTS.fitting((Candidate("lemon", 0.3), Candidate("kiwi", 0.2)), 115) == (
        Candidate("lemon", 0.3),
        Candidate("kiwi", 0.2),
    )
    assert WEIGHTS.fitting((), 110) == ()


def test_a_per_kg_runner_up_far_behind_the_favourite_does_not_fit() -> None:
    # Any weight is a plausible banana, so only a banana the recognizer takes seriously fits.
    votes = (Candidate("lemon", 0.8), Candidate("banana", 0.1))
    assert WEIGHTS.fitting(votes, 110) == (votes[0],)
    votes = (Candidate("lemon", 0.5), Candidate("banana", 0.3))
    assert WEIGHTS.fitting(votes, 110) == votes


def test_likelihood_prefers_the_nominal_weight_and_the_surer_name() -> None:
    lemon = Candidate("lemon", 0.5)
    assert WEIGHTS.log_likelihood(lemon, 110) > WEIGHTS.log_likelihood(lemon, 140)
    assert WEIGHTS.log_likelihood(lemon, 110) > WEIGHTS.log_likelihood(Candidate("lemon", 0.2), 110)
    assert WEIGHTS.log_likelihood(lemon, 0) == -math.inf
    assert WEIGHTS.log_likelihood(Candidate("no-such-product", 0.9), 110) == -math.inf


def test_by_weight_offers_the_products_nearest_that_weight() -> None:
    offered = WEIGHTS.by_weight(1040, n=3)
    assert len(offered) == 3
    assert all(c.score == 0.0 for c in offered)
    off = [abs(1040 / default_catalog()[c.sku].unit_weight_g - 1) for c in offered]
    assert off == sorted(off) and off[0] == 0.0  # a milk carton weighs 1,040 g
    assert WEIGHTS.by_weight(5) == ()  # nothing in the store weighs 5 g
