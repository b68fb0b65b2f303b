"""The update path end to end on a real A/B tree: switch, refuse, roll back, defer, recover."""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from fleet_builders import NOW, BundleMaker

from firmware.fleet.errors import ChecksumMismatch, DowngradeRefused, SignatureInvalid
from firmware.fleet.manifest import generate_key
from firmware.fleet.readiness import CartStatus, write_cart_status
from firmware.fleet.updater import Updater


def started(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_first_install_goes_to_slot_a(updater: Updater, make_bundle: BundleMaker, started_log):
    outcome = updater.apply(make_bundle("1.0.0"))
    assert (outcome.kind, outcome.version, outcome.slot) == ("applied", "1.0.0", "a")
    assert os.readlink(updater.layout.current_link) == "slots/a"
    assert (updater.layout.root / "current" / "VERSION").read_text() == "1.0.0"
    assert started(started_log) == ["1.0.0"]
    assert updater.layout.read_pending() is None
    assert not updater.layout.staging.exists()


def test_good_update_switches_and_keeps_the_old_slot(updater: Updater, make_bundle, started_log):
    updater.apply(make_bundle("1.0.0"))
    outcome = updater.apply(make_bundle("1.1.0", days=7))
    assert (outcome.kind, outcome.slot) == ("applied", "b")
    assert os.readlink(updater.layout.current_link) == "slots/b"
    assert updater.layout.installed("a").version == "1.0.0"  # the rollback target stays
    assert started(started_log) == ["1.0.0", "1.1.0"]


def test_third_update_reuses_the_older_slot(updater: Updater, make_bundle):
    for days, version in enumerate(["1.0.0", "1.1.0", "1.2.0"]):
        updater.apply(make_bundle(version, days=days))
    assert updater.layout.current_slot() == "a"
    assert updater.layout.installed("a").version == "1.2.0"
    assert updater.layout.installed("b").version == "1.1.0"


def test_failing_health_check_rolls_back(updater: Updater, make_bundle, started_log):
    updater.apply(make_bundle("1.0.0"))
    outcome = updater.apply(make_bundle("1.1.0", days=7, healthy=False))
    assert (outcome.kind, outcome.version, outcome.slot) == ("rolled_back", "1.1.0", "a")
    assert "unhealthy" in outcome.detail
    assert os.readlink(updater.layout.current_link) == "slots/a"
    # The bad version was started once, then the old one was started again.
    assert started(started_log) == ["1.0.0", "1.1.0", "1.0.0"]
    assert updater.layout.read_pending() is None


def test_tampered_payload_is_refused_and_nothing_changes(updater: Updater, make_bundle, tmp_path):
    updater.apply(make_bundle("1.0.0"))
    good = make_bundle("1.1.0", days=7)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(good) as src, tarfile.open(tampered, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "payload/models/detector.onnx":
                data = data.replace(b"1.1.0", b"6.6.6")  # same size, different bytes
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(ChecksumMismatch, match="detector.onnx: sha256"):
        updater.apply(tampered)
    assert updater.layout.current_slot() == "a"
    assert updater.layout.installed("b") is None


def test_unlisted_file_is_refused(updater: Updater, make_bundle, tmp_path):
    bundle = make_bundle("1.0.0")
    with tarfile.open(bundle, "a") as tar:
        extra = tarfile.TarInfo("payload/extra.bin")
        extra.size = 3
        tar.addfile(extra, io.BytesIO(b"???"))
    with pytest.raises(ChecksumMismatch, match="not in the manifest"):
        updater.apply(bundle)
    assert updater.layout.current_slot() is None


def test_unsigned_bundle_is_refused(updater: Updater, make_bundle):
    with pytest.raises(SignatureInvalid, match="no manifest.sig"):
        updater.apply(make_bundle("1.0.0", signed=False))


def test_bundle_signed_by_an_unknown_key_is_refused(updater: Updater, make_bundle):
    stranger, _ = generate_key()
    with pytest.raises(SignatureInvalid, match="none of the trusted"):
        updater.apply(make_bundle("1.0.0", private_pem=stranger))


def test_bench_cart_accepts_unsigned_but_still_checks_sums(updater: Updater, make_bundle):
    bench = dataclasses.replace(
        updater, trust=dataclasses.replace(updater.trust, keys=(), require_signature=False)
    )
    assert bench.apply(make_bundle("1.0.0", signed=False)).kind == "applied"


@pytest.mark.parametrize(
    ("session_open", "docked", "age_s", "reason"),
    [
        (True, True, 0, "session is open"),
        (False, False, 0, "not docked"),
        (False, True, 600, "old"),
    ],
)
def test_busy_or_undocked_cart_defers(
    updater: Updater, make_bundle, status_path, session_open, docked, age_s, reason
):
    updater.apply(make_bundle("1.0.0"))
    at = NOW - timedelta(seconds=age_s)
    write_cart_status(
        status_path, CartStatus(updated_at=at, session_open=session_open, docked=docked)
    )
    outcome = updater.apply(make_bundle("1.1.0", days=7))
    assert outcome.kind == "deferred"
    assert reason in outcome.detail
    assert updater.layout.current_slot() == "a"
    assert updater.layout.installed("b") is None  # deferred before anything was unpacked


def test_missing_status_file_defers(updater: Updater, make_bundle, status_path):
    status_path.unlink()
    bundle = make_bundle("1.0.0")
    assert updater.apply(bundle).kind == "deferred"
    assert updater.apply(bundle, force=True).kind == "applied"


def test_same_version_is_a_no_op(updater: Updater, make_bundle, started_log):
    bundle = make_bundle("1.0.0")
    updater.apply(bundle)
    outcome = updater.apply(bundle)
    assert outcome.kind == "already_current"
    assert started(started_log) == ["1.0.0"]


def test_older_bundle_is_refused_unless_allowed(updater: Updater, make_bundle):
    old = make_bundle("0.9.0", days=-30)
    updater.apply(make_bundle("1.0.0"))
    with pytest.raises(DowngradeRefused):
        updater.apply(old)
    assert dataclasses.replace(updater, allow_downgrade=True).apply(old).kind == "applied"


def test_recover_rolls_back_a_switch_cut_short_by_power_loss(updater: Updater, make_bundle):
    updater.apply(make_bundle("1.0.0"))
    # Replay the steps of apply() up to the switch, as if power failed right after it.
    bad = make_bundle("1.1.0", days=7, healthy=False)
    from firmware.fleet.bundle import unpack_bundle

    verified = unpack_bundle(bad, updater.layout.staging, updater.trust)
    updater.layout.install(verified.payload_dir, verified.manifest, "b")
    updater.layout.mark_complete("b", verified.manifest)
    updater.layout.write_pending("a", "b", "1.1.0", NOW)
    updater.layout.switch_to("b")

    outcome = updater.recover()
    assert outcome is not None and (outcome.kind, outcome.slot) == ("rolled_back", "a")
    assert updater.layout.current_slot() == "a"
    assert updater.recover() is None


def test_manual_rollback_returns_to_the_previous_version(updater: Updater, make_bundle):
    updater.apply(make_bundle("1.0.0"))
    updater.apply(make_bundle("1.1.0", days=7))
    outcome = updater.rollback()
    assert (outcome.kind, outcome.version, outcome.slot) == ("rolled_back", "1.0.0", "a")
