"""Is now a good time to update? Only when the cart is idle and docked.

The cart service knows both facts: whether a shopping session is open, and whether the cart
stands in its dock (a reed switch in the dock bay on GPIO 17, see hardware/wiring.md). It
rewrites ``/run/smartcart/status.json`` (a ``CartStatus``) every few seconds with
``write_cart_status``; the updater reads it here. A missing, unreadable or stale file means
"unknown", which is never a yes: an update must not restart the firmware under a shopper.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

DEFAULT_STATUS_PATH = Path("/run/smartcart/status.json")


class CartStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    updated_at: AwareDatetime
    session_open: bool  # a shopper's session is open on this cart
    docked: bool  # the dock's reed switch is closed (cart on charge in the corral)


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reason: str  # why not (or "idle and docked")


def write_cart_status(path: Path, status: CartStatus) -> None:
    """Atomically replace the status file (called by the cart service)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(status.model_dump_json(), encoding="utf-8")
    os.replace(tmp, path)


def read_readiness(path: Path, now: datetime, max_age_s: float = 30.0) -> Readiness:
    try:
        raw = path.read_bytes()
    except OSError as e:
        return Readiness(False, f"cart status unknown ({path}: {e.strerror})")
    try:
        status = CartStatus.model_validate_json(raw)
    except ValidationError as e:
        return Readiness(False, f"cart status unreadable ({path}: {e.error_count()} errors)")
    age_s = (now - status.updated_at) / timedelta(seconds=1)
    if age_s > max_age_s:
        return Readiness(False, f"cart status is {age_s:.0f} s old (cart service not running?)")
    if status.session_open:
        return Readiness(False, "a shopping session is open")
    if not status.docked:
        return Readiness(False, "the cart is not docked")
    return Readiness(True, "idle and docked")


def utc_now() -> datetime:
    return datetime.now(UTC)
