"""Constants shared by the fleet tests (a plain module: ``conftest`` names clash across folders)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 03:00: the store is closed, carts are docked

# Each bundle carries its own self-test, like the real firmware's start-up checks: it appends its
# version to a log (so tests see which version was started) and fails when told to.
SELFTEST = """\
import pathlib, sys
slot = pathlib.Path(__file__).parent
with open(sys.argv[1], "a") as log:
    log.write((slot / "VERSION").read_text() + "\\n")
sys.exit(0 if (slot / "models" / "detector.onnx").read_bytes().startswith(b"ONNX") else 1)
"""

BundleMaker = Callable[..., Path]
