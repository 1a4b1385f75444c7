"""The throwaway servers themselves: nothing they do may reach another server's files."""

from __future__ import annotations

import pytest

from dm.sandbox import MariaDB

pytestmark = pytest.mark.integration


def test_each_server_keeps_its_temporary_tables_in_its_own_tmpdir(upstream: MariaDB) -> None:
    # a starting mariadbd deletes every `#sql*` file in its tmpdir: in a shared /tmp that
    # took the live temporary tables of concurrently running servers (crashing them)
    conn = upstream.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@tmpdir")
        assert cur.fetchone()[0] == str(upstream.base / "tmp")
    conn.close()
