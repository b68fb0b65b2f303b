"""Host test fixtures: a database of each kind (builders live in ``hostkit``).

``db_url`` runs a test on SQLite (always) and PostgreSQL (where reachable; CI always). Each
PostgreSQL test gets its own schema (via libpq's ``search_path`` option in the URL), dropped
afterwards, so parallel runs never share tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from host.db import make_engine
from host.settings import HostSettings
from host.worker import HostWorker


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'host.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def host(db_url: str) -> Iterator[HostWorker]:
    """A host with a migrated database and no broker: driven through ``apply_messages``."""
    worker = HostWorker(HostSettings(database_url=db_url, worker_id=f"t-{uuid.uuid4().hex[:8]}"))
    worker.prepare_database()
    yield worker
    worker.engine.dispose()
