"""Daily ad spend in DuckDB: one row per (date, app, network, campaign, adset, ad, country).

Networks re-pull cost reports for days they have already reported (late clicks, refunds,
currency fixes), so an upload is an upsert: a row whose natural key is already stored
REPLACES it, and uploading the same rows twice leaves the same table. Missing campaign,
adset, ad or country are stored as the empty string: SQL NULL never equals NULL, so a key
with NULL parts would not match its own re-upload. They read back as None.

Spend is kept as given (`spend`, `currency`) and in US dollars (`spend_usd`) at the static
reference rates of `USD_RATES`; nothing here goes to the network for rates.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Annotated, Any

import duckdb
import msgspec
import pyarrow as pa

from attribo.events.validate import FieldError

COSTS_DDL = """
CREATE TABLE IF NOT EXISTS costs (
    date DATE NOT NULL,
    app_id VARCHAR NOT NULL,
    network VARCHAR NOT NULL,
    campaign VARCHAR NOT NULL,
    adset VARCHAR NOT NULL,
    ad VARCHAR NOT NULL,
    country VARCHAR NOT NULL,
    spend DOUBLE NOT NULL,
    currency VARCHAR NOT NULL,
    spend_usd DOUBLE NOT NULL,
    impressions BIGINT,
    clicks BIGINT,
    PRIMARY KEY (date, app_id, network, campaign, adset, ad, country)
)
"""

# Static reference rates, units of the currency per US dollar (rounded mid-market rates of
# early 2025). Good enough to compare channels in one unit, not for accounting; a row in
# any other currency is refused rather than guessed.
USD_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "JPY": 150.0,
    "CNY": 7.2,
    "KRW": 1350.0,
    "INR": 83.0,
    "BRL": 5.0,
    "CAD": 1.36,
    "AUD": 1.52,
}

MAX_SPEND = 1e12
KEY_COLUMNS = ("date", "app_id", "network", "campaign", "adset", "ad", "country")
_OPTIONAL_KEY = ("campaign", "adset", "ad", "country")
COLUMNS = (
    *KEY_COLUMNS,
    "spend",
    "currency",
    "spend_usd",
    "impressions",
    "clicks",
)
_ARROW_SCHEMA = pa.schema(
    [
        ("ordinal", pa.int64()),
        ("date", pa.date32()),
        *((name, pa.string()) for name in KEY_COLUMNS[1:]),
        ("spend", pa.float64()),
        ("currency", pa.string()),
        ("spend_usd", pa.float64()),
        ("impressions", pa.int64()),
        ("clicks", pa.int64()),
    ]
)

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Text = Annotated[str, msgspec.Meta(max_length=256)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Spend = Annotated[float, msgspec.Meta(ge=0, le=MAX_SPEND)]


class CostRow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One day of spend of one ad in one country, as uploaded."""

    date: dt.date
    app_id: Name
    network: Name
    campaign: Text | None = None
    adset: Text | None = None
    ad: Text | None = None
    country: Text | None = None
    spend: Spend
    currency: Name
    impressions: Count | None = None
    clicks: Count | None = None


class UnknownCurrencyError(ValueError):
    """A currency with no reference rate in `USD_RATES`."""


def to_usd(amount: float, currency: str) -> float:
    """`amount` of `currency` in US dollars at the static reference rate."""
    rate = USD_RATES.get(currency.upper())
    if rate is None:
        raise UnknownCurrencyError(f"unknown currency {currency!r}; known: {', '.join(USD_RATES)}")
    return amount / rate


def check_cost_rows(
    items: Sequence[Any], *, strict: bool = True, max_errors: int = 100
) -> list[CostRow] | list[FieldError]:
    """Decoded rows, or the errors by row index (at most `max_errors`) if any row is invalid.

    `strict=False` also accepts numbers and dates written as strings (CSV cells).
    """
    try:
        rows = msgspec.convert(list(items), list[CostRow], strict=strict)
    except msgspec.ValidationError:
        rows = None
    errors: list[FieldError] = []
    if rows is None:  # decode row by row only on failure, to name every bad row
        for index, item in enumerate(items):
            try:
                row = msgspec.convert(item, CostRow, strict=strict)
            except msgspec.ValidationError as exc:
                errors.append(_field_error(exc, index))
            else:
                errors.extend(_currency_error(row, index))
        return errors[:max_errors]
    for index, row in enumerate(rows):
        errors.extend(_currency_error(row, index))
    return errors[:max_errors] if errors else rows


def _currency_error(row: CostRow, index: int) -> list[FieldError]:
    """The error naming `currency` if it has no reference rate."""
    if row.currency.upper() in USD_RATES:
        return []
    message = f"unknown currency {row.currency!r}; known: {', '.join(USD_RATES)}"
    return [FieldError("currency", message, index)]


def _field_error(exc: msgspec.ValidationError, index: int) -> FieldError:
    """msgspec's "`message` - at `$.field`" (or "... field `name`") as a FieldError."""
    message, _, path = str(exc).partition(" - at `")
    field = path.rstrip("`").removeprefix("$").lstrip(".")
    if not field and "field `" in message:
        field = message.split("field `", 1)[1].split("`", 1)[0]
    return FieldError(field or "row", message, index)


def create_costs_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the `costs` table if it is not there yet."""
    conn.execute(COSTS_DDL)


def cost_rows_table(rows: Sequence[CostRow]) -> pa.Table:
    """The rows as stored (optional keys as '', spend in USD too), in upload order."""
    return _arrow(rows)


def _arrow(rows: Sequence[CostRow]) -> pa.Table:
    """The rows as an Arrow table, with their upload order in `ordinal`."""
    columns: dict[str, list[Any]] = {name: [] for name in _ARROW_SCHEMA.names}
    for ordinal, row in enumerate(rows):
        columns["ordinal"].append(ordinal)
        columns["date"].append(row.date)
        columns["app_id"].append(row.app_id)
        columns["network"].append(row.network)
        for name in _OPTIONAL_KEY:
            columns[name].append(getattr(row, name) or "")
        columns["spend"].append(row.spend)
        columns["currency"].append(row.currency.upper())
        columns["spend_usd"].append(to_usd(row.spend, row.currency))
        columns["impressions"].append(row.impressions)
        columns["clicks"].append(row.clicks)
    return pa.table(columns, schema=_ARROW_SCHEMA)


_KEY_LIST = ", ".join(KEY_COLUMNS)
_LATEST = (
    f"SELECT {', '.join(COLUMNS)} FROM incoming_costs "
    f"QUALIFY row_number() OVER (PARTITION BY {_KEY_LIST} ORDER BY ordinal DESC) = 1"
)
_KEY_MATCH = " AND ".join(f"l.{c} = c.{c}" for c in KEY_COLUMNS)
_UPSERT = (
    f"INSERT INTO costs ({', '.join(COLUMNS)}) {_LATEST} "
    f"ON CONFLICT ({_KEY_LIST}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in KEY_COLUMNS)
)


def upsert_costs(conn: duckdb.DuckDBPyConnection, rows: Sequence[CostRow]) -> tuple[int, int]:
    """Store `rows` in one transaction; a row with a stored key replaces it.

    Rows apply in order, so within one upload the last row of a key wins. Answers
    (inserted, replaced): `inserted` counts keys new to the table, `replaced` every other
    row (a re-uploaded key, or a repeat within this upload), so the two add up to len(rows).
    Raises `UnknownCurrencyError` (storing nothing) for a currency without a rate.
    """
    if not rows:
        return 0, 0
    table = _arrow(rows)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.register("incoming_costs", table)
        found = conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE EXISTS ("
            f"  SELECT 1 FROM costs c WHERE {_KEY_MATCH})) FROM ({_LATEST}) l"
        ).fetchone()
        distinct, existing = (int(found[0]), int(found[1])) if found else (0, 0)
        conn.execute(_UPSERT)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.unregister("incoming_costs")
    inserted = distinct - existing
    return inserted, len(rows) - inserted


def read_costs(
    conn: duckdb.DuckDBPyConnection,
    app_id: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> list[dict[str, Any]]:
    """One app's cost rows with `date_from <= date <= date_to`, in key order.

    Missing campaign, adset, ad and country read back as None.
    """
    clauses = ["app_id = ?"]
    params: list[Any] = [app_id]
    if date_from is not None:
        clauses.append("date >= ?")
        params.append(date_from)
    if date_to is not None:
        clauses.append("date <= ?")
        params.append(date_to)
    cursor = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM costs WHERE {' AND '.join(clauses)} "
        f"ORDER BY {_KEY_LIST}",
        params,
    )
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for name in _OPTIONAL_KEY:
            row[name] = row[name] or None
    return rows


class CostSink:
    """Cost rows over one DuckDB connection, safe to call from several threads."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Create the table if needed; `conn` stays the caller's to close."""
        self._conn = conn
        self._lock = threading.Lock()
        create_costs_table(conn)

    def upsert(self, rows: Sequence[CostRow]) -> tuple[int, int]:
        """`upsert_costs` over this sink's connection: (inserted, replaced)."""
        with self._lock:
            return upsert_costs(self._conn, rows)

    def read(
        self, app_id: str, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """`read_costs` over this sink's connection."""
        with self._lock:
            return read_costs(self._conn, app_id, date_from, date_to)
