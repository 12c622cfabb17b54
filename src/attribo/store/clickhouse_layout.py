"""Where the ClickHouse tables live: one server, or a sharded and replicated cluster.

On one server (or chDB) a table is a plain `*MergeTree`. Given the name of a cluster from the
servers' `remote_servers`, every statement runs `ON CLUSTER`: each table becomes
`<name>_local`, a `Replicated*MergeTree` on every replica of every shard (replicas agree
through ClickHouse Keeper, and a retried insert is dropped by its block hash or dedup token),
and `<name>` a `Distributed` table over them, sharded by app, which every query and insert
names. Sharding by app keeps all copies of an `(app_id, event_id)` on one shard, so `FINAL`
on the Distributed table still collapses them, and an app's events, costs and postbacks
share a shard, so joins between them stay local.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """The database and, for a sharded deployment, the cluster its tables span."""

    database: str
    cluster: str = ""

    @property
    def on_cluster(self) -> str:
        """The `ON CLUSTER` clause of every DDL statement, or nothing on one server."""
        return f" ON CLUSTER `{self.cluster}`" if self.cluster else ""

    @property
    def query_settings(self) -> dict[str, int | str]:
        """Settings of every query on a cluster: an insert answers once every shard has its
        rows, and a join or IN over another Distributed table reads each shard's local part
        (every table is sharded by app, so an app's rows of all tables share a shard)."""
        if not self.cluster:
            return {}
        return {"distributed_foreground_insert": 1, "distributed_product_mode": "local"}

    def create_database(self) -> str:
        """The database, on every server of the cluster."""
        return f"CREATE DATABASE IF NOT EXISTS {self.database}{self.on_cluster}"

    def drop_database(self) -> str:
        """The database and every table in it, everywhere."""
        sync = " SYNC" if self.cluster else ""
        return f"DROP DATABASE IF EXISTS {self.database}{self.on_cluster}{sync}"

    def create_table(
        self,
        table: str,
        body: str,
        engine: str,
        order_by: str,
        *,
        shard_key: str = "cityHash64(app_id)",
        version: str = "",
        settings: str = "",
    ) -> list[str]:
        """CREATE statements of one logical table.

        `body` is the column list (and indices), `engine` a MergeTree family name such as
        `ReplacingMergeTree` with its `version` column if any, `settings` MergeTree settings
        for a single server (a replicated table deduplicates inserts by default).
        """
        name = f"{self.database}.{table}"
        if not self.cluster:
            tail = f" SETTINGS {settings}" if settings else ""
            return [
                f"CREATE TABLE IF NOT EXISTS {name} ({body})"
                f" ENGINE = {engine}({version}) ORDER BY ({order_by}){tail}"
            ]
        local = f"{table}_local"
        path = f"'/clickhouse/tables/{{shard}}/{self.database}/{table}', '{{replica}}'"
        arguments = f"{path}, {version}" if version else path
        return [
            f"CREATE TABLE IF NOT EXISTS {self.database}.{local}{self.on_cluster} ({body})"
            f" ENGINE = Replicated{engine}({arguments}) ORDER BY ({order_by})",
            f"CREATE TABLE IF NOT EXISTS {name}{self.on_cluster} AS {self.database}.{local}"
            f" ENGINE = Distributed(`{self.cluster}`, {self.database}, {local}, {shard_key})",
        ]

    def create_view(self, view: str, select: str) -> str:
        """A view (over the Distributed tables on a cluster), on every server."""
        return f"CREATE VIEW IF NOT EXISTS {self.database}.{view}{self.on_cluster} AS {select}"

    def create_function(self, name: str, definition: str) -> str:
        """A SQL function such as `(x) -> x + 1`, on every server."""
        return f"CREATE FUNCTION IF NOT EXISTS {name}{self.on_cluster} AS {definition}"
