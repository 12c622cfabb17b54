"""Postback templates and the delivery log on SQLite and PostgreSQL: dedup, claims, leases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

import pytest

from attribo.control import ControlPlane, NewDelivery, UnknownApp
from attribo.control.models import utcnow

if TYPE_CHECKING:
    from conftest import Backend


def delivery(template_id: int, event_id: str) -> NewDelivery:
    """A rendered delivery for `event_id`."""
    return NewDelivery("app", template_id, event_id, f"{template_id}:{event_id}", "GET",
                       f"https://n.example/pb?e={event_id}", None)  # fmt: skip


@pytest.fixture
def plane_with_app(plane: ControlPlane) -> ControlPlane:
    """A control plane with app `app`."""
    plane.create_app("app", "App")
    return plane


def test_app_settings_round_trip(plane_with_app: ControlPlane) -> None:
    plane = plane_with_app
    info = plane.set_app_settings("app", {"allow_private_postbacks": True, "click_window_h": 168})
    assert info.settings == {"allow_private_postbacks": True, "click_window_h": 168}
    assert plane.get_app("app").settings == info.settings  # type: ignore[union-attr]
    with pytest.raises(UnknownApp):
        plane.set_app_settings("nope", {})


def test_templates_round_trip_and_soft_delete(plane_with_app: ControlPlane) -> None:
    repo = plane_with_app.postbacks
    a = repo.create_template("app", "facebook", "install", "https://n.example/{click_id}")
    b = repo.create_template("app", "facebook", "purchase", "https://n.example/p", "POST", "x=1")
    off = repo.create_template("app", "facebook", "install", "https://n.example/o", enabled=False)
    assert a.created_at.tzinfo is UTC
    assert (b.method, b.body, off.enabled) == ("POST", "x=1", False)
    assert repo.list_templates("app") == [a, b, off]
    assert repo.matching_templates("app", "facebook", "install") == [a]
    assert repo.matching_templates("app", "google", "install") == []
    assert repo.get_template(a.id) == a
    assert repo.delete_template(a.id) is True
    assert repo.delete_template(a.id) is False
    assert repo.get_template(a.id) is None
    assert repo.list_templates("app") == [b, off]
    with pytest.raises(UnknownApp):
        repo.create_template("nope", "facebook", "install", "https://n.example/")
    with pytest.raises(ValueError, match="method"):
        repo.create_template("app", "facebook", "install", "https://n.example/", "PUT")


def test_enqueue_is_idempotent_across_instances(backend: Backend) -> None:
    first = backend.open()
    first.create_app("app", "App")
    t = first.postbacks.create_template("app", "fb", "install", "https://n.example/")
    assert len(first.postbacks.enqueue([delivery(t.id, "e1"), delivery(t.id, "e2")])) == 2
    second = backend.open()
    assert second.postbacks.enqueue([delivery(t.id, "e1")]) == []
    with ThreadPoolExecutor(8) as pool:  # racing submits of one new event: exactly one row
        results = list(
            pool.map(lambda _: second.postbacks.enqueue([delivery(t.id, "e3")]), range(8))
        )
    assert sum(len(r) for r in results) == 1
    rows = first.postbacks.list_deliveries("app")
    assert [r.event_id for r in rows] == ["e3", "e2", "e1"]  # newest first
    assert all(r.status == "pending" and r.attempts == 0 for r in rows)


def test_claims_are_exclusive_and_leases_expire(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    a.create_app("app", "App")
    t = a.postbacks.create_template("app", "fb", "install", "https://n.example/")
    a.postbacks.enqueue([delivery(t.id, f"e{i}") for i in range(20)])
    now = utcnow() + timedelta(seconds=1)
    lease = now + timedelta(seconds=60)
    with ThreadPoolExecutor(2) as pool:
        got_a, got_b = pool.map(lambda p: p.postbacks.claim_due(now, lease, 20), (a, b))
    ids = [d.id for d in got_a] + [d.id for d in got_b]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 20
    assert all(d.attempts == 1 for d in got_a + got_b)
    assert a.postbacks.claim_due(now, lease, 20) == []  # all leased
    assert a.postbacks.next_due_at() == lease
    later = lease + timedelta(seconds=1)  # a crashed claimer's lease has run out
    assert len(b.postbacks.claim_due(later, later + timedelta(seconds=60), 5)) == 5


def test_outcomes_release_and_cancel(plane_with_app: ControlPlane) -> None:
    repo = plane_with_app.postbacks
    t = repo.create_template("app", "fb", "install", "https://n.example/")
    repo.enqueue([delivery(t.id, e) for e in ("ok", "retry", "drop", "cancel")])
    now = utcnow() + timedelta(seconds=1)
    claimed = {d.event_id: d for d in repo.claim_due(now, now + timedelta(seconds=30), 10)}
    retry_at = now + timedelta(seconds=5)
    assert repo.record_attempt(claimed["ok"].id, 1, "delivered", 200, None, None)
    assert not repo.record_attempt(claimed["ok"].id, 1, "failed", 500, "late", None)  # lost claim
    assert repo.record_attempt(claimed["retry"].id, 1, "pending", 503, "HTTP 503", retry_at)
    repo.release(claimed["drop"].id, 1)
    rows = {d.event_id: d for d in repo.list_deliveries("app")}
    assert (rows["ok"].status, rows["ok"].last_http_status, rows["ok"].next_attempt_at) == (
        "delivered", 200, None
    )  # fmt: skip
    assert (rows["retry"].status, rows["retry"].next_attempt_at) == ("pending", retry_at)
    assert (rows["drop"].attempts, rows["drop"].status) == (0, "pending")
    assert [d.event_id for d in repo.list_deliveries("app", "delivered")] == ["ok"]
    assert repo.delete_template(t.id)
    statuses = {d.event_id: d.status for d in repo.list_deliveries("app")}
    assert statuses == {"ok": "delivered", "retry": "cancelled", "drop": "cancelled",
                        "cancel": "cancelled"}  # fmt: skip
    assert repo.next_due_at() is None
    with pytest.raises(ValueError, match="status"):
        repo.record_attempt(claimed["ok"].id, 1, "lost", None, None, None)
