"""``smartcart cart fleet bench``: how long each step of an update takes on this machine.

Builds synthetic bundles of incompressible bytes (the size of a real release: wheels are
already compressed) in a scratch folder on the disk under test, then times: packing and
signing, unpacking and verifying (signature + every SHA-256), a whole ``apply`` with a no-op
health check, the atomic ``current`` switch alone, and a rollback. Run it on the cart's SD
card (``--dir /opt/smartcart-bench``) to see what a fleet update costs there. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from firmware.fleet.bundle import TrustPolicy, build_bundle, unpack_bundle
from firmware.fleet.health import NoHealthCheck
from firmware.fleet.manifest import generate_key, load_trusted_keys
from firmware.fleet.prepare import VenvPreparer
from firmware.fleet.readiness import utc_now
from firmware.fleet.slots import SlotLayout
from firmware.fleet.updater import Updater


@dataclass(frozen=True, slots=True)
class BenchResult:
    payload_mb: float
    build_s: float
    verify_s: float
    apply_s: float
    switch_us: float  # one atomic switch of ``current`` (mean of many)
    rollback_s: float


def _payload(path: Path, size_mb: float, files: int) -> None:
    per_file = int(size_mb * 1e6 / files)
    for i in range(files):
        # Model-like blobs: a wheels/ folder would make the updater build a venv from them.
        target = path / "models" / f"blob{i:03d}.onnx"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(os.urandom(per_file))


def run_bench(work: Path, size_mb: float, files: int, switches: int = 200) -> BenchResult:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    private_pem, public_pem = generate_key()
    (work / "keys").mkdir()
    (work / "keys" / "fleet.pem").write_bytes(public_pem)
    trust = TrustPolicy(load_trusted_keys(work / "keys"))
    now = utc_now()

    bundles = []
    build_s = 0.0
    for n, version in enumerate(("1.0.0", "1.1.0")):
        _payload(work / f"payload-{version}", size_mb, files)
        t = time.perf_counter()
        out = work / f"smartcart-{version}.tar"
        build_bundle(
            work / f"payload-{version}", version, out, now + timedelta(days=n), private_pem
        )
        build_s = time.perf_counter() - t
        bundles.append(out)

    t = time.perf_counter()
    unpack_bundle(bundles[1], work / "verify-staging", trust)
    verify_s = time.perf_counter() - t

    layout = SlotLayout(work / "root")
    updater = Updater(layout, trust, NoHealthCheck(), VenvPreparer(), work / "status.json")
    updater.apply(bundles[0], force=True)
    t = time.perf_counter()
    updater.apply(bundles[1], force=True)
    apply_s = time.perf_counter() - t

    t = time.perf_counter()
    for i in range(switches):
        layout.switch_to("a" if i % 2 == 0 else "b")
    switch_us = (time.perf_counter() - t) / switches * 1e6

    t = time.perf_counter()
    updater.rollback()
    rollback_s = time.perf_counter() - t
    shutil.rmtree(work)
    return BenchResult(size_mb, build_s, verify_s, apply_s, switch_us, rollback_s)
