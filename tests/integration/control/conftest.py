"""Control-plane fixtures: every test runs on a fresh SQLite file and, if reachable, PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from attribo.control import ControlPlane

# Server-level DSN (no database); the suite creates and drops its own database on it.
PG_SERVER = os.environ.get("ATTRIBO_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


@dataclass
class Backend:
    """One isolated control database, openable several times (like server + CLI processes)."""

    name: str
    url: str
    path: Path | None = None
    _opened: list[ControlPlane] = field(default_factory=list)

    def open(self) -> ControlPlane:
        """Open another ControlPlane on the same database; closed at teardown."""
        plane = ControlPlane.open(self.path) if self.path else ControlPlane.from_url(self.url)
        self._opened.append(plane)
        return plane

    def close_all(self) -> None:
        """Dispose every engine opened through this backend."""
        for plane in self._opened:
            plane.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """Create a throwaway PostgreSQL database for the session; None if no server answers."""
    try:
        import psycopg
    except ImportError:
        yield None
        return
    name = f"attribo_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        yield None
        return
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_schema_url(database_url: str) -> str:
    """Give the test its own schema in the session database, selected via search_path."""
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{database_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None
) -> Iterator[Backend]:
    """A fresh, empty control database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "control.db"  # parent does not exist yet: open creates it
        b = Backend("sqlite", f"sqlite:///{path}", path)
    else:
        if pg_database is None:
            reason = f"PostgreSQL not reachable at {PG_SERVER} (or psycopg not installed)"
            if os.environ.get("CI") == "true":  # .ci/run starts the server: absence is a failure
                pytest.fail(reason)
            pytest.skip(reason)
        b = Backend("postgresql", _pg_schema_url(pg_database))
    try:
        yield b
    finally:
        b.close_all()


@pytest.fixture
def plane(backend: Backend) -> ControlPlane:
    """A ControlPlane on a fresh database."""
    return backend.open()
