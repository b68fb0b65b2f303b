"""The slot's venv is really built from the bundle's wheels, offline, seeing system packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from firmware.fleet.errors import FleetError
from firmware.fleet.prepare import VenvPreparer

PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "hello-cart"
version = "1.0"
"""


def build_wheel(tmp_path: Path, wheels: Path) -> None:
    project = tmp_path / "project"
    (project / "hello_cart").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "hello_cart" / "__init__.py").write_text("GREETING = 'hej'\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--wheel-dir",
            str(wheels),
            str(project),
        ],
        check=True,
    )


@pytest.mark.slow
def test_venv_gets_the_bundles_wheel_offline(tmp_path: Path):
    slot = tmp_path / "slot"
    build_wheel(tmp_path, slot / "wheels")
    VenvPreparer(python=sys.executable, requirement="hello-cart").prepare(slot)
    python = slot / "venv" / "bin" / "python"
    # --system-site-packages: the interpreter's own packages (picamera2 on a Pi) stay visible.
    probe = "import hello_cart, pydantic; print(hello_cart.GREETING)"
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "hej"


def test_missing_interpreter_is_a_fleet_error(tmp_path: Path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "x-1.0-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(FleetError, match="could not run"):
        VenvPreparer(python=str(tmp_path / "no-python")).prepare(tmp_path)


def test_payload_without_wheels_needs_no_venv(tmp_path: Path):
    (tmp_path / "models").mkdir()
    VenvPreparer(python=sys.executable).prepare(tmp_path)
    assert not (tmp_path / "venv").exists()
