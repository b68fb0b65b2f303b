"""The systemd health check's verdicts, against a scripted ``systemctl`` on PATH.

systemd is not PID 1 in CI, so a small shell stand-in plays systemctl: it logs the calls and
answers ``show`` from files the test writes, the way a unit that is active, crashed or being
restarted by its watchdog would answer. What is under test is the check's decision logic and
the exact systemctl calls it makes; the real systemd is exercised on a cart.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from firmware.fleet.health import CommandHealthCheck, SystemdHealthCheck

SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$STATE/calls"
case "$1" in
  restart) exit "$(cat "$STATE/restart_rc")" ;;
  show)
    prop="$4"
    n=$(cat "$STATE/shows" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/shows"
    # After the first N shows, switch to the "later" answers (a crash after start-up).
    if [ "$n" -ge "$(cat "$STATE/flip_after")" ] && [ -f "$STATE/$prop.later" ]; then
      cat "$STATE/$prop.later"
    else
      cat "$STATE/$prop"
    fi ;;
esac
"""


@pytest.fixture
def systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    exe = bin_dir / "systemctl"
    exe.write_text(SYSTEMCTL)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STATE", str(state))
    for name, value in {
        "restart_rc": "0",
        "ActiveState": "active",
        "NRestarts": "0",
        "flip_after": "1000",
    }.items():
        (state / name).write_text(value + "\n")
    return state


def check() -> SystemdHealthCheck:
    return SystemdHealthCheck(unit="smartcart-cart.service", settle_s=0.3, poll_s=0.05)


def test_stable_unit_is_healthy(systemctl: Path):
    verdict = check().check(Path("/opt/smartcart/slots/b"))
    assert verdict.healthy, verdict.detail
    calls = (systemctl / "calls").read_text().splitlines()
    assert calls[0] == "restart smartcart-cart.service"
    assert "show --value -p NRestarts smartcart-cart.service" in calls


def test_failed_restart_is_unhealthy(systemctl: Path):
    (systemctl / "restart_rc").write_text("1\n")
    verdict = check().check(Path("/x"))
    assert not verdict.healthy and "restart failed" in verdict.detail


def test_unit_that_dies_after_start_is_unhealthy(systemctl: Path):
    (systemctl / "flip_after").write_text("2\n")
    (systemctl / "ActiveState.later").write_text("failed\n")
    verdict = check().check(Path("/x"))
    assert not verdict.healthy and "went failed" in verdict.detail


def test_watchdog_restart_is_unhealthy(systemctl: Path):
    (systemctl / "flip_after").write_text("2\n")
    (systemctl / "NRestarts.later").write_text("1\n")
    verdict = check().check(Path("/x"))
    assert not verdict.healthy and "restarted by systemd" in verdict.detail


def test_command_check_substitutes_the_slot_and_reports_timeouts(tmp_path: Path):
    ok = CommandHealthCheck(["test", "-d", "{slot}"]).check(tmp_path)
    assert ok.healthy
    slow = CommandHealthCheck(["sleep", "5"], timeout_s=0.2).check(tmp_path)
    assert not slow.healthy and "did not finish" in slow.detail
    missing = CommandHealthCheck([str(tmp_path / "nope")]).check(tmp_path)
    assert not missing.healthy and "could not run" in missing.detail
