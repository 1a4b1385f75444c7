"""Which statements between a dump's snapshot and its plan change a table it takes
(tests/integration/test_dump_ddl_window.py runs the guard against a real server)."""

from __future__ import annotations

import pytest

from dm.dump.schemaguard import _changed_table, _default_db


def _takes(schema: str, table: str) -> bool:
    return schema == "shop" and table in ("", "orders", "users")


@pytest.mark.parametrize(("info", "changed"), [
    ("use `shop`; ALTER TABLE orders ADD COLUMN c INT", "`shop`.`orders`"),
    ("use `other`; ALTER TABLE shop.users DROP COLUMN v", "`shop`.`users`"),
    ("use `shop`; RENAME TABLE logs TO logs_old, users TO users_old", "`shop`.`users`"),
    ("use `shop`; DROP DATABASE shop", "`shop`"),
    ("use `shop`; CREATE TABLE orders2 (id INT)", ""),  # not taken
    ("use `other`; ALTER TABLE orders ADD COLUMN c INT", ""),  # other.orders
    ("BEGIN", ""),
    ("use `shop`; SAVEPOINT a", ""),
    ("COMMIT", ""),
    ("use `shop`; INSERT INTO orders VALUES (1)", ""),  # statement-format rows
    ("use `shop`; ALTER TABLE orders FROBNICATE", "a table"),  # not understood: assume so
])
def test_statements_that_change_a_taken_table(info: str, changed: str) -> None:
    db, sql = _default_db(info)
    assert _changed_table(sql, db, _takes) == changed


def test_the_default_database_of_a_query_event() -> None:
    assert _default_db("use `we``ird`; ALTER TABLE t ADD c INT") == (
        "we`ird", "ALTER TABLE t ADD c INT")
    assert _default_db("BEGIN") == ("", "BEGIN")
