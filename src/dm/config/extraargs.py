"""`mydumpers.extra-args`: the dumpling flags DM passes through, read into what pydm does.

pydm's dump honours `--consistency flush|auto|none` (and `--no-locks`), `-t/--threads` and
`-r/--rows`; flags that only shape dumpling's own files (`-F`, `-s`, `--escape-backslash`,
`--transactional-consistency`, `-W/--no-views`) change nothing in pydm's dump and are
accepted. Every other flag (table filters, `--where`, `--snapshot`, TLS files, `--consistency
lock|snapshot`) would change what is dumped, so it is reported as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_CONSISTENCY = frozenset({"auto", "flush", "none"})
_NUMBERS = {"-t": "threads", "--threads": "threads", "-r": "rows", "--rows": "rows"}
_FORMAT_ONLY_VALUED = frozenset({"-F", "--filesize", "-s", "--statement-size"})
_FORMAT_ONLY = frozenset({"--escape-backslash", "--transactional-consistency", "-W",
                          "--no-views"})


@dataclass
class DumpArgs:
    consistency: str = "auto"
    threads: int | None = None
    rows: int | None = None
    unsupported: list[str] = field(default_factory=list)


def parse_extra_args(text: str) -> DumpArgs:
    out = DumpArgs()
    args = text.split()
    i = 0
    while i < len(args):
        flag, eq, inline = args[i].partition("=")
        value = inline if eq else (args[i + 1] if i + 1 < len(args) else "")
        takes = flag in _NUMBERS or flag in _FORMAT_ONLY_VALUED or flag == "--consistency"
        i += 1 if eq or not takes else 2
        if flag == "--no-locks":
            out.consistency = "none"
        elif flag == "--consistency" and value in _CONSISTENCY:
            out.consistency = value
        elif flag in _NUMBERS and value.isdigit():
            setattr(out, _NUMBERS[flag], int(value))
        elif (flag in _FORMAT_ONLY_VALUED and value) or (flag in _FORMAT_ONLY and not eq):
            pass
        else:
            out.unsupported.append(f"{flag} {value}".strip() if takes else args[i - 1])
    return out
