"""The decision logic (tracker, zone, settle, fusion) on simulated trips with oracle boxes.

See ``sim_oracle``: boxes come from the simulator's script, not from pixels, so this pins the
logic's behaviour on realistic gestures (hovers, empty reaches, presses, items carried in from
the image edges and out of view) without the models. Scored as the feed format scores: same
type and SKU within 2 s, one-to-one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sim_oracle import OracleDetector, OracleRecognizer

from firmware.camera import Frame
from firmware.pipeline import CartPipeline
from firmware.scale import ScaleSample
from host.sim.script import plan_trip, scale_trace
from smartcart.catalog import default_catalog

BLANK = np.zeros((240, 320, 3), np.uint8)
MAIN = np.zeros((480, 640, 3), np.uint8)


def run_trip(seed: int) -> tuple[list[tuple[str, str, float]], list[tuple[str, str, float]]]:
    rng = np.random.default_rng(seed)
    catalog = default_catalog()
    trip = plan_trip(rng, catalog, (640, 480))
    t_scale, grams = scale_trace(trip, rng)
    det = OracleDetector(trip)
    pipe = CartPipeline(det, OracleRecognizer(det), catalog, trip.polygon_norm, (320, 240),
                        (640, 480), datetime.now(UTC), motion_gate=False)  # fmt: skip
    out, k = [], 0
    n = int(trip.duration_s * 15)
    for i in range(n):
        t = i / 15
        samples = []
        while k < len(t_scale) and t_scale[k] <= t:
            samples.append(ScaleSample(float(t_scale[k]), float(grams[k])))
            k += 1
        det.t_s = t
        out += pipe.process(Frame(i, round(t * 1e9), BLANK, MAIN), samples)
    out += pipe.finish(trip.duration_s)
    got = [(c.type if c.type != "unresolved" else str(c.action),
            c.sku or c.candidates[0].sku, c.t_s) for c in out]  # fmt: skip
    truth = [(e.type, str(e.sku), e.t) for e in trip.truth()]
    return got, truth


def match(got: list[tuple[str, str, float]], truth: list[tuple[str, str, float]]) -> int:
    used: set[int] = set()
    hits = 0
    for kind, sku, t in sorted(got, key=lambda g: g[2]):
        for j, (tk, ts, tt) in enumerate(truth):
            if j not in used and tk == kind and ts == sku and abs(tt - t) <= 2.0:
                used.add(j)
                hits += 1
                break
    return hits


@pytest.mark.slow
def test_logic_on_simulated_trips() -> None:
    tp = n_got = n_truth = 0
    for seed in range(7001, 7007):
        got, truth = run_trip(seed)
        tp += match(got, truth)
        n_got += len(got)
        n_truth += len(truth)
    precision, recall = tp / max(n_got, 1), tp / max(n_truth, 1)
    print(f"oracle boxes: precision {precision:.3f} recall {recall:.3f} over {n_truth} events")
    assert precision >= 0.95 and recall >= 0.95
