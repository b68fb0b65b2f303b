"""``bench`` prints every figure it promises (timings are printed, never asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_feed import AlwaysLemon, ColourDetector, write_feed

from firmware.bench import run_bench


def test_bench_prints_all_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = write_feed(tmp_path / "feed")
    run_bench(feed, ColourDetector(), AlwaysLemon(), n_frames=150)
    out = capsys.readouterr().out
    for figure in (
        "decode+resize",
        "detector alone",
        "pipeline, gate off",
        "overhead",
        "pipeline, gate on",
        "idle cart",
        "latency rest->outbox",
    ):
        assert figure in out
