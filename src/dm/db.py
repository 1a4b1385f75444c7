"""Connections to upstream and downstream: UTC sessions, utf8mb4, coded errors on failure."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.converters import escape_string

from dm import errors
from dm.core.names import qualified, quote
from dm.dbtls import peer_cn_problem
from dm.fence import Fence

__all__ = ["Connection", "Endpoint", "connect", "qualified", "query_all", "query_one",
           "quote", "ssl_params"]


@dataclass(frozen=True)
class Endpoint:
    """Everything needed to open a session to one server."""

    host: str
    port: int
    user: str
    password: str
    session: dict[str, str] = field(default_factory=dict)
    ssl_ca: str = ""
    ssl_cert: str = ""
    ssl_key: str = ""
    allowed_cn: tuple[str, ...] = ()  # cert-allowed-cn: the server certificates accepted
    # a worker's downstream: every statement and COMMIT first checks that it still owns
    # its source (dm.fence)
    fence: Fence | None = field(default=None, compare=False)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


def ssl_params(ep: Endpoint) -> dict[str, Any] | None:
    """PyMySQL's `ssl` argument for an endpoint with TLS material (None: plain TCP).

    The chain is checked against `ssl-ca` when one is given; host names never are (as DM:
    `cert-allowed-cn` is the guard). A plain dict, so a child process can take it along."""
    if not (ep.ssl_ca or ep.ssl_cert or ep.allowed_cn):
        return None
    params: dict[str, Any] = {"check_hostname": False}
    if ep.ssl_ca:
        params["ca"] = ep.ssl_ca
    if ep.ssl_cert:
        params["cert"] = ep.ssl_cert
        if ep.ssl_key:
            params["key"] = ep.ssl_key
    return params


def connect(ep: Endpoint, *, what: str = "upstream", file: str = "", local_infile: bool = False,
            autocommit: bool = True, raw: bool = False) -> Connection:
    """Open a session with time_zone='+00:00' and the configured session variables.

    `raw=True` returns every value as the server's bytes (no decoding, no conversion).
    """
    init = ["SET time_zone = '+00:00'"]
    init += [f"SET SESSION {_variable(k, ep, file)} = {_literal(v)}"
             for k, v in ep.session.items()
             if k.lower() != "time_zone"]
    kwargs: dict[str, Any] = {}
    if raw:
        kwargs.update(use_unicode=False, conv={})
    ssl = ssl_params(ep)
    try:
        conn = (Connection if ep.fence is None else _FencedConnection)(
            host=ep.host, port=ep.port, user=ep.user, password=ep.password,
            charset="utf8mb4", autocommit=autocommit, local_infile=local_infile,
            connect_timeout=10,
            ssl=ssl,
            ssl_disabled=ssl is None,  # as DM: plain unless `security` says TLS
            **kwargs,
        )
    except pymysql.err.MySQLError as exc:
        raise errors.DB_UNREACHABLE(exc, what=what, target=ep.target,
                                    file=file or "the config") from exc
    if isinstance(conn, _FencedConnection):
        conn.fence = ep.fence
    problem = peer_cn_problem(conn, ep.allowed_cn)
    if problem:
        conn.close()
        raise errors.DB_TLS(what=what, target=ep.target, detail=problem,
                            file=file or "the config")
    with conn.cursor() as cur:
        for sql in init:
            try:
                cur.execute(sql)
            except pymysql.err.MySQLError as exc:
                conn.close()
                raise errors.DB_UNREACHABLE(exc, what=what, target=ep.target,
                                            file=file or "the config") from exc
        if ep.fence is not None:
            _end_frozen_transactions(cur)
    return conn


# A fenced session never waits between the statements of its transactions; one that does
# belongs to a frozen worker, whose row locks would stall the worker that took its source
# over for as long as it stays frozen. The server ends such a transaction after this.
IDLE_WRITE_TIMEOUT_S = 15
_IDLE_WRITE_TIMEOUTS = ("idle_write_transaction_timeout",  # MariaDB 10.3+
                        "tidb_idle_transaction_timeout")  # TiDB 7.6+


def _end_frozen_transactions(cur: pymysql.cursors.Cursor) -> None:
    for name in _IDLE_WRITE_TIMEOUTS:
        try:
            cur.execute(f"SET SESSION {name} = {IDLE_WRITE_TIMEOUT_S}")
            return
        except pymysql.err.MySQLError:  # another server's variable (MySQL has neither)
            continue


class _FencedConnection(Connection):  # type: ignore[misc]
    """A session that writes only while its worker holds the fence."""

    fence: Fence | None = None

    def query(self, sql: str | bytes, unbuffered: bool = False) -> int:
        if self.fence is not None:
            self.fence.check()
        return int(super().query(sql, unbuffered))

    def commit(self) -> None:
        if self.fence is not None:
            self.fence.check()
        super().commit()


_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _variable(name: str, ep: Endpoint, file: str) -> str:
    if not _VARIABLE.match(name):
        raise errors.CONFIG_YAML(file=file or f"the config of {ep.target}", line="-",
                                 detail=f"session: {name!r} is not a variable name")
    return name


def _literal(value: str) -> str:
    """A session value as SQL: numbers bare, anything else as a quoted string."""
    text = str(value)
    return text if text.lstrip("-").isdigit() else f"'{escape_string(text)}'"


# lock conflicts: lock wait, deadlock, TiDB's write conflicts and retryable transactions.
# Another transaction held the rows a moment ago, so the loser's transaction (rolled back)
# runs again at once, after a random pause so that two losers do not meet again.
LOCK_CONFLICTS = frozenset({1205, 1213, 8005, 9007, 8022})
# the connection was refused, has gone away or was lost: whether the statement ran is
# not known (a downstream restarting, a proxy's timeout)
CONNECTION_LOST = frozenset({2003, 2006, 2013})


def is_lock_conflict(exc: BaseException | None) -> bool:
    return isinstance(exc, pymysql.err.MySQLError) and bool(exc.args) and \
        exc.args[0] in LOCK_CONFLICTS


def lock_conflict_wait(attempt: int) -> float:
    """Seconds before retry `attempt` (0 first) of a transaction that lost a lock."""
    return random.uniform(0, min(0.01 * (attempt + 1), 0.5))


def is_mariadb(conn: Connection) -> bool:
    return "mariadb" in conn.get_server_info().lower()


def query_all(conn: Connection, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def query_one(conn: Connection, sql: str, args: Any = None) -> tuple[Any, ...] | None:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
        return None if row is None else tuple(row)


def create_meta_table(conn: Connection, meta_schema: str, table: str, columns: str) -> None:
    """The task's meta schema and one of its tables (`table` qualified, `columns` the
    definition between the parentheses), if they are not there yet."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(meta_schema)}")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
