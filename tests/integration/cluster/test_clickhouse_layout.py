"""The sharded ClickHouse layout: every table replicated per shard, Distributed over them by app.

There is no ClickHouse cluster on this machine, so the statements are checked as far as one
engine can: ClickHouse's own parser reads every one, and a chDB configured with a two-shard
cluster and Keeper's in-memory stand-in creates every table from them (each `ON CLUSTER`
statement run on that one server): the replicated engines with their Keeper paths and macros,
and Distributed tables whose structure and sharding key the engine accepts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attribo.store.clickhouse_layout import Layout
from attribo.store.clickhouse_sql import events_ddl
from attribo.store.schema import EVENTS_ARROW_SCHEMA

pytest.importorskip("chdb", reason="chdb is in the cluster extra")

CONFIG = """<clickhouse>
  <zookeeper><implementation>testkeeper</implementation></zookeeper>
  <macros><shard>01</shard><replica>r1</replica></macros>
  <remote_servers><two>
    <shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard>
    <shard><replica><host>127.0.0.2</host><port>9000</port></replica></shard>
  </two></remote_servers>
</clickhouse>
"""

# Run apart: chDB keeps one engine per process, and a replicated table's Keeper session does
# not let the process end by itself (hence os._exit once the answer is printed).
SCRIPT = """
import json, os, sys
import chdb
from attribo.store.clickhouse import ClickHouseStore
from attribo.store.clickhouse_costs import ClickHouseCostSink
from attribo.store.clickhouse_skan import ClickHouseSkanSink

connection = chdb.connect(f"{sys.argv[1]}?config-file={sys.argv[2]}")
cursor = connection.cursor()
statements = []

class OneServerOfTheCluster:
    def command(self, sql):
        statements.append(sql)
        cursor.execute(sql.replace(" ON CLUSTER `two`", ""))
    def use_database(self, database):
        pass
    def close(self):
        pass

store = ClickHouseStore(OneServerOfTheCluster(), "ns_sharded", cluster="two")
ClickHouseCostSink(store)
ClickHouseSkanSink(store)
parsed = []
for sql in statements:
    quoted = sql.replace("\\\\", "\\\\\\\\").replace("'", "\\\\'")
    cursor.execute(f"SELECT formatQuery('{quoted}')")
    parsed.append(cursor.fetchall()[0][0])
cursor.execute(
    "SELECT name, engine, engine_full FROM system.tables WHERE database = 'ns_sharded'"
)
tables = {name: [engine, full] for name, engine, full in cursor.fetchall()}
cursor.execute(
    "SELECT name FROM system.columns WHERE database = 'ns_sharded' AND table = 'events'"
    " ORDER BY position"
)
columns = [row[0] for row in cursor.fetchall()]
print(json.dumps({"statements": statements, "parsed": parsed, "tables": tables,
                  "columns": columns}), flush=True)
os._exit(0)
"""


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What a chDB with a two-shard cluster made of the store's and sinks' statements."""
    root = tmp_path_factory.mktemp("sharded")
    config = root / "config.xml"
    config.write_text(CONFIG)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root / "db"), str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_statement_runs_on_every_server_and_parses(sharded: dict) -> None:
    statements = sharded["statements"]
    assert len(statements) == len(sharded["parsed"]) >= 13
    assert all(" ON CLUSTER `two`" in sql for sql in statements)


def test_tables_are_replicated_per_shard_and_distributed_by_app(sharded: dict) -> None:
    tables = sharded["tables"]
    logical = ("events", "consumer_offsets", "cost_versions", "skan_postbacks")
    for name in logical:
        engine, _ = tables[f"{name}_local"]
        assert engine == "ReplicatedReplacingMergeTree", name
        engine, full = tables[name]
        assert engine == "Distributed", name
        key = "cityHash64(consumer)" if name == "consumer_offsets" else "cityHash64(app_id)"
        assert full.endswith(f"'{name}_local', {key})"), full
    assert (
        "'/clickhouse/tables/{shard}/ns_sharded/events', '{replica}'" in (tables["events_local"][1])
    )
    assert tables["costs"][0] == "View"
    assert sharded["columns"] == EVENTS_ARROW_SCHEMA.names  # the Distributed table's structure


def test_one_server_keeps_plain_tables() -> None:
    """Without a cluster nothing changes: one MergeTree table, with dedup of retried inserts."""
    (statement,) = events_ddl(Layout("ns_one"))
    assert statement.startswith("CREATE TABLE IF NOT EXISTS ns_one.events (")
    assert "ENGINE = ReplacingMergeTree()" in statement
    assert statement.endswith("SETTINGS non_replicated_deduplication_window = 10000")
    assert "ON CLUSTER" not in statement and "Distributed" not in statement
    assert Layout("ns_one").query_settings == {}
    assert Layout("ns_one", "c").query_settings["distributed_foreground_insert"] == 1


def test_a_cluster_needs_a_server(tmp_path: Path) -> None:
    from attribo.store.clickhouse import ClickHouseStore

    with pytest.raises(ValueError, match="clickhouse_cluster needs a ClickHouse server"):
        ClickHouseStore.from_url(f"chdb://{tmp_path}", "ns", cluster="two")
