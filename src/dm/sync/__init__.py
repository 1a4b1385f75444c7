"""Sync unit: binlog events to downstream changes, in parallel, checkpointed."""
