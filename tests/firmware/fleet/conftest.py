"""Builders for fleet tests: a signing key, bundles with a real self-test, a cart status file."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fleet_builders import NOW, SELFTEST, T0, BundleMaker

from firmware.fleet.bundle import TrustPolicy, build_bundle
from firmware.fleet.health import CommandHealthCheck
from firmware.fleet.manifest import generate_key, load_trusted_keys
from firmware.fleet.prepare import VenvPreparer
from firmware.fleet.readiness import CartStatus, write_cart_status
from firmware.fleet.slots import SlotLayout
from firmware.fleet.updater import Updater


@pytest.fixture
def signing_key(tmp_path: Path) -> tuple[bytes, Path]:
    private_pem, public_pem = generate_key()
    keys_dir = tmp_path / "fleet-keys"
    keys_dir.mkdir()
    (keys_dir / "fleet.pem").write_bytes(public_pem)
    return private_pem, keys_dir


@pytest.fixture
def make_bundle(tmp_path: Path, signing_key: tuple[bytes, Path]) -> BundleMaker:
    def make(
        version: str,
        days: int = 0,
        healthy: bool = True,
        signed: bool = True,
        private_pem: bytes | None = None,
    ) -> Path:
        payload = tmp_path / "payloads" / version
        (payload / "models").mkdir(parents=True)
        (payload / "VERSION").write_text(version)
        (payload / "selftest.py").write_text(SELFTEST)
        model = b"ONNX model " + version.encode() if healthy else b"truncated"
        (payload / "models" / "detector.onnx").write_bytes(model)
        key = private_pem or signing_key[0]
        out = tmp_path / "bundles" / f"smartcart-{version}.tar"
        build_bundle(payload, version, out, T0 + timedelta(days=days), key if signed else None)
        return out

    return make


@pytest.fixture
def started_log(tmp_path: Path) -> Path:
    return tmp_path / "started.log"


@pytest.fixture
def status_path(tmp_path: Path) -> Path:
    path = tmp_path / "run" / "status.json"
    write_cart_status(path, CartStatus(updated_at=NOW, session_open=False, docked=True))
    return path


@pytest.fixture
def updater(tmp_path: Path, signing_key, status_path: Path, started_log: Path) -> Updater:
    return Updater(
        layout=SlotLayout(tmp_path / "opt-smartcart"),
        trust=TrustPolicy(load_trusted_keys(signing_key[1])),
        health=CommandHealthCheck([sys.executable, "{slot}/selftest.py", str(started_log)]),
        preparer=VenvPreparer(python=sys.executable),
        status_path=status_path,
        clock=lambda: NOW,
    )
