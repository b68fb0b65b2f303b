"""Latency of the committed models with ONNX Runtime on this CPU (one thread unless told).

Median and 90th percentile over repeated single-item calls after a warm-up; input is a fixed
random image (latency does not depend on pixel values for these graphs).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from firmware.vision.detector import ALL_FLIPS, SINGLE_VIEW, TTA_VIEWS, Detector, Flip
from firmware.vision.session import open_session
from models import manifest


@dataclass(frozen=True)
class Latency:
    model: str
    variant: str
    threads: int
    median_ms: float
    p90_ms: float
    runs: int


def bench(name: str, variant: manifest.Variant, threads: int = 1, runs: int = 50) -> Latency:
    entry = manifest.entry(name)
    session = open_session(manifest.verify(entry, variant), threads)
    inp = session.get_inputs()[0]
    shape = [1 if not isinstance(d, int) else d for d in inp.shape]
    x = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    for _ in range(5):
        session.run(None, {inp.name: x})
    times_ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, {inp.name: x})
        times_ms.append((time.perf_counter() - t0) * 1e3)
    times_ms.sort()
    return Latency(
        name, variant, threads, statistics.median(times_ms), times_ms[int(0.9 * (runs - 1))], runs
    )


def bench_detector_frame(
    variant: manifest.Variant,
    views: tuple[Flip, ...] = SINGLE_VIEW,
    threads: int = 1,
    runs: int = 30,
) -> Latency:
    """Per-frame latency of the cart's ``Detector.detect`` (letterbox, one model run per view,
    decoding, fusion) on a rendered 320x240 frame with products, at the cart's threshold."""
    from host.sim.cutouts import load_cutouts
    from host.sim.trainset import render_sample
    from smartcart.catalog import default_catalog

    sample = render_sample(
        np.random.default_rng([4242, 1]), load_cutouts(), default_catalog(), (320, 240)
    )
    detector = Detector(manifest.load("detector", variant), threads, views=views)
    for _ in range(3):
        detector.detect(sample.bgr)
    times_ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        detector.detect(sample.bgr)
        times_ms.append((time.perf_counter() - t0) * 1e3)
    times_ms.sort()
    return Latency(
        f"detector x{len(views)} views",
        variant,
        threads,
        statistics.median(times_ms),
        times_ms[int(0.9 * (runs - 1))],
        runs,
    )


if __name__ == "__main__":  # python -m models.bench: the detector per frame, 1 / 3 / 4 views
    for variant in ("fp32", "int8"):
        for views in (SINGLE_VIEW, TTA_VIEWS, ALL_FLIPS):
            lat = bench_detector_frame(variant, views, runs=30 if variant == "fp32" else 10)
            print(
                f"{lat.model:<20} {variant:<4} threads=1: {lat.median_ms:6.2f} ms/frame median, "
                f"{lat.p90_ms:6.2f} ms p90 ({lat.runs} runs)"
            )
