"""`ControlPlane`: the single entry point to apps, API keys, links, postbacks and the audit log."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from attribo.control import migrate
from attribo.control.audit import AuditRepository
from attribo.control.errors import AppExists, UnknownApp
from attribo.control.keys import ROLES, display_prefix, hash_key, new_key
from attribo.control.models import ApiKey, App, Link, utcnow
from attribo.control.postbacks import PostbackRepository

STORE_KEYS = ("ios", "android")
# How long a resolved key is trusted without asking the database again: the longest a key
# revoked in one process keeps working in another (a hit saves a query per request).
KEY_CACHE_S = 30.0
APP_ID_MAX = 64
_LINK_ID_BYTES = 7  # token_urlsafe(7) is 10 characters, 56 random bits
_LINK_ID_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class CreatedApp:
    """What `create_app` hands back once: the ingest key is not recoverable later."""

    app_id: str
    ingest_key: str
    signing_secret: str


@dataclass(frozen=True, slots=True)
class AppInfo:
    """An app as the rest of attribo sees it, detached from the database."""

    app_id: str
    name: str
    store_urls: dict[str, str]
    signing_secret: str
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What an API key grants: a role, scoped to one app or (admin only) to all (None)."""

    role: str
    app_id: str | None


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """A tracking link, detached from the database; links never change, so it is cacheable."""

    link_id: str
    app_id: str
    network: str
    campaign: str | None
    adset: str | None
    ad: str | None
    retargeting: bool
    deep_link: str | None
    created_at: datetime


def _sqlite_engine(path: Path) -> Engine:
    """Engine for the embedded profile: WAL so readers never block the writer, 5 s busy wait."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        migrate.sqlite_setup(dbapi_conn)

    return engine


def _app_info(app: App) -> AppInfo:
    """Convert an ORM row into the public, immutable view."""
    urls = {"ios": app.store_url_ios, "android": app.store_url_android}
    return AppInfo(
        app_id=app.app_id,
        name=app.name,
        store_urls={k: v for k, v in urls.items() if v is not None},
        signing_secret=app.signing_secret,
        settings=json.loads(app.settings),
    )


def _link_info(link: Link) -> LinkInfo:
    """Convert an ORM row into the public, immutable view."""
    return LinkInfo(
        link_id=link.link_id,
        app_id=link.app_id,
        network=link.network,
        campaign=link.campaign,
        adset=link.adset,
        ad=link.ad,
        retargeting=link.retargeting,
        deep_link=link.deep_link,
        created_at=link.created_at,
    )


def _check_app_id(app_id: str) -> None:
    """Reject ids the schema would refuse, with a message people can act on."""
    if not 1 <= len(app_id) <= APP_ID_MAX:
        raise ValueError(f"app_id must be 1-{APP_ID_MAX} characters, got {len(app_id)}")


def _check_store_urls(store_urls: Mapping[str, str] | None) -> dict[str, str]:
    """Accept only the store keys the schema has columns for."""
    urls = dict(store_urls or {})
    unknown = set(urls) - set(STORE_KEYS)
    if unknown:
        raise ValueError(f"unknown store(s) {sorted(unknown)}; expected {list(STORE_KEYS)}")
    return urls


class ControlPlane:
    """Apps, API keys and tracking links; safe to share between threads (a session per call)."""

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine whose database is already migrated; prefer `open` or `from_url`."""
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._lock = threading.Lock()
        # Resolved keys with when they were looked up: another process (the cluster's API) may
        # revoke one, so a hit is trusted for `key_cache_s` only.
        self._keys: dict[str, tuple[KeyInfo, float]] = {}
        self.key_cache_s = KEY_CACHE_S
        self._links: dict[str, LinkInfo] = {}
        self._revocations = 0  # bumped by revoke_key so in-flight lookups do not re-cache
        self.postbacks = PostbackRepository(self._sessions)
        self.audit = AuditRepository(self._sessions)

    @classmethod
    def open(cls, path: Path) -> ControlPlane:
        """Open (creating and migrating as needed) the embedded SQLite control database."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(f"sqlite:///{path}")
        return cls(_sqlite_engine(path))

    @classmethod
    def from_url(cls, url: str) -> ControlPlane:
        """Open a control database by SQLAlchemy URL (the cluster profile's PostgreSQL)."""
        migrate.upgrade(url)
        return cls(create_engine(url, pool_pre_ping=True))

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def _session(self) -> Session:
        """A fresh session; callers use it for exactly one operation."""
        return self._sessions()

    # Apps

    def create_app(
        self, app_id: str, name: str, store_urls: dict[str, str] | None = None
    ) -> CreatedApp:
        """Register an app with a fresh signing secret and an ingest key scoped to it."""
        _check_app_id(app_id)
        urls = _check_store_urls(store_urls)
        secret = secrets.token_hex(32)
        key = new_key()
        try:
            with self._session() as session, session.begin():
                if session.get(App, app_id) is not None:
                    raise AppExists(app_id)
                session.add(
                    App(
                        app_id=app_id,
                        name=name,
                        store_url_ios=urls.get("ios"),
                        store_url_android=urls.get("android"),
                        signing_secret=secret,
                    )
                )
                session.flush()  # the app row must exist before a key references it
                session.add(_key_row(key, "ingest", app_id))
        except IntegrityError as exc:  # lost a race with another creator of the same id
            raise AppExists(app_id) from exc
        return CreatedApp(app_id=app_id, ingest_key=key, signing_secret=secret)

    def get_app(self, app_id: str) -> AppInfo | None:
        """Return the app, or None if there is no such app."""
        with self._session() as session:
            app = session.get(App, app_id)
            return None if app is None else _app_info(app)

    def set_app_settings(self, app_id: str, settings: Mapping[str, Any]) -> AppInfo:
        """Replace the app's settings JSON (windows, rules, postback options)."""
        encoded = json.dumps(dict(settings), sort_keys=True)
        with self._session() as session, session.begin():
            app = session.get(App, app_id)
            if app is None:
                raise UnknownApp(app_id)
            app.settings = encoded
            return _app_info(app)

    def list_apps(self) -> list[AppInfo]:
        """Return every app, ordered by id."""
        with self._session() as session:
            rows = session.scalars(select(App).order_by(App.app_id))
            return [_app_info(app) for app in rows]

    # API keys

    def create_key(self, role: str, app_id: str | None = None) -> str:
        """Create an API key and return it in plaintext; only its hash is kept."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLES)}")
        if app_id is None and role != "admin":
            raise ValueError(f"{role} keys must be scoped to an app: pass app_id")
        key = new_key()
        with self._session() as session, session.begin():
            if app_id is not None and session.get(App, app_id) is None:
                raise UnknownApp(app_id)
            session.add(_key_row(key, role, app_id))
        return key

    def resolve_key(self, key: str) -> KeyInfo | None:
        """Return what `key` grants, or None if it is unknown or revoked; hits are cached."""
        digest = hash_key(key)
        cached = self._keys.get(digest)
        if cached is not None and time.monotonic() - cached[1] < self.key_cache_s:
            return cached[0]
        with self._lock:
            generation = self._revocations
        with self._session() as session:
            row = session.execute(
                select(ApiKey.role, ApiKey.app_id).where(
                    ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
                )
            ).one_or_none()
        if row is None:
            return None
        info = KeyInfo(role=row.role, app_id=row.app_id)
        with self._lock:
            if generation == self._revocations:  # no revocation raced with this lookup
                self._keys[digest] = (info, time.monotonic())
        return info

    def revoke_key(self, key: str) -> bool:
        """Revoke `key`; True if it was live, False if unknown or already revoked."""
        digest = hash_key(key)
        with self._session() as session, session.begin():
            result = session.execute(
                update(ApiKey)
                .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            revoked = result.rowcount > 0  # type: ignore[attr-defined]
        with self._lock:
            self._revocations += 1
            self._keys.pop(digest, None)
        return revoked

    # Links

    def create_link(
        self,
        app_id: str,
        network: str,
        campaign: str | None = None,
        adset: str | None = None,
        ad: str | None = None,
        retargeting: bool = False,
        deep_link: str | None = None,
    ) -> LinkInfo:
        """Create a tracking link with a short random id for an existing app."""
        if not network:
            raise ValueError("network is required")
        for _ in range(_LINK_ID_ATTEMPTS):
            link = Link(
                link_id=secrets.token_urlsafe(_LINK_ID_BYTES),
                app_id=app_id,
                network=network,
                campaign=campaign,
                adset=adset,
                ad=ad,
                retargeting=retargeting,
                deep_link=deep_link,
            )
            try:
                with self._session() as session, session.begin():
                    if session.get(App, app_id) is None:
                        raise UnknownApp(app_id)
                    session.add(link)
            except IntegrityError:
                continue  # link id collision (2**-56 per pair): draw again
            info = _link_info(link)
            self._links[info.link_id] = info
            return info
        raise RuntimeError("could not draw an unused link id")  # pragma: no cover

    def get_link(self, link_id: str) -> LinkInfo | None:
        """Return the link, or None if unknown; links are immutable, so hits are cached."""
        cached = self._links.get(link_id)
        if cached is not None:
            return cached
        with self._session() as session:
            link = session.get(Link, link_id)
            if link is None:
                return None
            info = _link_info(link)
        self._links[link_id] = info
        return info

    def deep_link(self, link_id: str) -> str | None:
        """The deep link of a tracking link, if it has one (what an install answer carries)."""
        link = self.get_link(link_id)
        return link.deep_link if link is not None else None


def _key_row(key: str, role: str, app_id: str | None) -> ApiKey:
    """Build the stored form of a key: its hash and a short display prefix, never the key."""
    return ApiKey(key_hash=hash_key(key), prefix=display_prefix(key), role=role, app_id=app_id)
