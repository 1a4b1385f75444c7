"""Connections to upstream and downstream: UTC sessions, utf8mb4, coded errors on failure."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from dm import errors

__all__ = ["Connection", "Endpoint", "connect", "qualified", "query_all", "query_one",
           "quote"]


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

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


def quote(name: str) -> str:
    """Backtick-quote an identifier (MariaDB reserves words such as `offset`)."""
    return "`" + name.replace("`", "``") + "`"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def _ssl_context(ep: Endpoint) -> ssl.SSLContext | None:
    if not (ep.ssl_ca or ep.ssl_cert):
        return None
    ctx = ssl.create_default_context(cafile=ep.ssl_ca or None)
    ctx.check_hostname = False  # DM skips hostname checks; cert-allowed-cn is the guard
    if ep.ssl_cert:
        ctx.load_cert_chain(ep.ssl_cert, ep.ssl_key or None)
    return ctx


def connect(ep: Endpoint, *, what: str = "upstream", file: str = "", database: str | None = None,
            local_infile: bool = False, autocommit: bool = True, raw: bool = False,
            read_timeout: float | None = None, streaming: bool = False) -> Connection:
    """Open a session with time_zone='+00:00' and the configured session variables.

    `raw=True` returns every value as the server's bytes (no decoding, no conversion).
    """
    init = ["SET time_zone = '+00:00'"]
    init += [f"SET SESSION {k} = %s" for k in ep.session if k.lower() != "time_zone"]
    values = [v for k, v in ep.session.items() if k.lower() != "time_zone"]
    kwargs: dict[str, Any] = {}
    if raw:
        kwargs.update(use_unicode=False, conv={})
    if streaming:
        kwargs["cursorclass"] = pymysql.cursors.SSCursor
    try:
        conn = pymysql.connect(
            host=ep.host, port=ep.port, user=ep.user, password=ep.password,
            database=database, charset="utf8mb4", autocommit=autocommit,
            local_infile=local_infile, connect_timeout=10, read_timeout=read_timeout,
            ssl=_ssl_context(ep),
            **kwargs,
        )
    except pymysql.err.MySQLError as exc:
        raise errors.DB_UNREACHABLE(exc, what=what, target=ep.target,
                                    file=file or "the config") from exc
    with conn.cursor() as cur:
        cur.execute(init[0])
        for sql, value in zip(init[1:], values, strict=True):
            cur.execute(sql, (value,))
    return conn


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
