"""Full migration end to end through real dm-master, dm-worker and dmctl processes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pymysql.connections import Connection

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import source_yaml, wait_stage

pytestmark = pytest.mark.integration

ALL_TYPES = """
CREATE TABLE e2e.all_types (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  dec65 DECIMAL(65,30), dec5 DECIMAL(5,2) UNSIGNED, f FLOAT, d DOUBLE,
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2), y YEAR,
  c CHAR(10), vc VARCHAR(255), tx TEXT, lc VARCHAR(20) CHARACTER SET latin1,
  lt TEXT CHARACTER SET latin1, bin BINARY(4), vb VARBINARY(20), bl BLOB, lb LONGBLOB,
  j JSON, e ENUM('a','b','c d'), s SET('x','y','z'), b1 BIT(1), b64 BIT(64),
  gen INT AS (id * 2) VIRTUAL
)"""

ROWS = [
    "(1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, "
    "-9223372036854775808, 18446744073709551615, "
    "'-12345678901234567890123456789012345.123456789012345678901234567891', 999.99, "
    "3.40282e38, 1.7976931348623157e308, '1000-01-01', '9999-12-31 23:59:59.999999', "
    "'1970-01-01 00:00:01.000', '-838:59:59.00', 1901, 'char', 'varchar ''quoted''', "
    "'text with \\\\ backslash\\nnewline\\ttab', 'caf\\xe9', 'latin1 text', x'00000000', "
    "x'00', x'000a0d095c00', x'', '{\"k\": [1, 2.5, \"s\\\\\\\"q\"], \"n\": null}', 'c d', "
    "'x,z', b'1', b'1111111111111111111111111111111111111111111111111111111111111111')",
    "(2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0, "
    "'12345678901234567890123456789012345.123456789012345678901234567891', 0, "
    "-1.17549e-38, -2.2250738585072014e-308, '9999-12-31', '1000-01-01 00:00:00.000000', "
    "'2038-01-19 03:14:07.999', '838:59:59.99', 2155, '', '', '', '', '', x'ffffffff', "
    "x'', x'', x'ffff', '[]', 'a', '', b'0', b'0')",
    "(3, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0.000000000000000000000000000001, 0.01, 0.1, 0.1, "
    "'2024-02-29', '2024-02-29 12:34:56.000001', '2024-02-29 12:34:56.789', '00:00:00.01', "
    "2024, 'emoji', '😀 utf8mb4 ñ', '多字节', 'naïve', 'ÿ', x'01020304', x'0102', "
    "REPEAT(x'5c0a09', 1000), REPEAT('x', 70000), '\"str\"', 'b', 'y', b'1', b'101')",
    "(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL)",
    "(5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0000-00-00', '0000-00-00 00:00:00', "
    "NULL, '00:00:00', 0000, 'N', '\\\\N', 'NULL', 'l', 'r', x'5c4e0000', 'N', x'5c4e', "
    "x'5c', 'null', 'a', 'x,y,z', b'0', b'0')",
]

UPSTREAM = [
    "DROP DATABASE IF EXISTS e2e", "DROP DATABASE IF EXISTS e2e_skip",
    "DROP DATABASE IF EXISTS `we``ird db`",
    "CREATE DATABASE e2e", "CREATE DATABASE e2e_skip", "CREATE DATABASE `we``ird db`",
    "USE e2e", "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'",
    ALL_TYPES,
    "INSERT INTO e2e.all_types (id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, dec65, dec5, f, "
    "d, dt, dtm, ts, tm, y, c, vc, tx, lc, lt, bin, vb, bl, lb, j, e, s, b1, b64) VALUES "
    + ", ".join(ROWS),
    "CREATE TABLE e2e.composite (a INT, b VARCHAR(20), c DATETIME, PRIMARY KEY (b, a))",
    "INSERT INTO e2e.composite SELECT seq % 97, CONCAT('k', seq DIV 97), NOW() "
    "FROM seq_1_to_5000",
    "CREATE TABLE e2e.only_unique (u VARCHAR(30) NOT NULL, v INT, UNIQUE KEY (u))",
    "INSERT INTO e2e.only_unique SELECT CONCAT('u', seq), seq FROM seq_1_to_3000",
    "CREATE TABLE e2e.nullable_unique (id INT NULL, v INT, UNIQUE KEY (id))",
    "INSERT INTO e2e.nullable_unique VALUES (NULL, 1), (NULL, 2), (1, 3)",
    "CREATE TABLE e2e.no_key (a INT, b TEXT)",
    "INSERT INTO e2e.no_key VALUES (1, 'dup'), (1, 'dup'), (NULL, NULL), (2, '')",
    "CREATE TABLE e2e.empty (id INT PRIMARY KEY)",
    "CREATE TABLE e2e.big (id BIGINT PRIMARY KEY, pad CHAR(100), n INT, KEY by_pad (pad(8)), "
    "KEY by_n_pad (n, pad))",
    "INSERT INTO e2e.big SELECT seq * 7, REPEAT(CHAR(65 + seq % 26), 100), seq % 1000 "
    "FROM seq_1_to_100000",
    "CREATE TABLE e2e.shard_1 (id INT PRIMARY KEY, v VARCHAR(10))",
    "CREATE TABLE e2e.shard_2 (id INT PRIMARY KEY, v VARCHAR(10))",
    "INSERT INTO e2e.shard_1 SELECT seq, 'one' FROM seq_1_to_1000",
    "INSERT INTO e2e.shard_2 SELECT seq, 'two' FROM seq_1001_to_2500",
    "CREATE TABLE `we``ird db`.`tab ``le\"1` (`offset` INT PRIMARY KEY, `select` TEXT)",
    "INSERT INTO `we``ird db`.`tab ``le\"1` VALUES (1, 'reserved words as names')",
    "CREATE TABLE e2e_skip.t (id INT PRIMARY KEY)",
    "INSERT INTO e2e_skip.t VALUES (1)",
    "CREATE TABLE e2e.ignored_tbl (id INT PRIMARY KEY)",
    "INSERT INTO e2e.ignored_tbl VALUES (1)",
]

TASK = """\
name: e2e
task-mode: full
meta-schema: dm_meta
target-database:
  host: 127.0.0.1
  port: {port}
  user: root
  password: ""
mysql-instances:
  - source-id: e2e-src
    block-allow-list: only-e2e
    route-rules: [merge-shards]
    mydumper-config-name: small-chunks
    loader-thread: 3
block-allow-list:
  only-e2e:
    do-dbs: ["e2e", "~^we`ird"]
    ignore-tables:
      - db-name: e2e
        tbl-name: ignored_tbl
routes:
  merge-shards:
    schema-pattern: e2e
    table-pattern: shard_*
    target-schema: e2e
    target-table: merged
mydumpers:
  small-chunks:
    threads: 3
    rows: 20000
"""

SAME_NAME_TABLES = ["all_types", "composite", "only_unique", "nullable_unique", "no_key",
                    "empty", "big"]


def show_create(conn: Connection, table: str) -> str:
    """SHOW CREATE TABLE without the AUTO_INCREMENT counter (deferred indexes included)."""
    with conn.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE e2e.`{table}`")
        return re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1])


def test_full_migration_matches_row_by_row(cluster: DMProcesses, upstream: MariaDB,
                                           downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute(*UPSTREAM)
    downstream.execute("DROP DATABASE IF EXISTS e2e", "DROP DATABASE IF EXISTS `we``ird db`",
                       "DROP DATABASE IF EXISTS dm_meta")
    src = source_yaml(tmp_path / "source.yaml", "e2e-src", upstream)
    created = cluster.dmctl("operate-source", "create", str(src))
    assert created["result"] is True
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    started = cluster.dmctl("start-task", str(task))
    assert started["result"] is True, started
    status = wait_stage(cluster, "e2e", "Finished")
    sub = status["sources"][0]["subTaskStatus"][0]
    assert sub["unit"] == "Load" and sub["load"]["progress"] == "100.00 %"

    up, down = upstream.connect(), downstream.connect()
    for table in SAME_NAME_TABLES:
        assert table_rows(down, "e2e", table) == table_rows(up, "e2e", table), table
        assert show_create(down, table) == show_create(up, table), table
    merged = sorted(table_rows(up, "e2e", "shard_1") + table_rows(up, "e2e", "shard_2"))
    assert table_rows(down, "e2e", "merged") == merged
    assert table_rows(down, "we`ird db", 'tab `le"1') == table_rows(up, "we`ird db", 'tab `le"1')
    with down.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'e2e_skip'")
        assert cur.fetchone() is None
        cur.execute("SHOW TABLES FROM e2e LIKE 'ignored_tbl'")
        assert cur.fetchone() is None
        cur.execute("SHOW TABLES FROM e2e LIKE 'shard_%'")
        assert cur.fetchall() == ()
        cur.execute("SELECT gen FROM e2e.all_types ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [2, 4, 6, 8, 10]

    listed = cluster.dmctl("query-status")
    assert listed["tasks"] == [{"taskName": "e2e", "taskStatus": "Finished",
                                "sources": ["e2e-src"]}]
    assert cluster.dmctl("stop-task", "e2e")["result"] is True
    assert cluster.dmctl("operate-source", "stop", "e2e-src")["result"] is True
