"""The decision logic (tracker, zone, settle, fusion) on simulated trips with oracle boxes.

See ``sim_oracle``: boxes come from the simulator's script, not from pixels, so this pins the
logic's behaviour on realistic gestures (hovers, empty reaches, presses, items carried in from
the image edges and out of view) without the models. Scored as the feed format scores: same
type and SKU within 2 s, one-to-one, and exact baskets (``smartcart.feed.score``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sim_oracle import OracleDetector, OracleRecognizer

from firmware.camera import Frame
from firmware.pipeline import CartPipeline
from firmware.replay import event_dict
from firmware.scale import ScaleSample
from host.sim.script import plan_trip, scale_trace
from smartcart.catalog import default_catalog
from smartcart.feed.format import TruthEvent, parse_event
from smartcart.feed.score import score

BLANK = np.zeros((240, 320, 3), np.uint8)


def run_trip(seed: int) -> tuple[list[TruthEvent], list[TruthEvent]]:
    """(truth, replay output) of one simulated trip, driven frame by frame with oracle boxes."""
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
        out += pipe.process(Frame(i, round(t * 1e9), BLANK, det.paint()), samples)
    out += pipe.finish(trip.duration_s)
    return trip.truth(), [parse_event(event_dict(c)) for c in out]


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
