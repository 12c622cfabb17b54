"""SKAdNetwork postbacks in ClickHouse, with the embedded sink's rules.

One row per (app_id, transaction_id, postback_sequence_index): a repeat is not stored again,
a verified copy replaces an unverified one and an unverified copy never replaces anything
(see `store.skan`). Rows go to a ReplacingMergeTree whose version is 2 for verified and 1 for
unverified copies; a copy is inserted only when it would win, so FINAL reads the right row.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from attribo.store.clickhouse import ClickHouseStore
from attribo.store.clickhouse_sql import bind
from attribo.store.skan import SKAN_COLUMNS, PostbackRow, SkanGroup, SkanSummary

_TYPES = {
    "postback_sequence_index": ("Int8", pa.int8()),
    "received_at": ("DateTime64(6, 'UTC')", pa.timestamp("us", tz="UTC")),
    "verified": ("Bool", pa.bool_()),
    "apple_app_id": ("Int64", pa.int64()),
    "window_start_day": ("Int16", pa.int16()),
    "window_end_day": ("Int16", pa.int16()),
    "did_win": ("Bool", pa.bool_()),
    "install": ("Bool", pa.bool_()),
    "redownload": ("Bool", pa.bool_()),
    "campaign": ("Nullable(String)", pa.string()),
    "source_app_id": ("Nullable(Int64)", pa.int64()),
    "source_domain": ("Nullable(String)", pa.string()),
    "fidelity_type": ("Nullable(Int8)", pa.int8()),
    "conversion_value": ("Nullable(Int8)", pa.int8()),
    "coarse_conversion_value": ("Nullable(String)", pa.string()),
    "revenue_min": ("Nullable(Float64)", pa.float64()),
    "revenue_max": ("Nullable(Float64)", pa.float64()),
    "events": ("Array(String)", pa.list_(pa.string())),
}
_KEY = "app_id, transaction_id, postback_sequence_index"


def _type(column: str) -> tuple[str, pa.DataType]:
    return _TYPES.get(column, ("String", pa.string()))


class ClickHouseSkanSink:
    """Postbacks in the store's database; safe to call from several threads."""

    def __init__(self, store: ClickHouseStore) -> None:
        """Create the table if needed."""
        self._client = store.client
        self._table = f"{store.database}.skan_postbacks"
        self._lock = threading.Lock()
        columns = ", ".join(f"`{c}` {_type(c)[0]}" for c in SKAN_COLUMNS)
        tables = store.layout.create_table(
            "skan_postbacks", f"{columns}, rank UInt8", "ReplacingMergeTree", _KEY, version="rank"
        )
        for statement in tables:
            self._client.command(statement)

    def write_postback(self, record: PostbackRow) -> bool:
        """Store `record`; True if it is new (or a verified copy replaced an unverified one)."""
        values = {column: getattr(record, attribute) for column, attribute in SKAN_COLUMNS.items()}
        if values["received_at"].tzinfo is None:
            raise ValueError("times must be timezone-aware (UTC)")
        values["received_at"] = values["received_at"].astimezone(UTC)
        with self._lock:
            stored = self._client.query_arrow(
                bind(
                    f"SELECT max(verified) AS v, count() AS n FROM {self._table} FINAL"
                    " WHERE app_id = ? AND transaction_id = ? AND postback_sequence_index = ?",
                    [values["app_id"], values["transaction_id"], values["postback_sequence_index"]],
                )
            ).to_pylist()[0]
            if stored["n"] and (stored["v"] or not values["verified"]):
                return False
            columns = {c: pa.array([values[c]], _type(c)[1]) for c in SKAN_COLUMNS}
            columns["rank"] = pa.array([2 if values["verified"] else 1], pa.uint8())
            self._client.insert_arrow(self._table, pa.table(columns), uuid.uuid4().hex)
        return True

    def summary(
        self, app_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> SkanSummary:
        """Installs, revenue ranges and events from verified postbacks, by network/campaign."""
        clauses: list[str] = ["app_id = ?"]
        params: list[Any] = [app_id]
        for bound, op in ((since, ">="), (until, "<")):
            if bound is not None:
                if bound.tzinfo is None:
                    raise ValueError("times must be timezone-aware (UTC)")
                clauses.append(f"received_at {op} ?")
                params.append(bound)
        where = " AND ".join(clauses)
        rows = self._rows(
            "SELECT network, campaign, count() AS p, countIf(install) AS i,"
            " countIf(install AND redownload) AS r, countIf(NOT did_win) AS nw,"
            " coalesce(sum(revenue_min), 0) AS lo, coalesce(sum(revenue_max), 0) AS hi"
            f" FROM {self._table} FINAL WHERE {where} AND verified"
            " GROUP BY network, campaign ORDER BY network, campaign NULLS FIRST",
            params,
        )
        groups = [
            SkanGroup(
                network=row["network"],
                campaign=row["campaign"],
                postbacks=int(row["p"]),
                installs=int(row["i"]),
                redownloads=int(row["r"]),
                non_winning=int(row["nw"]),
                revenue_min=float(row["lo"]),
                revenue_max=float(row["hi"]),
            )
            for row in rows
        ]
        events = self._rows(
            f"SELECT arrayJoin(events) AS name, count() AS n FROM {self._table} FINAL"
            f" WHERE {where} AND verified GROUP BY name ORDER BY name",
            params,
        )
        unverified = self._rows(
            f"SELECT count() AS n FROM {self._table} FINAL WHERE {where} AND NOT verified",
            params,
        )
        return SkanSummary(
            postbacks=sum(g.postbacks for g in groups),
            installs=sum(g.installs for g in groups),
            redownloads=sum(g.redownloads for g in groups),
            non_winning=sum(g.non_winning for g in groups),
            revenue_min=sum((g.revenue_min for g in groups), 0.0),
            revenue_max=sum((g.revenue_max for g in groups), 0.0),
            events={str(r["name"]): int(r["n"]) for r in events},
            by_network=groups,
            unverified=int(unverified[0]["n"]),
        )

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self._lock:
            return self._client.query_arrow(bind(sql, params)).to_pylist()
