"""shard-ddl-lock (DM 2.0: show-ddl-locks, unlock-ddl-lock) on the leader.

A DDL lock exists only while a task in shard mode coordinates a shard DDL; pydm refuses
`shard-mode` until its coordination is built, so there is never a lock: the show answers
DM's "no DDL lock exists", and an unlock DM's "lock not found" (38019) for a well-formed
lock id (`<task>-`schema`.`table``).
"""

from __future__ import annotations

import re
from typing import Any

from dm import errors

_LOCK_ID = re.compile(r"^(.+)-`(.*)`\.`(.*)`$")


def show_locks() -> dict[str, Any]:
    return {"result": True, "msg": "no DDL lock exists", "locks": []}


def unlock(lock_id: str) -> dict[str, Any]:
    if _LOCK_ID.match(lock_id) is None:
        return {"result": False, "msg": "can't find task name from lock-ID"}
    raise errors.MASTER_LOCK_NOT_FOUND(lock=lock_id)
