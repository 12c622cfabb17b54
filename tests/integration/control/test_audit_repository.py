"""The audit log on SQLite and PostgreSQL: what is stored, ordering, filters, refusals."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from attribo.control import AuditInfo, ControlPlane
from attribo.control.migrate import alembic_config
from attribo.control.models import utcnow

if TYPE_CHECKING:
    from conftest import Backend


def test_record_stores_prefix_role_and_details_never_the_key(plane: ControlPlane) -> None:
    admin = plane.create_key("admin", None)
    plane.create_app("app", "App")
    before = utcnow()
    entry = plane.audit.record(
        "postback.create",
        actor_key=admin,
        actor_role="admin",
        app_id="app",
        target_id=17,
        details={"network": "facebook", "event": "install"},
    )
    assert entry == AuditInfo(
        id=entry.id,
        at=entry.at,
        actor_prefix=admin[:8],
        actor_role="admin",
        action="postback.create",
        app_id="app",
        target_id="17",
        details={"event": "install", "network": "facebook"},
    )
    assert entry.at.tzinfo is UTC and before <= entry.at <= utcnow()
    assert plane.audit.list() == [entry]


def test_cli_actions_have_no_actor(plane: ControlPlane) -> None:
    entry = plane.audit.record("app.create", actor_key=None, actor_role=None, app_id="a")
    assert (entry.actor_prefix, entry.actor_role, entry.details) == (None, None, {})


def test_list_is_newest_first_across_instances(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    key = first.create_key("admin", None)
    for i in range(3):
        plane = first if i % 2 == 0 else second
        plane.audit.record("link.create", actor_key=key, actor_role="admin", app_id="a",
                           target_id=f"l{i}")  # fmt: skip
    assert [e.target_id for e in second.audit.list()] == ["l2", "l1", "l0"]
    assert [e.target_id for e in first.audit.list(limit=2)] == ["l2", "l1"]


def test_filters_by_app_and_since(plane: ControlPlane) -> None:
    key = plane.create_key("admin", None)
    plane.audit.record("key.create", actor_key=key, actor_role="admin", app_id=None)
    a1 = plane.audit.record("app.create", actor_key=key, actor_role="admin", app_id="a")
    plane.audit.record("app.create", actor_key=key, actor_role="admin", app_id="b")
    time.sleep(0.01)  # a clear gap between the older entries and `since`
    since = utcnow()
    a2 = plane.audit.record("settings.update", actor_key=key, actor_role="admin", app_id="a")
    assert plane.audit.list(app_id="a") == [a2, a1]
    assert plane.audit.list(app_id="a", since=since) == [a2]
    assert [e.action for e in plane.audit.list(since=since)] == ["settings.update"]
    assert len(plane.audit.list()) == 4
    assert plane.audit.list(app_id="nope") == []
    assert plane.audit.list(since=utcnow() + timedelta(hours=1)) == []


def test_since_in_another_zone_is_the_same_instant(plane: ControlPlane) -> None:
    entry = plane.audit.record("app.create", actor_key=None, actor_role=None, app_id="a")
    plus_two = entry.at.astimezone(timezone(timedelta(hours=2)))
    assert plane.audit.list(since=plus_two - timedelta(seconds=1)) == [entry]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "create"}, "noun.verb"),
        ({"action": "App.Create"}, "noun.verb"),
        ({"actor_role": "root"}, "unknown role"),
        ({"app_id": ""}, "app_id"),
        ({"target_id": "x" * 129}, "target_id"),
        ({"details": {"key": "atb_" + "k" * 43}}, "plaintext API key"),
        ({"details": {"keys": [{"new": "atb_" + "k" * 43}]}}, "plaintext API key"),
    ],
)
def test_record_refuses_bad_input(plane: ControlPlane, kwargs: dict, message: str) -> None:
    args = {"action": "key.create", "actor_key": None, "actor_role": "admin", **kwargs}
    with pytest.raises(ValueError, match=message):
        plane.audit.record(**args)
    assert plane.audit.list() == []


def test_details_may_name_a_key_by_its_display_prefix(plane: ControlPlane) -> None:
    entry = plane.audit.record("key.revoke", actor_key=None, actor_role=None,
                               details={"prefix": "atb_abcd"})  # fmt: skip
    assert entry.details == {"prefix": "atb_abcd"}


def test_list_refuses_bad_arguments(plane: ControlPlane) -> None:
    with pytest.raises(ValueError, match="limit"):
        plane.audit.list(limit=0)
    with pytest.raises(ValueError, match="aware"):
        plane.audit.list(since=datetime(2026, 1, 1))


def test_migration_0003_downgrades_and_upgrades_again(backend: Backend) -> None:
    plane = backend.open()
    plane.audit.record("app.create", actor_key=None, actor_role=None, app_id="a")
    plane.close()
    command.downgrade(alembic_config(backend.url), "0002")
    engine = create_engine(backend.url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert "audit_log" not in inspect(conn).get_table_names()
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
    finally:
        engine.dispose()
    assert backend.open().audit.list() == []  # opening upgrades to head again
