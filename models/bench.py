"""Latency of the committed models with ONNX Runtime on this CPU (one thread unless told).

Median and 90th percentile over repeated single-item calls after a warm-up; input is a fixed
random image (latency does not depend on pixel values for these graphs).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

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
