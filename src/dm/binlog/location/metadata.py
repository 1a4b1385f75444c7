"""The binlog locations in a dump's `metadata` file (mydumper / dumpling format)."""

from __future__ import annotations

from dataclasses import dataclass

from dm.binlog.location.gtid import Flavor
from dm.binlog.location.position import AnyGTIDSet, Location, parse_gtid_set
from dm.errors import NO_BINLOG_LOCATION, PARSE_DUMP_METADATA, DMError

_MASTER = "SHOW MASTER STATUS:"
_AFTER = "/* AFTER CONNECTION POOL ESTABLISHED */"


@dataclass(frozen=True)
class DumpMetadata:
    location: Location
    location_after: Location | None = None  # taken once the connection pool was up


def _blocks(text: str) -> list[tuple[str, dict[str, str]]]:
    """(title, {key: value}) per `SHOW ... STATUS:` block; a GTID may run over several lines."""
    blocks: list[tuple[str, dict[str, str]]] = []
    last_key = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("SHOW "):
            blocks.append((line, {}))
            last_key = ""
        elif not line or line.startswith(("Started dump", "Finished dump")):
            last_key = ""
        elif blocks:
            key, sep, value = line.partition(":")
            fields = blocks[-1][1]
            if sep and key in ("Log", "Pos", "GTID", "Host"):
                fields[key] = value.strip()
                last_key = key
            elif last_key == "GTID":
                fields["GTID"] += line
    return blocks


def _location(fields: dict[str, str], path: str, flavor: Flavor | None) -> Location:
    try:
        gtid: AnyGTIDSet | None = None
        if fields.get("GTID") or flavor:
            gtid = parse_gtid_set(fields.get("GTID", ""), flavor)
        return Location(fields["Log"], int(fields["Pos"]), gtid)
    except (KeyError, ValueError, DMError) as exc:
        raise PARSE_DUMP_METADATA(exc, path=path) from exc


def parse_dump_metadata(text: str, path: str = "metadata",
                        flavor: Flavor | None = None) -> DumpMetadata:
    """The master location of a dump, and the one after the pool was established if any."""
    main = after = None
    for title, fields in _blocks(text):
        if not title.startswith(_MASTER) or "Log" not in fields:
            continue
        loc = _location(fields, path, flavor)
        if _AFTER in title:
            after = loc
        elif main is None:
            main = loc
    if main is None:
        raise NO_BINLOG_LOCATION(path=path)
    return DumpMetadata(main, after)
