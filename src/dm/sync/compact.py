"""Compaction: the changes of one batch merged into one net change per identity key.

Rules (the later change is C, the net so far is P):
  INSERT + UPDATE  -> INSERT          UPDATE + UPDATE  -> UPDATE (first before, last after)
  any    + DELETE  -> DELETE          DELETE + INSERT  -> REPLACE (written as REPLACE INTO)
  REPLACE + UPDATE -> REPLACE         DELETE + UPDATE  -> DELETE (nothing left to update)
An UPDATE that changes the identity key is first split into DELETE old + INSERT new.
A net change takes the place of C, the latest change it absorbed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from dm.sync.change import DELETE, INSERT, REPLACE, UPDATE, RowChange, identity_key


def compact(changes: Sequence[RowChange]) -> list[RowChange] | None:
    """Net changes of an ordered batch for ONE downstream table, or None when the table
    has no identity key (no PK and no NOT NULL unique key: rows cannot be told apart) or
    the batch mixes table versions whose identity keys differ."""
    if not changes:
        return []
    info = changes[0].table
    key = identity_key(info)
    if key is None:
        return None
    names, key_of = key.names, key.of
    slots: list[RowChange | None] = []
    where: dict[Hashable, int] = {}
    for change in changes:
        if change.table is not info:
            info = change.table
            other = identity_key(info)
            if other is None or other.names != names:
                return None
            key_of = other.of
        kind = change.kind
        if kind is UPDATE:
            old, new = key_of(change.before), key_of(change.after)
            if old != new:
                t, target, loc = change.table, change.target, change.location
                _merge(slots, where, old, RowChange(DELETE, t, target, change.before, None, loc))
                _merge(slots, where, new, RowChange(INSERT, t, target, None, change.after, loc))
                continue
            _merge(slots, where, new, change)
        elif kind is DELETE:
            _merge(slots, where, key_of(change.before), change)
        else:
            _merge(slots, where, key_of(change.after), change)
    return [c for c in slots if c is not None]


def _merge(slots: list[RowChange | None], where: dict[Hashable, int], key: Hashable,
           change: RowChange) -> None:
    at = where.get(key)
    if at is not None:
        prev = slots[at]
        assert prev is not None
        slots[at] = None
        change = _combine(prev, change)
    where[key] = len(slots)
    slots.append(change)


def _combine(prev: RowChange, change: RowChange) -> RowChange:
    kind = change.kind
    if kind is DELETE:
        return change
    if kind is INSERT or kind is REPLACE:  # INSERT after anything but DELETE: last wins
        return RowChange(REPLACE, change.table, change.target, prev.before, change.after,
                         change.location)
    if prev.kind is DELETE:
        return prev
    return RowChange(prev.kind, change.table, change.target, prev.before, change.after,
                     change.location)
