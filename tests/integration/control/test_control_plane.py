"""Control plane against real databases: SQLite files, and PostgreSQL when reachable."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from attribo.control import (
    AppExists,
    AppInfo,
    ControlPlane,
    KeyInfo,
    LinkInfo,
    UnknownApp,
)
from attribo.control.models import Base

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages, so no runtime import
    from conftest import Backend

TABLES = {
    "apps",
    "api_keys",
    "links",
    "postback_templates",
    "postback_deliveries",
    "audit_log",
    "alembic_version",
}


@contextmanager
def connect(backend: Backend) -> Iterator[Connection]:
    """A raw connection to the backend's database, outside any ControlPlane."""
    engine = create_engine(backend.url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def diff(conn: Connection) -> list[object]:
    """Differences between the ORM models and the database schema, per Alembic autogenerate."""
    ctx = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True}
    )
    return compare_metadata(ctx, Base.metadata)


def test_migration_creates_all_tables(backend: Backend) -> None:
    backend.open()
    with connect(backend) as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"


def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "still" / "control.db"
    ControlPlane.open(path).close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_models_and_migrations_do_not_drift(backend: Backend) -> None:
    backend.open()
    with connect(backend) as conn:
        assert diff(conn) == []
        # The comparison is not vacuous: damage the schema and it notices.
        conn.execute(text("DROP INDEX ix_links_app_id"))
        conn.commit()
        assert [d[0] for d in diff(conn)] == ["add_index"]  # type: ignore[index]


def test_create_app_and_resolve_its_ingest_key(plane: ControlPlane) -> None:
    urls = {"ios": "https://apps.apple.com/app/id1", "android": "https://play.google.com/x"}
    created = plane.create_app("com.example.game", "Example Game", urls)
    assert created.app_id == "com.example.game"
    assert created.ingest_key.startswith("atb_")
    assert re.fullmatch(r"[0-9a-f]{64}", created.signing_secret)
    assert plane.resolve_key(created.ingest_key) == KeyInfo("ingest", "com.example.game")
    assert plane.resolve_key(created.ingest_key) == KeyInfo("ingest", "com.example.game")  # cached
    assert plane.get_app("com.example.game") == AppInfo(
        app_id="com.example.game",
        name="Example Game",
        store_urls=urls,
        signing_secret=created.signing_secret,
        settings={},
    )


def test_store_urls_only_lists_present_stores(plane: ControlPlane) -> None:
    plane.create_app("a", "A", {"android": "https://play.google.com/a"})
    plane.create_app("b", "B", None)
    assert plane.get_app("a").store_urls == {"android": "https://play.google.com/a"}  # type: ignore[union-attr]
    assert plane.get_app("b").store_urls == {}  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown store"):
        plane.create_app("c", "C", {"windows": "https://example.com"})


def test_unknown_app_is_none(plane: ControlPlane) -> None:
    assert plane.get_app("nope") is None


def test_unknown_and_revoked_keys_resolve_to_none(plane: ControlPlane) -> None:
    created = plane.create_app("app", "App", None)
    assert plane.resolve_key("atb_not-a-real-key") is None
    assert plane.resolve_key("") is None
    assert plane.resolve_key(created.ingest_key) is not None  # now cached
    assert plane.revoke_key(created.ingest_key) is True
    assert plane.resolve_key(created.ingest_key) is None
    assert plane.revoke_key(created.ingest_key) is False
    assert plane.revoke_key("atb_not-a-real-key") is False


def test_revocation_through_one_instance_is_seen_by_a_fresh_one(backend: Backend) -> None:
    first = backend.open()
    key = first.create_key("admin", None)
    assert first.revoke_key(key)
    assert backend.open().resolve_key(key) is None


def test_a_key_revoked_by_another_process_stops_working_once_its_cache_expires(
    backend: Backend,
) -> None:
    collector, api = backend.open(), backend.open()  # two processes of one deployment
    key = api.create_key("admin", None)
    collector.key_cache_s = 0.2
    assert collector.resolve_key(key) is not None  # cached from now on
    assert api.revoke_key(key)
    assert collector.resolve_key(key) is not None  # still trusted from the cache
    time.sleep(0.25)
    assert collector.resolve_key(key) is None  # asked the database again


def test_key_created_by_another_instance_is_seen(backend: Backend) -> None:
    server = backend.open()
    server.create_app("app", "App", None)
    cli = backend.open()
    key = cli.create_key("analyst", "app")
    assert server.resolve_key(key) == KeyInfo("analyst", "app")


def test_key_must_be_miss_before_it_exists(backend: Backend) -> None:
    server = backend.open()
    cli = backend.open()
    cli.create_app("app", "App", None)
    key_before = "atb_" + "x" * 43
    assert server.resolve_key(key_before) is None  # misses are not cached...
    key = cli.create_key("ingest", "app")
    assert server.resolve_key(key) == KeyInfo("ingest", "app")  # ...so new keys show up at once


@pytest.mark.parametrize("role", ["ingest", "analyst"])
def test_app_scoped_roles_require_an_app(plane: ControlPlane, role: str) -> None:
    with pytest.raises(ValueError, match="must be scoped to an app"):
        plane.create_key(role, None)


def test_key_validation(plane: ControlPlane) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        plane.create_key("root", None)
    with pytest.raises(UnknownApp):
        plane.create_key("ingest", "missing")
    admin = plane.create_key("admin", None)
    assert plane.resolve_key(admin) == KeyInfo("admin", None)
    plane.create_app("app", "App", None)
    scoped_admin = plane.create_key("admin", "app")
    assert plane.resolve_key(scoped_admin) == KeyInfo("admin", "app")


def test_duplicate_app_raises(plane: ControlPlane) -> None:
    first = plane.create_app("app", "App", None)
    with pytest.raises(AppExists):
        plane.create_app("app", "Other", None)
    assert plane.get_app("app").signing_secret == first.signing_secret  # type: ignore[union-attr]


@pytest.mark.parametrize("app_id", ["", "x" * 65])
def test_app_id_length_is_checked(plane: ControlPlane, app_id: str) -> None:
    with pytest.raises(ValueError, match="1-64 characters"):
        plane.create_app(app_id, "App", None)


def test_links_round_trip(backend: Backend) -> None:
    plane = backend.open()
    plane.create_app("app", "App", None)
    full = plane.create_link(
        "app",
        "facebook",
        campaign="summer",
        adset="uk-18-24",
        ad="video-1",
        retargeting=True,
        deep_link="game://level/3",
    )
    bare = plane.create_link("app", "google")
    assert re.fullmatch(r"[A-Za-z0-9_-]{10}", full.link_id)
    assert full.link_id != bare.link_id
    assert full.created_at.tzinfo is UTC
    assert bare == LinkInfo(bare.link_id, "app", "google", None, None, None, False, None,
                            bare.created_at)  # fmt: skip
    fresh = backend.open()
    assert fresh.get_link(full.link_id) == full
    assert fresh.get_link(bare.link_id) == bare
    assert fresh.get_link(full.link_id) is fresh.get_link(full.link_id)  # cached
    assert fresh.get_link("nope") is None


def test_link_validation(plane: ControlPlane) -> None:
    with pytest.raises(UnknownApp):
        plane.create_link("missing", "facebook")
    plane.create_app("app", "App", None)
    with pytest.raises(ValueError, match="network"):
        plane.create_link("app", "")


def test_list_apps(plane: ControlPlane) -> None:
    assert plane.list_apps() == []
    plane.create_app("b", "B", None)
    plane.create_app("a", "A", None)
    assert [app.app_id for app in plane.list_apps()] == ["a", "b"]


def test_reopening_keeps_data(backend: Backend) -> None:
    plane = backend.open()
    created = plane.create_app("app", "App", {"ios": "https://apps.apple.com/app/id1"})
    link = plane.create_link("app", "tiktok")
    before = plane.get_app("app")
    plane.close()
    again = backend.open()  # runs `upgrade head` again: must be a no-op
    assert again.get_app("app") == before
    assert again.resolve_key(created.ingest_key) == KeyInfo("ingest", "app")
    assert again.get_link(link.link_id) == link
    with connect(backend) as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_concurrent_first_opens_migrate_once(backend: Backend) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            backend.open()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with connect(backend) as conn:
        assert diff(conn) == []


def test_resolve_key_from_many_threads(plane: ControlPlane) -> None:
    created = plane.create_app("app", "App", None)
    results: list[KeyInfo | None] = []

    def worker() -> None:
        for _ in range(50):
            results.append(plane.resolve_key(created.ingest_key))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [KeyInfo("ingest", "app")] * 400
