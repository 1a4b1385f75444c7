"""Binlog event decoding, shared by binlog files on disk and the replica stream."""

from dm.binlog.events.base import Event, EventHeader, UnknownEvent
from dm.binlog.events.codes import EventType
from dm.binlog.events.control import (
    BinlogCheckpointEvent,
    HeartbeatEvent,
    IntvarEvent,
    RandEvent,
    RotateEvent,
    RowsQueryEvent,
    StopEvent,
    UserVarEvent,
    XaPrepareEvent,
    XidEvent,
)
from dm.binlog.events.decoder import EventDecoder
from dm.binlog.events.file import read_binlog_file
from dm.binlog.events.format_description import FormatDescriptionEvent
from dm.binlog.events.gtid import (
    GtidEvent,
    MariadbGtidEvent,
    MariadbGtidListEvent,
    PreviousGtidsEvent,
)
from dm.binlog.events.payload import TransactionPayloadEvent
from dm.binlog.events.query import QueryEvent, StatusVars
from dm.binlog.events.rows_event import RowsEvent, RowsKind
from dm.binlog.events.table_map import OptionalMetadata, TableMapEvent

__all__ = [
    "BinlogCheckpointEvent",
    "Event",
    "EventDecoder",
    "EventHeader",
    "EventType",
    "FormatDescriptionEvent",
    "GtidEvent",
    "HeartbeatEvent",
    "IntvarEvent",
    "MariadbGtidEvent",
    "MariadbGtidListEvent",
    "OptionalMetadata",
    "PreviousGtidsEvent",
    "QueryEvent",
    "RandEvent",
    "RotateEvent",
    "RowsEvent",
    "RowsKind",
    "RowsQueryEvent",
    "StatusVars",
    "StopEvent",
    "TableMapEvent",
    "TransactionPayloadEvent",
    "UnknownEvent",
    "UserVarEvent",
    "XaPrepareEvent",
    "XidEvent",
    "read_binlog_file",
]
