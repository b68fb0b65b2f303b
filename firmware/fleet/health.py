"""Does the version just switched to work? The verdict that decides a rollback.

``SystemdHealthCheck`` is the one used on a cart: it restarts the cart unit, which is
``Type=notify``, so ``systemctl restart`` returns only once the new firmware has opened the
camera, the scale and its models and sent ``READY=1`` (or fails when it crashes or times out);
then the unit must stay active for ``settle_s`` without systemd restarting it (a crash loop
or a missed watchdog shows as a rising ``NRestarts``). ``CommandHealthCheck`` runs any command
against the slot, for carts without systemd and for tests.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Verdict:
    healthy: bool
    detail: str


class HealthCheck(Protocol):
    def check(self, slot_dir: Path) -> Verdict:
        """Start (or restart) what runs from ``slot_dir`` and judge it."""
        ...


@dataclass(frozen=True, slots=True)
class CommandHealthCheck:
    """Healthy when ``argv`` (``{slot}`` replaced by the slot path) exits 0 within the timeout."""

    argv: Sequence[str]
    timeout_s: float = 120.0

    def check(self, slot_dir: Path) -> Verdict:
        argv = [a.replace("{slot}", str(slot_dir)) for a in self.argv]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            return Verdict(False, f"{argv[0]} did not finish within {self.timeout_s:.0f} s")
        except OSError as e:
            return Verdict(False, f"{argv[0]} could not run: {e}")
        tail = (done.stdout + done.stderr).strip()[-500:]
        return Verdict(done.returncode == 0, f"exit {done.returncode}: {tail}")


@dataclass(frozen=True, slots=True)
class SystemdHealthCheck:
    unit: str = "smartcart-cart.service"
    settle_s: float = 30.0
    poll_s: float = 2.0

    def check(self, slot_dir: Path) -> Verdict:
        restarted = self._systemctl("restart", self.unit)
        if restarted.returncode != 0:
            return Verdict(False, f"restart failed: {restarted.stderr.strip()[-300:]}")
        restarts_before = self._restarts()
        deadline = time.monotonic() + self.settle_s
        while time.monotonic() < deadline:
            time.sleep(self.poll_s)
            state = self._show("ActiveState")
            if state != "active":
                return Verdict(False, f"{self.unit} went {state} after the switch")
            if self._restarts() != restarts_before:
                return Verdict(False, f"{self.unit} was restarted by systemd (crash or watchdog)")
        return Verdict(True, f"{self.unit} ready and stable for {self.settle_s:.0f} s")

    def _restarts(self) -> int:
        return int(self._show("NRestarts") or 0)

    def _show(self, prop: str) -> str:
        return self._systemctl("show", "--value", "-p", prop, self.unit).stdout.strip()

    @staticmethod
    def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=300)


@dataclass(frozen=True, slots=True)
class NoHealthCheck:
    """Only for the very first install during provisioning, before the unit is enabled."""

    def check(self, slot_dir: Path) -> Verdict:
        return Verdict(True, "not checked (first install)")
