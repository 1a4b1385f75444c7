"""Micro-benchmark of the pure sync path: RowChange, causality and SQL building.

100k sysbench oltp_write_only-like changes (per transaction: UPDATE k=k+1 of one id,
UPDATE c of another, DELETE and INSERT of a third) over 8 tables, dispatched to 2
workers by causality, then built into statements in batches as an applier would
(`batch` changes per worker, grouped by table). Prints rows/s of each stage; no server
is involved.

    .venv/bin/python bench/bench_dml.py [--changes 100000] [--batch 100]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from dm.schema.table import Column, Index, TableInfo
from dm.sync.causality import CONFLICT, Causality
from dm.sync.change import RowChange
from dm.sync.dml import build_statements

TABLES = 8
TABLE_SIZE = 100_000


def sbtest(n: int) -> TableInfo:
    return TableInfo("sbinc", f"sbtest{n}", (
        Column("id", "int", nullable=False), Column("k", "int", nullable=False),
        Column("c", "char", nullable=False), Column("pad", "char", nullable=False)),
        (Index("PRIMARY", ("id",), True, True), Index("k_1", ("k",))))


def text(rng: random.Random, width: int) -> str:
    return "-".join(f"{rng.randrange(10**11):011d}" for _ in range(width))


def binlog_rows(count: int, seed: int = 1) -> list[tuple[str, int, Any]]:
    """(kind, table number, decoded row) as a rows event would hand them over."""
    rng = random.Random(seed)
    out: list[tuple[str, int, Any]] = []
    def row() -> tuple[Any, ...]:
        return (rng.randrange(1, TABLE_SIZE), rng.randrange(TABLE_SIZE), text(rng, 10),
                text(rng, 5))

    while len(out) < count:
        t = rng.randrange(TABLES)
        a, b, gone = row(), row(), row()
        out += [("update", t, (a, (a[0], a[1] + 1, a[2], a[3]))),
                ("update", t, (b, (b[0], b[1], text(rng, 10), b[3]))),
                ("delete", t, gone), ("insert", t, (gone[0], *row()[1:]))]
    return out[:count]


def rate(label: str, rows: int, run: Callable[[], object]) -> None:
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    print(f"{label:<52} {rows / elapsed:>12,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    infos = [sbtest(n) for n in range(TABLES)]
    targets = [("sbinc", info.table) for info in infos]
    rows = binlog_rows(args.changes)
    changes: list[RowChange] = []

    def make() -> None:
        changes.extend(RowChange.from_binlog(kind, infos[t], targets[t], row)
                       for kind, t, row in rows)

    rate("RowChange.from_binlog", len(rows), make)

    queues: list[list[RowChange]] = [[] for _ in range(args.workers)]
    conflicts = 0

    def dispatch() -> None:
        nonlocal conflicts
        causality = Causality(args.workers)
        window = 0
        for change in changes:
            worker = causality.assign(change)
            window += 1
            if worker is CONFLICT or window == 10_000:  # a flush barrier every 10k rows
                conflicts += worker is CONFLICT
                causality.reset()
                window = 0
                worker = causality.assign(change)
            assert isinstance(worker, int)
            queues[worker].append(change)

    rate(f"Causality.assign ({args.workers} workers)", len(changes), dispatch)
    print(f"  conflicts: {conflicts}")

    batches: list[list[RowChange]] = []
    for queue in queues:
        for start in range(0, len(queue), args.batch):
            by_table: dict[tuple[str, str], list[RowChange]] = {}
            for change in queue[start:start + args.batch]:
                by_table.setdefault(change.target, []).append(change)
            batches += by_table.values()

    for safe in (True, False):
        for compact, multi in ((True, True), (False, True), (False, False)):
            counts = [0]

            def build(safe: bool = safe, compact: bool = compact, multi: bool = multi,
                      counts: list[int] = counts) -> None:
                for batch in batches:
                    counts[0] += len(build_statements(batch, safe, compact=compact,
                                                      multiple_rows=multi))

            label = (f"build_statements safe={safe!s:<5} compact={compact!s:<5} "
                     f"multi={multi!s:<5}")
            rate(label, len(changes), build)
            print(f"  statements: {counts[0]:,} for {len(batches):,} table batches")


if __name__ == "__main__":
    main()
