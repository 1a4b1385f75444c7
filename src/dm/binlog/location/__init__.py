"""Binlog locations and GTID sets of both flavours (MySQL UUID sets, MariaDB domain lists)."""

from dm.binlog.location.gtid import Flavor, GTIDSet
from dm.binlog.location.mariadb_gtid import MariaDBGTID, MariaDBGTIDSet, parse_mariadb_gtid
from dm.binlog.location.metadata import DumpMetadata, parse_dump_metadata
from dm.binlog.location.mysql_gtid import MySQLGTIDSet
from dm.binlog.location.position import (
    FILE_HEADER_END,
    AnyGTIDSet,
    Location,
    compare_locations,
    detect_flavor,
    empty_gtid_set,
    file_key,
    gtid_set_order,
    gtid_text,
    holds_gtid,
    parse_gtid_set,
    parse_location,
)

__all__ = [
    "FILE_HEADER_END",
    "AnyGTIDSet",
    "DumpMetadata",
    "Flavor",
    "GTIDSet",
    "Location",
    "MariaDBGTID",
    "MariaDBGTIDSet",
    "MySQLGTIDSet",
    "compare_locations",
    "detect_flavor",
    "empty_gtid_set",
    "file_key",
    "gtid_set_order",
    "gtid_text",
    "holds_gtid",
    "parse_dump_metadata",
    "parse_gtid_set",
    "parse_location",
    "parse_mariadb_gtid",
]
