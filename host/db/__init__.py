"""The host's database: engine construction and migrations.

``migrate(url)`` upgrades a database to the newest Alembic revision, programmatically (the
Alembic environment ships inside this package, so no alembic.ini is needed). The same
migrations run on SQLite (the default, one file) and PostgreSQL (production, by URL).

On PostgreSQL ``migrate`` holds an advisory lock (``migration_lock``), so several workers may
start on an empty database at once.

``make_engine(url)`` sets what each backend needs for this workload: SQLite gets WAL, a busy
timeout and enforced foreign keys (the worker thread and the API write the same file).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; issue it ourselves so a
        # read-then-write transaction takes the write lock up front (no upgrade deadlocks).
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we send BEGIN ourselves (see make_engine)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


# Any fixed 64-bit key; it only has to be the same in every host process.
MIGRATION_LOCK_KEY = 0x736D617274636172  # "smartcar"


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for schema changes; a no-op elsewhere.

    Two workers starting on an empty database both create ``alembic_version`` and the tables
    and one fails on a duplicate. Under this lock the second waits, then finds the schema at
    head and does nothing. SQLite's single writer needs no such lock.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        # Session-level, on a connection of its own: it spans Alembic's transactions.
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()


def migrate(url_or_engine: str | Engine, revision: str = "head", *, lock: bool = True) -> None:
    """Upgrade the database to ``revision`` (default: the newest).

    ``lock=False`` when the caller already holds ``migration_lock`` (a second connection
    asking for it would wait on the first forever).
    """
    from alembic import command

    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with migration_lock(engine) if lock else nullcontext():
            command.upgrade(alembic_config(engine), revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
