"""The one catalogue of coded errors every user-visible failure goes through.

Codes follow DM's numbering (pkg/terror) where DM has one. `docs/errors.md` is
generated from this module (`python -m dm.errors > docs/errors.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrClass(StrEnum):
    DATABASE = "database"
    FUNCTIONAL = "functional"
    CONFIG = "config"
    BINLOG_OP = "binlog-op"
    CHECKPOINT = "checkpoint"
    TASK_CHECK = "task-check"
    RELAY_EVENT_LIB = "relay-event-lib"
    RELAY_UNIT = "relay-unit"
    DUMP_UNIT = "dump-unit"
    LOAD_UNIT = "load-unit"
    SYNC_UNIT = "sync-unit"
    DM_MASTER = "dm-master"
    DM_WORKER = "dm-worker"
    SCHEMA_TRACKER = "schema-tracker"
    SCHEDULER = "scheduler"
    DMCTL = "dmctl"
    OPENAPI = "openapi"
    NOT_SET = "not-set"


class Scope(StrEnum):
    NOT_SET = "not-set"
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    INTERNAL = "internal"


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class ErrorCode:
    """One catalogue entry; call it with the message's fields to raise-ready DMError."""

    code: int
    cls: ErrClass
    scope: Scope
    level: Level
    message: str
    workaround: str = ""
    retryable: bool = False

    def __call__(self, cause: BaseException | str | None = None, **fields: Any) -> DMError:
        try:  # a workaround may name the culprit too; one that does not stays as written
            workaround = self.workaround.format(**fields)
        except (KeyError, IndexError, ValueError):
            workaround = self.workaround
        return DMError(self, self.message.format(**fields), _cause_text(cause), workaround)


def _cause_text(cause: BaseException | str | None) -> str:
    if cause is None:
        return ""
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}" if not str(cause) else str(cause)
    return cause


class DMError(Exception):
    """A failure with a stable code, a culprit-naming message and a way out."""

    def __init__(self, spec: ErrorCode, message: str, raw_cause: str = "",
                 workaround: str | None = None) -> None:
        super().__init__(message)
        self.spec = spec
        self.message = message
        self.raw_cause = raw_cause
        self.workaround = spec.workaround if workaround is None else workaround

    @property
    def code(self) -> int:
        return self.spec.code

    def __str__(self) -> str:
        s = self.spec
        text = (f"[code={s.code}:class={s.cls}:scope={s.scope}:level={s.level}], "
                f"Message: {self.message}")
        if self.raw_cause:
            text += f", RawCause: {self.raw_cause}"
        if self.workaround:
            text += f", Workaround: {self.workaround}"
        return text

    def to_process_error(self) -> dict[str, Any]:
        """DM's ProcessError wire shape, as shown by query-status."""
        s = self.spec
        return {
            "ErrCode": s.code,
            "ErrClass": str(s.cls),
            "ErrScope": str(s.scope),
            "ErrLevel": str(s.level),
            "Message": self.message,
            "RawCause": self.raw_cause,
            "Workaround": self.workaround,
        }

    @classmethod
    def from_process_error(cls, d: dict[str, Any]) -> DMError:
        spec = CATALOGUE.get(int(d.get("ErrCode", 0)), NOT_SET_ERROR)
        return cls(spec, str(d.get("Message", "")), str(d.get("RawCause", "")),
                   d.get("Workaround"))


CATALOGUE: dict[int, ErrorCode] = {}


def _define(
    code: int,
    cls: ErrClass,
    scope: Scope,
    level: Level,
    message: str,
    workaround: str = "",
    *,
    retryable: bool = False,
) -> ErrorCode:
    if code in CATALOGUE:
        raise ValueError(f"error code {code} defined twice")
    spec = ErrorCode(code, cls, scope, level, message, workaround, retryable)
    CATALOGUE[code] = spec
    return spec


_D, _C, _M, _W = ErrClass.DATABASE, ErrClass.CONFIG, ErrClass.DM_MASTER, ErrClass.DM_WORKER
_UP, _DOWN, _INT, _NS = Scope.UPSTREAM, Scope.DOWNSTREAM, Scope.INTERNAL, Scope.NOT_SET
_LOW, _MED, _HIGH = Level.LOW, Level.MEDIUM, Level.HIGH

# --- database (10xxx) -------------------------------------------------------
DB_DRIVER = _define(10001, _D, _NS, _HIGH, "database driver error on {target}",
                    "Check that the database at {target} is reachable and the credentials "
                    "are right.",
                    retryable=True)
DB_BAD_CONN = _define(10002, _D, _NS, _HIGH, "bad connection to {target}",
                      "The task retries automatically; check the server at {target}.",
                      retryable=True)
DB_UNREACHABLE = _define(10005, _D, _NS, _HIGH, "cannot connect to {what} database at {target}",
                         "Check host, port, user and password of {what} in {file}, and that the "
                         "server is running.", retryable=True)
DB_EXEC = _define(10006, _D, _NS, _HIGH, "execute statement failed on {target}: {sql}",
                  "Look at the raw cause; fix the data or the schema, then resume-task.")

# --- functional (11xxx) -----------------------------------------------------
DB_TLS = _define(11112, ErrClass.FUNCTIONAL, _INT, _MED,
                 "TLS to {what} database at {target} refused: {detail}",
                 "Check `security` of {what} in {file}: `cert-allowed-cn` lists the common "
                 "names of the server certificates to accept.")
PARSE_DUMP_METADATA = _define(11001, ErrClass.FUNCTIONAL, _INT, _HIGH,
                              "cannot parse dump metadata file {path}",
                              "Remove the dump directory {path} so the dump runs again.")
ENCRYPT = _define(11115, ErrClass.FUNCTIONAL, _INT, _HIGH, "cannot encrypt the given text", "")
DECRYPT = _define(11116, ErrClass.FUNCTIONAL, _INT, _HIGH,
                  "cannot decrypt {what}: it is not a DM-encrypted secret",
                  "Pass the output of `dmctl encrypt`, or the plain password.")
BINLOG_OP_ARGS = _define(11118, ErrClass.FUNCTIONAL, _INT, _LOW, "{detail}",
                         "Please make sure the args are correct: `dmctl query-status <task>` "
                         "shows the failing DDL's position.")
NO_BINLOG_LOCATION = _define(11123, ErrClass.FUNCTIONAL, _INT, _HIGH,
                             "dump metadata {path} has no binlog location",
                             "Check that binary logging is enabled upstream (log_bin=ON).")

# --- config (20xxx) ----------------------------------------------------------
CONFIG_CHECKING_ITEM = _define(20001, _C, _INT, _MED,
                               "{file}:{line}: {key}: unknown checking item {value!r}; "
                               "known items: {known}",
                               "Remove the item or use one of the known names.")
CONFIG_YAML = _define(20003, _C, _INT, _MED, "{file}:{line}: {detail}",
                      "Fix the YAML at the line shown; see docs/configuration.md for every key.")
CONFIG_EMPTY_SOURCE_ID = _define(20005, _C, _INT, _MED, "{file}:{line}: {key}: must not be empty",
                                 "Set the source-id of the upstream instance.")
CONFIG_SOURCE_ID_TOO_LONG = _define(20006, _C, _INT, _MED,
                                    "{file}:{line}: {key}: {value!r} is longer than 32 characters",
                                    "Use a source-id of at most 32 characters.")
CONFIG_ONLINE_SCHEME = _define(20007, _C, _INT, _MED,
                               "{file}:{line}: {key}: {value!r} is not supported",
                               "Use `online-ddl: true` (online-ddl-scheme is deprecated; it only "
                               "accepts pt and gh-ost).")
CONFIG_META_INVALID = _define(20011, _C, _INT, _MED,
                              "{file}:{line}: {key}: meta needs binlog-name (position mode) or "
                              "binlog-gtid (GTID mode)", "Set binlog-name and binlog-pos, or "
                              "binlog-gtid, of the position to start replicating from.")
CONFIG_NO_INSTANCES = _define(20013, _C, _INT, _MED,
                              "{file}:{line}: {key}: at least one mysql-instances entry is "
                              "required",
                              "List the upstream sources the task migrates.")
CONFIG_DUP_SOURCE_ID = _define(20014, _C, _INT, _MED,
                               "{file}:{line}: {key}: source-id {value!r} is already used by "
                               "mysql-instances[{other}]", "Each source may appear once per task.")
CONFIG_UNIT_CONFLICT = {
    unit: _define(code, _C, _INT, _MED,
                  "{file}:{line}: {key}: set either %s-config-name or %s, not both"
                  .replace("%s", unit),
                  "Keep the named reference or the inline block.")
    for unit, code in (("mydumper", 20015), ("loader", 20016), ("syncer", 20017))
}
CONFIG_READ_FILE = _define(20018, _C, _INT, _MED, "cannot read config file {file}",
                           "Check the path and its permissions.")
CONFIG_NEED_TASK_NAME = _define(20019, _C, _INT, _MED,
                                "{file}:{line}: {key}: a task name is required",
                                "Give the task a unique name.")
CONFIG_TASK_MODE = _define(20020, _C, _INT, _MED,
                           "{file}:{line}: {key}: {value!r} is not a task mode",
                           "Use full, incremental, all, dump, load or load&sync.")
CONFIG_NEED_TARGET_DB = _define(20021, _C, _INT, _MED,
                                "{file}:{line}: {key}: the target database is required",
                                "Add target-database with host, port, user and password.")
CONFIG_META_NOT_SET = _define(20022, _C, _INT, _MED,
                              "{file}:{line}: {key}: meta is required for task-mode incremental",
                              "Set meta (binlog-name/binlog-pos or binlog-gtid) of this instance.")
CONFIG_RULE_NOT_FOUND = _define(20023, _C, _INT, _MED,
                                "{file}:{line}: {key}: {value!r} is not defined under {section}",
                                "Define it in that section or remove the reference.")
CONFIG_REF_NOT_FOUND = {
    "routes": CONFIG_RULE_NOT_FOUND,
    **{
        section: _define(code, _C, _INT, _MED, CONFIG_RULE_NOT_FOUND.message,
                         CONFIG_RULE_NOT_FOUND.workaround)
        for section, code in (("filters", 20024), ("column-mappings", 20025),
                              ("block-allow-list", 20026), ("mydumpers", 20027),
                              ("loaders", 20029), ("syncers", 20030),
                              ("expression-filter", 20040))
    },
}
CONFIG_MYDUMPER_PATH = _define(20028, _C, _INT, _MED,
                               "{file}:{line}: {key}: mydumper-path must not be empty when the "
                               "task dumps", "Remove the empty mydumper-path to use the default.")
CONFIG_DUPLICATE_ITEM = _define(20032, _C, _INT, _MED,
                                "{file}:{line}: {key}: {value!r} is listed more than once",
                                "Remove the duplicates.")
CONFIG_SHARD_MODE = _define(20033, _C, _INT, _MED,
                            "{file}:{line}: {key}: {value!r} is not supported",
                            "Use pessimistic or optimistic, or leave shard-mode empty.")
CONFIG_EVENT_FILTER = _define(20037, _C, _INT, _HIGH, "{file}:{line}: {key}: {detail}",
                              "Check the `filters` of the source and task configuration files.")
CONFIG_GLOBAL_UNUSED = _define(20038, _C, _INT, _MED,
                               "{file}:{line}: {key} is defined but no mysql-instances entry "
                               "uses it", "Reference it from a mysql-instances entry or delete it.")
CONFIG_EXPR_MANY = _define(20039, _C, _INT, _HIGH,
                           "{file}:{line}: {key}: sets {detail}; an expression filter takes one "
                           "of insert, update or delete expressions",
                           "To filter by A or B, write two expression filters.")
CONFIG_EXPR_GRAMMAR = _define(20041, _C, _INT, _HIGH,
                              "{file}:{line}: {key}: {value!r} is not a SQL expression: {detail}",
                              "Write a boolean SQL expression over the table's columns.")
CONFIG_EXPR_EMPTY = _define(20042, _C, _INT, _HIGH, "{file}:{line}: {key}: must not be empty",
                            "An expression filter needs the upstream schema and table.")
CONFIG_CHECKER_MAX = _define(20043, _C, _INT, _HIGH, "{file}:{line}: {key}: {detail}",
                             "Make checker.backoff-max at least checker.backoff-min.")
CONFIG_BA_LIST = _define(20044, _C, _INT, _HIGH, "{where}: {detail}",
                         "Check the `block-allow-list` of the task configuration file.")
CONFIG_TABLE_ROUTER = _define(20045, _C, _INT, _HIGH, "{where}: {detail}",
                              "Check the `routes` of the task configuration file.")
CONFIG_COLUMN_MAPPING = _define(20046, _C, _INT, _HIGH, "{file}:{line}: {key}: {detail}",
                                "Check the `column-mappings` of the task configuration file.")
CONFIG_CHUNK_FILESIZE = _define(20047, _C, _INT, _HIGH,
                                "{file}:{line}: {key}: {value!r} is not a size",
                                "Use a number of MiB (64) or a size with a unit (64MiB, 1GiB).")
CONFIG_ONLINE_DDL_REGEX = _define(20048, _C, _INT, _HIGH, "{file}:{line}: {key}: {detail}",
                                  "Each rule is a regular expression with exactly one group that "
                                  "captures the real table name.")
CONFIG_ONLINE_DDL_MISTAKE_REGEX = _define(20049, _C, _INT, _HIGH,
                                          "online ddl sql {sql!r} invalid, table {table} fail "
                                          "to match {rules!r} online ddl regex (binlog position "
                                          "{where})",
                                          "Update `{rules}` in the task file so it matches the "
                                          "table shown (stop-task, then start-task), or `dmctl "
                                          "binlog skip <task>` skips the statement.")
CONFIG_COLLATION = _define(20052, _C, _INT, _MED,
                           "{file}:{line}: {key}: {value!r} is not supported",
                           "Use loose or strict.")
CONFIG_LOAD_MODE = _define(20053, _C, _INT, _MED, "{file}:{line}: {key}: {detail}",
                           "Use logical (aliases sql, loader).")
CONFIG_ON_DUPLICATE = _define(20054, _C, _INT, _MED,
                              "{file}:{line}: {key}: {value!r} is not supported",
                              "Use replace, error or ignore.")
CONFIG_STRICT_OPTIMISTIC = _define(20066, _C, _INT, _MED,
                                   "{file}:{line}: {key}: strict-optimistic-shard-mode is "
                                   "set while shard-mode is not optimistic",
                                   "Set shard-mode: optimistic, or remove "
                                   "strict-optimistic-shard-mode.")
CONFIG_SAFE_MODE_DURATION = _define(20060, _C, _INT, _MED, "{file}:{line}: {key}: {detail}",
                                    "Use a duration such as 60s or 1m30s.")
CONFIG_NOT_SUPPORTED = _define(20090, _C, _INT, _HIGH,
                               "{file}:{line}: {key}: {feature} is not supported by pydm yet;"
                               " remove the key or set it to {default}",
                               "docs/configuration.md lists what pydm does with each key.")
CONFIG_SAFE_MODE_CONFLICT = _define(20061, _C, _INT, _LOW,
                                    "{file}:{line}: {key}: safe-mode: true conflicts with "
                                    "safe-mode-duration 0s",
                                    "Set safe-mode to false or safe-mode-duration to non-zero.")
# dm-worker class (DM's ErrWorkerRouteTableDupMatch); raised by dm.rules.router.
ROUTE_DUP_MATCH = _define(40080, _W, _INT, _HIGH,
                          "table {table} matches more than one {level}-level route rule: {rules}",
                          "Make the schema-pattern/table-pattern of those routes disjoint.")

# --- task-check (26xxx) -----------------------------------------------------
PRECHECK_FAILED = _define(26005, ErrClass.TASK_CHECK, _INT, _MED,
                          "precheck of task {task} failed:\n{detail}",
                          "Fix what the failed checks name, or list them in "
                          "ignore-checking-items if you accept the risk.")

# --- dump unit (32xxx) --------------------------------------------------------
DUMP_RUNTIME = _define(32001, ErrClass.DUMP_UNIT, _UP, _HIGH,
                       "dump of {table} failed", "Check the upstream; resume-task continues "
                       "from the chunks already dumped.", retryable=True)
DUMP_SNAPSHOT = _define(32004, ErrClass.DUMP_UNIT, _UP, _HIGH,
                        "cannot take a consistent snapshot on {target}",
                        "The user needs RELOAD (FLUSH TABLES WITH READ LOCK) or, on MariaDB, "
                        "BACKUP STAGE rights; or set mydumpers.<name>.extra-args "
                        "`--consistency none`.")
DUMP_SCHEMA_MOVING = _define(32006, ErrClass.DUMP_UNIT, _UP, _HIGH,
                             "the tables to dump changed after each of {attempts} snapshots "
                             "on {target}: {detail}",
                             "DDLs ran upstream between each snapshot and the reading of the "
                             "table definitions; resume-task takes a new snapshot, best when "
                             "no DDL runs upstream.", retryable=True)
DUMP_TABLE_CHANGED = _define(32007, ErrClass.DUMP_UNIT, _UP, _HIGH,
                             "the definition of {table} changed while its dump was "
                             "interrupted ({detail}): its rows dumped before and after "
                             "cannot be made one consistent copy",
                             "Stop the task, drop or empty the downstream tables it has "
                             "loaded, and start it again with `dmctl start-task "
                             "--remove-meta <task.yaml>`: the dump starts over under one "
                             "snapshot. Only columns added to a table with a chunk key "
                             "are reconciled by themselves.")
DUMP_XA_PREPARED = _define(32008, ErrClass.DUMP_UNIT, _UP, _HIGH,
                           "XA transactions were prepared upstream at each of {attempts} "
                           "snapshots on {target}: {xids}. Their rows are in no snapshot, "
                           "and their XA PREPARE, which logged them, lies before its binlog "
                           "position, so sync would never read them",
                           "End them upstream (`XA COMMIT` or `XA ROLLBACK` with the xid "
                           "`XA RECOVER` shows); the dump is retried by itself, or at "
                           "`resume-task`.", retryable=True)
DUMP_DIR_IN_USE = _define(32005, ErrClass.DUMP_UNIT, _INT, _HIGH,
                          "loader.dir {path} holds {file}, which is not a dump file",
                          "Give the dump task an empty or new loader.dir: a dump empties its "
                          "directory first (as DM's does), and pydm deletes only dump files.")

# --- load unit (34xxx) --------------------------------------------------------
_L = ErrClass.LOAD_UNIT
LOAD_EXEC = _define(34002, _L, _DOWN, _HIGH,
                    "loading {file} into {table} failed",
                    "Fix the cause shown, then resume-task: loading continues after the "
                    "last committed chunk.", retryable=True)
LOAD_WORKER_MISMATCH = _define(
    34017, _L, _INT, _HIGH,
    "task {task} source {source} has chunks loaded from a dump this worker does not hold "
    "({path} has no dump plan)",
    "The dump files are local to the worker that dumped them: start that worker again (the "
    "source waits for it and goes back to it), or restart the task with `start-task "
    "--remove-meta` to dump again.")
LOAD_COLUMN_MAPPING = _define(34004, _L, _INT, _HIGH,
                              "column mapping of {table} ({file}): {detail}",
                              "Change the column-mappings rule in task.yaml so it maps the value "
                              "named (or leaves the table out), then stop-task and "
                              "start-task: the load goes on from its checkpoint.")
LOAD_EXTRACT = _define(34090, _L, _INT, _HIGH,
                       "extract-* of the route of {table} cannot fill {file}: {detail}",
                       "Create the merged table downstream with the extract-* columns (strings, "
                       "in its primary key with the shard's key) before the task, as DM "
                       "requires, or load pydm's own dumps; then resume-task.")
LOAD_NOT_CREATE = _define(34007, _L, _INT, _HIGH,
                          "{file} holds no CREATE statement after its SET statements",
                          "A schema file holds SET statements and one CREATE DATABASE or "
                          "CREATE TABLE: fix or remove the file, then resume-task.")
LOAD_FILE_REFUSED = _define(34008, _L, _INT, _HIGH, "{file} is {what}, which pydm does not load",
                            "Dump without it (mydumper: --no-views, --no-schemas of triggers "
                            "and routines off, uncompressed SQL; dumpling: --filetype sql), "
                            "leave it out with block-allow-list, or remove the file; then "
                            "resume-task.")
LOAD_INVALID_INSERT = _define(34009, _L, _INT, _HIGH,
                              "{file}: the statement ending at byte {offset} is neither a SET "
                              "nor an INSERT: {statement}",
                              "Data files hold INSERT statements only (as mydumper and dumpling "
                              "write them): fix or remove the file, then resume-task.")
LOAD_NO_TABLE_FILE = _define(34013, _L, _INT, _HIGH,
                             "data file {file} has no schema file {schema_file} beside it",
                             "Add the table's CREATE TABLE as that file, or remove the data "
                             "file, then resume-task.")
LOAD_DUMP_DIR = _define(34014, _L, _INT, _HIGH,
                        "dump directory {path} is missing or holds no dump",
                        "Point loader.dir at a directory written by a dump task, mydumper or "
                        "dumpling, or, for a full or all task, restart it with "
                        "`start-task --remove-meta` to dump again.")
LOAD_DUMP_UNFINISHED = _define(34015, _L, _INT, _HIGH,
                               "{path} holds a pydm dump that never finished",
                               "Run the dump task again (resume-task or start-task) until it "
                               "is Finished, then start the load task.")

# --- dm-master (38xxx) and scheduler (46xxx) -------------------------------------
MASTER_TASK_EXISTS = _define(38005, _M, _INT, _MED, "task {task} already exists",
                             "Use query-status {task}; stop-task {task} first to start it again.")
MASTER_TASK_NOT_FOUND = _define(38006, _M, _INT, _MED, "task {task} does not exist",
                                "List tasks with `dmctl query-status`.")
MASTER_SOURCE_NOT_FOUND = _define(38032, _M, _INT, _MED,
                                  "source {source} does not exist",
                                  "Create it first with `dmctl operate-source create "
                                  "source.yaml`, or fix the source-id.")
MASTER_SOURCE_EXISTS = _define(38033, _M, _INT, _MED, "source {source} already exists",
                               "Stop it with `dmctl operate-source stop {source}` first.")
MASTER_BAD_REQUEST = _define(38040, _M, _INT, _MED, "bad request: {detail}", "")
MASTER_NOT_LEADER = _define(38041, _M, _INT, _MED, "master {name} is not the leader",
                            "Retry; the request is forwarded to the leader once one is elected.",
                            retryable=True)
MASTER_ETCD = _define(38043, _M, _INT, _HIGH, "etcd request failed: {op}",
                      "Check that the dm-master and its etcd are running.", retryable=True)
MASTER_NAME_NOT_FOUND = _define(38048, _M, _INT, _MED, "dm-master with name {name} not exists",
                                "See the names with `dmctl list-member --master`.")
MASTER_LOCK_NOT_FOUND = _define(38019, _M, _INT, _HIGH, "lock with ID {lock} not found",
                                "See the lock ids with `dmctl shard-ddl-lock`.")
MASTER_SHARD_DDL_DIFF = _define(38016, _M, _INT, _HIGH,
                                "sharding ddls in ddl lock {lock} is different with {ddls}: "
                                "source {source} runs {got} ({where})",
                                "Every shard must run the same DDLs in the same order. See the "
                                "lock with `dmctl shard-ddl-lock {task}`; `dmctl binlog replace "
                                "{task} -s {source} -b <file:pos> \"<statements>\"` runs the "
                                "lock's DDLs (naming the shard's own table) in place of each "
                                "shard's, or `dmctl shard-ddl-lock unlock {lock}` resolves the "
                                "lock by hand.")
MASTER_LOCK_NOT_HELD = _define(38020, _M, _INT, _HIGH,
                               "lock {lock}: {detail}",
                               "`dmctl shard-ddl-lock` shows the lock's shards; `-s <source> "
                               "-d <database> -t <table>` must name one (upstream) shard "
                               "listed under `unsynced` whose conflicting DDL waits, listed "
                               "under `DDLs`.")
MASTER_LOCK_OWNER_NOT_SYNCED = _define(38022, _M, _INT, _MED,
                                       "worker of source {owner} not waiting for DDL lock "
                                       "{lock} (synced: {synced})",
                                       "Choose a synced source with `-o`, or drop the lock "
                                       "without running it with `--force-remove`.")
MASTER_WORKER_UNREACHABLE = _define(38052, _M, _INT, _HIGH,
                                    "worker {worker} at {address} does not answer: {detail}",
                                    "Check that the dm-worker runs (`dmctl list-member "
                                    "--worker`), then run the command again.", retryable=True)
MASTER_START = _define(38050, _M, _INT, _HIGH, "dm-master {name} cannot start: {detail}",
                       "Fix the flag or config key named (is the address already in use?) "
                       "and start it again.")
WORKER_NOT_FOUND = _define(46004, ErrClass.SCHEDULER, _INT, _MED,
                           "dm-worker with name {name} not exists",
                           "See the names with `dmctl list-member --worker`.")
WORKER_ONLINE = _define(46005, ErrClass.SCHEDULER, _INT, _MED,
                        "dm-worker with name {name} is still online",
                        "Stop that dm-worker first; only an offline worker can be removed.")
WORKER_NOT_FREE = _define(46006, ErrClass.SCHEDULER, _INT, _MED,
                          "invalid stage transformation for dm-worker {name}, from {stage} to "
                          "bound",
                          "Choose a free worker (`dmctl list-member --worker` shows each "
                          "worker's stage).")
SOURCE_HAS_TASKS = _define(46010, ErrClass.SCHEDULER, _INT, _MED,
                           "source {source} is used by task(s) {tasks}",
                           "Stop those tasks with `dmctl stop-task` first.")
TRANSFER_NOT_IN_SYNC = _define(46019, ErrClass.SCHEDULER, _INT, _MED,
                               "running tasks {tasks} to be transferred on source {source} "
                               "should in sync unit",
                               "Wait until they reach the sync unit, or pause them with "
                               "`dmctl pause-task`, then transfer-source again.")
SOURCE_NOT_BOUND = _define(46009, ErrClass.DM_MASTER, _INT, _MED,
                           "sources {source} have not bound",
                           "Start a dm-worker (`dm-worker --join <master>`); it is bound to a "
                           "free source at once.")
RELAY_NOT_STARTED = _define(46012, ErrClass.SCHEDULER, _INT, _MED,
                            "source {source} has no relay log to {op}",
                            "Start it with `dmctl start-relay -s {source}`.")
RELAY_WORKERS_BUSY = _define(46020, ErrClass.SCHEDULER, _INT, _HIGH,
                             "these workers {workers} have started relay for sources {sources} "
                             "respectively",
                             "Use `dmctl stop-relay -s <source> <worker>` to stop them, or "
                             "choose other workers.")
RELAY_WORKERS_WRONG_BOUND = _define(46021, ErrClass.SCHEDULER, _INT, _HIGH,
                                    "these workers {workers} have bound for another sources "
                                    "{sources} respectively",
                                    "Name free workers or the one bound to this source "
                                    "(`dmctl list-member --worker` shows the bindings).")
RELAY_WORKERS_WRONG_RELAY = _define(46022, ErrClass.SCHEDULER, _INT, _HIGH,
                                    "these workers {workers} have started relay for another "
                                    "sources {sources} respectively",
                                    "Name the source each worker relays in `dmctl stop-relay`.")
SOURCE_HAS_RELAY_WORKERS = _define(46023, ErrClass.SCHEDULER, _INT, _HIGH,
                                   "source with name {source} need to operate has existing "
                                   "relay workers {workers}",
                                   "Stop them first: `dmctl stop-relay -s {source} {workers}`.")
TRANSFER_TO_RELAY_WORKER = _define(46027, ErrClass.SCHEDULER, _INT, _MED,
                                   "require DM worker [{worker}] to be bound to source "
                                   "[{source}], but it has been started relay for source "
                                   "[{relay}]",
                                   "Stop its relay first (`dmctl stop-relay -s {relay} "
                                   "{worker}`), or choose another worker.")
START_RELAY_ON_SPECIFIED = _define(46028, ErrClass.SCHEDULER, _INT, _LOW,
                                   "the source has `start-relay` with worker name for workers "
                                   "{workers}, so it can't `start-relay` without worker name now",
                                   "Stop all relay workers first, or name the workers in "
                                   "`start-relay`.")
STOP_RELAY_ON_SPECIFIED = _define(46029, ErrClass.SCHEDULER, _INT, _LOW,
                                  "the source has `start-relay` with worker name for workers "
                                  "{workers}, so it can't `stop-relay` without worker name now",
                                  "Name the workers in `stop-relay`.")
START_RELAY_ON_BOUND = _define(46030, ErrClass.SCHEDULER, _INT, _LOW,
                               "the source has `start-relay` automatically for bound worker, so "
                               "it can't `start-relay` with worker name now",
                               "Stop its relay with `dmctl stop-relay -s <source>` (no worker "
                               "name) first.")
STOP_RELAY_ON_BOUND = _define(46031, ErrClass.SCHEDULER, _INT, _LOW,
                              "the source has `start-relay` automatically for bound worker, so "
                              "it can't `stop-relay` with worker name now",
                              "Use `dmctl stop-relay -s <source>` without a worker name.")
TRANSFER_PAUSE = _define(46032, ErrClass.SCHEDULER, _INT, _MED,
                         "failed to auto pause tasks {tasks} when transfer-source",
                         "The tasks run on as before; query-status shows why they did not "
                         "pause, then transfer-source again.")

# --- dm-worker (40xxx) ------------------------------------------------------------
WORKER_START = _define(40001, _W, _INT, _HIGH, "dm-worker {name} cannot start: {detail}",
                       "Fix the flag or config key named and start it again.")
WORKER_NOT_PAUSED = _define(40051, _W, _INT, _HIGH,
                            "current stage is {stage} but not paused, invalid",
                            "Pause the task first: `dmctl pause-task {task}`.")
WORKER_SUBTASK_NOT_FOUND = _define(40054, _W, _INT, _HIGH,
                                   "sub task with name {task} not found",
                                   "`dmctl query-status {task}` shows where the task runs; "
                                   "try again once its source is bound.")
WORKER_SYNC_UNIT_ONLY = _define(40056, _W, _INT, _HIGH,
                                "such operation is only available for syncer, but now syncer "
                                "is not running. current unit is {unit}",
                                "Try again once the task has reached the sync unit "
                                "(`dmctl query-status {task}` shows its unit).")
WORKER_FENCED = _define(40090, _W, _INT, _HIGH,
                        "dm-worker {name} no longer holds its keepalive lease: it writes "
                        "nothing downstream",
                        "The master gives its source to another worker (list-member --worker "
                        "shows which); this worker takes a source again once it is back in "
                        "touch with etcd.")
WORKER_SUBTASK = _define(40015, _W, _INT, _HIGH, "subtask {task} of source {source} failed",
                         "See the raw cause; resume-task {task} once fixed.")

# --- dmctl (48xxx) ------------------------------------------------------------------
CTL_CONNECT = _define(48001, ErrClass.DMCTL, _INT, _HIGH,
                      "cannot reach dm-master at {addr}",
                      "Check --master-addr (or DM_MASTER_ADDR) and that dm-master is running.")
CTL_ARGS = _define(48002, ErrClass.DMCTL, _INT, _MED, "{detail}",
                   "Run `dmctl <command> --help` for the expected arguments.")
CTL_NOT_SUPPORTED = _define(48010, ErrClass.DMCTL, _INT, _MED,
                            "dmctl {command}: {feature} is not supported by pydm yet",
                            "Run `dmctl --help` for the commands pydm has; docs/dmctl.md says "
                            "which of DM's are still missing.")

# --- relay log: relay-event-lib (28001-) and relay unit (30xxx) ----------------------
_RL = ErrClass.RELAY_UNIT
RELAY_INDEX = _define(28002, ErrClass.RELAY_EVENT_LIB, _INT, _HIGH,
                      "{path}: {line!r} is not a relay sub-directory name (<uuid>.<NNNNNN>)",
                      "Fix or remove the line; with the relay stopped, deleting the relay "
                      "directory makes the relay pull again from the tasks' checkpoints.")
RELAY_META = _define(30003, _RL, _INT, _HIGH, "relay meta {path} cannot be read: {detail}",
                     "Stop the relay (`stop-relay`), delete the sub-directory's relay.meta "
                     "or the whole relay directory, and start it again (`start-relay`).")
RELAY_FILE = _define(30026, _RL, _INT, _HIGH, "relay file {path}: {detail}",
                     "Check the disk and the relay directory's permissions; the relay "
                     "resumes by itself once it can write again.", retryable=True)
RELAY_NOT_HELD = _define(30044, _RL, _INT, _HIGH,
                         "the relay log of source {source} does not hold {location}: it holds "
                         "{held}",
                         "The files were purged from the relay (`purge-relay`, or the purge "
                         "keys). Read from the upstream instead with `stop-relay`, or restart "
                         "the task with a full dump (`start-task --remove-meta`).")
RELAY_UPSTREAM_BEHIND = _define(30043, _RL, _UP, _HIGH,
                                "the upstream's binlog ends at {master}, before the relay's "
                                "{relay}: it was reset (RESET MASTER) or restored",
                                "The relay no longer matches the upstream. Stop the relay "
                                "(`stop-relay`), delete its directory, and start it again; "
                                "tasks past the reset need a new start (`start-task "
                                "--remove-meta`).")
RELAY_SWITCH_NEEDS_GTID = _define(30034, _RL, _UP, _HIGH,
                                  "the upstream of source {source} is another server now, "
                                  "and the relay's {last} has no GTID set to go on from",
                                  "Positions of one server mean nothing on another: give the "
                                  "upstream GTIDs (enable-gtid: true in source.yaml, gtid_mode "
                                  "on MySQL), or stop the relay, delete its directory and "
                                  "start the tasks again from a new dump.")
RELAY_GAP = _define(30028, _RL, _UP, _HIGH,
                    "relay of {file}: the upstream sent an event ending at {pos}, which "
                    "overlaps the relay file's end {end}",
                    "The upstream binlog changed under the relay (restored or rewritten); "
                    "stop the relay, delete its directory and start it again.")
RELAY_PURGE_REFUSED = _define(30039, _RL, _INT, _MED,
                              "purge-relay of source {source} before {file}: {reason}",
                              "Purge only files no subtask still needs; `query-status` shows "
                              "where each task's sync stands.")

# --- binlog codec: relay-event-lib (28xxx) and sync-unit (36xxx) ------------------
_EV, _SY = ErrClass.RELAY_EVENT_LIB, ErrClass.SYNC_UNIT
BINLOG_EVENT_DECODE = _define(28101, _EV, _UP, _HIGH,
                              "cannot decode {event} event at {where}: {detail}",
                              "Inspect the event with `mariadb-binlog --hexdump` at the position "
                              "shown; the binlog may be corrupt or come from an unsupported "
                              "server version.")
BINLOG_CHECKSUM_MISMATCH = _define(28102, _EV, _UP, _HIGH,
                                   "CRC32 checksum mismatch in the {event} event at {where}",
                                   "The binlog was damaged in transit or on disk; resume-task "
                                   "reads it again.", retryable=True)
BINLOG_BAD_FILE = _define(28103, _EV, _INT, _HIGH, "{path} is not a binlog file: {detail}",
                          "Check the path; a binlog file starts with the bytes fe 62 69 6e.")
BINLOG_TRUNCATED = _define(28104, _EV, _UP, _HIGH, "binlog event at {where} is truncated: {detail}",
                           "The file ends in the middle of an event (still being written, or "
                           "cut off); read it again once the writer has finished.",
                           retryable=True)
BINLOG_PAYLOAD_COMPRESSED = _define(28105, _EV, _UP, _HIGH,
                                    "transaction payload at {where} is compressed with "
                                    "{algorithm}, which pydm cannot decompress (it reads zstd "
                                    "and uncompressed payloads)",
                                    "Set binlog_transaction_compression=OFF on the upstream, "
                                    "then start replication after this transaction.")
BINLOG_NO_TABLE_MAP = _define(28106, _EV, _UP, _HIGH,
                              "rows event at {where} refers to table id {table_id}, which no "
                              "TABLE_MAP event before it defined",
                              "Start replication at a transaction boundary (a GTID event or "
                              "the position of the transaction's first event).")
BINLOG_COLUMN_UNSUPPORTED = _define(28107, _EV, _UP, _HIGH,
                                    "column {column} of {table} has binlog type {type}, which "
                                    "pydm cannot decode",
                                    "Exclude the table with block-allow-list, or change the "
                                    "column's type upstream.")
BINLOG_CHARSET_UNKNOWN = _define(28108, _EV, _UP, _HIGH,
                                 "column {column} of {table} uses charset {charset}, which "
                                 "pydm cannot decode",
                                 "Exclude the table with block-allow-list, or convert the "
                                 "column to utf8mb4 upstream.")
GTID_SET_INVALID = _define(28109, _EV, _INT, _MED, "invalid {flavor} GTID set {text!r}: {detail}",
                           "Write MySQL GTID sets as `uuid:1-5:7,uuid2:1-3` and MariaDB ones as "
                           "`domain-server-seq[,...]`.")
BINLOG_LOCATION_INVALID = _define(28110, _EV, _INT, _MED,
                                  "invalid binlog location {text!r}: {detail}",
                                  "Write a location as `binlog-name:position`, e.g. "
                                  "`mysql-bin.000003:1234`.")
BINLOG_PARTIAL_JSON_NO_BEFORE = _define(28111, _EV, _UP, _HIGH,
                                       "PARTIAL_UPDATE_ROWS event at {where}: column {column} "
                                       "of {table} holds only a JSON diff, and the before "
                                       "image does not carry the column to apply it to",
                                       "Set binlog_row_image=FULL upstream (or turn partial "
                                       "JSON off with binlog_row_value_options=''), then "
                                       "restart the task from a full dump or from a position "
                                       "after this event.")
_SCHEMA_WAYOUT = ("The tracked schema is out of step with the upstream (a DDL pydm did not "
                  "see or could not follow): restart the task from a full dump (stop-task, "
                  "then `start-task --remove-meta`), or from a `meta` position after the "
                  "upstream's change.")
SYNC_TABLE_FROM_UNTAKEN = _define(36105, _SY, _INT, _HIGH,
                                  "{table}, which the task replicates, comes from {origin}, "
                                  "which it does not, by `{sql}` at binlog {where}: its rows "
                                  "or definition were never replicated",
                                  "Take both tables into the task's block-allow list and "
                                  "filters and migrate them again (`start-task "
                                  "--remove-meta`), or create and fill the downstream table "
                                  "by hand and `dmctl binlog skip <task>` the statement.")
SYNC_XA_PREPARED_BEFORE_START = _define(
    36106, _SY, _INT, _HIGH,
    "XA COMMIT {xid} at binlog {where}: its XA PREPARE, which logged its rows, lies before "
    "where this sync started reading (a dump's snapshot or the task's meta position, taken "
    "while the transaction was prepared), so its rows were never read",
    "If its rows are downstream already (or should not be), `dmctl binlog skip <task>` "
    "the statement. Otherwise stop the task and start it again from a position before the "
    "XA PREPARE (`meta` in task.yaml with `start-task --remove-meta`), or from a new dump "
    "taken while no XA transaction is prepared upstream (XA RECOVER lists them).")
SYNC_XA_GROUP_GONE = _define(
    36107, _SY, _UP, _HIGH,
    "binlog {where}: the XA transaction prepared there, which the checkpoint says is still "
    "to be committed or rolled back, is not there (the binlog or relay log was reset or "
    "replaced)",
    "Restart the task from a new dump (stop-task, then `start-task --remove-meta`).")
SYNC_ROW_IMAGE_INCOMPLETE = _define(36104, _SY, _UP, _HIGH,
                                    "table {table}: the row image at binlog {where} lacks "
                                    "column(s) {columns} (binlog_row_image is not FULL for "
                                    "the session that wrote it)",
                                    "Set binlog_row_image=FULL upstream, globally and in every "
                                    "session that writes (SET SESSION overrides it). Rows "
                                    "already logged without their columns cannot be replayed "
                                    "exactly: restart the task from a full dump (stop-task, "
                                    "then `start-task --remove-meta`).")
SYNC_COLUMN_COUNT_MISMATCH = _define(36027, _SY, _INT, _HIGH,
                                     "table {table}: the binlog has {binlog} columns but the "
                                     "tracked schema has {schema}",
                                     _SCHEMA_WAYOUT)
SYNC_COLUMN_NAME_MISMATCH = _define(36102, _SY, _INT, _HIGH,
                                    "table {table}: column {index} is {binlog!r} in the "
                                    "binlog but {schema!r} in the tracked schema",
                                    _SCHEMA_WAYOUT)
BINLOG_START_SYNC = _define(36053, _SY, _UP, _HIGH,
                            "cannot start binlog replication from {target} at {location}",
                            "Check the replica user's REPLICATION SLAVE right and the server-id "
                            "in the source config; resume-task retries.", retryable=True)
BINLOG_GET_EVENT = _define(36069, _SY, _UP, _HIGH,
                           "reading the binlog stream from {target} failed at {location}",
                           "The connection is reopened at the last position on resume-task.",
                           retryable=True)
SYNC_READER_EXITED = _define(36070, _SY, _INT, _HIGH,
                             "the binlog reader process (reading {where}) exited with code "
                             "{exit_code} without a word",
                             "Look for its traceback in the dm-worker's stderr; the task "
                             "resumes from its checkpoint.", retryable=True)
BINLOG_PURGED = _define(36101, _SY, _UP, _HIGH,
                        "binlog {location} is no longer available on {target} (purged, or "
                        "never written)",
                        "List what the upstream still has with SHOW BINARY LOGS; restart the "
                        "task with a full dump (`start-task --remove-meta`) or point `meta` at "
                        "a binlog the upstream still holds.")

# --- sync unit: DDL handling (36xxx) and schema tracker (44xxx); raised by dm.schema ------
_ST = ErrClass.SCHEMA_TRACKER
_DDL_WAYOUT = ("`dmctl binlog skip <task>` skips the statement (the task resumes); `dmctl "
               "binlog replace <task> \"<statements>\"` runs those instead; or run it "
               "downstream by hand, then skip it.")
SYNC_PARSE_DDL = _define(36067, _SY, _INT, _HIGH, "cannot parse DDL {sql!r}", _DDL_WAYOUT)
SCHEMA_INVALID_JSON = _define(44001, _ST, _DOWN, _HIGH,
                              "saved schema of {table} is not proper JSON",
                              "Start the task again from a full dump: stop-task, then "
                              "`start-task --remove-meta`.")
SCHEMA_TABLE_NOT_FOUND = _define(44005, _ST, _INT, _HIGH,
                                 "cannot get table info for {table} from schema tracker",
                                 "Create the table downstream with its upstream schema (the "
                                 "tracker starts from the downstream's), then resume-task.")
SCHEMA_CANNOT_TRACK_DDL = _define(44006, _ST, _INT, _HIGH, "cannot track DDL {sql!r}",
                                  "The tracked schema is out of step with the upstream. "
                                  + _DDL_WAYOUT)
SCHEMA_INVALID_CREATE_TABLE = _define(44009, _ST, _INT, _MED,
                                      "{sql!r} is not a valid CREATE TABLE statement",
                                      "Check the statement shown: the dump's schema file of "
                                      "that table, or the file given to `dmctl binlog-schema "
                                      "update`.")

# --- sync unit: the syncer's own (36xxx; DM's numbers where DM has one) -----------------
SYNC_NO_START = _define(36015, ErrClass.SYNC_UNIT, _INT, _HIGH,
                        "task {task} source {source} has no start point: no checkpoint, no "
                        "dump metadata and no mysql-instances meta",
                        "Give `meta: {{binlog-name, binlog-pos}}` (or binlog-gtid) in the "
                        "task's mysql-instances entry for task-mode incremental.")
SYNC_COLUMN_MAPPING = _define(36033, ErrClass.SYNC_UNIT, _INT, _HIGH,
                              "column mapping of {table} at {where}: {detail}",
                              "Change the column-mappings rule in task.yaml so it maps the value "
                              "named (or leaves the table out), then stop-task and "
                              "start-task: sync goes on from its checkpoint.")
SYNC_UNKNOWN_TABLE = _define(36030, ErrClass.SYNC_UNIT, _INT, _HIGH,
                             "no schema known for table {table} (rows event at {where})",
                             "Create the table downstream with the upstream's schema, "
                             "then resume-task.")
SYNC_SHARD_DDL_SEQUENCE = _define(36008, _SY, _INT, _HIGH,
                                  "detect inconsistent DDL sequence from source {source}: "
                                  "shard {table} runs {got} at {where}, right DDL sequence "
                                  "should be {want}",
                                  "In pessimistic mode every shard of a group runs the same DDLs "
                                  "in the same order. `dmctl binlog replace <task> -s {source} -b "
                                  "{where} \"<statements>\"` runs the right ones in its place; "
                                  "see the group with `dmctl query-status <task>`.")
SYNC_SHARD_MULTIPLE_TABLES = _define(36022, _SY, _INT, _HIGH,
                                     "ddl on multiple table: {sql} not supported (binlog "
                                     "position {where})",
                                     "In a shard mode a DDL names one shard table. `dmctl binlog "
                                     "replace <task> -b {where} \"<statements>\"` runs one "
                                     "statement per table instead, or `dmctl binlog skip` skips "
                                     "it.")
SYNC_SHARD_CONFLICT = _define(36062, _SY, _INT, _HIGH,
                              "fail to handle shard ddl {ddls} in optimistic mode, because "
                              "schema conflict detected, conflict error: {detail} (shard "
                              "{table}, binlog position {where})",
                              "Change the merged table by hand, then `dmctl binlog-schema "
                              "update <task> <db> <table> --from-source -s <source>` and "
                              "`dmctl binlog skip <task>` (or `binlog replace` with a "
                              "compatible statement naming the shard's table); see the lock "
                              "with `dmctl shard-ddl-lock`.")
SYNC_SHARD_UNSUPPORTED = _define(36068, _SY, _INT, _HIGH,
                                 "`{statement}` statement not supported in {mode} mode (binlog "
                                 "position {where})",
                                 "Rename shard tables before the task (in pessimistic mode, "
                                 "to names the same route merges into the same table), or "
                                 "`dmctl binlog skip <task>` skips it (the merged table keeps "
                                 "its name; the shard goes on under its new name).")
SYNC_ONLINE_DDL_META = _define(36039, _SY, _DOWN, _HIGH,
                               "online ddl meta invalid: the record of ghost table {table} in "
                               "{meta} is not DM's JSON ({detail})",
                               "Delete that row of the table shown, then run the tool's ALTER "
                               "on the downstream table by hand when its cut-over comes, and "
                               "`dmctl binlog skip <task>` the cut-over RENAME.")
SYNC_GHOST_RENAME_TO_GHOST = _define(36044, _SY, _INT, _HIGH,
                                     "rename table to gh-ost temporary table {sql} not "
                                     "supported (binlog position {where})", _DDL_WAYOUT)
SYNC_GHOST_RENAME_TO_OTHER = _define(36045, _SY, _INT, _HIGH,
                                     "rename gh-ost temporary table to other temporary table "
                                     "{sql} not supported (binlog position {where})",
                                     _DDL_WAYOUT)
SYNC_GHOST_NOT_RECORDED = _define(36046, _SY, _INT, _HIGH,
                                  "online ddl metadata for ghost temporary table {table} not "
                                  "found (its cut-over RENAME at binlog position {where})",
                                  "The online schema change began before the task saw its ghost "
                                  "table created, so its ALTERs are unknown. `dmctl binlog "
                                  "replace <task> \"ALTER TABLE <db>.<table> ...\"` runs the "
                                  "tool's ALTER on the real table in the RENAME's place. `dmctl "
                                  "check-task` (item online_ddl) says when no change is in "
                                  "progress.")
SYNC_DDL_EXEC = _define(36013, ErrClass.SYNC_UNIT, _DOWN, _HIGH,
                        "DDL {sql!r} failed downstream (binlog position {where})",
                        "Fix the downstream so the DDL can run, then resume-task; or "
                        "`dmctl binlog skip <task>` skips it, `dmctl binlog replace <task> "
                        "\"<statements>\"` runs those instead (the task resumes).")

OPENAPI_COMMON = _define(49001, ErrClass.OPENAPI, _INT, _HIGH, "{detail}",
                         "Fix the request as the message says; /api/v1/docs shows every "
                         "path and body.")
OPENAPI_SOURCE_NOT_FOUND = _define(49002, ErrClass.OPENAPI, _INT, _HIGH,
                                   "data source {source} not found ({detail})",
                                   "`GET /api/v1/sources` (or `dmctl operate-source show`) "
                                   "lists the sources; create it first.")

NOT_SET_ERROR = _define(50000, ErrClass.NOT_SET, _NS, _HIGH, "{detail}",
                        "This is a bug in pydm if it has no better description; please report it "
                        "with the log.")


def wrap(exc: BaseException) -> DMError:
    """Give any stray exception a catalogue entry so no traceback reaches a user."""
    if isinstance(exc, DMError):
        return exc
    return NOT_SET_ERROR(exc, detail=f"unexpected {type(exc).__name__}")


def render_markdown() -> str:
    lines = ["# Error catalogue", "", "Generated from `src/dm/errors.py`.", "",
             "| code | class | scope | level | retryable | message | workaround |",
             "|---|---|---|---|---|---|---|"]
    for code in sorted(CATALOGUE):
        s = CATALOGUE[code]
        msg = s.message.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {code} | {s.cls} | {s.scope} | {s.level} | "
                     f"{'yes' if s.retryable else 'no'} | {msg} | {s.workaround} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
