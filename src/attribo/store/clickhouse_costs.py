"""Daily ad spend in ClickHouse, with the embedded `CostSink`'s upsert semantics.

Rows go to `cost_versions` (ReplacingMergeTree keyed like the DuckDB table's primary key, the
newest `version` wins); the `costs` view reads it with FINAL, so the reports' SQL that joins
`costs` sees exactly one row per key, as on DuckDB.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from attribo.store.clickhouse import ClickHouseStore
from attribo.store.clickhouse_sql import bind
from attribo.store.costs import COLUMNS, KEY_COLUMNS, CostRow, cost_rows_table

_OPTIONAL_KEY = ("campaign", "adset", "ad", "country")
_TYPES = {
    "date": "Date32",
    "spend": "Float64",
    "spend_usd": "Float64",
    "impressions": "Nullable(Int64)",
    "clicks": "Nullable(Int64)",
}
_KEYS = ", ".join(f"`{c}`" for c in KEY_COLUMNS)
_COLUMNS = ", ".join(f"`{c}`" for c in COLUMNS)


class ClickHouseCostSink:
    """Cost rows in the store's database; safe to call from several threads."""

    def __init__(self, store: ClickHouseStore) -> None:
        """Create the table and the view if needed."""
        self._client = store.client
        self._db = store.database
        self._lock = threading.Lock()
        columns = ", ".join(f"`{c}` {_TYPES.get(c, 'String')}" for c in COLUMNS)
        layout = store.layout
        tables = layout.create_table(
            "cost_versions",
            f"{columns}, version UInt64",
            "ReplacingMergeTree",
            _KEYS,
            version="version",
        )
        for statement in tables:
            self._client.command(statement)
        self._client.command(
            layout.create_view("costs", f"SELECT {_COLUMNS} FROM {self._db}.cost_versions FINAL")
        )

    def upsert(self, rows: Sequence[CostRow]) -> tuple[int, int]:
        """Store `rows`; a row with a stored key replaces it: (inserted, replaced).

        Within one upload the last row of a key wins, as on DuckDB.
        """
        if not rows:
            return 0, 0
        table = cost_rows_table(rows)
        latest: dict[tuple[Any, ...], int] = {}
        keys = zip(*(table.column(c).to_pylist() for c in KEY_COLUMNS), strict=True)
        for index, key in enumerate(keys):
            latest[key] = index
        fresh = table.take(pa.array(sorted(latest.values()), pa.int64()))
        with self._lock:
            stored = self._client.query_arrow(
                f"SELECT count() AS n FROM {self._db}.costs"
                f" WHERE ({_KEYS}) IN (SELECT {_KEYS} FROM {{incoming}})",
                fresh.select(list(KEY_COLUMNS)),
            )
            existing = int(stored.column("n")[0].as_py())
            version = pa.array([time.time_ns()] * fresh.num_rows, pa.uint64())
            data = fresh.select(list(COLUMNS)).append_column("version", version)
            self._client.insert_arrow(f"{self._db}.cost_versions", data, uuid.uuid4().hex)
        inserted = len(latest) - existing
        return inserted, len(rows) - inserted

    def read(
        self, app_id: str, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """One app's rows with `date_from <= date <= date_to`, in key order."""
        clauses = ["app_id = ?"]
        params: list[object] = [app_id]
        if date_from is not None:
            clauses.append("`date` >= ?")
            params.append(date_from)
        if date_to is not None:
            clauses.append("`date` <= ?")
            params.append(date_to)
        table = self._client.query_arrow(
            bind(
                f"SELECT {_COLUMNS} FROM {self._db}.costs WHERE {' AND '.join(clauses)}"
                f" ORDER BY {_KEYS}",
                params,
            )
        )
        rows = table.to_pylist()
        for row in rows:
            for name in _OPTIONAL_KEY:
                row[name] = row[name] or None
        return rows
