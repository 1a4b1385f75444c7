"""`<meta-schema>.<task>_loader_checkpoint`: one row per loaded chunk file, DM's columns.

A chunk's row is written in the same transaction as the chunk's rows, so after any
crash a chunk is either loaded and recorded, or neither. A SQL file is loaded in several
transactions: its `offset` says up to which byte it is in. The row with filename `+`
says the source's full phase began, the row `*` that its load finished.
"""

from __future__ import annotations

from dm.db import Connection, create_meta_table, qualified, query_all

FINISHED = "*"
BEGUN = "+"


class LoaderCheckpoint:
    def __init__(self, meta_schema: str, task: str, source_id: str) -> None:
        self.name = f"{task}_loader_checkpoint"
        self.table = qualified(meta_schema, self.name)
        self.meta_schema = meta_schema
        self.source_id = source_id
        self._upsert = (f"INSERT INTO {self.table.replace('%', '%%')} (`id`, `filename`, "
                        "`cp_schema`, `cp_table`, `offset`, `end_pos`) VALUES "
                        "(%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                        "`offset` = VALUES(`offset`), `end_pos` = VALUES(`end_pos`)")

    def create(self, conn: Connection) -> bool:
        """Create the table if needed; False when this source's full phase has not begun
        (fresh for this source, whatever another source's subtask of the task did to the
        shared table already): `mark_begun` once what an earlier run left is cleared."""
        create_meta_table(conn, self.meta_schema, self.table, """
                `id` CHAR(32) NOT NULL,
                `filename` VARCHAR(255) NOT NULL,
                `cp_schema` VARCHAR(128) NOT NULL,
                `cp_table` VARCHAR(128) NOT NULL,
                `offset` BIGINT NOT NULL,
                `end_pos` BIGINT NOT NULL,
                `create_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                `update_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                UNIQUE KEY `uk_id_f` (`id`, `filename`)""")
        return bool(query_all(conn, f"SELECT 1 FROM {self.table} WHERE `id` = %s LIMIT 1",
                              (self.source_id,)))  # its mark, or rows of an older pydm

    def mark_begun(self, conn: Connection) -> None:
        self.record(conn, BEGUN, "", "", 0)
        conn.commit()

    def loaded(self, conn: Connection) -> set[str]:
        return {name for name, (offset, end) in self.progress(conn).items() if offset == end}

    def progress(self, conn: Connection) -> dict[str, tuple[int, int]]:
        """(offset, end_pos) of every file begun: loaded when they are equal."""
        rows = query_all(conn, f"SELECT `filename`, `offset`, `end_pos` FROM {self.table} "
                               "WHERE `id` = %s AND `filename` <> %s", (self.source_id, BEGUN))
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}

    def record(self, conn: Connection, filename: str, schema: str, table: str, size: int,
               offset: int | None = None) -> None:
        """Mark a file loaded up to `offset` (all of its `size` bytes by default); call
        inside the transaction that loaded them."""
        with conn.cursor() as cur:
            cur.execute(self._upsert, (self.source_id, filename, schema, table,
                                       size if offset is None else offset, size))

    def record_files(self, conn: Connection, files: list[tuple[str, str, str, int]]) -> None:
        """Mark whole files (name, schema, table, size) loaded, in one statement."""
        with conn.cursor() as cur:
            cur.executemany(self._upsert, [(self.source_id, name, schema, table, size, size)
                                           for name, schema, table, size in files])

    def mark_finished(self, conn: Connection, total_bytes: int) -> None:
        self.record(conn, FINISHED, "", "", total_bytes)

    def drop(self, conn: Connection) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.table}")
