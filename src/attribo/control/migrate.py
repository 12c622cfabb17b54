"""Run the packaged Alembic migrations from code, so no alembic.ini is needed at runtime.

To write a new migration during development (against a scratch database):

    from alembic import command
    from attribo.control.migrate import alembic_config
    command.revision(alembic_config("sqlite:///scratch.db"), "what changed", autogenerate=True)
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Arbitrary constant: the PostgreSQL advisory lock that serialises concurrent upgrades.
_PG_LOCK_ID = 0x61747472  # "attr"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    """Build an Alembic config pointing at the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def sqlite_setup(dbapi_conn: Any) -> None:
    """Busy wait, foreign keys and WAL on a new SQLite connection.

    Switching to WAL needs an exclusive lock and SQLite does not run the busy handler for it,
    so a connection racing another process's first migration retries until the switch (which is
    persistent in the file) has been made by someone.
    """
    dbapi_conn.execute("PRAGMA busy_timeout = 5000")
    dbapi_conn.execute("PRAGMA foreign_keys = ON")
    deadline = time.monotonic() + 5.0
    while dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _migration_engine(url: str) -> Engine:
    """Engine whose transactions take the write lock up front, so racing upgrades serialise."""
    engine = create_engine(url, poolclass=NullPool)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy, not pysqlite, emit BEGIN
            sqlite_setup(dbapi_conn)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock before reading

    return engine


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema, in one transaction; safe to repeat."""
    engine = _migration_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
            command.upgrade(alembic_config(url, conn), "head")
    finally:
        engine.dispose()
