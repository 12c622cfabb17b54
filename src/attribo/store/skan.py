"""SKAdNetwork postbacks in DuckDB: one row per postback, and the verified-only summary.

A postback is identified by (app_id, transaction_id, postback_sequence_index): Apple
sends up to three postbacks per transaction, and networks retry forwards, so a repeat
is stored once. The app is part of the key so that one tenant's posts can neither
shadow nor reveal another's. A copy Apple's signature verifies replaces an unverified
one with the same key (otherwise a forged or mangled first copy would block the
genuine postback); an unverified copy never replaces anything.

Unverified rows are kept for inspection but every count here excludes them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import msgspec

SKAN_POSTBACKS_DDL = """
CREATE TABLE IF NOT EXISTS skan_postbacks (
    app_id VARCHAR NOT NULL,
    transaction_id VARCHAR NOT NULL,
    postback_sequence_index TINYINT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    verified BOOLEAN NOT NULL,
    version VARCHAR NOT NULL,
    apple_app_id BIGINT NOT NULL,
    window_start_day SMALLINT NOT NULL,
    window_end_day SMALLINT NOT NULL,
    did_win BOOLEAN NOT NULL,
    install BOOLEAN NOT NULL,
    redownload BOOLEAN NOT NULL,
    network_id VARCHAR NOT NULL,
    network VARCHAR NOT NULL,
    campaign VARCHAR,
    source_app_id BIGINT,
    source_domain VARCHAR,
    fidelity_type TINYINT,
    conversion_value TINYINT,
    coarse_conversion_value VARCHAR,
    revenue_min DOUBLE,
    revenue_max DOUBLE,
    events VARCHAR[] NOT NULL,
    raw JSON NOT NULL,
    PRIMARY KEY (app_id, transaction_id, postback_sequence_index)
)
"""

# Table column -> attribute of the record handed to `write_postback`.
_COLUMNS: dict[str, str] = {
    "app_id": "app_id",
    "transaction_id": "transaction_id",
    "postback_sequence_index": "sequence_index",
    "received_at": "received_at",
    "verified": "verified",
    "version": "version",
    "apple_app_id": "apple_app_id",
    "window_start_day": "window_start_day",
    "window_end_day": "window_end_day",
    "did_win": "did_win",
    "install": "install",
    "redownload": "redownload",
    "network_id": "network_id",
    "network": "network",
    "campaign": "campaign",
    "source_app_id": "source_app_id",
    "source_domain": "source_domain",
    "fidelity_type": "fidelity_type",
    "conversion_value": "conversion_value",
    "coarse_conversion_value": "coarse_conversion_value",
    "revenue_min": "revenue_min",
    "revenue_max": "revenue_max",
    "events": "events",
    "raw": "raw",
}
SKAN_COLUMNS = _COLUMNS  # for other backends' tables (ClickHouse)
_KEY = ("app_id", "transaction_id", "postback_sequence_index")
_UPDATED = [c for c in _COLUMNS if c not in _KEY]
_INSERT = (
    f"INSERT INTO skan_postbacks ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    + " WHERE excluded.verified AND NOT skan_postbacks.verified"
)


class PostbackRow(Protocol):
    """What the store needs of a decoded postback (`attribution.skan.PostbackRecord` fits)."""

    @property
    def app_id(self) -> str: ...
    @property
    def transaction_id(self) -> str: ...
    @property
    def sequence_index(self) -> int: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def verified(self) -> bool: ...
    @property
    def version(self) -> str: ...
    @property
    def apple_app_id(self) -> int: ...
    @property
    def window_start_day(self) -> int: ...
    @property
    def window_end_day(self) -> int: ...
    @property
    def did_win(self) -> bool: ...
    @property
    def install(self) -> bool: ...
    @property
    def redownload(self) -> bool: ...
    @property
    def network_id(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def campaign(self) -> str | None: ...
    @property
    def source_app_id(self) -> int | None: ...
    @property
    def source_domain(self) -> str | None: ...
    @property
    def fidelity_type(self) -> int | None: ...
    @property
    def conversion_value(self) -> int | None: ...
    @property
    def coarse_conversion_value(self) -> str | None: ...
    @property
    def revenue_min(self) -> float | None: ...
    @property
    def revenue_max(self) -> float | None: ...
    @property
    def events(self) -> list[str]: ...
    @property
    def raw(self) -> str: ...


class SkanGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Verified postbacks of one network and campaign."""

    network: str
    campaign: str | None
    postbacks: int
    installs: int
    redownloads: int
    non_winning: int
    revenue_min: float
    revenue_max: float


class SkanSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Verified SKAN results of an app over a received-at range; unverified counted apart.

    `installs` counts winning first postbacks (redownloads included, and also counted in
    `redownloads`); revenue sums the decoded ranges of every verified winning postback.
    """

    postbacks: int
    installs: int
    redownloads: int
    non_winning: int
    revenue_min: float
    revenue_max: float
    events: dict[str, int]
    by_network: list[SkanGroup]
    unverified: int


def create_skan_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the `skan_postbacks` table if it is not there yet."""
    conn.execute(SKAN_POSTBACKS_DDL)


def _utc(moment: datetime) -> datetime:
    """Refuse naive times: a naive bound would silently be read in the session's zone."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


def write_postback(conn: duckdb.DuckDBPyConnection, record: PostbackRow) -> bool:
    """Store a postback; True if it is new (or a verified copy replaced an unverified one)."""
    values: list[Any] = [getattr(record, attribute) for attribute in _COLUMNS.values()]
    values[list(_COLUMNS).index("received_at")] = _utc(record.received_at)
    row = conn.execute(_INSERT, values).fetchone()
    return bool(row and row[0])


class PostbackStore(Protocol):
    """Where postbacks are kept and summed (`DuckDBPostbackSink`, `ClickHouseSkanSink`)."""

    def write_postback(self, record: PostbackRow) -> bool:
        """Store `record`; True if it was not stored before."""
        ...

    def summary(
        self, app_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> SkanSummary:
        """Verified results of one app over a received-at range."""
        ...


class DuckDBPostbackSink:
    """A postback sink over one DuckDB connection, safe to call from several threads."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Create the table if needed; `conn` stays the caller's to close."""
        self._conn = conn
        self._lock = threading.Lock()
        create_skan_tables(conn)

    def write_postback(self, record: PostbackRow) -> bool:
        """Store `record`; True if it was not stored before."""
        with self._lock:
            return write_postback(self._conn, record)

    def summary(
        self, app_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> SkanSummary:
        """`skan_summary` over this sink's connection."""
        with self._lock:
            return skan_summary(self._conn, app_id, since, until)


def _range(app_id: str, since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    """The WHERE clause and parameters of one app's postbacks received in [since, until)."""
    clauses: list[str] = ["app_id = ?"]
    params: list[Any] = [app_id]
    if since is not None:
        clauses.append("received_at >= ?")
        params.append(_utc(since))
    if until is not None:
        clauses.append("received_at < ?")
        params.append(_utc(until))
    return " AND ".join(clauses), params


def read_postbacks(
    conn: duckdb.DuckDBPyConnection,
    app_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    verified: bool | None = None,
) -> list[dict[str, Any]]:
    """Stored postbacks of one app, oldest first, as column -> value (times in UTC)."""
    where, params = _range(app_id, since, until)
    if verified is not None:
        where += " AND verified = ?"
        params.append(verified)
    cursor = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM skan_postbacks WHERE {where} "
        "ORDER BY received_at, transaction_id, postback_sequence_index",
        params,
    )
    rows = [dict(zip(_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["received_at"] = row["received_at"].astimezone(UTC)
    return rows


def skan_summary(
    conn: duckdb.DuckDBPyConnection,
    app_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SkanSummary:
    """Installs, revenue ranges and events from verified postbacks only, by network/campaign."""
    where, params = _range(app_id, since, until)
    verified = f"{where} AND verified"
    rows = conn.execute(
        "SELECT network, campaign, count(*),"
        " count(*) FILTER (WHERE install),"
        " count(*) FILTER (WHERE install AND redownload),"
        " count(*) FILTER (WHERE NOT did_win),"
        " coalesce(sum(revenue_min), 0), coalesce(sum(revenue_max), 0)"
        f" FROM skan_postbacks WHERE {verified}"
        " GROUP BY network, campaign ORDER BY network, campaign NULLS FIRST",
        params,
    ).fetchall()
    groups = [
        SkanGroup(
            network=row[0],
            campaign=row[1],
            postbacks=int(row[2]),
            installs=int(row[3]),
            redownloads=int(row[4]),
            non_winning=int(row[5]),
            revenue_min=float(row[6]),
            revenue_max=float(row[7]),
        )
        for row in rows
    ]
    events = dict(
        conn.execute(
            "SELECT name, count(*) FROM ("
            f"  SELECT unnest(events) AS name FROM skan_postbacks WHERE {verified}"
            ") GROUP BY name ORDER BY name",
            params,
        ).fetchall()
    )
    unverified = conn.execute(
        f"SELECT count(*) FROM skan_postbacks WHERE {where} AND NOT verified", params
    ).fetchone()
    return SkanSummary(
        postbacks=sum(g.postbacks for g in groups),
        installs=sum(g.installs for g in groups),
        redownloads=sum(g.redownloads for g in groups),
        non_winning=sum(g.non_winning for g in groups),
        revenue_min=sum((g.revenue_min for g in groups), 0.0),
        revenue_max=sum((g.revenue_max for g in groups), 0.0),
        events={str(name): int(count) for name, count in events.items()},
        by_network=groups,
        unverified=int(unverified[0]) if unverified else 0,
    )
