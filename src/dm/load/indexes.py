"""Secondary indexes built after a table's rows are loaded, not while.

InnoDB builds an index from sorted rows much faster than it maintains one row by
row. Only plain non-unique `KEY`s are deferred (unique keys make REPLACE work and
keep duplicates out); nothing is deferred for a table with foreign keys, nor the
key an AUTO_INCREMENT column needs.
"""

from __future__ import annotations

import re

_KEY_LINE = re.compile(r"^\s+KEY `(?:[^`]|``)+` \(`((?:[^`]|``)+)`")
_AUTO_COLUMN = re.compile(r"^\s+`((?:[^`]|``)+)` .*\bAUTO_INCREMENT\b")


def split_secondary_indexes(create: str) -> tuple[str, list[str]]:
    """(CREATE TABLE without the deferrable keys, `ADD KEY ...` clauses to run later).

    `create` is SHOW CREATE TABLE output: one column or index definition per line.
    """
    if "FOREIGN KEY" in create:
        return create, []
    lines = create.split("\n")
    auto = next((m.group(1) for line in lines if (m := _AUTO_COLUMN.match(line))), None)
    kept: list[str] = []
    deferred: list[str] = []
    for line in lines:
        m = _KEY_LINE.match(line)
        if m and m.group(1) != auto:
            deferred.append("ADD " + line.strip().rstrip(","))
        else:
            kept.append(line)
    if not deferred:
        return create, []
    # the definition before the first closing line lost its trailing comma partner
    body = "\n".join(kept)
    body = re.sub(r",\n\)", "\n)", body)
    return body, deferred
