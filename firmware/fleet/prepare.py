"""Turning an installed payload into something runnable: the slot's own virtualenv.

Each slot gets ``venv/`` made with ``--system-site-packages`` so it sees the OS's
``python3-picamera2`` (libcamera's bindings are not on PyPI for the Pi), then the bundle's
wheels are installed offline (``--no-index``): a cart never resolves dependencies against the
internet at update time, it gets exactly what the release pinned.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from firmware.fleet.errors import FleetError

WHEELS_DIR = "wheels"


@dataclass(frozen=True, slots=True)
class VenvPreparer:
    python: str = "/usr/bin/python3"
    requirement: str = "smartcart[cart]"
    timeout_s: float = 900.0  # numpy/opencv/onnxruntime wheels unpack slowly on an SD card

    def prepare(self, slot_dir: Path) -> None:
        wheels = slot_dir / WHEELS_DIR
        if not any(wheels.glob("*.whl")):
            return  # a models-only payload: nothing to install
        venv = slot_dir / "venv"
        self._run([self.python, "-m", "venv", "--system-site-packages", str(venv)])
        self._run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--no-index",
                "--find-links",
                str(wheels),
                "--disable-pip-version-check",
                self.requirement,
            ]
        )

    def _run(self, argv: list[str]) -> None:
        try:
            subprocess.run(argv, check=True, capture_output=True, text=True, timeout=self.timeout_s)
        except subprocess.CalledProcessError as e:
            raise FleetError(f"{' '.join(argv[:4])}... failed: {e.stderr.strip()[-500:]}") from e
        except subprocess.TimeoutExpired as e:
            raise FleetError(f"{argv[0]} timed out after {self.timeout_s:.0f} s") from e
        except OSError as e:
            raise FleetError(f"{argv[0]} could not run: {e}") from e


def default_python() -> str:
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
