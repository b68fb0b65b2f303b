"""Fault-test fixtures: a private PostgreSQL cluster (one per module, a fresh database per test),
a private Mosquitto per test (persistent, on a free port), and a keyring with every cart's key.

Nothing here touches the machine's shared Mosquitto or PostgreSQL: the tests restart and kill
what they own. Where the binaries are missing the tests skip with the reason (CI, with
SMARTCART_REQUIRE_SERVICES=1, fails instead).
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from host.loadgen.services import PrivateMosquitto, PrivatePostgres, free_port, plain_conf

# SMARTCART_FAULT_ROUNDS=N runs every fault test N times (the figures in docs/reliability.md).
ROUNDS = int(os.environ.get("SMARTCART_FAULT_ROUNDS", "1"))


@pytest.fixture(params=range(ROUNDS), autouse=True, ids=lambda r: f"round{r}")
def fault_round(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _need(binary: str, found: bool) -> None:
    if found:
        return
    if os.environ.get("SMARTCART_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{binary} is required here (SMARTCART_REQUIRE_SERVICES=1) but not installed")
    pytest.skip(f"{binary} is not installed")


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    _need("initdb", bool(glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")))
    with PrivatePostgres() as pg:
        yield pg


@pytest.fixture
def pg_url(private_pg: PrivatePostgres) -> str:
    """A fresh database in the private cluster (migrated by the host when it starts)."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(private_pg.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return private_pg.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    _need("mosquitto", bool(shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()))
    port = free_port()
    d = tmp_path / "mosquitto"
    d.mkdir()
    with PrivateMosquitto(d, plain_conf(d, port), port) as b:
        yield b


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    return tmp_path / "cart-keys.json"
