"""The operator's commands: keygen, build, verify, apply, status, through typer."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from firmware.fleet.cli import app

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def test_keygen_build_verify_apply_status(tmp_path: Path):
    keys = tmp_path / "keys"
    keys.mkdir()
    assert invoke("keygen", tmp_path / "fleet.key", keys / "fleet.pem").exit_code == 0
    assert (tmp_path / "fleet.key").stat().st_mode & 0o777 == 0o600

    payload = tmp_path / "payload"
    (payload / "models").mkdir(parents=True)
    (payload / "models" / "detector.onnx").write_bytes(b"ONNX")
    bundle = tmp_path / "b.tar"
    built = invoke(
        "build", payload, "--version", "2.0.0", "--out", bundle, "--key", tmp_path / "fleet.key"
    )
    assert built.exit_code == 0, built.output
    assert "signed" in built.output

    verified = invoke("verify", bundle, "--keys", keys)
    assert verified.exit_code == 0 and "OK 2.0.0" in verified.output

    root = tmp_path / "opt"
    check = f"{sys.executable} -c pass"
    applied = invoke("apply", bundle, "--root", root, "--keys", keys, "--health", check, "--force")
    assert applied.exit_code == 0, applied.output
    assert applied.output.startswith("applied: 2.0.0")

    shown = invoke("status", "--root", root)
    assert "* slot a: 2.0.0" in shown.output and "  slot b: empty" in shown.output


def test_refused_bundle_exits_2(tmp_path: Path):
    payload = tmp_path / "payload"
    payload.mkdir()
    (payload / "f").write_bytes(b"x")
    bundle = tmp_path / "b.tar"
    assert invoke("build", payload, "--version", "1", "--out", bundle).exit_code == 0
    refused = invoke("verify", bundle, "--keys", tmp_path / "no-keys")
    assert refused.exit_code == 2
    assert "REFUSED" in refused.output


def test_bench_prints_its_figures(tmp_path: Path):
    result = invoke("bench", "--size-mb", "1", "--files", "2", "--dir", tmp_path / "bench")
    assert result.exit_code == 0, result.output
    for step in ("build + sign", "unpack + verify", "apply", "switch current", "rollback"):
        assert step in result.output
    assert not (tmp_path / "bench").exists()


def test_install_failure_exits_1_and_keeps_the_running_version(tmp_path: Path):
    payload = tmp_path / "payload"
    (payload / "wheels").mkdir(parents=True)
    (payload / "wheels" / "broken-1.0-py3-none-any.whl").write_bytes(b"not a wheel")
    bundle = tmp_path / "b.tar"
    assert invoke("build", payload, "--version", "1", "--out", bundle).exit_code == 0
    root = tmp_path / "opt"
    failed = invoke(
        "apply",
        bundle,
        "--root",
        root,
        "--allow-unsigned",
        "--health",
        "none",
        "--force",
        "--python",
        tmp_path / "no-such-python",
    )
    assert failed.exit_code == 1 and "FAILED" in failed.output
    assert not (root / "current").exists()
