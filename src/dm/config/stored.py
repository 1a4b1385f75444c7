"""Configs as stored in etcd: the JSON of the pydantic model, keys as in the YAML."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel

from dm.config.base import DBConfig
from dm.db import Endpoint

M = TypeVar("M", bound=BaseModel)


def to_doc(model: BaseModel) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(model.model_dump_json(by_alias=True))
    return doc


def from_doc(cls: type[M], doc: dict[str, Any]) -> M:
    return cls.model_validate_json(json.dumps(doc))


def endpoint(db: DBConfig) -> Endpoint:
    """What a connection needs from a `from:` or `target-database:` block."""
    sec = db.security
    return Endpoint(db.host, db.port, db.user, db.plain_password(), db.session_vars(),
                    ssl_ca=sec.ssl_ca if sec else "", ssl_cert=sec.ssl_cert if sec else "",
                    ssl_key=sec.ssl_key if sec else "")
