"""Connections to upstream and downstream: UTC sessions, utf8mb4, coded errors on failure."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.converters import escape_string

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
    try:
        conn = pymysql.connect(
            host=ep.host, port=ep.port, user=ep.user, password=ep.password,
            charset="utf8mb4", autocommit=autocommit, local_infile=local_infile,
            connect_timeout=10,
            ssl=_ssl_context(ep),
            **kwargs,
        )
    except pymysql.err.MySQLError as exc:
        raise errors.DB_UNREACHABLE(exc, what=what, target=ep.target,
                                    file=file or "the config") from exc
    with conn.cursor() as cur:
        for sql in init:
            try:
                cur.execute(sql)
            except pymysql.err.MySQLError as exc:
                conn.close()
                raise errors.DB_UNREACHABLE(exc, what=what, target=ep.target,
                                            file=file or "the config") from exc
    return conn


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
