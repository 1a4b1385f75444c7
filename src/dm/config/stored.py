"""Configs as stored in etcd: the JSON of the pydantic model, keys as in the YAML."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel

from dm.config.base import DBConfig
from dm.db import Endpoint
from dm.dbtls import pem_file

M = TypeVar("M", bound=BaseModel)


def to_doc(model: BaseModel) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(model.model_dump_json(by_alias=True))
    return doc


def from_doc(cls: type[M], doc: dict[str, Any]) -> M:
    return cls.model_validate_json(json.dumps(doc))


def endpoint(db: DBConfig) -> Endpoint:
    """What a connection needs from a `from:` or `target-database:` block."""
    sec = db.security
    if sec is None:
        return Endpoint(db.host, db.port, db.user, db.plain_password(), db.session_vars())
    files = {name: (pem_file(text) if (text := sec.pem(name)) else getattr(sec, f"ssl_{name}"))
             for name in ("ca", "cert", "key")}
    return Endpoint(db.host, db.port, db.user, db.plain_password(), db.session_vars(),
                    ssl_ca=files["ca"], ssl_cert=files["cert"], ssl_key=files["key"],
                    allowed_cn=tuple(sec.cert_allowed_cn))
