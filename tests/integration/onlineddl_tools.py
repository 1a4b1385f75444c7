"""The online schema change tools upstream: a real pt-online-schema-change (Debian's
percona-toolkit), and gh-ost's statement and row sequence replayed as its documentation
and source describe it (gh-ost is not packaged here)."""

from __future__ import annotations

import subprocess
from typing import Any

from dm.sandbox import MariaDB


def pt_osc_command(server: MariaDB, db: str, table: str, alter: str, *extra: str) -> list[str]:
    """pt-online-schema-change altering `db`.`table` on `server`: chunks of 500 rows
    (not resized), as written with --print."""
    return ["pt-online-schema-change", "--alter", alter, "--execute", "--print",
            "--recursion-method=none", "--chunk-time=0", "--chunk-size=500",
            f"h=127.0.0.1,P={server.port},u=root,D={db},t={table}", *extra]


def pt_osc(server: MariaDB, db: str, table: str, alter: str, *extra: str) -> None:
    proc = subprocess.run(pt_osc_command(server, db, table, alter, *extra),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pt-online-schema-change failed:\n{proc.stdout}{proc.stderr}"


def gh_ost(server: MariaDB, db: str, table: str, alter: str, key: str = "id",
           text: str = "v", writes: int = 20) -> None:
    """gh-ost's migration of `db`.`table` by `alter`, as its binlog shows it: the changelog
    table and its heartbeats, `CREATE ... LIKE` and the ALTER of the ghost table, the row
    copy by key ranges, `writes` changes to the real table while it copies (each applied
    to the ghost afterwards in a transaction of its own, as gh-ost applies what it reads
    from the binlog), the atomic cut-over (sentry table, RENAME of both) and the cleanup
    (--ok-to-drop-table). `key` is the table's integer primary key (auto-increment),
    `text` a text column the writes change."""
    t, gho, ghc, delete = (f"`{db}`.`{name}`" for name in (
        table, f"_{table}_gho", f"_{table}_ghc", f"_{table}_del"))
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            run: Any = cur.execute
            run(f"drop /* gh-ost */ table if exists {gho}")
            run(f"drop /* gh-ost */ table if exists {delete}")
            run(f"create /* gh-ost */ table {ghc} (id bigint unsigned auto_increment, "
                "last_update timestamp not null DEFAULT CURRENT_TIMESTAMP ON UPDATE "
                "CURRENT_TIMESTAMP, hint varchar(64) charset ascii not null, value "
                "varchar(4096) charset ascii not null, primary key(id), unique key "
                "hint_uidx(hint)) auto_increment=256 comment='gh-ost changelog'")
            heartbeat = (f"insert /* gh-ost */ into {ghc} (id, hint, value) values "
                         "(NULLIF(%s, 0), %s, %s) on duplicate key update last_update=NOW(), "
                         "value=VALUES(value)")
            run(heartbeat, (2, "state", "GhostTableMigrated"))
            run(f"create /* gh-ost */ table {gho} like {t}")
            run(f"alter /* gh-ost */ table {gho} {alter}")
            run(f"select min({key}), max({key}) from {t}")
            low, high = cur.fetchone()
            shared = _shared_columns(cur, db, table, f"_{table}_gho")
            step = 100
            changed: list[int] = []
            for start in range(int(low or 0), int(high or 0) + 1, step):
                run(f"insert /* gh-ost {t} */ ignore into {gho} ({shared}) (select {shared} "
                    f"from {t} force index (`PRIMARY`) where {key} >= %s and {key} < %s "
                    "lock in share mode)", (start, start + step))
                run(heartbeat, (1, "heartbeat", "x"))
                if len(changed) < writes:  # the application writes on
                    changed.append(_write(cur, t, key, text, len(changed)))
            for k in changed:  # applied from the binlog: replace or delete by key
                run(f"select count(*) from {t} where {key} = %s", (k,))
                if cur.fetchone()[0]:
                    run(f"replace /* gh-ost {gho} */ into {gho} ({shared}) select {shared} "
                        f"from {t} where {key} = %s", (k,))
                else:
                    run(f"delete /* gh-ost {gho} */ from {gho} where {key} = %s", (k,))
            run(heartbeat, (2, "state", "AllEventsUpToLockProcessed"))
            run(f"create /* gh-ost */ table {delete} (id int auto_increment primary key) "
                "engine=InnoDB comment='ghost-cut-over-sentry'")
            run(f"drop /* gh-ost */ table if exists {delete}")
            run(f"rename /* gh-ost */ table {t} to {delete}, {gho} to {t}")
            run(f"drop /* gh-ost */ table if exists {ghc}")
            run(f"drop /* gh-ost */ table if exists {delete}")
    finally:
        conn.close()


def _shared_columns(cur: Any, db: str, table: str, ghost: str) -> str:
    """The columns the real and ghost tables share, in the real table's order."""
    cur.execute("select column_name, table_name from information_schema.columns where "
                "table_schema = %s and table_name in (%s, %s) and extra not like '%%GENERATED%%' "
                "order by ordinal_position", (db, table, ghost))
    rows = cur.fetchall()
    ghost_columns = {c for c, t in rows if t == ghost}
    return ", ".join(f"`{c}`" for c, t in rows if t == table and c in ghost_columns)


def _write(cur: Any, table: str, key: str, text: str, n: int) -> int:
    """One change to the real table while the copy runs: an update, a delete or an
    insert by turns; the key it touched."""
    cur.execute(f"select {key} from {table} order by {key} limit 1 offset %s", (n * 3,))
    k = int(cur.fetchone()[0])
    if n % 3 == 0:
        cur.execute(f"update {table} set {text} = concat(coalesce({text}, ''), '+') where "
                    f"{key} = %s", (k,))
    elif n % 3 == 1:
        cur.execute(f"delete from {table} where {key} = %s", (k,))
    else:
        cur.execute(f"insert into {table} ({text}) values ('written under gh-ost')")
        k = int(cur.lastrowid)
    return k
