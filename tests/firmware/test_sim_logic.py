"""The decision logic (tracker, zone, settle, fusion) on simulated trips with oracle boxes.

See ``sim_oracle``: boxes come from the simulator's script, not from pixels, so this pins the
logic's behaviour on realistic gestures (hovers, empty reaches, presses, items carried in from
the image edges and out of view) without the models. Scored as the feed format scores: same
type and SKU within 2 s, one-to-one, and exact baskets (``smartcart.feed.score``). The latency
from each truth event to its change is computed as ``smartcart cart bench`` computes it, and
printed: timings are figures, never pass/fail.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sim_oracle import OracleDetector, OracleRecognizer

from firmware.basket.changes import BasketChange
from firmware.bench import truth_latencies
from firmware.camera import Frame
from firmware.pipeline import CartPipeline
from firmware.replay import event_dict
from firmware.scale import ScaleSample
from host.sim.script import plan_trip, scale_trace
from smartcart.catalog import default_catalog
from smartcart.feed.format import TruthEvent, parse_event
from smartcart.feed.score import score

BLANK = np.zeros((240, 320, 3), np.uint8)


def run_trip_changes(seed: int) -> tuple[list[TruthEvent], list[tuple[float, BasketChange]]]:
    """(truth, [(time of the frame that decided it, change)]) of one simulated trip, driven
    frame by frame with oracle boxes."""
    rng = np.random.default_rng(seed)
    catalog = default_catalog()
    trip = plan_trip(rng, catalog, (640, 480))
    t_scale, grams = scale_trace(trip, rng)
    det = OracleDetector(trip)
    pipe = CartPipeline(det, OracleRecognizer(det), catalog, trip.polygon_norm, (320, 240),
                        (640, 480), datetime.now(UTC), motion_gate=False)  # fmt: skip
    out, k = [], 0
    for i in range(int(trip.duration_s * 15)):
        t = i / 15
        samples = []
        while k < len(t_scale) and t_scale[k] <= t:
            samples.append(ScaleSample(float(t_scale[k]), float(grams[k])))
            k += 1
        det.t_s = t
        out += [(t, c) for c in pipe.process(Frame(i, round(t * 1e9), BLANK, det.paint()), samples)]
    out += [(trip.duration_s, c) for c in pipe.finish(trip.duration_s)]
    return trip.truth(), out


def run_trip(seed: int) -> tuple[list[TruthEvent], list[TruthEvent]]:
    """(truth, replay output) of one simulated trip."""
    truth, out = run_trip_changes(seed)
    return truth, [parse_event(event_dict(c)) for _, c in out]


@pytest.mark.slow
def test_logic_on_simulated_trips() -> None:
    runs = [(f"seed{seed}", *run_trip(seed)) for seed in range(7001, 7007)]
    result = score(runs, default_catalog())
    print(
        f"oracle boxes: F1 {result.f1:.3f}, exact baskets {result.exact_basket_rate:.0%}, "
        f"unresolved {result.unresolved_share:.0%} over {result.truth} events"
    )
    assert result.f1 >= 0.97
    assert result.exact_basket_rate >= 0.85


@pytest.mark.slow
def test_latency_against_truth_is_computed_for_oracle_trips() -> None:
    truth, stored = run_trip_changes(7001)
    matched = truth_latencies(stored, truth)
    assert [e for e, _, _ in matched] == sorted(truth, key=lambda e: e.t)  # every one answered
    decided_at = {id(c): t for t, c in stored}
    for ev, c, lat in matched:  # from the true rest (or crossing) to the frame that decided it
        assert (c.type, c.sku) == (ev.type, ev.sku)
        assert lat == pytest.approx(decided_at[id(c)] - ev.t)
    lats = [lat for _, _, lat in matched]
    print(f"oracle trip 7001: truth -> decision p50 {np.median(lats):.2f} s, max {max(lats):.2f} s")
