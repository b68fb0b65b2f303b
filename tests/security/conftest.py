"""Security test fixtures: a migrated host database (SQLite template, copied per test) and a
host whose keyring holds cart-0001's key."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.db import migrate
from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.contract.signing import Keyring, KeyringFile, Signer

CART = "cart-0001"


@pytest.fixture(scope="session")
def sec_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sec-template") / "host.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def cart_signer() -> Signer:
    return Signer.generate(CART)


@pytest.fixture
def keyring_path(tmp_path: Path, cart_signer: Signer) -> Path:
    path = tmp_path / "cart-keys.json"
    ring = Keyring()
    ring.enrol(CART, cart_signer.public)
    ring.save(path)
    return path


@pytest.fixture
def signed_host(
    tmp_path: Path, sec_sqlite_template: Path, keyring_path: Path
) -> Iterator[HostWorker]:
    """A host that verifies signatures, driven through ``apply_messages`` (no broker)."""
    db = tmp_path / "host.db"
    shutil.copyfile(sec_sqlite_template, db)
    settings = HostSettings(database_url=f"sqlite:///{db}", worker_id=f"t-{uuid.uuid4().hex[:8]}")
    worker = HostWorker(settings, keyring=KeyringFile(keyring_path))
    worker.prepare_database()
    yield worker
    worker.engine.dispose()
