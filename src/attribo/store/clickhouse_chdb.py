"""chDB: the ClickHouse engine as a library, the in-process client of `ClickHouseStore`.

chDB allows one store path per process, so a process opens one `ChdbClient` per path and
shares it; calls are serialised because a chDB session is not safe to use from two threads.
Arrow tables reach SQL through chDB's `Python(name)` table function, which looks the name up
among the caller's local variables: hence the fixed local name `incoming`.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa

from attribo.store.clickhouse_sql import DUCKDB_COMPAT_SETTINGS

try:
    from chdb import session as chdb_session
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the chDB store needs chdb: pip install 'attribo[cluster]'") from exc


class ChdbClient:
    """One chDB session on a directory."""

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the engine's data directory."""
        Path(path).mkdir(parents=True, exist_ok=True)
        self._session = chdb_session.Session(str(path))
        self._lock = threading.Lock()
        for name, value in DUCKDB_COMPAT_SETTINGS.items():
            self._session.query(f"SET {name} = {value}")

    def command(self, sql: str) -> None:
        """Run a statement that returns nothing."""
        with self._lock:
            self._session.query(sql)

    def query_arrow(self, sql: str, incoming: pa.Table | None = None) -> pa.Table:
        """Rows as Arrow; `{incoming}` becomes `Python(incoming)`."""
        if incoming is not None:
            sql = sql.replace("{incoming}", "Python(incoming)")
        with self._lock:
            result = self._session.query(sql, "ArrowTable")
        if not isinstance(result, pa.Table):  # pragma: no cover - chDB answers ArrowTable so
            raise TypeError(f"chDB returned {type(result).__name__}, not an Arrow table")
        return result

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str) -> None:
        """Insert through `Python(incoming)` with the deduplication token."""
        incoming = data  # noqa: F841 - read by chDB's Python() table function
        columns = ", ".join(f"`{name}`" for name in data.column_names)
        token = dedup_token.replace("\\", "\\\\").replace("'", "\\'")
        with self._lock:
            self._session.query(
                f"INSERT INTO {table} ({columns})"
                f" SETTINGS insert_deduplication_token = '{token}'"
                f" SELECT {columns} FROM Python(incoming)"
            )

    def use_database(self, database: str) -> None:
        """`USE database` for the session."""
        self.command(f"USE {database}")

    def close(self) -> None:
        """Close the session (its directory stays)."""
        with self._lock:
            self._session.close()
