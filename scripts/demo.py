"""The demo: a real migration between two sandbox MariaDB servers, driven by dmctl.

Starts an upstream (ROW binlog) and a downstream mariadbd, fills the upstream,
starts dm-master and dm-worker, then does what a DM user does: operate-source
create, start-task (task-mode all), query-status while dump and load run, then
writes to the upstream while the task replicates them live. Ends with a row-by-row
check of every table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dm.sandbox import DMProcesses, MariaDB, table_rows

ROOT = Path(__file__).resolve().parent.parent

SOURCE_YAML = """\
source-id: "mariadb-01"
from:
  host: "127.0.0.1"
  port: {port}
  user: "root"
  password: ""
"""

TASK_YAML = """\
name: "demo"
task-mode: "all"
target-database:
  host: "127.0.0.1"
  port: {port}
  user: "root"
  password: ""
mysql-instances:
  - source-id: "mariadb-01"
    block-allow-list: "shop-only"
    route-rules: ["merge-orders"]
    mydumper-config-name: "small-chunks"
    loader-thread: 2
block-allow-list:
  shop-only:
    do-dbs: ["shop"]
mydumpers:
  small-chunks:
    threads: 2
    rows: 20000
routes:
  merge-orders:
    schema-pattern: "shop"
    table-pattern: "orders_*"
    target-schema: "shop"
    target-table: "orders"
"""

UPSTREAM_SQL = [
    "CREATE DATABASE shop",
    "USE shop",
    "CREATE DATABASE scratch",  # not in the block-allow list: must not be copied
    "CREATE TABLE scratch.junk (id INT PRIMARY KEY)",
    "INSERT INTO scratch.junk VALUES (1), (2)",
    """CREATE TABLE shop.customers (
         id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(64) NOT NULL, email VARCHAR(128),
         balance DECIMAL(12,2), born DATE, created DATETIME(6), notes TEXT, photo BLOB,
         tier ENUM('free','pro','team'), flags SET('a','b','c'), active BIT(1))""",
    """INSERT INTO shop.customers
       SELECT seq, CONCAT('customer ', seq, IF(seq % 7 = 0, ' O''Brien\\t"x"', '')),
              IF(seq % 5 = 0, NULL, CONCAT('c', seq, '@example.com')), seq * 1.25,
              DATE '1970-01-01' + INTERVAL (seq % 15000) DAY,
              TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL 123456 MICROSECOND,
              IF(seq % 3 = 0, 'line one\\nline two \\\\ end', NULL),
              IF(seq % 11 = 0, UNHEX('00FF0A09'), NULL),
              ELT(1 + seq % 3, 'free', 'pro', 'team'), 'a,c', seq % 2
         FROM seq_1_to_400000""",
    """CREATE TABLE shop.orders_2023 (id INT PRIMARY KEY, customer_id BIGINT UNSIGNED,
         amount DECIMAL(10,2), placed TIMESTAMP(3) NULL, doc JSON)""",
    "CREATE TABLE shop.orders_2024 LIKE shop.orders_2023",
    """INSERT INTO shop.orders_2023 SELECT seq, seq % 400000 + 1, seq / 100,
         TIMESTAMP '2023-01-01 00:00:00' + INTERVAL seq MINUTE, JSON_OBJECT('n', seq, 's', 'x"y')
         FROM seq_1_to_500000""",
    """INSERT INTO shop.orders_2024 SELECT seq, seq % 400000 + 1, seq / 50,
         TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq MINUTE, NULL FROM seq_500001_to_900000""",
    "CREATE TABLE shop.audit (at DATETIME, what VARCHAR(200))",  # no key at all
    """INSERT INTO shop.audit SELECT TIMESTAMP '2024-06-01 00:00:00' + INTERVAL (seq % 100) HOUR,
         CONCAT('event ', seq % 100) FROM seq_1_to_5000""",
    "CREATE TABLE shop.`order items` (`order` INT, `line` INT, sku CHAR(8), "
    "PRIMARY KEY (`order`, `line`))",
    "INSERT INTO shop.`order items` SELECT seq DIV 3, seq % 3, LPAD(seq, 8, '0') "
    "FROM seq_1_to_30000",
    "CREATE TABLE shop.empty_table (id INT PRIMARY KEY)",
]


def say(text: str) -> None:
    print(text, flush=True)


def bar(progress: str, width: int = 30) -> str:
    share = float(progress.rstrip(" %") or 0) / 100
    return "[" + "#" * round(share * width) + "-" * (width - round(share * width)) + "]"


def wait_full_phase(dm: DMProcesses, task: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        answer = dm.api("query-status", {"task": task})
        subs = [st for src in answer.get("sources", []) for st in src.get("subTaskStatus", [])]
        for st in subs:
            if st.get("result"):
                raise SystemExit(f"task paused with an error:\n{st['result']}")
            dump, load = st.get("dump", {}), st.get("load", {})
            line = (f"  {st['stage']:<9} {st['unit']:<5} dump {bar(dump.get('progress', '0'))} "
                    f"load {bar(load.get('progress', '0'))} {load.get('progress', '')}")
            if line != last:
                say(line)
                last = line
        if subs and all(st["unit"] == "Sync" for st in subs):
            return
        time.sleep(0.25)
    raise SystemExit("the dump and load did not finish in time")


LIVE_WRITES = [
    "UPDATE shop.customers SET balance = balance + 1 WHERE id % 1000 = {i}",
    "INSERT INTO shop.orders_2024 VALUES ({order}, {i} + 1, 9.99, NOW(3), NULL)",
    "DELETE FROM shop.audit WHERE what = 'event {i}'",
    "UPDATE shop.orders_2023 SET id = id + 10000000 WHERE id = {i} + 1",
    "INSERT INTO shop.`order items` VALUES ({order}, 0, 'live')",
]


def live_writes(up: MariaDB, rounds: int) -> None:
    """Writes while the task replicates: updates, inserts, deletes, key changes, a DDL."""
    for i in range(rounds):
        up.execute(*(sql.format(i=i, order=2_000_000 + i) for sql in LIVE_WRITES))
        if i == rounds // 2:
            up.execute("ALTER TABLE shop.customers ADD COLUMN referrer BIGINT UNSIGNED NULL",
                       "UPDATE shop.customers SET referrer = id - 1 WHERE id % 997 = 0")


def wait_replicated(dm: DMProcesses, up: MariaDB, down: MariaDB, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = dm.api("query-status", {"task": "demo"})["sources"][0]["subTaskStatus"][0]
        if st.get("result"):
            raise SystemExit(f"task paused with an error:\n{st['result']}")
        sync = st.get("sync", {})
        say(f"  Sync  syncer {sync.get('syncerBinlog')}  master {sync.get('masterBinlog')}  "
            f"events {sync.get('totalEvents')}")
        if compare(up, down, quiet=True):
            return True
        time.sleep(1)
    return False


def compare(up: MariaDB, down: MariaDB, quiet: bool = False) -> bool:
    up_conn, down_conn = up.connect(), down.connect()
    pairs = [("customers", "customers"), ("audit", "audit"), ("order items", "order items"),
             ("empty_table", "empty_table")]
    ok = True
    for src, dst in pairs:
        same = table_rows(up_conn, "shop", src) == table_rows(down_conn, "shop", dst)
        ok &= same
        if not quiet:
            say(f"  shop.{src:<12} -> shop.{dst:<12} {'equal' if same else 'DIFFERENT'}")
    merged = sorted(table_rows(up_conn, "shop", "orders_2023")
                    + table_rows(up_conn, "shop", "orders_2024"))
    same = merged == table_rows(down_conn, "shop", "orders")
    ok &= same
    if not quiet:
        say(f"  shop.orders_2023 + shop.orders_2024 -> shop.orders "
            f"{'equal' if same else 'DIFFERENT'}")
    with down_conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'scratch'")
        excluded = cur.fetchone() is None
    ok &= excluded
    if not quiet:
        say(f"  scratch (not in block-allow-list) {'not copied' if excluded else 'COPIED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    args = parser.parse_args()
    base = ROOT / "sandbox" / time.strftime("demo-%Y%m%d-%H%M%S")
    say(f"sandbox: {base}")
    up = MariaDB(base / "upstream", server_id=1)
    down = MariaDB(base / "downstream", server_id=2, log_bin=False)
    dm = DMProcesses(base / "dm", ROOT / ".venv" / "bin", master_config="openapi = true\n")
    try:
        up.start(ROOT / "sandbox" / ".cache")
        down.start(ROOT / "sandbox" / ".cache")
        say(f"upstream mariadbd :{up.port} (pid {up.pid}), "
            f"downstream mariadbd :{down.port} (pid {down.pid})")
        started = time.monotonic()
        up.execute(*UPSTREAM_SQL)
        say(f"upstream filled in {time.monotonic() - started:.1f}s "
            "(400k customers, 900k orders in two shards, 30k order items, 5k keyless rows)")
        (base / "source.yaml").write_text(SOURCE_YAML.format(port=up.port))
        (base / "task.yaml").write_text(TASK_YAML.format(port=down.port))
        dm.start_master()
        dm.start_worker("worker1")
        say(f"dm-master {dm.master_addr}, dm-worker worker1 started; the web page: "
            f"http://{dm.master_addr}/dashboard/ (OpenAPI: /api/v1/docs)")
        say(f"$ dmctl --master-addr {dm.master_addr} operate-source create source.yaml")
        say("  " + str(dm.dmctl("operate-source", "create", str(base / "source.yaml"))["sources"]))
        say(f"$ dmctl --master-addr {dm.master_addr} start-task task.yaml")
        started = time.monotonic()
        answer = dm.dmctl("start-task", str(base / "task.yaml"))
        say(f"  result={answer['result']}")
        say(f"$ dmctl --master-addr {dm.master_addr} query-status demo   (polled; "
            "`dmctl -o table` prints a table)")
        wait_full_phase(dm, "demo")
        say(f"dump and load finished in {time.monotonic() - started:.1f}s; now replicating")
        say("writing to the upstream: updates, inserts, deletes, key changes, ALTER TABLE")
        live_writes(up, 40)
        ok = wait_replicated(dm, up, down)
        say("row-by-row comparison:")
        ok = compare(up, down) and ok
        say("demo OK: upstream and downstream are equal" if ok else "demo FAILED")
        if args.keep:
            say(f"left running in {base}; stop the servers and dm processes by PID")
        return 0 if ok else 1
    finally:
        if not args.keep:
            dm.stop()
            up.stop()
            down.stop()


if __name__ == "__main__":
    sys.exit(main())
