"""Bundle format edge cases: hostile paths and members never reach the disk outside staging."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from fleet_builders import T0

from firmware.fleet.bundle import TrustPolicy, build_bundle, unpack_bundle
from firmware.fleet.errors import BundleRejected, ManifestInvalid
from firmware.fleet.manifest import FileEntry, Manifest

SHA = "0" * 64


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../b", "", "a//b"])
def test_manifest_rejects_paths_that_leave_the_payload(path: str):
    with pytest.raises(ValueError, match="plain relative POSIX path"):
        FileEntry(path=path, size_bytes=1, sha256=SHA)


def test_manifest_rejects_duplicates_and_naive_times():
    entry = FileEntry(path="a", size_bytes=1, sha256=SHA)
    with pytest.raises(ValueError, match="listed twice"):
        Manifest(version="1", created_at=T0, files=(entry, entry))
    with pytest.raises(ValueError, match="timezone"):
        Manifest(version="1", created_at=T0.replace(tzinfo=None), files=(entry,))


def test_garbage_manifest_is_refused(tmp_path: Path):
    bundle = tmp_path / "b.tar"
    with tarfile.open(bundle, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(ManifestInvalid):
        unpack_bundle(bundle, tmp_path / "staging", TrustPolicy((), require_signature=False))


def test_symlink_member_is_refused(tmp_path: Path):
    bundle = tmp_path / "b.tar"
    with tarfile.open(bundle, "w") as tar:
        link = tarfile.TarInfo("payload/passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(BundleRejected, match="unexpected member"):
        unpack_bundle(bundle, tmp_path / "staging", TrustPolicy((), require_signature=False))


def test_not_a_tar_is_refused(tmp_path: Path):
    bundle = tmp_path / "b.tar"
    bundle.write_bytes(b"<html>404</html>")
    with pytest.raises(BundleRejected, match="not a readable bundle"):
        unpack_bundle(bundle, tmp_path / "staging", TrustPolicy((), require_signature=False))


def test_build_is_reproducible(tmp_path: Path):
    payload = tmp_path / "payload"
    (payload / "wheels").mkdir(parents=True)
    (payload / "wheels" / "x.whl").write_bytes(b"wheel")
    one, two = tmp_path / "1.tar", tmp_path / "2.tar"
    build_bundle(payload, "1.0.0", one, T0, None)
    build_bundle(payload, "1.0.0", two, T0, None)
    assert one.read_bytes() == two.read_bytes()
