"""Database-level grants as target_privilege reads them: MariaDB's names hold LIKE
wildcards (`_`, `%`) unless escaped, and backquotes are doubled."""

from __future__ import annotations

import pytest

from dm.checker.task_items import database_privileges


@pytest.mark.parametrize(("grant", "database", "matches"), [
    ("GRANT ALTER, DROP ON `pc\\_%`.* TO `u`@`%`", "pc_db", True),
    ("GRANT ALTER, DROP ON `pc\\_%`.* TO `u`@`%`", "pcxdb", False),
    ("GRANT ALTER ON `pc_db`.* TO `u`@`%`", "pcxdb", True),  # `_` is any one character
    ("GRANT ALTER ON `a``b`.* TO `u`@`%`", "a`b", True),
    ("GRANT ALTER ON `a.b`.* TO `u`@`%`", "axb", False),
])
def test_a_database_grant_names_its_databases(grant: str, database: str,
                                              matches: bool) -> None:
    [(pattern, privileges)] = database_privileges([grant])
    assert bool(pattern.fullmatch(database)) is matches
    assert "ALTER" in privileges


def test_global_and_table_grants_are_not_database_grants() -> None:
    assert database_privileges(["GRANT SELECT ON *.* TO `u`@`%`",
                                "GRANT SELECT ON `db`.`t` TO `u`@`%`"]) == []
