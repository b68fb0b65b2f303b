"""The A/B install layout on the cart and its one atomic operation, the switch.

::

    /opt/smartcart/
        slots/a/            # one complete install: wheels/, models/, venv/, .bundle.json
        slots/b/
        current -> slots/a  # the systemd unit starts current/venv/bin/smartcart
        pending.json        # only between a switch and its verdict (see updater.recover)
        staging/            # a bundle being unpacked and verified

A new version is installed into the slot that is *not* current, in place (the venv's scripts
embed their absolute path, so a slot is never moved after its venv exists). Switching writes a
new symlink beside ``current`` and ``rename(2)``s it over: at every instant ``current`` names a
complete slot, even across a power cut.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from firmware.fleet.errors import LayoutError
from firmware.fleet.manifest import Manifest

Slot = Literal["a", "b"]
SLOTS: tuple[Slot, Slot] = ("a", "b")
BUNDLE_RECORD = ".bundle.json"  # the installed manifest, written last: its presence = complete


class Pending(BaseModel):
    """A switch whose health check has not given its verdict yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_slot: Slot | None  # None: the first install on this cart, nothing to go back to
    to_slot: Slot
    version: str
    switched_at: AwareDatetime


@dataclass(frozen=True, slots=True)
class SlotLayout:
    root: Path

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    @property
    def pending_path(self) -> Path:
        return self.root / "pending.json"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    def slot_dir(self, slot: Slot) -> Path:
        return self.root / "slots" / slot

    def current_slot(self) -> Slot | None:
        """The slot ``current`` points at; None on a cart with nothing installed yet."""
        try:
            target = os.readlink(self.current_link)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise LayoutError(f"{self.current_link} is not a symlink: {e}") from e
        for slot in SLOTS:
            if Path(target) == Path("slots") / slot:
                return slot
        raise LayoutError(f"{self.current_link} points at {target!r}, not at slots/a or slots/b")

    def other(self, slot: Slot | None) -> Slot:
        return "b" if slot == "a" else "a"

    def installed(self, slot: Slot) -> Manifest | None:
        """The manifest of the bundle completely installed in ``slot``, else None."""
        record = self.slot_dir(slot) / BUNDLE_RECORD
        if not record.is_file():
            return None
        return Manifest.from_bytes(record.read_bytes())

    def install(self, payload_dir: Path, manifest: Manifest, slot: Slot) -> Path:
        """Move a verified payload into ``slot`` (replacing what was there); return the slot."""
        if slot == self.current_slot():
            raise LayoutError(f"refusing to install over the running slot {slot}")
        dest = self.slot_dir(slot)
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        payload_dir.rename(dest)  # staging lives under root: same filesystem, one rename
        return dest

    def mark_complete(self, slot: Slot, manifest: Manifest) -> None:
        _write_atomic(self.slot_dir(slot) / BUNDLE_RECORD, manifest.to_bytes())

    def switch_to(self, slot: Slot) -> None:
        """Point ``current`` at ``slot`` atomically."""
        if self.installed(slot) is None:
            raise LayoutError(f"slot {slot} holds no complete install")
        tmp = self.root / ".current.new"
        tmp.unlink(missing_ok=True)
        os.symlink(Path("slots") / slot, tmp)  # relative: the tree can be inspected from a mount
        os.replace(tmp, self.current_link)
        _fsync_dir(self.root)

    def read_pending(self) -> Pending | None:
        try:
            raw = self.pending_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return Pending.model_validate_json(raw)
        except ValidationError as e:
            raise LayoutError(f"{self.pending_path}: {e}") from e

    def write_pending(
        self, from_slot: Slot | None, to_slot: Slot, version: str, at: datetime
    ) -> None:
        pending = Pending(from_slot=from_slot, to_slot=to_slot, version=version, switched_at=at)
        _write_atomic(self.pending_path, pending.model_dump_json().encode("utf-8"))

    def clear_pending(self) -> None:
        self.pending_path.unlink(missing_ok=True)
        _fsync_dir(self.root)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry itself reaches the disk.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
