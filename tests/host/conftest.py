"""Host test fixtures: a database of each kind (builders live in ``hostkit``).

``db_url`` runs a test on SQLite (always) and PostgreSQL (where reachable; CI always).
Migrating per test is the slow part, so each backend is migrated once per run: SQLite tests get
a copy of a migrated template file; PostgreSQL tests share one schema of their own (selected
through libpq's ``search_path`` option in the URL, dropped at the end, so parallel runs never
share tables) that is emptied between tests.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostkit import STAFF_SHA256
from sqlalchemy import text

from host.db import make_engine, migrate
from host.db.models import Base
from host.settings import HostSettings
from host.worker import HostWorker


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "host.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    migrate(url)
    try:
        yield url
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "host.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_schema_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def host(db_url: str) -> Iterator[HostWorker]:
    """A host with a migrated database and no broker: driven through ``apply_messages``."""
    settings = HostSettings(
        database_url=db_url, worker_id=f"t-{uuid.uuid4().hex[:8]}", staff_token_sha256=STAFF_SHA256
    )
    worker = HostWorker(settings)
    worker.prepare_database()
    yield worker
    worker.engine.dispose()


@pytest.fixture
def pg_url(postgres_schema_url: str) -> str:
    """The run's PostgreSQL schema, emptied: for tests that only make sense on PostgreSQL."""
    _empty_postgres(postgres_schema_url)
    return postgres_schema_url
