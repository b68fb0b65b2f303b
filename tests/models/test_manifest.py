"""The manifest loader refuses files whose SHA-256 does not match, before anything loads them."""

import json

import pytest

from models import manifest


def write_manifest(tmp_path, data: bytes, digest: str):
    (tmp_path / "m.onnx").write_bytes(data)
    record = {
        "version": "1.0.0",
        "variants": {"int8": {"file": "m.onnx", "sha256": digest}},
        "input": {"name": "image"},
        "outputs": {},
        "labels": ["a", "b"],
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"models": {"thing": record}}))
    return path


def test_load_returns_the_verified_path(tmp_path):
    path = write_manifest(tmp_path, b"model bytes", "")
    digest = manifest.sha256_of(tmp_path / "m.onnx")
    path = write_manifest(tmp_path, b"model bytes", digest)
    assert manifest.load("thing", "int8", path) == tmp_path / "m.onnx"
    assert manifest.entry("thing", path).labels == ("a", "b")


def test_a_changed_file_is_refused(tmp_path):
    path = write_manifest(tmp_path, b"model bytes", "0" * 64)
    with pytest.raises(manifest.ChecksumMismatch, match="sha256"):
        manifest.load("thing", "int8", path)


def test_unknown_model_or_variant_and_missing_file_are_errors(tmp_path):
    path = write_manifest(tmp_path, b"x", "0" * 64)
    with pytest.raises(manifest.ManifestError, match="no model"):
        manifest.load("other", "int8", path)
    with pytest.raises(manifest.ManifestError, match="variant"):
        manifest.load("thing", "fp32", path)
    (tmp_path / "m.onnx").unlink()
    with pytest.raises(manifest.ManifestError, match="missing"):
        manifest.load("thing", "int8", path)


def test_committed_models_match_their_manifest():
    for name, entry in manifest.read().items():
        for variant in entry.files:
            assert manifest.verify(entry, variant).is_file(), (name, variant)
