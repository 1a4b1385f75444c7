"""`../shared` beside the clone: DM's test workloads and the MySQL binlog fixtures, read in
place (never copied into the project)."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
DM_TESTS = SHARED / "dm-tests"
BINLOG_FIXTURES = SHARED / "binlog-fixtures"
