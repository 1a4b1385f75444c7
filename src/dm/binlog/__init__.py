"""The binlog codec: locations and GTID sets, event and row decoding, the replica connection."""
