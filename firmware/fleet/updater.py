"""The update decision: defer, refuse, install, switch, judge, and roll back.

``apply`` is safe to run from a timer every few minutes: it defers while the cart is busy or
away from its dock, does nothing when the bundle is already running, refuses what fails
verification or is older than what runs, and otherwise installs into the idle slot, switches,
and keeps the switch only if the health check passes. ``recover`` runs at boot and finishes a
switch a power cut interrupted. Every path ends with ``pending.json`` gone and ``current``
pointing at a complete install.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from firmware.fleet.bundle import TrustPolicy, unpack_bundle
from firmware.fleet.errors import DowngradeRefused, LayoutError
from firmware.fleet.health import HealthCheck
from firmware.fleet.readiness import read_readiness, utc_now
from firmware.fleet.slots import Pending, Slot, SlotLayout

OutcomeKind = Literal["applied", "already_current", "deferred", "rolled_back", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    version: str | None  # the bundle's version (None when deferred before reading it)
    detail: str
    slot: Slot | None = None  # the slot ``current`` points at afterwards


class Preparer(Protocol):
    def prepare(self, slot_dir: Path) -> None: ...


@dataclass(frozen=True, slots=True)
class Updater:
    layout: SlotLayout
    trust: TrustPolicy
    health: HealthCheck
    preparer: Preparer
    status_path: Path
    clock: Callable[[], datetime] = utc_now
    allow_downgrade: bool = False

    def apply(self, bundle: Path, force: bool = False) -> Outcome:
        """Install ``bundle`` if the cart is idle and docked (``force`` skips that test)."""
        if (not_now := self._not_ready(force)) is not None:
            return Outcome("deferred", None, not_now, self.layout.current_slot())
        self.recover()  # an interrupted switch first gets its verdict
        verified = unpack_bundle(bundle, self.layout.staging, self.trust)
        version = verified.manifest.version
        current = self.layout.current_slot()
        running = self.layout.installed(current) if current is not None else None
        if running is not None and running.version == version:
            shutil.rmtree(self.layout.staging)
            return Outcome("already_current", version, f"{version} is running", current)
        if (
            running is not None
            and verified.manifest.created_at < running.created_at
            and not self.allow_downgrade
        ):
            shutil.rmtree(self.layout.staging)
            raise DowngradeRefused(
                f"{version} ({verified.manifest.created_at:%Y-%m-%d}) is older than the running "
                f"{running.version} ({running.created_at:%Y-%m-%d})"
            )

        target = self.layout.other(current)
        slot_dir = self.layout.install(verified.payload_dir, verified.manifest, target)
        shutil.rmtree(self.layout.staging)
        self.preparer.prepare(slot_dir)
        self.layout.mark_complete(target, verified.manifest)
        # Installing can take minutes: a shopper may have taken the cart meanwhile.
        if (not_now := self._not_ready(force)) is not None:
            return Outcome(
                "deferred",
                version,
                f"installed in slot {target}; switch deferred: {not_now}",
                current,
            )
        self.layout.write_pending(current, target, version, self.clock())
        self.layout.switch_to(target)
        return self._judge(self._pending())

    def recover(self) -> Outcome | None:
        """Finish a switch left pending by a crash or power cut; None when there is none."""
        pending = self.layout.read_pending()
        if pending is None:
            return None
        if self.layout.current_slot() != pending.to_slot:
            # Power went before the symlink moved: the old version never stopped being current.
            self.layout.clear_pending()
            return Outcome(
                "rolled_back",
                pending.version,
                "switch interrupted before it happened",
                self.layout.current_slot(),
            )
        return self._judge(pending)

    def rollback(self) -> Outcome:
        """Operator's undo: go back to the other slot's install, and check it."""
        self.recover()
        current = self.layout.current_slot()
        if current is None:
            raise LayoutError("nothing installed: there is nothing to roll back")
        target = self.layout.other(current)
        previous = self.layout.installed(target)
        if previous is None:
            raise LayoutError(f"slot {target} holds no complete install to roll back to")
        self.layout.switch_to(target)
        verdict = self.health.check(self.layout.slot_dir(target))
        kind: OutcomeKind = "rolled_back" if verdict.healthy else "failed"
        return Outcome(kind, previous.version, verdict.detail, target)

    def _judge(self, pending: Pending) -> Outcome:
        verdict = self.health.check(self.layout.slot_dir(pending.to_slot))
        if verdict.healthy:
            self.layout.clear_pending()
            return Outcome("applied", pending.version, verdict.detail, pending.to_slot)
        if pending.from_slot is None:
            self.layout.clear_pending()
            return Outcome(
                "failed",
                pending.version,
                f"first install unhealthy: {verdict.detail}",
                pending.to_slot,
            )
        self.layout.switch_to(pending.from_slot)
        back = self.health.check(self.layout.slot_dir(pending.from_slot))
        self.layout.clear_pending()
        detail = f"unhealthy: {verdict.detail}; back on slot {pending.from_slot}"
        if not back.healthy:
            detail += f", which is unhealthy too: {back.detail}"
        return Outcome("rolled_back", pending.version, detail, pending.from_slot)

    def _pending(self) -> Pending:
        pending = self.layout.read_pending()
        if pending is None:
            raise LayoutError("pending.json vanished during a switch")
        return pending

    def _not_ready(self, force: bool) -> str | None:
        if force:
            return None
        readiness = read_readiness(self.status_path, self.clock())
        return None if readiness.ready else readiness.reason
